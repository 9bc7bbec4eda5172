#!/usr/bin/python3
"""Reference data of the ONNX quantization converter tests (tests/axon/onnx/ops_quant_test.cpp).

Run with /usr/bin/python3 (Debian's python3-onnx, python3-torch and numpy):
    /usr/bin/python3 tests/axon/onnx/data/gen_ops_quant.py
It writes ops_quant.npz next to itself. Every case is one ONNX node and its expectation from
the ONNX formulas in NumPy: quantization rounds half to even (numpy.rint) and saturates;
integer products accumulate in int32 (numpy int32 matmul; convolutions via torch in float64,
exact for these integer values); requantization multiplies in float32 by
(scale_a * scale_b) / scale_y. Cases are written by node_cases.case
(node_cases.py lists the members of a case).
Deterministic: one seeded generator, cases in a fixed order.
"""
import functools
import os

import numpy as np
import torch
import torch.nn.functional as F

import node_cases  # next to this script

rng = np.random.default_rng(20261121)
out = {}


case = functools.partial(node_cases.case, out)
randn = functools.partial(node_cases.randn, rng)


def q8(dtype, *shape):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def saturate(v, dtype):
    info = np.iinfo(dtype)
    return np.clip(v, info.min, info.max).astype(dtype)


def along(p, axis, rank):
    shape = [1] * rank
    shape[axis] = -1
    return p.reshape(shape)


# ---- QuantizeLinear / DequantizeLinear -----------------------------------------------------------

def quantize(x, scale, zp, dtype):
    return saturate(np.rint(x.astype(np.float32) / scale) + zp.astype(np.float32), dtype)


# Ties (x / scale = k + 0.5) round to even; saturation at both ends.
ties = np.array([-5, -3, -1, 1, 3, 5, 7, 600, -600, 0.2], dtype=np.float32)
s2 = np.float32(2)
for opset in (10, 13):
    case(f"quantize_u8_ties_opset{opset}", "QuantizeLinear", [ties, s2, np.uint8(100)],
         [quantize(ties, s2, np.uint8(100), np.uint8)], opset=opset)
    case(f"quantize_s8_opset{opset}", "QuantizeLinear", [ties, s2, np.int8(-3)],
         [quantize(ties, s2, np.int8(-3), np.int8)], opset=opset)
x = randn(2, 3, 4) * 20
case("quantize_default_zero_point", "QuantizeLinear", [x, np.float32(0.25)],
     [quantize(x, np.float32(0.25), np.uint8(0), np.uint8)])
xi = rng.integers(-1000, 1000, (3, 5)).astype(np.int32)
case("quantize_int32_x", "QuantizeLinear", [xi, np.float32(8), np.int8(1)],
     [quantize(xi, np.float32(8), np.int8(1), np.int8)], opset=10)
sc = np.array([0.5, 0.25, 2.0], dtype=np.float32)
zp = np.array([10, 128, 250], dtype=np.uint8)
case("quantize_per_axis1", "QuantizeLinear", [x, sc, zp],
     [quantize(x, along(sc, 1, 3), along(zp, 1, 3), np.uint8)])
sc4 = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
zp4 = np.array([-5, 0, 5, 100], dtype=np.int8)
case("quantize_per_axis_last", "QuantizeLinear", [x, sc4, zp4],
     [quantize(x, along(sc4, 2, 3), along(zp4, 2, 3), np.int8)], axis=-1)
case("quantize_scale_shape1", "QuantizeLinear",
     [x, np.array([0.5], np.float32), np.array([7], np.uint8)],
     [quantize(x, np.float32(0.5), np.uint8(7), np.uint8)])


def dequantize(x, scale, zp):
    shifted = (x.astype(np.int32) - zp.astype(np.int32)).astype(np.float32)
    return (shifted * scale).astype(np.float32)


xu = q8(np.uint8, 2, 3, 4)
xs = q8(np.int8, 2, 3, 4)
for opset in (10, 13):
    case(f"dequantize_u8_opset{opset}", "DequantizeLinear", [xu, np.float32(0.5), np.uint8(128)],
         [dequantize(xu, np.float32(0.5), np.uint8(128))], opset=opset)
case("dequantize_s8", "DequantizeLinear", [xs, np.float32(0.1), np.int8(-7)],
     [dequantize(xs, np.float32(0.1), np.int8(-7))])
case("dequantize_no_zero_point", "DequantizeLinear", [xs, np.float32(3)],
     [dequantize(xs, np.float32(3), np.int8(0))])
x32 = rng.integers(-100000, 100000, (4, 3)).astype(np.int32)
case("dequantize_int32", "DequantizeLinear", [x32, np.float32(0.01)],
     [dequantize(x32, np.float32(0.01), np.int32(0))], opset=10)
case("dequantize_per_axis1", "DequantizeLinear", [xu, sc, zp],
     [dequantize(xu, along(sc, 1, 3), along(zp, 1, 3))])
zs = np.array([1, -2], dtype=np.int8)
case("dequantize_per_axis0", "DequantizeLinear", [xs, np.array([0.5, 4], np.float32), zs],
     [dequantize(xs, along(np.array([0.5, 4], np.float32), 0, 3), along(zs, 0, 3))], axis=0)


# ---- DynamicQuantizeLinear: the ONNX function body ----------------------------------------------

def dynamic_quantize(x):
    x_min = np.minimum(np.float32(0), x.min())
    x_max = np.maximum(np.float32(0), x.max())
    scale = np.float32((x_max - x_min) / np.float32(255))
    zp = saturate(np.rint(np.float32(0) - x_min / scale), np.uint8)
    y = saturate(np.rint(x / scale) + zp.astype(np.float32), np.uint8)
    return [y, scale, zp]


for name, x in (("mixed", randn(3, 4) * 3), ("positive", np.abs(randn(10)) + 0.5),
                ("negative", -np.abs(randn(2, 2, 3)) - 1)):
    case(f"dynamic_quantize_{name}", "DynamicQuantizeLinear", [x], dynamic_quantize(x), opset=11)


# ---- MatMulInteger / QLinearMatMul ---------------------------------------------------------------

def shift(v, zp):
    return v.astype(np.int32) - np.asarray(zp).astype(np.int32)


a, b = q8(np.uint8, 4, 6), q8(np.uint8, 6, 5)
case("matmulinteger_u8_scalar_zp", "MatMulInteger", [a, b, np.uint8(12), np.uint8(200)],
     [np.matmul(shift(a, 12), shift(b, 200))], opset=10)
case("matmulinteger_no_zp", "MatMulInteger", [a, b], [np.matmul(shift(a, 0), shift(b, 0))])
sa, sb = q8(np.int8, 2, 3, 4, 7), q8(np.int8, 7, 5)
zpa, zpb = q8(np.int8, 4), q8(np.int8, 5)
case("matmulinteger_s8_row_col_zp", "MatMulInteger", [sa, sb, zpa, zpb],
     [np.matmul(shift(sa, zpa[:, None]), shift(sb, zpb))])
bs = q8(np.int8, 6, 3)
case("matmulinteger_mixed_u8_s8", "MatMulInteger", [a, bs, np.uint8(3)],
     [np.matmul(shift(a, 3), shift(bs, 0))])
big_a, big_b = q8(np.uint8, 3, 4096), q8(np.uint8, 4096, 2)
case("matmulinteger_long_k", "MatMulInteger", [big_a, big_b, np.uint8(0), np.uint8(255)],
     [np.matmul(shift(big_a, 0), shift(big_b, 255))])


def requantize(acc, multiplier, y_zp):
    return saturate(np.rint(acc.astype(np.float32) * multiplier) + np.float32(y_zp), y_zp.dtype)


def qlinear_matmul(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp):
    acc = np.matmul(shift(a, a_zp if np.ndim(a_zp) == 0 else np.asarray(a_zp)[:, None]),
                    shift(b, b_zp))
    a_s2 = a_s if np.ndim(a_s) == 0 else np.asarray(a_s)[:, None]
    return requantize(acc, (a_s2 * b_s) / y_s, y_zp)


qa, qb = q8(np.uint8, 3, 8), q8(np.uint8, 8, 4)
args = [qa, np.float32(0.02), np.uint8(120), qb, np.float32(0.015), np.uint8(130),
        np.float32(0.05), np.uint8(128)]
case("qlinearmatmul_u8", "QLinearMatMul", args, [qlinear_matmul(*args)], opset=10)
qa3, qb3 = q8(np.int8, 2, 3, 8), q8(np.int8, 2, 8, 4)
args = [qa3, np.float32(0.03), np.int8(-2), qb3, np.float32(0.01), np.int8(4),
        np.float32(0.08), np.int8(-10)]
case("qlinearmatmul_s8_batched", "QLinearMatMul", args, [qlinear_matmul(*args)])
args = [qa, np.array([0.02, 0.03, 0.01], np.float32), np.array([120, 100, 140], np.uint8), qb,
        np.array([0.015, 0.01, 0.02, 0.005], np.float32), np.array([130, 0, 255, 128], np.uint8),
        np.float32(0.02), np.int8(0)]
case("qlinearmatmul_per_row_col_s8_out", "QLinearMatMul", args, [qlinear_matmul(*args)])


# ---- ConvInteger / QLinearConv -------------------------------------------------------------------

def conv_int(x, x_zp, w, w_zp, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1):
    xs = torch.from_numpy(shift(x, x_zp).astype(np.float64))
    wz = np.asarray(w_zp)
    ws = torch.from_numpy(shift(w, wz.reshape(-1, 1, 1, 1) if wz.ndim else wz).astype(np.float64))
    xs = F.pad(xs, (pads[1], pads[3], pads[0], pads[2]))
    y = F.conv2d(xs, ws, stride=strides, dilation=dilations, groups=group).numpy()
    return np.rint(y).astype(np.int32)


cx, cw = q8(np.uint8, 2, 4, 7, 6), q8(np.uint8, 6, 2, 3, 3)
case("convinteger_u8_pads_strides_group", "ConvInteger", [cx, cw, np.uint8(128), np.uint8(100)],
     [conv_int(cx, 128, cw, 100, (2, 1), (1, 0, 2, 1), (1, 1), 2)], opset=10, strides=[2, 1],
     pads=[1, 0, 2, 1], group=2)
csw = q8(np.int8, 3, 4, 2, 2)
czp = np.array([1, -1, 5], dtype=np.int8)
case("convinteger_s8_weight_per_channel_zp", "ConvInteger", [cx, csw, np.uint8(7), czp],
     [conv_int(cx, 7, csw, czp, dilations=(2, 1))], dilations=[2, 1])
case("convinteger_auto_pad_same", "ConvInteger", [cx, csw],
     [conv_int(cx, 0, csw, 0, pads=(0, 0, 1, 1))], auto_pad="SAME_UPPER")
deep_x, deep_w = q8(np.uint8, 1, 64, 5, 5), q8(np.uint8, 2, 64, 5, 5)
case("convinteger_deep_sum", "ConvInteger", [deep_x, deep_w, np.uint8(0), np.uint8(255)],
     [conv_int(deep_x, 0, deep_w, 255)])


def qlinear_conv(x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp, bias=None, **geometry):
    acc = conv_int(x, x_zp, w, w_zp, **geometry).astype(np.float64)
    if bias is not None:
        acc = acc + bias.reshape(1, -1, 1, 1)
    ws = np.asarray(w_s)
    multiplier = (x_s * (ws.reshape(1, -1, 1, 1) if ws.ndim else ws)) / y_s
    return requantize(acc, multiplier.astype(np.float32), y_zp)


args = [cx, np.float32(0.02), np.uint8(128), cw, np.float32(0.01), np.uint8(100),
        np.float32(0.3), np.uint8(120)]
case("qlinearconv_u8", "QLinearConv", args,
     [qlinear_conv(*args, strides=(2, 1), pads=(1, 0, 2, 1), group=2)], opset=10,
     strides=[2, 1], pads=[1, 0, 2, 1], group=2)
bias = rng.integers(-2000, 2000, 3).astype(np.int32)
args = [cx, np.float32(0.05), np.uint8(3), csw, np.array([0.01, 0.02, 0.005], np.float32), czp,
        np.float32(0.4), np.int8(-5), bias]
case("qlinearconv_s8_per_channel_bias", "QLinearConv", args,
     [qlinear_conv(*args[:8], bias=bias, pads=(1, 1, 1, 1))], pads=[1, 1, 1, 1])

np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_quant.npz"),
                    **out)
print(len([k for k in out if k.endswith(".node")]), "cases")
