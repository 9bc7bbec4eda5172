#!/usr/bin/python3
"""Reference values for tests/axon/fn/attention_test.cpp -> attention.npz.

PyTorch (Debian's 1.13) is the reference: torch.nn.MultiheadAttention and
torch.nn.TransformerEncoderLayer with copied weights, and a torch transcription of
scaled-dot-product attention (1.13 has no F.scaled_dot_product_attention). Rotary and sinusoidal
embeddings follow NumPy transcriptions of the published formulas. Everything is computed in
float64 and stored as float32. Gradients are of sum(out * cotangent).

Run with /usr/bin/python3 from any directory; deterministic.
"""

import math
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.RandomState(1234)
out = {}


def rand(*shape, scale=1.0):
    return torch.tensor(rng.uniform(-scale, scale, size=shape))


def put(name, t):
    if isinstance(t, torch.Tensor):
        t = t.detach().numpy()
    if t.dtype == np.float64:
        t = t.astype(np.float32)
    out[name] = t


def grads_of(fn, inputs, name, ct=None):
    """Runs fn(*inputs), stores out, cotangent and gradients under name.*"""
    leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
    y = fn(*leaves)
    if ct is None:
        ct = rand(*y.shape)
    (y * ct).sum().backward()
    for i, x in enumerate(inputs):
        put(f"{name}.in{i}", x)
        put(f"{name}.grad{i}", leaves[i].grad)
    put(f"{name}.out", y)
    put(f"{name}.ct", ct)


# ---- scaled dot-product attention ----------------------------------------------------------------

def sdpa(q, k, v, mask=None, causal=False, scale=None):
    """PyTorch 2's F.scaled_dot_product_attention, transcribed (bool mask: True = attend)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    if causal:
        tq, tk = s.shape[-2], s.shape[-1]
        s = s.masked_fill(~torch.ones(tq, tk, dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return torch.softmax(s, -1) @ v


q, k, v = rand(2, 3, 5, 4), rand(2, 3, 6, 4), rand(2, 3, 6, 3)
grads_of(lambda a, b, c: sdpa(a, b, c), [q, k, v], "sdpa_plain")

# A padding mask {B, 1, 1, Tk} (lengths 4 and 6) combined with a per-head mask {1, H, 1, Tk}:
# every row keeps at least one key.
lengths = torch.tensor([4, 6])
pad = (torch.arange(6)[None, :] < lengths[:, None]).reshape(2, 1, 1, 6)
head_mask = torch.tensor(rng.uniform(size=(1, 3, 1, 6)) < 0.7)
head_mask[..., 0] = True
mask = pad & head_mask
put("sdpa_mask.mask", mask.numpy())
put("sdpa_mask.lengths", lengths.numpy().astype(np.int64))
grads_of(lambda a, b, c: sdpa(a, b, c, mask=mask), [q, k, v], "sdpa_mask")

qc, kc, vc = rand(2, 3, 5, 4), rand(2, 3, 5, 4), rand(2, 3, 5, 4)
grads_of(lambda a, b, c: sdpa(a, b, c, causal=True), [qc, kc, vc], "sdpa_causal")
# Causal with a padding mask of lengths 3 and 5; Tq = Tk so the diagonal is always visible.
pad5 = (torch.arange(5)[None, :] < torch.tensor([3, 5])[:, None]).reshape(2, 1, 1, 5)
put("sdpa_causal_pad.mask", pad5.numpy())
grads_of(lambda a, b, c: sdpa(a, b, c, mask=pad5, causal=True), [qc, kc, vc], "sdpa_causal_pad")
# Causal with Tq < Tk: top-left aligned, as PyTorch's is_causal.
grads_of(lambda a, b, c: sdpa(a, b, c, causal=True), [q, k, v], "sdpa_causal_rect")

q3, k3, v3 = rand(2, 5, 4), rand(2, 6, 4), rand(2, 6, 4)
grads_of(lambda a, b, c: sdpa(a, b, c, scale=0.7), [q3, k3, v3], "sdpa_rank3")

# ---- multi-head attention ------------------------------------------------------------------------

D, H = 8, 2


def mha_case(name, xq, xk, xv, key_padding=None, attn_mask=None):
    mha = torch.nn.MultiheadAttention(D, H, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(rand(3 * D, D, scale=0.5))
        mha.in_proj_bias.copy_(rand(3 * D, scale=0.2))
        mha.out_proj.weight.copy_(rand(D, D, scale=0.5))
        mha.out_proj.bias.copy_(rand(D, scale=0.2))
    w_in, b_in = mha.in_proj_weight.detach(), mha.in_proj_bias.detach()
    # Our layout: kernels {in, out} = torch weight transposed.
    weights = [w_in[0:D].t(), b_in[0:D], w_in[D:2 * D].t(), b_in[D:2 * D],
               w_in[2 * D:].t(), b_in[2 * D:], mha.out_proj.weight.detach().t(),
               mha.out_proj.bias.detach()]

    def run(xq_, xk_, xv_, wq, bq, wk, bk, wv, bv, wo, bo):
        m = torch.nn.MultiheadAttention(D, H, batch_first=True)
        # Rebuild from the differentiable leaves so torch's own module code runs on them.
        del m.in_proj_weight, m.in_proj_bias
        m.in_proj_weight = torch.cat([wq.t(), wk.t(), wv.t()])
        m.in_proj_bias = torch.cat([bq, bk, bv])
        del m.out_proj.weight, m.out_proj.bias
        m.out_proj.weight, m.out_proj.bias = wo.t(), bo
        y, attn = m(xq_, xk_, xv_, key_padding_mask=key_padding, attn_mask=attn_mask,
                    need_weights=True, average_attn_weights=False)
        run.attn = attn
        return y

    grads_of(run, [xq, xk, xv] + weights, name)
    put(f"{name}.attn", run.attn)


x = rand(2, 5, D)
mha_case("mha_self", x, x, x)
xq, xkv = rand(2, 5, D), rand(2, 6, D)
# torch masks are True = ignore; ours are True = attend.
kpm = ~(torch.arange(6)[None, :] < torch.tensor([4, 6])[:, None])
mha_case("mha_cross_pad", xq, xkv, xkv, key_padding=kpm)
causal_ignore = ~torch.ones(5, 5, dtype=torch.bool).tril()
kpm5 = ~(torch.arange(5)[None, :] < torch.tensor([3, 5])[:, None])
mha_case("mha_causal_pad", x, x, x, key_padding=kpm5, attn_mask=causal_ignore)

# ---- transformer encoder block -------------------------------------------------------------------

F = 16


def encoder_case(name, activation, norm_first):
    layer = torch.nn.TransformerEncoderLayer(D, H, dim_feedforward=F, dropout=0.0,
                                             activation=activation, batch_first=True,
                                             norm_first=norm_first)
    layer.eval()
    sa = layer.self_attn
    w_in = rand(3 * D, D, scale=0.5)
    b_in = rand(3 * D, scale=0.2)
    params = [w_in[0:D].t(), b_in[0:D], w_in[D:2 * D].t(), b_in[D:2 * D], w_in[2 * D:].t(),
              b_in[2 * D:], rand(D, D, scale=0.5), rand(D, scale=0.2),
              rand(D, F, scale=0.5), rand(F, scale=0.2), rand(F, D, scale=0.5),
              rand(D, scale=0.2), 1 + rand(D, scale=0.3), rand(D, scale=0.2),
              1 + rand(D, scale=0.3), rand(D, scale=0.2)]

    def run(x_, wq, bq, wk, bk, wv, bv, wo, bo, l1k, l1b, l2k, l2b, g1, b1, g2, b2):
        del sa.in_proj_weight, sa.in_proj_bias
        sa.in_proj_weight = torch.cat([wq.t(), wk.t(), wv.t()])
        sa.in_proj_bias = torch.cat([bq, bk, bv])
        del sa.out_proj.weight, sa.out_proj.bias
        sa.out_proj.weight, sa.out_proj.bias = wo.t(), bo
        for lin, kk, bb in ((layer.linear1, l1k, l1b), (layer.linear2, l2k, l2b)):
            del lin.weight, lin.bias
            lin.weight, lin.bias = kk.t(), bb
        for nrm, gg, bb in ((layer.norm1, g1, b1), (layer.norm2, g2, b2)):
            del nrm.weight, nrm.bias
            nrm.weight, nrm.bias = gg, bb
        return layer(x_)

    grads_of(run, [rand(2, 5, D)] + params, name)


for act in ("relu", "gelu"):
    for nf in (False, True):
        encoder_case(f"encoder_{act}_{'pre' if nf else 'post'}", act, nf)

# ---- position embeddings -------------------------------------------------------------------------


def sinusoidal(seq_len, dim, base=10000.0):
    pe = np.zeros((seq_len, dim))
    for p in range(seq_len):
        for j in range(dim):
            i = j // 2
            angle = p / base ** (2 * i / dim)
            pe[p, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    return pe


put("sinusoidal.even", sinusoidal(7, 6))
put("sinusoidal.odd", sinusoidal(7, 5))
put("sinusoidal.long", sinusoidal(64, 16))


def rotary(x, positions, base=10000.0):
    """GPT-NeoX / LLaMA rotate_half: x {..., T, hd}, positions broadcastable to {..., T}."""
    hd = x.shape[-1]
    inv = 1.0 / base ** (np.arange(0, hd, 2) / hd)
    theta = positions[..., None] * inv
    emb = np.concatenate([theta, theta], -1)
    cos, sin = np.cos(emb), np.sin(emb)
    x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
    rot = np.concatenate([-x2, x1], -1)
    return x * cos + rot * sin, cos, sin


def rotary_grad(ct, cos, sin):
    hd = ct.shape[-1]
    g = ct * sin
    return ct * cos + np.concatenate([g[..., hd // 2:], -g[..., :hd // 2]], -1)


xr = rng.uniform(-1, 1, size=(2, 3, 5, 6))
y, c, s = rotary(xr, np.arange(5.0))
ct = rng.uniform(-1, 1, size=y.shape)
put("rotary.x", xr)
put("rotary.out", y)
put("rotary.ct", ct)
put("rotary.grad", rotary_grad(ct, c, s))
xb = rng.uniform(-1, 1, size=(2, 5, 8))
pos = np.array([[0, 1, 2, 3, 4], [7, 3, 12, 0, 100]], dtype=np.int64)
y, c, s = rotary(xb, pos.astype(np.float64), base=500.0)
ct = rng.uniform(-1, 1, size=y.shape)
put("rotary_pos.x", xb)
put("rotary_pos.positions", pos)
put("rotary_pos.out", y)
put("rotary_pos.ct", ct)
put("rotary_pos.grad", rotary_grad(ct, c, s))

np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "attention.npz"),
                    **out)
