#!/usr/bin/python3
"""Reference data for tests/axon/fn/losses_test.cpp: writes losses.npz next to this script.

Run with /usr/bin/python3 (Debian's python3-torch and numpy). Deterministic.

Every reference is computed in float64 by torch autograd on a transcription of Axon's
per-sample formula (with this library's documented corrections, see docs/axon-fn-losses.md),
from the same (float32) inputs the test feeds. Where PyTorch has an equivalent built-in
(F.binary_cross_entropy(_with_logits), F.cross_entropy/nll_loss, F.kl_div, F.huber_loss,
F.margin_ranking_loss, F.soft_margin_loss, F.poisson_nll_loss, F.cosine_similarity, F.l1_loss,
F.mse_loss, F.ctc_loss), the script asserts that the transcription agrees with it, values and
gradients, so the references are PyTorch's wherever PyTorch defines the same loss.

Keys: "<case>__<field>", fields: inputs (y_true, y_pred, ...), out, ct (the cotangent of out),
grad_<input> (gradient of sum(out * ct)).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.manual_seed(0)
rng = np.random.default_rng(1234)
OUT = {}
EPS = 1e-7
REDUCTIONS = ["none", "mean", "sum"]


def f32(x):
    return np.asarray(x, dtype=np.float32)


def t64(x, grad=False):
    t = torch.tensor(np.asarray(x, dtype=np.float64))
    return t.requires_grad_(grad)


def to_t(v, grad):
    """float arrays as float64 tensors (grad if asked), integer arrays as they are."""
    v = np.asarray(v)
    return t64(v, grad) if v.dtype.kind == "f" else torch.tensor(v)


def reduce(loss, red):
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[red]


def close(a, b, what, rtol=1e-6, atol=1e-9):
    a = a.detach().numpy() if torch.is_tensor(a) else a
    b = b.detach().numpy() if torch.is_tensor(b) else b
    assert np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True), (what, a, b)


def record(case, inputs, wrt, fn):
    """inputs: name -> numpy array (stored as given); wrt: names to differentiate; fn(tensors)
    -> out (float64). Stores inputs, out, a cotangent and the gradients."""
    ts = {k: to_t(v, k in wrt) for k, v in inputs.items()}
    out = fn(ts)
    ct = rng.standard_normal(out.shape) if out.dim() else np.array(rng.standard_normal())
    grads = torch.autograd.grad((out * torch.tensor(ct)).sum(), [ts[k] for k in wrt]) if wrt else []
    for k, v in inputs.items():
        OUT[f"{case}__{k}"] = v
    OUT[f"{case}__out"] = out.detach().numpy().astype(np.float64)
    OUT[f"{case}__ct"] = np.asarray(ct, dtype=np.float64)
    for k, g in zip(wrt, grads):
        OUT[f"{case}__grad_{k}"] = g.numpy()
    return out, ct, grads


def check_builtin(inputs, wrt, ours, theirs, what, rtol=1e-6, atol=1e-9):
    """Values and gradients (of the plain sum) of `ours` and `theirs` agree."""
    a = {k: to_t(v, k in wrt) for k, v in inputs.items()}
    b = {k: to_t(v, k in wrt) for k, v in inputs.items()}
    oa, ob = ours(a), theirs(b)
    close(oa, ob, what + " value", rtol, atol)
    if wrt:
        ga = torch.autograd.grad(oa.sum(), [a[k] for k in wrt])
        gb = torch.autograd.grad(ob.sum(), [b[k] for k in wrt])
        for x, y in zip(ga, gb):
            close(x, y, what + " grad", rtol, atol)


B, C = 4, 5

# ---- binary_cross_entropy --------------------------------------------------------------------
WEIGHTS = {"none": (None, None), "pos": (2.0, None), "neg": (None, 0.5), "both": (3.0, 0.4)}


def bce(t, logits, pos, neg):
    y, p = t["y_true"].double(), t["y_pred"]
    if logits:
        loss = -y * F.logsigmoid(p) - (1 - y) * F.logsigmoid(-p)
    else:
        pc = torch.clamp(p, EPS, 1 - EPS)
        loss = -(y * torch.log(pc + EPS) + (1 - y) * torch.log(1 - pc + EPS))
    if pos is not None or neg is not None:
        pw = 1.0 if pos is None else pos
        nw = 1.0 if neg is None else neg
        loss = (nw + (pw - nw) * y) * loss
    return loss.mean(-1)


y_hard = f32(rng.integers(0, 2, (B, C)))
logit = f32(rng.standard_normal((B, C)) * 2)
prob = f32(rng.uniform(0.02, 0.98, (B, C)))
for logits in (0, 1):
    x = logit if logits else prob
    for wname, (pos, neg) in WEIGHTS.items():
        for red in REDUCTIONS:
            record(f"bce_{logits}_{wname}_{red}", {"y_true": y_hard, "y_pred": x}, ["y_pred"],
                   lambda t: reduce(bce(t, logits, pos, neg), red))
    # PyTorch agrees where its loss is the same: pos_weight multiplies the positive term only,
    # which for 0/1 labels equals Axon's weight of the whole element (negative weight 1).
    inp = {"y_true": y_hard, "y_pred": x}
    for pos in (None, 2.0):
        if logits:
            pw = None if pos is None else torch.tensor(pos, dtype=torch.float64)
            theirs = lambda t: F.binary_cross_entropy_with_logits(
                t["y_pred"], torch.tensor(y_hard, dtype=torch.float64), pos_weight=pw,
                reduction="none").mean(-1)
            check_builtin(inp, ["y_pred"], lambda t: bce(t, 1, pos, None), theirs, "bce logits")
        elif pos is None:
            theirs = lambda t: F.binary_cross_entropy(
                t["y_pred"], torch.tensor(y_hard, dtype=torch.float64), reduction="none").mean(-1)
            # Axon's 1e-7 inside the logs: equal to about 1e-7 / p.
            check_builtin(inp, ["y_pred"], lambda t: bce(t, 0, None, None), theirs, "bce probs",
                          rtol=1e-5, atol=1e-5)
# Soft labels and integer (u8) labels.
y_soft = f32(rng.uniform(0, 1, (B, C)))
for logits in (0, 1):
    x = logit if logits else prob
    record(f"bce_soft_{logits}", {"y_true": y_soft, "y_pred": x}, ["y_pred"],
           lambda t: bce(t, logits, 3.0, 0.4))
record("bce_u8", {"y_true": y_hard.astype(np.uint8), "y_pred": prob}, ["y_pred"],
       lambda t: bce(t, 0, 2.0, None))

# ---- categorical_cross_entropy ---------------------------------------------------------------
labels = rng.integers(0, C, (B,))
onehot = f32(np.eye(C)[labels])
cce_logits = f32(rng.standard_normal((B, C)) * 2)
cce_probs = f32(torch.softmax(torch.tensor(cce_logits), -1).numpy())
class_w = f32(rng.uniform(0.2, 2.0, (C,)))


def cce(t, logits, sparse, weighted, red):
    p = t["y_pred"]
    logp = F.log_softmax(p, -1) if logits else torch.log(p)
    if sparse:
        ids = t["y_true"].long().reshape(-1)
        loss = -logp.gather(-1, ids[:, None])[:, 0]
    else:
        y = t["y_true"].double()
        loss = -(y * logp).sum(-1)
        ids = y.argmax(-1)
    if not weighted:
        return reduce(loss, red)
    w = t["w"][ids]
    loss = w * loss
    return loss.sum() / w.sum() if red == "mean" else reduce(loss, red)


for logits in (0, 1):
    x = cce_logits if logits else cce_probs
    for sparse in (0, 1):
        # sparse labels: rank 1 (s64) for probabilities, [B][1] (s32) for logits
        yt = (labels.astype(np.int64) if not logits else labels.astype(np.int32)[:, None]) \
            if sparse else onehot
        for weighted in (0, 1):
            for red in REDUCTIONS:
                inp = {"y_true": yt, "y_pred": x}
                wrt = ["y_pred"]
                if weighted:
                    inp["w"] = class_w
                    wrt.append("w")
                record(f"cce_{logits}_{sparse}_{weighted}_{red}", inp, wrt,
                       lambda t: cce(t, logits, sparse, weighted, red))
                # PyTorch's cross_entropy (index targets) is the same loss.
                wt = torch.tensor(class_w, dtype=torch.float64) if weighted else None
                tgt = torch.tensor(labels)
                theirs = (lambda t: F.cross_entropy(t["y_pred"], tgt, weight=wt, reduction=red)) \
                    if logits else \
                    (lambda t: F.nll_loss(torch.log(t["y_pred"]), tgt, weight=wt, reduction=red))
                check_builtin({"y_true": yt, "y_pred": x, "w": class_w}, ["y_pred"],
                              lambda t: cce(t, logits, sparse, weighted, red), theirs, "cce")
# Label smoothing: PyTorch's cross_entropy(label_smoothing=s) (mean) is the smoothed loss.
for logits in (0, 1):
    x = cce_logits if logits else cce_probs
    s = 0.2

    def smoothed(t, logits=logits, s=s):
        y = t["y_true"] * (1 - s) + s / C
        logp = F.log_softmax(t["y_pred"], -1) if logits else torch.log(t["y_pred"])
        return -(y * logp).sum(-1).mean()
    record(f"cce_smooth_{logits}", {"y_true": onehot, "y_pred": x}, ["y_pred"], smoothed)
    tgt = torch.tensor(labels)
    theirs = (lambda t: F.cross_entropy(t["y_pred"] if logits else torch.log(t["y_pred"]), tgt,
                                        label_smoothing=s))
    # (on probabilities only the values compare: cross_entropy renormalises log p)
    check_builtin({"y_true": onehot, "y_pred": x}, ["y_pred"] if logits else [], smoothed, theirs,
                  "smoothing")
# Zero probabilities where the label is 0: xlogy gives 0 and a zero gradient there.
p0 = cce_probs.copy()
p0[np.arange(B), (labels + 1) % C] = 0.0
# (torch's xlogy has a NaN gradient at y = p = 0; its value there is 0 and so is its gradient
# in the limit along y = 0, which is what the "double where" below computes.)
def xlogy_sum(t):
    y, p = t["y_true"].double(), t["y_pred"]
    zero = y == 0
    return -torch.where(zero, torch.zeros_like(p), y * torch.log(torch.where(zero, 1.0, p))).sum(-1)


record("cce_zero_prob", {"y_true": onehot, "y_pred": p0}, ["y_pred"], xlogy_sum)
close(xlogy_sum({"y_true": torch.tensor(onehot), "y_pred": torch.tensor(p0, dtype=torch.float64)}),
      -torch.special.xlogy(torch.tensor(onehot, dtype=torch.float64),
                           torch.tensor(p0, dtype=torch.float64)).sum(-1), "xlogy")

# ---- other classification losses -------------------------------------------------------------
pm1 = f32(rng.choice([-1.0, 1.0], (B, C)))
scores = f32(rng.standard_normal((B, C)))
for red in REDUCTIONS:
    record(f"categorical_hinge_{red}", {"y_true": onehot, "y_pred": scores}, ["y_pred"],
           lambda t: reduce(torch.clamp_min(
               ((1 - t["y_true"].double()) * t["y_pred"]).amax(-1)
               - (t["y_true"].double() * t["y_pred"]).sum(-1) + 1, 0), red))
    record(f"hinge_{red}", {"y_true": pm1, "y_pred": scores}, ["y_pred"],
           lambda t: reduce(torch.clamp_min(1 - t["y_true"].double() * t["y_pred"], 0).mean(-1),
                            red))
    record(f"soft_margin_{red}", {"y_true": pm1, "y_pred": scores}, ["y_pred"],
           lambda t: reduce(F.softplus(-t["y_true"].double() * t["y_pred"]).mean(-1), red))
    kl_true = f32(rng.dirichlet(np.ones(C), B))
    kl_true[0, 1] = 0.0  # clipped to 1e-7
    record(f"kl_divergence_{red}", {"y_true": kl_true, "y_pred": cce_probs}, ["y_pred"],
           lambda t: reduce((torch.clamp(t["y_true"].double(), EPS, 1) * torch.log(
               torch.clamp(t["y_true"].double(), EPS, 1) / torch.clamp(t["y_pred"], EPS, 1))
           ).sum(-1), red))
    for margin in (0.0, 0.5):
        record(f"margin_ranking_{margin}_{red}",
               {"y_true": pm1[:, 0].copy(), "p1": scores[:, 0].copy(), "p2": scores[:, 1].copy()},
               ["p1", "p2"],
               lambda t: reduce(torch.clamp_min(
                   -t["y_true"].double() * (t["p1"] - t["p2"]) + margin, 0), red))
check_builtin({"y_true": pm1, "y_pred": scores}, ["y_pred"],
              lambda t: F.softplus(-t["y_true"].double() * t["y_pred"]).mean(),
              lambda t: F.soft_margin_loss(t["y_pred"], t["y_true"].double()), "soft_margin")
kl_true = f32(rng.dirichlet(np.ones(C), B))
check_builtin({"y_true": kl_true, "y_pred": cce_probs}, ["y_pred"],
              lambda t: (t["y_true"].double() * torch.log(t["y_true"].double() / t["y_pred"])
                         ).sum(-1),
              lambda t: F.kl_div(torch.log(t["y_pred"]), t["y_true"].double(),
                                 reduction="none").sum(-1), "kl_div")
check_builtin({"y_true": pm1[:, 0].copy(), "p1": scores[:, 0].copy(), "p2": scores[:, 1].copy()},
              ["p1", "p2"],
              lambda t: torch.clamp_min(-t["y_true"].double() * (t["p1"] - t["p2"]) + 0.5, 0),
              lambda t: F.margin_ranking_loss(t["p1"], t["p2"], t["y_true"].double(), margin=0.5,
                                              reduction="none"), "margin_ranking")

# ---- regression losses -----------------------------------------------------------------------
target = f32(rng.standard_normal((B, C)))
pred = f32(rng.standard_normal((B, C)))
pos_pred = f32(rng.uniform(0.1, 3.0, (B, C)))
counts = f32(rng.integers(0, 5, (B, C)))
big = pred.copy()
big[0, :2] = [60.0, -60.0]  # exp(+-120) overflows float32: Axon's log_cosh would give inf
for red in REDUCTIONS:
    record(f"mae_{red}", {"y_true": target, "y_pred": pred}, ["y_pred"],
           lambda t: reduce((t["y_true"] - t["y_pred"]).abs().mean(-1), red))
    record(f"mse_{red}", {"y_true": target, "y_pred": pred}, ["y_pred"],
           lambda t: reduce(((t["y_true"] - t["y_pred"]) ** 2).mean(-1), red))
    record(f"log_cosh_{red}", {"y_true": target, "y_pred": big}, ["y_pred"],
           lambda t: reduce(torch.log(torch.cosh(t["y_pred"] - t["y_true"].double())).mean(-1),
                            red))
    record(f"poisson_{red}", {"y_true": counts, "y_pred": pos_pred}, ["y_pred"],
           lambda t: reduce((t["y_pred"] - t["y_true"].double() * torch.log(t["y_pred"] + EPS)
                             ).mean(-1), red))
    for delta in (1.0, 0.5):
        record(f"huber_{delta}_{red}", {"y_true": target, "y_pred": pred}, ["y_pred"],
               lambda t: reduce(F.huber_loss(t["y_pred"], t["y_true"].double(), delta=delta,
                                             reduction="none"), red))
inp = {"y_true": target, "y_pred": pred}
check_builtin(inp, ["y_pred"], lambda t: (t["y_true"] - t["y_pred"]).abs().mean(-1),
              lambda t: F.l1_loss(t["y_pred"], t["y_true"], reduction="none").mean(-1), "l1")
check_builtin(inp, ["y_pred"], lambda t: ((t["y_true"] - t["y_pred"]) ** 2).mean(-1),
              lambda t: F.mse_loss(t["y_pred"], t["y_true"], reduction="none").mean(-1), "mse")
check_builtin({"y_true": counts, "y_pred": pos_pred}, ["y_pred"],
              lambda t: (t["y_pred"] - t["y_true"] * torch.log(t["y_pred"] + EPS)).mean(-1),
              lambda t: F.poisson_nll_loss(t["y_pred"], t["y_true"], log_input=False, eps=EPS,
                                           reduction="none").mean(-1), "poisson")
check_builtin(inp, ["y_pred"],
              lambda t: torch.where((t["y_pred"] - t["y_true"]).abs() <= 0.5,
                                    0.5 * (t["y_pred"] - t["y_true"]) ** 2,
                                    0.5 * (t["y_pred"] - t["y_true"]).abs() - 0.125),
              lambda t: F.huber_loss(t["y_pred"], t["y_true"], delta=0.5, reduction="none"),
              "huber")


def cosine(t, axes, eps):
    y, p = t["y_true"].double(), t["y_pred"]
    dot = (y * p).sum(axes)
    # max(|y| |p|, eps) written as sqrt(max(|y|^2 |p|^2, eps^2)): the same value, with the
    # gradient y / eps (not torch.norm's NaN) at p = 0.
    n = torch.sqrt(torch.clamp_min((y * y).sum(axes) * (p * p).sum(axes), eps * eps))
    return dot / n


cos3_t = f32(rng.standard_normal((B, 3, C)))
cos3_p = f32(rng.standard_normal((B, 3, C)))
for red in REDUCTIONS:
    record(f"cosine_1_{red}", {"y_true": target, "y_pred": pred}, ["y_pred"],
           lambda t: reduce(cosine(t, [1], 1e-6), red))
record("cosine_rank3_1", {"y_true": cos3_t, "y_pred": cos3_p}, ["y_pred"],
       lambda t: cosine(t, [1], 1e-6))
record("cosine_rank3_12", {"y_true": cos3_t, "y_pred": cos3_p}, ["y_pred"],
       lambda t: cosine(t, [1, 2], 1e-6))
zero_p = pred.copy()
zero_p[1] = 0.0
record("cosine_zero", {"y_true": target, "y_pred": zero_p}, ["y_pred"],
       lambda t: cosine(t, [1], 1e-6))
check_builtin({"y_true": target, "y_pred": zero_p}, [], lambda t: cosine(t, [1], 1e-6),
              lambda t: F.cosine_similarity(t["y_true"], t["y_pred"], dim=1, eps=1e-6),
              "cosine_similarity of a zero vector")
check_builtin(inp, ["y_pred"], lambda t: cosine(t, [1], 1e-6),
              lambda t: F.cosine_similarity(t["y_true"], t["y_pred"], dim=1, eps=1e-6),
              "cosine_similarity")
check_builtin({"y_true": cos3_t, "y_pred": cos3_p}, ["y_pred"], lambda t: cosine(t, [1], 1e-6),
              lambda t: F.cosine_similarity(t["y_true"], t["y_pred"], dim=1, eps=1e-6),
              "cosine_similarity rank 3")

# ---- CTC ---------------------------------------------------------------------------------------


def ctc_forward(lp, in_len, labels, lab_len, blank):
    """The forward algorithm in log space, in plain torch (differentiable by autograd).
    lp: [B][T][C]. Returns the per-sample negative log-likelihoods."""
    losses = []
    for b in range(lp.shape[0]):
        lab = [int(v) for v in labels[b, :lab_len[b]]]
        ext = [blank]
        for c in lab:
            ext += [c, blank]
        L = len(ext)
        ninf = torch.tensor(-np.inf, dtype=lp.dtype)
        alpha = [ninf] * L
        alpha[0] = lp[b, 0, ext[0]]
        if L > 1:
            alpha[1] = lp[b, 0, ext[1]]
        for t in range(1, in_len[b]):
            new = []
            for s in range(L):
                terms = [alpha[s]]
                if s >= 1:
                    terms.append(alpha[s - 1])
                if s >= 2 and ext[s] != blank and ext[s] != ext[s - 2]:
                    terms.append(alpha[s - 2])
                terms = [x for x in terms if not (x.dim() == 0 and torch.isinf(x) and x < 0)]
                if not terms:
                    new.append(ninf)
                    continue
                new.append(torch.logsumexp(torch.stack(terms), 0) + lp[b, t, ext[s]])
            alpha = new
        ends = [a for a in ([alpha[L - 1]] + ([alpha[L - 2]] if L > 1 else []))
                if not torch.isinf(a)]
        losses.append(-torch.logsumexp(torch.stack(ends), 0) if ends
                      else torch.tensor(np.inf, dtype=lp.dtype))
    return torch.stack(losses)


def ctc_case(name, dtype, in_len, labels, lab_len, blank, T, Cc, reds=REDUCTIONS, zero_inf=False):
    Bc = len(in_len)
    logits = rng.standard_normal((Bc, T, Cc)).astype(dtype)
    lp = torch.log_softmax(torch.tensor(logits, dtype=torch.float64), -1).numpy().astype(dtype)
    in_len = np.asarray(in_len, np.int64)
    labels = np.asarray(labels, np.int64)
    lab_len = np.asarray(lab_len, np.int64)
    for red in reds:
        # Reference 1: torch.nn.functional.ctc_loss on log_softmax(logits), gradient w.r.t. the
        # logits (PyTorch's own gradient assumes its input is a log_softmax).
        x = t64(logits, True)
        lpt = F.log_softmax(x, -1)
        out = F.ctc_loss(lpt.transpose(0, 1), torch.tensor(labels), torch.tensor(in_len),
                         torch.tensor(lab_len), blank=blank, reduction=red,
                         zero_infinity=zero_inf)
        ct = rng.standard_normal(out.shape) if out.dim() else np.array(rng.standard_normal())
        case = f"{name}_{red}"
        OUT[f"{case}__logits"] = logits
        OUT[f"{case}__log_probs"] = lp
        OUT[f"{case}__input_lengths"] = in_len
        OUT[f"{case}__labels"] = labels
        OUT[f"{case}__label_lengths"] = lab_len
        OUT[f"{case}__out"] = out.detach().numpy().astype(np.float64)
        OUT[f"{case}__ct"] = np.asarray(ct, np.float64)
        if np.isfinite(OUT[f"{case}__out"]).all():
            (g,) = torch.autograd.grad((out * torch.tensor(ct)).sum(), [x])
            OUT[f"{case}__grad_logits"] = g.numpy()
        # Reference 2: the exact gradient w.r.t. the log-probabilities, by autograd through a
        # plain forward algorithm (checked against F.ctc_loss's values).
        lpv = t64(lp, True)
        nll = ctc_forward(lpv, in_len, labels, lab_len, blank)
        if zero_inf:
            nll = torch.where(torch.isinf(nll), torch.zeros_like(nll), nll)
        mine = {"none": nll, "sum": nll.sum(),
                "mean": (nll / torch.clamp_min(torch.tensor(lab_len), 1)).mean()}[red]
        ref_lp = F.ctc_loss(torch.tensor(lp, dtype=torch.float64).transpose(0, 1),
                            torch.tensor(labels), torch.tensor(in_len), torch.tensor(lab_len),
                            blank=blank, reduction=red, zero_infinity=zero_inf)
        close(mine, ref_lp, f"ctc forward {case}", rtol=1e-9, atol=1e-9)
        if np.isfinite(OUT[f"{case}__out"]).all():
            (g,) = torch.autograd.grad((mine * torch.tensor(ct)).sum(), [lpv])
            OUT[f"{case}__grad_log_probs"] = g.numpy()


# Variable input lengths, repeated labels (1, 1), padding that is not a valid class.
ctc_case("ctc_f32", np.float32, [8, 6, 7], [[1, 1, 2, 3], [2, 4, -1, -1], [3, 3, 3, -1]],
         [4, 2, 3], 0, 8, 5)
ctc_case("ctc_f64", np.float64, [8, 6, 7], [[1, 1, 2, 3], [2, 4, -1, -1], [3, 3, 3, -1]],
         [4, 2, 3], 0, 8, 5)
# Another blank, an empty label sequence, a sample using one frame.
ctc_case("ctc_blank", np.float64, [6, 6, 1], [[0, 1, 0], [2, 2, 2], [1, 0, 0]], [3, 0, 1], 3, 6,
         4)
# Impossible alignment: [1, 1, 2] needs 4 frames, the second sample has 3.
ctc_case("ctc_impossible", np.float64, [5, 3], [[1, 2, 2], [1, 1, 2]], [3, 3], 0, 5, 4)
ctc_case("ctc_zero_inf", np.float64, [5, 3], [[1, 2, 2], [1, 1, 2]], [3, 3], 0, 5, 4,
         zero_inf=True)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses.npz")
np.savez_compressed(path, **OUT)
print(f"wrote {len(OUT)} arrays to {path} ({os.path.getsize(path)} bytes)")
