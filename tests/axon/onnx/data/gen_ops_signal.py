#!/usr/bin/python3
"""Reference data of the ONNX signal converter tests (tests/axon/onnx/ops_signal_test.cpp).

Run with /usr/bin/python3 (Debian's python3-onnx and numpy):
    /usr/bin/python3 tests/axon/onnx/data/gen_ops_signal.py
It writes ops_signal.npz next to itself. Every case is one ONNX node (opset 17) and its
expectation from NumPy: the windows from their ONNX formulas, DFT and STFT from numpy.fft,
MelWeightMatrix from the ONNX reference's loop. Cases are written by node_cases.case
(node_cases.py lists the members of a case).
Deterministic: one seeded generator, cases in a fixed order.
"""
import functools
import os

import numpy as np
from onnx import TensorProto

import node_cases  # next to this script

rng = np.random.default_rng(20261121)
out = {}


case = functools.partial(node_cases.case, out)
randn = functools.partial(node_cases.randn, rng)


# ---- Windows: a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size or size - 1 ----------------

WINDOWS = {"HannWindow": (0.5, 0.5, 0.0), "HammingWindow": (25 / 46, 21 / 46, 0.0),
           "BlackmanWindow": (0.42, 0.5, 0.08)}


def window(op, size, periodic):
    a0, a1, a2 = WINDOWS[op]
    n = np.arange(size, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        phase = 2 * np.pi * n / (size if periodic else size - 1)
    return a0 - a1 * np.cos(phase) + a2 * np.cos(2 * phase)


for op in WINDOWS:
    for size, periodic in ((10, 1), (10, 0), (7, 1), (1, 1), (1, 0)):
        case(f"{op}_{size}_{'periodic' if periodic else 'symmetric'}", op, [np.int64(size)],
             [window(op, size, periodic).astype(np.float32)], const=(0,), periodic=periodic)
    case(f"{op}_double", op, [np.int32(12)], [window(op, 12, 1)], const=(0,),
         output_datatype=TensorProto.DOUBLE)
case("HannWindow_int32_out", "HannWindow", [np.int64(6)],
     [window("HannWindow", 6, 0).astype(np.int32)], const=(0,), periodic=0,
     output_datatype=TensorProto.INT32)


# ---- DFT -----------------------------------------------------------------------------------------

def as_pair(z, dtype):
    return np.stack([z.real, z.imag], axis=-1).astype(dtype)


def complex_of(x):
    return x[..., 0] + 1j * x[..., 1] if x.shape[-1] == 2 else x[..., 0].astype(np.float64)


def dft_case(name, x, axis=1, inverse=0, onesided=0, length=None, dtype=np.float32):
    z = complex_of(x.astype(np.float64))
    fft = np.fft.ifft if inverse else np.fft.fft
    y = fft(z, n=length, axis=axis if axis >= 0 else axis + x.ndim)  # ONNX counts the pair axis
    if onesided:
        n = y.shape[axis]
        y = np.take(y, np.arange(n // 2 + 1), axis=axis)
    inputs = [x.astype(dtype)] + ([np.int64(length)] if length is not None else [])
    case(name, "DFT", inputs, [as_pair(y, dtype)], const=(1,) if length is not None else (),
         axis=axis, inverse=inverse, onesided=onesided)


dft_case("dft_real_axis1", randn(2, 8, 1))
dft_case("dft_complex_axis2", randn(2, 3, 6, 2), axis=2)
dft_case("dft_complex_axis_neg2", randn(2, 5, 4, 2), axis=-2)
dft_case("dft_batch_axis0", randn(4, 3, 1), axis=0)
dft_case("dft_inverse_complex", randn(3, 7, 2))
dft_case("dft_inverse_real", randn(3, 6, 1), inverse=1)
dft_case("dft_onesided_even", randn(2, 10, 1), onesided=1)
dft_case("dft_onesided_odd", randn(2, 9, 3, 1), onesided=1)
dft_case("dft_length_pad", randn(2, 8, 2), length=12)
dft_case("dft_length_truncate", randn(2, 8, 1), length=5)
dft_case("dft_f64", randn(2, 16, 2, dtype=np.float64), inverse=1, dtype=np.float64)
dft_case("dft_prime_length", randn(1, 31, 1))


# ---- STFT: frames t * step + [0, frame_length), times the window, one DFT per frame --------------

def stft(signal, step, frame_length, win, onesided):
    z = complex_of(signal.astype(np.float64))
    frames = (z.shape[1] - frame_length) // step + 1
    w = np.ones(frame_length) if win is None else win.astype(np.float64)
    y = np.stack([np.fft.fft(z[:, t * step:t * step + frame_length] * w, axis=1)
                  for t in range(frames)], axis=1)
    return y[:, :, :frame_length // 2 + 1] if onesided else y


sig = randn(2, 40, 1)
hann = window("HannWindow", 16, 1).astype(np.float32)
case("stft_window", "STFT", [sig, np.int64(5), hann],
     [as_pair(stft(sig, 5, 16, hann, 1), np.float32)], const=(1, 2))
case("stft_frame_length", "STFT", [sig, np.int64(8), None, np.int64(11)],
     [as_pair(stft(sig, 8, 11, None, 1), np.float32)], const=(1, 3))
case("stft_window_and_length", "STFT", [sig, np.int64(3), hann, np.int64(16)],
     [as_pair(stft(sig, 3, 16, hann, 0), np.float32)], const=(1, 2, 3), onesided=0)
csig = randn(1, 30, 2)
ham = window("HammingWindow", 10, 0).astype(np.float32)
case("stft_complex_twosided", "STFT", [csig, np.int64(4), ham],
     [as_pair(stft(csig, 4, 10, ham, 0), np.float32)], const=(1, 2), onesided=0)
dsig = randn(3, 25, 1, dtype=np.float64)
case("stft_f64", "STFT", [dsig, np.int64(6), None, np.int64(9)],
     [as_pair(stft(dsig, 6, 9, None, 1), np.float64)], const=(1, 3))


# ---- MelWeightMatrix: the ONNX reference loop (in float64) ---------------------------------------

def mel_weight_matrix(bins, dft_length, sample_rate, lower, upper):
    spectrogram_bins = dft_length // 2 + 1
    points = np.arange(0, bins + 2)
    low_mel = 2595 * np.log10(1 + lower / 700)
    high_mel = 2595 * np.log10(1 + upper / 700)
    step = (high_mel - low_mel) / points.shape[0]
    hz = 700 * (np.power(10, (points * step + low_mel) / 2595) - 1)
    points = np.floor((dft_length + 1) * hz / sample_rate).astype(np.int64)
    w = np.zeros((spectrogram_bins, bins))
    for i in range(bins):
        lo, center, hi = points[i], points[i + 1], points[i + 2]
        if center == lo:
            w[center, i] = 1
        else:
            for j in range(lo, center + 1):
                w[j, i] = (j - lo) / (center - lo)
        for j in range(center, hi):
            w[j, i] = (hi - j) / (hi - center)
    return w


case("mel_8_16", "MelWeightMatrix",
     [np.int32(8), np.int32(16), np.int32(8192), np.float32(0), np.float32(4096)],
     [mel_weight_matrix(8, 16, 8192, 0.0, 4096.0).astype(np.float32)], const=(0, 1, 2, 3, 4))
case("mel_20_512_double", "MelWeightMatrix",
     [np.int64(20), np.int64(512), np.int64(16000), np.float32(20), np.float32(7600)],
     [mel_weight_matrix(20, 512, 16000, 20.0, 7600.0)], const=(0, 1, 2, 3, 4),
     output_datatype=TensorProto.DOUBLE)

np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ops_signal.npz"),
                    **out)
print(len([k for k in out if k.endswith(".node")]), "cases")
