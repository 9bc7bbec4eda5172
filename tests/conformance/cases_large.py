"""Large tensors: the vectorised loops, their tails, and the multi-threaded paths of the kernels.

Storing large references would bloat data/, so these cases store a tile and set attrs "repeat":
the harness stacks `repeat` copies of each input (those in "repeat_inputs", default all) and of
each expected output along axis 0 before running and comparing. That is exact for elementwise
ops and for reductions, scans and softmax over other axes. Tiles have odd sizes so that SIMD
loops end in a partial vector; 300 rows x 256 copies = 76,800 rows passes every parallel grain
of the CPU backend (src/nx/backends/cpu/parallel.hpp, elementwise.hpp).

Sorting long rows (the radix path, rows of 2048 and more) cannot be tiled and is stored whole.
"""

import cases_binary
import cases_reduce
import cases_unary
from refcore import Case, In

REPEAT = {"repeat": 256}
FLOAT_DTYPES = ["f16", "bf16", "f32", "f64", "s32"]
ARITH_DTYPES = ["f16", "bf16", "f32", "f64", "u8", "s16", "s32", "u64", "s64"]


def unary_cases():
    cases = []
    for op, basic, _, scale in cases_unary.FLOAT_UNARY:
        spec = In((301,), basic.gen, lo=basic.lo, hi=basic.hi, scale=basic.scale)
        cases.append(Case(f"{op}.large", op, [spec], FLOAT_DTYPES,
                          cases_unary.unary_float(cases_unary.FNS[op]), attrs=REPEAT,
                          tol_scale=scale))
    for op, fn in [("negate", cases_unary.np.negative), ("abs", cases_unary.np.abs)]:
        cases.append(Case(f"{op}.large", op, [In((301,))], ARITH_DTYPES, cases_unary._keep(fn),
                          attrs=REPEAT))
    cases.append(Case("is_nan.large", "is_nan", [In((301,), "special")], ["f32", "f16"],
                      cases_unary._pred_ref(cases_unary.np.isnan), attrs=REPEAT))
    cases.append(Case("round.large", "round", [In((301,), "normal", scale=4.0)], FLOAT_DTYPES,
                      cases_unary._rounding(cases_unary._round_half_away), attrs=REPEAT))
    return cases


def binary_cases():
    np = cases_binary.np
    cases = []
    for op, ref, second in [
        ("add", cases_binary.keep(np.add), In((301,))),
        ("multiply", cases_binary.keep(np.multiply), In((301,))),
        ("max", cases_binary.keep(np.maximum), In((301,), "special")),
        ("divide", cases_binary.floating(np.divide), In((301,), "nonzero")),
        ("pow", cases_binary.keep(np.power), In((301,), "uniform", lo=-2, hi=2)),
        ("less", cases_binary._compare(np.less), In((301,))),
    ]:
        # Integer pow with negative exponents has its own cases (cases_binary.py).
        dtypes = ["f16", "bf16", "f32", "f64"] if op == "pow" else ARITH_DTYPES
        first = In((301,), "uniform", lo=0.5, hi=3) if op == "pow" else In((301,))
        cases.append(Case(f"{op}.large", op, [first, second], dtypes, ref, attrs=REPEAT))
        # Row-broadcast: a [rows, 33] tile against one [33] row that is not repeated.
        cases.append(Case(f"{op}.large_broadcast", op, [In((40, 33)), In((33,), "nonzero")],
                          ["f32", "bf16"] if op == "pow" else ["f32", "s32", "bf16"], ref,
                          attrs={"repeat": 64, "repeat_inputs": [0]}))
    cases.append(Case("bitwise_xor.large", "bitwise_xor", [In((301,)), In((301,))],
                      ["u8", "s32", "u64"], cases_binary._bitwise(np.bitwise_xor), attrs=REPEAT))
    cases.append(Case("select.large", "select",
                      [In((301,), dtype="pred"), In((301,)), In((301,))], ["f32", "u16"],
                      cases_binary._select, attrs=REPEAT))
    return cases


def reduce_cases():
    cases = []
    for op, ref in [("sum", cases_reduce.accumulate(cases_reduce.np.sum)),
                    ("reduce_max", cases_reduce.extremum(cases_reduce.np.max)),
                    ("mean", cases_reduce.floating(cases_reduce._mean)),
                    ("argmax", cases_reduce._arg("max")),
                    ("cumulative_sum", cases_reduce.scan("sum")),
                    ("softmax", cases_reduce.floating(cases_reduce._softmax))]:
        axis_attr = ({"axes": [1]} if op in ("sum", "reduce_max", "mean", "softmax")
                     else {"axis": 1})
        spec = In((60, 37), "distinct") if op == "argmax" else In((60, 37))
        cases.append(Case(f"{op}.large_rows", op, [spec], ["f32", "bf16", "s32", "f64"], ref,
                          attrs={**axis_attr, "repeat": 256}, tol_scale=4))
    return cases


def sort_cases():
    from cases_indexing import _argsort, _sort
    long_row = In((1, 2100))
    return [
        Case("sort.radix", "sort", [long_row], ["f32", "f64", "f16", "s8", "u64"], _sort),
        Case("sort.radix_descending", "sort", [long_row], ["f32", "s16"], _sort,
             attrs={"descending": True}),
        Case("argsort.radix", "argsort", [long_row], ["f32", "s8", "u16"], _argsort),
        Case("argsort.radix_special", "argsort", [In((1, 2100), "special")], ["f32", "f16"],
             _argsort),
        Case("argsort.radix_descending", "argsort", [In((1, 2100), "special")], ["f64", "s32"],
             _argsort, attrs={"descending": True}),
    ]


def cases():
    return unary_cases() + binary_cases() + reduce_cases() + sort_cases()
