"""Gradient cases of include/nx/ops/conv.hpp and include/nx/ops/window.hpp.

The torch reference of conv maps every option of nx::conv onto torch.nn.functional.conv{1,2,3}d:
input dilation by writing the input into a zero tensor with strides, padding (negative: cropping)
with F.pad, batch groups by moving the batch groups into channel groups. Window reductions are
taken window by window on the padded input (padding holds the reduction's identity, which never
wins a max or min); window_scatter_* scatter the source to each window's arg-max/min position.
Semantics as in cases_conv_window.py.
"""

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from grad_core import GradCase, X, np_padding, torch_pad


def _conv(at, x, k):
    x, k = x.to(torch.float64), k.to(torch.float64)
    if at.get("input_permutation"):
        x = x.permute(at["input_permutation"])
    if at.get("kernel_permutation"):
        k = k.permute(at["kernel_permutation"])
    nd = x.dim() - 2
    strides = at.get("strides") or [1] * nd
    lhs = at.get("input_dilation") or [1] * nd
    rhs = at.get("kernel_dilation") or [1] * nd
    groups, bgroups = at.get("feature_group_size", 1), at.get("batch_group_size", 1)
    if any(d > 1 for d in lhs):
        shape = list(x.shape[:2]) + [(s - 1) * d + 1 for s, d in zip(x.shape[2:], lhs)]
        xd = x.new_zeros(shape)
        xd[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in lhs)] = x
        x = xd
    eff = [(kk - 1) * d + 1 for kk, d in zip(k.shape[2:], rhs)]
    x = torch_pad(x, np_padding(at, eff), 0.0, 2)
    if bgroups > 1:
        # Batch group g becomes channel group g; then a grouped convolution pairs output
        # feature group g with it.
        n, c = x.shape[:2]
        x = x.reshape([bgroups, n // bgroups, c] + list(x.shape[2:])).transpose(0, 1)
        x = x.reshape([n // bgroups, bgroups * c] + list(x.shape[3:]))
        groups = bgroups
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[nd]
    out = fn(x, k, stride=strides, dilation=rhs, groups=groups)
    if at.get("output_permutation"):
        out = out.permute(list(np.argsort(at["output_permutation"])))
    return out


def conv_cases():
    def case(name, x, k, attrs=None, tol=2.0):
        return GradCase(f"conv.{name}", "conv", [x, k], _conv, attrs or {}, tol_scale=tol)

    return [
        case("basic", X((1, 2, 5, 5)), X((3, 2, 3, 3))),
        case("batch", X((2, 2, 4, 3)), X((3, 2, 3, 2))),
        case("1d_strided", X((2, 3, 8)), X((4, 3, 3)), {"strides": [2]}),
        case("same", X((1, 1, 5, 6)), X((2, 1, 3, 2)), {"padding": "same"}),
        case("same_strided", X((1, 1, 6, 7)), X((2, 1, 3, 3)), {"padding": "same",
                                                                "strides": [2, 3]}),
        case("explicit", X((1, 2, 4, 4)), X((2, 2, 2, 3)), {"padding": [[1, 0], [2, 1]]}),
        case("negative_padding", X((1, 1, 6, 6)), X((1, 1, 2, 2)),
             {"padding": [[-1, 0], [0, -2]]}),
        case("kernel_dilation", X((1, 2, 7, 6)), X((2, 2, 3, 2)), {"kernel_dilation": [2, 3]}),
        case("input_dilation", X((1, 2, 3, 3)), X((2, 2, 3, 3)),
             {"input_dilation": [2, 2], "padding": [[2, 2], [2, 2]]}),
        case("strided_dilated", X((2, 1, 9, 9)), X((2, 1, 3, 3)),
             {"strides": [2, 2], "kernel_dilation": [2, 1], "input_dilation": [1, 2]}),
        case("feature_groups", X((1, 4, 5, 5)), X((6, 2, 3, 3)), {"feature_group_size": 2}),
        case("depthwise", X((2, 3, 7)), X((3, 1, 3)), {"feature_group_size": 3}),
        case("batch_groups", X((2, 2, 5)), X((4, 2, 3)), {"batch_group_size": 2}),
        case("batch_groups_2d", X((4, 2, 4, 3)), X((4, 2, 2, 2)),
             {"batch_group_size": 2, "strides": [1, 2]}),
        case("nhwc", X((1, 5, 5, 2)), X((3, 3, 2, 4)),
             {"input_permutation": [0, 3, 1, 2], "kernel_permutation": [3, 2, 0, 1],
              "output_permutation": [0, 3, 1, 2]}),
        case("output_permutation", X((1, 2, 4, 5)), X((3, 2, 2, 2)),
             {"output_permutation": [0, 2, 3, 1]}),
        case("3d", X((1, 2, 3, 4, 4)), X((2, 2, 2, 2, 2)), {"padding": "same"}),
        case("1x1", X((2, 3, 4, 4)), X((5, 3, 1, 1))),
        case("larger", X((2, 3, 9, 9)), X((4, 3, 3, 3)), {"padding": "same", "strides": [2, 1]},
             tol=4),
        case("mixed", X((1, 2, 4, 4)), X((2, 2, 3, 3), "uniform", dtype="s32", lo=-2, hi=2)),
    ]


# ---- windows -------------------------------------------------------------------------------------


def _window_geometry(shape, at):
    nd = len(shape)
    window = at["window"]
    strides = at.get("strides") or [1] * nd
    dil = at.get("window_dilations") or [1] * nd
    eff = [(w - 1) * d + 1 for w, d in zip(window, dil)]
    pads = np_padding(at, eff)
    padded = [n + lo + hi for n, (lo, hi) in zip(shape, pads)]
    out_shape = [max((p - e) // s + 1, 0) for p, e, s in zip(padded, eff, strides)]
    return window, strides, dil, eff, pads, out_shape


def _window(kind):
    identity = {"sum": 0.0, "mean": 0.0, "product": 1.0, "max": -np.inf, "min": np.inf}[kind]
    reduce = {"sum": torch.sum, "mean": torch.sum, "product": torch.prod, "max": torch.amax,
              "min": torch.amin}[kind]

    def ref(at, x):
        window, strides, dil, eff, pads, out_shape = _window_geometry(list(x.shape), at)
        xp = torch_pad(x, pads, identity, 0)
        vals = []
        for pos in itertools.product(*[range(s) for s in out_shape]):
            view = xp[tuple(slice(p * s, p * s + e, d)
                            for p, s, e, d in zip(pos, strides, eff, dil))]
            vals.append(reduce(view.reshape(-1), 0) if kind in ("max", "min")
                        else reduce(view.reshape(-1)))
        out = torch.stack(vals).reshape(out_shape)
        return out / float(np.prod(window)) if kind == "mean" else out
    return ref


def window_cases():
    cases = []
    for kind in ("sum", "mean", "product", "max", "min"):
        op = f"window_{kind}"
        ref = _window(kind)
        if kind == "product":
            spec = lambda shape: X(shape, "away", lo=0.5, hi=1.5)  # noqa: E731
        elif kind in ("max", "min"):
            spec = lambda shape: X(shape, "distinct")  # noqa: E731
        else:
            spec = lambda shape: X(shape)  # noqa: E731

        def case(name, shape, attrs):
            return GradCase(f"{op}.{name}", op, [spec(shape)], ref, attrs)

        cases += [
            case("basic", (2, 6), {"window": [1, 3]}),
            case("2d", (4, 5), {"window": [2, 2]}),
            case("strided", (5, 7), {"window": [2, 3], "strides": [2, 2]}),
            case("same", (4, 5), {"window": [3, 2], "padding": "same"}),
            case("same_strided", (5, 6), {"window": [3, 3], "padding": "same", "strides": [2, 2]}),
            case("explicit", (3, 4), {"window": [2, 2], "padding": [[1, 0], [1, 1]]}),
            case("dilated", (6, 7), {"window": [2, 3], "window_dilations": [2, 2]}),
            case("3d", (2, 4, 5), {"window": [1, 2, 3], "strides": [1, 2, 1], "padding": "same"}),
            case("rank1", (9,), {"window": [4], "strides": [3]}),
            case("larger", (16, 17), {"window": [3, 3], "strides": [2, 2], "padding": "same"}),
        ]
    return cases


def _scatter(kind):
    def ref(at, x, source, init):
        window, strides, dil, eff, pads, _ = _window_geometry(list(x.shape), at)
        v = x.detach().numpy()
        targets = []
        for pos in itertools.product(*[range(s) for s in source.shape]):
            best = None
            for off in itertools.product(*[range(w) for w in window]):
                i = tuple(p * s + o * d - lo for p, s, o, d, (lo, _) in
                          zip(pos, strides, off, dil, pads))
                if any(j < 0 or j >= n for j, n in zip(i, x.shape)):
                    continue  # padding is never selected
                if best is None or (v[i] > v[best] if kind == "max" else v[i] < v[best]):
                    best = i
            targets.append(best)
        keep = [k for k, t in enumerate(targets) if t is not None]
        index = tuple(torch.tensor([targets[k][a] for k in keep], dtype=torch.long)
                      for a in range(x.dim()))
        out = torch.zeros(x.shape, dtype=source.dtype) + init
        return out.index_put(index, source.reshape(-1)[keep], accumulate=True)
    return ref


def scatter_cases():
    cases = []
    for kind in ("max", "min"):
        op = f"window_scatter_{kind}"
        ref = _scatter(kind)

        def case(name, xs, ss, attrs):
            return GradCase(f"{op}.{name}", op, [X(xs, "distinct"), X(ss), X(())], ref, attrs)

        cases += [
            case("tiles", (4, 6), (2, 2), {"window": [2, 3], "strides": [2, 3]}),
            case("overlap", (4, 5), (3, 4), {"window": [2, 2]}),
            case("same", (4, 5), (2, 3), {"window": [3, 3], "strides": [2, 2],
                                          "padding": "same"}),
            case("explicit", (3, 4), (2, 3), {"window": [2, 2], "strides": [2, 2],
                                              "padding": [[1, 0], [1, 1]]}),
            case("rank1", (8,), (3,), {"window": [3], "strides": [3], "padding": [[0, 1]]}),
        ]
    return cases


def cases():
    return conv_cases() + window_cases() + scatter_cases()
