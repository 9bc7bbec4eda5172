"""The vocabulary of the conformance table: dtypes, input specs, cases, and reference helpers.

A case names a public nx op, its attributes (JSON values the C++ adapter reads), input specs and
the dtypes to run over, plus a reference function over NumPy arrays. gen_reference.py expands
each case over its dtypes, draws the inputs deterministically, runs the reference and writes the
expected outputs. Nothing here depends on nx: the reference must be independent of the code it
checks.

Arrays inside the generator: every nx dtype has a NumPy storage type, except bf16, which NumPy
lacks. A bf16 array is carried as float32 holding bf16-representable values (rounded through
torch, round-to-nearest-even) and written to the NPZ as its uint16 bit pattern; the manifest
records the dtype of every array, so the C++ side knows to reinterpret those bits.

References compute floating results in float64 from the dtype-rounded inputs and round once to
the output dtype; integer results are computed exactly in the integer type (NumPy wraps modulo
2^n like nx does).

Tolerances (|got - want| <= atol + rtol * |want|, NaN equal to NaN, infinities exact):
  f64  rtol 1e-10, atol 1e-12   double-quality math, allows reassociation in reductions
  f32  rtol 1e-5,  atol 1e-6    a few tens of ulp: vectorised math, f32 accumulation
  f16  rtol 2e-3,  atol 2e-3    about two ulp (2^-10 relative) after rounding from f32 math
  bf16 rtol 1.6e-2, atol 1.6e-2 about two ulp (2^-7 relative)
  integers and pred: exact.
A case may scale the float tolerances (tol_scale) where the op accumulates many terms or
composes several roundings (conv, norms, variance); the scale is recorded in the manifest.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

# ---- dtypes ----------------------------------------------------------------------------------

UNSIGNED = ["u8", "u16", "u32", "u64"]
SIGNED = ["s8", "s16", "s32", "s64"]
FLOATS = ["f16", "bf16", "f32", "f64"]
INTS = UNSIGNED + SIGNED
NUMERIC = INTS + FLOATS
ALL = NUMERIC + ["pred"]
DTYPES = ALL  # in nx::DType order

CLASSES = {
    "unsigned": UNSIGNED,
    "signed": SIGNED,
    "int": INTS,
    "float": FLOATS,
    "numeric": NUMERIC,
    "all": ALL,
    "intpred": INTS + ["pred"],
    "pred": ["pred"],
}

NP_STORAGE = {
    "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
    "s8": np.int8, "s16": np.int16, "s32": np.int32, "s64": np.int64,
    "f16": np.float16, "bf16": np.float32, "f32": np.float32, "f64": np.float64,
    "pred": np.bool_,
}

TOLERANCE = {
    "f64": (1e-10, 1e-12),
    "f32": (1e-5, 1e-6),
    "f16": (2e-3, 2e-3),
    "bf16": (1.6e-2, 1.6e-2),
}


def is_float(dt: str) -> bool:
    return dt in FLOATS


def is_int(dt: str) -> bool:
    return dt in INTS


def is_signed(dt: str) -> bool:
    return dt in SIGNED


def is_unsigned(dt: str) -> bool:
    return dt in UNSIGNED


def bits(dt: str) -> int:
    return 8 if dt == "pred" else int("".join(ch for ch in dt if ch.isdigit()))


def to_floating(dt: str) -> str:
    return dt if is_float(dt) else "f32"


def expand_dtypes(spec) -> list[str]:
    """A class name, or a list of class names and dtype names, to a list of dtypes."""
    if isinstance(spec, str):
        spec = [spec]
    out: list[str] = []
    for s in spec:
        for d in CLASSES.get(s, [s]):
            if d not in DTYPES:
                raise ValueError(f"unknown dtype or class {s!r}")
            if d not in out:
                out.append(d)
    return out


def int_range(dt: str) -> tuple[int, int]:
    if dt == "pred":
        return 0, 1
    info = np.iinfo(NP_STORAGE[dt])
    return int(info.min), int(info.max)


def float_info(dt: str):
    """(max finite, smallest normal, epsilon) of a float dtype."""
    if dt == "bf16":
        f = torch.finfo(torch.bfloat16)
        return float(f.max), float(f.tiny), float(f.eps)
    f = np.finfo(NP_STORAGE[dt])
    return float(f.max), float(f.tiny), float(f.eps)


# ---- Nx's type promotion, transcribed from Nx.Type.merge (nx/lib/nx/type.ex) --------------------
#
# Nx types are {kind, size} with precedence c > f > bf > s > u. Equal kinds take the larger size.
# Otherwise the higher kind wins whole, except u with s, which gives s of max(min(2*u, 64), s).
# nx adds pred (merges as the lowest type) and departs from Nx in one documented place
# (include/nx/dtype.hpp): f16 with bf16 gives f32 (Nx gives f16, since f outranks bf).

_KIND_RANK = {"u": 0, "s": 1, "bf": 2, "f": 3}


def _kind_size(dt: str) -> tuple[str, int]:
    if dt == "bf16":
        return "bf", 16
    return dt[0], int(dt[1:])


def nx_merge(a: str, b: str) -> str:
    if a == "pred":
        return b
    if b == "pred":
        return a
    if {a, b} == {"f16", "bf16"}:
        return "f32"
    (ka, sa), (kb, sb) = _kind_size(a), _kind_size(b)
    if ka == kb:
        return f"{ka}{max(sa, sb)}"
    (lo_k, lo_s), (hi_k, hi_s) = sorted([(ka, sa), (kb, sb)], key=lambda t: _KIND_RANK[t[0]])
    if lo_k == "u" and hi_k == "s":
        return f"s{max(min(lo_s * 2, 64), hi_s)}"
    return f"{hi_k}{hi_s}"


# ---- arrays --------------------------------------------------------------------------------------


def round_bf16(a) -> np.ndarray:
    """float32 array holding the bf16 rounding (nearest even) of a."""
    t = torch.from_numpy(np.array(a, dtype=np.float32, order="C"))
    return t.to(torch.bfloat16).to(torch.float32).numpy().copy()


def bf16_bits(a: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(np.array(a, dtype=np.float32, order="C"))
    return t.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16).copy()


def cast(a, dt: str) -> np.ndarray:
    """Rounds or converts a (NumPy array or nested list) to the storage of nx dtype dt.

    Floats round to nearest even. Integer targets accept integer or bool input (wrapping modulo
    2^n, as nx's integer arithmetic) and float input only when it holds integral values in range;
    references do float-to-integer conversion explicitly (see as_type in cases_elementwise)."""
    a = np.asarray(a)
    if dt == "pred":
        return a.astype(np.bool_)
    if dt == "bf16":
        return round_bf16(a.astype(np.float64))
    if is_float(dt):
        return a.astype(np.float64).astype(NP_STORAGE[dt])
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"non-integral floats cast to {dt}")
        a = a.astype(np.int64) if np.all(np.abs(a) < 2**63) else a.astype(np.uint64)
    return a.astype(NP_STORAGE[dt])


@dataclasses.dataclass
class T:
    """A reference output: an array and its nx dtype."""

    array: np.ndarray
    dtype: str

    def __post_init__(self):
        self.array = cast(self.array, self.dtype)


def wrap(values, dt: str) -> np.ndarray:
    """Python integers reduced modulo 2^bits into the integer dtype dt (two's complement)."""
    vals = np.asarray(values, dtype=object)
    mask = (1 << bits(dt)) - 1
    flat = np.array([int(v) & mask for v in vals.reshape(-1)], dtype=np.uint64)
    return flat.astype(NP_STORAGE[dt]).reshape(vals.shape)


def f64(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


# ---- inputs ----------------------------------------------------------------------------------


@dataclasses.dataclass
class In:
    """An input spec. dtype None means the case's dtype; "idx" means s64 indices.

    gen: "auto" (normal floats, small integers, random pred), "nonzero" (auto without zeros,
    for divisors), "uniform" (floats in [lo, hi),
    integers in [lo, hi]), "normal" (scale), "int" (integers in [lo, hi] for every dtype),
    "special" (NaN, infinities, signed zeros, extremes, denormals), "distinct" (a permutation of
    distinct values, no ties), "values" (the explicit `values`, converted to the dtype)."""

    shape: tuple = ()
    gen: str = "auto"
    dtype: Optional[str] = None
    lo: float = -3.0
    hi: float = 3.0
    scale: float = 1.0
    values: Any = None

    def resolve_dtype(self, case_dtype: str) -> str:
        if self.dtype is None:
            return case_dtype
        if self.dtype == "idx":
            return "s64"
        return self.dtype


def special_values(dt: str) -> list:
    if is_float(dt):
        mx, tiny, eps = float_info(dt)
        return [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 1.5, -1.5, np.inf, -np.inf, np.nan,
                mx, -mx, tiny, -tiny, tiny / 4, 3.0, -7.25, 100.0, 1e-3, eps, -eps]
    lo, hi = int_range(dt)
    vals = [0, 1, 2, 7, hi, hi - 1, lo, lo + 1, 100 % (hi + 1), 3]
    if is_signed(dt):
        vals += [-1, -2, -7, -100]
    return vals


def draw(spec: In, dt: str, rng: np.random.Generator) -> np.ndarray:
    shape = tuple(spec.shape)
    n = int(np.prod(shape)) if shape else 1
    if spec.gen == "values":
        return cast(np.asarray(spec.values).reshape(shape), dt)
    if spec.gen == "special":
        vals = special_values(dt)
        reps = -(-n // len(vals))
        flat = np.array((vals * reps)[:n], dtype=np.float64 if is_float(dt) else object)
        if not is_float(dt):
            storage = NP_STORAGE[dt] if dt != "pred" else np.int64
            flat = np.array([int(v) for v in flat], dtype=storage)
        flat = flat[rng.permutation(n)] if n > 1 else flat
        return cast(flat.reshape(shape), dt)
    if dt == "pred":
        if spec.gen in ("int", "uniform") and spec.lo >= 0 and spec.hi <= 1:
            return rng.integers(int(spec.lo), int(spec.hi) + 1, size=shape).astype(np.bool_)
        if spec.gen == "nonzero":
            return np.ones(shape, dtype=np.bool_)
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if spec.gen == "distinct":
        lo, hi = (int_range(dt) if not is_float(dt) else (-1e9, 1e9))
        base = rng.permutation(n).astype(np.int64) - (n // 2 if lo < 0 else 0)
        if is_float(dt):
            vals = (base.astype(np.float64) * 0.25 + rng.uniform(0, 0.1)).reshape(shape)
            return cast(vals, dt)
        return cast(base.reshape(shape), dt)
    if is_float(dt):
        if spec.gen == "uniform":
            vals = rng.uniform(spec.lo, spec.hi, size=shape)
        elif spec.gen == "int":
            vals = rng.integers(int(spec.lo), int(spec.hi) + 1, size=shape).astype(np.float64)
        else:
            vals = rng.standard_normal(size=shape) * spec.scale
        if spec.gen == "nonzero":
            vals[cast(vals, dt) == 0] = 1.0
        return cast(vals, dt)
    # integers
    lo, hi = int_range(dt)
    if spec.gen in ("uniform", "int"):
        a, b = int(np.ceil(spec.lo)), int(np.floor(spec.hi))
    else:
        a, b = (-20, 20) if is_signed(dt) else (0, 40)
    a, b = max(a, lo), min(b, hi)
    vals = rng.integers(a, b + 1, size=shape, dtype=np.int64)
    if spec.gen == "nonzero":
        vals[vals == 0] = 1
    return cast(vals, dt)


# ---- cases -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Ctx:
    """What a reference sees besides the inputs: the case dtype, the input dtypes, the attrs."""

    dtype: str
    in_dtypes: list
    attrs: dict

    @property
    def fdt(self) -> str:
        return to_floating(self.dtype)


Ref = Callable[..., Any]


@dataclasses.dataclass
class Case:
    """One row of the table: expands to one test per dtype.

    name      unique; also the data file name (data/<name>.npz)
    op        the public nx function the adapter calls (the C++ name; coverage keys on it)
    inputs    input specs
    dtypes    a class name ("float", "numeric", ...) or a list of class and dtype names
    ref       ref(ctx, *inputs) -> T | ndarray | list of them; None for expect_error cases
    attrs     JSON-able options passed to the adapter (and to ref via ctx.attrs); the harness
              itself reads "repeat"/"repeat_inputs" (see cases_large.py) and adds "_dtype"
    expect_error  the op must throw nx::Error (no reference run)
    tol_scale multiplies the float tolerances
    meta_only compare dtype and shape only (templates)
    """

    name: str
    op: str
    inputs: Sequence[In]
    dtypes: Any
    ref: Optional[Ref] = None
    attrs: dict = dataclasses.field(default_factory=dict)
    expect_error: bool = False
    tol_scale: float = 1.0
    meta_only: bool = False


def seed_for(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())
