#!/usr/bin/python3
"""Writes the seed corpus of onnx_fuzzer into fuzz/corpus/onnx_fuzzer/.

Run with Debian's python3-onnx and numpy:  /usr/bin/python3 fuzz/make_onnx_corpus.py

Seeds are small valid models that reach the importer's main paths: a symbolic batch, weights
in raw_data and in typed fields, integer constants, several outputs, a node with two outputs,
an If node whose branches read the outer scope, and a model with every element type.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus', 'onnx_fuzzer')


def model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, 'g', inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)],
                          producer_name='seed')
    m.ir_version = 8
    return m.SerializeToString()


def f32(name, shape, typed=False):
    a = (np.arange(np.prod(shape), dtype=np.float32) % 7 - 3).reshape(shape) / 4
    if typed:
        return helper.make_tensor(name, TensorProto.FLOAT, shape, a.flatten().tolist())
    return numpy_helper.from_array(a, name)


def seeds():
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 3])
    yield 'mlp', model(
        [helper.make_node('MatMul', ['x', 'w1'], ['h0'], name='fc1.matmul'),
         helper.make_node('Add', ['h0', 'b1'], ['h1']),
         helper.make_node('Relu', ['h1'], ['h2']),
         helper.make_node('Gemm', ['h2', 'w2', 'b2'], ['y'], transB=1)],
        [x], [y], [f32('w1', [4, 8]), f32('b1', [8], typed=True), f32('w2', [3, 8]),
                   f32('b2', [3])])

    shape = numpy_helper.from_array(np.array([0, -1], dtype=np.int64), 'shape')
    yield 'reshape_shape', model(
        [helper.make_node('Shape', ['x'], ['s']),
         helper.make_node('Reshape', ['x', 'shape'], ['r']),
         helper.make_node('Softmax', ['r'], ['y'], axis=-1)],
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['n', 2, 2])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, None),
         helper.make_tensor_value_info('s', TensorProto.INT64, [3])], [shape], opset=11)

    yield 'split_two_outputs', model(
        [helper.make_node('Split', ['x'], ['a', 'b'], axis=1),
         helper.make_node('Mul', ['a', 'b'], ['y'])],
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 2])], [], opset=11)

    k = f32('k', [3])
    then_g = helper.make_graph([helper.make_node('Add', ['x', 'k'], ['t'])], 'then', [],
                               [helper.make_tensor_value_info('t', TensorProto.FLOAT, [2, 3])])
    else_g = helper.make_graph([helper.make_node('Mul', ['x', 'k'], ['e'])], 'else', [],
                               [helper.make_tensor_value_info('e', TensorProto.FLOAT, [2, 3])])
    yield 'if_outer_scope', model(
        [helper.make_node('If', ['c'], ['y'], then_branch=then_g, else_branch=else_g)],
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info('c', TensorProto.BOOL, [])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 3])], [k])

    types = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64,
             np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]
    inits = [numpy_helper.from_array(np.arange(6).reshape(2, 3).astype(t), 'c%d' % i)
             for i, t in enumerate(types)]
    outs = [helper.make_tensor_value_info(t.name, t.data_type, [2, 3]) for t in inits]
    yield 'every_dtype', model([], [], outs, inits)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name + '.onnx'), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
