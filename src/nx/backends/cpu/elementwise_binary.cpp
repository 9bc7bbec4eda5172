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
#include "fused_functors.hpp"

namespace nx::cpu {

namespace {

using detail::DTypeClass;

// The functors (wrapping integer arithmetic, division without traps, max/min with NaN and signed
// zeros, masked shifts) are shared with the fused programs.
using namespace fused::op;

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
