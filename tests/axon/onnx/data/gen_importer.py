#!/usr/bin/python3
"""Writes the importer's PyTorch-exported test models and their reference outputs.

Run with Debian's torch, onnx and numpy:  /usr/bin/python3 tests/axon/onnx/data/gen_importer.py

importer_cnn.onnx: Conv -> BatchNormalization -> Relu -> MaxPool -> Flatten -> Gemm -> Softmax
as torch.onnx.export writes it (opset 13, a symbolic batch); importer_cnn.npz: inputs at batch
sizes 1 and 3 and torch's outputs for them.
"""
import io
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        h = torch.nn.functional.max_pool2d(h, 2)
        return torch.softmax(self.fc(torch.flatten(h, 1)), dim=-1)


def main():
    torch.manual_seed(0)
    model = Cnn()
    with torch.no_grad():  # non-trivial batch-norm statistics
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 1.5)
    model.eval()
    buf = io.BytesIO()
    torch.onnx.export(model, torch.zeros(1, 3, 8, 8), buf, opset_version=13,
                      input_names=['image'], output_names=['probs'],
                      dynamic_axes={'image': {0: 'batch'}, 'probs': {0: 'batch'}})
    with open(os.path.join(HERE, 'importer_cnn.onnx'), 'wb') as f:
        f.write(buf.getvalue())
    rng = np.random.default_rng(0)
    arrays = {}
    for n in (1, 3):
        x = rng.standard_normal((n, 3, 8, 8)).astype(np.float32)
        with torch.no_grad():
            arrays['x%d' % n] = x
            arrays['y%d' % n] = model(torch.from_numpy(x)).numpy()
    np.savez(os.path.join(HERE, 'importer_cnn.npz'), **arrays)


if __name__ == '__main__':
    main()
