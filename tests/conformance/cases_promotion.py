"""Type promotion and broadcasting, exhaustively.

For all 13 x 13 dtype pairs, nx::add, nx::less and nx::select must give the dtype of
refcore.nx_merge (an independent transcription of Nx.Type.merge, plus pred) and the values NumPy
computes in that dtype. Arithmetic turns a pred result type into u8 ("arithmetic on pred treats
it as u8"); comparisons and select keep pred.

Weak scalars (C++ numbers, include/nx/tensor.hpp): `x + 2` keeps x's dtype, `int_tensor + 0.5`
is f32. Pred tensors with weak scalars are left out: the headers do not say whether `pred + 1` is
u8 (pred as u8) or s32 (the scalar's own type).

Broadcasting: numpy rules over a list of shape pairs, and pairs that must raise nx::Error.
"""

import numpy as np

from cases_unary import num_dt
from refcore import ALL, FLOATS, INTS, Case, In, T, f64, nx_merge

# Values every dtype holds exactly, so that the result is exact in the promoted dtype.
def _small(shape, dt):
    return In(shape, "int", lo=-2 if dt not in ("pred",) else 0, hi=4, dtype=dt)


def _in(x: np.ndarray, dt: str) -> np.ndarray:
    """x as values of dtype dt (pred as 0/1)."""
    return f64(x) if dt in FLOATS else x.astype(np.int64)


def _add_ref(c, a, b):
    rt = num_dt(nx_merge(c.in_dtypes[0], c.in_dtypes[1]))
    return T(_in(a, rt) + _in(b, rt), rt)


def _less_ref(c, a, b):
    return T(_in(a, "f64") < _in(b, "f64"), "pred")


def _select_ref(c, p, t, f):
    rt = nx_merge(c.in_dtypes[1], c.in_dtypes[2])
    return T(np.where(p, _in(t, rt), _in(f, rt)), rt)


def pair_cases():
    cases = []
    for a in ALL:
        for b in ALL:
            pair = f"{a}_{b}"
            cases.append(Case(f"add.promote.{pair}", "add", [_small((2, 3), a), _small((3,), b)],
                              [a], _add_ref))
            cases.append(Case(f"less.promote.{pair}", "less", [_small((2, 3), a), _small((3,), b)],
                              [a], _less_ref))
            cases.append(Case(f"select.promote.{pair}", "select",
                              [In((2, 3), dtype="pred"), _small((2, 3), a), _small((3,), b)], [a],
                              _select_ref))
    return cases


def _weak_ref(c, x):
    dt = c.dtype
    value = c.attrs["scalar"]
    if isinstance(value, float):
        rt = dt if dt in FLOATS else "f32"
        return T(f64(x) + value, rt)
    return T(_in(x, dt) + value if dt in INTS else f64(x) + value, dt)


def weak_cases():
    numeric = [d for d in ALL if d != "pred"]
    cases = []
    for side in ("a", "b"):
        cases.append(Case(f"add.weak_int.{side}", "add", [_small((2, 3), None)], numeric,
                          _weak_ref, attrs={"scalar": 3, "scalar_side": side}))
        cases.append(Case(f"add.weak_float.{side}", "add", [_small((2, 3), None)], numeric,
                          _weak_ref, attrs={"scalar": 0.5, "scalar_side": side}))
    # A weak float must keep its full value when it meets an f64 tensor (Nx, JAX).
    cases.append(Case("add.weak_float_precision", "add", [In((3,), "normal")], ["f64"],
                      _weak_ref, attrs={"scalar": 0.1, "scalar_side": "b"}))
    cases.append(Case("multiply.weak_int", "multiply", [_small((2, 3), None)], numeric,
                      lambda c, x: T(_in(x, c.dtype) * 3, c.dtype),
                      attrs={"scalar": 3, "scalar_side": "b"}))
    return cases


def _shape_name(s):
    return "x".join(str(d) for d in s) if s else "scalar"


BROADCAST_OK = [
    ((), (3,)), ((3,), ()), ((1, 3), (2, 1)), ((2, 3), (3,)), ((4, 1, 3), (2, 3)),
    ((2, 1, 3), (4, 1)), ((0, 3), (1, 3)), ((0,), ()), ((1,), (0,)), ((5, 1, 1), (1, 4, 1)),
    ((1, 1, 1), ()), ((3, 1), (1, 0)), ((2, 3), (2, 3)), ((1,), (1, 1, 1, 2)),
]
BROADCAST_BAD = [((2,), (3,)), ((2, 3), (3, 2)), ((4, 1, 3), (2, 2)), ((0,), (2,)),
                 ((2, 3), (4, 3))]


def broadcast_cases():
    cases = []
    for sa, sb in BROADCAST_OK:
        name = f"{_shape_name(sa)}_{_shape_name(sb)}"
        cases.append(Case(f"add.bcast.{name}", "add", [In(sa), In(sb)], ["f32", "s32", "pred"],
                          _add_ref))
        cases.append(Case(f"less.bcast.{name}", "less", [In(sa), In(sb)], ["f64", "u8"],
                          _less_ref))
    for sa, sb in BROADCAST_BAD:
        name = f"{_shape_name(sa)}_{_shape_name(sb)}"
        for op in ("add", "less", "multiply", "bitwise_and", "logical_or"):
            cases.append(Case(f"{op}.bcast_error.{name}", op, [In(sa), In(sb)], ["s32"],
                              expect_error=True))
    for shapes in [((3, 1), (4,), ()), ((), (2, 3), (1, 3)), ((2, 1, 1), (1, 3, 1), (1, 1, 4)),
                   ((0, 1), (1, 2), ())]:
        name = "_".join(_shape_name(s) for s in shapes)
        cases.append(Case(f"select.bcast.{name}", "select",
                          [In(shapes[0], dtype="pred"), In(shapes[1]), In(shapes[2])],
                          ["f32", "u16"], _select_ref))
    for shapes in [((2,), (3,), (3,)), ((3,), (3,), (2, 2)), ((2, 2), (1, 3), ())]:
        name = "_".join(_shape_name(s) for s in shapes)
        cases.append(Case(f"select.bcast_error.{name}", "select",
                          [In(shapes[0], dtype="pred"), In(shapes[1]), In(shapes[2])], ["f32"],
                          expect_error=True))
    return cases


def cases():
    return pair_cases() + weak_cases() + broadcast_cases()
