#!/usr/bin/env python3
"""Checks ONNX files written by axon's exporter with onnx.checker (full check: strict shape
inference too). Usage: export_check.py FILE... Exits 1 naming the first file that fails.
Run with /usr/bin/python3 (Debian's python3-onnx); used by tests/axon/onnx/export_test.cpp."""
import sys

import onnx


def main():
    for path in sys.argv[1:]:
        model = onnx.load(path)
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # noqa: BLE001 - report any checker failure
            print(f"{path}: {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
