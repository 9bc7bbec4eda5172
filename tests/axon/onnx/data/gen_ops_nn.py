#!/usr/bin/python3
"""Reference data of the ONNX nn-family converter tests (tests/axon/onnx/ops_nn_test.cpp).

Run with /usr/bin/python3 (Debian's python3-onnx, python3-torch and numpy):
    /usr/bin/python3 tests/axon/onnx/data/gen_ops_nn.py
It writes ops_nn.npz next to itself. Every case is one ONNX node and its expectation, from
PyTorch where it has the op (conv, conv_transpose, pools, norms, losses) and otherwise from a
NumPy transcription of the ONNX spec's formula (MaxPool indices, asymmetric pads, ceil_mode,
LRN, MVN, Hardmax, the opset < 13 softmax coercion). Cases are written by node_cases.case
(node_cases.py lists the members of a case).
Deterministic: one seeded generator, cases in a fixed order.
"""
import functools
import itertools
import os

import numpy as np
import torch
import torch.nn.functional as F

import node_cases  # next to this script

rng = np.random.default_rng(20261121)
out = {}
T = torch.from_numpy


case = functools.partial(node_cases.case, out)
randn = functools.partial(node_cases.randn, rng)


def same_pads(in_sizes, k, s, d, upper):
    lo, hi = [], []
    for i, n in enumerate(in_sizes):
        o = -(-n // s[i])
        total = max((o - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0)
        small = total // 2
        lo.append(small if upper else total - small)
        hi.append(total - lo[-1])
    return lo, hi


def torch_pad_arg(lo, hi):
    arg = []
    for a, b in zip(reversed(lo), reversed(hi)):
        arg += [a, b]
    return arg


# ---- Conv -----------------------------------------------------------------------------------
def conv_ref(x, w, b, lo, hi, s, d, g):
    conv = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}[x.ndim]
    xp = F.pad(T(x).double(), torch_pad_arg(lo, hi))
    y = conv(xp, T(w).double(), None if b is None else T(b).double(), stride=s, dilation=d,
             groups=g)
    return y.numpy().astype(x.dtype)


x, w, b = randn(2, 4, 7, 6), randn(6, 2, 3, 2), randn(6)
case("conv2d_pads_group", "Conv", [x, w, b],
     [conv_ref(x, w, b, [1, 0], [2, 1], [2, 1], [1, 2], 2)], const=(1, 2),
     pads=[1, 0, 2, 1], strides=[2, 1], dilations=[1, 2], group=2, kernel_shape=[3, 2])
x, w = randn(1, 3, 7), randn(4, 3, 3)
lo, hi = same_pads([7], [3], [2], [1], True)
case("conv1d_same_upper", "Conv", [x, w], [conv_ref(x, w, None, lo, hi, [2], [1], 1)],
     opset=11, auto_pad="SAME_UPPER", strides=[2])
x, w, b = randn(1, 2, 4, 5, 3), randn(2, 2, 2, 3, 2), randn(2)
lo, hi = same_pads([4, 5, 3], [2, 3, 2], [1, 2, 1], [1, 1, 1], False)
case("conv3d_same_lower", "Conv", [x, w, b],
     [conv_ref(x, w, b, lo, hi, [1, 2, 1], [1, 1, 1], 1)], opset=7, auto_pad="SAME_LOWER",
     strides=[1, 2, 1])
x, w = randn(2, 3, 5, 5), randn(3, 3, 3, 3)
case("conv2d_valid", "Conv", [x, w], [conv_ref(x, w, None, [0, 0], [0, 0], [1, 1], [1, 1], 1)],
     auto_pad="VALID")
x, w = randn(1, 4, 5, 6, dtype=np.float64), randn(4, 1, 3, 3, dtype=np.float64)
case("conv2d_depthwise_f64", "Conv", [x, w],
     [conv_ref(x, w, None, [1, 1], [1, 1], [1, 1], [1, 1], 4)], pads=[1, 1, 1, 1], group=4)


# ---- ConvTranspose --------------------------------------------------------------------------
def conv_transpose_ref(x, w, b, lo, hi, s, d, g, op):
    ct = {3: F.conv_transpose1d, 4: F.conv_transpose2d, 5: F.conv_transpose3d}[x.ndim]
    y = ct(T(x).double(), T(w).double(), stride=s, dilation=d, groups=g).numpy()
    n = x.ndim - 2
    y = np.pad(y, [(0, 0), (0, 0)] + [(0, op[i]) for i in range(n)])
    sl = [slice(None), slice(None)] + [slice(lo[i], y.shape[2 + i] - hi[i]) for i in range(n)]
    y = y[tuple(sl)]
    if b is not None:
        y = y + b.astype(np.float64).reshape([1, -1] + [1] * n)
    return y.astype(x.dtype)


x, w, b = randn(1, 4, 3, 4), randn(4, 3, 3, 3), randn(6)
case("convtranspose2d_all", "ConvTranspose", [x, w, b],
     [conv_transpose_ref(x, w, b, [1, 0], [0, 1], [2, 1], [1, 2], 2, [1, 0])],
     strides=[2, 1], pads=[1, 0, 0, 1], output_padding=[1, 0], dilations=[1, 2], group=2)
x, w = randn(1, 2, 4), randn(2, 3, 3)
# output_shape 8: total padding 2*3 + 3 - 8 = 1, NOTSET puts the odd one at the start.
case("convtranspose1d_output_shape", "ConvTranspose", [x, w],
     [conv_transpose_ref(x, w, None, [1], [0], [2], [1], 1, [0])], opset=11, strides=[2],
     output_shape=[8])
x, w = randn(1, 2, 3, 3), randn(2, 2, 3, 3)
# SAME_UPPER: output in * stride = 6, total padding 2*2 + 3 - 6 = 1, the odd one at the end.
case("convtranspose2d_same_upper", "ConvTranspose", [x, w],
     [conv_transpose_ref(x, w, None, [0, 0], [1, 1], [2, 2], [1, 1], 1, [0, 0])],
     strides=[2, 2], auto_pad="SAME_UPPER")
x, w, b = randn(1, 2, 2, 3, 2), randn(2, 1, 2, 2, 3), randn(1)
case("convtranspose3d", "ConvTranspose", [x, w, b],
     [conv_transpose_ref(x, w, b, [0, 1, 0], [0, 0, 1], [1, 2, 2], [1, 1, 1], 1, [0, 0, 0])],
     opset=7, strides=[1, 2, 2], pads=[0, 1, 0, 0, 0, 1])


# ---- Pools: a NumPy transcription of ONNX's pool (pads, ceil_mode, dilations) ----------------
def pool_geometry(in_sizes, k, s, d, lo, hi, ceil):
    outs, extra = [], []
    for i, n in enumerate(in_sizes):
        eff = (k[i] - 1) * d[i] + 1
        span = n + lo[i] + hi[i] - eff
        o = (-(-span // s[i]) if ceil else span // s[i]) + 1
        outs.append(o)
        extra.append(max((o - 1) * s[i] + eff - (n + lo[i] + hi[i]), 0))
    return outs, extra


def pool_ref(x, kind, k, s=None, d=None, pads=None, ceil=False, include_pad=False, p=2,
             order=0):
    n = x.ndim - 2
    s = s or [1] * n
    d = d or [1] * n
    pads = pads or [0] * (2 * n)
    lo, hi = pads[:n], pads[n:]
    outs, _ = pool_geometry(x.shape[2:], k, s, d, lo, hi, ceil)
    y = np.zeros(x.shape[:2] + tuple(outs), dtype=np.float64)
    idx = np.zeros(y.shape, dtype=np.int64)
    N, C = x.shape[:2]
    sp = x.shape[2:]
    for nn, c in itertools.product(range(N), range(C)):
        for o in itertools.product(*[range(v) for v in outs]):
            vals, where, count = [], [], 0
            for kk in itertools.product(*[range(v) for v in k]):
                pos = [o[i] * s[i] + kk[i] * d[i] - lo[i] for i in range(n)]
                inside = all(0 <= pos[i] < sp[i] for i in range(n))
                in_pad = all(-lo[i] <= pos[i] < sp[i] + hi[i] for i in range(n))
                if inside:
                    vals.append(float(x[(nn, c) + tuple(pos)]))
                    if order == 0:
                        flat = np.ravel_multi_index((nn, c) + tuple(pos), x.shape)
                    else:
                        sflat = np.ravel_multi_index(tuple(pos), sp, order="F")
                        flat = (nn * C + c) * int(np.prod(sp)) + sflat
                    where.append(flat)
                    count += 1
                elif in_pad and include_pad:
                    count += 1
            if kind == "max":
                j = int(np.argmax(vals))
                y[(nn, c) + o], idx[(nn, c) + o] = vals[j], where[j]
            elif kind == "avg":
                y[(nn, c) + o] = sum(vals) / count
            else:
                y[(nn, c) + o] = sum(abs(v) ** p for v in vals) ** (1.0 / p)
    return y.astype(x.dtype), idx


x = randn(1, 2, 6, 7)
yv, yi = pool_ref(x, "max", [3, 2], [2, 2], [1, 2], [1, 0, 1, 1], ceil=True)
case("maxpool2d_ceil_dil_indices", "MaxPool", [x], [yv, yi], opset=12, kernel_shape=[3, 2],
     strides=[2, 2], dilations=[1, 2], pads=[1, 0, 1, 1], ceil_mode=1)
x = randn(2, 3, 5, 4)
yv, yi = pool_ref(x, "max", [2, 2], [2, 1], pads=[0, 0, 1, 1], order=1)
case("maxpool2d_colmajor_indices", "MaxPool", [x], [yv, yi], opset=8, kernel_shape=[2, 2],
     strides=[2, 1], pads=[0, 0, 1, 1], storage_order=1)
x = randn(1, 2, 9)
lo, hi = same_pads([9], [4], [2], [1], False)
yv, _ = pool_ref(x, "max", [4], [2], pads=lo + hi)
case("maxpool1d_same_lower", "MaxPool", [x], [yv], opset=7, kernel_shape=[4], strides=[2],
     auto_pad="SAME_LOWER")
x = randn(1, 1, 4, 3, 5)
yv, _ = pool_ref(x, "max", [2, 2, 3], [2, 1, 2])
case("maxpool3d", "MaxPool", [x], [yv], kernel_shape=[2, 2, 3], strides=[2, 1, 2])
x = randn(1, 2, 6, 5)
yv, _ = pool_ref(x, "avg", [3, 3], [2, 2], pads=[1, 1, 0, 1], include_pad=True)
case("avgpool2d_include_pad", "AveragePool", [x], [yv], kernel_shape=[3, 3], strides=[2, 2],
     pads=[1, 1, 0, 1], count_include_pad=1)
yv, _ = pool_ref(x, "avg", [3, 2], [2, 2], pads=[1, 0, 1, 0], ceil=True)
case("avgpool2d_ceil_exclude_pad", "AveragePool", [x], [yv], opset=10, kernel_shape=[3, 2],
     strides=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1)
x = randn(2, 2, 7)
lo, hi = same_pads([7], [3], [2], [1], True)
yv, _ = pool_ref(x, "avg", [3], [2], pads=lo + hi)
case("avgpool1d_same_upper", "AveragePool", [x], [yv], opset=7, kernel_shape=[3], strides=[2],
     auto_pad="SAME_UPPER")
x = randn(1, 2, 5, 5)
yv, _ = pool_ref(x, "lp", [2, 3], [1, 2], pads=[0, 1, 1, 0], p=3)
case("lppool2d_p3", "LpPool", [x], [yv], opset=11, kernel_shape=[2, 3], strides=[1, 2],
     pads=[0, 1, 1, 0], p=3)
yv, _ = pool_ref(x, "lp", [3, 3], [2, 2])
case("lppool2d_p2", "LpPool", [x], [yv], kernel_shape=[3, 3], strides=[2, 2])
x = randn(2, 3, 4, 5)
case("global_average_pool", "GlobalAveragePool", [x], [x.mean(axis=(2, 3), keepdims=True)])
case("global_max_pool", "GlobalMaxPool", [x], [x.max(axis=(2, 3), keepdims=True)])
case("global_lp_pool", "GlobalLpPool", [x],
     [(np.abs(x.astype(np.float64)) ** 3).sum(axis=(2, 3), keepdims=True) ** (1 / 3)], p=3)
case("global_lp_pool_p2", "GlobalLpPool", [x],
     [np.sqrt((x.astype(np.float64) ** 2).sum(axis=(2, 3), keepdims=True)).astype(np.float32)])
out["global_lp_pool.out0"] = out["global_lp_pool.out0"].astype(np.float32)

# ---- Normalisations -------------------------------------------------------------------------
x = randn(2, 3, 4, 5)
sc, bi, mu, var = randn(3), randn(3), randn(3), rng.uniform(0.5, 2, 3).astype(np.float32)
y = F.batch_norm(T(x), T(mu), T(var), T(sc), T(bi), training=False, eps=1e-3).numpy()
case("batchnorm_inference", "BatchNormalization", [x, sc, bi, mu, var], [y], opset=9,
     const=(1, 2, 3, 4), epsilon=1e-3)
rm, rv = mu.copy(), var.copy()
y = F.batch_norm(T(x), T(rm), T(rv), T(sc), T(bi), training=True, momentum=0.2, eps=1e-5)
bvar = x.var(axis=(0, 2, 3))
case("batchnorm_training14", "BatchNormalization", [x, sc, bi, mu, var],
     [y.numpy(), mu * 0.8 + x.mean(axis=(0, 2, 3)) * 0.2, var * 0.8 + bvar * 0.2], opset=14,
     momentum=0.8, training_mode=1)
x = randn(2, 3, 5)
y = F.batch_norm(T(x), T(mu), T(var), T(sc), T(bi), training=False, eps=1e-5).numpy()
case("batchnorm_opset7_1d", "BatchNormalization", [x, sc, bi, mu, var], [y], opset=7)
x, sc, bi = randn(2, 3, 4, 5), randn(3), randn(3)
case("instance_norm", "InstanceNormalization", [x, sc, bi],
     [F.instance_norm(T(x), weight=T(sc), bias=T(bi), eps=1e-4).numpy()], epsilon=1e-4)
x, sc, bi = randn(2, 3, 4), randn(3, 4), randn(3, 4)
y = F.layer_norm(T(x), [3, 4], T(sc), T(bi), eps=1e-5).numpy()
m = x.astype(np.float64).mean(axis=(1, 2), keepdims=True)
inv = 1 / np.sqrt(x.astype(np.float64).var(axis=(1, 2), keepdims=True) + 1e-5)
case("layer_norm_axis1", "LayerNormalization", [x, sc, bi],
     [y, m.astype(np.float32), inv.astype(np.float32)], axis=1)
sc = randn(4)
y = F.layer_norm(T(x), [4], T(sc), None, eps=1e-3).numpy()
case("layer_norm_no_bias", "LayerNormalization", [x, sc], [y], epsilon=1e-3)
x = randn(3, 4, 2)
case("lp_norm_p2", "LpNormalization", [x], [F.normalize(T(x), p=2, dim=-1, eps=0).numpy()])
case("lp_norm_p1_axis1", "LpNormalization", [x],
     [F.normalize(T(x), p=1, dim=1, eps=0).numpy()], axis=1, p=1)
x = randn(2, 3, 4, 2)
xd = x.astype(np.float64)
mu = xd.mean(axis=(0, 2, 3), keepdims=True)
sd = np.sqrt((xd ** 2).mean(axis=(0, 2, 3), keepdims=True) - mu ** 2)
case("mvn_default_axes", "MeanVarianceNormalization", [x],
     [((xd - mu) / (sd + 1e-9)).astype(np.float32)])
mu = xd.mean(axis=(1, 3), keepdims=True)
sd = np.sqrt((xd ** 2).mean(axis=(1, 3), keepdims=True) - mu ** 2)
case("mvn_axes", "MeanVarianceNormalization", [x],
     [((xd - mu) / (sd + 1e-9)).astype(np.float32)], axes=[1, 3])


def lrn_ref(x, size, alpha, beta, bias):
    C = x.shape[1]
    sq = np.zeros(x.shape, dtype=np.float64)
    xd = x.astype(np.float64)
    for c in range(C):
        a = max(0, c - (size - 1) // 2)
        b = min(C - 1, c + -(-(size - 1) // 2))
        sq[:, c] = (xd[:, a:b + 1] ** 2).sum(axis=1)
    return (xd / (bias + alpha / size * sq) ** beta).astype(x.dtype)


x = randn(2, 5, 3, 3)
case("lrn_size3", "LRN", [x], [lrn_ref(x, 3, 1e-4, 0.75, 1.0)], size=3)
case("lrn_size4", "LRN", [x], [lrn_ref(x, 4, 0.02, 0.5, 2.0)], size=4, alpha=0.02, beta=0.5,
     bias=2.0)

# ---- Gemm, MatMul, softmax family -----------------------------------------------------------
a, bm, c = randn(4, 3), randn(5, 4), randn(5)
case("gemm_trans_alpha_beta", "Gemm", [a, bm, c],
     [(0.5 * a.T.astype(np.float64) @ bm.T + 2.0 * c).astype(np.float32)], const=(1, 2),
     alpha=0.5, beta=2.0, transA=1, transB=1)
a, bm, c = randn(3, 4), randn(4, 2), randn(3, 1)
case("gemm_c_column", "Gemm", [a, bm, c], [a @ bm + c], opset=9)
case("gemm_no_c", "Gemm", [a, bm], [a @ bm], opset=13)
a, bm = randn(2, 1, 3, 4), randn(3, 4, 5)
case("matmul_broadcast", "MatMul", [a, bm], [np.matmul(a, bm)])
a, bm = randn(4), randn(2, 4, 3)
case("matmul_vector", "MatMul", [a, bm], [np.matmul(a, bm)], opset=9)
a, bm = rng.integers(-5, 5, (2, 3)).astype(np.int32), rng.integers(-5, 5, (3, 2)).astype(np.int32)
case("matmul_int32", "MatMul", [a, bm], [np.matmul(a, bm)])


def softmax2d(x, axis, log=False):
    shape = x.shape
    x2 = x.reshape(int(np.prod(shape[:axis])), -1).astype(np.float64)
    e = np.exp(x2 - x2.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    return (np.log(s) if log else s).reshape(shape).astype(x.dtype)


x = randn(2, 3, 4)
case("softmax_opset11_coerced", "Softmax", [x], [softmax2d(x, 1)], opset=11)
case("softmax_opset11_axis2", "Softmax", [x], [softmax2d(x, 2)], opset=11, axis=2)
case("softmax_opset13_axis1", "Softmax", [x], [torch.softmax(T(x), 1).numpy()], opset=13,
     axis=1)
case("softmax_opset13_default", "Softmax", [x], [torch.softmax(T(x), -1).numpy()], opset=13)
case("logsoftmax_opset9_coerced", "LogSoftmax", [x], [softmax2d(x, 1, True)], opset=9)
case("logsoftmax_opset13_axis0", "LogSoftmax", [x], [torch.log_softmax(T(x), 0).numpy()],
     axis=0)


def hardmax_along(x, axis):
    idx = np.argmax(x, axis=axis)
    return np.moveaxis(np.eye(x.shape[axis], dtype=x.dtype)[idx], -1, axis)


x[0, 1, 2] = x[0, 1, 3] = 5.0  # a tie: the first index wins
case("hardmax_opset11_coerced", "Hardmax", [x],
     [hardmax_along(x.reshape(2, 12), 1).reshape(x.shape)], opset=11)
case("hardmax_opset13_axis1", "Hardmax", [x], [hardmax_along(x, 1)], axis=1)

# ---- Losses ---------------------------------------------------------------------------------
x = torch.log_softmax(torch.from_numpy(randn(3, 4, 2)), 1).numpy()
t = rng.integers(0, 4, (3, 2)).astype(np.int64)
t[1, 0] = -1
wt = rng.uniform(0.5, 2, 4).astype(np.float32)
for red in ("none", "sum", "mean"):
    y = F.nll_loss(T(x), T(t), weight=T(wt), ignore_index=-1, reduction=red).numpy()
    case(f"nll_weight_ii_{red}", "NegativeLogLikelihoodLoss", [x, t, wt], [y], opset=13,
         reduction=red, ignore_index=-1)
t2 = rng.integers(0, 4, (3, 2)).astype(np.int64)
case("nll_default_mean", "NegativeLogLikelihoodLoss", [x, t2],
     [F.nll_loss(T(x), T(t2)).numpy()], opset=12)
s = randn(3, 5)
lab = rng.integers(0, 5, (3,)).astype(np.int64)
lab[2] = 2
case("sce_mean_log_prob", "SoftmaxCrossEntropyLoss", [s, lab],
     [F.cross_entropy(T(s), T(lab)).numpy(), torch.log_softmax(T(s), 1).numpy()], opset=12)
s = randn(2, 5, 3)
lab = rng.integers(0, 5, (2, 3)).astype(np.int64)
lab[0, 1] = 2
wt = rng.uniform(0.5, 2, 5).astype(np.float32)
case("sce_weight_ii_sum", "SoftmaxCrossEntropyLoss", [s, lab, wt],
     [F.cross_entropy(T(s), T(lab), weight=T(wt), ignore_index=2, reduction="sum").numpy()],
     reduction="sum", ignore_index=2)

np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_nn.npz"), **out)
print(len([k for k in out if k.endswith(".node")]), "cases")
