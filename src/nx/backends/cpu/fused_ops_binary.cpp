// Loops of the binary and comparison primitives for fused programs (functors in
// fused_functors.hpp).
#include "fused_functors.hpp"
#include "fused_ops.hpp"

namespace nx::cpu::fused {

namespace {

using detail::DTypeClass;

template <DTypeClass C, class Op>
ew::BinaryLoops loops_for(DType t) {
  ew::BinaryLoops loops{};
  detail::visit_dtype(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (ew::admits<C, T>()) loops = ew::binary_loops<T, Op>();
  });
  return loops;
}

}  // namespace

ew::BinaryLoops binary_loops(Prim p, DType t) {
  using namespace op;  // NOLINT(google-build-using-namespace): the functor names
  switch (p) {
#define NX_CASE(name, cls, Op) \
  case Prim::name:             \
    return loops_for<DTypeClass::cls, Op>(t);
    NX_CASE(add, Numeric, Add)
    NX_CASE(subtract, Numeric, Subtract)
    NX_CASE(multiply, Numeric, Multiply)
    NX_CASE(divide, Float, Divide)
    NX_CASE(quotient, Integer, Quotient)
    NX_CASE(remainder, Numeric, Remainder)
    NX_CASE(pow, Numeric, Pow)
    NX_CASE(max, Numeric, Max)
    NX_CASE(min, Numeric, Min)
    NX_CASE(atan2, Float, Atan2)
    NX_CASE(bitwise_and, IntPred, BitwiseAnd)
    NX_CASE(bitwise_or, IntPred, BitwiseOr)
    NX_CASE(bitwise_xor, IntPred, BitwiseXor)
    NX_CASE(left_shift, Integer, LeftShift)
    NX_CASE(right_shift, Integer, RightShift)
    NX_CASE(equal, Any, Equal)
    NX_CASE(not_equal, Any, NotEqual)
    NX_CASE(less, Any, Less)
    NX_CASE(less_equal, Any, LessEqual)
    NX_CASE(greater, Any, Greater)
    NX_CASE(greater_equal, Any, GreaterEqual)
#undef NX_CASE
    default:
      return {};
  }
}

}  // namespace nx::cpu::fused
