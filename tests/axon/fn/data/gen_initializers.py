#!/usr/bin/python3
"""Reference data for tests/axon/fn/initializers_test.cpp: writes initializers.npz next to this
script.

Run with /usr/bin/python3 (numpy). Deterministic (no random numbers).

A NumPy transcription of Axon.Initializers' fan computation (compute_fans) and of the variance
that variance_scaling derives from it, for shapes of rank 0 to 5. For case i the file holds
shape_i (s64, the shape as a vector), fans_i (f64 [fan_in, fan_out]) and var_i (f64 variance
for scale 1.7 and modes fan_in, fan_out, fan_avg).
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

SHAPES = [(), (7,), (1,), (3, 5), (5, 3), (1, 1), (3, 4, 5), (2, 3, 4, 5), (3, 3, 16, 32),
          (2, 2, 2, 3, 4), (1, 1, 1, 1, 1), (5, 1, 7), (4, 6)]


def compute_fans(shape):
    # Axon: rank 0 -> {1, 1}; rank 1 -> {n, n}; rank 2 -> {s0, s1}; otherwise
    # receptive_field_size = size / s[-2] / s[-1], fan_in = s[-2] * rf, fan_out = s[-1] * rf.
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    rf = np.prod(shape) / shape[-2] / shape[-1]
    return float(shape[-2] * rf), float(shape[-1] * rf)


def variance(shape, scale, mode):
    fan_in, fan_out = compute_fans(shape)
    denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return scale / max(denominator, 1.0)


arrays = {}
for i, shape in enumerate(SHAPES):
    arrays[f"shape_{i}"] = np.array(shape, dtype=np.int64)
    arrays[f"fans_{i}"] = np.array(compute_fans(shape), dtype=np.float64)
    arrays[f"var_{i}"] = np.array([variance(shape, 1.7, m) for m in ("fan_in", "fan_out", "fan_avg")])
arrays["count"] = np.array(len(SHAPES), dtype=np.int64)

np.savez_compressed(os.path.join(HERE, "initializers.npz"), **arrays)
print(f"wrote {len(arrays)} arrays")
