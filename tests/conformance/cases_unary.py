"""Elementwise unary ops (include/nx/ops/elementwise.hpp): math, predicates, arithmetic, bits.

Math functions take every dtype: integer and pred inputs compute in f32 (Nx's to_floating).
Arithmetic keeps the dtype (pred computes as u8); rounding is the identity on integers and pred.
"""

import math

import numpy as np
import torch

from refcore import FLOATS, Case, In, T, bits, f64, to_floating


def num_dt(dt: str) -> str:
    """The dtype arithmetic on dt computes in: pred is u8."""
    return "u8" if dt == "pred" else dt


def num(x: np.ndarray) -> np.ndarray:
    return x.astype(np.uint8) if x.dtype == np.bool_ else x


def unary_float(fn):
    def ref(c, x):
        return T(fn(f64(x)), to_floating(c.in_dtypes[0]))
    return ref


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if x.size else x


def _erfc(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x) if x.size else x


def _erf_inv(x):
    return torch.special.erfinv(torch.from_numpy(np.array(x, order="C"))).numpy()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# Trig arguments stay moderate: huge arguments test range reduction, which the f64 reference does
# exactly and an f32 kernel need not (Nx promises no more than XLA here).
TRIG_SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1.0, -1.0, 3.140625, 100.0,
                -100.0, 0.5, 1e-4]

TRIG = [("special", In((14,), "values", values=TRIG_SPECIAL))]

# (op, basic-input spec, [(suffix, extra float-only spec)], tolerance scale)
FLOAT_UNARY = [
    ("exp", In((3, 4), "normal", scale=3.0), [("special", In((24,), "special"))], 1),
    ("expm1", In((3, 4), "normal", scale=3.0),
     [("special", In((24,), "special")), ("small", In((12,), "uniform", lo=-1e-3, hi=1e-3))], 1),
    ("log", In((3, 4), "uniform", lo=0.01, hi=20), [("special", In((24,), "special"))], 1),
    ("log1p", In((3, 4), "uniform", lo=-0.9, hi=10),
     [("special", In((24,), "special")), ("small", In((12,), "uniform", lo=-1e-3, hi=1e-3))], 1),
    ("sqrt", In((3, 4), "uniform", lo=0, hi=20), [("special", In((24,), "special"))], 1),
    ("rsqrt", In((3, 4), "uniform", lo=0.01, hi=20), [("special", In((24,), "special"))], 1),
    ("cbrt", In((3, 4), "normal", scale=10.0), [("special", In((24,), "special"))], 1),
    ("sin", In((3, 4), "uniform", lo=-6, hi=6), TRIG, 1),
    ("cos", In((3, 4), "uniform", lo=-6, hi=6), TRIG, 1),
    ("tan", In((3, 4), "uniform", lo=-1.4, hi=1.4), TRIG, 1),
    ("asin", In((3, 4), "uniform", lo=-1, hi=1), [("special", In((24,), "special"))], 1),
    ("acos", In((3, 4), "uniform", lo=-1, hi=1), [("special", In((24,), "special"))], 1),
    ("atan", In((3, 4), "normal", scale=5.0), [("special", In((24,), "special"))], 1),
    ("sinh", In((3, 4), "uniform", lo=-5, hi=5), [("special", In((24,), "special"))], 1),
    ("cosh", In((3, 4), "uniform", lo=-5, hi=5), [("special", In((24,), "special"))], 1),
    ("tanh", In((3, 4), "normal", scale=3.0), [("special", In((24,), "special"))], 1),
    ("asinh", In((3, 4), "normal", scale=10.0), [("special", In((24,), "special"))], 1),
    ("acosh", In((3, 4), "uniform", lo=1, hi=20), [("special", In((24,), "special"))], 1),
    ("atanh", In((3, 4), "uniform", lo=-0.99, hi=0.99), [("special", In((24,), "special"))], 1),
    ("erf", In((3, 4), "normal", scale=2.0), [("special", In((24,), "special"))], 1),
    ("erfc", In((3, 4), "normal", scale=2.0), [("special", In((24,), "special"))], 1),
    ("erf_inv", In((3, 4), "uniform", lo=-0.999, hi=0.999),
     [("special", In((24,), "special")),
      ("ends", In((6,), "values", values=[1.0, -1.0, 0.0, 0.9999, -0.9999, 0.5]))], 1),
    ("sigmoid", In((3, 4), "normal", scale=5.0), [("special", In((24,), "special"))], 1),
]

FNS = {
    "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1.0 / np.sqrt(x), "cbrt": np.cbrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh,
    "cosh": np.cosh, "tanh": np.tanh, "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh, "erf": _erf, "erfc": _erfc, "erf_inv": _erf_inv, "sigmoid": _sigmoid,
}


def edge_cases(op, ref, dtypes=("f32",)):
    """Rank 0 and empty inputs, through the same reference."""
    return [
        Case(f"{op}.rank0", op, [In((), "normal")], list(dtypes), ref),
        Case(f"{op}.empty", op, [In((0, 3))], list(dtypes), ref),
    ]


def float_unary_cases():
    cases = []
    for op, basic, extras, scale in FLOAT_UNARY:
        ref = unary_float(FNS[op])
        cases.append(Case(f"{op}.basic", op, [basic], "all", ref, tol_scale=scale))
        for suffix, spec in extras:
            cases.append(Case(f"{op}.{suffix}", op, [spec], "float", ref, tol_scale=scale))
        cases += edge_cases(op, ref)
    return cases


# ---- predicates --------------------------------------------------------------------------------


def _pred_ref(fn):
    def ref(c, x):
        if c.in_dtypes[0] in FLOATS:
            return T(fn(f64(x)), "pred")
        return T(fn(np.zeros(x.shape)), "pred")  # integers are never NaN or infinite
    return ref


def predicate_cases():
    cases = []
    for op, fn in [("is_nan", np.isnan), ("is_infinity", np.isinf), ("is_finite", np.isfinite)]:
        ref = _pred_ref(fn)
        cases.append(Case(f"{op}.special", op, [In((24,), "special")], "all", ref))
        cases += edge_cases(op, ref)
    return cases


# ---- arithmetic that keeps the dtype -----------------------------------------------------------


def _keep(fn):
    """fn over the numeric view (pred -> u8), result in that dtype; floats in f64 then rounded."""
    def ref(c, x):
        dt = num_dt(c.in_dtypes[0])
        if dt in FLOATS:
            return T(fn(f64(x)), dt)
        return T(fn(num(x)), dt)  # NumPy integer arithmetic wraps, as nx's
    return ref


def _round_half_away(x):
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)


def _rounding(fn):
    def ref(c, x):
        dt = c.in_dtypes[0]
        return T(fn(f64(x)) if dt in FLOATS else x, dt)
    return ref


def _sign(x):
    if x.dtype.kind == "u":
        return (x > 0).astype(x.dtype)
    return np.sign(x)


HALVES = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5, -3.5, 4.5]


def arithmetic_cases():
    cases = []
    for op, fn in [("negate", np.negative), ("abs", np.abs), ("sign", _sign),
                   ("square", lambda x: x * x)]:
        ref = _keep(fn)
        cases.append(Case(f"{op}.basic", op, [In((3, 4))], "all", ref))
        cases.append(Case(f"{op}.special", op, [In((24,), "special")], "numeric", ref))
        cases += edge_cases(op, ref, ("s32",))
    for op, fn in [("floor", np.floor), ("ceil", np.ceil), ("round", _round_half_away),
                   ("round_even", np.round), ("trunc", np.trunc)]:
        ref = _rounding(fn)
        cases.append(Case(f"{op}.basic", op, [In((3, 4), "normal", scale=4.0)], "all", ref))
        cases.append(Case(f"{op}.special", op, [In((24,), "special")], "numeric", ref))
        cases.append(Case(f"{op}.halves", op,
                          [In((10,), "values", values=HALVES)],
                          "float", ref))
        cases += edge_cases(op, ref)
    return cases


# ---- bits ----------------------------------------------------------------------------------------


def _bitwise_not(c, x):
    return T(np.logical_not(x) if x.dtype == np.bool_ else np.invert(x), c.in_dtypes[0])


def _unsigned_view(x: np.ndarray) -> np.ndarray:
    return x.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[x.dtype.itemsize])


def _popcount(c, x):
    u = _unsigned_view(x)
    out = np.array([bin(int(v)).count("1") for v in u.reshape(-1)], dtype=np.int64)
    return T(out.reshape(x.shape), c.in_dtypes[0])


def _clz(c, x):
    u = _unsigned_view(x)
    width = bits(c.in_dtypes[0])
    out = np.array([width - int(v).bit_length() for v in u.reshape(-1)], dtype=np.int64)
    return T(out.reshape(x.shape), c.in_dtypes[0])


def _logical_not(c, x):
    return T(x == 0, "pred")  # NaN != 0, so NaN is true and its negation false


def bit_cases():
    cases = [
        Case("bitwise_not.basic", "bitwise_not", [In((3, 4))], "intpred", _bitwise_not),
        Case("bitwise_not.special", "bitwise_not", [In((14,), "special")], "int", _bitwise_not),
        Case("bitwise_not.float_error", "bitwise_not", [In((3,))], "float", expect_error=True),
        Case("population_count.basic", "population_count", [In((3, 4))], "int", _popcount),
        Case("population_count.special", "population_count", [In((14,), "special")], "int",
             _popcount),
        Case("population_count.float_error", "population_count", [In((3,))], "float",
             expect_error=True),
        Case("count_leading_zeros.basic", "count_leading_zeros", [In((3, 4))], "int", _clz),
        Case("count_leading_zeros.special", "count_leading_zeros", [In((14,), "special")], "int",
             _clz),
        Case("count_leading_zeros.float_error", "count_leading_zeros", [In((3,))], "float",
             expect_error=True),
        Case("logical_not.basic", "logical_not", [In((3, 4))], "all", _logical_not),
        Case("logical_not.special", "logical_not", [In((24,), "special")], "numeric",
             _logical_not),
    ]
    cases += edge_cases("bitwise_not", _bitwise_not, ("u8",))
    cases += edge_cases("logical_not", _logical_not, ("f32",))
    return cases


def cases():
    return float_unary_cases() + predicate_cases() + arithmetic_cases() + bit_cases()

