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
#include "vmath.hpp"

namespace nx::cpu {

namespace {

using detail::DTypeClass;

/// Unsigned type for wrapping arithmetic on integer C; at least 32 bits so that narrow types
/// do not promote to (overflowing) int.
template <class C>
using wrap_t = std::conditional_t<(sizeof(C) < 4), uint32_t, std::make_unsigned_t<C>>;

struct Negate {
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(wrap_t<C>(0) - static_cast<wrap_t<C>>(x));
    else
      return -x;
  }
};

struct Abs {
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>)
      return x;
    else if constexpr (std::is_integral_v<C>)
      return x < 0 ? static_cast<C>(wrap_t<C>(0) - static_cast<wrap_t<C>>(x)) : x;
    else
      return std::fabs(x);
  }
};

struct Sign {
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>)
      return x > 0 ? C(1) : C(0);
    else if constexpr (std::is_integral_v<C>)
      return static_cast<C>((x > 0) - (x < 0));
    else
      return x > C(0) ? C(1) : x < C(0) ? C(-1) : x;  // 0, -0 and NaN pass through
  }
};

struct Floor {
  template <class C>
  C operator()(C x) const {
    return vm::floor(x);
  }
};
struct Ceil {
  template <class C>
  C operator()(C x) const {
    return vm::ceil(x);
  }
};
struct Trunc {
  template <class C>
  C operator()(C x) const {
    return vm::trunc(x);
  }
};
struct Round {
  template <class C>
  C operator()(C x) const {
    return vm::round(x);
  }
};
struct RoundEven {
  template <class C>
  C operator()(C x) const {
    return vm::round_even(x);
  }
};

struct IsNan {
  template <class C>
  bool operator()(C x) const {
    return x != x;
  }
};
struct IsInfinity {
  template <class C>
  bool operator()(C x) const {
    return std::fabs(x) == std::numeric_limits<C>::infinity();
  }
};

struct BitwiseNot {
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_same_v<C, bool>)
      return !x;
    else
      return static_cast<C>(~x);
  }
};

struct PopulationCount {
  template <class C>
  C operator()(C x) const {
    return static_cast<C>(std::popcount(static_cast<std::make_unsigned_t<C>>(x)));
  }
};
struct CountLeadingZeros {
  template <class C>
  C operator()(C x) const {
    return static_cast<C>(std::countl_zero(static_cast<std::make_unsigned_t<C>>(x)));
  }
};

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
