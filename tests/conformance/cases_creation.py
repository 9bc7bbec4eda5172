"""Constants (include/nx/ops/constants.hpp), creation (include/nx/ops/creation.hpp) and the
primitives no public op reaches yet (threefry2x32, until nx::random lands).

Ops without tensor inputs read the variant's dtype from the attribute "_dtype", which the C++
harness adds to every case's attrs.
"""

import math

import numpy as np

from refcore import ALL, FLOATS, INTS, NUMERIC, SIGNED, Case, In, T, float_info, int_range


def _const(value_fn):
    def ref(c):
        dt = c.attrs.get("_dtype_override", c.dtype)
        return T(np.asarray(value_fn(dt)), dt)
    return ref


def constant_cases():
    euler_gamma = 0.57721566490153286060651209008240243
    table = [
        ("pi", lambda dt: math.pi, "float"),
        ("e", lambda dt: math.e, "float"),
        ("euler_gamma", lambda dt: euler_gamma, "float"),
        ("epsilon", lambda dt: float_info(dt)[2], "float"),
        ("infinity", lambda dt: math.inf, "float"),
        ("neg_infinity", lambda dt: -math.inf, "float"),
        ("nan", lambda dt: math.nan, "float"),
        ("smallest_positive_normal", lambda dt: float_info(dt)[1], "float"),
        ("max_finite", lambda dt: float_info(dt)[0] if dt in FLOATS else int_range(dt)[1],
         "numeric"),
        ("min_finite", lambda dt: -float_info(dt)[0] if dt in FLOATS else int_range(dt)[0],
         "numeric"),
    ]
    cases = []
    for op, fn, dtypes in table:
        cases.append(Case(f"{op}.basic", op, [], dtypes, _const(fn)))
        if op in ("pi", "e", "euler_gamma"):
            cases.append(Case(f"{op}.default", op, [], ["f32"], _const(fn),
                              attrs={"default": True}))
        elif dtypes == "float":
            cases.append(Case(f"{op}.int_error", op, [], ["s32", "u8", "pred"],
                              expect_error=True))
        else:
            cases.append(Case(f"{op}.pred_error", op, [], ["pred"], expect_error=True))
    return cases


def _fill(value_key=None, value=None):
    def ref(c, *xs):
        shape = xs[0].shape if xs else tuple(c.attrs["shape"])
        v = c.attrs.get("value", value) if value_key else value
        dt = c.attrs.get("_dtype_override", c.dtype)
        return T(np.full(shape, v), dt)
    return ref


def _iota(c):
    shape = tuple(c.attrs["shape"])
    dt = "s32" if c.attrs.get("default") else c.dtype
    if "axis" in c.attrs:
        axis = c.attrs["axis"] % len(shape)
        vals = np.broadcast_to(
            np.arange(shape[axis]).reshape([-1 if i == axis else 1 for i in range(len(shape))]),
            shape)
    else:
        vals = np.arange(int(np.prod(shape))).reshape(shape)
    return T(vals, dt)


def _eye(c):
    dt = "s32" if c.attrs.get("default") else c.dtype
    if "n" in c.attrs:
        return T(np.eye(c.attrs["n"], dtype=np.int64), dt)
    shape = c.attrs["shape"]
    m = np.eye(shape[-2], shape[-1], dtype=np.int64)
    return T(np.broadcast_to(m, shape), dt)


def _linspace(c):
    at = c.attrs
    return T(np.linspace(at["start"], at["stop"], at["n"], endpoint=at.get("endpoint", True)),
             c.dtype)


def _arange(c):
    at = c.attrs
    return T(np.arange(at["start"], at["stop"], at.get("step", 1.0), dtype=np.float64), c.dtype)


def _identity(c, x):
    return T(x, c.dtype)


def creation_cases():
    cases = [
        Case("full.basic", "full", [], ALL, _fill("value"), attrs={"shape": [2, 3], "value": 1}),
        Case("full.fraction", "full", [], "float", _fill("value"),
             attrs={"shape": [3], "value": -1.5}),
        Case("full.int", "full", [], "int", _fill("value"), attrs={"shape": [2, 2], "value": 100}),
        Case("full.rank0", "full", [], ["f64"], _fill("value"), attrs={"shape": [], "value": 7}),
        Case("full.empty", "full", [], ["s8"], _fill("value"), attrs={"shape": [0, 2], "value": 7}),
        Case("full.default", "full", [], ["f32"], _fill("value"),
             attrs={"shape": [2], "value": 0.25, "default": True}),
        Case("full.shape_error", "full", [], ["f32"], attrs={"shape": [-1, 2], "value": 1},
             expect_error=True),
        Case("zeros.basic", "zeros", [], ALL, _fill(value=0), attrs={"shape": [2, 3]}),
        Case("zeros.default", "zeros", [], ["f32"], _fill(value=0),
             attrs={"shape": [4], "default": True}),
        Case("ones.basic", "ones", [], ALL, _fill(value=1), attrs={"shape": [3, 1, 2]}),
        Case("ones.default", "ones", [], ["f32"], _fill(value=1),
             attrs={"shape": [], "default": True}),
        Case("full_like.basic", "full_like", [In((2, 3))], ALL, _fill("value"),
             attrs={"value": 1}),
        Case("full_like.fraction", "full_like", [In((2,))], "float", _fill("value"),
             attrs={"value": 2.5}),
        Case("zeros_like.basic", "zeros_like", [In((2, 3))], ALL, _fill(value=0)),
        Case("ones_like.basic", "ones_like", [In((3, 2))], ALL, _fill(value=1)),
        Case("ones_like.empty", "ones_like", [In((0, 4))], ["f32"], _fill(value=1)),
        Case("iota.flat", "iota", [], NUMERIC, _iota, attrs={"shape": [2, 3, 4]}),
        Case("iota.axis", "iota", [], NUMERIC, _iota, attrs={"shape": [2, 3, 4], "axis": 1}),
        Case("iota.last_axis", "iota", [], ["f32", "u8"], _iota,
             attrs={"shape": [3, 5], "axis": -1}),
        Case("iota.default", "iota", [], ["s32"], _iota, attrs={"shape": [5], "default": True}),
        Case("iota.default_axis", "iota", [], ["s32"], _iota,
             attrs={"shape": [2, 3], "axis": 0, "default": True}),
        Case("iota.rank0", "iota", [], ["s64"], _iota, attrs={"shape": []}),
        Case("iota.axis_error", "iota", [], ["s32"], attrs={"shape": [2, 3], "axis": 2},
             expect_error=True),
        Case("eye.n", "eye", [], ALL, _eye, attrs={"n": 3}),
        Case("eye.default", "eye", [], ["s32"], _eye, attrs={"n": 2, "default": True}),
        Case("eye.shape", "eye", [], ["f32", "u8", "pred"], _eye, attrs={"shape": [2, 3, 4]}),
        Case("eye.shape_wide", "eye", [], ["f64"], _eye, attrs={"shape": [4, 2]}),
        Case("eye.shape_default", "eye", [], ["s32"], _eye,
             attrs={"shape": [2, 2], "default": True}),
        Case("linspace.basic", "linspace", [], "float", _linspace,
             attrs={"start": 0, "stop": 1, "n": 5}),
        Case("linspace.no_endpoint", "linspace", [], "float", _linspace,
             attrs={"start": 0, "stop": 1, "n": 5, "endpoint": False}),
        Case("linspace.descending", "linspace", [], ["f32", "f64"], _linspace,
             attrs={"start": 2, "stop": -3, "n": 4}),
        Case("linspace.one", "linspace", [], ["f32"], _linspace,
             attrs={"start": 1.5, "stop": 9, "n": 1}),
        Case("linspace.zero", "linspace", [], ["f32"], _linspace,
             attrs={"start": 1.5, "stop": 9, "n": 0}),
        Case("linspace.long", "linspace", [], ["f64"], _linspace,
             attrs={"start": -1, "stop": 1, "n": 101}),
        Case("linspace.n_error", "linspace", [], ["f32"], attrs={"start": 0, "stop": 1, "n": -1},
             expect_error=True),
        Case("arange.basic", "arange", [], NUMERIC, _arange,
             attrs={"start": 0, "stop": 10, "step": 3}),
        Case("arange.fraction", "arange", [], "float", _arange,
             attrs={"start": 1, "stop": 2, "step": 0.25}),
        Case("arange.negative_step", "arange", [], ["f32", "s32", "u8"], _arange,
             attrs={"start": 10, "stop": 1, "step": -2}),
        Case("arange.signed", "arange", [], SIGNED, _arange,
             attrs={"start": -3, "stop": 3, "step": 1}),
        Case("arange.empty", "arange", [], ["f32"], _arange,
             attrs={"start": 5, "stop": 0, "step": 1}),
        Case("arange.step_error", "arange", [], ["f32"],
             attrs={"start": 0, "stop": 1, "step": 0}, expect_error=True),
        Case("from_data.basic", "from_data", [In((2, 3))], ALL, _identity),
        Case("from_data.special", "from_data", [In((24,), "special")], "numeric", _identity),
        Case("from_data.rank0", "from_data", [In(())], ["f16", "u64"], _identity),
        Case("from_vector.basic", "from_vector", [In((2, 3))], ALL, _identity),
        Case("from_vector.flat", "from_vector", [In((5,), "special")], ALL, _identity,
             attrs={"flat": True}),
        Case("from_vector.count_error", "from_vector", [In((2, 3))], ["f32"],
             attrs={"shape": [4, 2]}, expect_error=True),
        Case("scalar.basic", "scalar", [], ALL, _fill("value"), attrs={"shape": [], "value": 3}),
        Case("scalar.fraction", "scalar", [], "float", _fill("value"),
             attrs={"shape": [], "value": -2.5}),
        Case("make_template.basic", "make_template", [], ALL, _fill(value=0),
             attrs={"shape": [2, 3]}, meta_only=True),
    ]
    for dt in INTS:
        lo, hi = int_range(dt)
        hi = min(hi, 2**63 - 1)  # scalar_int takes int64_t
        cases.append(Case(f"scalar_int.max_{dt}", "scalar_int", [], [dt], _fill("value"),
                          attrs={"shape": [], "value": hi}))
        if dt in SIGNED:
            cases.append(Case(f"scalar_int.min_{dt}", "scalar_int", [], [dt], _fill("value"),
                              attrs={"shape": [], "value": lo}))
    return cases


def _tensor_ref(c):
    forms = {
        "int1d": ([1, 2, 3], "s32"),
        "double1d": ([1.5, -2.0, 0.1], "f32"),
        "bool1d": ([True, False, True], "pred"),
        "int2d": ([[1, 2, 3], [4, 5, 6]], "s32"),
        "double2d": ([[1.5, 2.0], [3.0, 4.25]], "f32"),
        "int3d": ([[[1, 2]], [[3, 4]]], "s32"),
        "double4d": ([[[[0.5]], [[1.5]]]], "f32"),
        "double1d_f64": ([0.1, 0.2, 1e-300], "f64"),
        "int2d_as": ([[1, 2], [3, 0]], None),
    }
    values, dt = forms[c.attrs["form"]]
    return T(np.array(values), dt or c.dtype)


def tensor_cases():
    cases = [Case(f"tensor.{form}", "tensor", [], ["f32"], _tensor_ref, attrs={"form": form})
             for form in ("int1d", "double1d", "bool1d", "int2d", "double2d", "int3d", "double4d",
                          "double1d_f64")]
    cases.append(Case("tensor.int2d_as", "tensor", [], ALL, _tensor_ref,
                      attrs={"form": "int2d_as"}))
    cases.append(Case("tensor.ragged_error", "tensor", [], ["s32"], attrs={"form": "ragged"},
                      expect_error=True))
    return cases


# ---- primitives without a public op -----------------------------------------------------------


def threefry2x32(key, x0, x1):
    """Threefry-2x32, 20 rounds (Random123; JAX's threefry2x32), over uint32 arrays."""
    m = 0xFFFFFFFF
    rot = [[13, 15, 26, 6], [17, 29, 16, 24]]
    k0, k1 = int(key[0]), int(key[1])
    ks = [k0, k1, k0 ^ k1 ^ 0x1BD11BDA]
    out0, out1 = [], []
    for a, b in zip(x0.reshape(-1).tolist(), x1.reshape(-1).tolist()):
        a, b = (a + ks[0]) & m, (b + ks[1]) & m
        for i in range(5):
            for r in rot[i % 2]:
                a = (a + b) & m
                b = ((b << r) | (b >> (32 - r))) & m
                b ^= a
            a = (a + ks[(i + 1) % 3]) & m
            b = (b + ks[(i + 2) % 3] + i + 1) & m
        out0.append(a)
        out1.append(b)
    shape = x0.shape
    return (np.array(out0, dtype=np.uint32).reshape(shape),
            np.array(out1, dtype=np.uint32).reshape(shape))


# Known-answer vectors of Random123 (kat_vectors: threefry2x32_20), checked when this loads.
_KAT = [((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)),
        ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
        ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0))]
for _key, _ctr, _want in _KAT:
    _got = threefry2x32(_key, np.array([_ctr[0]], np.uint32), np.array([_ctr[1]], np.uint32))
    assert (int(_got[0][0]), int(_got[1][0])) == _want, "threefry2x32 reference is wrong"


def _threefry(c, key, x0, x1):
    y0, y1 = threefry2x32(key, x0, x1)
    return [T(y0, "u32"), T(y1, "u32")]


def primitive_cases():
    kat_key = In((2,), "values", values=[0x13198A2E, 0x03707344], dtype="u32")
    return [
        Case("threefry2x32.kat", "prim:threefry2x32",
             [kat_key, In((3,), "values", values=[0x243F6A88, 0, 0xFFFFFFFF], dtype="u32"),
              In((3,), "values", values=[0x85A308D3, 0, 0xFFFFFFFF], dtype="u32")], ["u32"],
             _threefry),
        Case("threefry2x32.random", "prim:threefry2x32",
             [In((2,), "int", lo=0, hi=2**32 - 1, dtype="u32"),
              In((4, 8), "int", lo=0, hi=2**32 - 1, dtype="u32"),
              In((4, 8), "int", lo=0, hi=2**32 - 1, dtype="u32")], ["u32"], _threefry),
        Case("threefry2x32.empty", "prim:threefry2x32",
             [kat_key, In((0,), dtype="u32"), In((0,), dtype="u32")], ["u32"], _threefry),
        Case("threefry2x32.key_error", "prim:threefry2x32",
             [In((3,), dtype="u32"), In((2,), dtype="u32"), In((2,), dtype="u32")], ["u32"],
             expect_error=True),
        Case("threefry2x32.dtype_error", "prim:threefry2x32",
             [In((2,), dtype="s32"), In((2,), dtype="u32"), In((2,), dtype="u32")], ["u32"],
             expect_error=True),
    ]


def cases():
    return constant_cases() + creation_cases() + tensor_cases() + primitive_cases()
