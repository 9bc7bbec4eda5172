#!/usr/bin/python3
"""Reference data for tests/axon/fn/resize_test.cpp: writes resize.npz next to this script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

resize is separable: each spatial axis is multiplied by an [in, out] weight matrix. The weights
are a NumPy transcription of Axon's resize (the jax.image.resize algorithm with translation 0):

  nearest:  out[j] = in[floor((j + 0.5) * in / out)]            (exact integer arithmetic)
  kernels:  sample_j = (j + 0.5) * in / out - 0.5
            scale    = max(1, in / out) if antialias else 1
            w[i, j]  = kernel(|sample_j - i| / scale)
            w[:, j] /= sum_i w[i, j]  (when that sum is not 0), except that weights whose
            kernel value is <= 1000 * 2^-23 in magnitude become 0 (Axon's rule)
  linear max(0, 1 - x); cubic Keys with a = -0.5; lanczos r: r sin(pi x) sin(pi x / r) /
  (pi x)^2, 1 for x <= 1e-3, 0 for x > r.

The weights are applied with torch.tensordot in float64 so autograd gives the gradient (the op is
linear: grad = W g along each axis). Where PyTorch computes the same thing (nearest upsampling by
integer factors; bilinear with align_corners=False and antialias=False; bilinear and bicubic
downsampling with antialias=True), the script asserts that torch.nn.functional.interpolate agrees
with the transcription and also stores torch's own outputs and gradients (cases torch_*).

For each case <name> and layout <lay> in {first, last}: <name>_<lay>_x, _out, _ct, _gx.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261122)
arrays = {}
EPS = 2.0 ** -23


def linear(x):
    return np.maximum(0.0, 1.0 - x)


def cubic(x):
    out = (1.5 * x - 2.5) * x * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def lanczos(r):
    def k(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = r * np.sin(math.pi * x) * np.sin(math.pi * x / r) / (math.pi ** 2 * x ** 2)
        out = np.where(x > 1e-3, y, 1.0)
        return np.where(x > r, 0.0, out)
    return k


KERNELS = {"bilinear": linear, "bicubic": cubic, "lanczos3": lanczos(3), "lanczos5": lanczos(5)}


def weight_matrix(n_in, n_out, method, antialias):
    """The [n_in, n_out] matrix that resizes one axis."""
    if method == "nearest":
        w = np.zeros((n_in, n_out))
        for j in range(n_out):
            w[((2 * j + 1) * n_in) // (2 * n_out), j] = 1.0
        return w
    inv_scale = n_in / n_out
    scale = max(1.0, inv_scale) if antialias else 1.0
    sample = (np.arange(n_out) + 0.5) * inv_scale - 0.5
    x = np.abs(sample[None, :] - np.arange(n_in)[:, None]) / scale
    w = KERNELS[method](x)
    total = w.sum(axis=0, keepdims=True)
    return np.where(np.abs(w) > 1000 * EPS, w / np.where(total != 0, total, 1.0), 0.0)


def resize(x, size, method, antialias):
    """x channels first (torch tensor); size: one entry per spatial axis."""
    for i, n_out in enumerate(size):
        axis = 2 + i
        n_in = x.shape[axis]
        if n_in == n_out:
            continue
        w = torch.tensor(weight_matrix(n_in, n_out, method, antialias))
        x = torch.movedim(torch.tensordot(x, w, dims=([axis], [0])), -1, axis)
    return x


def add_case(name, shape, fn):
    x = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt)
    ct = rng.standard_normal(tuple(out.shape))
    (out * torch.tensor(ct)).sum().backward()
    res = {"x": x, "out": out.detach().numpy(), "ct": ct, "gx": xt.grad.numpy()}
    for key, val in res.items():
        arrays[f"{name}_first_{key}"] = val.astype(np.float32)
        arrays[f"{name}_last_{key}"] = np.ascontiguousarray(np.moveaxis(val, 1, -1)).astype(
            np.float32)
    return x


UP = ((2, 2, 5, 6), (9, 11))
DOWN = ((2, 2, 12, 10), (5, 4))

# ---- the transcription, for every method (names match the table in resize_test.cpp) ------------
for method in ["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"]:
    for direction, (shape, size) in (("up", UP), ("down", DOWN)):
        for aa in ([True] if method == "nearest" else [True, False]):
            name = f"{method}_{direction}" + ("" if aa else "_noaa")
            add_case(name, shape, lambda x, m=method, s=size, a=aa: resize(x, s, m, a))
add_case("bicubic_mixed", (1, 2, 6, 5), lambda x: resize(x, (4, 9), "bicubic", True))
add_case("bilinear_1d", (2, 3, 7), lambda x: resize(x, (3,), "bilinear", True))
add_case("lanczos3_3d", (1, 2, 4, 6, 3), lambda x: resize(x, (7, 3, 3), "lanczos3", True))
add_case("nearest_3d", (1, 2, 4, 6, 3), lambda x: resize(x, (7, 3, 5), "nearest", True))


# ---- cross-checks with torch.nn.functional.interpolate ---------------------------------------------
def check_with_torch(name, shape, size, method, antialias, torch_kwargs):
    ours = lambda x: resize(x, size, method, antialias)  # noqa: E731
    theirs = lambda x: F.interpolate(x, size=size, **torch_kwargs)  # noqa: E731
    x = torch.tensor(rng.standard_normal(shape))
    assert torch.allclose(ours(x), theirs(x), atol=1e-12), f"{name}: torch differs"
    add_case(name, shape, theirs)


check_with_torch("torch_nearest_up2", (2, 3, 4, 5), (8, 15), "nearest", True, {"mode": "nearest"})
check_with_torch("torch_bilinear_up", (2, 3, 5, 6), (9, 11), "bilinear", False,
                 {"mode": "bilinear", "align_corners": False, "antialias": False})
check_with_torch("torch_bilinear_down", (2, 3, 12, 10), (5, 4), "bilinear", False,
                 {"mode": "bilinear", "align_corners": False, "antialias": False})
check_with_torch("torch_bilinear_down_aa", (2, 3, 12, 10), (5, 4), "bilinear", True,
                 {"mode": "bilinear", "align_corners": False, "antialias": True})
check_with_torch("torch_bicubic_down_aa", (2, 3, 12, 10), (5, 4), "bicubic", True,
                 {"mode": "bicubic", "align_corners": False, "antialias": True})

np.savez(os.path.join(HERE, "resize.npz"), **arrays)
print(f"wrote {len(arrays)} arrays to resize.npz")
