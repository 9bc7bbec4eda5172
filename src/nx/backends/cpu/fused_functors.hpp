// The elementwise operations of the fused programs, one functor per primitive on the compute
// type (float for f16/bf16, bool for pred). They are also the eager kernels' functors
// (elementwise_unary.cpp, elementwise_math.cpp, elementwise_binary.cpp and elementwise_compare.cpp
// use them directly, and their file comments give the semantics at the edges), so eager and fused
// results are the same bits.
#pragma once

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "vmath.hpp"

namespace nx::cpu::fused::op {

/// Unsigned type for wrapping arithmetic on integer C, at least 32 bits so that narrow types do
/// not promote to (overflowing) int.
template <class C>
using wrap_t = std::conditional_t<(sizeof(C) < 4), uint32_t, std::make_unsigned_t<C>>;
template <class C>
C wrap(wrap_t<C> v) {
  return static_cast<C>(v);
}
template <class C>
wrap_t<C> uw(C v) {
  return static_cast<wrap_t<C>>(v);
}

// ---- unary ------------------------------------------------------------------------------------

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

/// vmath for float, libm for double (exp, expm1, log, log1p, tanh, erf).
#define NX_FUSED_VMATH_OP(Name, fn)                          \
  struct Name {                                              \
    float operator()(float x) const { return vm::fn(x); }    \
    double operator()(double x) const { return std::fn(x); } \
  };
NX_FUSED_VMATH_OP(Exp, exp)
NX_FUSED_VMATH_OP(Expm1, expm1)
NX_FUSED_VMATH_OP(Log, log)
NX_FUSED_VMATH_OP(Log1p, log1p)
NX_FUSED_VMATH_OP(Tanh, tanh)
NX_FUSED_VMATH_OP(Erf, erf)
#undef NX_FUSED_VMATH_OP

/// Double-precision libm rounded to the result type, also for float: rounding the double result
/// once is correctly rounded but in rare cases, where glibc's float versions of sinh, acosh,
/// erfc, ... are off by up to 2 ulp.
#define NX_FUSED_LIBM_OP(Name, fn)                            \
  struct Name {                                               \
    template <class C>                                        \
    C operator()(C x) const {                                 \
      return static_cast<C>(std::fn(static_cast<double>(x))); \
    }                                                         \
  };
NX_FUSED_LIBM_OP(Cbrt, cbrt)
NX_FUSED_LIBM_OP(Sin, sin)
NX_FUSED_LIBM_OP(Cos, cos)
NX_FUSED_LIBM_OP(Tan, tan)
NX_FUSED_LIBM_OP(Asin, asin)
NX_FUSED_LIBM_OP(Acos, acos)
NX_FUSED_LIBM_OP(Atan, atan)
NX_FUSED_LIBM_OP(Sinh, sinh)
NX_FUSED_LIBM_OP(Cosh, cosh)
NX_FUSED_LIBM_OP(Asinh, asinh)
NX_FUSED_LIBM_OP(Acosh, acosh)
NX_FUSED_LIBM_OP(Atanh, atanh)
NX_FUSED_LIBM_OP(Erfc, erfc)
#undef NX_FUSED_LIBM_OP

struct Sqrt {
  template <class C>
  C operator()(C x) const {
    return std::sqrt(x);
  }
  template <class C>
  static void array(const C* in, C* out, int64_t n) {
    vm::sqrt_array<false>(in, out, n);
  }
};
struct Rsqrt {
  template <class C>
  C operator()(C x) const {
    return C(1) / std::sqrt(x);
  }
  template <class C>
  static void array(const C* in, C* out, int64_t n) {
    vm::sqrt_array<true>(in, out, n);
  }
};
struct Sigmoid {
  float operator()(float x) const { return vm::sigmoid(x); }
  double operator()(double x) const {
    double e = std::exp(-std::fabs(x));
    return (x >= 0.0 ? 1.0 : e) / (1.0 + e);
  }
};

// ---- binary -----------------------------------------------------------------------------------

struct Add {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>)
      return wrap<C>(uw(a) + uw(b));
    else
      return a + b;
  }
};
struct Subtract {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>)
      return wrap<C>(uw(a) - uw(b));
    else
      return a - b;
  }
};
struct Multiply {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>)
      return wrap<C>(uw(a) * uw(b));
    else
      return a * b;
  }
};
struct Divide {
  template <class C>
  C operator()(C a, C b) const {
    return a / b;
  }
};

struct Quotient {
  template <class C>
  C operator()(C a, C b) const {
    // Substitute a divisor of 1 where the hardware would trap, then fix the result up.
    bool overflow = false;
    if constexpr (std::is_signed_v<C>) overflow = a == std::numeric_limits<C>::min() && b == C(-1);
    C d = (b == C(0) || overflow) ? C(1) : b;
    C q = static_cast<C>(a / d);
    return b == C(0) ? C(0) : q;
  }
};

struct Remainder {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      bool trivial = b == C(0);
      if constexpr (std::is_signed_v<C>) trivial = trivial || b == C(-1);
      C d = trivial ? C(1) : b;
      C r = static_cast<C>(a % d);
      return b == C(0) ? a : r;  // x % -1 = 0 = x % 1
    } else {
      return std::fmod(a, b);
    }
  }
};

struct Pow {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      return std::pow(a, b);
    } else {
      if constexpr (std::is_signed_v<C>) {
        if (b < 0) return a == C(1) ? C(1) : a == C(-1) ? ((b & 1) ? C(-1) : C(1)) : C(0);
      }
      wrap_t<C> base = uw(a), result = 1;
      for (std::make_unsigned_t<C> e = static_cast<std::make_unsigned_t<C>>(b); e != 0; e >>= 1) {
        if (e & 1u) result *= base;
        base *= base;
      }
      return wrap<C>(result);
    }
  }
};

/// Bits of a float, for the sign-of-zero tie break in max/min.
template <class C>
auto bits_of(C x) {
  using U = std::conditional_t<sizeof(C) == 4, uint32_t, uint64_t>;
  U u;
  std::memcpy(&u, &x, sizeof(C));
  return u;
}
template <class C>
C from_bits(decltype(bits_of(C{})) u) {
  C x;
  std::memcpy(&x, &u, sizeof(C));
  return x;
}

/// r, or the first NaN of a and b, quieted: x + x rather than a + b, whose NaN would depend on
/// the operand order the compiler picks (it may commute an addition, differently in the vector
/// and the scalar parts of one loop).
template <class C>
C nan_first(C a, C b, C r) {
  return a != a ? a + a : b != b ? b + b : r;
}

struct Max {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      return a > b ? a : b;
    } else {
      C r = a > b ? a : b;
      r = a == b ? from_bits<C>(bits_of(a) & bits_of(b)) : r;  // +0 beats -0
      return nan_first(a, b, r);
    }
  }
};
struct Min {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      return a < b ? a : b;
    } else {
      C r = a < b ? a : b;
      r = a == b ? from_bits<C>(bits_of(a) | bits_of(b)) : r;  // -0 beats +0
      return nan_first(a, b, r);
    }
  }
};

struct Atan2 {
  template <class C>
  C operator()(C a, C b) const {
    return std::atan2(a, b);
  }
};

// Pred computes on bool, so &, |, ^ are the logical operations and yield 0 or 1.
struct BitwiseAnd {
  template <class C>
  C operator()(C a, C b) const {
    return static_cast<C>(a & b);
  }
};
struct BitwiseOr {
  template <class C>
  C operator()(C a, C b) const {
    return static_cast<C>(a | b);
  }
};
struct BitwiseXor {
  template <class C>
  C operator()(C a, C b) const {
    return static_cast<C>(a ^ b);
  }
};

/// Whether b is a shift amount in [0, bits): negative amounts become huge as unsigned.
template <class C>
bool shift_in_range(C b) {
  return static_cast<std::make_unsigned_t<C>>(b) < sizeof(C) * 8;
}

struct LeftShift {
  template <class C>
  C operator()(C a, C b) const {
    const bool in_range = shift_in_range(b);
    C s = in_range ? b : C(0);
    C r = wrap<C>(uw(a) << s);
    return in_range ? r : C(0);
  }
};
struct RightShift {
  template <class C>
  C operator()(C a, C b) const {
    const bool in_range = shift_in_range(b);
    C s = in_range ? b : C(0);
    C r = static_cast<C>(a >> s);  // arithmetic for signed C (C++20)
    C fill = C(0);
    if constexpr (std::is_signed_v<C>) fill = a < C(0) ? C(-1) : C(0);
    return in_range ? r : fill;
  }
};

// ---- compare ----------------------------------------------------------------------------------

struct Equal {
  template <class C>
  bool operator()(C a, C b) const {
    return a == b;
  }
};
struct NotEqual {
  template <class C>
  bool operator()(C a, C b) const {
    return a != b;
  }
};
struct Less {
  template <class C>
  bool operator()(C a, C b) const {
    return a < b;
  }
};
struct LessEqual {
  template <class C>
  bool operator()(C a, C b) const {
    return a <= b;
  }
};
struct Greater {
  template <class C>
  bool operator()(C a, C b) const {
    return a > b;
  }
};
struct GreaterEqual {
  template <class C>
  bool operator()(C a, C b) const {
    return a >= b;
  }
};

}  // namespace nx::cpu::fused::op
