// Vectorizable float math: exp, expm1, log, log1p, tanh, sigmoid and erf for f32, and the
// roundings (trunc, floor, ceil, round, round_even) and sqrt for f32 and f64.
//
// libm's expf/logf are calls the compiler cannot vectorize, and GCC keeps std::sqrt, floor
// and trunc scalar too (they may set errno or raise floating-point flags). The functions here
// are branch-free (every condition is a select), inline, and use only operations with vector
// forms, so a loop calling them vectorizes with -O3 -march=native. The f32 functions are
// within 2 ulp (measured by elementwise_math_test.cpp over a dense sweep against double libm:
// exp 1.01, expm1 1.42, log 0.82, log1p 1.44, tanh 1.30, sigmoid 1.46, erf 1.14) and handle
// NaN, +-inf, +-0, overflow, underflow and subnormal arguments and results as libm does.
//
// The polynomials: exp, log and tanh's are Cephes' expf/logf/tanhf (S. Moshier); erf's were
// fitted for this file by tests/nx/backends/cpu/gen_vmath_coefficients.py (weighted least
// squares refined by Lawson's algorithm towards minimax).
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace nx::cpu::vm {

inline float mul_add(float a, float b, float c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;  // without hardware FMA, std::fma is a slow library call
#endif
}

inline float as_float(uint32_t u) {
  return std::bit_cast<float>(u);
}
inline uint32_t as_bits(float f) {
  return std::bit_cast<uint32_t>(f);
}
inline float copy_sign(float magnitude, float sign) {
  return as_float((as_bits(magnitude) & 0x7fffffffu) | (as_bits(sign) & 0x80000000u));
}
inline float abs_f(float x) {
  return as_float(as_bits(x) & 0x7fffffffu);
}
/// c ? a : b as bit operations. GCC sinks the work of a ?: operand into a branch and then, under
/// -ftrapping-math, refuses to if-convert it back, so the loop stays scalar; a blend of bits
/// keeps both operands computed.
inline float blend(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return as_float((as_bits(a) & m) | (as_bits(b) & ~m));
}

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// 2^n as a float for n in [-126, 127].
inline float pow2i(int32_t n) {
  return as_float(static_cast<uint32_t>(n + 127) << 23);
}

/// Splits x = n*ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 = C1 + C2, C1 exact in 9 bits so
/// n*C1 is exact). x must be finite and |x| < 2^22.
inline float reduce_ln2(float x, int32_t& n) {
  // Adding 1.5*2^23 rounds to an integer in the low mantissa bits (round to nearest even).
  const float shifter = 12582912.0f;
  float t = mul_add(x, 1.44269504088896341f, shifter);
  float fn = t - shifter;
  n = static_cast<int32_t>(as_bits(t) - as_bits(shifter));
  float r = mul_add(fn, -0.693359375f, x);
  return mul_add(fn, 2.12194440e-4f, r);
}

/// e^r - 1 - r for |r| <= ln2/2, as r^2 * P(r) (Cephes expf's polynomial).
inline float exp_tail(float r) {
  float p = 1.9875691500e-4f;
  p = mul_add(p, r, 1.3981999507e-3f);
  p = mul_add(p, r, 8.3334519073e-3f);
  p = mul_add(p, r, 4.1665795894e-2f);
  p = mul_add(p, r, 1.6666665459e-1f);
  p = mul_add(p, r, 5.0000001201e-1f);
  return p * (r * r);
}

/// e^x.
inline float exp(float x) {
  // Beyond these bounds the result is inf or 0 anyway; clamping keeps n in range. NaN is
  // replaced by 0 so that the integer conversion is defined, and patched back at the end.
  float xc = x > 88.8f ? 88.8f : x;
  xc = xc < -104.0f ? -104.0f : xc;
  xc = x == x ? xc : 0.0f;
  int32_t n;
  float r = reduce_ln2(xc, n);
  float p = 1.0f + (r + exp_tail(r));
  // Scale in two steps: n reaches -150 (subnormal results) and +128, beyond one float power.
  // The first product stays normal and exact, so the result is rounded only once.
  int32_t n1 = n / 2, n2 = n - n1;
  float y = (p * pow2i(n1)) * pow2i(n2);
  return x == x ? y : x;
}

/// e^x - 1, accurate near 0.
inline float expm1(float x) {
  // expm1 is -1 in float below -17.4 and overflows above 88.73.
  float xc = x > 89.0f ? 89.0f : x;
  xc = xc < -30.0f ? -30.0f : xc;
  xc = x == x ? xc : 0.0f;
  int32_t n;
  float r = reduce_ln2(xc, n);
  float em1 = r + exp_tail(r);  // e^r - 1, relative error ~1 ulp
  // e^x - 1 = 2^n (em1 + 1) - 1 = 2 (t em1 + (t - 1/2)) with t = 2^(n-1); n in [-44, 129].
  float t = pow2i(n - 1);
  float y = 2.0f * mul_add(t, em1, t - 0.5f);
  // Tiny |x| (also +-0 and subnormals): expm1(x) rounds to x.
  y = abs_f(x) < 5.9604645e-8f ? x : y;
  return x == x ? y : x;
}

/// Natural logarithm.
inline float log(float x) {
  // Subnormals are scaled into the normal range first.
  const bool sub = x < 1.17549435e-38f;
  const float scaled = x * 8388608.0f;
  const float xs = sub ? scaled : x;
  uint32_t u = as_bits(xs);
  int32_t e = static_cast<int32_t>((u >> 23) & 0xffu) - 126 - (sub ? 23 : 0);
  float m = as_float((u & 0x007fffffu) | 0x3f000000u);  // xs = m 2^e, m in [0.5, 1)
  // Centre m on 1: m in [sqrt(1/2), sqrt(2)) after the optional doubling; both subtractions
  // are exact.
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1 : e;
  const float doubled = (m + m) - 1.0f, single = m - 1.0f;
  m = low ? doubled : single;
  float z = m * m;
  float p = 7.0376836292e-2f;
  p = mul_add(p, m, -1.1514610310e-1f);
  p = mul_add(p, m, 1.1676998740e-1f);
  p = mul_add(p, m, -1.2420140846e-1f);
  p = mul_add(p, m, 1.4249322787e-1f);
  p = mul_add(p, m, -1.6668057665e-1f);
  p = mul_add(p, m, 2.0000714765e-1f);
  p = mul_add(p, m, -2.4999993993e-1f);
  p = mul_add(p, m, 3.3333331174e-1f);
  float fe = static_cast<float>(e);
  float y = p * m * z;
  y = mul_add(fe, -2.12194440e-4f, y);
  y = mul_add(z, -0.5f, y);
  float r = m + y;
  r = mul_add(fe, 0.693359375f, r);
  r = blend(x == 0.0f, -kInf, r);
  r = blend(x < 0.0f, kNaN, r);
  r = blend(x == kInf, kInf, r);
  return blend(x == x, r, x);
}

/// log(1 + x), accurate near 0.
inline float log1p(float x) {
  // u = 1 + x rounded; log(u) + (x - (u - 1)) / u corrects the rounding of u to first order.
  float u = 1.0f + x;
  float y = log(u) + (x - (u - 1.0f)) / u;
  y = blend(u == 1.0f, x, y);  // tiny x, +-0 and subnormals: log1p(x) rounds to x
  y = blend(u == 0.0f, -kInf, y);
  y = blend(x == kInf, kInf, y);
  return blend(x == x, y, x);
}

/// Hyperbolic tangent.
inline float tanh(float x) {
  float a = abs_f(x);
  // |x| < 0.625: odd polynomial (Cephes tanhf); above: 1 - 2 / (e^2|x| + 1), which tends to
  // 1 without overflow trouble (e = inf gives exactly 1).
  float z = a * a;
  float p = -5.70498872745e-3f;
  p = mul_add(p, z, 2.06390887954e-2f);
  p = mul_add(p, z, -5.37397155531e-2f);
  p = mul_add(p, z, 1.33314422036e-1f);
  p = mul_add(p, z, -3.33332819422e-1f);
  float small = mul_add(p * z, a, a);
  float large = 1.0f - 2.0f / (exp(a + a) + 1.0f);
  float y = a < 0.625f ? small : large;
  return copy_sign(y, x);  // also keeps -0 and NaN
}

/// 1 / (1 + e^-x), without overflow: e^-|x| never exceeds 1, and below 0 the result is
/// e^x / (1 + e^x).
inline float sigmoid(float x) {
  const float e = exp(-abs_f(x));
  const float num = x >= 0.0f ? 1.0f : e;
  // Divide by the exact 1 + e = d + d_err (Fast2Sum, 1 >= e) with one correction step, so
  // that only the error of exp remains (about 1 ulp, not 2.5).
  const float d = 1.0f + e, d_err = (1.0f - d) + e;
  float q = num / d;
  const float rem = mul_add(-q, d, num) - q * d_err;  // num - q (d + d_err)
  q = q + rem / d;
  return x == x ? q : x;
}

/// Error function.
inline float erf(float x) {
  float a = abs_f(x);
  // |x| < 0.9277: erf(x) = x + x P(x^2).
  float s = x * x;
  float p = -5.98745246e-4f;
  p = mul_add(p, s, 4.99303313e-3f);
  p = mul_add(p, s, -2.67669484e-2f);
  p = mul_add(p, s, 1.12818405e-1f);
  p = mul_add(p, s, -3.76124978e-1f);
  p = mul_add(p, s, 1.28379151e-1f);
  float small = mul_add(p, x, x);
  // Above: erf(|x|) = 1 - exp(Q(|x|)) with Q ~ log(erfc); erf is 1 in float beyond 3.92.
  float t = a < 3.95f ? a : 3.95f;
  float q = 1.95047585e-4f;
  q = mul_add(q, t, -3.03447619e-3f);
  q = mul_add(q, t, 2.21920144e-2f);
  q = mul_add(q, t, -1.03859045e-1f);
  q = mul_add(q, t, -6.37265086e-1f);
  q = mul_add(q, t, -1.12762630e+0f);
  q = mul_add(q, t, -2.07634657e-4f);
  float large = copy_sign(1.0f - exp(q), x);
  float y = a < 0.9277f ? small : large;
  return x == x ? y : x;
}

// ---- rounding and sqrt, for float and double ----------------------------------------------

// All five are built on nearbyint (round to nearest even in the default rounding mode), the
// one rounding GCC turns into a vector instruction without -fno-trapping-math. inf and NaN pass
// through, and the final copysign keeps the sign of zero (floor(-0.0) = -0.0, ceil(-0.5) =
// -0.0).

/// Round half to even.
template <class F>
F round_even(F x) {
  return std::nearbyint(x);
}
/// Round toward zero: nearest, then one step back toward zero if that went past x.
template <class F>
F trunc(F x) {
  const F r = std::nearbyint(x), back = r - std::copysign(F(1), x);
  return std::copysign(std::fabs(r) > std::fabs(x) ? back : r, x);
}
template <class F>
F floor(F x) {
  const F r = std::nearbyint(x), below = r - F(1);
  return std::copysign(r > x ? below : r, x);
}
template <class F>
F ceil(F x) {
  const F r = std::nearbyint(x), above = r + F(1);
  return std::copysign(r < x ? above : r, x);
}
/// Round half away from zero (x - trunc(x) is exact, so no x + 0.5 double-rounding trap).
template <class F>
F round(F x) {
  const F t = trunc(x), away = t + std::copysign(F(1), x);
  return std::fabs(x - t) >= F(0.5) ? away : t;
}

/// out = sqrt(in), or 1 / sqrt(in) when Recip. Written with intrinsics because GCC keeps
/// std::sqrt scalar (it may set errno) even inside a guarded select. (The maskz forms with a
/// full mask avoid GCC 12's false maybe-uninitialized warning on _mm512_sqrt_ps.)
template <bool Recip, class F>
void sqrt_array(const F* in, F* out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  if constexpr (sizeof(F) == 4) {
    for (; i + 16 <= n; i += 16) {
      __m512 v = _mm512_maskz_sqrt_ps(0xffff, _mm512_loadu_ps(in + i));
      if constexpr (Recip) v = _mm512_div_ps(_mm512_set1_ps(1.0f), v);
      _mm512_storeu_ps(out + i, v);
    }
  } else {
    for (; i + 8 <= n; i += 8) {
      __m512d v = _mm512_maskz_sqrt_pd(0xff, _mm512_loadu_pd(in + i));
      if constexpr (Recip) v = _mm512_div_pd(_mm512_set1_pd(1.0), v);
      _mm512_storeu_pd(out + i, v);
    }
  }
#elif defined(__AVX__)
  if constexpr (sizeof(F) == 4) {
    for (; i + 8 <= n; i += 8) {
      __m256 v = _mm256_sqrt_ps(_mm256_loadu_ps(in + i));
      if constexpr (Recip) v = _mm256_div_ps(_mm256_set1_ps(1.0f), v);
      _mm256_storeu_ps(out + i, v);
    }
  } else {
    for (; i + 4 <= n; i += 4) {
      __m256d v = _mm256_sqrt_pd(_mm256_loadu_pd(in + i));
      if constexpr (Recip) v = _mm256_div_pd(_mm256_set1_pd(1.0), v);
      _mm256_storeu_pd(out + i, v);
    }
  }
#endif
  for (; i < n; ++i) {
    const F s = std::sqrt(in[i]);
    out[i] = Recip ? F(1) / s : s;
  }
}

}  // namespace nx::cpu::vm
