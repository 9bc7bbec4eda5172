// CPU kernels of the non-transcendental unary primitives: sign and magnitude, rounding, float
// classification and bit counting. (The float math functions are in elementwise_math.cpp.)
//
// Semantics at the edges:
//   negate: floats flip the sign (also of 0 and NaN); integers wrap (-INT_MIN = INT_MIN,
//     unsigned -x = 2^bits - x).
//   abs: floats clear the sign bit; signed integers wrap (abs(INT_MIN) = INT_MIN); unsigned
//     is the identity.
//   sign: -1, 0 or +1; floats keep NaN and the sign of zero (sign(-0.0) = -0.0).
//   floor, ceil, trunc (toward zero), round (half away from zero: 2.5 -> 3, -2.5 -> -3),
//     round_even (half to even: 2.5 -> 2): inf and NaN are returned unchanged, the sign of
//     zero is kept (round(-0.4) = -0.0).
//   is_nan, is_infinity: pred results (1 or 0).
//   bitwise_not: ~x on integers; logical not on pred.
//   population_count, count_leading_zeros: over the dtype's bit width, signed values counted
//     on their two's-complement bits (popcount(-1 as s8) = 8, clz(0 as s16) = 16).
#include <bit>
#include <cmath>
#include <type_traits>

#include "backend.hpp"
#include "elementwise.hpp"
#include "fused_functors.hpp"
#include "vmath.hpp"

namespace nx::cpu {

namespace {

using detail::DTypeClass;

// The functors are shared with the fused programs.
using namespace fused::op;

}  // namespace

#define NX_UNARY_KERNEL(name, cls, Op)                                                   \
  void kernel_##name(const Params&, std::span<const Tensor> in, std::span<Tensor> out) { \
    ew::unary_kernel<DTypeClass::cls, Op>(#name, in, out, ew::kGrainCheap);              \
  }
NX_UNARY_KERNEL(negate, Numeric, Negate)
NX_UNARY_KERNEL(abs, Numeric, Abs)
NX_UNARY_KERNEL(sign, Numeric, Sign)
NX_UNARY_KERNEL(floor, Float, Floor)
NX_UNARY_KERNEL(ceil, Float, Ceil)
NX_UNARY_KERNEL(round, Float, Round)
NX_UNARY_KERNEL(round_even, Float, RoundEven)
NX_UNARY_KERNEL(trunc, Float, Trunc)
NX_UNARY_KERNEL(is_nan, Float, IsNan)
NX_UNARY_KERNEL(is_infinity, Float, IsInfinity)
NX_UNARY_KERNEL(bitwise_not, IntPred, BitwiseNot)
NX_UNARY_KERNEL(population_count, Integer, PopulationCount)
NX_UNARY_KERNEL(count_leading_zeros, Integer, CountLeadingZeros)
#undef NX_UNARY_KERNEL

}  // namespace nx::cpu
