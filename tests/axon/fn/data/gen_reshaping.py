#!/usr/bin/python3
"""Reference data for tests/axon/fn/reshaping_test.cpp: writes reshaping.npz next to this script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

Each case is the PyTorch equivalent of an axon::fn shape layer, in float64 with autograd; for a
case <name> with inputs x0, x1, ... the file holds <name>_x<i>, <name>_out, <name>_ct and
<name>_g<i> (gradient of sum(out * ct) with respect to x<i>). split returns several tensors; its
cases scale part i by i + 1 and concatenate the parts back, so one output checks every part.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261123)
arrays = {}


def add_case(name, shapes, fn):
    xs = [rng.standard_normal(s) for s in shapes]
    ts = [torch.tensor(x, requires_grad=True) for x in xs]
    out = fn(*ts)
    ct = rng.standard_normal(tuple(out.shape))
    (out * torch.tensor(ct)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        arrays[f"{name}_x{i}"] = x.astype(np.float32)
        arrays[f"{name}_g{i}"] = t.grad.numpy().astype(np.float32)
    arrays[f"{name}_out"] = out.detach().numpy().astype(np.float32)
    arrays[f"{name}_ct"] = ct.astype(np.float32)


def torch_pad(x, pads, value, channels_first):
    """pads: (lo, hi) per spatial axis in order; F.pad lists the last axis first."""
    flat = []
    for lo, hi in reversed(pads):
        flat += [lo, hi]
    if not channels_first:
        flat = [0, 0] + flat  # the channel axis (last) is not padded
    return F.pad(x, flat, value=value)


def scaled_split(x, sizes_or_n, dim):
    if isinstance(sizes_or_n, int):
        parts = torch.chunk(x, sizes_or_n, dim)
    else:
        parts = torch.split(x, sizes_or_n, dim)
    return torch.cat([p * (i + 1) for i, p in enumerate(parts)], dim)


# Names match reshaping_test.cpp.
add_case("flatten", [(2, 3, 4)], lambda x: x.reshape(2, -1))
add_case("reshape", [(4, 6, 2)], lambda x: x.reshape(4, 3, -1))
add_case("transpose_default", [(2, 3, 4)], lambda x: x.permute(2, 1, 0))
add_case("transpose_perm", [(2, 3, 4, 5)], lambda x: x.permute(0, 3, 1, 2))
add_case("pad_last", [(2, 4, 5, 3)], lambda x: torch_pad(x, [(1, 2), (0, -1)], 0.5, False))
add_case("pad_first", [(2, 3, 4, 5)], lambda x: torch_pad(x, [(2, 0), (1, 1)], 0.0, True))
add_case("pad_first_1d", [(2, 3, 6)], lambda x: torch_pad(x, [(-2, 3)], -1.0, True))
add_case("concatenate_last", [(2, 3, 2), (2, 3, 4), (2, 3, 1)], lambda *xs: torch.cat(xs, -1))
add_case("concatenate_axis1", [(2, 1, 4), (2, 3, 4)], lambda *xs: torch.cat(xs, 1))
add_case("split_sizes", [(2, 3, 6)], lambda x: scaled_split(x, [2, 3, 1], -1))
add_case("split_equal", [(2, 6, 4)], lambda x: scaled_split(x, 3, 1))

np.savez(os.path.join(HERE, "reshaping.npz"), **arrays)
print(f"wrote {len(arrays)} arrays to reshaping.npz")
