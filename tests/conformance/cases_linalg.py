"""Products, norms and QR (include/nx/ops/linalg.hpp).

Products keep the merged dtype (integers wrap, as Nx.dot); references contract in f64 (floats)
or int64 (integers) and round once. Integer operands are small so that no product overflows.
QR is unique once R's diagonal is non-negative (full-rank inputs), so NumPy's factors are
normalised to that convention; complete mode is only checked where Q is unique (m <= n).
"""

import numpy as np

from refcore import FLOATS, Case, In, T, f64, nx_merge, to_floating


def _val(x, dt):
    return f64(x) if dt in FLOATS else x.astype(np.int64)


def product(fn):
    """fn over operands converted to the merged dtype's compute type."""
    def ref(c, a, b):
        rt = nx_merge(c.in_dtypes[0], c.in_dtypes[1])
        rt = "u8" if rt == "pred" else rt
        return T(fn(_val(a, rt), _val(b, rt), c.attrs), rt)
    return ref


def _dot(a, b, at):
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return np.dot(a, b)


def _dot_general(a, b, at):
    ca, cb = at["contract_a"], at["contract_b"]
    ba, bb = at.get("batch_a", []), at.get("batch_b", [])
    ca, cb = [x % a.ndim for x in ca], [x % b.ndim for x in cb]
    ba, bb = [x % a.ndim for x in ba], [x % b.ndim for x in bb]
    fa = [i for i in range(a.ndim) if i not in ca + ba]
    fb = [i for i in range(b.ndim) if i not in cb + bb]
    a2 = np.transpose(a, ba + fa + ca)
    b2 = np.transpose(b, bb + cb + fb)
    nb = int(np.prod([a.shape[i] for i in ba])) if ba else 1
    nfa = int(np.prod([a.shape[i] for i in fa])) if fa else 1
    nfb = int(np.prod([b.shape[i] for i in fb])) if fb else 1
    nc = int(np.prod([a.shape[i] for i in ca])) if ca else 1
    out = np.matmul(a2.reshape(nb, nfa, nc), b2.reshape(nb, nc, nfb))
    shape = [a.shape[i] for i in ba] + [a.shape[i] for i in fa] + [b.shape[i] for i in fb]
    return out.reshape(shape)


def _matmul(a, b, at):
    return np.matmul(a, b)


def _outer(a, b, at):
    return np.outer(a.reshape(-1), b.reshape(-1))


def _tensordot(a, b, at):
    return np.tensordot(a, b, axes=(at["axes_a"], at["axes_b"]))


def _small(shape, dt=None):
    return In(shape, "int", lo=-3, hi=3, dtype=dt)


def product_cases():
    d, g, m = product(_dot), product(_dot_general), product(_matmul)
    return [
        Case("dot.matrix", "dot", [_small((3, 4)), _small((4, 5))], "numeric", d),
        Case("dot.float", "dot", [In((3, 4)), In((4, 5))], "float", d, tol_scale=2),
        Case("dot.vector", "dot", [_small((4,)), _small((4,))], "numeric", d),
        Case("dot.mat_vec", "dot", [In((3, 4)), In((4,))], ["f32", "s32"], d),
        Case("dot.vec_mat", "dot", [In((4,)), In((4, 5))], ["f64", "u8"], d),
        Case("dot.scalar", "dot", [In(()), In((3, 4))], ["f32", "s16"], d),
        Case("dot.nd", "dot", [In((2, 3, 4)), In((2, 4, 5))], ["f32", "s64"], d),
        Case("dot.empty_contraction", "dot", [In((3, 0)), In((0, 2))], ["f32", "s32"], d),
        Case("dot.large", "dot", [In((33, 65)), In((65, 17))], ["f32", "f64"], d, tol_scale=4),
        Case("dot.mixed", "dot", [In((2, 3)), _small((3, 2), "s32")], ["f32", "u8"], d),
        Case("dot.shape_error", "dot", [In((3, 4)), In((5, 2))], ["f32"], expect_error=True),
        Case("dot.contract", "dot", [_small((3, 4, 5)), _small((4, 3, 2))], "numeric", g,
             attrs={"contract_a": [0, 1], "contract_b": [1, 0]}),
        Case("dot.contract_none", "dot", [In((2, 3)), In((4,))], ["f32"], g,
             attrs={"contract_a": [], "contract_b": []}),
        Case("dot.contract_error", "dot", [In((3, 4)), In((3, 4))], ["f32"],
             attrs={"contract_a": [0], "contract_b": [1]}, expect_error=True),
        Case("dot.batch", "dot", [_small((2, 3, 4)), _small((2, 4, 5))], "numeric", g,
             attrs={"contract_a": [2], "batch_a": [0], "contract_b": [1], "batch_b": [0]}),
        Case("dot.batch_inner", "dot", [In((3, 2, 4)), In((4, 5, 2))], ["f32", "s32"], g,
             attrs={"contract_a": [2], "batch_a": [1], "contract_b": [0], "batch_b": [2]}),
        Case("dot.batch_error", "dot", [In((2, 3, 4)), In((3, 4, 5))], ["f32"],
             attrs={"contract_a": [2], "batch_a": [0], "contract_b": [1], "batch_b": [0]},
             expect_error=True),
        Case("matmul.basic", "matmul", [_small((2, 3, 4)), _small((4, 5))], "numeric", m),
        Case("matmul.broadcast", "matmul", [In((2, 1, 3, 4)), In((3, 4, 2))], ["f32", "s32"], m),
        Case("matmul.vec_left", "matmul", [In((4,)), In((2, 4, 5))], ["f32"], m),
        Case("matmul.vec_right", "matmul", [In((3, 4)), In((4,))], ["f64"], m),
        # A matrix rhs contracts against every batch at once (one product, no broadcast copy).
        Case("matmul.matrix_rhs_rank4", "matmul", [In((2, 3, 4, 5)), In((5, 6))], ["f32", "s32"],
             m),
        Case("matmul.vec_right_batched", "matmul", [In((2, 3, 4)), In((4,))], ["f32"], m),
        Case("matmul.vec_vec", "matmul", [In((4,)), In((4,))], ["f32"], m),
        Case("matmul.shape_error", "matmul", [In((3, 4)), In((5, 2))], ["f32"],
             expect_error=True),
        Case("matmul.batch_error", "matmul", [In((2, 3, 4)), In((3, 4, 5))], ["f32"],
             expect_error=True),
        Case("matmul.scalar_error", "matmul", [In(()), In((3,))], ["f32"], expect_error=True),
        Case("outer.basic", "outer", [In((3,)), In((4,))], "numeric", product(_outer)),
        Case("outer.flatten", "outer", [In((2, 2)), In((3,))], ["f32", "s8"], product(_outer)),
        Case("tensordot.basic", "tensordot", [_small((3, 4, 5)), _small((5, 4, 2))], "numeric",
             product(_tensordot), attrs={"axes_a": [1, 2], "axes_b": [1, 0]}),
        Case("tensordot.single", "tensordot", [In((2, 3)), In((3, 4))], ["f32"],
             product(_tensordot), attrs={"axes_a": [1], "axes_b": [0]}),
        Case("tensordot.error", "tensordot", [In((2, 3)), In((2, 4))], ["f32"],
             attrs={"axes_a": [1], "axes_b": [0]}, expect_error=True),
    ]


def _norm(c, x):
    at = c.attrs
    v = f64(x)
    ord_ = at.get("ord")
    if at.get("frobenius"):
        ord_ = "fro"

    axes = tuple(at["axes"]) if "axes" in at else None
    ord_ = {"inf": np.inf, "-inf": -np.inf}.get(ord_, ord_)  # JSON has no infinity
    if axes is None and v.ndim > 2:
        out = np.linalg.norm(v.reshape(-1), ord_)
    else:
        out = np.linalg.norm(v, ord_, axis=axes, keepdims=at.get("keep_axes", False))
    return T(out, to_floating(c.dtype))


def norm_cases():
    cases = [
        Case("norm.vector", "norm", [In((6,))], "numeric", _norm, tol_scale=2),
        Case("norm.matrix", "norm", [In((3, 4))], "numeric", _norm, tol_scale=2),
        Case("norm.frobenius", "norm", [In((3, 4))], ["f32", "f64"], _norm,
             attrs={"frobenius": True}),
        Case("norm.rows", "norm", [In((3, 4))], ["f32", "s32", "bf16"], _norm,
             attrs={"axes": [1]}, tol_scale=2),
        Case("norm.rows_keep", "norm", [In((3, 4))], ["f64"], _norm,
             attrs={"axes": [-1], "keep_axes": True}),
        Case("norm.matrix_axes", "norm", [In((2, 3, 4))], ["f32"], _norm,
             attrs={"axes": [1, 2], "ord": 1}),
        Case("norm.zero_vector", "norm", [In((4,), "values", values=[0, 0, 0, 0])], ["f32"],
             _norm),
        Case("norm.empty", "norm", [In((0,))], ["f32"], _norm),
        Case("norm.matrix_2_error", "norm", [In((3, 3))], ["f32"], attrs={"ord": 2},
             expect_error=True),
        Case("norm.matrix_neg2_error", "norm", [In((3, 3))], ["f32"], attrs={"ord": -2},
             expect_error=True),
        Case("norm.three_axes_error", "norm", [In((2, 2, 2))], ["f32"], attrs={"axes": [0, 1, 2]},
             expect_error=True),
    ]
    for name, o in [("1", 1), ("inf", "inf"), ("neg_inf", "-inf"), ("0", 0), ("3", 3),
                    ("half", 0.5)]:
        spec = In((2, 5), "values", values=[[1, -2, 0, 3.5, -0.5], [0, 0, 4, -1, 2]])
        cases.append(Case(f"norm.vector_ord_{name}", "norm", [spec], ["f32", "f64"], _norm,
                          attrs={"ord": o, "axes": [1]}, tol_scale=2))
    for name, o in [("1", 1), ("neg1", -1), ("inf", "inf"), ("neg_inf", "-inf")]:
        cases.append(Case(f"norm.matrix_ord_{name}", "norm", [In((3, 4))], ["f32", "f64"], _norm,
                          attrs={"ord": o}))
    return cases


def _qr(c, x):
    mode = "complete" if c.attrs.get("complete") else "reduced"
    v = f64(x)
    batch = v.reshape((-1,) + v.shape[-2:])
    qs, rs = [], []
    for a in batch:
        q, r = np.linalg.qr(a, mode=mode)
        d = np.sign(np.diag(r))
        d[d == 0] = 1
        k = len(d)
        q[:, :k] = q[:, :k] * d
        r[:k, :] = r[:k, :] * d[:, None]
        qs.append(q)
        rs.append(r)
    lead = v.shape[:-2]
    q = np.stack(qs).reshape(lead + qs[0].shape)
    r = np.stack(rs).reshape(lead + rs[0].shape)
    return [T(q, c.dtype), T(r, c.dtype)]


def qr_cases():
    return [
        Case("qr.tall", "qr", [In((5, 3))], "float", _qr, tol_scale=10),
        Case("qr.square_complete", "qr", [In((4, 4))], "float", _qr, attrs={"complete": True},
             tol_scale=10),
        Case("qr.wide", "qr", [In((3, 5))], ["f32", "f64"], _qr, tol_scale=10),
        Case("qr.wide_complete", "qr", [In((3, 5))], ["f32", "f64"], _qr,
             attrs={"complete": True}, tol_scale=10),
        Case("qr.batched", "qr", [In((2, 4, 3))], ["f32", "f64"], _qr, tol_scale=10),
        Case("qr.rank_error", "qr", [In((4,))], ["f32"], expect_error=True),
    ]


def cases():
    return product_cases() + norm_cases() + qr_cases()
