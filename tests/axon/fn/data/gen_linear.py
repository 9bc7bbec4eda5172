#!/usr/bin/python3
"""Reference data for tests/axon/fn/linear_test.cpp: writes linear.npz next to this script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

Every case is computed in float64 with PyTorch autograd from float32 draws: dense against
F.linear (our kernel is torch's weight transposed), bilinear against F.bilinear (same kernel
layout {units, in1, in2}), embedding against F.embedding, bias as a broadcast add. For each case
<name> the file holds <name>_<arg> for the inputs, _out, _ct (cotangent) and _g<arg> (gradient
of sum(out * ct) with respect to each float input).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
gen = torch.Generator().manual_seed(20261121)
arrays = {}


def rand(*shape):
    return (torch.rand(*shape, generator=gen, dtype=torch.float32) * 2 - 1).double()


def record(name, fn, inputs, constants=None):
    constants = constants or {}
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = fn(**leaves, **constants)
    ct = rand(*out.shape)
    grads = torch.autograd.grad((out * ct).sum(), list(leaves.values()))
    for k, v in list(inputs.items()) + list(constants.items()):
        arrays[f"{name}_{k}"] = v.numpy() if v.dtype == torch.int64 else \
            v.numpy().astype(np.float32)
    arrays[f"{name}_out"] = out.detach().numpy().astype(np.float32)
    arrays[f"{name}_ct"] = ct.numpy().astype(np.float32)
    for k, g in zip(leaves, grads):
        arrays[f"{name}_g{k}"] = g.numpy().astype(np.float32)


record("dense2d", lambda x, k, b: F.linear(x, k.T, b),
       {"x": rand(3, 5), "k": rand(5, 4), "b": rand(4)})
record("dense3d", lambda x, k: F.linear(x, k.T), {"x": rand(2, 3, 5), "k": rand(5, 6)})
record("dense1d", lambda x, k, b: F.linear(x, k.T, b),
       {"x": rand(5), "k": rand(5, 3), "b": rand(3)})
record("bilinear2d", lambda x1, x2, k, b: F.bilinear(x1, x2, k, b),
       {"x1": rand(4, 3), "x2": rand(4, 5), "k": rand(2, 3, 5), "b": rand(2)})
record("bilinear3d", lambda x1, x2, k: F.bilinear(x1, x2, k),
       {"x1": rand(2, 3, 3), "x2": rand(2, 3, 4), "k": rand(5, 3, 4)})
record("embedding", lambda k, i: F.embedding(i, k), {"k": rand(7, 4)},
       {"i": torch.tensor([[1, 0, 6], [3, 1, 1]], dtype=torch.int64)})
record("bias", lambda x, b: x + b, {"x": rand(2, 3, 4), "b": rand(4)})
record("bias_col", lambda x, b: x + b, {"x": rand(2, 3, 4), "b": rand(3, 1)})

np.savez_compressed(os.path.join(HERE, "linear.npz"), **arrays)
print(f"wrote {len(arrays)} arrays")
