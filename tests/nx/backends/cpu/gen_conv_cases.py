#!/usr/bin/python3
"""Writes conv_cases.inc: conv_general reference results computed by PyTorch.

Run with Debian's Python (which sees python3-torch):  /usr/bin/python3 gen_conv_cases.py

conv_general follows XLA's ConvGeneralDilated. The reference builds that definition from
PyTorch pieces: the input is dilated explicitly (lhs_dilation - 1 zeros between elements), padded
or cropped with torch.nn.functional.pad (negative amounts crop), and convolved with
torch.nn.functional.conv1d/2d/3d (stride, kernel dilation, groups). Batch groups become feature
groups over a reshaped batch (XLA: input batch index = group * (N / groups) + output batch). Four
spatial axes are computed as a sum of conv3d over the first kernel axis. Cases with input
dilation are also checked against torch.nn.functional.conv_transpose (the same operation written
the other way round) before being written.

Inputs are the formula of contract_test_util.hpp (`input_value`); the contraction runs in
float64 and is rounded once to each dtype (round to nearest even).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"f32": torch.float32, "f64": torch.float64, "bf16": torch.bfloat16,
          "f16": torch.float16}

# name, input shape, kernel shape, strides, pad_lo, pad_hi, lhs_dilation, rhs_dilation,
# feature_groups, batch_groups
CASES = [
    ("conv1d", [2, 3, 7], [4, 3, 3], [1], [0], [0], [1], [1], 1, 1),
    ("conv1d_stride_pad", [2, 3, 9], [4, 3, 3], [2], [1], [2], [1], [1], 1, 1),
    ("conv1d_negative_padding", [1, 2, 10], [3, 2, 3], [1], [-2], [-1], [1], [1], 1, 1),
    ("conv1d_mixed_padding", [1, 2, 10], [3, 2, 3], [1], [2], [-3], [1], [1], 1, 1),
    ("conv1d_kernel_dilation", [1, 2, 11], [2, 2, 3], [1], [1], [1], [1], [2], 1, 1),
    ("conv1d_input_dilation", [1, 2, 5], [3, 2, 3], [1], [2], [2], [2], [1], 1, 1),
    ("conv1d_input_dilation_stride", [1, 2, 6], [2, 2, 3], [2], [1], [0], [3], [1], 1, 1),
    ("conv1d_stride_past_kernel", [1, 2, 10], [2, 2, 2], [4], [0], [0], [1], [1], 1, 1),
    ("conv2d", [2, 3, 6, 5], [4, 3, 3, 2], [1, 1], [0, 0], [0, 0], [1, 1], [1, 1], 1, 1),
    ("conv2d_stride_pad_dilation", [2, 4, 9, 8], [6, 4, 3, 3], [2, 1], [1, 0], [2, 1], [1, 1],
     [1, 2], 1, 1),
    ("conv2d_feature_groups", [2, 6, 5, 5], [9, 2, 3, 3], [1, 1], [1, 1], [1, 1], [1, 1],
     [1, 1], 3, 1),
    ("conv2d_depthwise", [1, 4, 6, 6], [8, 1, 3, 3], [2, 2], [1, 1], [1, 1], [1, 1], [1, 1], 4, 1),
    ("conv2d_batch_groups", [4, 3, 5, 5], [6, 3, 2, 2], [1, 1], [0, 0], [0, 0], [1, 1], [1, 1],
     1, 2),
    ("conv2d_batch_groups_dilated", [6, 2, 6, 6], [6, 2, 3, 3], [1, 1], [1, 0], [0, 1], [1, 1],
     [2, 1], 1, 3),
    ("conv2d_input_dilation", [1, 2, 4, 4], [3, 2, 3, 3], [1, 1], [2, 1], [2, 2], [2, 2], [1, 1],
     1, 1),
    ("conv2d_both_dilations_negative_pad", [1, 2, 5, 4], [2, 2, 2, 2], [1, 2], [-1, 1], [0, -1],
     [2, 3], [2, 1], 1, 1),
    ("conv2d_negative_padding", [1, 3, 7, 7], [2, 3, 3, 3], [1, 1], [-1, 1], [2, -2], [1, 1],
     [1, 1], 1, 1),
    ("conv2d_one_by_one", [2, 5, 4, 4], [3, 5, 1, 1], [1, 1], [0, 0], [0, 0], [1, 1], [1, 1],
     1, 1),
    ("conv2d_one_by_one_strided", [2, 5, 5, 4], [3, 5, 1, 1], [2, 2], [0, 0], [0, 0], [1, 1],
     [1, 1], 1, 1),
    ("conv2d_kernel_larger_than_input", [1, 1, 3, 3], [1, 1, 5, 5], [1, 1], [2, 2], [2, 2],
     [1, 1], [1, 1], 1, 1),
    ("conv3d", [1, 2, 4, 5, 4], [3, 2, 2, 3, 2], [1, 2, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1],
     [1, 1, 1], 1, 1),
    ("conv3d_groups_dilation", [2, 4, 5, 5, 5], [4, 2, 2, 2, 2], [1, 1, 1], [0, 0, 0],
     [0, 0, 0], [1, 1, 1], [2, 1, 2], 2, 1),
    ("conv3d_batch_groups_input_dilation", [2, 2, 3, 3, 3], [4, 2, 2, 2, 2], [1, 1, 1],
     [1, 1, 1], [1, 1, 1], [2, 1, 2], [1, 1, 1], 1, 2),
    ("conv4d", [1, 2, 3, 4, 3, 3], [2, 2, 2, 2, 2, 2], [1, 2, 1, 1], [0, 1, 0, 1],
     [1, 0, 0, 0], [1, 1, 2, 1], [1, 1, 1, 2], 1, 1),
]


def values(shape, seed):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    return torch.tensor(((i * 7 + seed * 13) % 17 - 8) / 4.0, dtype=torch.float64).reshape(shape)


def dilate(x, factors):
    """Inserts factor - 1 zeros between neighbours along each spatial axis."""
    for axis, f in enumerate(factors, start=2):
        if f == 1 or x.shape[axis] == 0:
            continue
        shape = list(x.shape)
        shape[axis] = (shape[axis] - 1) * f + 1
        out = x.new_zeros(shape)
        index = [slice(None)] * x.dim()
        index[axis] = slice(None, None, f)
        out[tuple(index)] = x
        x = out
    return x


def conv_nd(x, w, strides, rhs_dilation, groups):
    d = x.dim() - 2
    if d <= 3:
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
        return fn(x, w, stride=strides, dilation=rhs_dilation, groups=groups)
    # Sum over the first kernel axis of (d-1)-dimensional convolutions.
    k0, s0, r0 = w.shape[2], strides[0], rhs_dilation[0]
    out0 = (x.shape[2] - ((k0 - 1) * r0 + 1)) // s0 + 1
    slices = []
    for o in range(out0):
        acc = 0
        for k in range(k0):
            acc = acc + conv_nd(x[:, :, o * s0 + k * r0], w[:, :, k], strides[1:],
                                rhs_dilation[1:], groups)
        slices.append(acc)
    return torch.stack(slices, dim=2)


def reference(case):
    _, xs, ws, strides, lo, hi, ld, rd, fg, bg = case
    x, w = values(xs, 1), values(ws, 2)
    x = dilate(x, ld)
    pads = []
    for a in reversed(range(len(lo))):
        pads += [lo[a], hi[a]]
    x = F.pad(x, pads)
    if bg > 1:
        n = x.shape[0] // bg
        x = x.reshape(bg, n, *x.shape[1:]).transpose(0, 1).reshape(n, bg * x.shape[1],
                                                                  *x.shape[2:])
    return conv_nd(x, w, strides, rd, fg * bg)


def check_against_conv_transpose(case, out):
    """lhs_dilation s with padding k' - 1 - p (k' the dilated kernel) is a transposed
    convolution with stride s and padding p of the flipped, in/out-swapped kernel."""
    _, xs, ws, strides, lo, hi, ld, rd, fg, bg = case
    if all(v == 1 for v in ld) or any(v != 1 for v in strides) or fg != 1 or bg != 1:
        return False
    d = len(ld)
    kd = [(ws[2 + a] - 1) * rd[a] + 1 for a in range(d)]
    p = [kd[a] - 1 - lo[a] for a in range(d)]
    extra = [hi[a] - lo[a] for a in range(d)]  # output_padding
    if any(v < 0 for v in p) or any(v < 0 for v in extra) or any(
            extra[a] >= max(ld[a], rd[a]) for a in range(d)):
        raise ValueError("case %s has no conv_transpose equivalent" % case[0])
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[d]
    w = values(ws, 2).flip(list(range(2, 2 + d))).transpose(0, 1)
    t = fn(values(xs, 1), w, stride=ld, padding=p, output_padding=extra, dilation=rd)
    assert torch.equal(t, out), case[0]
    return True


def ints(v):
    return "{" + ", ".join(str(x) for x in v) + "}"


def main():
    lines = ["// Generated by gen_conv_cases.py (PyTorch " + torch.__version__ + "); do not edit.",
             "// {name, input, kernel, strides, pad_lo, pad_hi, lhs_dilation, rhs_dilation,",
             "//  feature_groups, batch_groups, out shape, {{dtype, expected (row-major)}...}}"]
    transposed = 0
    for case in CASES:
        out = reference(case)
        transposed += check_against_conv_transpose(case, out)
        per_dtype = []
        for name, dt in DTYPES.items():
            vals = out.to(dt).to(torch.float64).reshape(-1)
            per_dtype.append("    {nx::" + name + ", {" + ", ".join(repr(float(v)) for v in vals)
                             + "}}")
        name, xs, ws, strides, lo, hi, ld, rd, fg, bg = case
        lines.append('{"%s", %s, %s, %s, %s, %s, %s, %s, %d, %d, %s, {\n%s}},' % (
            name, ints(xs), ints(ws), ints(strides), ints(lo), ints(hi), ints(ld), ints(rd), fg,
            bg, ints(list(out.shape)), ",\n".join(per_dtype)))
    assert transposed >= 2
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_cases.inc")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
