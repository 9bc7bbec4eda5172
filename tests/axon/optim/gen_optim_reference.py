#!/usr/bin/python3
"""Writes the reference data that tests/axon/optim/*_reference_test.cpp check axon::optim against.

    /usr/bin/python3 tests/axon/optim/gen_optim_reference.py     (Debian's numpy 1.24, torch 1.13)

One table, CASES below, drives every optimizer test: each row names an axon::optim optimizer (or
a chain of transformations), its options exactly as the C++ option structs spell them, and the
reference its trajectory is computed with here:

  - "torch": the torch.optim class that implements the same rule, with the kwargs that make it the
    same rule. Where our documented rule differs from torch's by design (eps inside or outside the
    square root, say), the row sets the option that makes both equal (eps = 0) and a second row
    checks the documented rule, with the option at its default, against a NumPy transcription.
  - "numpy": a NumPy transcription of the rule in the paper, as include/axon/optim.hpp documents it
    (the functions np_* below, written from the papers, not from our C++). Each torch-backed rule
    also has a transcription here (np_sgd, np_adam, np_rmsprop, ...), which agrees with torch to
    about 1e-12 where both apply: `gen_optim_reference.py --check` shows it (and writes nothing).
  - "statistical": no trajectory (noisy_sgd: the noise comes from nx::random inside the update);
    noise_reference_test.cpp tests its distribution, and the jit and checkpoint tests use the row.

A row may carry events: hyperparameters changed with set_hyperparameter before a given step, and
the same change made to torch's param group ("lr_scale" multiplies its lr).

The problem is the same for every row: a small parameter tree (leaves of rank 0 to 3, one of them
all zeros at the start) and a fixed sequence of 100 gradients, precomputed, so that a trajectory
depends on nothing but the update rule. Gradients have a non-zero mean (so momentum builds up) and
different scales per leaf (1, 0.01, 3, 0.1), so that eps terms and per-leaf norms matter. All in
float64.

The schedules have their own table, SCHEDULES: values at counts 0..COUNTS-1 from NumPy
transcriptions of Polaris's and Optax's formulas, and torch.optim.lr_scheduler.CyclicLR itself for
`cyclical`.

Output (tests/axon/optim/data/):
  optim_reference.json   the manifest: leaves, steps, schedules and cases (options, reference)
  optim_reference.npz    params.<path>: initial values; grads.<path>: [100, ...] gradients;
                         case.<name>.<path>: [100, ...] parameters after each step;
                         schedule.<name>: [COUNTS] values
"""

import json
import math
import os
import sys

import numpy as np
import torch

# torch.optim creates some of its state (NAdam's mu_product, step counters) with the default
# dtype: float64 keeps the whole reference in double precision.
torch.set_default_dtype(torch.float64)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
STEPS = 100
COUNTS = 130  # schedule values at counts 0..129

# (dotted path, shape, gradient scale, initial values: "normal" or "zeros")
LEAVES = [
    ("dense.kernel", (4, 3), 1.0, "normal"),
    ("dense.bias", (3,), 0.01, "zeros"),
    ("conv.kernel", (2, 2, 3), 3.0, "normal"),
    ("scale", (), 0.1, "normal"),
]


def make_problem():
    rng = np.random.default_rng(20240607)
    params, grads = [], []
    for _, shape, scale, init in LEAVES:
        params.append(np.zeros(shape) if init == "zeros" else rng.standard_normal(shape))
        direction = rng.standard_normal(shape)
        noise = rng.standard_normal((STEPS,) + shape)
        grads.append(scale * (direction + 0.8 * noise))
    return params, grads


# ---- NumPy transcriptions ------------------------------------------------------------------------
# Each returns the list of parameter values after every step: a list (steps) of lists (leaves).
# `opts` are the C++ option names; `rate(t)` gives the learning rate at count t (0-based).


def learning_rate(opts, default):
    lr = opts.get("learning_rate", default)
    if isinstance(lr, str):  # "@name": a schedule of the SCHEDULES table
        values = schedule_values(SCHEDULE_BY_NAME[lr[1:]])
        return lambda t: float(values[t])
    return lambda t: lr


def run(params, grads, step_fn, state):
    """Applies step_fn(t, grads_t, params, state) -> (updates, state) for every step."""
    ps = [p.copy() for p in params]
    out = []
    for t in range(STEPS):
        g = [gl[t] for gl in grads]
        updates, state = step_fn(t, g, ps, state)
        ps = [p + u for p, u in zip(ps, updates)]
        out.append([p.copy() for p in ps])
    return out


def adam_direction(opts, defaults):
    """Kingma & Ba, Algorithm 1, with eps_root inside the root (Optax, Polaris):
    m_hat / (sqrt(v_hat + eps_root) + eps). Returns (init, step) on a state {m, v}."""
    o = dict(defaults, **opts)
    b1, b2, eps, eps_root = o["b1"], o["b2"], o["eps"], o["eps_root"]

    def step(t, g, state):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(state["m"], g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(state["v"], g)]
        n = t + 1
        d = [(mi / (1 - b1**n)) / (np.sqrt(vi / (1 - b2**n) + eps_root) + eps)
             for mi, vi in zip(m, v)]
        return d, {"m": m, "v": v}

    return step


ADAM_DEFAULTS = {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 1e-15}


def np_adam(params, grads, opts):
    lr = learning_rate(opts, 1e-3)
    direction = adam_direction({k: v for k, v in opts.items() if k != "learning_rate"},
                               ADAM_DEFAULTS)

    def step(t, g, p, s):
        d, s = direction(t, g, s)
        return [-lr(t) * di for di in d], s

    return run(params, grads, step, zeros_state(params, "m", "v"))


def np_adamw(params, grads, opts):
    """Loshchilov & Hutter 2019 (AdamW): x -= lr (adam direction + decay x)."""
    lr, decay = learning_rate(opts, 1e-3), opts.get("decay", 0.0)
    direction = adam_direction({k: v for k, v in opts.items()
                                if k not in ("learning_rate", "decay")}, ADAM_DEFAULTS)

    def step(t, g, p, s):
        d, s = direction(t, g, s)
        return [-lr(t) * (di + decay * pi) for di, pi in zip(d, p)], s

    return run(params, grads, step, zeros_state(params, "m", "v"))


def zeros_state(params, *names, value=0.0):
    return {k: [np.full_like(p, value) for p in params] for k in names}


def np_adagrad(params, grads, opts):
    """Duchi et al. 2011 diagonal AdaGrad, as documented: s += g^2;
    update = -lr * g / sqrt(s + eps) (0 where s == 0)."""
    lr, eps = learning_rate(opts, 1e-3), opts.get("eps", 1e-7)

    def step(t, g, p, s):
        s = [si + gi * gi for si, gi in zip(s, g)]
        u = [-lr(t) * np.where(si > 0, gi / np.sqrt(si + eps), 0.0) for si, gi in zip(s, g)]
        return u, s

    return run(params, grads, step, [np.full_like(p, opts.get("initial_accumulator_value", 0.1))
                                     for p in params])


def np_rmsprop(params, grads, opts):
    """Tieleman & Hinton's RMSprop as documented: nu = ema(g^2); centered: mu = ema(g), the
    denominator sqrt(nu - mu^2 + eps); plain: sqrt(nu + eps); then -lr; then, with momentum, a
    trace t = momentum * t + u (nesterov: momentum * t + u on top) of the lr-scaled updates."""
    lr = learning_rate(opts, 1e-2)
    decay, eps = opts.get("decay", 0.9), opts.get("eps", 1e-8)
    centered, momentum = opts.get("centered", False), opts.get("momentum")
    nesterov = opts.get("nesterov", False)

    def step(t, g, p, s):
        nu = [decay * v + (1 - decay) * gi * gi for v, gi in zip(s["nu"], g)]
        if centered:
            mu = [decay * m + (1 - decay) * gi for m, gi in zip(s["mu"], g)]
            u = [gi / np.sqrt(v - m * m + eps) for gi, v, m in zip(g, nu, mu)]
        else:
            mu = s["mu"]
            u = [gi / np.sqrt(v + eps) for gi, v in zip(g, nu)]
        u = [-lr(t) * ui for ui in u]
        tr = s["trace"]
        if momentum is not None:
            tr = [momentum * ti + ui for ti, ui in zip(tr, u)]
            u = [momentum * ti + ui for ti, ui in zip(tr, u)] if nesterov else tr
        return u, {"nu": nu, "mu": mu, "trace": tr}

    state = zeros_state(params, "mu", "trace")
    state["nu"] = [np.full_like(p, opts.get("initial_scale", 0.0)) for p in params]
    return run(params, grads, step, state)


def np_radam(params, grads, opts):
    """Liu et al. 2020, Algorithm 2: rho_inf = 2 / (1 - b2) - 1, rho_t = rho_inf - 2 t b2^t /
    (1 - b2^t); when rho_t >= threshold the rectified step r * m_hat / (sqrt(v_hat + eps_root) +
    eps), otherwise m_hat (un-adapted momentum)."""
    o = dict({"b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 0.0, "threshold": 5.0}, **opts)
    lr, b1, b2 = learning_rate(o, 1e-3), o["b1"], o["b2"]
    rho_inf = 2 / (1 - b2) - 1

    def step(t, g, p, s):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(s["m"], g)]
        v = [b2 * vi + (1 - b2) * gi * gi for vi, gi in zip(s["v"], g)]
        n = t + 1
        rho = rho_inf - 2 * n * b2**n / (1 - b2**n)
        m_hat = [mi / (1 - b1**n) for mi in m]
        if rho >= o["threshold"]:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            d = [r * mh / (np.sqrt(vi / (1 - b2**n) + o["eps_root"]) + o["eps"])
                 for mh, vi in zip(m_hat, v)]
        else:
            d = m_hat
        return [-lr(t) * di for di in d], {"m": m, "v": v}

    return run(params, grads, step, zeros_state(params, "m", "v"))


def np_sgd(params, grads, opts):
    """Plain SGD with heavy-ball momentum t = momentum * t + g (nesterov: momentum * t + g on
    top), then -lr (Sutskever et al. 2013, as torch.optim.SGD with dampening 0)."""
    lr, momentum = learning_rate(opts, 1e-2), opts.get("momentum")
    nesterov = opts.get("nesterov", False)

    def step(t, g, p, s):
        u = g
        if momentum is not None:
            s = [momentum * ti + gi for ti, gi in zip(s, g)]
            u = [momentum * ti + gi for ti, gi in zip(s, g)] if nesterov else s
        return [-lr(t) * ui for ui in u], s

    return run(params, grads, step, [np.zeros_like(p) for p in params])


def np_lion(params, grads, opts):
    """Chen et al. 2023, Algorithm 2: c = b1 m + (1 - b1) g; theta -= lr (sign(c) + lambda theta);
    m = b2 m + (1 - b2) g."""
    lr = learning_rate(opts, 1e-4)
    b1, b2, wd = opts.get("b1", 0.9), opts.get("b2", 0.99), opts.get("decay", 0.0)

    def step(t, g, p, m):
        c = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        u = [-lr(t) * (np.sign(ci) + wd * pi) for ci, pi in zip(c, p)]
        m = [b2 * mi + (1 - b2) * gi for mi, gi in zip(m, g)]
        return u, m

    return run(params, grads, step, [np.zeros_like(p) for p in params])


def np_lamb(params, grads, opts):
    """You et al. 2020, Algorithm 2 (LAMB), per leaf: r = m_hat / (sqrt(v_hat + eps_root) + eps)
    (Adam, as np_adam); u = r + decay * x; x -= lr * phi(||x||) / ||u|| * u with phi the identity,
    norms clipped below at min_norm, and a ratio of 1 where either norm is 0."""
    o = dict({"b1": 0.9, "b2": 0.999, "eps": 1e-8, "eps_root": 1e-15, "decay": 0.0,
              "min_norm": 0.0}, **opts)
    lr = learning_rate(o, 1e-2)
    direction = adam_direction({k: o[k] for k in ("b1", "b2", "eps", "eps_root")}, {})

    def norm(x):
        n = np.sqrt(np.sum(x * x))
        return o["min_norm"] if n <= o["min_norm"] else n

    def step(t, g, p, s):
        d, s = direction(t, g, s)
        out = []
        for di, pi in zip(d, p):
            u = di + o["decay"] * pi
            pn, un = norm(pi), norm(u)
            ratio = 1.0 if pn == 0 or un == 0 else pn / un
            out.append(-lr(t) * ratio * u)
        return out, s

    return run(params, grads, step, zeros_state(params, "m", "v"))


def np_yogi(params, grads, opts):
    """Zaheer et al. 2018, Algorithm 2 (Yogi): m = b1 m + (1 - b1) g;
    v = v - (1 - b2) sign(v - g^2) g^2; x -= lr m_hat / (sqrt(v_hat + eps_root) + eps), with
    m_hat and v_hat bias-corrected as in Adam and both moments starting at
    initial_accumulator_value: Polaris's rule, which include/axon/optim.hpp documents (Optax
    also starts both at that value but corrects neither; the paper starts m at 0 and corrects
    neither)."""
    o = dict({"initial_accumulator_value": 1e-6, "b1": 0.9, "b2": 0.999, "eps": 1e-3,
              "eps_root": 0.0}, **opts)
    lr, b1, b2 = learning_rate(o, 1e-2), o["b1"], o["b2"]

    def step(t, g, p, s):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(s["m"], g)]
        v = [vi - (1 - b2) * np.sign(vi - gi * gi) * gi * gi for vi, gi in zip(s["v"], g)]
        n = t + 1
        d = [(mi / (1 - b1**n)) / (np.sqrt(vi / (1 - b2**n) + o["eps_root"]) + o["eps"])
             for mi, vi in zip(m, v)]
        return [-lr(t) * di for di in d], {"m": m, "v": v}

    return run(params, grads, step, zeros_state(params, "m", "v",
                                                value=o["initial_accumulator_value"]))


def np_adabelief(params, grads, opts):
    """Zhuang et al. 2020, Algorithm 2 (AdaBelief): m = b1 m + (1 - b1) g;
    s = b2 s + (1 - b2) (g - m)^2 + eps_root (m the new moment); bias-corrected m_hat, s_hat;
    x -= lr m_hat / (sqrt(s_hat) + eps). The paper's one epsilon is eps_root inside s and eps
    outside the root here, as Optax names them."""
    o = dict({"b1": 0.9, "b2": 0.999, "eps": 0.0, "eps_root": 1e-16}, **opts)
    lr, b1, b2 = learning_rate(o, 1e-3), o["b1"], o["b2"]

    def step(t, g, p, s):
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(s["m"], g)]
        v = [b2 * vi + (1 - b2) * (gi - mi) ** 2 + o["eps_root"]
             for vi, gi, mi in zip(s["v"], g, m)]
        n = t + 1
        d = [(mi / (1 - b1**n)) / (np.sqrt(vi / (1 - b2**n)) + o["eps"]) for mi, vi in zip(m, v)]
        return [-lr(t) * di for di in d], {"m": m, "v": v}

    return run(params, grads, step, zeros_state(params, "m", "v"))


def np_adafactor(params, grads, opts):
    """Shazeer & Stern 2018, Algorithms 4 (factored second moments) and 5 (others), with the
    paper's sections 7-9: beta2_t = 1 - t^(-decay_rate); G^2 + eps1 averaged into the row and
    column statistics R, C and V_hat = R C / mean(R); U = G / sqrt(V_hat) clipped to
    RMS(U) <= clipping_threshold; the relative step size rho_t = min(1e-2, 1 / sqrt(t)) when no
    learning rate is given; alpha_t = max(eps2, RMS(x)) rho_t with multiply_by_parameter_scale;
    momentum b1 on the scaled update (section 9, undebiased).
    Beyond the paper, as Optax lays Adafactor out: a leaf is factored over its two largest axes
    (ties: the later axis is the larger) when it has rank >= 2 and the smaller of the two has at
    least min_dim_size_to_factor elements; decay adds decay * x to the update after the
    momentum, unscaled by the step size (Optax's weight_decay_rate)."""
    o = dict({"decay_rate": 0.8, "eps1": 1e-30, "eps2": 1e-3, "clipping_threshold": 1.0,
              "b1": None, "multiply_by_parameter_scale": True, "min_dim_size_to_factor": 128,
              "decay": 0.0}, **opts)
    lr = learning_rate(o, None) if "learning_rate" in o else None

    def factored_axes(p):
        if p.ndim < 2:
            return None
        order = np.argsort(p.shape, kind="stable")
        small, large = int(order[-2]), int(order[-1])
        return (small, large) if p.shape[small] >= o["min_dim_size_to_factor"] else None

    def rms(x):
        return np.sqrt(np.mean(x * x))

    def step(t, g, p, s):
        n = t + 1
        beta2 = 1 - n ** (-o["decay_rate"])
        rho = lr(t) if lr is not None else min(1e-2, 1 / math.sqrt(n))
        new_s = {"r": [], "c": [], "v": [], "m": []}
        out = []
        for i, (gi, pi) in enumerate(zip(g, p)):
            g2 = gi * gi + o["eps1"]
            axes = factored_axes(pi)
            if axes is not None:
                small, large = axes
                r = beta2 * s["r"][i] + (1 - beta2) * g2.mean(axis=large)  # one per row
                c = beta2 * s["c"][i] + (1 - beta2) * g2.mean(axis=small)  # one per column
                r_axis = small if small < large else small - 1
                v_hat = (np.expand_dims(r / r.mean(axis=r_axis, keepdims=True), large) *
                         np.expand_dims(c, small))
                v = s["v"][i]
            else:
                r, c = s["r"][i], s["c"][i]
                v = beta2 * s["v"][i] + (1 - beta2) * g2
                v_hat = v
            u = gi / np.sqrt(v_hat)
            u = u / max(1.0, rms(u) / o["clipping_threshold"])
            alpha = rho * (max(o["eps2"], rms(pi)) if o["multiply_by_parameter_scale"] else 1.0)
            u = alpha * u
            m = s["m"][i]
            if o["b1"] is not None:
                m = o["b1"] * m + (1 - o["b1"]) * u
                u = m
            out.append(-(u + o["decay"] * pi))
            for k, x in (("r", r), ("c", c), ("v", v), ("m", m)):
                new_s[k].append(x)
        return out, new_s

    def stats(p):
        axes = factored_axes(p)
        if axes is None:
            return np.zeros(()), np.zeros(()), np.zeros_like(p)
        small, large = axes
        return (np.zeros(np.delete(p.shape, large)), np.zeros(np.delete(p.shape, small)),
                np.zeros(()))

    init = [stats(p) for p in params]
    state = {"r": [x[0] for x in init], "c": [x[1] for x in init], "v": [x[2] for x in init],
             "m": [np.zeros_like(p) for p in params]}
    return run(params, grads, step, state)


def np_chain(params, grads, opts):
    """A chain of the transformations in opts["transforms"], each transcribed from its definition
    (Polaris / Optax): clip_by_global_norm, centralize, clip, scale, scale_by_state,
    scale_by_schedule, add_decayed_weights, trace, scale_by_adam, scale_by_trust_ratio,
    accumulate_gradients (inner stages on the mean of `steps` updates, every `steps`-th call) and
    masked (inner stages on the leaves whose path starts with `prefix`, the others unchanged)."""
    stages = opts["transforms"]
    paths = [path for path, _, _, _ in LEAVES]

    def init_stage(st, ps):
        kind = st["kind"]
        if kind == "scale_by_adam":
            return zeros_state(ps, "m", "v")
        if kind == "trace":
            return [np.zeros_like(p) for p in ps]
        if kind == "accumulate_gradients":
            return {"acc": [np.zeros_like(p) for p in ps], "n": 0,
                    "inner": [init_stage(x, ps) for x in st["inner"]], "t": 0}
        if kind == "masked":
            chosen = [p for p, path in zip(ps, paths) if path.startswith(st["prefix"])]
            return [init_stage(x, chosen) for x in st["inner"]]
        return None

    def norm(x, min_norm):
        n = math.sqrt(float(np.sum(x * x)))
        return min_norm if n <= min_norm else n

    def apply_stage(st, state, u, p, t):
        kind = st["kind"]
        if kind == "clip_by_global_norm":
            n = math.sqrt(sum(float(np.sum(x * x)) for x in u))
            return [x if n < st["max_norm"] else x / n * st["max_norm"] for x in u], state
        if kind == "centralize":
            return ([x - x.mean(axis=tuple(range(1, x.ndim)), keepdims=True) if x.ndim > 1 else x
                     for x in u], state)
        if kind == "clip":
            return [np.clip(x, -st["delta"], st["delta"]) for x in u], state
        if kind in ("scale", "scale_by_state"):
            return [st["step"] * x for x in u], state
        if kind == "scale_by_schedule":
            v = schedule_values(SCHEDULE_BY_NAME[st["schedule"][1:]])[t]
            return [v * x for x in u], state
        if kind == "add_decayed_weights":
            return [x + st["decay"] * pi for x, pi in zip(u, p)], state
        if kind == "trace":
            tr = [st["decay"] * ti + x for ti, x in zip(state, u)]
            out = [st["decay"] * ti + x for ti, x in zip(tr, u)] if st.get("nesterov") else tr
            return out, tr
        if kind == "scale_by_adam":
            step = adam_direction({k: v for k, v in st.items() if k != "kind"}, ADAM_DEFAULTS)
            return step(t, u, state)
        if kind == "scale_by_trust_ratio":
            mn, tc, eps = st["min_norm"], st["trust_coefficient"], st["eps"]
            out = []
            for x, pi in zip(u, p):
                pn, un = norm(pi, mn), norm(x, mn)
                out.append(x * (1.0 if pn == 0 or un == 0 else tc * pn / (un + eps)))
            return out, state
        if kind == "accumulate_gradients":
            acc = [a + x for a, x in zip(state["acc"], u)]
            n = state["n"] + 1
            if n < st["steps"]:
                return [np.zeros_like(x) for x in u], dict(state, acc=acc, n=n)
            mean = [a / st["steps"] for a in acc]
            inner = list(state["inner"])
            for i, sub in enumerate(st["inner"]):
                mean, inner[i] = apply_stage(sub, inner[i], mean, p, state["t"])
            return mean, {"acc": [np.zeros_like(x) for x in u], "n": 0, "inner": inner,
                          "t": state["t"] + 1}
        if kind == "masked":
            chosen = [i for i, path in enumerate(paths) if path.startswith(st["prefix"])]
            sub_u, sub_p = [u[i] for i in chosen], [p[i] for i in chosen]
            inner = list(state)
            for i, sub in enumerate(st["inner"]):
                sub_u, inner[i] = apply_stage(sub, inner[i], sub_u, sub_p, t)
            out = list(u)
            for i, x in zip(chosen, sub_u):
                out[i] = x
            return out, inner
        raise ValueError(kind)

    def step(t, g, p, states):
        u = g
        states = list(states)
        for i, st in enumerate(stages):
            u, states[i] = apply_stage(st, states[i], u, p, t)
        return u, states

    return run(params, grads, step, [init_stage(st, params) for st in stages])


NUMPY = {"adam": np_adam, "adamw": np_adamw, "adagrad": np_adagrad, "rmsprop": np_rmsprop,
         "radam": np_radam, "sgd": np_sgd, "lion": np_lion, "lamb": np_lamb, "yogi": np_yogi,
         "adabelief": np_adabelief, "adafactor": np_adafactor, "chain": np_chain}


# ---- torch.optim ---------------------------------------------------------------------------------


def torch_trajectory(params, grads, cls, kwargs, schedule=None, events=()):
    """torch.optim.<cls>(**kwargs) over the gradients; `events` change a hyperparameter of the
    param group before a step, as set_hyperparameter does on our side ("lr_scale" multiplies
    the learning rate, as reduce-on-plateau does)."""
    ps = [torch.tensor(p) for p in params]
    opt = getattr(torch.optim, cls)(ps, **kwargs)
    sched = None
    if schedule is not None:  # lr at step t = values[t]: LambdaLR with base lr 1
        values = schedule_values(SCHEDULE_BY_NAME[schedule[1:]])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: float(values[t]))
    out = []
    base_lr = kwargs["lr"]
    for t in range(STEPS):
        for e in events:
            if e["step"] != t:
                continue
            group = opt.param_groups[0]
            if e["name"] == "learning_rate":
                base_lr = group["lr"] = e["value"]
            elif e["name"] == "lr_scale":
                group["lr"] = base_lr * e["value"]
            elif e["name"] == "b1":
                group["betas"] = (e["value"], group["betas"][1])
            else:
                raise ValueError(e["name"])
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g[t])
        opt.step()
        if sched is not None:
            sched.step()
        out.append([p.detach().numpy().copy() for p in ps])
    return out


# ---- the table -----------------------------------------------------------------------------------
# name, optimizer, options (C++ names; "@sched" = a schedule of SCHEDULES), reference, note.
# reference: ("torch", class, kwargs) or ("numpy",). Row names are test names: [a-z0-9_].


def torch_row(name, optimizer, options, cls, kwargs, note="", events=()):
    return {"name": name, "optimizer": optimizer, "options": options,
            "reference": ("torch", cls, kwargs), "note": note, "events": list(events)}


def numpy_row(name, optimizer, options, note=""):
    return {"name": name, "optimizer": optimizer, "options": options, "reference": ("numpy",),
            "note": note, "events": []}


B = (0.9, 0.999)
CASES = [
    # SGD: torch.optim.SGD(dampening=0) is the same rule (momentum buffer = g at the first step).
    torch_row("sgd", "sgd", {"learning_rate": 0.05}, "SGD", {"lr": 0.05}),
    torch_row("sgd_momentum", "sgd", {"learning_rate": 0.05, "momentum": 0.9}, "SGD",
              {"lr": 0.05, "momentum": 0.9}),
    torch_row("sgd_lr_scale", "sgd", {"learning_rate": 0.05, "momentum": 0.9}, "SGD",
              {"lr": 0.05, "momentum": 0.9},
              "set_hyperparameter(lr_scale) halves the rate at step 50, as reduce-on-plateau does",
              [{"step": 50, "name": "lr_scale", "value": 0.5}]),
    torch_row("sgd_nesterov", "sgd", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
              "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    torch_row("sgd_schedule", "sgd", {"learning_rate": "@warmup_cosine", "momentum": 0.5}, "SGD",
              {"lr": 1.0, "momentum": 0.5, "schedule": "@warmup_cosine"},
              "learning rate from a schedule: torch LambdaLR with the schedule's values"),
    # Adam: torch has no eps_root; eps 1e-3 makes eps's placement visible (gradients of scale 0.01).
    torch_row("adam", "adam", {"learning_rate": 0.01, "eps": 1e-3, "eps_root": 0.0}, "Adam",
              {"lr": 0.01, "betas": B, "eps": 1e-3}, "eps_root 0: torch has none"),
    torch_row("adam_betas", "adam",
              {"learning_rate": 0.003, "b1": 0.5, "b2": 0.9, "eps": 1e-8, "eps_root": 0.0},
              "Adam", {"lr": 0.003, "betas": (0.5, 0.9), "eps": 1e-8}),
    torch_row("adam_set_hyperparameters", "adam",
              {"learning_rate": 0.01, "eps": 1e-3, "eps_root": 0.0}, "Adam",
              {"lr": 0.01, "betas": B, "eps": 1e-3},
              "set_hyperparameter: learning_rate 0.002 from step 30, b1 0.8 from step 60",
              [{"step": 30, "name": "learning_rate", "value": 0.002},
               {"step": 60, "name": "b1", "value": 0.8}]),
    numpy_row("adam_eps_root", "adam", {"learning_rate": 0.01, "eps": 1e-3, "eps_root": 1e-4},
              "the documented sqrt(v_hat + eps_root) + eps, eps_root large enough to matter"),
    torch_row("adamw", "adamw",
              {"learning_rate": 0.01, "eps": 1e-3, "eps_root": 0.0, "decay": 0.1}, "AdamW",
              {"lr": 0.01, "betas": B, "eps": 1e-3, "weight_decay": 0.1},
              "torch: p *= 1 - lr wd, then Adam; ours: -lr (adam + decay p): the same"),
    # Adagrad: torch divides by sqrt(s) + eps, we by sqrt(s + eps) (Polaris): equal at eps 0.
    torch_row("adagrad", "adagrad",
              {"learning_rate": 0.1, "initial_accumulator_value": 0.1, "eps": 0.0}, "Adagrad",
              {"lr": 0.1, "initial_accumulator_value": 0.1, "eps": 0.0},
              "eps 0: torch adds eps outside the root, we inside"),
    numpy_row("adagrad_eps", "adagrad",
              {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "eps": 1e-3},
              "the documented g / sqrt(s + eps), from a zero accumulator"),
    # RMSprop: torch divides by sqrt(v) + eps, we multiply by rsqrt(v + eps) (Polaris): equal at 0.
    torch_row("rmsprop", "rmsprop", {"learning_rate": 0.01, "decay": 0.9, "eps": 0.0}, "RMSprop",
              {"lr": 0.01, "alpha": 0.9, "eps": 0.0}, "eps 0: torch adds eps outside the root"),
    torch_row("rmsprop_centered", "rmsprop",
              {"learning_rate": 0.01, "decay": 0.9, "eps": 0.0, "centered": True}, "RMSprop",
              {"lr": 0.01, "alpha": 0.9, "eps": 0.0, "centered": True}),
    torch_row("rmsprop_momentum", "rmsprop",
              {"learning_rate": 0.01, "decay": 0.9, "eps": 0.0, "momentum": 0.8}, "RMSprop",
              {"lr": 0.01, "alpha": 0.9, "eps": 0.0, "momentum": 0.8},
              "ours traces the lr-scaled update, torch scales the trace: equal for a constant lr"),
    torch_row("rmsprop_centered_momentum", "rmsprop",
              {"learning_rate": 0.01, "decay": 0.95, "eps": 0.0, "centered": True,
               "momentum": 0.8}, "RMSprop",
              {"lr": 0.01, "alpha": 0.95, "eps": 0.0, "centered": True, "momentum": 0.8}),
    numpy_row("rmsprop_eps", "rmsprop", {"learning_rate": 0.01, "eps": 1e-3},
              "the documented g * rsqrt(v + eps), defaults otherwise"),
    numpy_row("rmsprop_centered_nesterov", "rmsprop",
              {"learning_rate": 0.01, "centered": True, "initial_scale": 1.0, "eps": 1e-4,
               "momentum": 0.9, "nesterov": True},
              "torch's RMSprop has no nesterov"),
    # RAdam: torch's step is sqrt(1 - b2^t) / (sqrt(v) + eps), ours sqrt(v_hat + eps_root) + eps.
    torch_row("radam", "radam", {"learning_rate": 0.01, "eps": 0.0}, "RAdam",
              {"lr": 0.01, "betas": B, "eps": 0.0},
              "eps 0: torch scales eps by sqrt(1 - b2^t); rectified from step 6 on"),
    numpy_row("radam_eps", "radam", {"learning_rate": 0.01, "eps": 1e-3, "b2": 0.99},
              "the documented r m_hat / (sqrt(v_hat + eps_root) + eps)"),
    # NAdam, Adamax: the same rule as torch's, eps included.
    torch_row("nadam", "nadam", {"learning_rate": 0.01, "eps": 1e-3}, "NAdam",
              {"lr": 0.01, "betas": B, "eps": 1e-3, "foreach": True},
              "foreach=True: torch 1.13's single-tensor NAdam multiplies mu_t twice into "
              "mu_product_next (fixed in torch 2.0); its foreach path is Dozat's rule"),
    torch_row("nadam_defaults", "nadam", {}, "NAdam",
              {"lr": 2e-3, "betas": B, "eps": 1e-8, "momentum_decay": 4e-3, "foreach": True}),
    torch_row("nadam_momentum_decay", "nadam",
              {"learning_rate": 0.01, "momentum_decay": 0.05, "b1": 0.8}, "NAdam",
              {"lr": 0.01, "betas": (0.8, 0.999), "momentum_decay": 0.05, "foreach": True}),
    torch_row("adamax", "adamax", {"learning_rate": 0.01, "eps": 1e-3}, "Adamax",
              {"lr": 0.01, "betas": B, "eps": 1e-3}),
    torch_row("adamax_defaults", "adamax", {}, "Adamax", {"lr": 2e-3, "betas": B, "eps": 1e-8}),
    # Not in torch 1.13: NumPy transcriptions of the papers.
    numpy_row("lion", "lion", {"learning_rate": 1e-3}),
    numpy_row("lion_decay", "lion", {"learning_rate": 3e-3, "b1": 0.95, "b2": 0.98, "decay": 0.5}),
    numpy_row("lamb", "lamb", {"learning_rate": 0.01, "decay": 0.01},
              "dense.bias starts at 0: trust ratio 1 at the first step"),
    numpy_row("lamb_min_norm", "lamb",
              {"learning_rate": 0.02, "eps": 1e-6, "decay": 0.1, "min_norm": 0.5}),
    numpy_row("yogi", "yogi", {},
              "Polaris's rule: both moments start at initial_accumulator_value and are "
              "bias-corrected; the paper starts m at 0 and corrects neither"),
    numpy_row("yogi_options", "yogi",
              {"learning_rate": 0.05, "initial_accumulator_value": 0.5, "b1": 0.8, "b2": 0.99,
               "eps": 1e-4, "eps_root": 1e-6}),
    numpy_row("adabelief", "adabelief", {"learning_rate": 0.01},
              "the paper's s = EMA((g - m)^2), not Polaris's EMA(g^2)"),
    numpy_row("adabelief_eps", "adabelief",
              {"learning_rate": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-3, "eps_root": 1e-6}),
    numpy_row("adafactor", "adafactor", {}, "relative step size, parameter scale, no factoring "
              "(every axis < 128)"),
    numpy_row("adafactor_factored", "adafactor",
              {"min_dim_size_to_factor": 2, "clipping_threshold": 0.5},
              "dense.kernel [4, 3] and conv.kernel [2, 2, 3] factored"),
    numpy_row("adafactor_lr_momentum", "adafactor",
              {"learning_rate": 0.05, "b1": 0.9, "multiply_by_parameter_scale": False,
               "min_dim_size_to_factor": 3, "decay": 0.001, "decay_rate": 0.5},
              "dense.kernel factored; decay as Optax's weight_decay_rate (not scaled by the step)"),
    numpy_row("adam_schedule", "adam",
              {"learning_rate": "@exponential", "eps": 1e-3, "eps_root": 0.0}),
    # Noise: no trajectory to compare (the noise comes from nx::random inside the update);
    # noise_reference_test.cpp tests its distribution, the jit and checkpoint tests use the row.
    {"name": "noisy_sgd", "optimizer": "noisy_sgd",
     "options": {"learning_rate": 0.05, "eta": 0.3, "gamma": 0.55, "seed": 7},
     "reference": ("statistical",), "note": "", "events": []},
    # Chains of transformations.
    numpy_row("chain_clip_adam", "chain",
              {"transforms": [{"kind": "clip_by_global_norm", "max_norm": 2.0},
                              {"kind": "scale_by_adam", "eps": 1e-3},
                              {"kind": "add_decayed_weights", "decay": 0.05},
                              {"kind": "scale", "step": -0.01}]}),
    numpy_row("chain_centralize_nesterov", "chain",
              {"transforms": [{"kind": "centralize"},
                              {"kind": "clip", "delta": 2.5},
                              {"kind": "trace", "decay": 0.9, "nesterov": True},
                              {"kind": "scale", "step": -0.01}]}),
    numpy_row("chain_accumulate", "chain",
              {"transforms": [{"kind": "accumulate_gradients", "steps": 3,
                               "inner": [{"kind": "trace", "decay": 0.5}]},
                              {"kind": "scale", "step": -0.05}]},
              "sums 3 gradients, passes their mean to the inner transformation every 3rd step"),
    numpy_row("chain_masked_trust_ratio", "chain",
              {"transforms": [{"kind": "masked", "prefix": "dense.",
                               "inner": [{"kind": "scale_by_adam", "eps": 1e-3}]},
                              {"kind": "scale_by_trust_ratio", "min_norm": 0.1,
                               "trust_coefficient": 0.5, "eps": 1e-3},
                              {"kind": "scale_by_schedule", "schedule": "@cosine"},
                              {"kind": "scale_by_state", "step": -0.2}]},
              "Adam on the dense leaves only; LARS-style trust ratio; a schedule; scale_by_state"),
]

# ---- schedules -----------------------------------------------------------------------------------


def schedule_values(s):
    kind, o = s["kind"], s["options"]
    t = np.arange(COUNTS, dtype=np.float64)
    if kind == "constant":
        return np.full(COUNTS, o["init"])
    if kind == "linear_decay":  # Polaris
        w, n = o.get("warmup", 0), o.get("steps", 1000)
        return o["init"] * np.where(t < w, t / max(1, w), np.maximum(0.0, (n - t) / max(1, n - w)))
    if kind == "exponential_decay":  # Polaris / Optax
        d = t - o.get("transition_begin", 0)
        p = d / o.get("transition_steps", 10)
        if o.get("staircase", False):
            p = np.floor(p)
        return np.where(d <= 0, o["init"], o["init"] * o.get("decay_rate", 0.95) ** p)
    if kind == "cosine_decay":  # Polaris
        k, a = o.get("decay_steps", 10), o.get("alpha", 0.0)
        return o["init"] * ((1 + np.cos(np.pi * np.minimum(t, k) / k)) / 2 * (1 - a) + a)
    if kind == "polynomial_decay":  # Polaris
        k, e = o.get("transition_steps", 10), o.get("end_value", 1e-3)
        x = np.clip(t - o.get("transition_begin", 0), 0, k) / k
        return (o["init"] - e) * (1 - x) ** o.get("power", 2) + e
    if kind == "warmup_cosine_decay":  # Optax: linear warmup joined with a cosine decay
        i, pk, w = o.get("init_value", 0.0), o.get("peak_value", 1e-3), o.get("warmup_steps", 0)
        n, e = o.get("decay_steps", 1000), o.get("end_value", 0.0)
        warm = i + (pk - i) * np.clip(t, 0, w) / max(w, 1) if w > 0 else np.full(COUNTS, pk)
        k = n - w
        c = pk * ((1 - e / pk) * 0.5 * (1 + np.cos(np.pi * np.minimum(t - w, k) / k)) + e / pk)
        return np.where(t < w, warm, c)
    if kind == "join_schedules":  # Optax
        parts = [schedule_values(SCHEDULE_BY_NAME[n[1:]]) for n in o["schedules"]]
        out = parts[0].copy()
        for b, part in zip(o["boundaries"], parts[1:]):
            shifted = np.array([part[int(x) - b] if x >= b else 0.0 for x in t])
            out = np.where(t < b, out, shifted)
        return out
    if kind == "piecewise_constant":  # Optax: scale i applies from count == boundary i on
        v = np.full(COUNTS, o["init"])
        for b, sc in zip(o["boundaries"], o["scales"]):
            v = np.where(t >= b, v * sc, v)
        return v
    if kind == "cyclical":  # torch.optim.lr_scheduler.CyclicLR itself
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=o["min_value"])
        mode = {"Triangular": "triangular", "Triangular2": "triangular2",
                "ExpRange": "exp_range"}[o.get("mode", "Triangular")]
        sched = torch.optim.lr_scheduler.CyclicLR(
            opt, base_lr=o["min_value"], max_lr=o["max_value"], step_size_up=o["step_size"],
            mode=mode, gamma=o.get("gamma", 1.0), cycle_momentum=False)
        values = []
        for _ in range(COUNTS):
            values.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        return np.array(values)
    raise ValueError(kind)


SCHEDULES = [
    {"name": "constant", "kind": "constant", "options": {"init": 0.25}},
    {"name": "linear_decay", "kind": "linear_decay",
     "options": {"init": 0.1, "warmup": 10, "steps": 100}},
    {"name": "linear_decay_no_warmup", "kind": "linear_decay", "options": {"init": 0.1,
                                                                           "steps": 50}},
    {"name": "exponential", "kind": "exponential_decay",
     "options": {"init": 0.02, "decay_rate": 0.5, "transition_steps": 20,
                 "transition_begin": 5}},
    {"name": "exponential_staircase", "kind": "exponential_decay",
     "options": {"init": 0.1, "decay_rate": 0.8, "transition_steps": 7, "staircase": True}},
    {"name": "cosine", "kind": "cosine_decay",
     "options": {"init": 0.1, "decay_steps": 60, "alpha": 0.1}},
    {"name": "polynomial", "kind": "polynomial_decay",
     "options": {"init": 0.1, "end_value": 0.01, "power": 3, "transition_steps": 50,
                 "transition_begin": 10}},
    {"name": "warmup_cosine", "kind": "warmup_cosine_decay",
     "options": {"init_value": 0.01, "peak_value": 0.1, "warmup_steps": 10, "decay_steps": 90,
                 "end_value": 0.001}},
    {"name": "warmup_cosine_no_warmup", "kind": "warmup_cosine_decay",
     "options": {"peak_value": 0.1, "decay_steps": 40}},
    {"name": "joined", "kind": "join_schedules",
     "options": {"schedules": ["@linear_decay_no_warmup", "@cosine", "@constant"],
                 "boundaries": [20, 70]}},
    {"name": "piecewise", "kind": "piecewise_constant",
     "options": {"init": 0.1, "boundaries": [10, 40, 80], "scales": [0.5, 0.1, 2.0]}},
    {"name": "cyclical", "kind": "cyclical",
     "options": {"min_value": 0.001, "max_value": 0.01, "step_size": 15}},
    {"name": "cyclical_triangular2", "kind": "cyclical",
     "options": {"min_value": 0.001, "max_value": 0.01, "step_size": 10,
                 "mode": "Triangular2"}},
    {"name": "cyclical_exp_range", "kind": "cyclical",
     "options": {"min_value": 0.001, "max_value": 0.01, "step_size": 12, "mode": "ExpRange",
                 "gamma": 0.98}},
]
SCHEDULE_BY_NAME = {s["name"]: s for s in SCHEDULES}


# ---- output --------------------------------------------------------------------------------------


def describe(ref):
    if ref[0] != "torch":
        return "numpy"
    kwargs = {k: v for k, v in ref[2].items() if k != "schedule"}
    text = f"torch.optim.{ref[1]}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    if "schedule" in ref[2]:
        text += f" + LambdaLR({ref[2]['schedule']})"
    return text


def check():
    """Every torch row that has a NumPy transcription too: both trajectories, compared."""
    params, grads = make_problem()
    for c in CASES:
        ref = c["reference"]
        if ref[0] != "torch" or NUMPY.get(c["optimizer"]) is None or c["events"]:
            continue
        kwargs = {k: v for k, v in ref[2].items() if k != "schedule"}
        want = torch_trajectory(params, grads, ref[1], kwargs, ref[2].get("schedule"))
        got = NUMPY[c["optimizer"]](params, grads, c["options"])
        diff = max(float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-6)))
                   for step_a, step_b in zip(got, want) for a, b in zip(step_a, step_b))
        print(f"{c['name']:28} numpy vs {describe(ref)}: max rel diff {diff:.1e}")


def main():
    if "--check" in sys.argv[1:]:
        check()
        return
    params, grads = make_problem()
    arrays = {}
    for (path, _, _, _), p, g in zip(LEAVES, params, grads):
        arrays[f"params.{path}"] = p
        arrays[f"grads.{path}"] = g
    cases = []
    for c in CASES:
        ref = c["reference"]
        if ref[0] == "statistical":
            cases.append({"name": c["name"], "optimizer": c["optimizer"],
                          "options": c["options"], "reference": "statistical",
                          "note": "noise_reference_test.cpp", "events": c["events"]})
            continue
        if ref[0] == "torch":
            kwargs = {k: v for k, v in ref[2].items() if k != "schedule"}
            traj = torch_trajectory(params, grads, ref[1], kwargs, ref[2].get("schedule"),
                                    c["events"])
        else:
            traj = NUMPY[c["optimizer"]](params, grads, c["options"])
        for i, (path, _, _, _) in enumerate(LEAVES):
            arrays[f"case.{c['name']}.{path}"] = np.stack([step[i] for step in traj])
            assert np.all(np.isfinite(arrays[f"case.{c['name']}.{path}"])), c["name"]
        cases.append({"name": c["name"], "optimizer": c["optimizer"], "options": c["options"],
                      "reference": describe(ref), "note": c["note"], "events": c["events"]})
    for s in SCHEDULES:
        arrays[f"schedule.{s['name']}"] = schedule_values(s)
    manifest = {
        "generator": "tests/axon/optim/gen_optim_reference.py",
        "steps": STEPS,
        "schedule_counts": COUNTS,
        "leaves": [{"path": path, "shape": list(shape)} for path, shape, _, _ in LEAVES],
        "schedules": SCHEDULES,
        "cases": cases,
    }
    os.makedirs(DATA, exist_ok=True)
    with open(os.path.join(DATA, "optim_reference.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    np.savez(os.path.join(DATA, "optim_reference.npz"), **arrays)
    print(f"{len(cases)} cases, {len(SCHEDULES)} schedules -> {DATA}")


if __name__ == "__main__":
    main()
