#!/usr/bin/python3
"""Fits the polynomial coefficients of vmath.hpp's f32 erf and prints them.

Run with Debian's Python (NumPy):
    /usr/bin/python3 tests/nx/backends/cpu/gen_vmath_coefficients.py

erf is split at |x| = 0.9277 (where both branches have about the same error):
  * below: erf(x) = x + x * P(x^2), P of degree 5, fitted to erf(x)/x - 1;
  * above: erf(t) = 1 - exp(Q(t)), Q of degree 6 in t = |x| up to 3.95 (beyond, erf rounds to
    1 in f32), fitted to log(erfc(t)) with weight erfc(t)/erf(t): the error Q makes in the
    result, relative to the result.
Each fit is weighted least squares on Chebyshev nodes, then Lawson's iteration (reweighting by
the error) moves it towards the minimax polynomial. The script also simulates the f32
evaluation (FMA Horner, exp rounded once) and prints the worst error in ulps; the C++ test
elementwise_math_test.cpp measures the real kernel.
"""
import math

import numpy as np

SPLIT = 0.9277
TOP = 3.95


def fit(f, weight, lo, hi, basis, degree, nodes=4000, lawson_steps=40):
    xs = lo + (hi - lo) * (1 - np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)) / 2
    a = np.array([[basis(x) ** k for k in range(degree + 1)] for x in xs])
    y = np.array([f(x) for x in xs])
    w = np.array([weight(x) for x in xs])
    lw = np.ones(nodes)
    for _ in range(lawson_steps):
        sw = np.sqrt(lw) * w
        c = np.linalg.lstsq(a * sw[:, None], y * sw, rcond=None)[0]
        err = np.abs(a @ c - y) * w
        lw = lw * err
        lw /= lw.sum()
    return [np.float32(v) for v in c]


def fma32(a, b, c):
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


def horner32(coefficients, x):
    r = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        r = fma32(r, x, c)
    return r


def ulp32(v):
    v = abs(v)
    return 2.0 ** -149 if v < 2.0 ** -126 else 2.0 ** (math.frexp(v)[1] - 24)


def main():
    small = fit(lambda x: math.erf(x) / x - 1, lambda x: 1.0, 1e-9, SPLIT, lambda x: x * x, 5)
    large = fit(lambda t: math.log(math.erfc(t)), lambda t: math.erfc(t) / math.erf(t), SPLIT,
                TOP, lambda t: t, 6)
    worst = 0.0
    for x in np.linspace(1e-6, TOP, 200001, dtype=np.float32):
        if x < SPLIT:
            r = fma32(horner32(small, np.float32(x * x)), x, x)
        else:
            r = np.float32(1) - np.float32(math.exp(float(horner32(large, x))))
        worst = max(worst, abs(float(r) - math.erf(float(x))) / ulp32(math.erf(float(x))))
    print("erf |x| < %g: P(s), s = x^2, highest degree first:" % SPLIT)
    print("  " + ", ".join("%.8e" % v for v in reversed(small)))
    print("erf |x| >= %g: Q(t), highest degree first:" % SPLIT)
    print("  " + ", ".join("%.8e" % v for v in reversed(large)))
    print("simulated worst error: %.3f ulp" % worst)


if __name__ == "__main__":
    main()
