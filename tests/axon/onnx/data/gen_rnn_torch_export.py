#!/usr/bin/python3
"""Reference data of the torch-export tests in tests/axon/onnx/ops_rnn_test.cpp.

Exports small torch.nn.LSTM / GRU / RNN modules with torch.onnx.export (Debian's torch 1.13) and
records, for fixed inputs, torch's outputs and the gradient of sum(y * cotangent) with respect to
the input. Writes rnn_<kind>.onnx and rnn_torch_export.npz next to this script.
Run with /usr/bin/python3; deterministic.
"""
import io
import os
import warnings

import numpy as np
import torch

warnings.filterwarnings("ignore")
torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = {}


def export(name, module, args, input_names, output_names, opset, dynamic_axes):
    f = io.BytesIO()
    torch.onnx.export(module, args, f, opset_version=opset, input_names=input_names,
                      output_names=output_names, dynamic_axes=dynamic_axes)
    with open(os.path.join(HERE, f"rnn_{name}.onnx"), "wb") as out:
        out.write(f.getvalue())


def record(name, module, inputs, output_names):
    xs = [t.clone().requires_grad_(True) for t in inputs]
    outs = module(*xs)
    flat = [outs[0]] + (list(outs[1]) if isinstance(outs[1], tuple) else [outs[1]])
    ct = torch.randn(flat[0].shape)
    (gx,) = torch.autograd.grad((flat[0] * ct).sum(), [xs[0]])
    for i, t in enumerate(inputs):
        OUT[f"{name}.in{i}"] = t.numpy()
    for n, o in zip(output_names, flat):
        OUT[f"{name}.{n}"] = o.detach().numpy()
    OUT[f"{name}.cotangent"] = ct.numpy()
    OUT[f"{name}.grad_x"] = gx.numpy()


# LSTM: two layers, bidirectional, batch first, symbolic batch, opset 14.
lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True).eval()
export("lstm", lstm, (torch.randn(2, 5, 3),), ["x"], ["y", "h", "c"], 14, {"x": {0: "batch"}})
record("lstm", lstm, [torch.randn(3, 5, 3)], ["y", "h", "c"])

# GRU: bidirectional, sequence first, with an initial state input, opset 11.
gru = torch.nn.GRU(3, 4, bidirectional=True).eval()
export("gru", gru, (torch.randn(5, 2, 3), torch.randn(2, 2, 4)), ["x", "h0"], ["y", "h"], 11,
       None)
record("gru", gru, [torch.randn(5, 2, 3), torch.randn(2, 2, 4)], ["y", "h"])

# RNN: relu, two layers, opset 9.
rnn = torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu").eval()
export("rnn", rnn, (torch.randn(5, 2, 3),), ["x"], ["y", "h"], 9, None)
record("rnn", rnn, [torch.randn(5, 2, 3)], ["y", "h"])

np.savez(os.path.join(HERE, "rnn_torch_export.npz"), **OUT)
print(len(OUT), "arrays")
