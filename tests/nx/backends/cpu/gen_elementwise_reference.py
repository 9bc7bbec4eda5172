#!/usr/bin/python3
"""Writes elementwise_reference.inc: reference results of every elementwise CPU primitive.

Run with Debian's Python (it has mpmath and NumPy):
    /usr/bin/python3 tests/nx/backends/cpu/gen_elementwise_reference.py

The primitives and their dtype classes are read from src/nx/core/primitives.def, so every
Unary/Binary/Compare/Ternary/Convert primitive gets a case for every dtype it admits.

Reference values are independent of the C++ kernels:
  * float math is evaluated with mpmath at 200 bits and rounded to the target format (f16,
    bf16, f32, f64) by exact rational rounding to nearest even, with IEEE special values
    (inf, NaN, signed zeros) written out case by case below;
  * exact arithmetic (add ... remainder, conversions) uses Python's exact integers and
    fractions;
  * integer semantics (wrapping, division by zero, shifts) follow the rules documented in the
    kernels' header comments, written out here a second time in Python.
Each case stores the operands and the expected result as raw bit patterns, so every dtype is
represented exactly (u64 extremes, NaN, -0.0, subnormals).
"""
import math
import os
import re
import struct
from fractions import Fraction

import mpmath as mp
import numpy as np

mp.mp.prec = 200
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
NAN, INF = float("nan"), float("inf")

# ---- dtypes ----------------------------------------------------------------------------------
INTS = {"u8": (False, 8), "u16": (False, 16), "u32": (False, 32), "u64": (False, 64),
        "s8": (True, 8), "s16": (True, 16), "s32": (True, 32), "s64": (True, 64)}
FLOATS = {"f16": (11, -14, 15), "bf16": (8, -126, 127), "f32": (24, -126, 127),
          "f64": (53, -1022, 1023)}  # precision, emin, emax
ALL = ["u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f16", "bf16", "f32", "f64", "pred"]
CLASSES = {
    "Any": ALL,
    "Numeric": [d for d in ALL if d != "pred"],
    "Float": list(FLOATS),
    "Integer": list(INTS),
    "IntPred": list(INTS) + ["pred"],
}


def int_range(d):
    signed, bits = INTS[d]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def wrap(d, v):
    signed, bits = INTS[d]
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def round_fmt(q, d):
    """Rounds an exact rational (or +-inf/NaN float) to format d, nearest even; returns float."""
    if isinstance(q, float):
        if math.isnan(q) or math.isinf(q) or q == 0:
            return q
        q = Fraction(q)
    if q == 0:
        return 0.0
    p, emin, emax = FLOATS[d]
    neg, a = q < 0, abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    quantum = Fraction(2) ** (max(e, emin) - (p - 1))
    n, rem = divmod(a, quantum)
    if rem > quantum / 2 or (rem == quantum / 2 and n % 2 == 1):
        n += 1
    r = n * quantum
    if r >= Fraction(2) ** (emax + 1):
        return -INF if neg else INF
    f = float(r)  # exact: every format here is a subset of f64
    return -f if neg else f


def float_bits(d, f):
    if d == "f64":
        return struct.unpack("<Q", struct.pack("<d", f))[0]
    if d == "f32":
        return int(np.array([f], np.float32).view(np.uint32)[0])
    if d == "f16":
        return int(np.array([f], np.float16).view(np.uint16)[0])
    return int(np.array([f], np.float32).view(np.uint32)[0]) >> 16  # bf16: exact in f32


def bits_of(d, v):
    if d == "pred":
        return 1 if v else 0
    if d in INTS:
        return v & ((1 << INTS[d][1]) - 1)
    return float_bits(d, v)


def exact(d, v):
    """Float value v rounded into format d (used to make representable operands)."""
    return round_fmt(v, d)


# ---- operand sets ----------------------------------------------------------------------------
def float_specials(d, extra=()):
    p, emin, emax = FLOATS[d]
    maxv = float((2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax)
    minsub = float(Fraction(2) ** (emin - p + 1))
    minnorm = float(Fraction(2) ** emin)
    vals = [NAN, INF, -INF, 0.0, -0.0, minsub, -minsub, minnorm - minsub, minnorm, maxv, -maxv,
            1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 2.5, 0.1, -0.7, 3.0, 10.0, -33.25, 1e-3]
    vals += list(extra)
    out, seen = [], set()
    for v in vals:
        r = exact(d, v)
        key = float_bits(d, r)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def int_specials(d, small=False):
    lo, hi = int_range(d)
    vals = [0, 1, 2, 3, 7, hi, hi - 1] + ([lo, lo + 1, -1, -2, -7] if lo < 0 else [])
    if not small:
        vals += [100, 37] + ([-100] if lo < 0 else [])
    return [wrap(d, v) for v in dict.fromkeys(vals)]


def specials(d, small=False):
    if d == "pred":
        return [False, True]
    if d in INTS:
        return int_specials(d, small)
    return float_specials(d) if not small else float_specials(d)[:14]


# ---- float references ------------------------------------------------------------------------
def to_frac(x):
    """The exact value of an mpmath number; beyond every format's range, a signed inf or 0."""
    x = mp.mpf(x)
    if mp.isnan(x):
        return NAN
    if mp.isinf(x):
        return INF if x > 0 else -INF
    if x == 0:
        return 0.0
    m, e = x.man_exp  # man_exp drops the sign
    m = -m if x < 0 else m
    top = e + abs(m).bit_length()
    if top > 1100:
        return INF if m > 0 else -INF
    if top < -1200:
        return 0.0 if m > 0 else -0.0
    return Fraction(m) * Fraction(2) ** e if e >= 0 else Fraction(m, 2 ** -e)


def mp_ref(fn, x):
    return to_frac(fn(mp.mpf(x)))


def copysign0(x):
    return x  # zeros are returned as-is (their sign is the answer)


def unary_float(op, x):
    """Exact-ish value (Fraction) or special float of op(x) for a finite or special float x."""
    nan, inf = NAN, INF
    if math.isnan(x):
        return {"is_nan": True, "is_infinity": False}.get(op, nan)
    if op == "is_nan":
        return False
    if op == "is_infinity":
        return math.isinf(x)
    if op == "negate":
        return -x
    if op == "abs":
        return abs(x)
    if op == "sign":
        return x if x == 0 else (1.0 if x > 0 else -1.0)
    if op in ("floor", "ceil", "trunc", "round", "round_even"):
        if math.isinf(x) or x == 0:
            return x
        f = Fraction(x)
        r = {"floor": math.floor(f), "ceil": math.ceil(f), "trunc": math.trunc(f),
             "round": int(math.copysign(math.floor(abs(f) + Fraction(1, 2)), x)),
             "round_even": round(f)}[op]
        return math.copysign(0.0, x) if r == 0 else Fraction(r)
    if math.isinf(x):
        pos = x > 0
        table = {
            "exp": inf if pos else 0.0, "expm1": inf if pos else -1.0,
            "log": inf if pos else nan, "log1p": inf if pos else nan,
            "sqrt": inf if pos else nan, "rsqrt": 0.0 if pos else nan, "cbrt": x,
            "sin": nan, "cos": nan, "tan": nan, "asin": nan, "acos": nan,
            "atan": to_frac(mp.pi / 2) * (1 if pos else -1), "sinh": x, "cosh": inf,
            "tanh": 1.0 if pos else -1.0, "asinh": x, "acosh": inf if pos else nan,
            "atanh": nan, "erf": 1.0 if pos else -1.0, "erfc": 0.0 if pos else 2.0,
            "erf_inv": nan, "sigmoid": 1.0 if pos else 0.0}
        return table[op]
    if x == 0:
        neg = math.copysign(1.0, x) < 0
        table = {"exp": 1.0, "expm1": x, "log": -inf, "log1p": x, "sqrt": x,
                 "rsqrt": -inf if neg else inf, "cbrt": x, "sin": x, "cos": 1.0, "tan": x,
                 "asin": x, "acos": to_frac(mp.pi / 2), "atan": x, "sinh": x, "cosh": 1.0,
                 "tanh": x, "asinh": x, "acosh": nan, "atanh": x, "erf": x, "erfc": 1.0,
                 "erf_inv": x, "sigmoid": 0.5}
        return table[op]
    # finite, nonzero. Far out, results saturate in every format (mpmath would work hard on
    # e^(1e308) and overflow inside erfc).
    if abs(x) > 1000 and op in ("exp", "expm1", "sinh", "cosh", "tanh", "erf", "erfc",
                                "sigmoid"):
        pos = x > 0
        return {"exp": INF if pos else 0.0, "expm1": INF if pos else -1.0,
                "sinh": INF if pos else -INF, "cosh": INF, "tanh": 1.0 if pos else -1.0,
                "erf": 1.0 if pos else -1.0, "erfc": 0.0 if pos else 2.0,
                "sigmoid": 1.0 if pos else 0.0}[op]
    if op == "log" and x < 0 or op == "log1p" and x < -1 or op in ("sqrt", "rsqrt") and x < 0:
        return nan
    if op == "log1p" and x == -1:
        return -inf
    if op in ("asin", "acos") and abs(x) > 1 or op == "acosh" and x < 1:
        return nan
    if op in ("atanh", "erf_inv") and abs(x) >= 1:
        return nan if abs(x) > 1 else math.copysign(inf, x)
    fns = {
        "exp": mp.exp, "expm1": mp.expm1, "log": mp.log, "log1p": mp.log1p, "sqrt": mp.sqrt,
        "rsqrt": lambda v: 1 / mp.sqrt(v), "cbrt": lambda v: mp.sign(v) * mp.cbrt(abs(v)), "sin": mp.sin, "cos": mp.cos,
        "tan": mp.tan, "asin": mp.asin, "acos": mp.acos, "atan": mp.atan, "sinh": mp.sinh,
        "cosh": mp.cosh, "tanh": mp.tanh, "asinh": mp.asinh, "acosh": mp.acosh,
        "atanh": mp.atanh, "erf": mp.erf, "erfc": mp.erfc, "erf_inv": mp.erfinv,
        "sigmoid": lambda v: 1 / (1 + mp.exp(-v))}
    return mp_ref(fns[op], x)


def float_result(d, v):
    if isinstance(v, bool):
        return v
    return round_fmt(v, d)


# Unary float ops with their tolerance in ulps (f32, f64); f16/bf16 allow 1 for inexact ops.
EXACT_UNARY = {"negate", "abs", "sign", "floor", "ceil", "round", "round_even", "trunc",
               "is_nan", "is_infinity", "sqrt"}
# f32: the polynomials of vmath.hpp are within 2 ulp, 1/sqrt rounds twice, libm runs in double.
UNARY_F32_ULPS = {"exp": 2, "expm1": 2, "log": 2, "log1p": 2, "tanh": 2, "sigmoid": 2, "erf": 2,
                  "rsqrt": 2}
UNARY_F64_ULPS = {"erf_inv": 2, "rsqrt": 2}

UNARY_EXTRA = {
    "exp": [-87.5, -88.8, -100.0, -103.5, -104.5, 88.5, 88.8, 100.0, 1e-8, -5.3, 11.1, 0.3466],
    "expm1": [-30.0, -17.5, 1e-8, -1e-8, 1e-5, 0.34, -0.4, 0.7, 20.0, 88.7, 89.5, 3e-4],
    "log": [2.0, 0.75, 1.0009765625, 0.99951171875, 1e30, 1e-40, 7.0],
    "log1p": [-0.999, -1e-7, 1e-7, 2e-3, -0.25, 1e10, -1.0, -2.0],
    "tanh": [0.6, 0.65, -0.62, 5.0, 9.0, -9.5, 1e-5, 0.2, 20.0],
    "sigmoid": [-20.0, -88.0, -95.0, -103.0, -110.0, 16.0, 17.0, 30.0, -0.25, 1e-8],
    "erf": [0.9, 0.93, 0.95, -1.2, 2.2, 3.9, 4.0, 5.0, 1e-5, 1e-20],
    "erfc": [0.9, 2.0, 5.0, 9.0, 10.5, -1.0, 1e-5],
    "erf_inv": [0.9, 0.99, 0.999, 0.9999, -0.9999999, 1 - 2 ** -24, -(1 - 2 ** -53), 1e-12,
                1e-300, 0.25, -0.6, 0.5, 0.4999],
    "asin": [0.9, -0.99, 0.3], "acos": [0.9, -0.99, 0.3], "atanh": [0.9, -0.99, 0.3, 1e-6],
    "acosh": [1.0, 1.5, 1e5, 0.5], "sinh": [20.0, -50.0, 90.0, 1e-6], "cosh": [20.0, -50.0, 90.0],
    "sin": [1e4, 3.14159, -100.0], "cos": [1e4, 3.14159, -100.0], "tan": [1.5, 1e4, -1.57],
    "sqrt": [2.0, 1e-40, 1e30], "rsqrt": [2.0, 1e-30, 1e30, 4.0], "cbrt": [-8.0, 27.0, 1e-40],
    "round": [0.49999997, -0.49999997, 3.5, -3.5, 8388609.0, 4503599627370497.0],
    "round_even": [0.49999997, 3.5, -3.5, 4.5, -4.5, 8388609.0, 4503599627370497.0],
}


def unary_int(op, d, x):
    signed, bits = (True, 8) if d == "pred" else INTS[d]
    if d == "pred":
        assert op == "bitwise_not"
        return not x
    if op == "negate":
        return wrap(d, -x)
    if op == "abs":
        return wrap(d, abs(x))
    if op == "sign":
        return (x > 0) - (x < 0)
    if op == "bitwise_not":
        return wrap(d, ~x)
    u = x & ((1 << bits) - 1)
    if op == "population_count":
        return bin(u).count("1")
    if op == "count_leading_zeros":
        return bits - u.bit_length()
    raise KeyError(op)


# ---- binary references -----------------------------------------------------------------------
def binary_int(op, d, a, b):
    if d == "pred":
        return {"bitwise_and": a and b, "bitwise_or": a or b, "bitwise_xor": a != b}[op]
    signed, bits = INTS[d]
    lo, hi = int_range(d)
    if op == "add":
        return wrap(d, a + b)
    if op == "subtract":
        return wrap(d, a - b)
    if op == "multiply":
        return wrap(d, a * b)
    if op == "quotient":
        if b == 0:
            return 0
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)  # toward zero
        return wrap(d, q)  # INT_MIN / -1 wraps to INT_MIN
    if op == "remainder":
        if b == 0:
            return a
        q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
        return a - q * b
    if op == "pow":
        if b < 0:
            return 1 if a == 1 else ((-1 if b % 2 else 1) if a == -1 else 0)
        return wrap(d, pow(a, b, 1 << bits))
    if op == "max":
        return max(a, b)
    if op == "min":
        return min(a, b)
    if op == "bitwise_and":
        return wrap(d, a & b)
    if op == "bitwise_or":
        return wrap(d, a | b)
    if op == "bitwise_xor":
        return wrap(d, a ^ b)
    if op == "left_shift":
        return wrap(d, a << b) if 0 <= b < bits else 0
    if op == "right_shift":
        if 0 <= b < bits:
            return a >> b if signed else (a & ((1 << bits) - 1)) >> b
        return -1 if signed and a < 0 else 0
    raise KeyError(op)


def is_odd_integer(y):
    return math.isfinite(y) and y == math.floor(y) and int(y) % 2 == 1


def pow_float(a, b):
    """C99 Annex F pow, with mpmath for the ordinary case."""
    if b == 0 or a == 1:
        return 1.0
    if math.isnan(a) or math.isnan(b):
        return NAN
    if a == 0:
        if b < 0:
            return math.copysign(INF, a) if is_odd_integer(b) else INF
        return a if is_odd_integer(b) else 0.0
    if math.isinf(a) or math.isinf(b):
        try:
            return math.pow(a, b)  # Python follows Annex F for infinities
        except (ValueError, OverflowError):
            return NAN
    if a < 0 and b != math.floor(b):
        return NAN
    r = mp.power(mp.mpf(a), mp.mpf(b))
    return to_frac(r)


def fmod_exact(a, b):
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or b == 0:
        return NAN
    if math.isinf(b):
        return a
    fa, fb = Fraction(a), Fraction(b)
    q = abs(fa) // abs(fb)
    r = abs(fa) - q * abs(fb)
    return math.copysign(0.0, a) if r == 0 else (r if a > 0 else -r)


def atan2_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return NAN
    if a == 0 or b == 0 or math.isinf(a) or math.isinf(b):
        r = math.atan2(a, b)  # Annex F: a signed zero or a multiple of pi/4
        return r if r == 0 else to_frac(round(r / (math.pi / 4)) * mp.pi / 4)
    return mp_ref(lambda y: mp.atan2(y, mp.mpf(b)), a)


def binary_float(op, a, b):
    nan = NAN
    if op in ("max", "min"):
        if math.isnan(a) or math.isnan(b):
            return nan
        if a == b:  # -0 < +0
            neg_a, neg_b = math.copysign(1, a) < 0, math.copysign(1, b) < 0
            pick_neg = (neg_a and neg_b) if op == "max" else (neg_a or neg_b)
            return -0.0 if (a == 0 and pick_neg) else (0.0 if a == 0 else a)
        return max(a, b) if op == "max" else min(a, b)
    if op == "pow":
        return pow_float(a, b)
    if op == "remainder":
        return fmod_exact(a, b)
    if op == "atan2":
        return atan2_float(a, b)
    # IEEE add, subtract, multiply, divide: specials by float arithmetic (exact for them), the
    # finite case by exact fractions.
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b) or \
            (op == "divide" and b == 0) or (op in ("add", "subtract", "multiply", "divide") and
                                            (a == 0 or b == 0)):
        with np.errstate(all="ignore"):
            fa, fb = np.float64(a), np.float64(b)
            return float({"add": fa + fb, "subtract": fa - fb, "multiply": fa * fb,
                          "divide": fa / fb}[op])
    fa, fb = Fraction(a), Fraction(b)
    r = {"add": fa + fb, "subtract": fa - fb, "multiply": fa * fb, "divide": fa / fb}[op]
    if r == 0:  # x - x = +0 in round-to-nearest
        return 0.0
    return r


COMPARE = {"equal": lambda a, b: a == b, "not_equal": lambda a, b: a != b,
           "less": lambda a, b: a < b, "less_equal": lambda a, b: a <= b,
           "greater": lambda a, b: a > b, "greater_equal": lambda a, b: a >= b}

# Tolerances in ulps of inexact float binary ops (f32/f64: libm; f16/bf16 via float: 1).
BINARY_ULPS = {"pow": 1, "atan2": 1}


# ---- convert ---------------------------------------------------------------------------------
def convert_value(src, dst, v):
    if dst == "pred":
        return bool(v != 0)  # NaN != 0
    if src == "pred":
        v = 1 if v else 0
    if dst in INTS:
        if src in FLOATS:
            if math.isnan(v):
                return 0
            lo, hi = int_range(dst)
            if math.isinf(v):
                return hi if v > 0 else lo
            t = math.trunc(v)
            return min(max(t, lo), hi)
        return wrap(dst, int(v))
    # float destination
    if src in FLOATS and (math.isnan(v) or math.isinf(v) or v == 0):
        return v
    return round_fmt(Fraction(v), dst) if v != 0 else 0.0


def convert_sources(d):
    if d == "pred":
        return [False, True]
    if d in INTS:
        lo, hi = int_range(d)
        vals = [0, 1, 2, 100, 255, 256, 65504, 65519, 65520, 2049, 16777217, (1 << 24) + 3,
                (1 << 25) + (1 << 17) + 1, hi, hi - 1, hi // 3, 1 << 62]
        if lo < 0:
            vals += [-1, -129, lo, lo + 1, -70000, -(1 << 40) - 1]
        return [wrap(d, v) for v in dict.fromkeys(v for v in vals if lo <= v <= hi)]
    extra = [255.9, 256.0, -128.5, -129.0, 65535.5, 2147483520.0, 2147483648.0, 4294967296.0,
             -2147483649.0, 9.2233720368547758e18, 1.8446744073709552e19, -9.3e18, 1e20,
             1.0 + 2.0 ** -11 + 2.0 ** -40, 1.0 + 2.0 ** -8 + 2.0 ** -30, 65519.99, 65520.0,
             2.0 ** -24 * 0.75, 2.0 ** -25, 1e-39, 3.0000001]
    return float_specials(d, extra)


def value_bits(d, v):
    if d in FLOATS:
        return float_bits(d, v if isinstance(v, float) else round_fmt(v, d))
    return bits_of(d, v)


# ---- cases -----------------------------------------------------------------------------------
def read_primitives():
    prims = []
    with open(os.path.join(ROOT, "src", "nx", "core", "primitives.def")) as f:
        for line in f:
            m = re.match(r"NX_PRIM\((\w+),\s*(\w+),\s*(-?\d+),\s*(\d+),\s*(\w+),", line)
            if m and m.group(2) in ("Unary", "Binary", "Compare", "Ternary", "Convert"):
                prims.append((m.group(1), m.group(2), m.group(5)))
    return prims


class Case:
    def __init__(self, op, dtype, out_dtype, ulps, shapes, operands, expected):
        self.op, self.dtype, self.out_dtype, self.ulps = op, dtype, out_dtype, ulps
        self.shapes, self.operands, self.expected = shapes, operands, expected


def in_dtypes(op, d):
    return ["pred", d, d] if op == "select" else [d] * (1 if op in UNARY_OPS else 2)


UNARY_OPS = set()


def unary_case(op, d):
    if d in FLOATS:
        xs = float_specials(d, UNARY_EXTRA.get(op, []))
        out = "pred" if op in ("is_nan", "is_infinity") else d
        ys = [float_result(d, unary_float(op, x)) for x in xs]
        if op in EXACT_UNARY:
            ulps = 0
        elif d in ("f16", "bf16"):
            ulps = 1
        else:
            ulps = (UNARY_F32_ULPS if d == "f32" else UNARY_F64_ULPS).get(op, 1)
        return Case(op, d, out, ulps, [[len(xs)], [len(xs)]], [[value_bits(d, x) for x in xs]],
                    [value_bits(out, y) for y in ys])
    xs = specials(d)
    ys = [unary_int(op, d, x) for x in xs]
    return Case(op, d, d, 0, [[len(xs)], [len(xs)]], [[bits_of(d, x) for x in xs]],
                [bits_of(d, y) for y in ys])


def float_pair_values(d, op):
    p, emin, emax = FLOATS[d]
    maxv = float((2 - Fraction(2) ** (1 - p)) * Fraction(2) ** emax)
    minsub = float(Fraction(2) ** (emin - p + 1))
    vals = [NAN, INF, -INF, 0.0, -0.0, minsub, 1.0, -1.0, 2.5, -0.7, maxv]
    if op == "pow":
        vals += [0.5, 3.0, -2.0, -3.0]
    return [exact(d, v) for v in vals]


def int_pair_values(d, op):
    signed, bits = INTS[d]
    lo, hi = int_range(d)
    if op in ("left_shift", "right_shift"):
        a = [1, 5, hi, lo] + ([-1, -7] if signed else [])
        b = [0, 1, 3, bits - 1, bits, bits + 1, 100, hi] + ([-1, lo] if signed else [])
        return [wrap(d, v) for v in a], [wrap(d, v) for v in dict.fromkeys(b)]
    vals = [0, 1, 7, hi, hi - 1] + ([lo, lo + 1, -1, -7] if signed else [])
    if op == "pow":
        vals += [2, 3] + ([-2] if signed else [])
    return vals, vals


def pair_case(op, d, out, fn, xs, ys, ulps):
    a = [x for x in xs for _ in ys]
    b = [y for _ in xs for y in ys]
    r = [fn(x, y) for x, y in zip(a, b)]
    n = len(a)
    return Case(op, d, out, ulps, [[n], [n], [n]], [[value_bits(d, v) for v in a],
                                                    [value_bits(d, v) for v in b]],
                [value_bits(out, v) for v in r])


def binary_case(op, d):
    if d in FLOATS:
        vals = float_pair_values(d, op)
        exact_op = op not in BINARY_ULPS
        ulps = 0 if exact_op else BINARY_ULPS[op]
        return pair_case(op, d, d, lambda a, b: float_result(d, binary_float(op, a, b)), vals,
                         vals, ulps)
    if d == "pred":
        return pair_case(op, d, d, lambda a, b: binary_int(op, d, a, b), [False, True],
                         [False, True], 0)
    xs, ys = int_pair_values(d, op)
    return pair_case(op, d, d, lambda a, b: binary_int(op, d, a, b), xs, ys, 0)


def compare_case(op, d):
    if d in FLOATS:
        p, emin, emax = FLOATS[d]
        vals = [exact(d, v) for v in [NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 2.5,
                                      float(Fraction(2) ** (emin - p + 1))]]
    elif d == "pred":
        vals = [False, True]
    else:
        vals, _ = int_pair_values(d, "add")
    return pair_case(op, d, "pred", COMPARE[op], vals, vals, 0)


def select_case(d):
    vals = specials(d)[:6]
    n = len(vals)
    p = [i % 2 == 0 for i in range(n)]
    a, b = vals, list(reversed(vals))
    r = [x if c else y for c, x, y in zip(p, a, b)]
    return Case("select", d, d, 0, [[n]] * 4, [[bits_of("pred", c) for c in p],
                                               [value_bits(d, v) for v in a],
                                               [value_bits(d, v) for v in b]],
                [value_bits(d, v) for v in r])


def convert_cases():
    cases = []
    for src in ALL:
        xs = convert_sources(src)
        for dst in ALL:
            ys = [convert_value(src, dst, x) for x in xs]
            cases.append(Case("convert", src, dst, 0, [[len(xs)], [len(xs)]],
                              [[value_bits(src, x) for x in xs]], [value_bits(dst, y) for y in ys]))
    return cases


# Broadcasting: shapes through the same-shape, one-value and general paths, ranks 0 to 4,
# empty tensors and size-1 axes.
BROADCAST_SHAPES = [
    ([2, 3], [3]), ([3], [2, 3]), ([4, 1, 3], [2, 1]), ([], [2, 2]), ([2, 2], []), ([1], [3, 1]),
    ([2, 1, 4], [1, 3, 1]), ([3, 0], [1]), ([0, 3], [2, 1, 3]), ([1, 1], [1, 1]), ([5, 1], [1, 6]),
    ([2, 3, 4], [2, 1, 4]), ([1, 2, 1, 3], [2, 1, 1]), ([3, 1, 2], [3, 4, 1]), ([1], [7]),
    ([2, 1, 1, 3], [1, 4, 5, 1])]
BROADCAST_OPS = [("add", "f32"), ("add", "s32"), ("add", "u8"), ("add", "f16"),
                 ("subtract", "f64"), ("less", "f32"), ("less", "s8"), ("max", "bf16"),
                 ("atan2", "f64"), ("pow", "s32"), ("bitwise_and", "pred"),
                 ("right_shift", "s16"), ("equal", "pred"), ("quotient", "u32")]
SELECT_SHAPES = [([2, 3], [2, 3], [2, 3]), ([], [2, 3], [3]), ([2, 1], [], [1, 3]),
                 ([3, 1, 1], [1, 2, 1], [1, 1, 4]), ([4], [4], []), ([1], [2, 0], [1]),
                 ([2, 2], [2, 2], [1, 2]), ([], [], [])]


def broadcast_shape(*shapes):
    return list(np.broadcast_shapes(*[tuple(s) for s in shapes]))


def sample_values(d, n, rng):
    if d == "pred":
        return [bool(v) for v in rng.integers(0, 2, n)]
    if d in INTS:
        lo, hi = int_range(d)
        small = rng.integers(max(lo, -20), min(hi, 20) + 1, n)
        return [int(v) for v in small]
    return [exact(d, float(v)) for v in np.round(rng.uniform(-8, 8, n), 2)]


def broadcast_cases():
    rng = np.random.default_rng(7)
    cases = []
    for op, d in BROADCAST_OPS:
        for sa, sb in BROADCAST_SHAPES:
            so = broadcast_shape(sa, sb)
            na, nb = int(np.prod(sa)), int(np.prod(sb))
            a, b = sample_values(d, na, rng), sample_values(d, nb, rng)
            if op in ("pow", "right_shift"):
                b = [abs(v) % 5 for v in b]
            if op == "quotient":
                b = [v % 9 for v in b]
            oa = np.empty(na, dtype=object)
            oa[:] = a
            ob = np.empty(nb, dtype=object)
            ob[:] = b
            ea, eb = np.broadcast_arrays(oa.reshape(sa), ob.reshape(sb))
            if op in COMPARE:
                out = "pred"
                r = [COMPARE[op](x, y) for x, y in zip(ea.ravel(), eb.ravel())]
            elif d in FLOATS:
                out = d
                r = [float_result(d, binary_float(op, x, y)) for x, y in zip(ea.ravel(),
                                                                              eb.ravel())]
            else:
                out = d
                r = [binary_int(op, d, x, y) for x, y in zip(ea.ravel(), eb.ravel())]
            ulps = BINARY_ULPS.get(op, 0) if d in FLOATS else 0
            cases.append(Case(op, d, out, ulps, [sa, sb, so], [[value_bits(d, v) for v in a],
                                                               [value_bits(d, v) for v in b]],
                              [value_bits(out, v) for v in r]))
    for d in ("f32", "s64", "pred", "f16"):
        for sp, sa, sb in SELECT_SHAPES:
            so = broadcast_shape(sp, sa, sb)
            n = [int(np.prod(s)) for s in (sp, sa, sb)]
            p = sample_values("pred", n[0], rng)
            a, b = sample_values(d, n[1], rng), sample_values(d, n[2], rng)
            arrays = []
            for vals, shape in ((p, sp), (a, sa), (b, sb)):
                o = np.empty(len(vals), dtype=object)
                o[:] = vals
                arrays.append(o.reshape(shape))
            ep, ea, eb = np.broadcast_arrays(*arrays)
            r = [x if c else y for c, x, y in zip(ep.ravel(), ea.ravel(), eb.ravel())]
            cases.append(Case("select", d, d, 0, [sp, sa, sb, so],
                              [[bits_of("pred", c) for c in p], [value_bits(d, v) for v in a],
                               [value_bits(d, v) for v in b]], [value_bits(d, v) for v in r]))
    return cases


def build_cases():
    cases = []
    for op, group, cls in read_primitives():
        if group == "Unary":
            UNARY_OPS.add(op)
    for op, group, cls in read_primitives():
        for d in CLASSES[cls]:
            if group == "Unary":
                cases.append(unary_case(op, d))
            elif group == "Binary":
                cases.append(binary_case(op, d))
            elif group == "Compare":
                cases.append(compare_case(op, d))
            elif group == "Ternary":
                cases.append(select_case(d))
    cases += convert_cases()
    cases += broadcast_cases()
    return cases


def main():
    cases = build_cases()
    words, rows = [], []
    for c in cases:
        shapes = ";".join(",".join(str(x) for x in s) for s in c.shapes)
        rows.append('{"%s", "%s", "%s", %d, %d, "%s", %d},' % (
            c.op, c.dtype, c.out_dtype, c.ulps, len(c.operands), shapes, len(words)))
        for o in c.operands:
            words += o
        words += c.expected
    out = os.path.join(HERE, "elementwise_reference.inc")
    with open(out, "w") as f:
        f.write("// Generated by gen_elementwise_reference.py (reads src/nx/core/primitives.def);"
                " do not edit.\n// Each case: op, operand dtype, result dtype, tolerance in ulps,"
                " operand count,\n// shapes (operands then result, ';'-separated), and the offset"
                " in kRefBits of its\n// operands' bits followed by the expected result's bits.\n"
                "// clang-format off\n")
        f.write("inline constexpr uint64_t kRefBits[] = {\n")
        for i in range(0, len(words), 8):
            f.write(",".join("0x%x" % w for w in words[i:i + 8]) + ",\n")
        f.write("};\ninline constexpr RefCase kRefCases[] = {\n")
        f.write("\n".join(rows) + "\n};\n// clang-format on\n")
    print("wrote %d cases, %d words to %s" % (len(cases), len(words), out))


if __name__ == "__main__":
    main()
