#!/usr/bin/python3
"""Reference data of the ONNX math-family converter tests (tests/axon/onnx/ops_math_test.cpp).

Run with /usr/bin/python3 (Debian's python3-onnx and numpy):
    /usr/bin/python3 tests/axon/onnx/data/gen_ops_math.py
It writes ops_math.npz next to itself. Every case is one ONNX node and its numpy expectation,
written with ONNX's published formulas (the reference implementations of onnx's backend node
tests). Cases are written by node_cases.case
(node_cases.py lists the members of a case).
Deterministic: one seeded generator, cases in a fixed order.
"""
import functools
import os

import numpy as np
from onnx import TensorProto

import node_cases  # next to this script

rng = np.random.default_rng(20261121)
out = {}


case = functools.partial(node_cases.case, out)
randn = functools.partial(node_cases.randn, rng)


def uniform(lo, hi, *shape, dtype=np.float32):
    return rng.uniform(lo, hi, shape).astype(dtype)


def ints(lo, hi, *shape, dtype=np.int32):
    return rng.integers(lo, hi, shape).astype(dtype)


# ---- Unary ----------------------------------------------------------------------------------
def erf(x):
    import math
    return np.vectorize(math.erf)(x.astype(np.float64)).astype(x.dtype)


unary = {
    "Abs": (np.abs, randn(3, 4)),
    "Neg": (np.negative, randn(3, 4)),
    "Exp": (np.exp, randn(3, 4)),
    "Log": (np.log, uniform(0.1, 5, 3, 4)),
    "Sqrt": (np.sqrt, uniform(0, 5, 3, 4)),
    "Reciprocal": (np.reciprocal, uniform(0.5, 3, 3, 4) * np.sign(randn(3, 4))),
    "Floor": (np.floor, randn(3, 4) * 3),
    "Ceil": (np.ceil, randn(3, 4) * 3),
    "Round": (np.round, np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, 0.6, -0.6, 3.7, -3.2, 0],
                                 dtype=np.float32)),
    "Sign": (np.sign, np.array([-2.0, 0.0, 3.5, -0.0, 1e-20, -7], dtype=np.float32)),
    "Sin": (np.sin, randn(3, 4)),
    "Cos": (np.cos, randn(3, 4)),
    "Tan": (np.tan, uniform(-1.2, 1.2, 3, 4)),
    "Asin": (np.arcsin, uniform(-0.99, 0.99, 3, 4)),
    "Acos": (np.arccos, uniform(-0.99, 0.99, 3, 4)),
    "Atan": (np.arctan, randn(3, 4) * 3),
    "Sinh": (np.sinh, randn(3, 4)),
    "Cosh": (np.cosh, randn(3, 4)),
    "Asinh": (np.arcsinh, randn(3, 4) * 3),
    "Acosh": (np.arccosh, uniform(1, 5, 3, 4)),
    "Atanh": (np.arctanh, uniform(-0.99, 0.99, 3, 4)),
    "Erf": (erf, randn(3, 4) * 2),
}
for op, (f, x) in unary.items():
    case(f"{op}_f32", op, [x], [f(x)])
    if op not in ("Round", "Sign"):
        x64 = x.astype(np.float64)
        case(f"{op}_f64", op, [x64], [f(x64)], opset=13)
for op in ("Abs", "Neg", "Sign"):
    x = ints(-9, 9, 2, 5, dtype=np.int64)
    case(f"{op}_s64", op, [x], [unary[op][0](x)])
x16 = randn(2, 3).astype(np.float16)
case("Exp_f16", "Exp", [x16], [np.exp(x16.astype(np.float32)).astype(np.float16)])
case("Abs_s8", "Abs", [ints(-100, 100, 7, dtype=np.int8)], [None])
out["Abs_s8.out0"] = np.abs(out["Abs_s8.in0"])
b = rng.random((3, 4)) > 0.5
case("Not", "Not", [b], [np.logical_not(b)])
special = np.array([np.nan, np.inf, -np.inf, 0.0, -1.5, 3.0], dtype=np.float32)
case("IsNaN", "IsNaN", [special], [np.isnan(special)])
case("IsInf", "IsInf", [special], [np.isinf(special)])
case("IsInf_negative", "IsInf", [special], [np.isneginf(special)], detect_positive=0)
case("IsInf_positive", "IsInf", [special], [np.isposinf(special)], detect_negative=0)
case("IsInf_none", "IsInf", [special], [np.zeros(6, dtype=bool)], detect_positive=0,
     detect_negative=0)
# Draws of the removed opset-18 BitwiseNot cases, kept so that later cases keep their data.
ints(0, 255, 2, 3, dtype=np.uint8)
ints(-100, 100, 2, 3, dtype=np.int32)


# ---- Binary arithmetic ------------------------------------------------------------------------
def c_div(a, b):
    return (np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))).astype(a.dtype)


a, bb = randn(2, 3, 4), randn(4)
case("Add_bcast", "Add", [a, bb], [a + bb])
case("Sub_bcast", "Sub", [randn(3, 1), randn(1, 4)], [None])
out["Sub_bcast.out0"] = out["Sub_bcast.in0"] - out["Sub_bcast.in1"]
case("Mul_scalar", "Mul", [a, np.array(2.5, dtype=np.float32)], [a * np.float32(2.5)])
den = uniform(0.5, 2, 2, 3, 4) * np.sign(randn(2, 3, 4))
case("Div_f32", "Div", [a, den], [a / den])
a64, b64 = randn(3, 4, dtype=np.float64), randn(4, dtype=np.float64)
case("Add_f64", "Add", [a64, b64], [a64 + b64], opset=7)
ia, ib = ints(-20, 20, 3, 4), ints(1, 7, 3, 4) * np.where(rng.random((3, 4)) > 0.5, 1, -1).astype(
    np.int32)
case("Add_s32", "Add", [ia, ib], [ia + ib])
case("Mul_s64", "Mul", [ia.astype(np.int64), ib.astype(np.int64)], [(ia * ib).astype(np.int64)])
case("Div_s32_trunc", "Div", [ia, ib], [c_div(ia, ib)])
ua, ub = ints(0, 200, 5, dtype=np.uint8), ints(1, 9, 5, dtype=np.uint8)
case("Div_u8", "Div", [ua, ub], [ua // ub])
case("Sub_u8_wraps", "Sub", [np.array([1, 5], np.uint8), np.array([3, 2], np.uint8)],
     [np.array([254, 3], np.uint8)])
case("Mod_s32", "Mod", [ia, ib], [np.mod(ia, ib)])
case("Mod_s32_fmod", "Mod", [ia, ib], [np.fmod(ia, ib)], fmod=1)
fa, fb = randn(3, 4) * 5, uniform(0.5, 3, 4) * np.sign(randn(4))
case("Mod_f32_fmod", "Mod", [fa, fb], [np.fmod(fa, fb)], fmod=1)
case("Mod_s64_bcast", "Mod", [ia.astype(np.int64), np.array([3, -4, 5, -6], np.int64)],
     [np.mod(ia.astype(np.int64), np.array([3, -4, 5, -6], np.int64))])
base, ex = uniform(0.5, 2, 3, 4), randn(3, 4)
case("Pow_f32", "Pow", [base, ex], [np.power(base, ex)])
case("Pow_bcast", "Pow", [base, np.array([2.0, 3.0, 0.5, -1.0], np.float32)],
     [np.power(base, np.array([2.0, 3.0, 0.5, -1.0], np.float32))])
e_int = np.array([0, 1, 2, 3], np.int64)
case("Pow_f32_s64", "Pow", [base, e_int], [np.power(base, e_int).astype(np.float32)])
bi = np.array([1, 2, 3, -2], np.int32)
ef = np.array([4.0, 5.0, 6.0, 3.0], np.float32)
case("Pow_s32_f32", "Pow", [bi, ef], [np.power(bi, ef).astype(np.int32)])
bi64 = np.array([2, 3, -4, 7], np.int64)
case("Pow_s64_s64", "Pow", [bi64, np.array([10, 3, 3, 2], np.int64)],
     [np.power(bi64, np.array([10, 3, 3, 2], np.int64))])
b16 = uniform(0.5, 2, 5).astype(np.float16)
e32 = uniform(-2, 2, 5)
case("Pow_f16_f32", "Pow", [b16, e32], [np.power(b16, e32).astype(np.float16)])
e_u64 = np.array([0, 1, 2, 3, 4], np.uint64)
case("Pow_f64_u64", "Pow", [b16.astype(np.float64), e_u64],
     [np.power(b16.astype(np.float64), e_u64.astype(np.float64))])
case("Pow_opset7", "Pow", [base, ex], [np.power(base, ex)], opset=7)


# ---- Variadic ---------------------------------------------------------------------------------
x1, x2, x3 = randn(3, 4), randn(4), randn(3, 1)
case("Sum_1", "Sum", [x1], [x1])
case("Sum_3", "Sum", [x1, x2, x3], [x1 + x2 + x3])
case("Mean_3", "Mean", [x1, x2, x3], [(x1 + x2 + x3) / 3])
case("Max_3", "Max", [x1, x2, x3], [np.maximum(np.maximum(x1, x2), x3)])
case("Min_2", "Min", [x1, x3], [np.minimum(x1, x3)], opset=8)
mi1, mi2 = ints(-9, 9, 2, 3, dtype=np.int64), ints(-9, 9, 3, dtype=np.int64)
case("Max_s64", "Max", [mi1, mi2], [np.maximum(mi1, mi2)], opset=13)
case("Min_s64", "Min", [mi1, mi2], [np.minimum(mi1, mi2)], opset=13)
nan_in = np.array([1.0, np.nan, 3.0], np.float32)
case("Max_nan", "Max", [nan_in, np.array([2.0, 2.0, np.nan], np.float32)],
     [np.array([2.0, np.nan, np.nan], np.float32)])


# ---- Logic, comparison, bits --------------------------------------------------------------------
p, q = rng.random((3, 4)) > 0.5, rng.random((4,)) > 0.5
case("And", "And", [p, q], [np.logical_and(p, q)])
case("Or", "Or", [p, q], [np.logical_or(p, q)])
case("Xor", "Xor", [p, q], [np.logical_xor(p, q)])
ca, cb = np.round(randn(3, 4)), np.round(randn(4))
for op, f in [("Equal", np.equal), ("Less", np.less), ("LessOrEqual", np.less_equal),
              ("Greater", np.greater), ("GreaterOrEqual", np.greater_equal)]:
    case(f"{op}_f32", op, [ca, cb], [f(ca, cb)])
    case(f"{op}_s32", op, [ca.astype(np.int32), cb.astype(np.int32)],
         [f(ca.astype(np.int32), cb.astype(np.int32))])
case("Equal_bool", "Equal", [p, q], [np.equal(p, q)], opset=13)
sx = np.array([16, 4, 1, 255], np.uint8)
sy = np.array([1, 2, 3, 1], np.uint8)
case("BitShift_left_u8", "BitShift", [sx, sy], [np.left_shift(sx, sy).astype(np.uint8)],
     direction="LEFT")
case("BitShift_right_u32", "BitShift", [sx.astype(np.uint32), sy.astype(np.uint32)],
     [np.right_shift(sx.astype(np.uint32), sy.astype(np.uint32))], direction="RIGHT")
case("BitShift_left_u64", "BitShift", [sx.astype(np.uint64), sy.astype(np.uint64)],
     [np.left_shift(sx.astype(np.uint64), sy.astype(np.uint64))], direction="LEFT")
# Draws of the removed opset-18 BitwiseAnd/Or/Xor cases, kept so that later cases keep their data.
ints(-50, 50, 3, 4), ints(-50, 50, 4)


# ---- Where, Clip ------------------------------------------------------------------------------
cond = rng.random((3, 1)) > 0.5
wx, wy = randn(1, 4), randn(3, 4)
case("Where_bcast", "Where", [cond, wx, wy], [np.where(cond, wx, wy)])
case("Where_s64", "Where", [p, ia.astype(np.int64), np.array(-1, np.int64)],
     [np.where(p, ia.astype(np.int64), -1)])
cx = randn(3, 4) * 3
case("Clip_opset6", "Clip", [cx], [np.clip(cx, -1.0, 2.0)], opset=6, min=-1.0, max=2.0)
case("Clip_opset6_min", "Clip", [cx], [np.maximum(cx, -0.5)], opset=6, min=-0.5)
case("Clip_opset6_default", "Clip", [cx], [cx], opset=6)
lo, hi = np.array(-1.0, np.float32), np.array(1.5, np.float32)
case("Clip_both", "Clip", [cx, lo, hi], [np.clip(cx, lo, hi)], const=(1, 2))
case("Clip_min", "Clip", [cx, lo], [np.maximum(cx, lo)], const=(1,), opset=11)
case("Clip_max", "Clip", [cx, None, hi], [np.minimum(cx, hi)], const=(2,), opset=12)
case("Clip_none", "Clip", [cx], [cx])
case("Clip_inverted", "Clip", [cx, hi, lo], [np.full_like(cx, lo)], const=(1, 2))
case("Clip_s32", "Clip", [ia, np.array(-5, np.int32), np.array(5, np.int32)],
     [np.clip(ia, -5, 5)], const=(1, 2), opset=12)
case("Clip_nan", "Clip", [np.array([np.nan, -3, 3], np.float32), lo, hi],
     [np.array([np.nan, -1, 1.5], np.float32)], const=(1, 2))


# ---- Cast -----------------------------------------------------------------------------------
cf = np.array([-2.7, -0.5, 0.0, 0.5, 1.9, 3.5, 100.25], np.float32)
T = TensorProto
case("Cast_f32_s32", "Cast", [cf], [cf.astype(np.int32)], to=T.INT32)
case("Cast_f32_s64", "Cast", [cf], [cf.astype(np.int64)], to=T.INT64, opset=9)
case("Cast_f32_u8", "Cast", [np.abs(cf)], [np.abs(cf).astype(np.uint8)], to=T.UINT8)
case("Cast_f32_bool", "Cast", [cf], [cf.astype(bool)], to=T.BOOL)
case("Cast_bool_f32", "Cast", [p], [p.astype(np.float32)], to=T.FLOAT)
case("Cast_s64_f16", "Cast", [ia.astype(np.int64)], [ia.astype(np.float16)], to=T.FLOAT16)
case("Cast_f32_f64", "Cast", [cf], [cf.astype(np.float64)], to=T.DOUBLE, opset=7)
case("Cast_f64_f32", "Cast", [a64], [a64.astype(np.float32)], to=T.FLOAT)
case("Cast_f32_f16", "Cast", [randn(2, 3)], [None], to=T.FLOAT16)
out["Cast_f32_f16.out0"] = out["Cast_f32_f16.in0"].astype(np.float16)
case("Cast_s32_u16", "Cast", [np.abs(ia)], [np.abs(ia).astype(np.uint16)], to=T.UINT16)
case("Cast_u8_s8", "Cast", [np.array([1, 100, 127], np.uint8)], [np.array([1, 100, 127], np.int8)],
     to=T.INT8)
case("CastLike_f32_s64", "CastLike", [cf, np.array([0], np.int64)], [cf.astype(np.int64)],
     opset=15)
case("CastLike_s32_f64", "CastLike", [ia, np.array(0.0)], [ia.astype(np.float64)], opset=15)


# ---- Activations (ONNX's formulas) ----------------------------------------------------------------
ax = np.concatenate([randn(3, 4) * 3, np.array([[0.0, -20.0, 30.0, 1.0]], np.float32)])


def sigmoid(x):
    return (1 / (1 + np.exp(-x.astype(np.float64)))).astype(x.dtype)


def act(name, op, f, x=ax, **attrs):
    case(name, op, [x], [f(x).astype(x.dtype)], **attrs)


act("Relu", "Relu", lambda x: np.maximum(x, 0))
case("Relu_s32", "Relu", [ia], [np.maximum(ia, 0)], opset=14)
act("LeakyRelu", "LeakyRelu", lambda x: np.where(x < 0, 0.01 * x, x))
act("LeakyRelu_alpha", "LeakyRelu", lambda x: np.where(x < 0, np.float32(0.3) * x, x), alpha=0.3)
act("Elu", "Elu", lambda x: np.where(x < 0, np.exp(x) - 1, x))
act("Elu_alpha", "Elu", lambda x: np.where(x < 0, 2.0 * (np.exp(x) - 1), x), alpha=2.0)
sa, sg = np.float32(1.67326319217681884765625), np.float32(1.05070102214813232421875)
act("Selu", "Selu", lambda x: np.where(x > 0, sg * x, sg * sa * (np.exp(x) - 1)))
act("Selu_attrs", "Selu", lambda x: np.where(x > 0, 3.0 * x, 3.0 * 2.0 * (np.exp(x) - 1)),
    alpha=2.0, gamma=3.0)
act("Celu", "Celu", lambda x: np.maximum(0, x) + np.minimum(0, np.exp(x) - 1))
act("Celu_alpha", "Celu", lambda x: np.maximum(0, x) + np.minimum(0, 2.0 * (np.exp(x / 2.0) - 1)),
    alpha=2.0)
act("Sigmoid", "Sigmoid", sigmoid)
act("HardSigmoid", "HardSigmoid", lambda x: np.clip(np.float32(0.2) * x + 0.5, 0, 1))
act("HardSigmoid_attrs", "HardSigmoid", lambda x: np.clip(np.float32(0.5) * x + 0.6, 0, 1),
    alpha=0.5, beta=0.6)
act("HardSwish", "HardSwish", lambda x: x * np.clip(x / 6 + 0.5, 0, 1))
act("Tanh", "Tanh", np.tanh)
act("Softplus", "Softplus", lambda x: np.log(np.exp(x.astype(np.float64)) + 1))
act("Softsign", "Softsign", lambda x: x / (1 + np.abs(x)))
act("ThresholdedRelu", "ThresholdedRelu", lambda x: np.where(x > 1.0, x, 0))
act("ThresholdedRelu_alpha", "ThresholdedRelu", lambda x: np.where(x > 2.0, x, 0), alpha=2.0)
act("Shrink", "Shrink", lambda x: np.where(x < -0.5, x, np.where(x > 0.5, x, 0)))
act("Shrink_attrs", "Shrink",
    lambda x: np.where(x < -1.5, x + 1.5, np.where(x > 1.5, x - 1.5, 0)), lambd=1.5, bias=1.5)
a64x = ax.astype(np.float64)
a16x = (ax / 4).astype(np.float16)
act("HardSwish_f16", "HardSwish", lambda x: (x.astype(np.float32) * np.clip(
    x.astype(np.float32) / 6 + 0.5, 0, 1)), x=a16x)
act("LeakyRelu_f16", "LeakyRelu", lambda x: np.where(x < 0, np.float16(0.01) * x, x), x=a16x)
act("Elu_f64", "Elu", lambda x: np.where(x < 0, np.exp(x) - 1, x), x=a64x)
act("Sigmoid_f64", "Sigmoid", sigmoid, x=a64x)
px = randn(2, 3, 4)
for name, slope in [("PRelu_channel", randn(3, 1)), ("PRelu_last", randn(4)),
                    ("PRelu_scalar", np.array([0.25], np.float32)), ("PRelu_full", randn(2, 3, 4))]:
    case(name, "PRelu", [px, slope], [np.where(px < 0, slope * px, px)])


# ---- Reductions -------------------------------------------------------------------------------
rx = uniform(0.2, 2, 2, 3, 4) * np.where(rng.random((2, 3, 4)) > 0.3, 1, -1).astype(np.float32)
rpos = np.abs(rx)
reducers = {
    "ReduceSum": (lambda x, ax, k: np.sum(x, axis=ax, keepdims=k), rx),
    "ReduceMean": (lambda x, ax, k: np.mean(x, axis=ax, keepdims=k), rx),
    "ReduceMax": (lambda x, ax, k: np.max(x, axis=ax, keepdims=k), rx),
    "ReduceMin": (lambda x, ax, k: np.min(x, axis=ax, keepdims=k), rx),
    "ReduceProd": (lambda x, ax, k: np.prod(x, axis=ax, keepdims=k), rx),
    "ReduceL1": (lambda x, ax, k: np.sum(np.abs(x), axis=ax, keepdims=k), rx),
    "ReduceL2": (lambda x, ax, k: np.sqrt(np.sum(np.square(x), axis=ax, keepdims=k)), rx),
    "ReduceLogSum": (lambda x, ax, k: np.log(np.sum(x, axis=ax, keepdims=k)), rpos),
    "ReduceLogSumExp": (lambda x, ax, k: np.log(np.sum(np.exp(x), axis=ax, keepdims=k)), rx),
    "ReduceSumSquare": (lambda x, ax, k: np.sum(np.square(x), axis=ax, keepdims=k), rx),
}
for op, (f, x) in reducers.items():
    for tag, axes, keep in [("all", None, 1), ("all_nokeep", None, 0), ("axis1", [1], 1),
                            ("axes02_nokeep", [0, 2], 0), ("neg", [-1], 1)]:
        ax_tuple = None if axes is None else tuple(axes)
        y = f(x, ax_tuple, keep == 1).astype(x.dtype)
        if op == "ReduceSum":
            # Opset 13+: axes is an input; opset 11: an attribute.
            inputs = [x] if axes is None else [x, np.array(axes, np.int64)]
            case(f"{op}_{tag}", op, inputs, [y], const=(1,) if axes else (), keepdims=keep)
            if axes is not None:
                case(f"{op}_{tag}_opset11", op, [x], [y], opset=11, axes=axes, keepdims=keep)
        elif axes is None:
            case(f"{op}_{tag}", op, [x], [y], keepdims=keep)
        else:
            case(f"{op}_{tag}", op, [x], [y], axes=axes, keepdims=keep)
    # Opset 18 gives every reduction the axes input.
    case(f"{op}_axes_input", op, [x, np.array([0, -1], np.int64)],
         [f(x, (0, 2), True).astype(x.dtype)], opset=18, const=(1,))
case("ReduceSum_noop", "ReduceSum", [rx, np.array([], np.int64)], [rx], const=(1,),
     noop_with_empty_axes=1)
case("ReduceSum_empty_axes", "ReduceSum", [rx, np.array([], np.int64)], [np.sum(rx, keepdims=True)],
     const=(1,))
ri = ints(-9, 9, 3, 4)
case("ReduceSum_s32", "ReduceSum", [ri, np.array([1], np.int64)], [np.sum(ri, axis=1,
     keepdims=True).astype(np.int32)], const=(1,))
case("ReduceMean_s32", "ReduceMean", [ri], [np.trunc(np.mean(ri, axis=0)).astype(np.int32)],
     axes=[0], keepdims=0)
case("ReduceMax_s64", "ReduceMax", [ri.astype(np.int64)], [np.max(ri, axis=1).astype(np.int64)],
     axes=[1], keepdims=0)
case("ReduceProd_s64", "ReduceProd", [ri.astype(np.int64)], [np.prod(ri.astype(np.int64), axis=1)],
     axes=[1], keepdims=0, opset=11)
case("ReduceMean_f64", "ReduceMean", [a64], [np.mean(a64, axis=1, keepdims=True)], axes=[1])

ties = np.array([[1, 5, 5, 2], [7, 7, 0, 7], [3, 1, 1, 3]], np.float32)
for op, f in [("ArgMax", np.argmax), ("ArgMin", np.argmin)]:
    case(f"{op}_default", op, [ties], [np.expand_dims(f(ties, axis=0), 0).astype(np.int64)])
    case(f"{op}_axis1_nokeep", op, [ties], [f(ties, axis=1).astype(np.int64)], axis=1,
         keepdims=0)
    case(f"{op}_neg_axis", op, [ties], [np.expand_dims(f(ties, axis=-1), -1).astype(np.int64)],
         axis=-1)
    last = (ties.shape[1] - 1 - f(ties[:, ::-1], axis=1)).astype(np.int64)
    case(f"{op}_last_index", op, [ties], [last], axis=1, keepdims=0, select_last_index=1,
         opset=12)
    case(f"{op}_s32", op, [ties.astype(np.int32)], [np.expand_dims(f(ties, axis=1), 1).astype(
        np.int64)], axis=1, opset=11)


def cumsum(x, axis, exclusive=False, reverse=False):
    y = np.flip(x, axis) if reverse else x
    s = np.cumsum(y, axis=axis, dtype=x.dtype)
    if exclusive:
        s = s - y
    return np.flip(s, axis) if reverse else s


cs = ints(-5, 9, 3, 4).astype(np.float32)
for tag, axis, exc, rev in [("axis0", 0, 0, 0), ("axis1", 1, 0, 0), ("neg", -1, 0, 0),
                            ("exclusive", 1, 1, 0), ("reverse", 0, 0, 1),
                            ("exclusive_reverse", 1, 1, 1)]:
    case(f"CumSum_{tag}", "CumSum", [cs, np.array(axis, np.int32)],
         [cumsum(cs, axis % 2, exc, rev)], const=(1,), exclusive=exc, reverse=rev)
csi = cs.astype(np.int64)
case("CumSum_s64", "CumSum", [csi, np.array([1], np.int64)], [cumsum(csi, 1)], const=(1,),
     opset=11)
case("CumSum_s32_exclusive", "CumSum", [csi.astype(np.int32), np.array(0, np.int64)],
     [cumsum(csi.astype(np.int32), 0, True)], const=(1,), exclusive=1)

# ---- Det ------------------------------------------------------------------------------------------
d2 = randn(4, 4)
case("Det_2d", "Det", [d2], [np.linalg.det(d2.astype(np.float64)).astype(np.float32)], opset=11)
dn = randn(2, 3, 3, 3, dtype=np.float64)
case("Det_nd_f64", "Det", [dn], [np.linalg.det(dn)])
# A zero leading entry forces a row swap; a rank-deficient matrix has determinant 0.
dp = np.array([[[0, 2, 1], [3, 1, 0], [1, 1, 1]], [[1, 2, 3], [2, 4, 6], [0, 1, 5]]], np.float32)
case("Det_pivot_singular", "Det", [dp], [np.linalg.det(dp.astype(np.float64)).astype(np.float32)])
d1 = randn(5, 1, 1)
case("Det_1x1", "Det", [d1], [d1[:, 0, 0]])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_math.npz")
np.savez_compressed(path, **out)
print(f"wrote {path}: {sum(1 for k in out if k.endswith('.node'))} cases")
