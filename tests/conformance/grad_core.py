"""The vocabulary of the gradient table: input specs, gradient cases, torch helpers.

A gradient case names a public nx op and its attributes exactly as a forward case does (the C++
side calls the same adapter, adapters_*.cpp), plus input specs, which inputs to differentiate and
a PyTorch function computing the same op. The scalar under test is

    L = sum_k sum(w_k * op(inputs)[k])      (k over the floating outputs)

with fixed random weights w_k of each output's shape, drawn from the case name. The C++ test
computes dL/d(input) with nx::value_and_grad and compares it with central differences of L in
float64 and with PyTorch autograd of the same L on the same inputs (gen_grad_reference.py).

Inputs are chosen away from the points where an op is not differentiable (abs at 0, ties of max
and sort, domain edges of log and asin, the kinks of clip), so that both references are
well-defined: "away" draws magnitudes in [lo, hi] with random signs, "distinct" spreads values so
that no two are closer than about 2/n, and `avoid` moves values off listed kinks.

A zero-gradient case (zero_grad=True) is an op that is piecewise constant or integer-valued on
floating inputs (floor, sign, comparisons, argmax...): nx::grad must return exact zeros.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from refcore import seed_for

FLOAT = "float"  # an input of the mode's float dtype: f32 against torch, f64 for differences


@dataclasses.dataclass
class X:
    """An input spec.

    dtype "float" is the mode's floating dtype (stored as float32 values, exact in float64);
    any nx dtype name gives a fixed dtype ("s64" indices, "pred" masks, "f64").
    gen: "normal" (times scale), "uniform" [lo, hi), "away" (|x| in [lo, hi], random sign),
    "distinct" (no two values within about 2/n of each other, in about [-2, 2]), "values".
    avoid: values within `gap` of one of these are pushed `2 * gap` away from it."""

    shape: tuple = ()
    gen: str = "normal"
    dtype: str = FLOAT
    lo: float = -2.0
    hi: float = 2.0
    scale: float = 1.0
    values: Any = None
    avoid: Sequence[float] = ()
    gap: float = 0.05

    @property
    def is_float(self) -> bool:
        return self.dtype in (FLOAT, "f16", "bf16", "f32", "f64")


def idx(values, dtype="s64") -> X:
    """An integer (index) input with explicit values."""
    return X(np.shape(values), "values", dtype=dtype, values=values)


def mask(values) -> X:
    return X(np.shape(values), "values", dtype="pred", values=values)


NP_TYPES = {"s64": np.int64, "s32": np.int32, "u8": np.uint8, "pred": np.bool_,
            "f64": np.float64, "f32": np.float32}


def draw(spec: X, rng: np.random.Generator) -> np.ndarray:
    shape = tuple(spec.shape)
    n = int(np.prod(shape)) if shape else 1
    storage = np.float32 if spec.dtype == FLOAT else NP_TYPES[spec.dtype]
    if spec.gen == "values":
        return np.asarray(spec.values).astype(storage).reshape(shape)
    if spec.gen == "normal":
        v = rng.standard_normal(size=shape) * spec.scale
    elif spec.gen == "uniform":
        v = rng.uniform(spec.lo, spec.hi, size=shape)
    elif spec.gen == "away":
        v = rng.uniform(spec.lo, spec.hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    elif spec.gen == "distinct":
        step = 4.0 / max(n, 1)
        base = rng.permutation(n).astype(np.float64) - n / 2
        v = (base * step + rng.uniform(0.1, 0.4) * step).reshape(shape)
    else:
        raise ValueError(f"unknown gen {spec.gen!r}")
    v = np.asarray(v, dtype=np.float64)
    for k in spec.avoid:
        near = np.abs(v - k) < spec.gap
        v[near] = k + np.where(v[near] >= k, 2 * spec.gap, -2 * spec.gap)
    return v.astype(storage).reshape(shape)


TorchRef = Callable[..., Any]


@dataclasses.dataclass
class GradCase:
    """One row of the gradient table.

    name       unique; seeds the inputs and the weights
    op         the public nx function (the adapter name of the forward harness)
    inputs     input specs
    torch_ref  torch_ref(attrs, *inputs) -> tensor or list of tensors, on float64 tensors for
               the floating inputs (int64/bool for the others); its floating outputs enter L
    attrs      passed to the adapter, as in cases_*.py
    wrt        input positions to differentiate (default: every floating input)
    zero_grad  the op is piecewise constant: nx's gradient must be exactly zero (every output
               enters L, weighted; no torch gradient is stored)
    fd         also check against central differences in float64 (off only where float64
               differs from the op's own precision, such as a cast to f16)
    tol_scale  multiplies the tolerances of both checks
    modes      restricts the float modes ("f32", "f64") the case runs in
    """

    name: str
    op: str
    inputs: Sequence[X]
    torch_ref: TorchRef
    attrs: dict = dataclasses.field(default_factory=dict)
    wrt: Optional[Sequence[int]] = None
    zero_grad: bool = False
    fd: bool = True
    tol_scale: float = 1.0
    modes: Optional[Sequence[str]] = None

    def float_modes(self) -> list:
        """The float dtypes the case runs in: "f32" (against torch, or zeros) and "f64"
        (against central differences, or zeros)."""
        if self.modes is not None:
            return list(self.modes)
        if self.zero_grad:
            return ["f32", "f64"]
        return ["f32", "f64"] if self.fd else ["f32"]

    def wrt_positions(self) -> list:
        if self.wrt is not None:
            return list(self.wrt)
        return [i for i, s in enumerate(self.inputs) if s.is_float]


def case_rng(case: GradCase, what: str) -> np.random.Generator:
    return np.random.default_rng(seed_for("grad", case.name, what))


# ---- torch helpers shared by the case modules ----------------------------------------------------


def axes_of(at: dict, nd: int, key: str = "axes"):
    """The attrs' axes normalised (all axes when absent)."""
    if key not in at or at[key] is None:
        return tuple(range(nd))
    return tuple(a % nd for a in at[key]) if nd else ()


def over_axes(x: torch.Tensor, axes: tuple, keep: bool, fn) -> torch.Tensor:
    """fn(y) reduces the last axis of y; applies it over `axes` of x (moved last, merged)."""
    nd = x.dim()
    if nd == 0:
        return fn(x.reshape(1))
    rest = [a for a in range(nd) if a not in axes]
    y = x.permute(rest + list(axes))
    y = y.reshape([x.shape[a] for a in rest] + [-1])
    out = fn(y)
    if keep:
        out = out.reshape([1 if a in axes else x.shape[a] for a in range(nd)])
    return out


def np_padding(at: dict, eff: list) -> list:
    """Nx's padding attribute as (lo, hi) pairs (eff: the dilated window sizes)."""
    pad = at.get("padding", "valid")
    if pad == "valid":
        return [(0, 0)] * len(eff)
    if pad == "same":
        return [((e - 1) // 2, (e - 1) - (e - 1) // 2) for e in eff]
    return [tuple(p) for p in pad]


def torch_pad(x: torch.Tensor, pads: list, value, first_axis: int) -> torch.Tensor:
    """Pads (negative: crops) the axes from first_axis on with `value` (a float or a scalar
    tensor, which then receives the gradient of the padding)."""
    out = x
    for i, (lo, hi) in enumerate(pads):
        axis = first_axis + i
        for amount, at_end in ((lo, False), (hi, True)):
            if amount > 0:
                shape = list(out.shape)
                shape[axis] = amount
                block = (value.expand(shape) if torch.is_tensor(value)
                         else torch.full(shape, value, dtype=out.dtype))
                out = torch.cat([out, block] if at_end else [block, out], dim=axis)
            elif amount < 0:
                n = out.shape[axis]
                out = (out.narrow(axis, 0, max(n + amount, 0)) if at_end
                       else out.narrow(axis, -amount, n + amount))
    return out
