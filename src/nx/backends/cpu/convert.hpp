// Conversion of one value between any two dtypes' storage types: the rules of nx::convert
// (used by the convert and iota kernels).
//
//   float -> integer: truncates toward zero, saturates to the target's range (negative to 0 for
//     unsigned), NaN -> 0.
//   integer -> integer: wraps modulo 2^bits (two's complement), as static_cast does.
//   integer -> float, float -> narrower float: round to nearest even, in one rounding (f64 ->
//     f16 and s64 -> bf16 do not round twice through f32).
//   anything -> pred: value != 0 (NaN -> true); pred -> anything: 0 or 1.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../../core/visit_dtype.hpp"

namespace nx::cpu::conv {

using detail::is_half_v;

/// A float holding integer v either exactly or rounded to odd at 24 bits. Rounding that float
/// to 11 or 8 bits (f16, bf16) then gives the correctly rounded result, which rounding through
/// an ordinary float would not (a tie created by the first rounding).
template <class I>
float int_to_float_odd(I v) {
  using U = std::make_unsigned_t<I>;
  const bool neg = std::is_signed_v<I> && v < 0;
  const U m = neg ? static_cast<U>(U(0) - static_cast<U>(v)) : static_cast<U>(v);
  float f;
  if constexpr (sizeof(I) <= 2) {
    f = static_cast<float>(m);
  } else {
    if (m < (U(1) << 24)) {
      f = static_cast<float>(m);
    } else {
      const int shift = std::bit_width(m) - 24;
      U kept = m >> shift;
      if ((m & ((U(1) << shift) - 1)) != 0) kept |= 1;  // sticky bit
      f = std::ldexp(static_cast<float>(kept), shift);
    }
  }
  return neg ? -f : f;
}

/// A double rounded to float toward zero and then marked inexact in the last bit (round to
/// odd), for the same reason as above.
inline float double_to_float_odd(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) != x && x == x) {
    uint32_t b = std::bit_cast<uint32_t>(f);
    if (std::fabs(static_cast<double>(f)) > std::fabs(x)) --b;  // rounded up: step back to zero
    f = std::bit_cast<float>(b | 1u);
  }
  return f;
}

/// Float value x -> integer I with truncation, saturation and NaN -> 0.
template <class I, class F>
I float_to_int(F x) {
  if (!(x == x)) return I(0);
  // Both bounds are powers of two (or 0), so exact in F.
  constexpr F lo = static_cast<F>(std::numeric_limits<I>::min());
  constexpr F hi = F(2) * static_cast<F>(uint64_t{1} << (std::numeric_limits<I>::digits - 1));
  if (x <= lo) return std::numeric_limits<I>::min();
  if (x >= hi) return std::numeric_limits<I>::max();
  return static_cast<I>(x);
}

/// Converts one stored value of dtype storage From to dtype storage To. Pred is bool on both
/// sides here (callers read and write its byte as 0/1).
template <class To, class From>
To convert_value(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (is_half_v<From>)
      return static_cast<float>(v) != 0.0f;
    else
      return v != From(0);
  } else if constexpr (std::is_same_v<From, bool>) {
    if constexpr (is_half_v<To>)
      return To(v ? 1.0f : 0.0f);
    else
      return v ? To(1) : To(0);
  } else if constexpr (is_half_v<From>) {
    return convert_value<To>(static_cast<float>(v));  // widening is exact
  } else if constexpr (is_half_v<To>) {
    if constexpr (std::is_same_v<From, float>)
      return To(v);
    else if constexpr (std::is_same_v<From, double>)
      return To(double_to_float_odd(v));
    else
      return To(int_to_float_odd(v));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    return float_to_int<To>(v);
  } else {
    return static_cast<To>(v);  // int->int wraps; int->float and float->float round once
  }
}

}  // namespace nx::cpu::conv
