"""The gradient table: every differentiable public nx op, and the ops that are not.

gen_grad_reference.py expands this table into data_grad/ (inputs, weights, PyTorch gradients and
a manifest); grad_test.cpp runs each case through the forward harness's adapter under
nx::value_and_grad and checks the gradient against central differences (float64) and PyTorch
(float32). The vocabulary is in grad_core.py, the cases in one module per op group.

Every op that include/nx/ops/ declares is either the op of some case here (a gradient case, or a
zero-gradient case for piecewise-constant ops) or listed in NON_DIFFERENTIABLE with the reason;
the C++ test fails otherwise.
"""

import grad_cases_conv_window
import grad_cases_elementwise
import grad_cases_reduce
import grad_cases_shape

GROUPS = [grad_cases_elementwise, grad_cases_reduce, grad_cases_shape, grad_cases_conv_window]

_INTEGER_ONLY = "integer-only op (no floating input or output to differentiate)"
_NO_INPUT = "creation: no tensor input"
_CONSTANT = "constant: no input"

NON_DIFFERENTIABLE = {
    "quotient": _INTEGER_ONLY,
    "bitwise_not": _INTEGER_ONLY,
    "bitwise_and": _INTEGER_ONLY,
    "bitwise_or": _INTEGER_ONLY,
    "bitwise_xor": _INTEGER_ONLY,
    "left_shift": _INTEGER_ONLY,
    "right_shift": _INTEGER_ONLY,
    "population_count": _INTEGER_ONLY,
    "count_leading_zeros": _INTEGER_ONLY,
    "one_hot": "its only input is integer indices",
    "full": _NO_INPUT,
    "zeros": _NO_INPUT,
    "ones": _NO_INPUT,
    "iota": _NO_INPUT,
    "eye": _NO_INPUT,
    "linspace": _NO_INPUT,
    "arange": _NO_INPUT,
    "scalar": _NO_INPUT,
    "scalar_int": _NO_INPUT,
    "tensor": _NO_INPUT,
    "make_template": _NO_INPUT,
    "from_data": "copies host memory into a new tensor: no tensor input",
    "from_vector": "copies host memory into a new tensor: no tensor input",
    "pi": _CONSTANT,
    "e": _CONSTANT,
    "euler_gamma": _CONSTANT,
    "epsilon": _CONSTANT,
    "infinity": _CONSTANT,
    "neg_infinity": _CONSTANT,
    "nan": _CONSTANT,
    "max_finite": _CONSTANT,
    "min_finite": _CONSTANT,
    "smallest_positive_normal": _CONSTANT,
}


def all_cases():
    out = []
    for group in GROUPS:
        out += group.cases()
    return out
