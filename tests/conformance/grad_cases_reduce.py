"""Gradient cases of include/nx/ops/reduce.hpp and include/nx/ops/linalg.hpp: reductions,
statistics, softmax, scans, products, norms and QR.

max/min reductions, cumulative max/min and the infinity norms get distinct inputs (no ties);
products include exact zeros, where the gradient is still the product of the other factors.
"""

import numpy as np
import torch

from grad_core import GradCase, X, axes_of, over_axes


def _keep(at):
    return at.get("keep_axes", False)


def _sum(at, x):
    return x.sum(dim=axes_of(at, x.dim()), keepdim=_keep(at)) if x.dim() else x


def _prod(at, x):
    return over_axes(x, axes_of(at, x.dim()), _keep(at), lambda y: torch.prod(y, dim=-1))


def _amax(at, x):
    return over_axes(x, axes_of(at, x.dim()), _keep(at), lambda y: torch.amax(y, dim=-1))


def _amin(at, x):
    return over_axes(x, axes_of(at, x.dim()), _keep(at), lambda y: torch.amin(y, dim=-1))


def _mean(at, x):
    return over_axes(x, axes_of(at, x.dim()), _keep(at), lambda y: torch.mean(y, dim=-1))


def _var(at, x):
    ddof = at.get("ddof", 0)

    def var(y):
        d = y - y.mean(dim=-1, keepdim=True)
        return (d * d).sum(dim=-1) / (y.shape[-1] - ddof)
    return over_axes(x, axes_of(at, x.dim()), _keep(at), var)


def _std(at, x):
    return torch.sqrt(_var(at, x))


def _logsumexp(at, x):
    return over_axes(x, axes_of(at, x.dim()), _keep(at), lambda y: torch.logsumexp(y, dim=-1))


def _log_softmax(at, x):
    axes = axes_of({"axes": at.get("axes", [-1])}, x.dim())
    return x - over_axes(x, axes, True, lambda y: torch.logsumexp(y, dim=-1))


def _softmax(at, x):
    return torch.exp(_log_softmax(at, x))


def _reduce_variants(op, ref, spec, tol=1.0):
    """The axis variants of the forward table over a rank-3 spec, and a rank-0 input."""
    return [
        GradCase(f"{op}.all", op, [spec], ref, tol_scale=tol),
        GradCase(f"{op}.axis", op, [spec], ref, {"axes": [1]}, tol_scale=tol),
        GradCase(f"{op}.axes_keep", op, [spec], ref, {"axes": [0, 2], "keep_axes": True},
                 tol_scale=tol),
        GradCase(f"{op}.negative_axis", op, [spec], ref, {"axes": [-1]}, tol_scale=tol),
        GradCase(f"{op}.rank0", op, [X((), spec.gen, lo=spec.lo, hi=spec.hi)], ref,
                 tol_scale=tol),
    ]


def reduce_cases():
    x = X((2, 3, 4))
    distinct = X((2, 3, 4), "distinct")
    factors = X((2, 3, 4), "away", lo=0.5, hi=1.5)
    cases = []
    cases += _reduce_variants("sum", _sum, x)
    cases += [
        GradCase("sum.empty", "sum", [X((0, 3))], _sum, {"axes": [0]}),
        GradCase("sum.long", "sum", [X((1024,))], _sum, tol_scale=4),
        GradCase("sum.long_rows", "sum", [X((3, 300))], _sum, {"axes": [1]}, tol_scale=4),
    ]
    cases += _reduce_variants("product", _prod, factors)
    cases += [
        GradCase("product.with_zero", "product",
                 [X((2, 4), "values", values=[[0.0, 1.5, -2.0, 0.5], [0.0, 2.0, 0.0, 1.2]])],
                 _prod, {"axes": [1]}),
    ]
    cases += _reduce_variants("reduce_max", _amax, distinct)
    cases += _reduce_variants("reduce_min", _amin, distinct)
    cases += _reduce_variants("mean", _mean, x)
    for op, ref in [("variance", _var), ("standard_deviation", _std)]:
        cases += _reduce_variants(op, ref, x, tol=2)[:4]
        cases += [
            GradCase(f"{op}.ddof", op, [X((3, 5))], ref, {"axes": [1], "ddof": 1}, tol_scale=2),
            GradCase(f"{op}.ddof_all", op, [X((4, 3))], ref, {"ddof": 2}, tol_scale=2),
        ]
    cases += _reduce_variants("logsumexp", _logsumexp, X((2, 3, 4), scale=2.0), tol=2)
    cases.append(GradCase("logsumexp.large", "logsumexp",
                          [X((2, 3), "values", values=[[1000, 1001, 999], [-1000, -1001, -999]])],
                          _logsumexp, {"axes": [1]}))
    for op, ref in [("softmax", _softmax), ("log_softmax", _log_softmax)]:
        cases += [
            GradCase(f"{op}.default", op, [X((3, 4), scale=2.0)], ref, tol_scale=2),
            GradCase(f"{op}.axis0", op, [X((3, 4), scale=2.0)], ref, {"axes": [0]}, tol_scale=2),
            GradCase(f"{op}.two_axes", op, [X((2, 3, 4), scale=2.0)], ref, {"axes": [1, 2]},
                     tol_scale=2),
            GradCase(f"{op}.large", op,
                     [X((2, 3), "values", values=[[1000, 1001, 999], [-50, 0, -3]])], ref,
                     tol_scale=2),
            GradCase(f"{op}.rank1", op, [X((5,))], ref, tol_scale=2),
            GradCase(f"{op}.wide", op, [X((4, 257), scale=2.0)], ref, tol_scale=4),
        ]
    return cases


def _arg(fn):
    def ref(at, x):
        if "axis" not in at:
            return fn(x.reshape(-1), dim=0)
        return fn(x, dim=at["axis"], keepdim=at.get("keep_axis", False))
    return ref


def _logical(fn):
    def ref(at, x):
        return over_axes(x != 0, axes_of(at, x.dim()), _keep(at), lambda y: fn(y, dim=-1))
    return ref


def zero_grad_cases():
    d = X((3, 4), "distinct")
    return [
        GradCase("argmax.axis", "argmax", [d], _arg(torch.argmax), {"axis": 1}, zero_grad=True),
        GradCase("argmax.flat", "argmax", [d], _arg(torch.argmax), zero_grad=True),
        GradCase("argmin.axis", "argmin", [d], _arg(torch.argmin), {"axis": 0}, zero_grad=True),
        GradCase("all.axis", "all", [d], _logical(torch.all), {"axes": [1]}, zero_grad=True),
        GradCase("any.all", "any", [d], _logical(torch.any), zero_grad=True),
    ]


def _scan(fn):
    def ref(at, x):
        axis = at.get("axis", 0) % x.dim()
        rev = at.get("reverse", False)
        v = torch.flip(x, [axis]) if rev else x
        out = fn(v, axis)
        return torch.flip(out, [axis]) if rev else out
    return ref


def scan_cases():
    fns = {
        "sum": (lambda v, a: torch.cumsum(v, a), X((3, 4))),
        "product": (lambda v, a: torch.cumprod(v, a), X((3, 4), "away", lo=0.5, hi=1.5)),
        "max": (lambda v, a: torch.cummax(v, a).values, X((3, 4), "distinct")),
        "min": (lambda v, a: torch.cummin(v, a).values, X((3, 4), "distinct")),
    }
    cases = []
    for kind, (fn, spec) in fns.items():
        op = f"cumulative_{kind}"
        ref = _scan(fn)
        cases += [
            GradCase(f"{op}.basic", op, [spec], ref),
            GradCase(f"{op}.axis1", op, [spec], ref, {"axis": 1}),
            GradCase(f"{op}.reverse", op, [spec], ref, {"axis": 1, "reverse": True}),
            GradCase(f"{op}.negative_axis", op, [X((2, 3, 4), spec.gen, lo=spec.lo, hi=spec.hi)],
                     ref, {"axis": -1}),
        ]
    cases.append(GradCase("cumulative_product.with_zero", "cumulative_product",
                          [X((2, 4), "values", values=[[1.5, 0.0, -2.0, 0.5], [0.0, 2.0, 0.0, 3]])],
                          _scan(fns["product"][0]), {"axis": 1}))
    return cases


# ---- linalg --------------------------------------------------------------------------------------


def _dot(at, a, b):
    if a.dim() == 0 or b.dim() == 0:
        return a * b
    return torch.tensordot(a, b, dims=([a.dim() - 1], [b.dim() - 2 if b.dim() >= 2 else 0]))


def _dot_general(at, a, b):
    ca = [x % a.dim() for x in at["contract_a"]]
    cb = [x % b.dim() for x in at["contract_b"]]
    ba = [x % a.dim() for x in at.get("batch_a", [])]
    bb = [x % b.dim() for x in at.get("batch_b", [])]
    fa = [i for i in range(a.dim()) if i not in ca + ba]
    fb = [i for i in range(b.dim()) if i not in cb + bb]
    size = lambda t, axes: int(np.prod([t.shape[i] for i in axes])) if axes else 1  # noqa: E731
    a2 = a.permute(ba + fa + ca).reshape(size(a, ba), size(a, fa), size(a, ca))
    b2 = b.permute(bb + cb + fb).reshape(size(b, bb), size(b, cb), size(b, fb))
    out = torch.bmm(a2, b2)
    shape = [a.shape[i] for i in ba] + [a.shape[i] for i in fa] + [b.shape[i] for i in fb]
    return out.reshape(shape)


def _dot_ref(at, a, b):
    a, b = a.to(torch.float64), b.to(torch.float64)  # integer operands take part as floats
    return _dot_general(at, a, b) if "contract_a" in at else _dot(at, a, b)


def product_cases():
    def dot(name, a, b, attrs=None, tol=1.0):
        return GradCase(f"dot.{name}", "dot", [a, b], _dot_ref, attrs or {}, tol_scale=tol)

    mm = lambda at, a, b: torch.matmul(a, b)  # noqa: E731
    return [
        dot("matrix", X((3, 4)), X((4, 5))),
        dot("vector", X((4,)), X((4,))),
        dot("mat_vec", X((3, 4)), X((4,))),
        dot("vec_mat", X((4,)), X((4, 5))),
        dot("scalar", X(()), X((3, 4))),
        dot("nd", X((2, 3, 4)), X((2, 4, 3))),
        dot("empty_contraction", X((3, 0)), X((0, 2))),
        dot("large", X((33, 65)), X((65, 17)), tol=4),
        dot("mixed", X((2, 3)), X((3, 2), "uniform", dtype="s32", lo=-3, hi=3)),
        dot("mixed_f64", X((2, 3)), X((3, 2), dtype="f64")),
        dot("contract", X((3, 4, 2)), X((4, 3, 2)), {"contract_a": [0, 1], "contract_b": [1, 0]}),
        dot("contract_none", X((2, 3)), X((4,)), {"contract_a": [], "contract_b": []}),
        dot("batch", X((2, 3, 4)), X((2, 4, 5)),
            {"contract_a": [2], "batch_a": [0], "contract_b": [1], "batch_b": [0]}),
        dot("batch_inner", X((3, 2, 4)), X((4, 5, 2)),
            {"contract_a": [2], "batch_a": [1], "contract_b": [0], "batch_b": [2]}),
        GradCase("matmul.basic", "matmul", [X((2, 3, 4)), X((4, 5))], mm),
        GradCase("matmul.broadcast", "matmul", [X((2, 1, 3, 4)), X((3, 4, 2))], mm),
        GradCase("matmul.vec_left", "matmul", [X((4,)), X((2, 4, 5))], mm),
        GradCase("matmul.vec_right", "matmul", [X((3, 4)), X((4,))], mm),
        GradCase("matmul.matrix_rhs_rank4", "matmul", [X((2, 3, 4, 5)), X((5, 6))], mm),
        GradCase("matmul.vec_right_batched", "matmul", [X((2, 3, 4)), X((4,))], mm),
        GradCase("matmul.vec_vec", "matmul", [X((4,)), X((4,))], mm),
        GradCase("outer.basic", "outer", [X((3,)), X((4,))],
                 lambda at, a, b: torch.outer(a.reshape(-1), b.reshape(-1))),
        GradCase("outer.flatten", "outer", [X((2, 2)), X((3,))],
                 lambda at, a, b: torch.outer(a.reshape(-1), b.reshape(-1))),
        GradCase("tensordot.basic", "tensordot", [X((3, 4, 5)), X((5, 4, 2))],
                 lambda at, a, b: torch.tensordot(a, b, dims=(at["axes_a"], at["axes_b"])),
                 {"axes_a": [1, 2], "axes_b": [1, 0]}),
        GradCase("tensordot.single", "tensordot", [X((2, 3)), X((3, 4))],
                 lambda at, a, b: torch.tensordot(a, b, dims=(at["axes_a"], at["axes_b"])),
                 {"axes_a": [1], "axes_b": [0]}),
    ]


def _vector_norm(v, ord_, axis, keep):
    a = torch.abs(v)
    if ord_ is None or ord_ == 2:
        return torch.sqrt((v * v).sum(dim=axis, keepdim=keep))
    if ord_ == np.inf:
        return torch.amax(a, dim=axis, keepdim=keep)
    if ord_ == -np.inf:
        return torch.amin(a, dim=axis, keepdim=keep)
    if ord_ == 0:
        return (v != 0).to(v.dtype).sum(dim=axis, keepdim=keep)
    return (a ** ord_).sum(dim=axis, keepdim=keep) ** (1.0 / ord_)


def _matrix_norm(v, ord_, axes, keep):
    r, c = axes
    if ord_ in (None, "fro"):
        return torch.sqrt((v * v).sum(dim=(r, c), keepdim=keep))
    a = torch.abs(v)
    if ord_ in (1, -1):  # max/min over columns of the column sums
        s = a.sum(dim=r, keepdim=True)
        pick = torch.amax if ord_ == 1 else torch.amin
        out = pick(s, dim=c, keepdim=True)
    else:  # inf / -inf: rows
        s = a.sum(dim=c, keepdim=True)
        pick = torch.amax if ord_ == np.inf else torch.amin
        out = pick(s, dim=r, keepdim=True)
    return out if keep else out.squeeze(max(r, c)).squeeze(min(r, c))


def _norm(at, x):
    ord_ = at.get("ord")
    ord_ = {"inf": np.inf, "-inf": -np.inf}.get(ord_, ord_)
    if at.get("frobenius"):
        ord_ = "fro"
    keep = at.get("keep_axes", False)
    if "axes" in at:
        axes = [a % x.dim() for a in at["axes"]]
        if len(axes) == 1:
            return _vector_norm(x, ord_, axes[0], keep)
        return _matrix_norm(x, ord_, axes, keep)
    if x.dim() == 2:
        return _matrix_norm(x, ord_, [0, 1], keep)
    out = _vector_norm(x.reshape(-1), ord_, 0, False)
    return out.reshape([1] * x.dim()) if keep else out


def norm_cases():
    away = X((2, 5), "away", lo=0.3, hi=2.0)
    cases = [
        GradCase("norm.vector", "norm", [X((6,))], _norm),
        GradCase("norm.matrix", "norm", [X((3, 4))], _norm),
        GradCase("norm.all_3d", "norm", [X((2, 3, 2))], _norm),
        GradCase("norm.frobenius", "norm", [X((3, 4))], _norm, {"frobenius": True}),
        GradCase("norm.rows", "norm", [X((3, 4))], _norm, {"axes": [1]}),
        GradCase("norm.rows_keep", "norm", [X((3, 4))], _norm, {"axes": [-1], "keep_axes": True}),
        GradCase("norm.matrix_axes", "norm", [X((2, 3, 4), "away", lo=0.3, hi=2.0)], _norm,
                 {"axes": [1, 2], "ord": 1}),
    ]
    for name, o in [("1", 1), ("inf", "inf"), ("neg_inf", "-inf"), ("0", 0), ("3", 3),
                    ("half", 0.5)]:
        spec = X((2, 5), "distinct") if "inf" in name else away
        cases.append(GradCase(f"norm.vector_ord_{name}", "norm", [spec], _norm,
                              {"ord": o, "axes": [1]}))
    for name, o in [("1", 1), ("neg1", -1), ("inf", "inf"), ("neg_inf", "-inf")]:
        cases.append(GradCase(f"norm.matrix_ord_{name}", "norm",
                              [X((3, 4), "away", lo=0.3, hi=2.0)], _norm, {"ord": o}))
    return cases


def _qr(at, x):
    q, r = torch.linalg.qr(x, mode="complete" if at.get("complete") else "reduced")
    # nx's convention: R has a non-negative diagonal (unique for full-rank inputs).
    k = min(x.shape[-2], x.shape[-1])
    d = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).detach()
    d = torch.where(d == 0, torch.ones_like(d), d)
    q = torch.cat([q[..., :, :k] * d.unsqueeze(-2), q[..., :, k:]], dim=-1)
    r = torch.cat([r[..., :k, :] * d.unsqueeze(-1), r[..., k:, :]], dim=-2)
    return [q, r]


def qr_cases():
    return [
        GradCase("qr.tall", "qr", [X((5, 3))], _qr, tol_scale=4),
        GradCase("qr.square", "qr", [X((4, 4))], _qr, tol_scale=4),
        GradCase("qr.square_complete", "qr", [X((3, 3))], _qr, {"complete": True}, tol_scale=4),
        GradCase("qr.batched", "qr", [X((2, 4, 3))], _qr, tol_scale=4),
    ]


def cases():
    return (reduce_cases() + zero_grad_cases() + scan_cases() + product_cases() + norm_cases()
            + qr_cases())
