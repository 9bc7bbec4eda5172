"""Gradient cases of include/nx/ops/elementwise.hpp: unary and binary math, select, clip,
conversions, operators, and the piecewise-constant ops (zero gradients).

Binary cases broadcast their operands (the gradient must be summed back to each operand's shape)
and mix dtypes (the gradient must come back in each operand's dtype).
"""

import torch

from grad_core import GradCase, X, mask


def _unary(op, fn, spec=None, tol=1.0, name="basic"):
    return GradCase(f"{op}.{name}", op, [spec or X((3, 4))], lambda at, x: fn(x), tol_scale=tol)


def unary_cases():
    away = X((3, 4), "away", lo=0.3, hi=2.0)
    pos = X((3, 4), "uniform", lo=0.3, hi=3.0)
    unit = X((3, 4), "uniform", lo=-0.8, hi=0.8)
    return [
        _unary("exp", torch.exp),
        _unary("expm1", torch.expm1),
        _unary("log", torch.log, pos),
        _unary("log1p", torch.log1p, X((3, 4), "uniform", lo=-0.6, hi=2.0)),
        _unary("sqrt", torch.sqrt, pos),
        _unary("rsqrt", torch.rsqrt, pos),
        _unary("cbrt", lambda x: torch.sign(x) * torch.abs(x) ** (1.0 / 3.0), away),
        _unary("sin", torch.sin, X((3, 4), scale=2.0)),
        _unary("cos", torch.cos, X((3, 4), scale=2.0)),
        _unary("tan", torch.tan, X((3, 4), "uniform", lo=-1.2, hi=1.2)),
        _unary("asin", torch.asin, unit),
        _unary("acos", torch.acos, unit),
        _unary("atan", torch.atan, X((3, 4), scale=2.0)),
        _unary("sinh", torch.sinh),
        _unary("cosh", torch.cosh),
        _unary("tanh", torch.tanh),
        _unary("asinh", torch.asinh, X((3, 4), scale=2.0)),
        _unary("acosh", torch.acosh, X((3, 4), "uniform", lo=1.2, hi=4.0)),
        _unary("atanh", torch.atanh, unit),
        _unary("erf", torch.erf),
        _unary("erfc", torch.erfc),
        _unary("erf_inv", torch.erfinv, unit),
        _unary("sigmoid", torch.sigmoid, X((3, 4), scale=3.0)),
        _unary("sigmoid", torch.sigmoid, X((6,), "values", values=[-30, -12, 0, 5, 15, 40]),
               name="saturated"),
        _unary("negate", torch.neg),
        _unary("abs", torch.abs, away),
        _unary("square", torch.square),
        _unary("operator-", torch.neg, name="unary"),
    ]


def _binary(op, fn, a=None, b=None, name="basic", attrs=None, tol=1.0, wrt=None):
    if attrs and "scalar" in attrs:
        s = attrs["scalar"]
        side = attrs.get("scalar_side", "b")
        ref = (lambda at, x: fn(torch.tensor(float(s), dtype=x.dtype), x)) if side == "a" else (
            lambda at, x: fn(x, torch.tensor(float(s), dtype=x.dtype)))
        return GradCase(f"{op}.{name}", op, [a or X((3, 4))], ref, attrs=attrs, tol_scale=tol)
    return GradCase(f"{op}.{name}", op, [a or X((3, 4)), b or X((3, 4))],
                    lambda at, x, y: fn(x, y), attrs=attrs or {}, wrt=wrt, tol_scale=tol)


def binary_cases():
    nonzero = X((3, 4), "away", lo=0.5, hi=2.0)
    # a / b stays at least 0.1 away from an integer, so trunc(a / b) and floor(a / b) are
    # locally constant: remainder and mod are smooth there.
    num = X((3, 4), "values", values=[[2.5, -2.5, 0.7, -0.7], [5.3, -5.3, 1.45, -1.45],
                                      [3.6, -0.4, 7.9, 0.2]])
    den = X((3, 4), "values", values=[[1.0, 1.0, -2.0, -2.0], [2.0, 2.0, 0.5, 0.5],
                                      [-1.5, 1.5, 3.0, -0.5]])
    cases = []
    for op, fn in [("add", torch.add), ("subtract", torch.sub), ("multiply", torch.mul)]:
        cases += [
            _binary(op, fn),
            _binary(op, fn, X((2, 3, 4)), X((3, 1)), name="broadcast"),
            _binary(op, fn, X(()), X((2, 3)), name="scalar_tensor"),
            _binary(op, fn, X((3,)), X((3,), dtype="f64"), name="mixed_f64"),
            _binary(op, fn, name="weak_scalar", attrs={"scalar": 2.5}),
            _binary(op, fn, name="weak_scalar_left", attrs={"scalar": 3, "scalar_side": "a"}),
        ]
    cases += [
        _binary("multiply", torch.mul, X((2, 3)), X((2, 3), "uniform", dtype="s32", lo=-3, hi=3),
                name="int_operand"),
        _binary("divide", torch.div, X((3, 4)), nonzero),
        _binary("divide", torch.div, X((2, 1)), X((3,), "away", lo=0.5, hi=2.0),
                name="broadcast"),
        _binary("divide", torch.div, X((2, 3)), name="weak_scalar_left",
                attrs={"scalar": 1.5, "scalar_side": "a"}),
        _binary("remainder", torch.fmod, num, den),
        _binary("mod", torch.remainder, num, den),
        _binary("pow", torch.pow, X((3, 4), "uniform", lo=0.5, hi=2.0), X((3, 4), scale=1.5)),
        _binary("pow", torch.pow, X((2, 3), "away", lo=0.5, hi=2.0),
                X((2, 3), "values", values=[[2, 3, 1], [4, 2, 3]]), name="negative_base", wrt=[0]),
        _binary("pow", torch.pow, X((3, 4), "uniform", lo=0.5, hi=2.0), name="weak_exponent",
                attrs={"scalar": 3}),
        _binary("pow", torch.pow, X((2, 3), "uniform", lo=-1.0, hi=1.0), name="weak_base",
                attrs={"scalar": 2.0, "scalar_side": "a"}),
        _binary("max", torch.maximum, X((3, 4), "distinct"), X((3, 4), "distinct")),
        _binary("max", torch.maximum, X((2, 3), "distinct"), X((3,), "distinct"),
                name="broadcast"),
        _binary("min", torch.minimum, X((3, 4), "distinct"), X((3, 4), "distinct")),
        _binary("min", torch.minimum, X((3, 4), "distinct"), name="weak_scalar",
                attrs={"scalar": 0.01}),
        _binary("atan2", torch.atan2, X((3, 4)), X((3, 4), "away", lo=0.3, hi=2.0)),
        _binary("operator+", torch.add, X((2, 3)), X((3,))),
        _binary("operator-", torch.sub, X((2, 3)), X((2, 1))),
        _binary("operator*", torch.mul, X((2, 3)), X(())),
        _binary("operator/", torch.div, X((2, 3)), X((2, 3), "away", lo=0.5, hi=2.0)),
    ]
    return cases


def _select(at, p, a, b):
    return torch.where(p, a, b)


def _clip(at, x, lo, hi):
    return torch.minimum(torch.maximum(x, lo), hi)


def _as_type(dtype):
    torch_dtype = {"f64": torch.float64, "f32": torch.float32, "f16": torch.float16,
                   "bf16": torch.bfloat16}[dtype]
    return lambda at, x: x.to(torch_dtype)


def other_cases():
    p = [[True, False, True], [False, False, True]]
    return [
        GradCase("select.basic", "select", [mask(p), X((2, 3)), X((2, 3))], _select),
        GradCase("select.broadcast", "select", [mask(p), X((3,)), X(())], _select),
        GradCase("clip.basic", "clip",
                 [X((3, 4), scale=1.5, avoid=[-0.5, 0.8]), X((), "values", values=-0.5),
                  X((), "values", values=0.8)], _clip),
        GradCase("clip.tensor_bounds", "clip",
                 [X((2, 4), "values", values=[[-2.0, -0.3, 0.4, 3.0], [0.0, 1.7, -1.1, 0.9]]),
                  X((4,), "values", values=[-1.0, -0.5, 0.5, 1.0]),
                  X((2, 1), "values", values=[[1.5], [1.0]])], _clip),
        # f32 -> f64 against torch; f64 -> f64 (the identity) for central differences.
        GradCase("as_type.to_f64", "as_type", [X((3, 4))], _as_type("f64"), {"dtype": "f64"}),
        GradCase("as_type.to_f16", "as_type", [X((3, 4))], _as_type("f16"), {"dtype": "f16"},
                 fd=False),
        GradCase("as_type.to_bf16", "as_type", [X((3, 4))], _as_type("bf16"), {"dtype": "bf16"},
                 fd=False),
        GradCase("as_type.from_f64", "as_type", [X((3, 4), dtype="f64")], _as_type("f64"),
                 {"dtype": "f64"}),
    ]


def _zero(op, fn, inputs, attrs=None, name="basic", modes=None):
    return GradCase(f"{op}.{name}", op, inputs, fn, attrs=attrs or {}, zero_grad=True,
                    modes=modes)


def zero_grad_cases():
    # Away from integers and half-integers, so every rounding op is locally constant.
    frac = X((3, 4), "uniform", lo=-3.0, hi=3.0, avoid=[-3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1,
                                                        1.5, 2, 2.5, 3])
    a, b = X((3, 4), "distinct"), X((3, 4), "distinct")
    cases = [
        _zero("sign", lambda at, x: torch.sign(x), [frac]),
        _zero("floor", lambda at, x: torch.floor(x), [frac]),
        _zero("ceil", lambda at, x: torch.ceil(x), [frac]),
        _zero("round", lambda at, x: torch.round(x), [frac]),
        _zero("round_even", lambda at, x: torch.round(x), [frac]),
        _zero("trunc", lambda at, x: torch.trunc(x), [frac]),
        _zero("is_nan", lambda at, x: torch.isnan(x), [X((3, 4))]),
        _zero("is_infinity", lambda at, x: torch.isinf(x), [X((3, 4))]),
        _zero("is_finite", lambda at, x: torch.isfinite(x), [X((3, 4))]),
        _zero("logical_not", lambda at, x: x == 0, [frac]),
        _zero("as_type", lambda at, x: x.to(torch.int32), [frac], {"dtype": "s32"},
              name="to_s32"),
        # bitcast keeps the width: f32 -> s32 in the f32 mode, f64 -> s64 in the f64 one.
        _zero("bitcast", lambda at, x: x.to(torch.int32), [X((3, 4))], {"dtype": "s32"},
              name="to_s32", modes=["f32"]),
        _zero("bitcast", lambda at, x: x.to(torch.int64), [X((3, 4))], {"dtype": "s64"},
              name="to_s64", modes=["f64"]),
    ]
    for op, fn in [("equal", torch.eq), ("not_equal", torch.ne), ("less", torch.lt),
                   ("less_equal", torch.le), ("greater", torch.gt), ("greater_equal", torch.ge),
                   ("logical_and", torch.logical_and), ("logical_or", torch.logical_or),
                   ("logical_xor", torch.logical_xor)]:
        cases.append(_zero(op, lambda at, x, y, fn=fn: fn(x, y), [a, b]))
    return cases


def cases():
    return unary_cases() + binary_cases() + other_cases() + zero_grad_cases()

