#!/usr/bin/python3
"""Reference values for tests/axon/fn/normalization_test.cpp, from PyTorch.

Run with /usr/bin/python3 (Debian's python3-torch); writes normalization.npz next to this file.
Each case <case> stores its inputs (<case>_x, _gamma, _beta, _mean, _var), the cotangent _ct,
the output _out, the gradients of sum(out * ct) (_gx, _ggamma, _gbeta) and, in train mode, the
running statistics torch's functional updates in place (_new_mean, _new_var).

Channels-last cases run torch on x.movedim(-1, 1) and move the result back, so the channel
axis of the stored tensors is the last one. rms_norm has no torch function in 1.13: it is a
transcription of Axon's formula in torch ops (with torch's bf16/f16 rounding).
"""

import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
OUT = {}
C = 4
EPS = 1e-5
MOMENTUM = 0.1

SHAPES_FIRST = {2: (6, C), 3: (3, C, 5), 4: (2, C, 3, 5), 5: (2, C, 3, 2, 3)}


def rand(shape, scale=1.0, shift=0.0):
    return torch.randn(shape, dtype=torch.float64).float() * scale + shift


def store(case, tensors):
    for k, v in tensors.items():
        OUT[f"{case}_{k}"] = v.detach().float().numpy()


def with_grads(case, fn, x, gamma, beta, extra=None):
    x = x.clone().requires_grad_(True)
    gamma = gamma.clone().requires_grad_(True)
    beta = beta.clone().requires_grad_(True) if beta is not None else None
    out = fn(x, gamma, beta)
    ct = rand(out.shape)
    (out * ct).sum().backward()
    t = {"x": x, "gamma": gamma, "out": out, "ct": ct, "gx": x.grad, "ggamma": gamma.grad}
    if beta is not None:
        t.update({"beta": beta, "gbeta": beta.grad})
    t.update(extra or {})
    store(case, t)


def channels_last(f):
    """f on channels-first data, applied to channels-last x (and the result moved back)."""
    return lambda x, *a: f(x.movedim(-1, 1), *a).movedim(1, -1)


def stateful_cases(name, torch_fn, ranks):
    for rank in ranks:
        for layout in ("first", "last") if rank > 2 else ("first",):
            for train in (True, False):
                shape = SHAPES_FIRST[rank]
                if layout == "last":
                    shape = (shape[0],) + shape[2:] + (C,)
                x = rand(shape, 2.0, 0.5)
                gamma, beta = rand((C,), 0.5, 1.0), rand((C,))
                mean, var = rand((C,), 0.3), rand((C,), 0.2, 1.0).abs()
                rm, rv = mean.clone(), var.clone()

                def f(xc, g, b):
                    return torch_fn(xc, rm, rv, g, b, train)

                g = channels_last(f) if layout == "last" else f
                case = f"{name}_r{rank}_{layout}_{'train' if train else 'infer'}"
                with_grads(case, g, x, gamma, beta,
                           {"mean": mean, "var": var, "new_mean": rm, "new_var": rv})


def bn(x, rm, rv, g, b, train):
    return F.batch_norm(x, rm, rv, g, b, training=train, momentum=MOMENTUM, eps=EPS)


def inorm(x, rm, rv, g, b, train):
    return F.instance_norm(x, rm, rv, g, b, use_input_stats=train, momentum=MOMENTUM, eps=EPS)


stateful_cases("bn", bn, [2, 3, 4, 5])
stateful_cases("in", inorm, [3, 4, 5])

# layer_norm over the one channel axis.
for rank in (2, 3, 4, 5):
    for layout in ("first", "last") if rank > 2 else ("last",):
        shape = SHAPES_FIRST[rank]
        if layout == "last":
            shape = (shape[0],) + shape[2:] + (C,)

        def ln(xc, g, b):
            return F.layer_norm(xc, (C,), g, b, eps=EPS)

        # For channels first, move the channel axis last, normalise, and move it back.
        f = (lambda x, g, b: ln(x.movedim(1, -1), g, b).movedim(-1, 1)) if layout == "first" \
            else ln
        with_grads(f"ln_r{rank}_{layout}", f, rand(shape, 1.5, -0.5), rand((C,), 0.5, 1.0),
                   rand((C,)))

# group_norm: 6 channels in 3 groups (and 2 groups of 3 at rank 4).
GC = 6
for rank in (2, 3, 4, 5):
    for groups in (3, 2) if rank == 4 else (3,):
        for layout in ("first", "last") if rank > 2 else ("first",):
            shape = list(SHAPES_FIRST[rank])
            shape[1] = GC
            if layout == "last":
                shape = [shape[0]] + shape[2:] + [GC]

            def gn(xc, g, b, groups=groups):
                return F.group_norm(xc, groups, g, b, eps=EPS)

            f = channels_last(gn) if layout == "last" else gn
            with_grads(f"gn_r{rank}_g{groups}_{layout}", f, rand(shape, 1.5, 0.3),
                       rand((GC,), 0.5, 1.0), rand((GC,)))


# rms_norm: x * rsqrt(mean(x^2, ch) + eps) * (shift + gamma), upcast :normalization or :all.
def rms(x, g, channel, eps, shift, upcast):
    pshape = [1] * x.dim()
    pshape[channel] = -1
    g = g.reshape(pshape)
    if upcast == "all":
        xf, gf = x.float(), g.float()
        return xf * torch.rsqrt((xf * xf).mean(dim=channel, keepdim=True) + eps) * (gf + shift)
    xf = x.float()
    normed = (xf * torch.rsqrt((xf * xf).mean(dim=channel, keepdim=True) + eps)).to(x.dtype)
    return normed * (g + shift)


DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}
for dname, dt in DTYPES.items():
    for upcast in ("normalization", "all"):
        for layout, shape, channel in (("last", (3, 5, C), -1), ("first", (2, C, 3, 2), 1)):
            for shift in (0.0, 1.0):
                x = rand(shape, 1.5, 0.2).to(dt)
                gamma = rand((C,), 0.3, 1.0).to(dt)

                def f(xx, g, _b, channel=channel, shift=shift, upcast=upcast):
                    return rms(xx, g, channel, 1e-6, shift, upcast)

                with_grads(f"rms_{dname}_{upcast}_{layout}_s{int(shift)}", f, x, gamma, None)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "normalization.npz")
np.savez_compressed(path, **OUT)
print(f"wrote {len(OUT)} arrays to {path}")
