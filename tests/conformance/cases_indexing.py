"""Indexing (include/nx/ops/indexing.hpp) and sorting (include/nx/ops/sort.hpp).

gather clamps out-of-range indices into their axis (documented); take counts negative indices
from the end. Scatters: indexed_add accumulates duplicates, indexed_put lets the last update in
row-major order win; updates convert to x's dtype (indexed_add on pred computes in u8).
Sorting is stable in both directions; NaN sorts above +inf and -0.0 ties with 0.0.
"""

import numpy as np

from refcore import ALL, FLOATS, Case, In, T, f64


def _idx(values, dt="s64"):
    arr = np.asarray(values)
    return In(arr.shape, "values", values=arr.tolist(), dtype=dt)


def _take(c, x, idx):
    axis = c.attrs.get("axis", 0) % x.ndim
    return T(np.take(x, idx.astype(np.int64), axis=axis), c.dtype)


def _take_along(c, x, idx):
    return T(np.take_along_axis(x, idx.astype(np.int64), axis=c.attrs["axis"]), c.dtype)


def _gather_positions(x, idx, axes):
    """Per index row: a tuple indexing x (clamped positions on `axes`, full slices elsewhere)."""
    rows = idx.reshape(-1, idx.shape[-1]).astype(np.int64)
    out = []
    for row in rows:
        sel = [slice(None)] * x.ndim
        for a, i in zip(axes, row):
            sel[a] = int(min(max(i, 0), x.shape[a] - 1))
        out.append(tuple(sel))
    return out


def _axes(c, x):
    return [a % x.ndim for a in c.attrs["axes"]] if "axes" in c.attrs else list(range(x.ndim))


def _gather(c, x, idx):
    axes = _axes(c, x)
    pieces = [x[sel] for sel in _gather_positions(x, idx, axes)]
    rest = [x.shape[a] for a in range(x.ndim) if a not in axes]
    return T(np.stack(pieces).reshape(idx.shape[:-1] + tuple(rest)), c.dtype)


def _scatter(kind):
    def ref(c, x, idx, upd):
        axes = _axes(c, x)
        dt = "u8" if (kind == "add" and c.dtype == "pred") else c.dtype
        out = f64(x) if dt in FLOATS else x.astype(np.bool_ if dt == "pred" else np.int64)
        # indexed_put copies bits, so its updates are converted to x's dtype up front.
        u = f64(upd) if dt in FLOATS else upd.astype(out.dtype)
        rest = [x.shape[a] for a in range(x.ndim) if a not in axes]
        u = u.reshape((-1,) + tuple(rest))
        for sel, piece in zip(_gather_positions(x, idx, axes), u):
            if kind == "add":
                out[sel] = out[sel] + piece
            else:
                out[sel] = piece
        return T(out, dt)
    return ref


def _scatter_along(c, x, idx, upd):
    axis = c.attrs["axis"] % x.ndim
    out = f64(x) if c.dtype in FLOATS else x.astype(np.int64)
    u = f64(upd) if c.dtype in FLOATS else upd.astype(np.int64)
    for pos in np.ndindex(*idx.shape):
        target = list(pos)
        target[axis] = int(idx[pos])
        out[tuple(target)] += u[pos]
    return T(out, c.dtype)


def _one_hot(c, idx):
    depth, axis = c.attrs["depth"], c.attrs.get("axis", -1)
    hot = (idx.astype(np.int64)[..., None] == np.arange(depth))
    return T(np.moveaxis(hot, -1, axis), c.attrs.get("dtype", "f32"))


def indexing_cases():
    take, along, gather = _take, _take_along, _gather
    add, put = _scatter("add"), _scatter("put")
    return [
        Case("take.basic", "take", [In((4, 5)), _idx([2, 0, -1, 3])], ALL, take),
        Case("take.axis1", "take", [In((4, 5)), _idx([[1, 4], [0, -5]], "s32")],
             ["f32", "u8", "pred"], take, attrs={"axis": 1}),
        Case("take.negative_axis", "take", [In((2, 3, 4)), _idx([3, 1], "u8")], ["s16"], take,
             attrs={"axis": -1}),
        Case("take.scalar_index", "take", [In((4, 5)), _idx(2, "s32")], ["f64"], take),
        Case("take.empty", "take", [In((4, 5)), In((0,), dtype="s64")], ["f32"], take),
        Case("take.float_index_error", "take", [In((4, 5)), In((2,), dtype="f32")], ["f32"],
             expect_error=True),
        Case("take_along_axis.basic", "take_along_axis",
             [In((3, 4)), _idx([[0, 3], [1, 1], [2, 0]])], ALL, along, attrs={"axis": 1}),
        Case("take_along_axis.axis0", "take_along_axis",
             [In((3, 4)), _idx([[2, 1, 0, 0], [0, 0, 2, 1]], "s32")], ["f32", "s8"], along,
             attrs={"axis": 0}),
        Case("take_along_axis.rank_error", "take_along_axis", [In((3, 4)), _idx([0, 1])], ["f32"],
             attrs={"axis": 0}, expect_error=True),
        Case("gather.all_axes", "gather", [In((3, 4)), _idx([[0, 1], [2, 3], [1, 0], [2, 2]])],
             ALL, gather),
        Case("gather.one_axis", "gather", [In((3, 4)), _idx([[3], [0]], "s32")], ["f32", "s64"],
             gather, attrs={"axes": [1]}),
        Case("gather.batched_indices", "gather",
             [In((2, 3, 4)), _idx([[[1, 2], [0, 0]], [[1, 0], [0, 1]]], "u16")], ["f32", "u8"],
             gather, attrs={"axes": [0, 1]}),
        Case("gather.reordered_axes", "gather", [In((3, 4)), _idx([[3, 0], [1, 2]])], ["f64"],
             gather, attrs={"axes": [1, 0]}),
        Case("gather.clamped", "gather", [In((3, 4)), _idx([[5, -1], [-7, 9], [1, 4]])],
             ["f32", "s32"], gather),
        Case("gather.error", "gather", [In((3, 4)), _idx([[0, 1, 2]])], ["f32"],
             expect_error=True),
        Case("indexed_add.basic", "indexed_add",
             [In((3, 4)), _idx([[0, 1], [2, 3], [0, 1], [1, 0]]), In((4,))], ALL, add),
        Case("indexed_add.axes", "indexed_add", [In((3, 4)), _idx([[2], [0], [2]]), In((3, 4))],
             ["f32", "s16", "bf16"], add, attrs={"axes": [0]}),
        Case("indexed_add.mixed_updates", "indexed_add",
             [In((2, 3)), _idx([[1, 1], [0, 2]]), In((2,), "int", lo=1, hi=3, dtype="s32")],
             ["f32", "u8"], add),
        Case("indexed_add.shape_error", "indexed_add", [In((3, 4)), _idx([[0, 1]]), In((2,))],
             ["f32"], expect_error=True),
        Case("indexed_put.basic", "indexed_put",
             [In((3, 4)), _idx([[0, 1], [2, 3], [0, 1], [1, 0]]), In((4,))], ALL, put),
        Case("indexed_put.axes", "indexed_put", [In((3, 4)), _idx([[1], [1], [0]], "s32"),
                                                 In((3, 3))], ["f64", "u32", "pred"], put,
             attrs={"axes": [1]}),
        Case("scatter_add_along_axis.basic", "scatter_add_along_axis",
             [In((3, 4)), _idx([[0, 0], [3, 1], [2, 2]]), In((3, 2))], "numeric", _scatter_along,
             attrs={"axis": 1}),
        Case("scatter_add_along_axis.axis0", "scatter_add_along_axis",
             [In((3, 2)), _idx([[2, 0], [2, 1]], "s32"), In((2, 2))], ["f32", "s64"],
             _scatter_along, attrs={"axis": 0}),
        Case("scatter_add_along_axis.shape_error", "scatter_add_along_axis",
             [In((3, 4)), _idx([[0, 1]]), In((1, 3))], ["f32"], attrs={"axis": 1},
             expect_error=True),
        Case("one_hot.basic", "one_hot", [_idx([0, 2, 1, 1])], ["s64"], _one_hot,
             attrs={"depth": 3}),
        Case("one_hot.out_of_range", "one_hot", [_idx([0, 5, -1, 2])], ["s32", "u8"], _one_hot,
             attrs={"depth": 3}),
        Case("one_hot.axis0", "one_hot", [_idx([[0, 1], [2, 0]])], ["s64"], _one_hot,
             attrs={"depth": 4, "axis": 0}),
    ] + [Case(f"one_hot.to_{d}", "one_hot", [_idx([1, 0, 2])], ["s64"], _one_hot,
              attrs={"depth": 3, "dtype": d}) for d in ALL]


def _sort_order(c, x):
    """Stable order (ascending or descending) of x along the axis, NaN above +inf."""
    axis = c.attrs.get("axis", -1) % x.ndim
    v = np.moveaxis(f64(x) if c.dtype in FLOATS else x.astype(object), axis, -1)
    order = np.zeros(v.shape, dtype=np.int64)
    desc = c.attrs.get("descending", False)
    for pos in np.ndindex(*v.shape[:-1]):
        row = list(v[pos])
        key = [(1, 0) if isinstance(e, float) and np.isnan(e) else (0, e) for e in row]
        idx = sorted(range(len(row)), key=lambda i: key[i])  # Python's sort is stable
        if desc:
            idx = sorted(range(len(row)), key=lambda i: key[i], reverse=True)  # stays stable
        order[pos] = idx
    return np.moveaxis(order, -1, axis), axis


def _sort(c, x):
    order, axis = _sort_order(c, x)
    return T(np.take_along_axis(x, order, axis=axis), c.dtype)


def _argsort(c, x):
    order, _ = _sort_order(c, x)
    return T(order, "s64")


def _top_k(c, x):
    c2 = type(c)(c.dtype, c.in_dtypes, {"axis": -1, "descending": True})
    order, _ = _sort_order(c2, x)
    order = order[..., :c.attrs["k"]]
    return [T(np.take_along_axis(x, order, axis=-1), c.dtype), T(order, "s64")]


def sort_cases():
    ties = In((2, 6), "values", values=[[3, 1, 3, 2, 1, 3], [0, 0, 0, 0, 0, 0]])
    cases = []
    for op, ref in [("sort", _sort), ("argsort", _argsort)]:
        cases += [
            Case(f"{op}.basic", op, [In((3, 5))], ALL, ref),
            Case(f"{op}.descending", op, [In((3, 5))], ALL, ref, attrs={"descending": True}),
            Case(f"{op}.axis0", op, [In((4, 3))], ["f32", "s32", "u8"], ref, attrs={"axis": 0}),
            Case(f"{op}.axis0_descending", op, [In((4, 3))], ["f64", "s8"], ref,
                 attrs={"axis": 0, "descending": True}),
            Case(f"{op}.ties", op, [ties], "numeric", ref),
            Case(f"{op}.ties_descending", op, [ties], "numeric", ref, attrs={"descending": True}),
            Case(f"{op}.special", op, [In((24,), "special")], "numeric", ref),
            Case(f"{op}.special_descending", op, [In((24,), "special")], "numeric", ref,
                 attrs={"descending": True}),
            Case(f"{op}.long", op, [In((2, 300))], ["f32", "s16", "u64"], ref),
            Case(f"{op}.long_descending", op, [In((2, 300))], ["f64", "u8"], ref,
                 attrs={"descending": True}),
            Case(f"{op}.empty", op, [In((0, 3))], ["f32"], ref),
            Case(f"{op}.rank0_error", op, [In(())], ["f32"], expect_error=True),
        ]
    cases += [
        Case("top_k.basic", "top_k", [In((3, 5), "distinct")], "numeric", _top_k, attrs={"k": 2}),
        Case("top_k.ties", "top_k", [ties], ["f32", "s32", "u8"], _top_k, attrs={"k": 4}),
        Case("top_k.special", "top_k", [In((24,), "special")], "float", _top_k, attrs={"k": 5}),
        Case("top_k.all", "top_k", [In((2, 3, 4))], ["f64", "pred"], _top_k, attrs={"k": 4}),
        Case("top_k.zero", "top_k", [In((2, 4))], ["f32"], _top_k, attrs={"k": 0}),
        Case("top_k.k_error", "top_k", [In((2, 4))], ["f32"], attrs={"k": 5}, expect_error=True),
    ]
    return cases


def cases():
    return indexing_cases() + sort_cases()
