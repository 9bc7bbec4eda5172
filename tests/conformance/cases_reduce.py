"""Reductions, statistics, softmax, argmax/argmin and scans (include/nx/ops/reduce.hpp).

Accumulation types (sum, product, cumulative_sum, cumulative_product): unsigned integers give
u64, signed s64, pred s64, floats keep their dtype. max/min keep the dtype and propagate NaN.
mean, variance, standard_deviation, logsumexp, softmax and log_softmax are floating (integers
compute in f32). Composite ops round at each step in the input dtype, so their cases scale the
float tolerances.
"""

import numpy as np

from refcore import FLOATS, NUMERIC, Case, In, T, f64, is_unsigned, to_floating


def acc_dt(dt: str) -> str:
    if dt in FLOATS:
        return dt
    return "u64" if is_unsigned(dt) else "s64"


def _axes(at, x):
    axes = at.get("axes")
    if axes is None:
        return None
    return tuple(a % x.ndim for a in axes) if x.ndim else None


def _acc_view(x, dt):
    if dt in FLOATS:
        return f64(x)
    return x.astype(np.uint64 if is_unsigned(dt) else np.int64)


def accumulate(np_fn):
    def ref(c, x):
        dt = acc_dt(c.dtype)
        return T(np_fn(_acc_view(x, c.dtype), axis=_axes(c.attrs, x),
                       keepdims=c.attrs.get("keep_axes", False)), dt)
    return ref


def extremum(np_fn):
    def ref(c, x):
        v = f64(x) if c.dtype in FLOATS else x
        return T(np_fn(v, axis=_axes(c.attrs, x), keepdims=c.attrs.get("keep_axes", False)),
                 c.dtype)
    return ref


def logical(np_fn):
    def ref(c, x):
        return T(np_fn(x != 0, axis=_axes(c.attrs, x), keepdims=c.attrs.get("keep_axes", False)),
                 "pred")
    return ref


def floating(fn):
    def ref(c, x):
        return T(fn(f64(x), c.attrs), to_floating(c.dtype))
    return ref


def _mean(x, at):
    return np.mean(x, axis=_axes(at, x), keepdims=at.get("keep_axes", False))


def _var(x, at):
    return np.var(x, axis=_axes(at, x), ddof=at.get("ddof", 0), keepdims=at.get("keep_axes", False))


def _std(x, at):
    return np.sqrt(_var(x, at))


def _logsumexp(x, at):
    axes = _axes(at, x)
    m = np.max(x, axis=axes, keepdims=True) if x.size else np.zeros([1] * x.ndim)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    if not at.get("keep_axes", False):
        out = np.squeeze(out, axis=axes) if axes is not None else out.reshape(())
    return out


def _soft_axes(at, x):
    return tuple(a % x.ndim for a in at.get("axes", [-1]))


def _softmax(x, at):
    axes = _soft_axes(at, x)
    e = np.exp(x - np.max(x, axis=axes, keepdims=True))
    return e / np.sum(e, axis=axes, keepdims=True)


def _log_softmax(x, at):
    axes = _soft_axes(at, x)
    s = x - np.max(x, axis=axes, keepdims=True)
    return s - np.log(np.sum(np.exp(s), axis=axes, keepdims=True))


def _arg(kind):
    def ref(c, x):
        v = f64(x) if c.dtype in FLOATS else x.astype(object)  # Python ints compare exactly
        axis = c.attrs.get("axis")
        if axis is None:
            v = v.reshape(-1)
            axis = 0
        axis %= v.ndim
        v = np.moveaxis(v, axis, -1)
        flat = v.reshape(-1, v.shape[-1])
        out = []
        for row in flat:
            out.append(_pick(list(row), kind, c.attrs.get("tie_high", False)))
        res = np.array(out, dtype=np.int64).reshape(v.shape[:-1])
        if c.attrs.get("keep_axis", False):
            res = np.expand_dims(res, axis)
        return T(res, "s64")
    return ref


def _pick(row, kind, tie_high):
    """Index of the max (min) of row; NaN counts as the extreme; ties take the lowest index
    unless tie_high."""
    order = range(len(row) - 1, -1, -1) if tie_high else range(len(row))
    nan = [i for i in order if isinstance(row[i], float) and np.isnan(row[i])]
    if nan:
        return nan[0]
    best = None
    for i in order:
        if best is None or (row[i] > row[best] if kind == "max" else row[i] < row[best]):
            best = i
    return best


def scan(kind):
    def ref(c, x):
        axis = c.attrs.get("axis", 0) % x.ndim
        rev = c.attrs.get("reverse", False)
        if kind in ("sum", "product"):
            dt = acc_dt(c.dtype)
            v = _acc_view(x, c.dtype)
            fn = np.cumsum if kind == "sum" else np.cumprod
        else:
            dt = c.dtype
            v = f64(x) if dt in FLOATS else x
            fn = (np.maximum if kind == "max" else np.minimum).accumulate
        if rev:
            v = np.flip(v, axis)
        out = fn(v, axis=axis)
        if rev:
            out = np.flip(out, axis)
        return T(out, dt)
    return ref


def _variants(op, ref, dtypes, shape=(2, 3, 4), gen="auto", extra=(), tol=1.0, **kw):
    spec = In(shape, gen, **kw)
    cases = [
        Case(f"{op}.all", op, [spec], dtypes, ref, tol_scale=tol),
        Case(f"{op}.axis", op, [spec], dtypes, ref, attrs={"axes": [1]}, tol_scale=tol),
        Case(f"{op}.axes_keep", op, [spec], dtypes, ref, attrs={"axes": [0, 2], "keep_axes": True},
             tol_scale=tol),
        Case(f"{op}.negative_axis", op, [spec], ["f32", "s32"], ref, attrs={"axes": [-1]},
             tol_scale=tol),
        Case(f"{op}.rank0", op, [In((), gen, **kw)], ["f32"], ref, tol_scale=tol),
        Case(f"{op}.axis_error", op, [spec], ["f32"], attrs={"axes": [3]}, expect_error=True),
    ]
    return cases + list(extra)


def reduce_cases():
    s, p = accumulate(np.sum), accumulate(np.prod)
    mx, mn = extremum(np.max), extremum(np.min)
    cases = []
    cases += _variants("sum", s, "all", extra=[
        Case("sum.special", "sum", [In((24,), "special")], "float", s),
        Case("sum.long", "sum", [In((1024,))], ["numeric"], s, tol_scale=4),
        Case("sum.overflow_u8", "sum", [In((300,), "int", lo=200, hi=255)], ["u8"], s),
        Case("sum.empty", "sum", [In((0, 3))], ["f32", "s8", "pred"], s, attrs={"axes": [0]}),
        Case("sum.empty_all", "sum", [In((2, 0))], ["u16", "f64"], s),
    ])
    cases += _variants("product", p, "all", gen="int", lo=-3, hi=3, extra=[
        Case("product.special", "product", [In((24,), "special")], "float", p),
        Case("product.float", "product", [In((3, 8), "uniform", lo=0.5, hi=1.5)], "float", p,
             attrs={"axes": [1]}, tol_scale=4),
        Case("product.empty", "product", [In((0, 3))], ["f32", "s8"], p, attrs={"axes": [0]}),
    ])
    for op, ref in [("reduce_max", mx), ("reduce_min", mn)]:
        cases += _variants(op, ref, "numeric", extra=[
            Case(f"{op}.special", op, [In((24,), "special")], "numeric", ref),
            Case(f"{op}.nan_row", op, [In((2, 3), "values",
                                          values=[[1.0, np.nan, 3.0], [-np.inf, 0.0, 2.0]])],
                 "float", ref, attrs={"axes": [1]}),
        ])
    for op, fn in [("all", np.all), ("any", np.any)]:
        ref = logical(fn)
        cases += _variants(op, ref, "all", gen="int", lo=0, hi=1, extra=[
            Case(f"{op}.special", op, [In((24,), "special")], "float", ref),
            Case(f"{op}.mostly_true", op, [In((3, 5), "int", lo=1, hi=1)], ["s32", "pred"], ref,
                 attrs={"axes": [1]}),
            Case(f"{op}.empty", op, [In((0, 3))], ["f32", "pred"], ref, attrs={"axes": [0]}),
        ])
    return cases


def stats_cases():
    cases = []
    mean = floating(_mean)
    cases += _variants("mean", mean, "all", extra=[
        Case("mean.special", "mean", [In((24,), "special")], "float", mean),
        Case("mean.long", "mean", [In((1000,))], "numeric", mean, tol_scale=4),
    ])
    for op, fn in [("variance", _var), ("standard_deviation", _std)]:
        ref = floating(fn)
        cases += _variants(op, ref, "numeric", tol=4, extra=[
            Case(f"{op}.ddof", op, [In((3, 5))], NUMERIC, ref, attrs={"axes": [1], "ddof": 1},
                 tol_scale=4),
            Case(f"{op}.ddof_all", op, [In((4, 3))], ["f64"], ref, attrs={"ddof": 2}),
            Case(f"{op}.offset", op, [In((16,), "uniform", lo=999, hi=1001)], ["f32", "f64"], ref,
                 tol_scale=100),
        ])
    lse = floating(_logsumexp)
    cases += _variants("logsumexp", lse, "numeric", tol=4, extra=[
        Case("logsumexp.large", "logsumexp", [In((2, 3), "values",
                                                 values=[[1000, 1001, 999], [-1000, -1001, -999]])],
             "float", lse, attrs={"axes": [1]}, tol_scale=4),
        Case("logsumexp.infinities", "logsumexp",
             [In((3, 2), "values", values=[[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, 0.0]])],
             "float", lse, attrs={"axes": [1]}),
    ])
    for op, fn in [("softmax", _softmax), ("log_softmax", _log_softmax)]:
        ref = floating(fn)
        cases += [
            Case(f"{op}.default", op, [In((3, 4), "normal", scale=3.0)], "numeric", ref,
                 tol_scale=4),
            Case(f"{op}.axis0", op, [In((3, 4), "normal", scale=3.0)], ["f32", "f64"], ref,
                 attrs={"axes": [0]}, tol_scale=4),
            Case(f"{op}.two_axes", op, [In((2, 3, 4), "normal", scale=3.0)], ["f32", "bf16"], ref,
                 attrs={"axes": [1, 2]}, tol_scale=4),
            Case(f"{op}.large", op,
                 [In((2, 3), "values", values=[[1000, 1001, 999], [-1e4, 0, -np.inf]])], "float",
                 ref, tol_scale=4),
            Case(f"{op}.rank1", op, [In((5,))], ["f32"], ref, tol_scale=4),
            Case(f"{op}.axis_error", op, [In((3, 4))], ["f32"], attrs={"axes": [2]},
                 expect_error=True),
        ]
    return cases


def arg_cases():
    cases = []
    for op, kind in [("argmax", "max"), ("argmin", "min")]:
        ref = _arg(kind)
        ties = In((2, 4), "values", values=[[1, 3, 3, 0], [2, 2, 2, 2]])
        cases += [
            Case(f"{op}.flat", op, [In((3, 4), "distinct")], "numeric", ref),
            Case(f"{op}.axis", op, [In((3, 4), "distinct")], "numeric", ref, attrs={"axis": 1}),
            Case(f"{op}.axis0_keep", op, [In((3, 4), "distinct")], ["f32", "s8"], ref,
                 attrs={"axis": 0, "keep_axis": True}),
            Case(f"{op}.negative_axis", op, [In((2, 3, 4), "distinct")], ["f64"], ref,
                 attrs={"axis": -2}),
            Case(f"{op}.ties_low", op, [ties], "numeric", ref, attrs={"axis": 1}),
            Case(f"{op}.ties_high", op, [ties], "numeric", ref,
                 attrs={"axis": 1, "tie_high": True}),
            Case(f"{op}.ties_flat_high", op, [ties], ["f32", "u8"], ref, attrs={"tie_high": True}),
            Case(f"{op}.special", op, [In((4, 6), "special")], "numeric", ref, attrs={"axis": 1}),
            Case(f"{op}.nan", op, [In((2, 4), "values",
                                      values=[[1, np.nan, 5, np.nan], [-np.inf, 0, np.inf, 2]])],
                 "float", ref, attrs={"axis": 1}),
            Case(f"{op}.nan_high", op, [In((1, 4), "values", values=[[1, np.nan, 5, np.nan]])],
                 "float", ref, attrs={"axis": 1, "tie_high": True}),
            Case(f"{op}.axis_error", op, [In((3, 4))], ["f32"], attrs={"axis": 2},
                 expect_error=True),
        ]
    return cases


def scan_cases():
    cases = []
    for kind in ("sum", "product", "max", "min"):
        op = f"cumulative_{kind}"
        ref = scan(kind)
        gen = dict(gen="int", lo=-3, hi=3) if kind == "product" else {}
        cases += [
            Case(f"{op}.basic", op, [In((3, 4), **gen)], "numeric", ref, tol_scale=2),
            Case(f"{op}.axis1", op, [In((3, 4), **gen)], ["f32", "s32", "u8"], ref,
                 attrs={"axis": 1}, tol_scale=2),
            Case(f"{op}.reverse", op, [In((3, 4), **gen)], ["f64", "s16", "bf16"], ref,
                 attrs={"axis": 1, "reverse": True}, tol_scale=2),
            Case(f"{op}.negative_axis", op, [In((2, 3, 4), **gen)], ["f32"], ref,
                 attrs={"axis": -1}, tol_scale=2),
            Case(f"{op}.special", op, [In((24,), "special")], "float", ref),
            Case(f"{op}.empty", op, [In((0, 3))], ["f32"], ref, attrs={"axis": 0}),
            Case(f"{op}.axis_error", op, [In((3, 4))], ["f32"], attrs={"axis": 2},
                 expect_error=True),
        ]
    cases.append(Case("cumulative_sum.long", "cumulative_sum", [In((512,))], ["f32", "s8"],
                      scan("sum"), tol_scale=4))
    return cases


def cases():
    return reduce_cases() + stats_cases() + arg_cases() + scan_cases()
