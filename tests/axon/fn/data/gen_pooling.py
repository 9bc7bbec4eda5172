#!/usr/bin/python3
"""Reference data for tests/axon/fn/pooling_test.cpp: writes pooling.npz next to this script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

Every case is computed in float64 with PyTorch autograd on channels-first inputs. Window pools
are written as PyTorch ops in the form Axon uses (Nx.window_*): explicit {lo, hi} padding first
(-inf for max, 0 for sums), then a window reduction with strides and dilations; a window sum is
a depthwise convolution with a kernel of ones, which covers dilation, which torch's avg_pool and
lp_pool lack. Wherever PyTorch has the same operation (max_pool*d, avg_pool*d with
count_include_pad=True, lp_pool*d, adaptive pools with divisible sizes) the script asserts that
the transcription agrees with it, so the data is checked against PyTorch itself.

For each case <name> and layout <lay> in {first, last} the file holds <name>_<lay>_x (input),
_out (forward), _ct (cotangent) and _gx (gradient of sum(out * ct) with respect to x).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261121)
arrays = {}


def conv_nd(n):
    return {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[n]


def torch_pad(x, pads, value):
    """pads: one (lo, hi) per spatial axis, in axis order; x channels first."""
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return F.pad(x, flat, value=value)


def resolve(n, kernel, strides, padding, dil):
    k = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel] * n
    s = k if strides is None else (list(strides) if isinstance(strides, (list, tuple))
                                   else [strides] * n)
    d = list(dil) if isinstance(dil, (list, tuple)) else [dil] * n
    if padding == "valid":
        p = [(0, 0)] * n
    elif padding == "same":  # as Nx: (dilated window - 1) in total, half (floor) low
        p = []
        for ki, di in zip(k, d):
            total = (ki - 1) * di
            p.append((total // 2, total - total // 2))
    else:
        p = list(padding)
    return k, s, p, d


def window_sum(x, k, s, p, d):
    n = x.dim() - 2
    c = x.shape[1]
    ones = torch.ones([c, 1] + k)
    return conv_nd(n)(torch_pad(x, p, 0.0), ones, stride=s, dilation=d, groups=c)


def window_max(x, k, s, p, d):
    n = x.dim() - 2
    pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    return pool(torch_pad(x, p, float("-inf")), k, s, 0, d)


def max_pool(x, kernel, strides=None, padding="valid", dil=1):
    k, s, p, d = resolve(x.dim() - 2, kernel, strides, padding, dil)
    return window_max(x, k, s, p, d)


def avg_pool(x, kernel, strides=None, padding="valid", dil=1):
    k, s, p, d = resolve(x.dim() - 2, kernel, strides, padding, dil)
    out = window_sum(x, k, s, p, d) / float(np.prod(k))
    n = x.dim() - 2
    symmetric = all(lo == hi and lo <= ki // 2 for (lo, hi), ki in zip(p, k))
    if all(di == 1 for di in d) and symmetric:  # cross-check with torch's own avg_pool
        pool = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[n]
        ref = pool(x, k, s, [lo for lo, _ in p], count_include_pad=True)
        assert torch.allclose(out, ref), "avg_pool transcription differs from torch"
    return out


def lp_pool(x, kernel, strides=None, padding="valid", dil=1, norm=2.0):
    k, s, p, d = resolve(x.dim() - 2, kernel, strides, padding, dil)
    out = window_sum(x ** norm, k, s, p, d) ** (1.0 / norm)
    n = x.dim() - 2
    if n in (1, 2) and all(di == 1 for di in d) and all(pp == (0, 0) for pp in p):
        pool = {1: F.lp_pool1d, 2: F.lp_pool2d}[n]
        ref = pool(x, norm, k if n == 2 else k[0], s if n == 2 else s[0])
        assert torch.allclose(out, ref), "lp_pool transcription differs from torch"
    return out


def adaptive_params(x, out_size):
    ins = list(x.shape[2:])
    outs = ins if out_size is None else list(out_size)
    strides = [i // o for i, o in zip(ins, outs)]
    window = [i - (o - 1) * st for i, o, st in zip(ins, outs, strides)]
    divisible = all(i % o == 0 for i, o in zip(ins, outs))
    return window, strides, divisible


def compare_adaptive(out, x, torch_fns, divisible):
    """Divisible sizes: torch's adaptive pool must agree. Otherwise these cases are chosen so
    that Axon's rule differs from torch's (which uses windows of varying size)."""
    ref = torch_fns[x.dim() - 2](x, list(out.shape[2:]))
    same = torch.allclose(out, ref)
    assert same == divisible, "adaptive case: unexpected agreement with torch"


def adaptive_avg_pool(x, out_size):
    w, s, divisible = adaptive_params(x, out_size)
    out = window_sum(x, w, s, [(0, 0)] * len(w), [1] * len(w)) / float(np.prod(w))
    fns = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
    if out_size is not None:
        compare_adaptive(out, x, fns, divisible)
    return out


def adaptive_max_pool(x, out_size):
    w, s, divisible = adaptive_params(x, out_size)
    out = window_max(x, w, s, [(0, 0)] * len(w), [1] * len(w))
    compare_adaptive(out, x, {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d,
                              3: F.adaptive_max_pool3d}, divisible)
    return out


def adaptive_lp_pool(x, out_size, norm=2.0):
    w, s, _ = adaptive_params(x, out_size)
    return window_sum(x ** norm, w, s, [(0, 0)] * len(w), [1] * len(w)) ** (1.0 / norm)


def global_pool(x, kind, keep_axes=False, norm=2.0):
    axes = list(range(2, x.dim()))
    if kind == "avg":
        return x.mean(dim=axes, keepdim=keep_axes)
    if kind == "max":
        return x.amax(dim=axes, keepdim=keep_axes)
    return (x ** norm).sum(dim=axes, keepdim=keep_axes) ** (1.0 / norm)


def blur_pool(x):
    c = x.shape[1]
    f = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16.0
    return F.conv2d(x, f.expand(c, 1, 3, 3), padding=1, groups=c)


def to_last(t, keep_channel_axis=True):
    """Channels-first array -> channels-last (moves axis 1 to the end)."""
    return np.moveaxis(t, 1, -1) if keep_channel_axis else t


def add_case(name, shape, fn, positive=False, out_has_channel_axis=True):
    x = rng.standard_normal(shape)
    if positive:
        x = np.abs(x) + 0.1
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    ct = rng.standard_normal(tuple(out.shape))
    (out * torch.tensor(ct)).sum().backward()
    gx = xt.grad.numpy()
    res = {"x": x, "out": out.detach().numpy(), "ct": ct, "gx": gx}
    for key, val in res.items():
        arrays[f"{name}_first_{key}"] = val.astype(np.float32)
        moved = val if (key in ("out", "ct") and not out_has_channel_axis) else np.moveaxis(val, 1, -1)
        arrays[f"{name}_last_{key}"] = np.ascontiguousarray(moved).astype(np.float32)


# ---- window pools (names match the table in pooling_test.cpp) ------------------------------------
add_case("max1d", (2, 3, 9), lambda x: max_pool(x, 3, 2, [(1, 1)]))
add_case("max2d", (2, 3, 7, 8), lambda x: max_pool(x, [3, 2], [2, 1], [(1, 0), (0, 1)], [1, 2]))
add_case("max2d_default", (2, 3, 6, 8), lambda x: max_pool(x, 2))
add_case("max3d", (1, 2, 5, 6, 5), lambda x: max_pool(x, [2, 3, 2], [1, 2, 1], "same", [2, 1, 1]))
add_case("avg1d", (2, 3, 9), lambda x: avg_pool(x, 4, None, [(2, 1)]))
add_case("avg2d", (2, 3, 7, 7), lambda x: avg_pool(x, 3, 2, [(1, 1), (1, 1)]))
add_case("avg2d_dil", (2, 3, 7, 8), lambda x: avg_pool(x, 2, 1, "same", 2))
add_case("avg2d_remainder", (2, 3, 7, 9), lambda x: avg_pool(x, [2, 3], None, [(0, 0), (0, 0)]))
add_case("avg3d", (1, 2, 4, 6, 4), lambda x: avg_pool(x, 2))
add_case("lp1d", (2, 3, 9), lambda x: lp_pool(x, 3, 2))
add_case("lp2d_norm3", (2, 3, 6, 8), lambda x: lp_pool(x, 2, norm=3.0), positive=True)
add_case("lp2d_pad_dil", (2, 3, 7, 8), lambda x: lp_pool(x, 3, 1, [(1, 1), (2, 0)], 2))
add_case("lp3d", (1, 2, 4, 6, 4), lambda x: lp_pool(x, 2))

# ---- adaptive pools ----------------------------------------------------------------------------------
add_case("adaptive_avg2d", (2, 3, 8, 6), lambda x: adaptive_avg_pool(x, [4, 3]))
add_case("adaptive_avg2d_nondiv", (2, 3, 10, 7), lambda x: adaptive_avg_pool(x, [4, 3]))
add_case("adaptive_avg1d_same", (2, 3, 5), lambda x: adaptive_avg_pool(x, None))
add_case("adaptive_max1d", (2, 3, 10), lambda x: adaptive_max_pool(x, [5]))
add_case("adaptive_max3d", (1, 2, 6, 4, 6), lambda x: adaptive_max_pool(x, [3, 2, 2]))
add_case("adaptive_max2d_nondiv", (2, 3, 7, 5), lambda x: adaptive_max_pool(x, [2, 3]))
add_case("adaptive_lp2d", (2, 3, 8, 6), lambda x: adaptive_lp_pool(x, [2, 3]))
add_case("adaptive_lp1d_norm3", (2, 3, 11), lambda x: adaptive_lp_pool(x, [4], 3.0), positive=True)

# ---- global pools (the output has no spatial axes; with keep_axes it keeps them as size 1) -------
add_case("global_avg2d", (2, 3, 4, 5), lambda x: global_pool(x, "avg"), out_has_channel_axis=False)
add_case("global_avg2d_keep", (2, 3, 4, 5), lambda x: global_pool(x, "avg", True))
add_case("global_max1d", (2, 3, 6), lambda x: global_pool(x, "max"), out_has_channel_axis=False)
add_case("global_max3d_keep", (1, 2, 3, 4, 2), lambda x: global_pool(x, "max", True))
add_case("global_lp2d", (2, 3, 4, 5), lambda x: global_pool(x, "lp"), out_has_channel_axis=False)
add_case("global_lp2d_norm3_keep", (2, 3, 4, 5), lambda x: global_pool(x, "lp", True, 3.0),
         positive=True)

# ---- blur pool ------------------------------------------------------------------------------------
add_case("blur", (2, 3, 6, 7), blur_pool)

np.savez(os.path.join(HERE, "pooling.npz"), **arrays)
print(f"wrote {len(arrays)} arrays to pooling.npz")
