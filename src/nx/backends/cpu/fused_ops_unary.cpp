// Loops of the unary primitives for fused programs (functors in fused_functors.hpp).
#include "fused_functors.hpp"
#include "fused_ops.hpp"

namespace nx::cpu::fused {

namespace {

using detail::DTypeClass;

/// The eager unary loop of Op on dtype t when class C admits t; null otherwise.
template <DTypeClass C, class Op>
ew::UnaryLoop loop_for(DType t) {
  ew::UnaryLoop loop = nullptr;
  detail::visit_dtype(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (ew::admits<C, T>()) loop = &ew::unary_loop<T, Op>;
  });
  return loop;
}

}  // namespace

ew::UnaryLoop unary_loop(Prim p, DType t) {
  using namespace op;  // NOLINT(google-build-using-namespace): the functor names
  switch (p) {
#define NX_CASE(name, cls, Op) \
  case Prim::name:             \
    return loop_for<DTypeClass::cls, Op>(t);
    NX_CASE(negate, Numeric, Negate)
    NX_CASE(abs, Numeric, Abs)
    NX_CASE(sign, Numeric, Sign)
    NX_CASE(exp, Float, Exp)
    NX_CASE(expm1, Float, Expm1)
    NX_CASE(log, Float, Log)
    NX_CASE(log1p, Float, Log1p)
    NX_CASE(sqrt, Float, Sqrt)
    NX_CASE(rsqrt, Float, Rsqrt)
    NX_CASE(cbrt, Float, Cbrt)
    NX_CASE(sin, Float, Sin)
    NX_CASE(cos, Float, Cos)
    NX_CASE(tan, Float, Tan)
    NX_CASE(asin, Float, Asin)
    NX_CASE(acos, Float, Acos)
    NX_CASE(atan, Float, Atan)
    NX_CASE(sinh, Float, Sinh)
    NX_CASE(cosh, Float, Cosh)
    NX_CASE(tanh, Float, Tanh)
    NX_CASE(asinh, Float, Asinh)
    NX_CASE(acosh, Float, Acosh)
    NX_CASE(atanh, Float, Atanh)
    NX_CASE(erf, Float, Erf)
    NX_CASE(erfc, Float, Erfc)
    NX_CASE(sigmoid, Float, Sigmoid)
    NX_CASE(floor, Float, Floor)
    NX_CASE(ceil, Float, Ceil)
    NX_CASE(round, Float, Round)
    NX_CASE(round_even, Float, RoundEven)
    NX_CASE(trunc, Float, Trunc)
    NX_CASE(is_nan, Float, IsNan)
    NX_CASE(is_infinity, Float, IsInfinity)
    NX_CASE(bitwise_not, IntPred, BitwiseNot)
    NX_CASE(population_count, Integer, PopulationCount)
    NX_CASE(count_leading_zeros, Integer, CountLeadingZeros)
#undef NX_CASE
    default:
      return nullptr;  // erf_inv (costly and rare: it stays an eager kernel), non-unary
  }
}

}  // namespace nx::cpu::fused
