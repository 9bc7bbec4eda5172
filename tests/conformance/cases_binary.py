"""Elementwise binary and ternary ops (include/nx/ops/elementwise.hpp) on operands of one dtype.

Mixed dtypes, weak scalars and broadcasting are covered exhaustively in cases_promotion.py; here
each op runs over every dtype it accepts with ordinary, special and edge inputs. Arithmetic on
pred computes in u8; divide and atan2 compute in to_floating; logical ops and comparisons give
pred.
"""

import numpy as np

from cases_unary import num, num_dt
from refcore import FLOATS, Case, In, T, bits, f64, to_floating, wrap


def keep(float_fn, int_fn=None):
    """Same-dtype arithmetic: floats in f64 rounded to the dtype, integers exact (wrapping)."""
    int_fn = int_fn or float_fn

    def ref(c, a, b):
        dt = num_dt(c.dtype)
        if dt in FLOATS:
            return T(float_fn(f64(a), f64(b)), dt)
        return T(int_fn(num(a), num(b)), dt)
    return ref


def floating(fn):
    def ref(c, a, b):
        return T(fn(f64(a), f64(b)), to_floating(c.dtype))
    return ref


def _pyints(x):
    return [int(v) for v in np.asarray(x).reshape(-1)]


def _bcast(a, b):
    a, b = np.broadcast_arrays(num(a), num(b))
    return np.array(a, order="C"), np.array(b, order="C")


def _quotient(a, b):
    out = []
    for x, y in zip(_pyints(a), _pyints(b)):
        if y == 0:
            out.append(0)  # documented: x / 0 = 0
        else:
            q = abs(x) // abs(y)
            out.append(q if (x < 0) == (y < 0) else -q)
    return np.array(out, dtype=object).reshape(np.asarray(a).shape)


def _c_remainder(a, b):
    q = _quotient(a, b)
    return np.array([x - qq * y for x, y, qq in zip(_pyints(a), _pyints(b), q.reshape(-1))],
                    dtype=object).reshape(np.asarray(a).shape)


def _int_ref(fn):
    """An integer op written over Python ints, wrapped into the dtype."""
    def ref(c, a, b):
        dt = num_dt(c.dtype)
        return T(wrap(fn(*_bcast(a, b)), dt), dt)
    return ref


def _shift_left(c, a, b):
    dt = num_dt(c.dtype)
    width = bits(dt)
    a, b = _bcast(a, b)
    out = [(x << y) if 0 <= y < width else 0 for x, y in zip(_pyints(a), _pyints(b))]
    return T(wrap(np.array(out, dtype=object).reshape(a.shape), dt), dt)


def _shift_right(c, a, b):
    """Arithmetic for signed, logical for unsigned; amounts outside [0, bits) give the sign fill
    (0 or -1), as documented in src/nx/backends/cpu/elementwise_binary.cpp."""
    dt = c.dtype
    width = bits(dt)
    a, b = _bcast(a, b)
    out = [x >> y if 0 <= y < width else (-1 if x < 0 else 0)  # Python >> is arithmetic
           for x, y in zip(_pyints(a), _pyints(b))]
    return T(wrap(np.array(out, dtype=object).reshape(a.shape), dt), dt)


def _int_pow(a, b):
    """Integer pow as documented in elementwise_binary.cpp: wraps; a negative exponent gives 0
    except 1^n = 1 and (-1)^n = +-1 by parity."""
    out = []
    for x, y in zip(_pyints(a), _pyints(b)):
        if y >= 0:
            out.append(x ** y)
        elif x == 1:
            out.append(1)
        elif x == -1:
            out.append(-1 if y % 2 else 1)
        else:
            out.append(0)
    return np.array(out, dtype=object).reshape(np.asarray(a).shape)


def _bitwise(np_fn):
    def ref(c, a, b):
        return T(np_fn(a, b), c.dtype)
    return ref


def _logical(np_fn):
    def ref(c, a, b):
        return T(np_fn(a != 0, b != 0), "pred")
    return ref


def _compare(np_fn):
    def ref(c, a, b):
        if c.dtype in FLOATS:
            return T(np_fn(f64(a), f64(b)), "pred")
        return T(np_fn(a, b), "pred")
    return ref


def _edge(op, ref, dt):
    return [
        Case(f"{op}.rank0", op, [In(()), In(())], [dt], ref),
        Case(f"{op}.empty", op, [In((0, 3)), In((0, 3))], [dt], ref),
        Case(f"{op}.broadcast", op, [In((2, 1, 3)), In((4, 1))], [dt], ref),
    ]


def arithmetic_cases():
    cases = []
    for op, fn in [("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
                   ("max", np.maximum), ("min", np.minimum)]:
        ref = keep(fn)
        cases += [
            Case(f"{op}.basic", op, [In((3, 4)), In((3, 4))], "all", ref),
            Case(f"{op}.special", op, [In((24,), "special"), In((24,), "special")], "numeric",
                 ref),
        ]
        cases += _edge(op, ref, "f32") + [Case(f"{op}.broadcast_int", op,
                                                [In((2, 1, 3)), In((4, 1))], ["s64"], ref)]
    for op, fn in [("divide", np.divide), ("atan2", np.arctan2)]:
        ref = floating(fn)
        cases += [
            Case(f"{op}.basic", op, [In((3, 4)), In((3, 4), "nonzero")], "all", ref),
            Case(f"{op}.special", op, [In((24,), "special"), In((24,), "special")], "float", ref),
        ]
        cases += _edge(op, ref, "f32")
    quotient = _int_ref(_quotient)
    remainder = keep(np.fmod, lambda a, b: _c_remainder(*_bcast(a, b)))
    remainder_int = _int_ref(_c_remainder)
    mod = keep(np.mod)
    cases += [
        Case("quotient.basic", "quotient", [In((3, 4)), In((3, 4), "nonzero")], "intpred",
             quotient),
        Case("quotient.special", "quotient", [In((14,), "special"), In((14,), "special")], "int",
             quotient),
        Case("quotient.by_zero", "quotient", [In((4,)), In((4,), "values", values=[0, 0, 0, 0])],
             "int", quotient),
        Case("quotient.float_error", "quotient", [In((3,)), In((3,))], "float",
             expect_error=True),
        Case("remainder.basic", "remainder", [In((3, 4)), In((3, 4), "nonzero")], "all",
             remainder),
        Case("remainder.signs", "remainder",
             [In((8,), "values", values=[7, -7, 7, -7, 6, -6, 0, 5]),
              In((8,), "values", values=[3, 3, -3, -3, 3, -3, 5, 7])], "signed", remainder_int),
        Case("remainder.special", "remainder", [In((24,), "special"), In((24,), "special")],
             "float", remainder),
        Case("mod.basic", "mod", [In((3, 4)), In((3, 4), "nonzero")], "all", mod),
        Case("mod.signs", "mod",
             [In((8,), "values", values=[7, -7, 7, -7, 6, -6, 0, 5]),
              In((8,), "values", values=[3, 3, -3, -3, 3, -3, 5, 7])], ["signed", "float"], mod),
        Case("mod.special", "mod", [In((24,), "special"), In((24,), "nonzero", scale=3.0)],
             "float", mod),
        Case("pow.int", "pow", [In((3, 4), "int", lo=-5, hi=5), In((3, 4), "int", lo=0, hi=6)],
             ["intpred"], keep(np.power)),
        Case("pow.float", "pow",
             [In((3, 4), "uniform", lo=0.1, hi=4), In((3, 4), "uniform", lo=-3, hi=3)], "float",
             keep(np.power)),
        Case("pow.special", "pow", [In((24,), "special"), In((24,), "special")], "float",
             keep(np.power)),
    ]
    cases += [
        Case("quotient.int_min", "quotient",
             [In((3,), "values", values=[-(2**63), -(2**63), 7]),
              In((3,), "values", values=[-1, 1, -1])], ["s64"], quotient),
        Case("quotient.int_min_narrow", "quotient",
             [In((2,), "values", values=[-128, -128]), In((2,), "values", values=[-1, 2])],
             ["s8"], quotient),
        Case("remainder.by_zero", "remainder", [In((4,)), In((4,), "values", values=[0, 0, 0, 0])],
             "int", remainder_int),
        Case("remainder.int_min", "remainder",
             [In((2,), "values", values=[-(2**31), -(2**31)]), In((2,), "values", values=[-1, 3])],
             ["s32", "s64"], remainder_int),
        Case("pow.negative_exponent", "pow",
             [In((6,), "values", values=[2, 1, -1, -1, 0, -3]),
              In((6,), "values", values=[-1, -5, -3, -2, -1, -2])], "signed", _int_ref(_int_pow)),
        Case("pow.wrap", "pow", [In((3,), "values", values=[3, 7, 2]),
                                 In((3,), "values", values=[40, 9, 70])], "int",
             _int_ref(_int_pow)),
        Case("right_shift.out_of_range", "right_shift",
             [In((5,), "values", values=[-8, 8, -1, 5, -100]),
              In((5,), "values", values=[64, 100, -1, 65, 127])], ["s64"], _shift_right),
        Case("right_shift.out_of_range_narrow", "right_shift",
             [In((4,), "values", values=[-8, 8, -1, 5]),
              In((4,), "values", values=[8, 9, -1, 100])],
             ["s8"], _shift_right),
        Case("right_shift.out_of_range_unsigned", "right_shift",
             [In((3,), "values", values=[200, 1, 255]), In((3,), "values", values=[8, 9, 200])],
             ["u8", "u16", "u64"], _shift_right),
    ]
    cases += _edge("quotient", quotient, "s32") + _edge("remainder", remainder, "f32")
    cases += _edge("mod", mod, "s32") + _edge("pow", keep(np.power), "f64")
    return cases


def bit_cases():
    cases = []
    for op, fn in [("bitwise_and", np.bitwise_and), ("bitwise_or", np.bitwise_or),
                   ("bitwise_xor", np.bitwise_xor)]:
        ref = _bitwise(fn)
        cases += [
            Case(f"{op}.basic", op, [In((3, 4)), In((3, 4))], "intpred", ref),
            Case(f"{op}.special", op, [In((14,), "special"), In((14,), "special")], "int", ref),
            Case(f"{op}.float_error", op, [In((3,)), In((3,))], "float", expect_error=True),
        ] + _edge(op, ref, "u16")
    shift_counts = In((3, 4), "int", lo=0, hi=7)
    cases += [
        Case("left_shift.basic", "left_shift", [In((3, 4)), shift_counts], "intpred",
             _shift_left),
        Case("left_shift.wide", "left_shift",
             [In((6,), "special"), In((6,), "values", values=[1, 8, 15, 31, 63, 5])],
             ["u64", "s64"], _shift_left),
        Case("left_shift.out_of_range", "left_shift",
             [In((4,), "values", values=[1, 3, 5, 7]),
              In((4,), "values", values=[64, 65, 100, 127])],
             ["u64", "s64"], _shift_left),
        Case("left_shift.out_of_range_small", "left_shift",
             [In((4,), "values", values=[1, 3, 5, 7]), In((4,), "values", values=[8, 9, 64, 127])],
             ["u8", "s8"], _shift_left),
        Case("left_shift.negative_count", "left_shift",
             [In((3,), "values", values=[1, 3, 5]), In((3,), "values", values=[-1, -8, -100])],
             "signed", _shift_left),
        Case("left_shift.float_error", "left_shift", [In((3,)), In((3,))], "float",
             expect_error=True),
        Case("right_shift.basic", "right_shift", [In((3, 4)), shift_counts], "int", _shift_right),
        Case("right_shift.special", "right_shift",
             [In((14,), "special"), In((14,), "int", lo=0, hi=7)], "int", _shift_right),
        Case("right_shift.float_error", "right_shift", [In((3,)), In((3,))], "float",
             expect_error=True),
    ]
    for op, ref in [("left_shift", _shift_left), ("right_shift", _shift_right)]:
        cases += [
            Case(f"{op}.rank0", op, [In(()), In((), "int", lo=0, hi=7)], ["s32"], ref),
            Case(f"{op}.empty", op, [In((0, 3)), In((0, 3), "int", lo=0, hi=7)], ["s32"], ref),
            Case(f"{op}.broadcast", op, [In((2, 1, 3)), In((4, 1), "int", lo=0, hi=7)], ["s32"],
                 ref),
        ]
    for op, fn in [("logical_and", np.logical_and), ("logical_or", np.logical_or),
                   ("logical_xor", np.logical_xor)]:
        ref = _logical(fn)
        cases += [
            Case(f"{op}.basic", op, [In((3, 4), "int", lo=0, hi=2), In((3, 4), "int", lo=0, hi=2)],
                 "all", ref),
            Case(f"{op}.special", op, [In((24,), "special"), In((24,), "special")], "float", ref),
            Case(f"{op}.mixed", op, [In((3, 4), dtype="f32"), In((4,), "int", lo=0, hi=1)],
                 ["s8", "u64", "pred"], ref),
        ] + _edge(op, ref, "pred")
    return cases


def compare_cases():
    cases = []
    for op, fn in [("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
                   ("less_equal", np.less_equal), ("greater", np.greater),
                   ("greater_equal", np.greater_equal)]:
        ref = _compare(fn)
        cases += [
            Case(f"{op}.basic", op,
                 [In((3, 4), "int", lo=-2, hi=2), In((3, 4), "int", lo=-2, hi=2)], "all", ref),
            Case(f"{op}.special", op, [In((24,), "special"), In((24,), "special")], "numeric",
                 ref),
        ] + _edge(op, ref, "f64")
    return cases


def _operator_ref(c, *xs):
    if len(xs) == 1:
        x = xs[0]
        return T(-f64(x) if c.dtype in FLOATS else np.negative(num(x)), num_dt(c.dtype))
    return OPERATORS[c.attrs["op"]](c, *xs)


OPERATORS = {"+": keep(np.add), "-": keep(np.subtract), "*": keep(np.multiply),
             "/": floating(np.divide)}


def operator_cases():
    cases = []
    for sym in "+-*/":
        op = f"operator{sym}"
        second = In((3, 4), "nonzero") if sym == "/" else In((3, 4))
        cases.append(Case(f"{op}.basic", op, [In((3, 4)), second], "numeric", _operator_ref,
                          attrs={"op": sym}))
        cases.append(Case(f"{op}.broadcast", op, [In((2, 3)), In((3,), "nonzero")], ["f32", "s32"],
                          _operator_ref, attrs={"op": sym}))
    cases.append(Case("operator-.unary", "operator-", [In((3, 4))], "numeric", _operator_ref))
    return cases


def _select(c, p, t, f):
    return T(np.where(p != 0, t, f), c.dtype)


def _clip(c, x, lo, hi):
    dt = num_dt(c.dtype)
    if dt in FLOATS:
        return T(np.minimum(np.maximum(f64(x), f64(lo)), f64(hi)), dt)
    return T(np.minimum(np.maximum(num(x), num(lo)), num(hi)), dt)


def ternary_cases():
    lo, hi = In((), "values", values=2), In((), "values", values=10)
    return [
        Case("select.basic", "select", [In((3, 4), dtype="pred"), In((3, 4)), In((3, 4))], "all",
             _select),
        Case("select.special", "select",
             [In((24,), dtype="pred"), In((24,), "special"), In((24,), "special")], "numeric",
             _select),
        Case("select.broadcast", "select", [In((3, 1), dtype="pred"), In((4,)), In(())],
             ["f32", "s16", "pred"], _select),
        Case("select.int_predicate", "select",
             [In((3, 4), "int", lo=-1, hi=1, dtype="s32"), In((3, 4)), In((3, 4))], ["f32", "u8"],
             _select),
        Case("select.float_predicate", "select",
             [In((24,), "special", dtype="f32"), In((24,)), In((24,))], ["f64", "s64"], _select),
        Case("select.empty", "select", [In((0, 2), dtype="pred"), In((0, 2)), In((0, 2))], ["f32"],
             _select),
        Case("select.rank0", "select", [In((), dtype="pred"), In(()), In(())], ["s8"], _select),
        Case("select.shape_error", "select", [In((2,), dtype="pred"), In((3,)), In((3,))], ["f32"],
             expect_error=True),
        Case("clip.basic", "clip", [In((3, 4)), lo, hi], "all", _clip),
        Case("clip.special", "clip", [In((24,), "special"), lo, hi], "float", _clip),
        Case("clip.broadcast", "clip", [In((2, 3), "normal", scale=5.0), In((3,), "values",
                                        values=[-1, 0, 1]), In((2, 1), "values", values=[2, 3])],
             ["f32", "s32"], _clip),
    ]


def cases():
    return arithmetic_cases() + bit_cases() + compare_cases() + operator_cases() + ternary_cases()
