#!/usr/bin/python3
"""Reference data of tests/axon/onnx/ops_rnn_test.cpp: ONNX LSTM, GRU and RNN.

The reference is a step-by-step transcription of the ONNX operator formulas in float64 torch
(so autograd gives every gradient), with ONNX Runtime's sequence_lens rule (steps past an
example's length keep its state and give zeros in Y; the reverse direction starts at the last
valid step). It is checked here against torch.nn.LSTM / GRU / RNN on the configurations torch
supports (weights reordered to ONNX's gate order). Writes ops_rnn.npz next to this script.
Run with /usr/bin/python3 (Debian's torch and numpy); deterministic.
"""
import os

import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(0)
OUT = {}


def act(name, alpha=None, beta=None):
    n = name.lower()
    if n == "sigmoid":
        return torch.sigmoid
    if n == "tanh":
        return torch.tanh
    if n == "relu":
        return torch.relu
    if n == "softsign":
        return lambda x: x / (1 + x.abs())
    if n == "softplus":
        return lambda x: torch.log1p(torch.exp(x))
    if n == "leakyrelu":
        return lambda x: torch.where(x < 0, alpha * x, x)
    if n == "thresholdedrelu":
        return lambda x: torch.where(x > alpha, x, torch.zeros_like(x))
    if n == "elu":
        return lambda x: torch.where(x < 0, alpha * torch.expm1(x), x)
    if n == "affine":
        return lambda x: alpha * x + beta
    if n == "scaledtanh":
        return lambda x: alpha * torch.tanh(beta * x)
    if n == "hardsigmoid":
        return lambda x: torch.clamp(alpha * x + beta, 0, 1)
    raise ValueError(name)


USES = {"leakyrelu": (0.01, None), "thresholdedrelu": (1.0, None), "elu": (1.0, None),
        "affine": (1.0, 0.0), "scaledtanh": (1.0, 1.0), "hardsigmoid": (0.2, 0.5)}


def make_acts(names, alphas, betas):
    ai, bi, out = 0, 0, []
    for n in names:
        a = b = None
        if n.lower() in USES:
            da, db = USES[n.lower()]
            a = alphas[ai] if ai < len(alphas) else da
            ai += 1
            if db is not None:
                b = betas[bi] if bi < len(betas) else db
                bi += 1
        out.append(act(n, a, b))
    return out


def reference(kind, X, W, R, B=None, lens=None, h0=None, c0=None, P=None, direction="forward",
              activations=None, alphas=(), betas=(), clip=None, input_forget=0, lbr=0, layout=0):
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    per = {"LSTM": 3, "GRU": 2, "RNN": 1}[kind]
    D = 2 if direction == "bidirectional" else 1
    if layout == 1:
        X = X.transpose(0, 1)
        h0 = None if h0 is None else h0.transpose(0, 1)
        c0 = None if c0 is None else c0.transpose(0, 1)
    T, Bn, _ = X.shape
    H = R.shape[2]
    if activations is None:
        activations = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                       "RNN": ["Tanh"]}[kind] * D
    acts = make_acts(activations, list(alphas), list(betas))
    cl = (lambda x: torch.clamp(x, -clip, clip)) if clip else (lambda x: x)
    zeros = torch.zeros(D, Bn, H, dtype=X.dtype)
    h0 = zeros if h0 is None else h0
    c0 = zeros if c0 is None else c0
    Bb = torch.zeros(D, 2 * G * H, dtype=X.dtype) if B is None else B
    lens = [T] * Bn if lens is None else list(lens)
    Ys, Hs, Cs = [], [], []
    for d in range(D):
        f = acts[d * per:(d + 1) * per]
        w, r = W[d], R[d]
        wb, rb = Bb[d][:G * H], Bb[d][G * H:]
        rev = direction == "reverse" or d == 1
        ycols, hs, cs = [], [], []
        for b in range(Bn):
            h, c = h0[d, b], c0[d, b]
            L = lens[b]
            order = list(range(L))[::-1] if rev else list(range(L))
            ys = [torch.zeros(H, dtype=X.dtype) for _ in range(T)]
            for t in order:
                x = X[t, b]
                if kind == "RNN":
                    h = f[0](cl(w @ x + wb + r @ h + rb))
                elif kind == "GRU":
                    gx = w @ x + wb
                    z = f[0](cl(gx[:H] + r[:H] @ h + rb[:H]))
                    rr = f[0](cl(gx[H:2 * H] + r[H:2 * H] @ h + rb[H:2 * H]))
                    if lbr:
                        hh = f[1](cl(gx[2 * H:] + rr * (r[2 * H:] @ h + rb[2 * H:])))
                    else:
                        hh = f[1](cl(gx[2 * H:] + r[2 * H:] @ (rr * h) + rb[2 * H:]))
                    h = (1 - z) * hh + z * h
                else:
                    g = w @ x + wb + r @ h + rb
                    gi, go, gf, gc = g[:H], g[H:2 * H], g[2 * H:3 * H], g[3 * H:]
                    if P is not None:
                        gi = gi + P[d][:H] * c
                        gf = gf + P[d][2 * H:] * c
                    i = f[0](cl(gi))
                    fg = 1 - i if input_forget else f[0](cl(gf))
                    c = fg * c + i * f[1](cl(gc))
                    if P is not None:
                        go = go + P[d][H:2 * H] * c
                    o = f[0](cl(go))
                    h = o * f[2](c)
                ys[t] = h
            ycols.append(torch.stack(ys))
            hs.append(h)
            cs.append(c)
        Ys.append(torch.stack(ycols, 1))  # T, B, H
        Hs.append(torch.stack(hs))
        Cs.append(torch.stack(cs))
    Y, Yh, Yc = torch.stack(Ys, 1), torch.stack(Hs), torch.stack(Cs)
    if layout == 1:
        Y, Yh, Yc = Y.permute(2, 0, 1, 3), Yh.transpose(0, 1), Yc.transpose(0, 1)
    return (Y, Yh, Yc) if kind == "LSTM" else (Y, Yh)


def rand(*shape, scale=0.5):
    return torch.tensor(rng.standard_normal(shape) * scale, dtype=torch.float64)


def case(name, kind, T, B, I, H, direction="forward", with_b=True, with_h0=True, with_c0=True,
         with_p=False, lens=None, layout=0, **attrs):
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    D = 2 if direction == "bidirectional" else 1
    ins = {"X": rand(*((T, B, I) if layout == 0 else (B, T, I)), scale=1.0),
           "W": rand(D, G * H, I), "R": rand(D, G * H, H)}
    if with_b:
        ins["B"] = rand(D, 2 * G * H)
    hshape = (D, B, H) if layout == 0 else (B, D, H)
    if with_h0:
        ins["initial_h"] = rand(*hshape)
    if kind == "LSTM" and with_c0:
        ins["initial_c"] = rand(*hshape)
    if with_p:
        ins["P"] = rand(D, 3 * H)
    for t in ins.values():
        t.requires_grad_(True)
    outs = reference(kind, ins["X"], ins["W"], ins["R"], ins.get("B"), lens,
                     ins.get("initial_h"), ins.get("initial_c"), ins.get("P"), direction,
                     layout=layout, **attrs)
    flat = torch.cat([o.reshape(-1) for o in outs])
    ct = rand(flat.numel(), scale=1.0)
    names = list(ins.keys())
    grads = torch.autograd.grad((flat * ct).sum(), [ins[k] for k in names])
    for k in names:
        OUT[f"{name}.{k}"] = ins[k].detach().numpy().astype(np.float32)
    if lens is not None:
        OUT[f"{name}.sequence_lens"] = np.array(lens, dtype=np.int32)
    for k, o in zip(["Y", "Y_h", "Y_c"], outs):
        OUT[f"{name}.{k}"] = o.detach().numpy().astype(np.float32)
    OUT[f"{name}.cotangent"] = ct.numpy().astype(np.float32)
    for k, g in zip(names, grads):
        OUT[f"{name}.grad_{k}"] = g.numpy().astype(np.float32)
    return ins, outs


def check_against_torch(kind, name, ins, outs, bidir):
    """torch.nn.<kind> with the same weights (ONNX gate order -> torch's) gives the same Y."""
    X, W, R, B = ins["X"].detach(), ins["W"].detach(), ins["R"].detach(), ins["B"].detach()
    D, GH, I = W.shape
    H = R.shape[2]
    if kind == "LSTM":
        mod = torch.nn.LSTM(I, H, bidirectional=bidir).double()
        perm = [0, 2, 3, 1]  # torch i f g o <- onnx i o f c
    elif kind == "GRU":
        mod = torch.nn.GRU(I, H, bidirectional=bidir).double()
        perm = [1, 0, 2]  # torch r z n <- onnx z r h
    else:
        mod = torch.nn.RNN(I, H, bidirectional=bidir).double()
        perm = [0]

    def reorder(m):
        return torch.cat([m.reshape(len(perm), H, *m.shape[1:])[p] for p in perm])

    with torch.no_grad():
        for d in range(D):
            sfx = "_reverse" if d == 1 else ""
            getattr(mod, "weight_ih_l0" + sfx).copy_(reorder(W[d]))
            getattr(mod, "weight_hh_l0" + sfx).copy_(reorder(R[d]))
            getattr(mod, "bias_ih_l0" + sfx).copy_(reorder(B[d][:GH]))
            getattr(mod, "bias_hh_l0" + sfx).copy_(reorder(B[d][GH:]))
        h0 = ins["initial_h"].detach()
        if kind == "LSTM":
            y, (hn, cn) = mod(X, (h0, ins["initial_c"].detach()))
            assert torch.allclose(cn, outs[2].detach(), atol=1e-10), name
        else:
            y, hn = mod(X, h0)
        T, Bn = X.shape[:2]
        assert torch.allclose(y, outs[0].detach().permute(0, 2, 1, 3).reshape(T, Bn, D * H),
                              atol=1e-10), name
        assert torch.allclose(hn, outs[1].detach(), atol=1e-10), name


# Torch-compatible configurations (checked against torch.nn).
ins, outs = case("lstm_fwd", "LSTM", 5, 3, 4, 3)
check_against_torch("LSTM", "lstm_fwd", ins, outs, False)
ins, outs = case("lstm_bidir", "LSTM", 4, 2, 3, 3, direction="bidirectional")
check_against_torch("LSTM", "lstm_bidir", ins, outs, True)
ins, outs = case("gru_lbr", "GRU", 5, 3, 4, 3, lbr=1)
check_against_torch("GRU", "gru_lbr", ins, outs, False)
ins, outs = case("gru_lbr_bidir", "GRU", 4, 2, 3, 3, direction="bidirectional", lbr=1)
check_against_torch("GRU", "gru_lbr_bidir", ins, outs, True)
ins, outs = case("rnn_bidir", "RNN", 4, 2, 3, 3, direction="bidirectional")
check_against_torch("RNN", "rnn_bidir", ins, outs, True)

# The rest of ONNX (formula transcription only).
case("lstm_rev_peep_clip_lens", "LSTM", 5, 3, 2, 3, direction="reverse", with_p=True,
     lens=[5, 2, 0], clip=0.7)
case("lstm_bidir_lens_peep", "LSTM", 4, 3, 2, 2, direction="bidirectional", with_p=True,
     lens=[4, 1, 3])
case("lstm_layout1_forget_acts", "LSTM", 4, 2, 3, 2, layout=1, input_forget=1,
     activations=["HardSigmoid", "LeakyRelu", "ScaledTanh"], alphas=[0.3, 0.2, 0.9],
     betas=[0.6, 1.1], with_c0=False)
case("lstm_defaults", "LSTM", 3, 2, 2, 4, with_b=False, with_h0=False, with_c0=False)
case("gru_rev_lens_clip", "GRU", 5, 3, 3, 2, direction="reverse", lens=[3, 5, 1], clip=0.5)
case("gru_layout1_acts", "GRU", 4, 2, 3, 3, layout=1,
     activations=["Softsign", "Elu"], alphas=[0.5])
case("gru_bidir_lens", "GRU", 4, 3, 2, 2, direction="bidirectional", lens=[2, 4, 3], lbr=0)
case("gru_defaults", "GRU", 3, 2, 2, 3, with_b=False, with_h0=False)
case("rnn_relu_rev_layout1", "RNN", 4, 3, 3, 2, direction="reverse", layout=1, lens=[4, 2, 3],
     activations=["Relu"])
case("rnn_bidir_acts", "RNN", 3, 2, 2, 3, direction="bidirectional",
     activations=["Affine", "Softplus"], alphas=[0.8], betas=[0.1], clip=1.5)

np.savez(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_rnn.npz"), **OUT)
print(len(OUT), "arrays")
