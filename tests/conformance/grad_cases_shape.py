"""Gradient cases of include/nx/ops/shape.hpp, include/nx/ops/indexing.hpp and
include/nx/ops/sort.hpp: movement ops (the gradient moves back), slicing and padding (the
gradient of dropped elements is zero), gathers and scatters (duplicates accumulate), sorting.

Clamped starts and indices follow the forward cases (cases_shape.py, cases_indexing.py).
indexed_put cases use distinct positions: with duplicates the overwritten updates get no
gradient, and torch's index_put does not say which update wins.
"""

import numpy as np
import torch

from grad_core import GradCase, X, idx


def _clamped(shape, starts, lengths):
    return [min(max(int(s), 0), d - n) for s, d, n in zip(starts, shape, lengths)]


def _broadcast(at, x):
    shape = at["shape"]
    if "axes" not in at:
        return torch.broadcast_to(x, shape)
    expanded = [1] * len(shape)
    for i, a in enumerate(at["axes"]):
        expanded[a % len(shape)] = x.shape[i]
    return torch.broadcast_to(x.reshape(expanded), shape)


def _transpose(at, x):
    return x.permute(at["axes"] if "axes" in at else list(reversed(range(x.dim()))))


def _squeeze(at, x):
    if "axes" not in at:
        return x.squeeze()
    for a in sorted((a % x.dim() for a in at["axes"]), reverse=True):
        x = x.squeeze(a)
    return x


def _flatten(at, x):
    return torch.flatten(x, at.get("start_axis", 0), at.get("end_axis", -1))


def _slice(at, x, *starts):
    st = [int(s) for s in starts] if starts else at["start"]
    lengths = at["lengths"]
    strides = at.get("strides") or [1] * x.dim()
    st = _clamped(x.shape, st, lengths)
    return x[tuple(slice(s, s + n, k) for s, n, k in zip(st, lengths, strides))]


def _slice_along_axis(at, x):
    axis = at.get("axis", 0) % x.dim()
    start = min(max(at["start"], 0), x.shape[axis] - at["length"])
    index = [slice(None)] * x.dim()
    index[axis] = slice(start, start + at["length"], at.get("stride", 1))
    return x[tuple(index)]


def _put_slice(at, x, update, *starts):
    st = [int(s) for s in starts] if starts else at["start"]
    st = _clamped(x.shape, st, update.shape)
    out = x.clone()
    out[tuple(slice(s, s + n) for s, n in zip(st, update.shape))] = update
    return out


def _pad(at, x, value):
    out = x
    for axis, (lo, hi, interior) in enumerate(at["config"]):
        n = out.shape[axis]
        if interior and n > 1:
            shape = list(out.shape)
            shape[axis] = n + (n - 1) * interior
            tmp = value.expand(shape).clone()
            index = [slice(None)] * out.dim()
            index[axis] = slice(0, shape[axis], interior + 1)
            tmp[tuple(index)] = out
            out = tmp
        for amount, at_end in ((lo, False), (hi, True)):
            if amount > 0:
                shape = list(out.shape)
                shape[axis] = amount
                block = value.expand(shape)
                out = torch.cat([out, block] if at_end else [block, out], dim=axis)
            elif amount < 0:
                n = out.shape[axis]
                out = out.narrow(axis, 0, n + amount) if at_end else out.narrow(axis, -amount,
                                                                                 n + amount)
    return out


def _promote(xs):
    dtype = torch.float64 if any(x.dtype == torch.float64 for x in xs) else xs[0].dtype
    return [x.to(dtype) for x in xs]


def _split(at, x):
    axis = at.get("axis", 0)
    if "n" in at:
        return list(torch.split(x, x.shape[axis] // at["n"], dim=axis))
    return list(torch.split(x, at["sizes"], dim=axis))


def _tri(fn):
    return lambda at, x: fn(x, at.get("k", 0))


def shape_cases():
    def case(name, op, inputs, ref, attrs=None):
        return GradCase(name, op, inputs, ref, attrs or {})

    return [
        case("reshape.basic", "reshape", [X((2, 3, 4))], lambda at, x: x.reshape(at["shape"]),
             {"shape": [4, 6]}),
        case("reshape.infer", "reshape", [X((6,))], lambda at, x: x.reshape(at["shape"]),
             {"shape": [2, -1]}),
        case("broadcast.basic", "broadcast", [X((3,))], _broadcast, {"shape": [2, 3]}),
        case("broadcast.ones", "broadcast", [X((1, 3))], _broadcast, {"shape": [4, 2, 3]}),
        case("broadcast.scalar", "broadcast", [X(())], _broadcast, {"shape": [2, 2]}),
        case("broadcast.axes", "broadcast", [X((3,))], _broadcast, {"shape": [3, 2], "axes": [0]}),
        case("broadcast.axes2", "broadcast", [X((2, 3))], _broadcast,
             {"shape": [2, 4, 3], "axes": [0, 2]}),
        case("transpose.default", "transpose", [X((2, 3, 4))], _transpose),
        case("transpose.axes", "transpose", [X((2, 3, 4))], _transpose, {"axes": [2, 0, 1]}),
        case("squeeze.all", "squeeze", [X((1, 3, 1, 2))], _squeeze),
        case("squeeze.axes", "squeeze", [X((1, 3, 1, 2))], _squeeze, {"axes": [-2]}),
        case("new_axis.middle", "new_axis", [X((2, 3))], lambda at, x: x.unsqueeze(at["axis"]),
             {"axis": 1}),
        case("new_axis.last", "new_axis", [X((2, 3))], lambda at, x: x.unsqueeze(at["axis"]),
             {"axis": -1}),
        case("flatten.default", "flatten", [X((2, 3, 4))], _flatten),
        case("flatten.tail", "flatten", [X((2, 3, 4))], _flatten, {"start_axis": 1}),
        case("slice.basic", "slice", [X((4, 5))], _slice, {"start": [1, 2], "lengths": [2, 3]}),
        case("slice.strides", "slice", [X((6, 7))], _slice,
             {"start": [0, 1], "lengths": [5, 6], "strides": [2, 3]}),
        case("slice.clamped", "slice", [X((4, 5))], _slice, {"start": [3, 4], "lengths": [2, 2]}),
        case("dynamic_slice.basic", "dynamic_slice", [X((4, 5)), idx(1), idx(2)], _slice,
             {"lengths": [2, 3]}),
        case("dynamic_slice.clamped", "dynamic_slice", [X((4, 5)), idx(7, "s32"), idx(-3, "s32")],
             _slice, {"lengths": [2, 3]}),
        case("slice_along_axis.basic", "slice_along_axis", [X((4, 5))], _slice_along_axis,
             {"start": 1, "length": 2, "axis": 1}),
        case("slice_along_axis.stride", "slice_along_axis", [X((6, 2))], _slice_along_axis,
             {"start": 0, "length": 5, "axis": 0, "stride": 2}),
        case("put_slice.basic", "put_slice", [X((4, 5)), X((2, 3))], _put_slice,
             {"start": [1, 2]}),
        case("put_slice.clamped", "put_slice", [X((4, 5)), X((2, 2))], _put_slice,
             {"start": [3, 9]}),
        case("dynamic_put_slice.basic", "dynamic_put_slice",
             [X((4, 5)), X((2, 3)), idx(1), idx(0)],
             lambda at, x, u, *s: _put_slice(at, x, u, *s)),
        case("dynamic_put_slice.clamped", "dynamic_put_slice",
             [X((4, 5)), X((3, 2)), idx(3, "s32"), idx(-1, "s32")],
             lambda at, x, u, *s: _put_slice(at, x, u, *s)),
        case("pad.basic", "pad", [X((2, 3)), X(())], _pad, {"config": [[1, 2, 0], [0, 1, 0]]}),
        case("pad.interior", "pad", [X((2, 3)), X(())], _pad,
             {"config": [[0, 0, 1], [1, 1, 2]]}),
        case("pad.negative", "pad", [X((4, 5)), X(())], _pad,
             {"config": [[-1, 0, 0], [-2, -1, 0]]}),
        case("pad.mixed", "pad", [X((3, 4)), X(())], _pad, {"config": [[-1, 2, 1], [2, -3, 1]]}),
        case("concatenate.basic", "concatenate", [X((2, 3)), X((4, 3)), X((1, 3))],
             lambda at, *xs: torch.cat(xs, dim=at["axis"]), {"axis": 0}),
        case("concatenate.axis1", "concatenate", [X((2, 3)), X((2, 1))],
             lambda at, *xs: torch.cat(xs, dim=at["axis"]), {"axis": 1}),
        case("concatenate.empty_piece", "concatenate", [X((0, 3)), X((2, 3))],
             lambda at, *xs: torch.cat(xs, dim=at["axis"]), {"axis": 0}),
        case("concatenate.mixed", "concatenate", [X((2,)), X((3,), dtype="f64")],
             lambda at, *xs: torch.cat(_promote(xs), dim=at["axis"]), {"axis": 0}),
        case("stack.basic", "stack", [X((2, 3)), X((2, 3))],
             lambda at, *xs: torch.stack(xs, dim=at["axis"]), {"axis": 0}),
        case("stack.last", "stack", [X((2, 3)), X((2, 3)), X((2, 3))],
             lambda at, *xs: torch.stack(xs, dim=at["axis"]), {"axis": -1}),
        case("reverse.all", "reverse", [X((2, 3, 4))],
             lambda at, x: torch.flip(x, list(range(x.dim())))),
        case("reverse.axes", "reverse", [X((2, 3, 4))], lambda at, x: torch.flip(x, at["axes"]),
             {"axes": [0, 2]}),
        case("tile.basic", "tile", [X((2, 3))], lambda at, x: torch.tile(x, at["reps"]),
             {"reps": [2, 3]}),
        case("tile.longer", "tile", [X((3,))], lambda at, x: torch.tile(x, at["reps"]),
             {"reps": [2, 1, 2]}),
        case("split.sizes", "split", [X((5, 2))], _split, {"sizes": [2, 3], "axis": 0}),
        case("split.n", "split", [X((2, 6))], _split, {"n": 3, "axis": 1}),
        case("tril.basic", "tril", [X((3, 4))], _tri(torch.tril)),
        case("tril.negative_k", "tril", [X((2, 3, 4))], _tri(torch.tril), {"k": -1}),
        case("triu.basic", "triu", [X((3, 4))], _tri(torch.triu)),
        case("triu.k", "triu", [X((4, 3))], _tri(torch.triu), {"k": 1}),
    ]


# ---- indexing ------------------------------------------------------------------------------------


def _take(at, x, i):
    axis = at.get("axis", 0) % x.dim()
    n = x.shape[axis]
    flat = torch.remainder(i.reshape(-1).long(), n)  # negative indices count from the end
    out = torch.index_select(x, axis, flat)
    return out.reshape(list(x.shape[:axis]) + list(i.shape) + list(x.shape[axis + 1:]))


def _take_along(at, x, i):
    axis = at["axis"] % x.dim()
    return torch.gather(x, axis, torch.remainder(i.long(), x.shape[axis]))


def _positions(x, i, at):
    """(x with the indexed axes moved first, index tuple, inverse permutation)."""
    axes = [a % x.dim() for a in at["axes"]] if "axes" in at else list(range(x.dim()))
    rest = [a for a in range(x.dim()) if a not in axes]
    perm = axes + rest
    xp = x.permute(perm)
    index = tuple(torch.clamp(i[..., j].long(), 0, x.shape[a] - 1) for j, a in enumerate(axes))
    return xp, index, list(np.argsort(perm))


def _gather(at, x, i):
    xp, index, _ = _positions(x, i, at)
    return xp[index]


def _indexed(accumulate):
    def ref(at, x, i, u):
        xp, index, inverse = _positions(x, i, at)
        return xp.index_put(index, u.to(x.dtype), accumulate=accumulate).permute(inverse)
    return ref


def indexing_cases():
    take, along, gather = _take, _take_along, _gather
    return [
        GradCase("take.basic", "take", [X((4, 5)), idx([2, 0, -1, 3, 2])], take),
        GradCase("take.axis1", "take", [X((4, 5)), idx([[1, 4], [0, -5]], "s32")], take,
                 {"axis": 1}),
        GradCase("take.negative_axis", "take", [X((2, 3, 4)), idx([3, 1, 3], "u8")], take,
                 {"axis": -1}),
        GradCase("take.scalar_index", "take", [X((4, 5)), idx(2, "s32")], take),
        GradCase("take_along_axis.basic", "take_along_axis",
                 [X((3, 4)), idx([[0, 3], [1, 1], [2, 0]])], along, {"axis": 1}),
        GradCase("take_along_axis.axis0", "take_along_axis",
                 [X((3, 2)), idx([[2, 0], [2, 1], [0, 0], [1, 2]])], along, {"axis": 0}),
        GradCase("gather.all_axes", "gather",
                 [X((3, 4)), idx([[0, 1], [2, 3], [1, 0], [2, 3]])], gather),
        GradCase("gather.one_axis", "gather", [X((3, 4)), idx([[3], [0], [3]], "s32")], gather,
                 {"axes": [1]}),
        GradCase("gather.batched_indices", "gather",
                 [X((2, 3, 4)), idx([[[0, 1], [1, 2]], [[1, 0], [0, 1]]])], gather,
                 {"axes": [0, 1]}),
        GradCase("gather.reordered_axes", "gather", [X((3, 4)), idx([[3, 0], [1, 2]])], gather,
                 {"axes": [1, 0]}),
        GradCase("gather.clamped", "gather", [X((3, 4)), idx([[5, -1], [-7, 9], [1, 4]])],
                 gather),
        GradCase("indexed_add.basic", "indexed_add",
                 [X((3, 4)), idx([[0, 1], [2, 3], [0, 1], [1, 0]]), X((4,))], _indexed(True)),
        GradCase("indexed_add.axes", "indexed_add", [X((3, 4)), idx([[2], [0], [2]]), X((3, 4))],
                 _indexed(True), {"axes": [0]}),
        GradCase("indexed_add.clamped", "indexed_add",
                 [X((3, 4)), idx([[5, -1], [1, 9]]), X((2,))], _indexed(True)),
        GradCase("indexed_put.basic", "indexed_put",
                 [X((3, 4)), idx([[0, 1], [2, 3], [1, 0]]), X((3,))], _indexed(False)),
        GradCase("indexed_put.axes", "indexed_put", [X((3, 4)), idx([[1], [3]], "s32"),
                                                     X((2, 3))], _indexed(False), {"axes": [1]}),
        GradCase("scatter_add_along_axis.basic", "scatter_add_along_axis",
                 [X((3, 4)), idx([[0, 3, 0], [1, 1, 2], [2, 0, 2]]), X((3, 3))],
                 lambda at, x, i, u: x.scatter_add(at["axis"], i.long(), u), {"axis": 1}),
        GradCase("scatter_add_along_axis.axis0", "scatter_add_along_axis",
                 [X((3, 2)), idx([[2, 0], [2, 1]]), X((2, 2))],
                 lambda at, x, i, u: x.scatter_add(at["axis"], i.long(), u), {"axis": 0}),
    ]


def _sort(at, x):
    return torch.sort(x, dim=at.get("axis", -1), descending=at.get("descending", False),
                      stable=True).values


def sort_cases():
    d = X((3, 5), "distinct")
    return [
        GradCase("sort.basic", "sort", [d], _sort),
        GradCase("sort.descending", "sort", [d], _sort, {"descending": True}),
        GradCase("sort.axis0", "sort", [X((4, 3), "distinct")], _sort, {"axis": 0}),
        GradCase("top_k.basic", "top_k", [d], lambda at, x: list(torch.topk(x, at["k"])),
                 {"k": 2}),
        GradCase("argsort.basic", "argsort", [d],
                 lambda at, x: torch.argsort(x, dim=-1), zero_grad=True),
    ]


def creation_cases():
    """The *_like ops: their values do not depend on the input's values."""
    x = X((2, 3))
    return [
        GradCase("zeros_like.basic", "zeros_like", [x], lambda at, v: torch.zeros_like(v),
                 zero_grad=True),
        GradCase("ones_like.basic", "ones_like", [x], lambda at, v: torch.ones_like(v),
                 zero_grad=True),
        GradCase("full_like.basic", "full_like", [x],
                 lambda at, v: torch.full_like(v, at["value"]), {"value": 2.5}, zero_grad=True),
    ]


def cases():
    return shape_cases() + indexing_cases() + sort_cases() + creation_cases()
