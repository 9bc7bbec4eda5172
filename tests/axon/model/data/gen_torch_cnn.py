#!/usr/bin/python3
"""Reference data for the model state tests (tests/axon/model/model_state_test.cpp).

Writes, from a small PyTorch CNN with fixed weights:
  torch_cnn.safetensors  its state_dict renamed to axon's parameter paths ("conv_0.kernel", ...)
                         by a plain json + numpy safetensors writer (no safetensors package);
  torch_cnn.npz          an input batch and torch's output on it (eval mode).
The C++ test loads the safetensors file into an axon::ModelState, runs the same network built
with axon's layers (channels first, so torch's layouts carry over: conv kernel {out, in, kh, kw},
dense kernel = Linear.weight transposed) and compares with torch's output.

read_safetensors.py (next to this file) is the other direction: the test writes a model state
from C++ and reads it back with numpy.

Run with /usr/bin/python3 (Debian's python3-torch and numpy); deterministic.
"""
import json
import os
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64"}


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, np.ndarray), written in order, little-endian, row-major."""
    header = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        data = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


class Net(torch.nn.Module):
    # conv 2->4 (3x3, same) -> relu -> batch_norm -> max_pool 2 -> flatten -> dense 36->5 -> softmax
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(2, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4, eps=1e-5)
        self.fc = torch.nn.Linear(4 * 3 * 3, 5)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        h = self.bn(h)
        h = torch.nn.functional.max_pool2d(h, 2)
        return torch.softmax(self.fc(torch.flatten(h, 1)), dim=-1)


def main():
    torch.manual_seed(0)
    net = Net()
    with torch.no_grad():
        net.bn.weight.copy_(torch.rand(4) + 0.5)
        net.bn.bias.copy_(torch.randn(4) * 0.1)
        net.bn.running_mean.copy_(torch.rand(4) * 0.5)
        net.bn.running_var.copy_(torch.rand(4) + 0.5)
    net.eval()
    x = torch.randn(3, 2, 6, 6)
    with torch.no_grad():
        y = net(x)
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    tensors = [
        ("conv_0.kernel", sd["conv.weight"]),  # {out, in, kh, kw}: axon's channels-first layout
        ("conv_0.bias", sd["conv.bias"]),
        ("batch_norm_0.gamma", sd["bn.weight"]),
        ("batch_norm_0.beta", sd["bn.bias"]),
        ("batch_norm_0.mean", sd["bn.running_mean"]),
        ("batch_norm_0.var", sd["bn.running_var"]),
        ("dense_0.kernel", sd["fc.weight"].T),  # axon's dense kernel is {in, out}
        ("dense_0.bias", sd["fc.bias"]),
    ]
    write_safetensors(os.path.join(HERE, "torch_cnn.safetensors"), tensors,
                      {"format": "pt", "source": "gen_torch_cnn.py"})
    np.savez(os.path.join(HERE, "torch_cnn.npz"), x=x.numpy(), y=y.numpy())


if __name__ == "__main__":
    main()
