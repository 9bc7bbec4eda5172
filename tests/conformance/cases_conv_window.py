"""Convolution (include/nx/ops/conv.hpp) and window ops (include/nx/ops/window.hpp).

Padding "same" follows Nx (Nx.Shape.to_padding_config): the dilated window minus one, split
floor/ceil with the extra element on the high side, independent of the stride; the output then
has ceil(in / stride) elements. Explicit padding may be negative (cropping).

Conv computes in to_floating of the merged dtype. Batch groups: output feature o belongs to group
o // (O / batch_groups), which reads input batches [g * N/bg, (g+1) * N/bg) (XLA's definition).
Window reductions keep the dtype (pred computes as u8); padding uses the reduction's identity,
so it never wins a max or min; window_mean divides the window sum (in the input dtype) by the
full window size, padding included.
"""

import itertools

import numpy as np

from refcore import FLOATS, Case, In, T, f64, int_range, nx_merge, to_floating


def _padding(at, eff):
    pad = at.get("padding", "valid")
    if pad == "valid":
        return [(0, 0)] * len(eff)
    if pad == "same":
        return [((e - 1) // 2, (e - 1) - (e - 1) // 2) for e in eff]
    return [tuple(p) for p in pad]


def _pad(x, pads, value, first_axis):
    """Pads (or crops, for negative amounts) the axes from first_axis on."""
    out = x
    for i, (lo, hi) in enumerate(pads):
        axis = first_axis + i
        for amount, at_end in ((lo, False), (hi, True)):
            if amount > 0:
                shape = list(out.shape)
                shape[axis] = amount
                block = np.full(shape, value, dtype=out.dtype)
                out = np.concatenate([out, block] if at_end else [block, out], axis=axis)
            elif amount < 0:
                idx = [slice(None)] * out.ndim
                n = out.shape[axis]
                idx[axis] = slice(0, max(n + amount, 0)) if at_end else slice(-amount, n)
                out = out[tuple(idx)]
    return out


def conv_reference(x, k, at):
    if at.get("input_permutation"):
        x = np.transpose(x, at["input_permutation"])
    if at.get("kernel_permutation"):
        k = np.transpose(k, at["kernel_permutation"])
    n, c = x.shape[:2]
    o = k.shape[0]
    nd = x.ndim - 2
    strides = at.get("strides") or [1] * nd
    lhs = at.get("input_dilation") or [1] * nd
    rhs = at.get("kernel_dilation") or [1] * nd
    groups, bgroups = at.get("feature_group_size", 1), at.get("batch_group_size", 1)
    sp = x.shape[2:]
    dil = [(s - 1) * d + 1 if s else 0 for s, d in zip(sp, lhs)]
    xd = np.zeros((n, c) + tuple(dil))
    xd[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in lhs)] = x
    eff = [(kk - 1) * d + 1 for kk, d in zip(k.shape[2:], rhs)]
    xp = _pad(xd, _padding(at, eff), 0.0, 2)
    out_sp = [max((p - e) // s + 1, 0) for p, e, s in zip(xp.shape[2:], eff, strides)]
    nb = n // bgroups
    out = np.zeros((nb, o) + tuple(out_sp))
    cin = c // groups
    for pos in itertools.product(*[range(s) for s in out_sp]):
        win = xp[(slice(None), slice(None)) + tuple(
            slice(p * s, p * s + e, d) for p, s, e, d in zip(pos, strides, eff, rhs))]
        for oc in range(o):
            g = oc // (o // groups)
            b = oc // (o // bgroups)
            part = win[b * nb:(b + 1) * nb, g * cin:(g + 1) * cin]
            out[(slice(None), oc) + pos] = np.sum(part * k[oc], axis=tuple(range(1, part.ndim)))
    if at.get("output_permutation"):
        out = np.transpose(out, np.argsort(at["output_permutation"]))
    return out


def _conv(c, x, k):
    rt = to_floating(nx_merge(c.in_dtypes[0], c.in_dtypes[1]))
    return T(conv_reference(f64(x), f64(k), c.attrs), rt)


def _small(shape, dt=None):
    return In(shape, "int", lo=-2, hi=2, dtype=dt)


def conv_cases():
    dts = ["float", "s8", "u8", "s32"]

    def case(name, x, k, attrs=None, dtypes=("f32", "f64"), tol=4):
        return Case(f"conv.{name}", "conv", [x, k], list(dtypes), _conv, attrs=attrs or {},
                    tol_scale=tol)

    return [
        case("basic", _small((1, 2, 5, 5)), _small((3, 2, 3, 3)), dtypes=dts),
        case("float", In((2, 2, 5, 4)), In((3, 2, 3, 2)), dtypes=["float"]),
        case("1d_strided", In((2, 3, 8)), In((4, 3, 3)), {"strides": [2]}, dtypes=dts),
        case("same", In((1, 1, 5, 6)), In((2, 1, 3, 2)), {"padding": "same"}, dtypes=dts),
        case("same_strided", In((1, 1, 6, 7)), In((2, 1, 3, 3)),
             {"padding": "same", "strides": [2, 3]}),
        case("explicit", In((1, 2, 4, 4)), In((2, 2, 2, 3)), {"padding": [[1, 0], [2, 1]]}),
        case("negative_padding", In((1, 1, 6, 6)), In((1, 1, 2, 2)),
             {"padding": [[-1, 0], [0, -2]]}),
        case("kernel_dilation", In((1, 2, 7, 6)), In((2, 2, 3, 2)), {"kernel_dilation": [2, 3]},
             dtypes=dts),
        case("input_dilation", In((1, 2, 3, 3)), In((2, 2, 3, 3)),
             {"input_dilation": [2, 2], "padding": [[2, 2], [2, 2]]}, dtypes=dts),
        case("strided_dilated", In((2, 1, 9, 9)), In((2, 1, 3, 3)),
             {"strides": [2, 2], "kernel_dilation": [2, 1], "input_dilation": [1, 2]}),
        case("feature_groups", In((1, 4, 5, 5)), In((6, 2, 3, 3)), {"feature_group_size": 2},
             dtypes=dts),
        case("depthwise", In((2, 3, 7)), In((3, 1, 3)), {"feature_group_size": 3}),
        case("batch_groups", In((2, 2, 5)), In((4, 2, 3)), {"batch_group_size": 2}),
        case("nhwc", In((1, 5, 5, 2)), In((3, 3, 2, 4)),
             {"input_permutation": [0, 3, 1, 2], "kernel_permutation": [3, 2, 0, 1],
              "output_permutation": [0, 3, 1, 2]}, dtypes=["float"]),
        case("output_permutation", In((1, 2, 4, 5)), In((3, 2, 2, 2)),
             {"output_permutation": [0, 2, 3, 1]}),
        case("3d", In((1, 2, 3, 4, 4)), In((2, 2, 2, 2, 2)), {"padding": "same"}),
        case("1x1", In((2, 3, 4, 4)), In((5, 3, 1, 1)), dtypes=["float"]),
        case("empty_batch", In((0, 2, 4, 4)), In((3, 2, 3, 3))),
        case("mixed", In((1, 2, 4, 4)), _small((2, 2, 3, 3), "s32"), dtypes=["f64", "f16"]),
        Case("conv.channel_error", "conv", [In((1, 3, 5, 5)), In((2, 2, 3, 3))], ["f32"],
             expect_error=True),
        Case("conv.rank_error", "conv", [In((1, 3, 5)), In((2, 3, 3, 3))], ["f32"],
             expect_error=True),
        Case("conv.groups_error", "conv", [In((1, 4, 5)), In((3, 2, 3))], ["f32"],
             attrs={"feature_group_size": 2}, expect_error=True),
    ]


# ---- window reductions --------------------------------------------------------------------------


def _identity(kind, dt):
    if kind in ("sum", "mean"):
        return 0
    if kind == "product":
        return 1
    if dt in FLOATS:
        return -np.inf if kind == "max" else np.inf
    lo, hi = int_range(dt)
    return lo if kind == "max" else hi


def _windows(x, at, init):
    """(padded array, output shape, function from output index to the window's view)."""
    nd = x.ndim
    window = at["window"]
    strides = at.get("strides") or [1] * nd
    dil = at.get("window_dilations") or [1] * nd
    eff = [(w - 1) * d + 1 for w, d in zip(window, dil)]
    xp = _pad(x, _padding(at, eff), init, 0)
    out_shape = [max((p - e) // s + 1, 0) for p, e, s in zip(xp.shape, eff, strides)]

    def view(pos):
        return xp[tuple(slice(p * s, p * s + e, d) for p, s, e, d in zip(pos, strides, eff, dil))]
    return out_shape, view


def window_ref(kind):
    def ref(c, x):
        dt = "u8" if c.dtype == "pred" else c.dtype
        v = f64(x) if dt in FLOATS else x.astype(np.uint8 if c.dtype == "pred" else x.dtype)
        init = _identity(kind, dt)
        out_shape, view = _windows(v, c.attrs, init)
        fn = {"sum": np.sum, "mean": np.sum, "product": np.prod, "max": np.max, "min": np.min}[kind]
        out = np.zeros(out_shape, dtype=v.dtype)
        for pos in itertools.product(*[range(s) for s in out_shape]):
            out[pos] = fn(view(pos))  # NumPy integer sums and products wrap in the dtype
        if kind == "mean":
            return T(f64(out) / np.prod(c.attrs["window"]), to_floating(dt))
        return T(out, dt)
    return ref


def window_cases():
    cases = []
    for kind in ("sum", "product", "max", "min", "mean"):
        op = f"window_{kind}"
        ref = window_ref(kind)
        gen = dict(gen="uniform", lo=0.5, hi=1.5) if kind == "product" else {}
        small = dict(gen="int", lo=-2, hi=2) if kind == "product" else {}
        tol = 2 if kind in ("sum", "product", "mean") else 1

        def case(name, shape, attrs, dtypes, spec=None):
            return Case(f"{op}.{name}", op, [spec or In(shape, **gen)], dtypes, ref, attrs=attrs,
                        tol_scale=tol)

        cases += [
            case("basic", (2, 6), {"window": [1, 3]}, "all", In((2, 6), **small)),
            case("2d", (4, 5), {"window": [2, 2]}, ["float", "s32"]),
            case("strided", (5, 7), {"window": [2, 3], "strides": [2, 2]}, ["f32", "s16", "u8"]),
            case("same", (4, 5), {"window": [3, 2], "padding": "same"}, ["f32", "f64", "s8"]),
            case("same_strided", (5, 6), {"window": [3, 3], "padding": "same",
                                          "strides": [2, 2]}, ["f32"]),
            case("explicit", (3, 4), {"window": [2, 2], "padding": [[1, 0], [2, 1]]},
                 ["f32", "u16"]),
            # Nx rejects negative window padding (crop with slice first); so do we.
            Case(f"{op}.negative_padding_error", op, [In((5, 5))], ["f32"],
                 attrs={"window": [2, 2], "padding": [[-1, 0], [0, -2]]}, expect_error=True),
            case("dilated", (6, 7), {"window": [2, 3], "window_dilations": [2, 2]},
                 ["f32", "s32"]),
            case("3d", (2, 4, 5), {"window": [1, 2, 3], "strides": [1, 2, 1], "padding": "same"},
                 ["f64"]),
            case("rank1", (9,), {"window": [4], "strides": [3]}, ["f32", "u64"]),
            case("whole", (3, 4), {"window": [3, 4]}, ["bf16", "s64"]),
            Case(f"{op}.window_error", op, [In((3, 4))], ["f32"], attrs={"window": [2]},
                 expect_error=True),
            Case(f"{op}.stride_error", op, [In((3, 4))], ["f32"],
                 attrs={"window": [2, 2], "strides": [0, 1]}, expect_error=True),
        ]
        if kind in ("max", "min"):
            cases.append(case("special", (4, 6), {"window": [2, 3], "strides": [2, 3]}, "float",
                              In((4, 6), "special")))
    return cases


def scatter_ref(kind):
    def ref(c, x, source, init):
        dt = c.dtype
        v = f64(x) if dt in FLOATS else x.astype(object)
        nd = x.ndim
        at = c.attrs
        window = at["window"]
        strides = at.get("strides") or [1] * nd
        dil = at.get("window_dilations") or [1] * nd
        eff = [(w - 1) * d + 1 for w, d in zip(window, dil)]
        pads = _padding(at, eff)
        out = np.full(x.shape, f64(init) if dt in FLOATS else int(init), dtype=object)
        src = f64(source) if dt in FLOATS else source.astype(object)
        for pos in itertools.product(*[range(s) for s in source.shape]):
            best = None
            for off in itertools.product(*[range(w) for w in window]):
                idx = tuple(p * s + o * d - lo for p, s, o, d, (lo, _) in
                            zip(pos, strides, off, dil, pads))
                if any(i < 0 or i >= n for i, n in zip(idx, x.shape)):
                    continue  # padding is never selected
                if best is None or (v[idx] > v[best] if kind == "max" else v[idx] < v[best]):
                    best = idx
            if best is not None:
                out[best] = out[best] + src[pos]
        return T(out.astype(np.float64 if dt in FLOATS else np.int64), dt)
    return ref


def scatter_cases():
    cases = []
    for kind in ("max", "min"):
        op = f"window_scatter_{kind}"
        ref = scatter_ref(kind)

        def case(name, xs, ss, attrs, dtypes):
            return Case(f"{op}.{name}", op,
                        [In(xs, "distinct"), In(ss, "int", lo=1, hi=5), In((), "values", values=1)],
                        dtypes, ref, attrs=attrs)

        cases += [
            case("tiles", (4, 6), (2, 2), {"window": [2, 3], "strides": [2, 3]}, "numeric"),
            case("overlap", (4, 5), (3, 4), {"window": [2, 2]}, ["f32", "s32", "u8"]),
            case("same", (4, 5), (2, 3), {"window": [3, 3], "strides": [2, 2],
                                          "padding": "same"}, ["f32", "f64", "s16"]),
            case("explicit", (3, 4), (2, 3), {"window": [2, 2], "strides": [2, 2],
                                              "padding": [[1, 0], [1, 1]]}, ["f32"]),
            case("rank1", (8,), (3,), {"window": [3], "strides": [3], "padding": [[0, 1]]},
                 ["f64", "s64"]),
            Case(f"{op}.source_error", op, [In((4, 6)), In((3, 3)), In(())], ["f32"],
                 attrs={"window": [2, 3], "strides": [2, 3]}, expect_error=True),
        ]
    return cases


def cases():
    return conv_cases() + window_cases() + scatter_cases()
