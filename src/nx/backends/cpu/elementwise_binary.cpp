// CPU kernels of the binary arithmetic and bitwise primitives. Operands share one dtype and
// broadcast numpy-style (elementwise.hpp describes the loops and drivers).
//
// Semantics at the edges (no input can trap or invoke undefined behaviour):
//   add, subtract, multiply: IEEE for floats; integers wrap modulo 2^bits.
//   divide (floats only): IEEE (x/0 = +-inf, 0/0 = NaN).
//   quotient (integers): division truncating toward zero; x / 0 = 0; INT_MIN / -1 = INT_MIN.
//   remainder: the sign of the dividend, as C++ % and std::fmod; integer x % 0 = x,
//     INT_MIN % -1 = 0; float fmod(x, 0) = NaN, fmod(+-inf, y) = NaN, fmod(x, +-inf) = x.
//   pow: floats as std::pow (pow(x, 0) = 1 even for NaN x, pow(1, y) = 1). Integers by
//     repeated squaring, wrapping modulo 2^bits; 0^0 = 1; a negative exponent gives 0 except
//     1^n = 1 and (-1)^n = +-1 by the parity of n.
//   max, min: NaN if either operand is NaN; otherwise the larger/smaller, with -0 < +0
//     (IEEE 754-2019 maximum/minimum).
//   atan2(y, x): std::atan2 (atan2(+-0, -0) = +-pi, atan2(+-0, +0) = +-0).
//   bitwise_and, bitwise_or, bitwise_xor: on integers bit by bit; on pred logical.
//   left_shift, right_shift: the shift amount is the second operand's value. right_shift is
//     arithmetic for signed and logical for unsigned dtypes. An amount that is negative or at
//     least the bit width shifts everything out: 0 for left shifts and logical right shifts,
//     the sign fill (0 or -1) for arithmetic right shifts.
//   f16 and bf16 compute in float and round to nearest even.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "backend.hpp"
#include "elementwise.hpp"

namespace nx::cpu {

namespace {

using detail::DTypeClass;

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

struct Max {
  template <class C>
  C operator()(C a, C b) const {
    if constexpr (std::is_integral_v<C>) {
      return a > b ? a : b;
    } else {
      C r = a > b ? a : b;
      r = a == b ? from_bits<C>(bits_of(a) & bits_of(b)) : r;  // +0 beats -0
      return (a != a || b != b) ? a + b : r;
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
      return (a != a || b != b) ? a + b : r;
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

}  // namespace

// name, dtype class, functor, parallel grain.
#define NX_BINARY_OPS(X)                               \
  X(add, Numeric, Add, ew::kGrainCheap)                \
  X(subtract, Numeric, Subtract, ew::kGrainCheap)      \
  X(multiply, Numeric, Multiply, ew::kGrainCheap)      \
  X(divide, Float, Divide, ew::kGrainCheap)            \
  X(quotient, Integer, Quotient, ew::kGrainVmath)      \
  X(remainder, Numeric, Remainder, ew::kGrainLibm)     \
  X(pow, Numeric, Pow, ew::kGrainLibm)                 \
  X(max, Numeric, Max, ew::kGrainCheap)                \
  X(min, Numeric, Min, ew::kGrainCheap)                \
  X(atan2, Float, Atan2, ew::kGrainLibm)               \
  X(bitwise_and, IntPred, BitwiseAnd, ew::kGrainCheap) \
  X(bitwise_or, IntPred, BitwiseOr, ew::kGrainCheap)   \
  X(bitwise_xor, IntPred, BitwiseXor, ew::kGrainCheap) \
  X(left_shift, Integer, LeftShift, ew::kGrainCheap)   \
  X(right_shift, Integer, RightShift, ew::kGrainCheap)

#define NX_BINARY_KERNEL(name, cls, Op, grain)                                           \
  void kernel_##name(const Params&, std::span<const Tensor> in, std::span<Tensor> out) { \
    ew::binary_kernel<DTypeClass::cls, Op>(#name, in, out, grain);                       \
  }
NX_BINARY_OPS(NX_BINARY_KERNEL)
#undef NX_BINARY_KERNEL

ew::BinaryOp ew::arith_op(detail::Prim p, DType t) {
  switch (p) {
#define NX_BINARY_CASE(name, cls, Op, grain) \
  case detail::Prim::name:                   \
    return {ew::loops_of<DTypeClass::cls, Op>(t), grain};
    NX_BINARY_OPS(NX_BINARY_CASE)
#undef NX_BINARY_CASE
    default:
      return {};
  }
}

#undef NX_BINARY_OPS

}  // namespace nx::cpu
