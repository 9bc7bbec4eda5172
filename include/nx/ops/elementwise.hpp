// Elementwise operations, with Nx's names and type rules.
//
// Binary ops broadcast numpy-style and promote dtypes with nx::merge. C++ numbers are weakly
// typed: `x * 2` keeps x's dtype, `int_tensor * 0.5` is f32. Math functions on integer or pred
// tensors compute in f32 (Nx's to_floating). Arithmetic on pred computes in u8, or in the other
// operand's type when that is wider (`pred_tensor + 1` is s32, as the weak 1 is).
#pragma once

#include "nx/tensor.hpp"

namespace nx {

// ---- Unary math (integer inputs are converted to f32)
// ---------------------------------------------
Tensor exp(const Tensor& x);          ///< e^x
Tensor expm1(const Tensor& x);        ///< e^x - 1, accurate near 0
Tensor log(const Tensor& x);          ///< natural logarithm
Tensor log1p(const Tensor& x);        ///< log(1 + x), accurate near 0
Tensor sqrt(const Tensor& x);         ///< square root
Tensor rsqrt(const Tensor& x);        ///< 1 / sqrt(x)
Tensor cbrt(const Tensor& x);         ///< cube root
Tensor sin(const Tensor& x);          ///< sine
Tensor cos(const Tensor& x);          ///< cosine
Tensor tan(const Tensor& x);          ///< tangent
Tensor asin(const Tensor& x);         ///< inverse sine
Tensor acos(const Tensor& x);         ///< inverse cosine
Tensor atan(const Tensor& x);         ///< inverse tangent
Tensor sinh(const Tensor& x);         ///< hyperbolic sine
Tensor cosh(const Tensor& x);         ///< hyperbolic cosine
Tensor tanh(const Tensor& x);         ///< hyperbolic tangent
Tensor asinh(const Tensor& x);        ///< inverse hyperbolic sine
Tensor acosh(const Tensor& x);        ///< inverse hyperbolic cosine
Tensor atanh(const Tensor& x);        ///< inverse hyperbolic tangent
Tensor erf(const Tensor& x);          ///< error function
Tensor erfc(const Tensor& x);         ///< 1 - erf(x), accurate for large x
Tensor erf_inv(const Tensor& x);      ///< inverse error function (±1 -> ±inf)
Tensor sigmoid(const Tensor& x);      ///< 1 / (1 + e^-x), numerically stable
Tensor is_nan(const Tensor& x);       ///< pred: x is NaN (false for integers)
Tensor is_infinity(const Tensor& x);  ///< pred: x is ±inf (false for integers)
Tensor is_finite(const Tensor& x);    ///< pred: neither NaN nor ±inf

// ---- Unary arithmetic (dtype kept) -------------------------------------------------------------
Tensor negate(const Tensor& x);               ///< -x (wraps for unsigned)
Tensor abs(const Tensor& x);                  ///< |x|
Tensor sign(const Tensor& x);                 ///< -1, 0 or 1 (NaN stays NaN)
Tensor square(const Tensor& x);               ///< x * x
Tensor floor(const Tensor& x);                ///< round down (identity on integers)
Tensor ceil(const Tensor& x);                 ///< round up (identity on integers)
Tensor round(const Tensor& x);                ///< round half away from zero (Nx.round)
Tensor round_even(const Tensor& x);           ///< round half to even (ONNX Round, numpy.round)
Tensor trunc(const Tensor& x);                ///< round toward zero
Tensor bitwise_not(const Tensor& x);          ///< ~x (integers; logical not on pred)
Tensor population_count(const Tensor& x);     ///< number of set bits
Tensor count_leading_zeros(const Tensor& x);  ///< leading zero bits in the type's width
Tensor logical_not(const Tensor& x);          ///< pred: x == 0

// ---- Binary arithmetic ---------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);        ///< a + b
Tensor subtract(const Tensor& a, const Tensor& b);   ///< a - b
Tensor multiply(const Tensor& a, const Tensor& b);   ///< a * b
Tensor divide(const Tensor& a, const Tensor& b);     ///< a / b, always floating (Nx.divide)
Tensor quotient(const Tensor& a, const Tensor& b);   ///< integer division toward zero (x/0 = 0)
Tensor remainder(const Tensor& a, const Tensor& b);  ///< a - trunc(a/b)*b: sign of a (C fmod)
Tensor mod(const Tensor& a, const Tensor& b);        ///< floor modulo: sign of b (Python %)
Tensor pow(const Tensor& a, const Tensor& b);        ///< a^b (integers stay integers)
Tensor max(const Tensor& a, const Tensor& b);        ///< elementwise maximum (NaN wins)
Tensor min(const Tensor& a, const Tensor& b);        ///< elementwise minimum (NaN wins)
Tensor atan2(const Tensor& a, const Tensor& b);      ///< angle of (b, a), floating

// ---- Bitwise and logical ----------------------------------------------------------------------
Tensor bitwise_and(const Tensor& a, const Tensor& b);  ///< a & b
Tensor bitwise_or(const Tensor& a, const Tensor& b);   ///< a | b
Tensor bitwise_xor(const Tensor& a, const Tensor& b);  ///< a ^ b
Tensor left_shift(const Tensor& a, const Tensor& b);   ///< a << b (0 when b is out of range)
Tensor right_shift(const Tensor& a, const Tensor& b);  ///< a >> b: arithmetic if signed
Tensor logical_and(const Tensor& a, const Tensor& b);  ///< pred: a != 0 and b != 0
Tensor logical_or(const Tensor& a, const Tensor& b);   ///< pred: a != 0 or b != 0
Tensor logical_xor(const Tensor& a, const Tensor& b);  ///< pred: exactly one is non-zero

// ---- Comparisons (pred results) -----------------------------------------------------------------
Tensor equal(const Tensor& a, const Tensor& b);          ///< a == b
Tensor not_equal(const Tensor& a, const Tensor& b);      ///< a != b
Tensor less(const Tensor& a, const Tensor& b);           ///< a < b
Tensor less_equal(const Tensor& a, const Tensor& b);     ///< a <= b
Tensor greater(const Tensor& a, const Tensor& b);        ///< a > b
Tensor greater_equal(const Tensor& a, const Tensor& b);  ///< a >= b

// ---- Selection and conversion
// ---------------------------------------------------------------------
/// on_true where pred is non-zero, else on_false; all three broadcast (Nx.select, ONNX Where).
Tensor select(const Tensor& pred, const Tensor& on_true, const Tensor& on_false);
/// Limits x to [lo, hi] (Nx.clip).
Tensor clip(const Tensor& x, const Tensor& lo, const Tensor& hi);
/// Converts to another dtype (Nx.as_type): floats to integers truncate toward zero and
/// saturate, NaN becomes 0; anything to pred is x != 0.
Tensor as_type(const Tensor& x, DType dtype);
/// Reinterprets the bits as another dtype of the same width (Nx.bitcast).
Tensor bitcast(const Tensor& x, DType dtype);

// ---- Operators ---------------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  return subtract(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return multiply(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  return divide(a, b);
}
inline Tensor operator-(const Tensor& a) {
  return negate(a);
}

}  // namespace nx
