"""What the gen_ops_*.py scripts share: one ONNX node and its expected outputs per case.

A case <c> of a reference .npz has the members
    <c>.node    u8[]: the serialized onnx.NodeProto (inputs in0.., outputs out0..)
    <c>.opset   s64: the default-domain opset the node is imported under
    <c>.const   s64[]: indices of inputs that are constants (initializers) in a model
    <c>.in<i>   the inputs; <c>.out<i> the expected outputs
which tests/axon/onnx/onnx_case.hpp reads. A script binds these helpers to its own dict and
generator:
    case = functools.partial(node_cases.case, out)
    randn = functools.partial(node_cases.randn, rng)
"""
import numpy as np
from onnx import helper


def case(out, name, op, inputs, outputs, opset=17, const=(), **attrs):
    """Adds case `name` to `out`: node `op` with `attrs`; None marks a missing optional input."""
    node = helper.make_node(op, [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)],
                            [f"out{i}" for i in range(len(outputs))], name=name, **attrs)
    assert name + ".node" not in out, name
    out[name + ".node"] = np.frombuffer(node.SerializeToString(), dtype=np.uint8)
    out[name + ".opset"] = np.array(opset, dtype=np.int64)
    out[name + ".const"] = np.array(list(const), dtype=np.int64)
    for i, x in enumerate(inputs):
        if x is not None:
            out[f"{name}.in{i}"] = np.array(x)
    for i, y in enumerate(outputs):
        out[f"{name}.out{i}"] = np.array(y)


def randn(rng, *shape, dtype=np.float32):
    """Standard normal draws of `shape` from `rng`, as `dtype`."""
    return rng.standard_normal(shape).astype(dtype)
