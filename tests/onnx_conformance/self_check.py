#!/usr/bin/python3
"""Checks the checker: copies a few generated node cases, perturbs one expected value of each
(a float by 1%, an integer by 1, a bool flipped), runs onnx_node_conformance on them and
requires every perturbed case to fail with kind `value` while the untouched copy passes.

    self_check.py RUNNER DATA_DIR WORK_DIR
"""
import csv
import os
import shutil
import subprocess
import sys

import numpy as np
from onnx import load_tensor, numpy_helper

CASES = {"test_abs": "float", "test_argmax_default_axis_example": "int", "test_equal": "bool"}
UNTOUCHED = "test_add"


def perturb(path: str) -> None:
    t = load_tensor(path)
    a = numpy_helper.to_array(t).copy()
    if a.dtype == np.bool_:
        a.flat[0] = not a.flat[0]
    elif np.issubdtype(a.dtype, np.integer):
        a.flat[0] += 1
    else:
        a.flat[0] = a.flat[0] * 1.01 + 0.01
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(a, t.name).SerializeToString())


def main() -> int:
    runner, data, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "node"))
    for case in list(CASES) + [UNTOUCHED]:
        shutil.copytree(os.path.join(data, "node", case), os.path.join(work, "node", case))
    for case in CASES:
        perturb(os.path.join(work, "node", case, "test_data_set_0", "output_0.pb"))
    results = os.path.join(work, "results.tsv")
    subprocess.run([runner, "--data", work, "--results", results], check=True,
                   stdout=subprocess.DEVNULL)
    rows = {r["case"]: r for r in csv.DictReader(open(results), delimiter="\t")}
    ok = True
    for case, what in CASES.items():
        r = rows.get(case)
        if r is None or r["status"] != "fail" or r["kind"] != "value":
            print(f"self_check: a perturbed {what} output of {case} was not caught: {r}")
            ok = False
    if rows.get(UNTOUCHED, {}).get("status") != "pass":
        print(f"self_check: the untouched {UNTOUCHED} does not pass: {rows.get(UNTOUCHED)}")
        ok = False
    print("self_check: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
