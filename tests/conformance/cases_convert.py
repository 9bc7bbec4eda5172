"""Conversions: as_type between every pair of dtypes, bitcast between every same-width pair.

as_type (include/nx/ops/elementwise.hpp): floats to integers truncate toward zero and saturate,
NaN becomes 0; integers to integers wrap modulo 2^n; anything to pred is x != 0; to floats rounds
to nearest even (overflow gives infinity).
"""

import numpy as np

from refcore import ALL, FLOATS, NP_STORAGE, Case, In, T, bits, int_range, wrap


def convert(x: np.ndarray, src: str, dst: str) -> T:
    if dst == "pred":
        return T(x != 0, "pred")
    if src == "pred":
        x = x.astype(np.uint8)
    if dst in FLOATS:
        if src in FLOATS:
            return T(x.astype(np.float64), dst)
        # Integers convert straight to f32/f16 in NumPy (one rounding); bf16 goes through f32.
        direct = np.float32 if dst == "bf16" else NP_STORAGE[dst]
        return T(x.astype(direct), dst)
    if src in FLOATS:
        lo, hi = int_range(dst)
        out = []
        for v in np.asarray(x, dtype=np.float64).reshape(-1).tolist():
            if np.isnan(v):
                out.append(0)
            elif v >= hi:
                out.append(hi)
            elif v <= lo:
                out.append(lo)
            else:
                out.append(int(v))  # int() truncates toward zero
        return T(np.array(out, dtype=object).reshape(x.shape).astype(NP_STORAGE[dst]), dst)
    return T(wrap(x.astype(object), dst), dst)


def _as_type(c, x):
    return convert(x, c.dtype, c.attrs["dtype"])


def as_type_cases():
    cases = []
    for dst in ALL:
        cases.append(Case(f"as_type.to_{dst}", "as_type", [In((24,), "special")], "all", _as_type,
                          attrs={"dtype": dst}))
        cases.append(Case(f"as_type.to_{dst}.normal", "as_type", [In((2, 3), "normal", scale=50)],
                          "all", _as_type, attrs={"dtype": dst}))
    cases.append(Case("as_type.empty", "as_type", [In((0, 2))], ["f32", "s8"], _as_type,
                      attrs={"dtype": "u16"}))
    cases.append(Case("as_type.rank0", "as_type", [In((), "values", values=-3.75)], ["f64"],
                      _as_type, attrs={"dtype": "s16"}))
    return cases


_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def _bits_of(x: np.ndarray, dt: str) -> np.ndarray:
    if dt == "bf16":
        return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return x.view(_UINT[bits(dt)])


def _from_bits(u: np.ndarray, dt: str) -> np.ndarray:
    if dt == "bf16":
        return (u.astype(np.uint32) << 16).view(np.float32)
    return u.view(NP_STORAGE[dt])


def _bitcast(c, x):
    dst = c.attrs["dtype"]
    return T(_from_bits(_bits_of(np.array(x, order="C"), c.dtype), dst), dst)


SAME_WIDTH = {8: ["u8", "s8"], 16: ["u16", "s16", "f16", "bf16"], 32: ["u32", "s32", "f32"],
              64: ["u64", "s64", "f64"]}


def bitcast_cases():
    cases = []
    for width, group in SAME_WIDTH.items():
        for dst in group:
            cases.append(Case(f"bitcast.to_{dst}", "bitcast", [In((24,), "special")], group,
                              _bitcast, attrs={"dtype": dst}))
    cases += [
        Case("bitcast.rank2", "bitcast", [In((2, 3))], ["f32"], _bitcast, attrs={"dtype": "s32"}),
        Case("bitcast.width_error", "bitcast", [In((3,))], ["f32", "u8"], expect_error=True,
             attrs={"dtype": "f64"}),
        Case("bitcast.pred_error", "bitcast", [In((3,))], ["pred"], expect_error=True,
             attrs={"dtype": "u8"}),
        Case("bitcast.to_pred_error", "bitcast", [In((3,))], ["s8"], expect_error=True,
             attrs={"dtype": "pred"}),
    ]
    return cases


def cases():
    return as_type_cases() + bitcast_cases()
