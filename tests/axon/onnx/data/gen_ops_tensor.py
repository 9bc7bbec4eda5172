#!/usr/bin/python3
"""Reference data of the ONNX tensor-family converter tests (tests/axon/onnx/ops_tensor_test.cpp).

Run with /usr/bin/python3 (Debian's python3-onnx, numpy and python3-torch):
    /usr/bin/python3 tests/axon/onnx/data/gen_ops_tensor.py
It writes ops_tensor.npz next to itself. Every case is one ONNX node and its numpy expectation
(numpy transcriptions of the ONNX spec; Resize uses onnx's own reference interpolation from
onnx.backend.test.case.node.resize; GridSample against torch's grid_sample). Cases are written by node_cases.case
(node_cases.py lists the members of a case).
Deterministic: one seeded generator, cases in a fixed order.
"""
import functools
import os
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _alias, _type in (("float", float), ("int", int), ("bool", bool), ("object", object)):
        try:
            getattr(np, _alias)
        except AttributeError:
            setattr(np, _alias, _type)

from onnx import numpy_helper  # noqa: E402
from onnx.backend.test.case.node.resize import (  # noqa: E402
    cubic_coeffs, interpolate_nd, linear_coeffs, nearest_coeffs)

import node_cases  # next to this script

rng = np.random.default_rng(20261121)
out = {}


case = functools.partial(node_cases.case, out)
randn = functools.partial(node_cases.randn, rng)


def i64(*v):
    return np.array(v, dtype=np.int64)


x234 = randn(2, 3, 4)

# ---- creation and shape ----
v = randn(2, 3)
case("constant_value", "Constant", [], [v], value=numpy_helper.from_array(v))
case("constant_floats", "Constant", [], [np.array([1.5, -2], np.float32)], value_floats=[1.5, -2])
case("constant_int", "Constant", [], [np.array(7, np.int64)], value_int=7)
case("constant_of_shape", "ConstantOfShape", [i64(2, 3)], [np.full((2, 3), 7, np.int64)],
     const=[0], value=numpy_helper.from_array(np.array([7], np.int64)))
case("constant_of_shape_default", "ConstantOfShape", [i64(4)], [np.zeros(4, np.float32)],
     const=[0])
case("shape", "Shape", [x234], [i64(2, 3, 4)])
case("shape_start_end", "Shape", [x234], [i64(3)], opset=15, start=-2, end=-1)
case("size", "Size", [x234], [np.array(24, np.int64)])
case("reshape_copy_infer", "Reshape", [x234, i64(0, -1)], [x234.reshape(2, 12)], const=[1])
case("reshape_allowzero", "Reshape", [np.zeros((0, 3), np.float32), i64(3, 0)],
     [np.zeros((3, 0), np.float32)], const=[1], allowzero=1)
case("flatten_axis2", "Flatten", [x234], [x234.reshape(6, 4)], axis=2)
case("flatten_axis0", "Flatten", [x234], [x234.reshape(1, 24)], axis=0)
case("flatten_neg", "Flatten", [x234], [x234.reshape(6, 4)], axis=-1)
x1 = randn(1, 3, 1, 2)
case("squeeze_attr", "Squeeze", [x1], [x1.reshape(3, 1, 2)], opset=11, axes=[0])
case("squeeze_input", "Squeeze", [x1, i64(-2)], [x1.reshape(1, 3, 2)], const=[1])
case("squeeze_all", "Squeeze", [x1], [x1.reshape(3, 2)])
case("unsqueeze_attr", "Unsqueeze", [x234], [x234.reshape(1, 2, 3, 4)], opset=11, axes=[0])
case("unsqueeze_input", "Unsqueeze", [x234, i64(-1, 1)], [x234.reshape(2, 1, 3, 4, 1)],
     const=[1])
case("expand", "Expand", [randn(3, 1)[:, :], i64(2, 1, 4)], [None], const=[1])
out["expand.out0"] = np.broadcast_to(out["expand.in0"], (2, 3, 4)).copy()
case("identity", "Identity", [x234], [x234])
case("dropout_mask", "Dropout", [x234], [x234, np.ones(x234.shape, bool)], opset=12)
case("dropout_opset7", "Dropout", [x234], [x234], opset=7, ratio=0.3)
case("range_float", "Range", [np.array(1, np.float32), np.array(2.5, np.float32),
                              np.array(0.4, np.float32)],
     [np.arange(1, 2.5, 0.4, dtype=np.float32)], const=[0, 1, 2])
case("range_int_neg", "Range", [np.array(10, np.int32), np.array(1, np.int32),
                                np.array(-3, np.int32)], [np.arange(10, 1, -3, dtype=np.int32)],
     const=[0, 1, 2])
case("eyelike", "EyeLike", [randn(3, 4)], [np.eye(3, 4, k=1, dtype=np.float32)], k=1)
case("eyelike_dtype", "EyeLike", [randn(4, 3)], [np.eye(4, 3, k=-1, dtype=np.int32)], k=-1,
     dtype=6)

# ---- movement ----
case("transpose_default", "Transpose", [x234], [x234.T])
case("transpose_perm", "Transpose", [x234], [x234.transpose(1, 0, 2)], perm=[1, 0, 2])
a, b, c = randn(2, 1), randn(2, 3), randn(2, 2)
case("concat", "Concat", [a, b, c], [np.concatenate([a, b, c], -1)], axis=-1)
case("split_attr", "Split", [x234], list(np.split(x234, [1], axis=2)), opset=11, axis=2,
     split=[1, 3])
case("split_input", "Split", [x234, i64(2, 1)], list(np.split(x234, [2], axis=1)), const=[1],
     axis=1)
case("split_equal", "Split", [x234], list(np.split(x234, 2, axis=-1)), axis=-1)
x56 = randn(5, 6)
case("slice_attrs", "Slice", [x56], [x56[1:100, -4:-1]], opset=9, starts=[1, -4],
     ends=[100, -1])
case("slice_steps", "Slice", [x56, i64(-1, 0), i64(-100, 6), i64(0, 1), i64(-2, 3)],
     [x56[-1:-100:-2, 0:6:3]], const=[1, 2, 3, 4])
case("slice_axes", "Slice", [x56, i64(2), i64(1000), i64(-1)], [x56[:, 2:]], const=[1, 2, 3])
case("slice_empty", "Slice", [x56, i64(3), i64(1), i64(0)], [x56[3:1]], const=[1, 2, 3])
case("tile", "Tile", [randn(2, 3), i64(2, 1)], [None], const=[1])
out["tile.out0"] = np.tile(out["tile.in0"], (2, 1))
x33 = randn(1, 2, 3, 3)
pads = [0, 0, 1, 2, 0, 0, 2, 1]
npp = [(0, 0), (0, 0), (1, 2), (2, 1)]
case("pad_constant", "Pad", [x33, i64(*pads), np.array(1.5, np.float32)],
     [np.pad(x33, npp, constant_values=1.5)], const=[1, 2])
case("pad_reflect", "Pad", [x33, i64(*pads)], [np.pad(x33, npp, mode="reflect")], const=[1],
     mode="reflect")
case("pad_edge", "Pad", [x33, i64(*pads)], [np.pad(x33, npp, mode="edge")], const=[1],
     mode="edge")
case("pad_attrs", "Pad", [x33], [np.pad(x33, npp, constant_values=-1.0)], opset=2, pads=pads,
     value=-1.0)
case("pad_negative", "Pad", [x33, i64(0, 0, -1, 1, 0, 0, 0, -1)],
     [np.pad(x33, [(0, 0), (0, 0), (0, 0), (1, 0)])[:, :, 1:, :-1]], const=[1])
xd = randn(1, 8, 2, 3)


def d2s(x, b, mode):
    n, c, h, w = x.shape
    if mode == "DCR":
        t = x.reshape(n, b, b, c // b // b, h, w).transpose(0, 3, 4, 1, 5, 2)
    else:
        t = x.reshape(n, c // b // b, b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
    return t.reshape(n, c // b // b, h * b, w * b)


case("depth_to_space_dcr", "DepthToSpace", [xd], [d2s(xd, 2, "DCR")], blocksize=2)
case("depth_to_space_crd", "DepthToSpace", [xd], [d2s(xd, 2, "CRD")], blocksize=2, mode="CRD")
xs = randn(1, 2, 4, 6)
s2d = xs.reshape(1, 2, 2, 2, 3, 2).transpose(0, 3, 5, 1, 2, 4).reshape(1, 8, 2, 3)
case("space_to_depth", "SpaceToDepth", [xs], [s2d], blocksize=2)
xt = randn(2, 3, 4)
case("trilu_upper", "Trilu", [xt, np.array(1, np.int64)], [np.triu(xt, 1)], const=[1])
case("trilu_lower", "Trilu", [xt], [np.tril(xt)], upper=0)
xr = randn(4, 3, 2)
lens = i64(4, 1, 2)
rs = xr.copy()
for bi, ln in enumerate(lens):
    rs[:ln, bi] = xr[:ln, bi][::-1]
case("reverse_sequence", "ReverseSequence", [xr, lens], [rs], time_axis=0, batch_axis=1)

# ---- indexing ----
idx = i64(-1, 0, 2, 1)
case("gather", "Gather", [x234, idx], [np.take(x234, idx, axis=1)], axis=1)
case("gather_scalar", "Gather", [x234, np.array(-1, np.int64)], [x234[:, :, -1]], axis=-1)
ge_i = np.array([[[0, 2], [1, -1]]], np.int64).repeat(2, 0)
case("gather_elements", "GatherElements", [x234[:, :2, :], ge_i],
     [np.take_along_axis(x234[:, :2, :], np.where(ge_i < 0, ge_i + 4, ge_i), 2)], axis=2)
gi = np.array([[0, 1], [1, -1], [0, 0]], np.int64)
gi_n = np.where(gi < 0, gi + 3, gi)
case("gather_nd", "GatherND", [x234, gi], [x234[gi_n[:, 0], gi_n[:, 1]]])
gb = np.array([[[1], [0]], [[2], [2]]], np.int64)
case("gather_nd_batch", "GatherND", [x234, gb],
     [np.stack([x234[i][gb[i, :, 0]] for i in range(2)])], batch_dims=1)
data = randn(3, 4)
si = np.array([[1, 0, 1, 2], [1, 1, 2, 2]], np.int64)
su = randn(2, 4)


def scatter_el(data, idx, upd, axis, red):
    o = data.copy()
    for pos in np.ndindex(idx.shape):
        t = list(pos)
        t[axis] = idx[pos]
        t = tuple(t)
        if red == "none":
            o[t] = upd[pos]
        elif red == "add":
            o[t] += upd[pos]
        else:
            o[t] *= upd[pos]
    return o


for red in ("none", "add", "mul"):
    upd = su if red != "none" else su
    idx_u = si if red != "none" else np.array([[1, 0, 2, 2], [2, 1, 0, -3]], np.int64)
    idx_n = np.where(idx_u < 0, idx_u + 3, idx_u)
    case(f"scatter_elements_{red}", "ScatterElements", [data, idx_u, upd],
         [scatter_el(data, idx_n, upd, 0, red)], axis=0, reduction=red, opset=16)
case("scatter_deprecated", "Scatter", [data, np.array([[2, 0, 1, 1]], np.int64), su[:1]],
     [scatter_el(data, np.array([[2, 0, 1, 1]]), su[:1], 0, "none")], opset=9)
nd_i = np.array([[[0, 1], [2, 3]], [[0, 1], [1, 0]]], np.int64)
nd_u = randn(2, 2)


def scatter_nd(data, idx, upd, red):
    o = data.copy()
    for pos in np.ndindex(idx.shape[:-1]):
        t = tuple(idx[pos])
        if red == "none":
            o[t] = upd[pos]
        elif red == "add":
            o[t] += upd[pos]
        else:
            o[t] *= upd[pos]
    return o


case("scatter_nd", "ScatterND", [data, np.array([[[0, 1], [2, -1]]], np.int64), nd_u[:1]],
     [scatter_nd(data, np.array([[[0, 1], [2, 3]]]), nd_u[:1], "none")])
case("scatter_nd_add", "ScatterND", [data, nd_i, nd_u], [scatter_nd(data, nd_i, nd_u, "add")],
     reduction="add", opset=16)
case("scatter_nd_mul", "ScatterND", [data, nd_i, nd_u], [scatter_nd(data, nd_i, nd_u, "mul")],
     reduction="mul", opset=16)
case("scatter_nd_rows", "ScatterND", [data, np.array([[2], [0]], np.int64), randn(2, 4)],
     [None])
out["scatter_nd_rows.out0"] = data.copy()
out["scatter_nd_rows.out0"][[2, 0]] = out["scatter_nd_rows.in2"]
oh_i = np.array([[1, -1], [0, 5]], np.int64)
oh_v = np.array([-2, 3], np.float32)
oh = np.full((2, 4, 2), -2, np.float32)
for (r, cc), k in np.ndenumerate(oh_i):
    k = k + 4 if k < 0 else k
    if 0 <= k < 4:
        oh[r, k, cc] = 3
case("one_hot", "OneHot", [oh_i, np.array(4, np.int64), oh_v], [oh], const=[1], axis=1)
xk = np.array([[3, 1, 3, 2], [0, 5, 5, -1]], np.float32)
case("topk_largest", "TopK", [xk, i64(3)],
     [np.array([[3, 3, 2], [5, 5, 0]], np.float32), i64(0, 2, 3, 1, 2, 0).reshape(2, 3)],
     const=[1])
case("topk_smallest_axis0", "TopK", [xk, i64(1)],
     [np.array([[0, 1, 3, -1]], np.float32), i64(1, 0, 0, 1).reshape(1, 4)], const=[1], axis=0,
     largest=0)
case("topk_attr", "TopK", [xk], [np.array([[3], [5]], np.float32), i64(0, 1).reshape(2, 1)],
     opset=9, k=1)
case("topk_int_smallest", "TopK", [xk.astype(np.int32), i64(2)],
     [np.array([[1, 2], [-1, 0]], np.int32), i64(1, 3, 3, 0).reshape(2, 2)], const=[1],
     largest=0)
cond = np.array([0, 1, 1], bool)
case("compress_axis", "Compress", [x234, cond], [np.compress(cond, x234, axis=1)], const=[1],
     axis=1)
case("compress_flat", "Compress", [x234, np.array([1, 0, 0, 1], bool)],
     [np.compress([1, 0, 0, 1], x234)], const=[1])
nz = np.array([[1, 0, 3], [0, 0, 2]], np.float32)
case("nonzero", "NonZero", [nz], [np.array(np.nonzero(nz), np.int64)], const=[0])

ux = np.array([2, 1, 1, 3, 4, 3], np.float32)
y, ind, inv, cnt = np.unique(ux, True, True, True)
case("unique_sorted", "Unique", [ux], [y, ind.astype(np.int64), inv.astype(np.int64),
                                       cnt.astype(np.int64)], const=[0])
# sorted=0: first-occurrence order (the ONNX reference reorders numpy's result).
order = np.argsort(ind)
remap = np.argsort(order)
case("unique_unsorted", "Unique", [ux], [y[order], ind[order].astype(np.int64),
                                         remap[inv].astype(np.int64),
                                         cnt[order].astype(np.int64)], const=[0], sorted=0)
ua = np.array([[1, 0, 0], [1, 0, 0], [2, 3, 4]], np.int32)
y, ind, inv, cnt = np.unique(ua, True, True, True, axis=0)
case("unique_axis", "Unique", [ua], [y, ind.astype(np.int64), inv.reshape(-1).astype(np.int64),
                                     cnt.astype(np.int64)], const=[0], axis=0)

# ---- resize ----
xi = randn(1, 1, 3, 4)


def rz(x, coeffs, sizes=None, scales=None, **kw):
    return interpolate_nd(x, coeffs, output_size=sizes, scale_factors=scales, **kw).astype(
        np.float32)


empty = np.array([], np.float32)
case("resize_linear_sizes", "Resize", [xi, empty, empty, i64(1, 1, 5, 7)],
     [rz(xi, linear_coeffs, sizes=[1, 1, 5, 7])], const=[1, 2, 3], mode="linear")
sc = np.array([1, 1, 0.6, 1.7], np.float32)
case("resize_cubic_align", "Resize", [xi, empty, sc],
     [rz(xi, lambda r: cubic_coeffs(r, -0.5), scales=sc,
         coordinate_transformation_mode="align_corners")], const=[1, 2], mode="cubic",
     cubic_coeff_a=-0.5, coordinate_transformation_mode="align_corners")
case("resize_cubic_exclude", "Resize", [xi, empty, np.array([1, 1, 2, 0.5], np.float32)],
     [rz(xi, cubic_coeffs, scales=np.array([1, 1, 2, 0.5], np.float32), exclude_outside=True)],
     const=[1, 2], mode="cubic", exclude_outside=1)
for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
    case(f"resize_nearest_{nm}", "Resize", [xi, empty, empty, i64(1, 1, 7, 3)],
         [rz(xi, lambda r: nearest_coeffs(r, mode=nm), sizes=[1, 1, 7, 3],
             coordinate_transformation_mode="asymmetric")], const=[1, 2, 3], nearest_mode=nm,
         coordinate_transformation_mode="asymmetric")
case("resize_pytorch_half", "Resize", [xi, empty, empty, i64(1, 1, 1, 6)],
     [rz(xi, linear_coeffs, sizes=[1, 1, 1, 6],
         coordinate_transformation_mode="pytorch_half_pixel")], const=[1, 2, 3], mode="linear",
     coordinate_transformation_mode="pytorch_half_pixel")
roi = np.array([0, 0, 0.2, 0.1, 1, 1, 1.2, 0.7], np.float32)
case("resize_crop", "Resize", [xi, roi, empty, i64(1, 1, 4, 4)],
     [rz(xi, linear_coeffs, sizes=[1, 1, 4, 4], roi=roi,
         coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=10.0)],
     const=[1, 2, 3], mode="linear", coordinate_transformation_mode="tf_crop_and_resize",
     extrapolation_value=10.0)
case("resize_opset10", "Resize", [xi, np.array([1, 1, 2, 1.5], np.float32)],
     [rz(xi, lambda r: nearest_coeffs(r, mode="floor"), scales=[1, 1, 2, 1.5],
         coordinate_transformation_mode="asymmetric")], const=[1], opset=10)
case("upsample_nearest", "Upsample", [xi, np.array([1, 1, 2, 3], np.float32)],
     [xi.repeat(2, 2).repeat(3, 3)], const=[1], opset=9)
case("upsample_linear_attr", "Upsample", [xi],
     [rz(xi, linear_coeffs, scales=[1, 1, 2, 2], coordinate_transformation_mode="asymmetric")],
     opset=7, mode="linear", scales=[1.0, 1.0, 2.0, 2.0])

# ---- grid sample (against torch.nn.functional.grid_sample, which ONNX's spec follows) ----
import torch  # noqa: E402

gx_in = randn(1, 2, 3, 4)
grid = (rng.uniform(-1.3, 1.3, (1, 2, 5, 2))).astype(np.float32)
for mode in ("bilinear", "nearest", "bicubic"):
    for pad in ("zeros", "border", "reflection"):
        for align in (0, 1):
            ref = torch.nn.functional.grid_sample(
                torch.from_numpy(gx_in), torch.from_numpy(grid), mode=mode, padding_mode=pad,
                align_corners=bool(align)).numpy()
            case(f"grid_sample_{mode}_{pad}_{align}", "GridSample", [gx_in, grid], [ref],
                 mode=mode, padding_mode=pad, align_corners=align)

# ---- einsum ----
ea, eb = randn(2, 3, 4), randn(2, 4, 5)
case("einsum_batch_matmul", "Einsum", [ea, eb], [np.einsum("bij,bjk->bik", ea, eb)],
     equation="bij,bjk->bik")
sq = randn(3, 3)
case("einsum_trace", "Einsum", [sq], [np.einsum("ii", sq)], equation="ii")
case("einsum_diag", "Einsum", [sq], [np.einsum("ii->i", sq)], equation="ii->i")
case("einsum_transpose", "Einsum", [x234], [np.einsum("ijk->kji", x234)], equation="ijk->kji")
case("einsum_sum", "Einsum", [x234], [np.einsum("ijk->j", x234)], equation="ijk -> j")
ev = randn(5)
case("einsum_inner", "Einsum", [ev, ev], [np.einsum("i,i", ev, ev)], equation="i,i")
case("einsum_outer_implicit", "Einsum", [ev, randn(3)], [None], equation="i,j")
out["einsum_outer_implicit.out0"] = np.einsum("i,j", out["einsum_outer_implicit.in0"],
                                              out["einsum_outer_implicit.in1"])
e1, e2 = randn(2, 1, 3, 4), randn(5, 4, 2)
case("einsum_ellipsis", "Einsum", [e1, e2], [np.einsum("...ij,...jk->...ik", e1, e2)],
     equation="...ij,...jk->...ik")
e3, e4, e5 = randn(2, 3), randn(3, 4), randn(4, 2)
case("einsum_three", "Einsum", [e3, e4, e5], [np.einsum("ab,bc,cd->ad", e3, e4, e5)],
     equation="ab,bc,cd->ad")

np.savez(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_tensor.npz"), **out)
print(len([k for k in out if k.endswith(".node")]), "cases")
