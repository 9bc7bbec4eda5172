"""The conformance table: every case of every public nx op, in one list.

This is the single source of truth that gen_reference.py expands into data/. The cases live in
one module per op group (cases_*.py); the vocabulary (In, Case, T, dtype classes, tolerances) is
in refcore.py. A new op is one more Case in the module of its group, plus one adapter in the C++
harness (adapters_*.cpp) that maps the case's attrs onto the op's C++ signature.
"""

import cases_binary
import cases_conv_window
import cases_convert
import cases_creation
import cases_indexing
import cases_large
import cases_linalg
import cases_promotion
import cases_reduce
import cases_shape
import cases_unary

GROUPS = [cases_unary, cases_binary, cases_convert, cases_promotion, cases_shape, cases_reduce,
          cases_linalg, cases_conv_window, cases_indexing, cases_creation, cases_large]


def all_cases():
    out = []
    for group in GROUPS:
        out += group.cases()
    return out
