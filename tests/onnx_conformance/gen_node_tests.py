#!/usr/bin/python3
"""Generates ONNX's backend node tests (onnx.backend.test, Debian's python3-onnx 1.12) into a
build directory for the conformance runner: <out>/node/<case>/model.onnx and
<out>/node/<case>/test_data_set_<k>/{input,output}_<j>.pb (TensorProto).

Run with /usr/bin/python3:  gen_node_tests.py <out_dir>
The data is not committed: it is regenerated at test time (a few thousand small files). A stamp
file <out>/.onnx_version lets a rerun skip the work when the same onnx generated it.

onnx 1.12's case generators still use numpy aliases that numpy 1.24 removed (np.float, np.int,
np.bool, np.object, np.str); they are restored before the generators are imported.
"""
import argparse
import os
import shutil
import sys
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # numpy warns when the removed names are looked up
    for _alias, _type in (("float", float), ("int", int), ("bool", bool), ("object", object),
                          ("str", str)):
        try:
            getattr(np, _alias)
        except AttributeError:
            setattr(np, _alias, _type)

import onnx  # noqa: E402
import onnx.backend.test.case.model as model_test  # noqa: E402
from onnx.backend.test import cmd_tools  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="output directory (node/ is created inside)")
    parser.add_argument("--op_type", default=None, help="only the cases of this op type")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args()

    stamp = os.path.join(args.output, ".onnx_version")
    tag = f"onnx {onnx.__version__} op_type={args.op_type}\n"
    if not args.force and os.path.exists(stamp) and open(stamp).read() == tag:
        return 0
    if os.path.exists(args.output):
        shutil.rmtree(args.output)
    os.makedirs(args.output)
    # Only the node tests: the "real" model cases are downloads, never run here.
    model_test.collect_testcases = lambda *a, **k: []
    cmd_tools.generate_data(argparse.Namespace(output=args.output, op_type=args.op_type))
    with open(stamp, "w") as f:
        f.write(tag)
    count = len(os.listdir(os.path.join(args.output, "node")))
    print(f"gen_node_tests: {count} node cases in {args.output}/node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
