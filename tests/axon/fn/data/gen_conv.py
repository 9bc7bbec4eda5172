#!/usr/bin/python3
"""Reference data for tests/axon/fn/conv_test.cpp: writes conv.npz next to this script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

Every case is computed in float64 with PyTorch autograd on channels-first tensors (inputs are
drawn in float32 so that the C++ side sees the same values) and stored for both layouts:
channels first as PyTorch has it, channels last permuted here ([N, C, s..] -> [N, s.., C];
conv kernels [O, I, k..] -> [k.., I, O]).

Options torch's conv*d lacks are transcribed with torch ops, so autograd gives their gradients:
- padding (valid, Nx's same, explicit, negative = crop): F.pad of the input, then conv*d;
- input dilation: zeros inserted between input elements (a strided copy into zeros);
- batch groups (XLA/Nx): output features are split in G groups; group g convolves the input
  batch slice [g*N/G, (g+1)*N/G) with its kernel slice, and the groups are concatenated along
  the output features.
conv_transpose is checked against F.conv_transpose*d: Axon's kernel k (conv layout, not flipped)
with Axon's computed padding {lo, hi} equals conv_transpose*d with weight k flipped and in/out
swapped, padding d(k-1)-lo and output_padding hi-lo (a negative one crops the end). The
"torch_" cases feed a PyTorch weight and padding straight to F.conv_transpose*d; the C++ side
converts them with conv_transpose_kernel_from_torch / conv_transpose_padding_from_torch.

For each case <name> and layout <lay> in {first, last} the file holds <name>_<lay>_<arg> for
the inputs (x, k, b; k1.. for separable kernels; w for a torch weight), _out, _ct (cotangent),
and _g<arg> (gradient of sum(out * ct) with respect to each input).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
gen = torch.Generator().manual_seed(20261121)
arrays = {}

CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def rand(*shape):
    """Uniform [-1, 1) drawn in float32, held in float64."""
    return (torch.rand(*shape, generator=gen, dtype=torch.float32) * 2 - 1).double()


def per_axis(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


def torch_pad(x, pads):
    """pads: one (lo, hi) per spatial axis in axis order; negative crops."""
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    return F.pad(x, flat)


def dilate(x, d):
    n = x.dim() - 2
    if all(v == 1 for v in d):
        return x
    shape = list(x.shape[:2]) + [(s - 1) * dv + 1 for s, dv in zip(x.shape[2:], d)]
    out = torch.zeros(shape, dtype=x.dtype)
    index = (slice(None), slice(None)) + tuple(slice(None, None, dv) for dv in d)
    out[index] = x
    assert n == len(d)
    return out


def resolve_padding(padding, k, kd):
    """Nx's padding of a convolution as (lo, hi) pairs."""
    if padding == "valid":
        return [(0, 0)] * len(k)
    if padding == "same":
        pads = []
        for ki, di in zip(k, kd):
            total = (ki - 1) * di
            pads.append((total // 2, total - total // 2))
        return pads
    return [tuple(p) for p in padding]


def ref_conv(x, w, b, strides=1, padding="valid", lhs=1, rhs=1, fg=1, bg=1):
    n = x.dim() - 2
    s, ld, kd = per_axis(strides, n), per_axis(lhs, n), per_axis(rhs, n)
    pads = resolve_padding(padding, list(w.shape[2:]), kd)
    xp = torch_pad(dilate(x, ld), pads)
    if bg > 1:
        nb, og = x.shape[0] // bg, w.shape[0] // bg
        y = torch.cat([CONV[n](xp[g * nb:(g + 1) * nb], w[g * og:(g + 1) * og], None, s, 0, kd)
                       for g in range(bg)], dim=1)
    else:
        y = CONV[n](xp, w, None, s, 0, kd, fg)
    if b is not None:
        y = y + b.reshape([1, -1] + [1] * n)
    return y


def record(name, fn, inputs, kernels=("k",)):
    """inputs: name -> float64 tensor (channels first). fn(**inputs) -> output."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves)
    ct = rand(*out.shape)
    grads = torch.autograd.grad((out * ct).sum(), list(leaves.values()))
    items = dict(inputs)
    items["out"] = out.detach()
    items["ct"] = ct
    for k, g in zip(leaves, grads):
        items["g" + k] = g
    for lay in ("first", "last"):
        for key, t in items.items():
            arg = key[1:] if key.startswith("g") and key != "gx" else key
            if key == "gx":
                arg = "x"
            if lay == "last":
                if arg in kernels:
                    t = t.permute(*range(2, t.dim()), 1, 0) if t.dim() >= 3 else t
                elif arg == "w":  # a torch ConvTranspose weight keeps its layout
                    pass
                elif t.dim() >= 3:
                    t = t.permute(0, *range(2, t.dim()), 1)
            arrays[f"{name}_{lay}_{key}"] = t.detach().numpy().astype(np.float32)


# ---- conv ---------------------------------------------------------------------------------------

record("c1d", lambda x, k, b: ref_conv(x, k, b), {"x": rand(2, 4, 9), "k": rand(6, 4, 3),
                                                    "b": rand(6)})
record("c1d_s2_pad_dil", lambda x, k: ref_conv(x, k, None, 2, [(1, 2)], 1, 2),
       {"x": rand(2, 3, 11), "k": rand(4, 3, 3)})
record("c1d_neg_pad", lambda x, k: ref_conv(x, k, None, 1, [(-1, 2)]),
       {"x": rand(2, 2, 8), "k": rand(3, 2, 3)})
record("c2d_same_s2", lambda x, k, b: ref_conv(x, k, b, 2, "same"),
       {"x": rand(2, 3, 7, 8), "k": rand(4, 3, 3, 2), "b": rand(4)})
record("c2d_same_even", lambda x, k: ref_conv(x, k, None, 1, "same"),
       {"x": rand(1, 2, 6, 5), "k": rand(3, 2, 4, 2)})
record("c2d_explicit_kdil", lambda x, k, b: ref_conv(x, k, b, [1, 2], [(2, 1), (0, 1)], 1,
                                                     [2, 1]),
       {"x": rand(2, 3, 7, 8), "k": rand(4, 3, 3, 2), "b": rand(4)})
record("c2d_groups", lambda x, k, b: ref_conv(x, k, b, 1, [(1, 1), (1, 1)], fg=2),
       {"x": rand(2, 4, 6, 6), "k": rand(6, 2, 3, 3), "b": rand(6)})
record("c2d_input_dil", lambda x, k: ref_conv(x, k, None, 1, [(1, 1), (0, 2)], [2, 3]),
       {"x": rand(2, 3, 5, 4), "k": rand(4, 3, 3, 2)})
record("c2d_input_dil_s2", lambda x, k, b: ref_conv(x, k, b, 2, "same", 2, 2),
       {"x": rand(1, 2, 5, 5), "k": rand(3, 2, 3, 3), "b": rand(3)})
record("c2d_batch_groups", lambda x, k: ref_conv(x, k, None, 1, "valid", bg=2),
       {"x": rand(4, 3, 5, 5), "k": rand(4, 3, 2, 2)})
record("c3d", lambda x, k, b: ref_conv(x, k, b, [1, 2, 1], "same", 1, [1, 1, 2]),
       {"x": rand(2, 2, 5, 4, 6), "k": rand(3, 2, 2, 3, 2), "b": rand(3)})
record("c3d_groups_valid", lambda x, k: ref_conv(x, k, None, 2, "valid", fg=2),
       {"x": rand(1, 4, 5, 5, 5), "k": rand(2, 2, 3, 2, 3)})

# ---- depthwise and separable (Axon: depthwise conv applied with the same options each time) --


def depthwise(x, k, b, **o):
    return ref_conv(x, k, b, fg=x.shape[1], **o)


record("dw2d", lambda x, k, b: depthwise(x, k, b, padding="same"),
       {"x": rand(2, 3, 6, 6), "k": rand(6, 1, 3, 3), "b": rand(6)})
record("dw1d_s2", lambda x, k: depthwise(x, k, None, strides=2),
       {"x": rand(2, 4, 8), "k": rand(4, 1, 3)})
record("dw3d", lambda x, k, b: depthwise(x, k, b, padding=[(1, 0), (0, 1), (1, 1)], rhs=[1, 2, 1]),
       {"x": rand(1, 2, 4, 5, 4), "k": rand(4, 1, 2, 2, 2), "b": rand(4)})
record("sep2d", lambda x, k1, b1, k2, b2: depthwise(depthwise(x, k1, b1, padding="same"), k2, b2,
                                                    padding="same"),
       {"x": rand(2, 3, 7, 7), "k1": rand(6, 1, 3, 1), "b1": rand(6), "k2": rand(6, 1, 1, 3),
        "b2": rand(6)}, kernels=("k1", "k2"))
record("sep2d_s2", lambda x, k1, b1, k2, b2: depthwise(depthwise(x, k1, b1, strides=2), k2, b2,
                                                       strides=2),
       {"x": rand(1, 2, 9, 9), "k1": rand(2, 1, 2, 1), "b1": rand(2), "k2": rand(2, 1, 1, 2),
        "b2": rand(2)}, kernels=("k1", "k2"))
record("sep3d", lambda x, k1, b1, k2, b2, k3, b3: depthwise(
    depthwise(depthwise(x, k1, b1, padding="same"), k2, b2, padding="same"), k3, b3,
    padding="same"),
       {"x": rand(1, 2, 5, 4, 5), "k1": rand(4, 1, 2, 1, 1), "b1": rand(4),
        "k2": rand(4, 1, 1, 2, 1), "b2": rand(4), "k3": rand(4, 1, 1, 1, 3), "b3": rand(4)},
       kernels=("k1", "k2", "k3"))

# ---- conv_transpose -----------------------------------------------------------------------------


def axon_transpose_padding(k, s, d, padding):
    """Axon.Shape.conv_transpose_padding, transcribed."""
    pads = []
    for ki, si, di in zip(k, s, d):
        kd = (ki - 1) * di + 1
        if padding == "valid":
            lo = kd - 1
            pads.append((lo, kd + si - 2 + max(kd - si, 0) - lo))
        elif padding == "same":
            length = kd + si - 2
            lo = kd - 1 if si > kd - 1 else (length + 1) // 2
            pads.append((lo, length - lo))
        else:
            pads.append(tuple(padding[len(pads)]))
    return pads


def axon_conv_transpose(x, k, b, strides, padding, dil):
    """Axon's conv_transpose (kernel [O, I, k..] not flipped) computed with torch's
    conv_transpose*d: weight = k with in/out swapped and flipped; padding d(k-1) - lo,
    output_padding hi - lo, cropping the end when hi < lo."""
    n = x.dim() - 2
    s, d = per_axis(strides, n), per_axis(dil, n)
    ks = list(k.shape[2:])
    pads = axon_transpose_padding(ks, s, d, padding)
    w = k.transpose(0, 1).flip(list(range(2, k.dim())))
    p = [di * (ki - 1) - lo for (lo, _), ki, di in zip(pads, ks, d)]
    op = [max(hi - lo, 0) for lo, hi in pads]
    assert all(v >= 0 for v in p)
    y = CONV_T[n](x, w, b, s, p, op, 1, d)
    crop = (slice(None), slice(None)) + tuple(
        slice(0, y.shape[2 + i] - max(lo - hi, 0)) for i, (lo, hi) in enumerate(pads))
    y = y[crop]
    # The same thing straight from the definition: a convolution of the dilated input.
    direct = ref_conv(x, k, b, 1, pads, s, d)
    assert torch.allclose(y, direct, atol=1e-12), "conv_transpose relation broken"
    return y


record("t1d_valid_s2", lambda x, k, b: axon_conv_transpose(x, k, b, 2, "valid", 1),
       {"x": rand(2, 3, 5), "k": rand(4, 3, 3), "b": rand(4)})
record("t2d_valid_s3", lambda x, k: axon_conv_transpose(x, k, None, [3, 2], "valid", 1),
       {"x": rand(2, 2, 4, 3), "k": rand(3, 2, 2, 2)})
record("t2d_same_s2", lambda x, k, b: axon_conv_transpose(x, k, b, 2, "same", 1),
       {"x": rand(2, 3, 4, 5), "k": rand(2, 3, 3, 4), "b": rand(2)})
record("t2d_same_dil", lambda x, k: axon_conv_transpose(x, k, None, [1, 2], "same", [2, 1]),
       {"x": rand(1, 2, 5, 4), "k": rand(3, 2, 3, 3)})
record("t2d_explicit", lambda x, k: axon_conv_transpose(x, k, None, 2, [(1, 2), (0, 1)], 1),
       {"x": rand(1, 2, 4, 4), "k": rand(2, 2, 3, 3)})
record("t3d_same", lambda x, k, b: axon_conv_transpose(x, k, b, [2, 1, 3], "same", [1, 2, 1]),
       {"x": rand(1, 2, 3, 4, 3), "k": rand(3, 2, 3, 2, 2), "b": rand(3)})

# PyTorch's own weights and padding: F.conv_transpose*d(x, w, b, s, p, op, 1, d), w [I, O, k..].
TORCH_T = [
    ("tt1d", (2, 3, 6), (3, 4, 3), True, 2, 1, 1, 1),
    ("tt2d", (2, 2, 4, 5), (2, 3, 3, 2), True, [2, 3], [1, 0], [1, 2], [1, 2]),
    ("tt2d_big_pad", (1, 3, 5, 5), (3, 2, 3, 3), False, 1, [3, 2], 0, 1),
    ("tt3d", (1, 2, 3, 4, 3), (2, 3, 3, 3, 2), True, 2, 1, [0, 1, 1], 1),
]
for name, xs, ws, has_b, s, p, op, d in TORCH_T:
    n = len(xs) - 2
    inputs = {"x": rand(*xs), "w": rand(*ws)}
    if has_b:
        inputs["b"] = rand(ws[1])
    fn = (lambda x, w, b, s=s, p=p, op=op, d=d, n=n: CONV_T[n](x, w, b, s, p, op, 1, d)) \
        if has_b else \
        (lambda x, w, s=s, p=p, op=op, d=d, n=n: CONV_T[n](x, w, None, s, p, op, 1, d))
    record(name, fn, inputs, kernels=())

np.savez_compressed(os.path.join(HERE, "conv.npz"), **arrays)
print(f"wrote {len(arrays)} arrays, "
      f"{os.path.getsize(os.path.join(HERE, 'conv.npz'))} bytes")
