#!/usr/bin/python3
"""Reference data of the ONNX region-op converter tests (tests/axon/onnx/ops_nn_roi_test.cpp).

Run with /usr/bin/python3 (Debian's python3-onnx, python3-torch and numpy):
    /usr/bin/python3 tests/axon/onnx/data/gen_ops_nn_roi.py
It writes ops_nn_roi.npz next to itself. Every case is one ONNX node and its expectation:
MaxUnpool of torch's max_pool indices (made flat over the whole tensor, as ONNX MaxPool gives
them) scattered in NumPy; RoiAlign and MaxRoiPool from loop transcriptions of the reference
runtime's algorithms (ONNX Runtime's RoiAlign, Caffe's RoIPooling). Cases are written by node_cases.case
(node_cases.py lists the members of a case).
Deterministic: one seeded generator, cases in a fixed order.
"""
import functools
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

import node_cases  # next to this script

rng = np.random.default_rng(20261121)
out = {}


case = functools.partial(node_cases.case, out)
randn = functools.partial(node_cases.randn, rng)


# ---- MaxUnpool -----------------------------------------------------------------------------------

def pooled_with_flat_indices(x, k, s, p):
    pool = {3: F.max_pool1d, 4: F.max_pool2d}[x.ndim]
    y, idx = pool(torch.from_numpy(x), k, s, p, return_indices=True)
    spatial = int(np.prod(x.shape[2:]))
    nc = np.arange(x.shape[0] * x.shape[1]).reshape(x.shape[0], x.shape[1], *([1] * (x.ndim - 2)))
    return y.numpy(), idx.numpy() + nc * spatial


def unpool(v, idx, default, shape):
    y = np.zeros(int(np.prod(shape)), dtype=v.dtype)
    coords = np.unravel_index(idx.ravel(), default)
    y[np.ravel_multi_index(coords, shape)] = v.ravel()
    return y.reshape(shape)


def unpool_case(name, x, k, s, p, output_shape=None, opset=17):
    v, idx = pooled_with_flat_indices(x, k, s, p)
    default = tuple(x.shape)  # the pooled input's shape is the default unpooled shape here
    shape = default if output_shape is None else tuple(output_shape)
    n = x.ndim - 2
    inputs = [v, idx] + ([np.array(output_shape, dtype=np.int64)] if output_shape else [])
    case(name, "MaxUnpool", inputs, [unpool(v, idx, default, shape)], opset=opset,
         const=(2,) if output_shape else (), kernel_shape=[k] * n, strides=[s] * n,
         pads=[p] * (2 * n))


unpool_case("maxunpool2d_k2s2", randn(2, 3, 4, 6), 2, 2, 0, opset=9)
unpool_case("maxunpool2d_k3s2p1", randn(1, 2, 5, 5), 3, 2, 1)
unpool_case("maxunpool1d_k2s2", randn(2, 2, 8), 2, 2, 0)
unpool_case("maxunpool2d_output_shape", randn(1, 2, 4, 4), 2, 2, 0, output_shape=[1, 2, 5, 6])


# ---- RoiAlign: ONNX Runtime's algorithm ----------------------------------------------------------

def bilinear(img, y, x):
    h, w = img.shape[-2:]
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return [(0.0, 0, 0)] * 4
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= h - 1:
        yh = yl = h - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= w - 1:
        xh = xl = w - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1 - ly, 1 - lx
    return [(hy * hx, yl, xl), (hy * lx, yl, xh), (ly * hx, yh, xl), (ly * lx, yh, xh)]


def roi_align(x, rois, batch, oh, ow, ratio, scale, half_pixel, mode):
    r, c = rois.shape[0], x.shape[1]
    y = np.zeros((r, c, oh, ow), dtype=np.float64)
    off = 0.5 if half_pixel else 0.0
    for i in range(r):
        img = x[batch[i]].astype(np.float64)
        x1, y1, x2, y2 = (float(v) * scale - off for v in rois[i])
        rw, rh = x2 - x1, y2 - y1
        if not half_pixel:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gh = ratio if ratio > 0 else math.ceil(rh / oh)
        gw = ratio if ratio > 0 else math.ceil(rw / ow)
        count = max(gh * gw, 1)
        for ph in range(oh):
            for pw in range(ow):
                acc = np.zeros(c)
                first = True
                for iy in range(gh):
                    yy = y1 + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        xx = x1 + pw * bw + (ix + 0.5) * bw / gw
                        terms = [wt * img[:, a, b] for wt, a, b in bilinear(img, yy, xx)]
                        if mode == "avg":
                            acc += sum(terms)
                        else:
                            v = np.maximum.reduce(terms)
                            acc = v if first else np.maximum(acc, v)
                            first = False
                y[i, :, ph, pw] = acc / count if mode == "avg" else acc
    return y.astype(x.dtype)


fx = randn(2, 3, 10, 12)
rois = np.array([[0, 0, 9, 9], [1.5, 2.2, 7.9, 6.1], [5, 5, 11, 9], [-3, -2, 4, 3],
                 [8, 6, 14, 13], [2, 3, 2.4, 3.3]], dtype=np.float32)
batch = np.array([0, 1, 1, 0, 1, 0], dtype=np.int64)


def roi_align_case(name, oh, ow, ratio, scale=1.0, ctm=None, mode="avg", opset=17, x=fx,
                   rois=rois, batch=batch):
    half_pixel = ctm == "half_pixel" if opset >= 16 and ctm is not None else opset >= 16
    attrs = dict(output_height=oh, output_width=ow, sampling_ratio=ratio, spatial_scale=scale,
                 mode=mode)
    if ctm is not None:
        attrs["coordinate_transformation_mode"] = ctm
    case(name, "RoiAlign", [x, rois, batch],
         [roi_align(x, rois, batch, oh, ow, ratio, scale, half_pixel, mode)], opset=opset,
         const=(1, 2) if ratio == 0 else (2,), **attrs)


roi_align_case("roialign_avg_half_pixel", 3, 4, 2)
roi_align_case("roialign_avg_output_half_pixel", 3, 3, 2, ctm="output_half_pixel")
roi_align_case("roialign_opset10", 2, 3, 3, opset=10)
roi_align_case("roialign_max", 3, 2, 2, mode="max", ctm="output_half_pixel")
roi_align_case("roialign_adaptive_ratio", 2, 2, 0)
roi_align_case("roialign_adaptive_ratio_opset10", 3, 2, 0, opset=10)
roi_align_case("roialign_scale_half", 2, 2, 1, scale=0.5)
roi_align_case("roialign_f64", 2, 3, 2, x=fx.astype(np.float64), rois=rois.astype(np.float64))
roi_align_case("roialign_f16", 2, 2, 2, x=fx.astype(np.float16), rois=rois.astype(np.float16))


# ---- MaxRoiPool: Caffe's RoIPooling --------------------------------------------------------------

def round_half_away(v):
    return int(math.copysign(math.floor(abs(float(v)) + 0.5), float(v)))


def max_roi_pool(x, rois, pooled, scale):
    # Bin edges in float32, as the runtime computes them (3 * float32(4 / 3) is 4 in float32
    # but above 4 in float64, which would move a ceil).
    r, c, h, w = rois.shape[0], x.shape[1], x.shape[2], x.shape[3]
    ph_n, pw_n = pooled
    y = np.zeros((r, c, ph_n, pw_n), dtype=x.dtype)
    for i in range(r):
        b = int(rois[i, 0])
        sw, sh, ew, eh = (round_half_away(np.float32(v) * np.float32(scale)) for v in rois[i, 1:])
        rh, rw = max(eh - sh + 1, 1), max(ew - sw + 1, 1)
        bh, bw = np.float32(rh) / np.float32(ph_n), np.float32(rw) / np.float32(pw_n)
        for ph in range(ph_n):
            hs = min(max(int(np.floor(np.float32(ph) * bh)) + sh, 0), h)
            he = min(max(int(np.ceil(np.float32(ph + 1) * bh)) + sh, 0), h)
            for pw in range(pw_n):
                ws = min(max(int(np.floor(np.float32(pw) * bw)) + sw, 0), w)
                we = min(max(int(np.ceil(np.float32(pw + 1) * bw)) + sw, 0), w)
                if he > hs and we > ws:
                    y[i, :, ph, pw] = x[b, :, hs:he, ws:we].max(axis=(1, 2))
    return y


prois = np.array([[0, 0, 0, 9, 9], [1, 1.2, 2.1, 7.9, 6.2], [1, 5, 5, 13, 12],
                  [0, -3, -2, 4, 3], [1, 10, 8, 11, 8], [0, 20, 20, 30, 30]], dtype=np.float32)
case("maxroipool_2x2", "MaxRoiPool", [fx, prois], [max_roi_pool(fx, prois, (2, 2), 1.0)],
     opset=1, pooled_shape=[2, 2])
case("maxroipool_3x2_scale", "MaxRoiPool", [fx, prois], [max_roi_pool(fx, prois, (3, 2), 0.7)],
     pooled_shape=[3, 2], spatial_scale=0.7)
case("maxroipool_4x5", "MaxRoiPool", [fx, prois], [max_roi_pool(fx, prois, (4, 5), 1.0)],
     pooled_shape=[4, 5])
case("maxroipool_f16", "MaxRoiPool", [fx.astype(np.float16), prois.astype(np.float16)],
     [max_roi_pool(fx.astype(np.float16), prois.astype(np.float16), (2, 3), 1.0)],
     pooled_shape=[2, 3])

np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_nn_roi.npz"),
                    **out)
print(len([k for k in out if k.endswith(".node")]), "cases")
