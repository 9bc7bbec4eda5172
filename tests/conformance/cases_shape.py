"""Shape and movement ops (include/nx/ops/shape.hpp): every dtype, values move unchanged.

Slicing follows Nx.slice: `lengths` is the extent before striding (the result has
ceil(length / stride) elements) and starts are clamped so the slice fits.
"""

import numpy as np

from refcore import ALL, FLOATS, Case, In, T, nx_merge


def same(fn):
    """A movement op: fn over the first input, result in the case dtype."""
    def ref(c, x, *rest):
        return T(fn(c.attrs, x, *rest), c.in_dtypes[0])
    return ref


def _reshape(at, x):
    return x.reshape(at["shape"])


def _broadcast(at, x):
    shape = at["shape"]
    if "axes" not in at:
        return np.broadcast_to(x, shape).copy()
    expanded = [1] * len(shape)
    for i, a in enumerate(at["axes"]):
        expanded[a % len(shape)] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape).copy()


def _transpose(at, x):
    return np.transpose(x, at.get("axes"))


def _squeeze(at, x):
    return np.squeeze(x, axis=tuple(at["axes"])) if "axes" in at else np.squeeze(x)


def _flatten(at, x):
    r = max(x.ndim, 1)
    s = at.get("start_axis", 0) % r
    e = at.get("end_axis", -1) % r
    shape = list(x.shape) if x.ndim else [1]
    return x.reshape(shape[:s] + [int(np.prod(shape[s:e + 1]))] + shape[e + 1:])


def _clamped_starts(shape, starts, lengths):
    return [min(max(int(s), 0), d - l) for s, d, l in zip(starts, shape, lengths)]


def _slice(at, x, *starts):
    st = [int(s) for s in starts] if starts else at["start"]
    lengths = at["lengths"]
    strides = at.get("strides") or [1] * x.ndim
    st = _clamped_starts(x.shape, st, lengths)
    return x[tuple(slice(s, s + l, k) for s, l, k in zip(st, lengths, strides))]


def _slice_along_axis(at, x):
    axis = at.get("axis", 0) % x.ndim
    start = min(max(at["start"], 0), x.shape[axis] - at["length"])
    idx = [slice(None)] * x.ndim
    idx[axis] = slice(start, start + at["length"], at.get("stride", 1))
    return x[tuple(idx)]


def _put_slice(at, x, update, *starts):
    st = [int(s) for s in starts] if starts else at["start"]
    st = _clamped_starts(x.shape, st, update.shape)
    out = x.copy()
    out[tuple(slice(s, s + l) for s, l in zip(st, update.shape))] = update
    return out


def _pad(at, x, value):
    out = x
    for axis, (lo, hi, interior) in enumerate(at["config"]):
        n = out.shape[axis]
        if interior and n > 1:
            size = n + (n - 1) * interior
            shape = list(out.shape)
            shape[axis] = size
            tmp = np.full(shape, value, dtype=out.dtype)
            idx = [slice(None)] * out.ndim
            idx[axis] = slice(0, size, interior + 1)
            tmp[tuple(idx)] = out
            out = tmp
        for amount, at_end in ((lo, False), (hi, True)):
            if amount > 0:
                shape = list(out.shape)
                shape[axis] = amount
                block = np.full(shape, value, dtype=out.dtype)
                out = np.concatenate([out, block] if at_end else [block, out], axis=axis)
            elif amount < 0:
                idx = [slice(None)] * out.ndim
                n = out.shape[axis]
                idx[axis] = slice(0, n + amount) if at_end else slice(-amount, n)
                out = out[tuple(idx)]
    return out


def _tile(at, x):
    return np.tile(x, at["reps"])


def _tri(fn):
    return lambda at, x: fn(x, at.get("k", 0))


def _concat_ref(c, *xs):
    rt = c.in_dtypes[0]
    for d in c.in_dtypes[1:]:
        rt = nx_merge(rt, d)
    vals = [x.astype(np.float64 if rt in FLOATS else np.int64) if rt != "pred" else x for x in xs]
    return T(np.concatenate(vals, axis=c.attrs.get("axis", 0)), rt)


def _stack_ref(c, *xs):
    return T(np.stack(xs, axis=c.attrs.get("axis", 0)), c.dtype)


def _split_ref(c, x):
    axis = c.attrs.get("axis", 0)
    if "n" in c.attrs:
        parts = np.split(x, c.attrs["n"], axis=axis)
    else:
        parts = np.split(x, np.cumsum(c.attrs["sizes"])[:-1], axis=axis)
    return [T(p, c.dtype) for p in parts]


def _rev(at, x):
    axes = at.get("axes") or list(range(x.ndim))
    return np.flip(x, axis=tuple(axes)) if x.ndim else x


def _case(name, op, inputs, ref, attrs, dtypes=ALL):
    return Case(name, op, inputs, dtypes, ref, attrs=attrs)


def _err(name, op, inputs, attrs):
    return Case(name, op, inputs, ["f32"], attrs=attrs, expect_error=True)


def reshape_broadcast_cases():
    r, b = same(_reshape), same(_broadcast)
    return [
        _case("reshape.basic", "reshape", [In((2, 3, 4))], r, {"shape": [4, 6]}),
        _case("reshape.infer", "reshape", [In((6,))], r, {"shape": [2, -1]}, ["f32", "u8"]),
        _case("reshape.rank0", "reshape", [In(())], r, {"shape": [1, 1]}, ["s64"]),
        _case("reshape.to_rank0", "reshape", [In((1, 1))], r, {"shape": []}, ["f16"]),
        _case("reshape.empty", "reshape", [In((0, 3))], r, {"shape": [3, 0]}, ["f32"]),
        _err("reshape.count_error", "reshape", [In((2, 3))], {"shape": [4, 2]}),
        _err("reshape.two_infer_error", "reshape", [In((2, 3))], {"shape": [-1, -1]}),
        _case("broadcast.basic", "broadcast", [In((3,))], b, {"shape": [2, 3]}),
        _case("broadcast.ones", "broadcast", [In((1, 3))], b, {"shape": [4, 2, 3]},
              ["f32", "pred"]),
        _case("broadcast.scalar", "broadcast", [In(())], b, {"shape": [2, 2]}, ["bf16", "s8"]),
        _case("broadcast.empty", "broadcast", [In((1,))], b, {"shape": [0, 1]}, ["f32"]),
        _case("broadcast.axes", "broadcast", [In((3,))], b, {"shape": [3, 2], "axes": [0]}),
        _case("broadcast.axes2", "broadcast", [In((2, 3))], b, {"shape": [2, 4, 3], "axes": [0, 2]},
              ["f64", "u32"]),
        _case("broadcast.axes_ones", "broadcast", [In((1, 3))], b,
              {"shape": [5, 2, 3], "axes": [1, 2]}, ["s16"]),
        _err("broadcast.shape_error", "broadcast", [In((3,))], {"shape": [4]}),
        _err("broadcast.rank_error", "broadcast", [In((2, 3))], {"shape": [3]}),
        _err("broadcast.axes_error", "broadcast", [In((3,))], {"shape": [3, 2], "axes": [1]}),
    ]


def permute_cases():
    t, sq, na, fl = same(_transpose), same(_squeeze), same(lambda at, x: np.expand_dims(
        x, at["axis"])), same(_flatten)
    return [
        _case("transpose.default", "transpose", [In((2, 3, 4))], t, {}),
        _case("transpose.axes", "transpose", [In((2, 3, 4))], t, {"axes": [2, 0, 1]}),
        _case("transpose.negative_axes", "transpose", [In((2, 3, 4))], t, {"axes": [-1, 0, 1]},
              ["f32"]),
        _case("transpose.rank0", "transpose", [In(())], t, {}, ["s32"]),
        _case("transpose.empty", "transpose", [In((0, 2))], t, {"axes": [1, 0]}, ["f32"]),
        _case("transpose.big", "transpose", [In((17, 33))], t, {"axes": [1, 0]}, ["f32", "u8"]),
        _err("transpose.repeat_error", "transpose", [In((2, 3, 4))], {"axes": [0, 0, 1]}),
        _err("transpose.rank_error", "transpose", [In((2, 3, 4))], {"axes": [1, 0]}),
        _case("squeeze.all", "squeeze", [In((1, 3, 1, 2))], sq, {}),
        _case("squeeze.axes", "squeeze", [In((1, 3, 1, 2))], sq, {"axes": [0]}, ["f32", "s8"]),
        _case("squeeze.negative", "squeeze", [In((1, 3, 1, 2))], sq, {"axes": [-2]}, ["u64"]),
        _err("squeeze.size_error", "squeeze", [In((1, 3))], {"axes": [1]}),
        _case("new_axis.front", "new_axis", [In((2, 3))], na, {"axis": 0}),
        _case("new_axis.middle", "new_axis", [In((2, 3))], na, {"axis": 1}, ["f32"]),
        _case("new_axis.last", "new_axis", [In((2, 3))], na, {"axis": -1}, ["s32"]),
        _case("new_axis.rank0", "new_axis", [In(())], na, {"axis": 0}, ["pred"]),
        _err("new_axis.axis_error", "new_axis", [In((2, 3))], {"axis": 4}),
        _case("flatten.default", "flatten", [In((2, 3, 4))], fl, {}),
        _case("flatten.tail", "flatten", [In((2, 3, 4))], fl, {"start_axis": 1}, ["f32"]),
        _case("flatten.head", "flatten", [In((2, 3, 4))], fl, {"start_axis": 0, "end_axis": 1},
              ["u16"]),
        _case("flatten.rank0", "flatten", [In(())], fl, {}, ["f64"]),
    ]


def slice_cases():
    s, sa, ps = same(_slice), same(_slice_along_axis), same(_put_slice)
    idx = lambda v, dt="s64": In((), "values", values=v, dtype=dt)  # noqa: E731
    return [
        _case("slice.basic", "slice", [In((4, 5))], s, {"start": [1, 2], "lengths": [2, 3]}),
        _case("slice.strides", "slice", [In((6, 7))], s,
              {"start": [0, 1], "lengths": [6, 5], "strides": [2, 3]}, ["f32", "s8", "pred"]),
        _case("slice.clamped", "slice", [In((4, 5))], s, {"start": [3, 4], "lengths": [2, 2]},
              ["f32", "u64"]),
        _case("slice.empty", "slice", [In((4, 5))], s, {"start": [1, 0], "lengths": [0, 5]},
              ["f32"]),
        _case("slice.full", "slice", [In((2, 3, 4))], s,
              {"start": [0, 0, 0], "lengths": [2, 3, 4]}, ["bf16"]),
        _err("slice.length_error", "slice", [In((4, 5))], {"start": [0, 0], "lengths": [5, 1]}),
        _err("slice.rank_error", "slice", [In((4, 5))], {"start": [0], "lengths": [1]}),
        _case("dynamic_slice.basic", "dynamic_slice", [In((4, 5)), idx(1), idx(2)], s, {"lengths": [2, 3]}),
        _case("dynamic_slice.clamped", "dynamic_slice", [In((4, 5)), idx(7, "s32"), idx(-3, "s32")], s,
              {"lengths": [2, 3]}, ["f32", "s16"]),
        _case("dynamic_slice.u8", "dynamic_slice", [In((4, 5)), idx(250, "u8"), idx(1, "u8")], s,
              {"lengths": [1, 2]}, ["f64"]),
        _case("slice_along_axis.basic", "slice_along_axis", [In((4, 5))], sa,
              {"start": 1, "length": 3, "axis": 1}),
        _case("slice_along_axis.stride", "slice_along_axis", [In((6, 2))], sa,
              {"start": 0, "length": 6, "axis": 0, "stride": 2}, ["f32", "s32"]),
        _case("slice_along_axis.negative_axis", "slice_along_axis", [In((3, 4, 5))], sa,
              {"start": 2, "length": 2, "axis": -1}, ["u8"]),
        _case("put_slice.basic", "put_slice", [In((4, 5)), In((2, 3))], ps, {"start": [1, 2]}),
        _case("put_slice.clamped", "put_slice", [In((4, 5)), In((2, 2))], ps, {"start": [3, 9]},
              ["f32", "s64"]),
        _case("dynamic_put_slice.basic", "dynamic_put_slice", [In((4, 5)), In((2, 3)), idx(1), idx(0)], ps, {}),
        _case("dynamic_put_slice.clamped", "dynamic_put_slice",
              [In((4, 5)), In((3, 2)), idx(-2, "s32"), idx(100, "s32")], ps, {}, ["f16", "u32"]),
        _err("put_slice.shape_error", "put_slice", [In((4, 5)), In((5, 1))], {"start": [0, 0]}),
    ]


def join_cases():
    p, rv, tl = same(_pad), same(_rev), same(_tile)
    val = In((), "values", values=7)
    return [
        _case("pad.basic", "pad", [In((2, 3)), val], p, {"config": [[1, 2, 0], [0, 1, 0]]}),
        _case("pad.interior", "pad", [In((2, 3)), val], p, {"config": [[0, 0, 1], [1, 1, 2]]}),
        _case("pad.negative", "pad", [In((4, 5)), val], p, {"config": [[-1, 0, 0], [-2, -1, 0]]},
              ["f32", "s32", "pred"]),
        _case("pad.mixed", "pad", [In((3, 4)), val], p, {"config": [[-1, 2, 1], [2, -3, 1]]},
              ["f32", "u8"]),
        _case("pad.rank1_empty", "pad", [In((0,)), val], p, {"config": [[2, 1, 3]]}, ["f64"]),
        _case("pad.rank0", "pad", [In(()), val], p, {"config": []}, ["s16"]),
        _err("pad.config_error", "pad", [In((2, 3)), val], {"config": [[1, 1, 0]]}),
        _err("pad.interior_error", "pad", [In((2, 3)), val], {"config": [[0, 0, -1], [0, 0, 0]]}),
        _case("reverse.all", "reverse", [In((2, 3, 4))], rv, {}),
        _case("reverse.axes", "reverse", [In((2, 3, 4))], rv, {"axes": [1]}, ["f32", "s8"]),
        _case("reverse.two", "reverse", [In((2, 3, 4))], rv, {"axes": [0, 2]}, ["u32"]),
        _case("reverse.negative", "reverse", [In((2, 3))], rv, {"axes": [-1]}, ["bf16"]),
        _case("reverse.empty", "reverse", [In((0, 3))], rv, {"axes": [1]}, ["f32"]),
        _case("tile.basic", "tile", [In((2, 3))], tl, {"reps": [2, 3]}),
        _case("tile.longer", "tile", [In((3,))], tl, {"reps": [2, 1, 2]}, ["f32", "u8"]),
        _case("tile.ones", "tile", [In((2, 2))], tl, {"reps": [1, 1]}, ["s64"]),
        _case("tile.zero", "tile", [In((2, 2))], tl, {"reps": [0, 2]}, ["f32"]),
        _case("tril.basic", "tril", [In((3, 4))], same(_tri(np.tril)), {}),
        _case("tril.k", "tril", [In((4, 3))], same(_tri(np.tril)), {"k": 1}, ["f32", "s32"]),
        _case("tril.negative_k", "tril", [In((2, 3, 4))], same(_tri(np.tril)), {"k": -1},
              ["f64", "pred"]),
        _case("triu.basic", "triu", [In((3, 4))], same(_tri(np.triu)), {}),
        _case("triu.k", "triu", [In((4, 3))], same(_tri(np.triu)), {"k": 1}, ["f32", "u16"]),
        _case("triu.negative_k", "triu", [In((2, 3, 4))], same(_tri(np.triu)), {"k": -2},
              ["bf16", "s8"]),
        _err("tril.rank_error", "tril", [In((3,))], {}),
    ]


def concat_cases():
    return [
        Case("concatenate.basic", "concatenate", [In((2, 3)), In((4, 3)), In((1, 3))], ALL,
             _concat_ref, attrs={"axis": 0}),
        Case("concatenate.axis1", "concatenate", [In((2, 3)), In((2, 1))], ["f32", "s64"],
             _concat_ref, attrs={"axis": 1}),
        Case("concatenate.negative_axis", "concatenate", [In((2, 2, 1)), In((2, 2, 3))], ["u8"],
             _concat_ref, attrs={"axis": -1}),
        Case("concatenate.empty_piece", "concatenate", [In((0, 3)), In((2, 3))], ["f32"],
             _concat_ref, attrs={"axis": 0}),
        Case("concatenate.single", "concatenate", [In((2, 3))], ["s16"], _concat_ref,
             attrs={"axis": 1}),
        Case("concatenate.mixed", "concatenate", [In((2,)), In((3,), dtype="s32")], ["f32"],
             _concat_ref, attrs={"axis": 0}),
        Case("concatenate.mixed_int", "concatenate", [In((2,)), In((3,), dtype="s8")], ["u8"],
             _concat_ref, attrs={"axis": 0}),
        Case("concatenate.mixed_pred", "concatenate", [In((2,)), In((1,), dtype="f16")], ["pred"],
             _concat_ref, attrs={"axis": 0}),
        Case("concatenate.shape_error", "concatenate", [In((2, 3)), In((2, 4))], ["f32"],
             attrs={"axis": 0}, expect_error=True),
        Case("concatenate.rank0_error", "concatenate", [In(()), In(())], ["f32"],
             attrs={"axis": 0}, expect_error=True),
        Case("stack.basic", "stack", [In((2, 3)), In((2, 3))], ALL, _stack_ref, attrs={"axis": 0}),
        Case("stack.last", "stack", [In((2, 3)), In((2, 3)), In((2, 3))], ["f32", "u8"],
             _stack_ref, attrs={"axis": -1}),
        Case("stack.scalars", "stack", [In(()), In(())], ["s32"], _stack_ref, attrs={"axis": 0}),
        Case("stack.shape_error", "stack", [In((2, 3)), In((3, 2))], ["f32"], attrs={"axis": 0},
             expect_error=True),
        Case("split.sizes", "split", [In((5, 2))], ALL, _split_ref,
             attrs={"sizes": [2, 3], "axis": 0}),
        Case("split.n", "split", [In((2, 6))], ["f32", "s32"], _split_ref,
             attrs={"n": 3, "axis": 1}),
        Case("split.negative_axis", "split", [In((2, 4))], ["u8"], _split_ref,
             attrs={"sizes": [1, 0, 3], "axis": -1}),
        Case("split.sizes_error", "split", [In((5, 2))], ["f32"],
             attrs={"sizes": [2, 2], "axis": 0}, expect_error=True),
        Case("split.n_error", "split", [In((5, 2))], ["f32"], attrs={"n": 2, "axis": 0},
             expect_error=True),
    ]


def cases():
    return (reshape_broadcast_cases() + permute_cases() + slice_cases() + join_cases()
            + concat_cases())
