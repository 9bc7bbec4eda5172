#!/usr/bin/python3
"""Reference data for tests/axon/fn/recurrent_test.cpp (run with /usr/bin/python3).

Writes recurrent.npz next to this script. Every case stores its inputs, Axon-named weights,
outputs, the cotangents of a loss sum(out * ct_out) + sum(c * ct_c) + sum(h * ct_h), and the
gradients of that loss w.r.t. the input, the initial carry and every weight. Computed in float64,
stored as float32.

  lstm, gru, bilstm      torch.nn.LSTM / nn.GRU (bidirectional=True for bilstm), weights copied
                         to Axon's layout: torch's weight_ih_l0 rows are [i, f, g, o] (LSTM) and
                         [r, z, n] (GRU); Axon's kernels are {F, units} (transposed); torch's two
                         biases add up, except GRU's b_hn, which is Axon's bhn.
  lstm_mask, gru_mask    a transcription of Axon's cells with a {B, T} mask (1 keeps the carry),
  lstm_act, gru_act      and with a softsign activation, written with torch ops for autograd.
  conv, conv_strided     a transcription of Axon's conv_lstm_cell (gates i, g, f, o; +1 on f),
                         padding same / strides 2 with valid padding on the input convolution.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
OUT = {}
B, T, FEAT, U = 3, 5, 4, 6


def rnd(*shape, scale=1.0):
    return (torch.rand(*shape) * 2 - 1) * scale


def store(prefix, tensors):
    for k, v in tensors.items():
        OUT[f"{prefix}_{k}"] = v.detach().numpy().astype(np.float32)


def axon_lstm_weights(w_ih, w_hh, b_ih, b_hh):
    names_i, names_h, names_b = ["wii", "wif", "wig", "wio"], ["whi", "whf", "whg", "who"], \
        ["bi", "bf", "bg", "bo"]
    w = {}
    for k in range(4):
        sl = slice(k * U, (k + 1) * U)
        w[names_i[k]] = w_ih[sl].t()
        w[names_h[k]] = w_hh[sl].t()
        w[names_b[k]] = b_ih[sl] + b_hh[sl]
    return w


def axon_gru_weights(w_ih, w_hh, b_ih, b_hh):
    w = {}
    for k, (i, h) in enumerate([("wir", "whr"), ("wiz", "whz"), ("win", "whn")]):
        sl = slice(k * U, (k + 1) * U)
        w[i] = w_ih[sl].t()
        w[h] = w_hh[sl].t()
    w["br"] = b_ih[:U] + b_hh[:U]
    w["bz"] = b_ih[U:2 * U] + b_hh[U:2 * U]
    w["bin"] = b_ih[2 * U:]
    w["bhn"] = b_hh[2 * U:]
    return w


def leafify(w):
    return {k: v.detach().clone().requires_grad_(True) for k, v in w.items()}


def finish(prefix, inputs, weights, out, carry, weight_grads=None):
    """Loss, backward, and storage of inputs, weights, outputs, cotangents and gradients.
    weight_grads: a function giving the Axon-named weight gradients after backward (default:
    the .grad of each weight leaf)."""
    cts = {"ct_out": rnd(*out.shape)}
    loss = (out * cts["ct_out"]).sum()
    names = ["c", "h"] if len(carry) == 2 else ["h"]
    for n, c in zip(names, carry):
        cts[f"ct_{n}"] = rnd(*c.shape)
        loss = loss + (c * cts[f"ct_{n}"]).sum()
    loss.backward()
    grads = weight_grads() if weight_grads else {k: v.grad for k, v in weights.items()}
    store(prefix, inputs)
    store(prefix, weights)
    store(prefix, {"out": out, **dict(zip(names, carry)), **cts})
    store(prefix, {"g_" + k: v.grad for k, v in inputs.items()})
    store(prefix, {"g_" + k: v for k, v in grads.items()})


# ---- torch.nn.LSTM / GRU ---------------------------------------------------------------------
# Gradients of the Axon-named weights come from torch's: a kernel's is the transposed slice, a
# summed bias's is either bias's slice.

def lstm_params(net, suffix=""):
    return [getattr(net, n + "_l0" + suffix) for n in ["weight_ih", "weight_hh", "bias_ih",
                                                        "bias_hh"]]


def lstm_weight_grads(params):
    g = [p.grad for p in params]
    return axon_lstm_weights(g[0], g[1], g[2], torch.zeros_like(g[3]))


def torch_lstm_case():
    net = torch.nn.LSTM(FEAT, U, batch_first=True)
    params = lstm_params(net)
    w = axon_lstm_weights(*params)
    inputs = leafify({"x": rnd(B, T, FEAT), "c0": rnd(B, U, scale=0.5),
                      "h0": rnd(B, U, scale=0.5)})
    out, (h, c) = net(inputs["x"], (inputs["h0"][None], inputs["c0"][None]))
    finish("lstm", inputs, w, out, [c[0], h[0]], lambda: lstm_weight_grads(params))


def torch_gru_case():
    net = torch.nn.GRU(FEAT, U, batch_first=True)
    params = lstm_params(net)
    w = axon_gru_weights(*params)
    inputs = leafify({"x": rnd(B, T, FEAT), "h0": rnd(B, U, scale=0.5)})
    out, h = net(inputs["x"], inputs["h0"][None])

    def grads():
        g = [p.grad for p in params]
        r = axon_gru_weights(g[0], g[1], g[2], torch.zeros_like(g[3]))
        r["bhn"] = g[3][2 * U:]
        return r
    finish("gru", inputs, w, out, [h[0]], grads)


def torch_lstm_bi_case():
    """Bidirectional LSTM, two weight sets (fwd_*, bwd_*); outputs concatenated as torch does,
    final carries concatenated on the feature axis (forward first) as bidirectional merges."""
    net = torch.nn.LSTM(FEAT, U, batch_first=True, bidirectional=True)
    pf, pb = lstm_params(net), lstm_params(net, "_reverse")
    w = {**{"fwd_" + k: v for k, v in axon_lstm_weights(*pf).items()},
         **{"bwd_" + k: v for k, v in axon_lstm_weights(*pb).items()}}
    inputs = leafify({"x": rnd(B, T, FEAT), "c0": rnd(B, U, scale=0.5),
                      "h0": rnd(B, U, scale=0.5)})
    # The same initial carry for both directions.
    out, (h, c) = net(inputs["x"], (inputs["h0"][None].expand(2, B, U),
                                    inputs["c0"][None].expand(2, B, U)))

    def grads():
        return {**{"fwd_" + k: v for k, v in lstm_weight_grads(pf).items()},
                **{"bwd_" + k: v for k, v in lstm_weight_grads(pb).items()}}
    finish("bilstm", inputs, w, out, [torch.cat([c[0], c[1]], -1), torch.cat([h[0], h[1]], -1)],
           grads)


# ---- transcriptions of Axon's cells (masks, other activations) --------------------------------

def softsign(v):
    return v / (1 + v.abs())


def axon_lstm(x, c, h, w, mask, act):
    outs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        i = torch.sigmoid(xt @ w["wii"] + w["bi"] + h @ w["whi"])
        f = torch.sigmoid(xt @ w["wif"] + w["bf"] + h @ w["whf"])
        g = act(xt @ w["wig"] + w["bg"] + h @ w["whg"])
        o = torch.sigmoid(xt @ w["wio"] + w["bo"] + h @ w["who"])
        nc = f * c + i * g
        nh = o * act(nc)
        m = mask[:, t:t + 1] != 0
        c, h = torch.where(m, c, nc), torch.where(m, h, nh)
        outs.append(h)
    return torch.stack(outs, 1), [c, h]


def axon_gru(x, h, w, mask, act):
    outs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = torch.sigmoid(xt @ w["wir"] + w["br"] + h @ w["whr"])
        z = torch.sigmoid(xt @ w["wiz"] + w["bz"] + h @ w["whz"])
        n = act(xt @ w["win"] + w["bin"] + r * (h @ w["whn"] + w["bhn"]))
        nh = (1 - z) * n + z * h
        h = torch.where(mask[:, t:t + 1] != 0, h, nh)
        outs.append(h)
    return torch.stack(outs, 1), [h]


def random_lstm_weights():
    w = {k: rnd(FEAT, U, scale=0.5) for k in ["wii", "wif", "wig", "wio"]}
    w.update({k: rnd(U, U, scale=0.5) for k in ["whi", "whf", "whg", "who"]})
    w.update({k: rnd(U, scale=0.5) for k in ["bi", "bf", "bg", "bo"]})
    return leafify(w)


def random_gru_weights():
    w = {k: rnd(FEAT, U, scale=0.5) for k in ["wir", "wiz", "win"]}
    w.update({k: rnd(U, U, scale=0.5) for k in ["whr", "whz", "whn"]})
    w.update({k: rnd(U, scale=0.5) for k in ["br", "bz", "bin", "bhn"]})
    return leafify(w)


def a_mask():
    # Example 0: no masking; 1: right padding (last 2 steps kept); 2: scattered.
    m = torch.zeros(B, T)
    m[1, 3:] = 1
    m[2, 1] = 1
    m[2, 3] = 1
    return m


def transcribed_cases():
    for name, mask, act in [("mask", a_mask(), torch.tanh), ("act", torch.zeros(B, T), softsign)]:
        inputs = leafify({"x": rnd(B, T, FEAT), "c0": rnd(B, U, scale=0.5),
                          "h0": rnd(B, U, scale=0.5)})
        w = random_lstm_weights()
        out, carry = axon_lstm(inputs["x"], inputs["c0"], inputs["h0"], w, mask, act)
        finish(f"lstm_{name}", inputs, w, out, carry)
        OUT[f"lstm_{name}_mask"] = mask.numpy().astype(np.float32)

        inputs = leafify({"x": rnd(B, T, FEAT), "h0": rnd(B, U, scale=0.5)})
        w = random_gru_weights()
        out, carry = axon_gru(inputs["x"], inputs["h0"], w, mask, act)
        finish(f"gru_{name}", inputs, w, out, carry)
        OUT[f"gru_{name}_mask"] = mask.numpy().astype(np.float32)


# ---- ConvLSTM ---------------------------------------------------------------------------------

def axon_conv_lstm(x, c, h, wi, wh, b, stride, padding):
    outs = []
    u = wh.shape[1]
    for t in range(x.shape[1]):
        gates = F.conv2d(x[:, t], wi, b, stride=stride, padding=padding) + \
            F.conv2d(h, wh, padding="same")
        i, g, f, o = (gates[:, k * u:(k + 1) * u] for k in range(4))
        f = torch.sigmoid(f + 1)
        c = f * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs, 1), [c, h]


def conv_cases():
    bb, tt, ch, size, u, k = 2, 3, 2, 5, 3, 3
    for name, stride, padding, out_size in [("conv", 1, 1, size), ("conv_strided", 2, 0, 2)]:
        inputs = leafify({"x": rnd(bb, tt, ch, size, size),
                          "c0": rnd(bb, u, out_size, out_size, scale=0.5),
                          "h0": rnd(bb, u, out_size, out_size, scale=0.5)})
        w = leafify({"wi": rnd(4 * u, ch, k, k, scale=0.4), "wh": rnd(4 * u, u, k, k, scale=0.4),
                     "b": rnd(4 * u, scale=0.4)})
        out, carry = axon_conv_lstm(inputs["x"], inputs["c0"], inputs["h0"], w["wi"], w["wh"],
                                    w["b"], stride, padding)
        finish(name, inputs, w, out, carry)


torch_lstm_case()
torch_gru_case()
torch_lstm_bi_case()
transcribed_cases()
conv_cases()
np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "recurrent.npz"),
                    **OUT)
print(f"wrote {len(OUT)} arrays")
