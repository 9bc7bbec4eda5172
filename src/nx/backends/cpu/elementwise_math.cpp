// CPU kernels of the floating-point unary math primitives (operands f16, bf16, f32, f64; the
// result has the operand's dtype).
//
// Semantics, as libm and IEEE 754 define them unless said otherwise:
//   exp, expm1, log, log1p, tanh, sigmoid, erf: f32 uses the branch-free polynomials of
//     vmath.hpp (about 2 ulp), f64 uses libm. log(0) = -inf, log(x<0) = NaN, exp overflow
//     = inf, underflow gradually to subnormals and 0.
//   sigmoid(x) = 1 / (1 + e^-x), computed without overflow: e^-|x| over (1 + e^-|x|) below 0.
//   sqrt(x<0) = NaN, sqrt(-0) = -0. rsqrt(x) = 1 / sqrt(x) (so rsqrt(+-0) = +-inf). cbrt is
//     odd (cbrt(-8) = -2).
//   cbrt, sin ... atanh, erfc: double-precision libm, rounded to the result type.
//   erf_inv: the inverse of erf on [-1, 1]; erf_inv(+-1) = +-inf, |x| > 1 or NaN gives NaN,
//     erf_inv(+-0) = +-0. Within a few ulp in f32 and f64: a polynomial first guess refined
//     by Newton and Halley steps in double.
//   f16 and bf16 compute in float and round to nearest even.
#include <cmath>
#include <limits>

#include "backend.hpp"
#include "elementwise.hpp"
#include "fused_functors.hpp"
#include "vmath.hpp"

namespace nx::cpu {

namespace {

using detail::DTypeClass;

// The functors (vmath for float and libm for double; double-precision libm rounded once for the
// others) are shared with the fused programs; erf_inv, which the fused programs do not take, is
// here.
using namespace fused::op;

/// Giles' single-precision approximation of erf_inv ("Approximating the erfinv function",
/// GPU Computing Gems, 2010), relative error about 1e-7 for |x| < 1 - 2^-24; a first guess.
double erf_inv_guess(double a) {
  double w = -std::log((1.0 - a) * (1.0 + a));
  double p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = std::sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  return p * a;
}

/// erf_inv in double, refined from Giles' guess. Up to 1/2, Halley's method on
/// f(y) = erf(y) - a (cubic convergence; two steps leave only libm's error). Above, the guess
/// degrades towards 1 (it is a single-precision fit), so Newton's method runs first on
/// log(erfc(y)) = log(1 - a), which is nearly quadratic in y and converges from far, and a last
/// Halley step on erfc(y) = 1 - a polishes (1 - a is exact there; erf(y) - a would cancel).
double erf_inv(double x) {
  double a = std::fabs(x);
  if (!(a <= 1.0)) return std::numeric_limits<double>::quiet_NaN();  // also NaN
  if (a == 1.0) return std::copysign(std::numeric_limits<double>::infinity(), x);
  constexpr double kHalfSqrtPi = 0.88622692545275801365;  // sqrt(pi) / 2 = 1 / erf'(0)
  if (a < 1e-9) {
    // erf_inv(a) = sqrt(pi)/2 (a + pi/12 a^3 + ...): the cubic term is below half an ulp.
    return kHalfSqrtPi * x;
  }
  double y = erf_inv_guess(a);
  auto halley = [&](double f) {                    // f = erf(y) - a
    double u = f * kHalfSqrtPi * std::exp(y * y);  // f / erf'(y)
    y -= u / (1.0 + y * u);
  };
  if (a <= 0.5) {
    for (int i = 0; i < 2; ++i) halley(std::erf(y) - a);
  } else {
    const double c = 1.0 - a, log_c = std::log(c);
    for (int i = 0; i < 12; ++i) {
      double e = std::erfc(y);
      double step = (std::log(e) - log_c) * e * kHalfSqrtPi * std::exp(y * y);
      y += step;
      if (std::fabs(step) <= 1e-15 * y) break;
    }
    halley(c - std::erfc(y));
  }
  return std::copysign(y, x);
}

struct ErfInv {
  template <class C>
  C operator()(C x) const {
    return static_cast<C>(erf_inv(static_cast<double>(x)));
  }
};

}  // namespace

#define NX_MATH_KERNEL(name, Op, grain)                                                  \
  void kernel_##name(const Params&, std::span<const Tensor> in, std::span<Tensor> out) { \
    ew::unary_kernel<DTypeClass::Float, Op>(#name, in, out, grain);                      \
  }
NX_MATH_KERNEL(exp, Exp, ew::kGrainVmath)
NX_MATH_KERNEL(expm1, Expm1, ew::kGrainVmath)
NX_MATH_KERNEL(log, Log, ew::kGrainVmath)
NX_MATH_KERNEL(log1p, Log1p, ew::kGrainVmath)
NX_MATH_KERNEL(tanh, Tanh, ew::kGrainVmath)
NX_MATH_KERNEL(sigmoid, Sigmoid, ew::kGrainVmath)
NX_MATH_KERNEL(erf, Erf, ew::kGrainVmath)
NX_MATH_KERNEL(sqrt, Sqrt, ew::kGrainCheap)
NX_MATH_KERNEL(rsqrt, Rsqrt, ew::kGrainCheap)
NX_MATH_KERNEL(cbrt, Cbrt, ew::kGrainLibm)
NX_MATH_KERNEL(sin, Sin, ew::kGrainLibm)
NX_MATH_KERNEL(cos, Cos, ew::kGrainLibm)
NX_MATH_KERNEL(tan, Tan, ew::kGrainLibm)
NX_MATH_KERNEL(asin, Asin, ew::kGrainLibm)
NX_MATH_KERNEL(acos, Acos, ew::kGrainLibm)
NX_MATH_KERNEL(atan, Atan, ew::kGrainLibm)
NX_MATH_KERNEL(sinh, Sinh, ew::kGrainLibm)
NX_MATH_KERNEL(cosh, Cosh, ew::kGrainLibm)
NX_MATH_KERNEL(asinh, Asinh, ew::kGrainLibm)
NX_MATH_KERNEL(acosh, Acosh, ew::kGrainLibm)
NX_MATH_KERNEL(atanh, Atanh, ew::kGrainLibm)
NX_MATH_KERNEL(erfc, Erfc, ew::kGrainLibm)
NX_MATH_KERNEL(erf_inv, ErfInv, ew::kGrainLibm / 4)
#undef NX_MATH_KERNEL

}  // namespace nx::cpu
