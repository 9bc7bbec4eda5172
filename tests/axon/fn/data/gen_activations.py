#!/usr/bin/python3
"""Reference data for tests/axon/fn/activations_test.cpp: writes activations.npz next to this
script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

Every case is computed in float64 with PyTorch autograd, on inputs that are float32 values (so
the float32 and float64 tests share them): torch.nn.functional where it has the same function
and options, otherwise a transcription in torch of the published formula (hard_sigmoid with
Axon's alpha/beta, selu with other constants, the multi-axis softmax family). For each case
<name> the file holds <name>_x, _out, _ct (cotangent) and _gx (gradient of sum(out * ct)).

Inputs span negative, zero and positive values, including the kinks (0, +-1, 6, -1 and 4 for
Axon's hard_sigmoid) and large magnitudes (+-1000) where the stable formulas matter. At a kink
the reference gradient is PyTorch's (relu, relu6, hardtanh: 0 at the kink; leaky_relu: alpha;
elu: alpha); hard_sigmoid's transcription uses the same convention (0 where the clip is active,
including its edges).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
gen = torch.Generator().manual_seed(20261121)
arrays = {}

KINKS = [-1000, -100, -30, -20, -10, -6, -5, -4, -3, -2, -1.5, -1, -0.5, -0.25, -1e-3, 0, 1e-3,
         0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 10, 20, 30, 100, 1000]


def f32(t):
    return t.float().double()


def rand(*shape, scale=1.0):
    return f32((torch.rand(*shape, generator=gen, dtype=torch.float32) * 2 - 1) * scale)


def wide_input(exclude=()):
    vals = [v for v in KINKS if v not in exclude]
    x = torch.cat([torch.tensor(vals), rand(48 - len(vals), scale=4.0)])
    return f32(x).reshape(4, 12)


def record(name, fn, x):
    leaf = x.clone().requires_grad_(True)
    out = fn(leaf)
    ct = rand(*out.shape)
    (gx,) = torch.autograd.grad((out * ct).sum(), [leaf])
    arrays[f"{name}_x"] = x.numpy().astype(np.float32)
    arrays[f"{name}_out"] = out.detach().numpy()
    arrays[f"{name}_ct"] = ct.numpy().astype(np.float32)
    arrays[f"{name}_gx"] = gx.numpy()


def hard_sigmoid(x, alpha, beta):
    y = alpha * x + beta
    # Gradient 1 strictly inside (0, 1), 0 where clipped and at the edges.
    return torch.where((y > 0) & (y < 1), y, y.detach().clamp(0, 1))


def softplus(x):
    return torch.logaddexp(x, torch.zeros_like(x))  # exact: no threshold, gradient sigmoid(x)


x = wide_input()
moderate = wide_input(exclude=(-1000, -100, 100, 1000))  # exp overflows beyond ~88 in f32
keras = wide_input(exclude=(-3, 3))  # hardsigmoid/hardswish kinks at +-3: 1/6 rounds in f32

record("celu", F.celu, x)
record("celu_a2", lambda t: F.celu(t, alpha=2.0), x)
record("celu_a05", lambda t: F.celu(t, alpha=0.5), x)
record("elu", F.elu, x)
record("elu_a05", lambda t: F.elu(t, alpha=0.5), x)
record("exp", torch.exp, moderate)
record("gelu", F.gelu, x)
record("hard_sigmoid", lambda t: hard_sigmoid(t, 0.2, 0.2), x)
record("hard_sigmoid_a05_b03", lambda t: hard_sigmoid(t, 0.5, 0.3), x)
# torch's hardsigmoid backward uses 1/6 rounded to float32 even in float64: record the
# transcription with alpha 1/6, beta 1/2, after checking that it agrees with torch.
record("hard_sigmoid_keras", lambda t: hard_sigmoid(t, 1 / 6, 0.5), keras)
assert np.allclose(arrays["hard_sigmoid_keras_out"], F.hardsigmoid(keras).numpy(), 0, 1e-15)
record("hard_silu", lambda t: t * hard_sigmoid(t, 0.2, 0.2), x)
record("hard_silu_keras", lambda t: t * hard_sigmoid(t, 1 / 6, 0.5), keras)
assert np.allclose(arrays["hard_silu_keras_out"], F.hardswish(keras).numpy(), 1e-15, 1e-15)
record("hard_tanh", F.hardtanh, x)
record("leaky_relu", F.leaky_relu, x)
record("leaky_relu_a02", lambda t: F.leaky_relu(t, 0.2), x)
record("linear", lambda t: t * 1.0, x)
record("log_sigmoid", F.logsigmoid, x)
record("mish", F.mish, x)
record("relu", F.relu, x)
record("relu6", F.relu6, x)
record("sigmoid", torch.sigmoid, x)
record("silu", F.silu, x)
record("selu", F.selu, x)
record("selu_custom", lambda t: 1.5 * F.elu(t, alpha=0.7), x)
record("softplus", softplus, x)
record("softsign", F.softsign, x)
record("tanh", torch.tanh, x)

# The softmax family over one or several axes, with large spreads and ties.
s = rand(3, 4, 5, scale=3.0)
s[0, 0, :] = torch.tensor([1000.0, 0.0, -1000.0, 999.0, 1000.0])
s[1, 2, :] = torch.tensor([-1000.0, -1000.0, -1000.0, -1000.0, -1000.0])
s[2, 3, :] = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0])
record("softmax", lambda t: F.softmax(t, dim=-1), s)
record("softmax_ax1", lambda t: F.softmax(t, dim=1), s)
record("softmax_ax12", lambda t: torch.exp(t - torch.logsumexp(t, dim=(1, 2), keepdim=True)), s)
record("log_softmax", lambda t: F.log_softmax(t, dim=-1), s)
record("log_softmax_ax0", lambda t: F.log_softmax(t, dim=0), s)
record("log_softmax_ax12", lambda t: t - torch.logsumexp(t, dim=(1, 2), keepdim=True), s)
record("log_sumexp", lambda t: torch.logsumexp(t, dim=-1, keepdim=True), s)
record("log_sumexp_ax1", lambda t: torch.logsumexp(t, dim=1, keepdim=True), s)
record("log_sumexp_ax02", lambda t: torch.logsumexp(t, dim=(0, 2), keepdim=True), s)

np.savez_compressed(os.path.join(HERE, "activations.npz"), **arrays)
print(f"wrote {len(arrays)} arrays")
