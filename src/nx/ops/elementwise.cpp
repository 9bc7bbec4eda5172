#include "nx/ops/elementwise.hpp"

#include "nx/ops/creation.hpp"
#include "promote.hpp"

namespace nx {

using detail::bind1;
using detail::cast;
using detail::Prim;
using detail::promote;

namespace {

Tensor float_unary(Prim p, const Tensor& x, const char* op) {
  detail::check_defined(x, op, "x");
  return bind1(p, {cast(x, to_floating(x.dtype()))});
}

Tensor numeric_unary(Prim p, const Tensor& x, const char* op) {
  detail::check_defined(x, op, "x");
  return bind1(p, {x.dtype() == DType::Pred ? cast(x, DType::U8) : x});
}

Tensor rounding(Prim p, const Tensor& x, const char* op) {
  detail::check_defined(x, op, "x");
  if (!is_float(x.dtype())) return x;
  return bind1(p, {x});
}

Tensor numeric_binary(Prim p, const Tensor& a, const Tensor& b, const char* op) {
  auto [x, y] = promote(a, b, true, op);
  return bind1(p, {x, y});
}

Tensor float_binary(Prim p, const Tensor& a, const Tensor& b, const char* op) {
  auto [x, y] = promote(a, b, true, op);
  DType f = to_floating(x.dtype());
  return bind1(p, {cast(x, f), cast(y, f)});
}

Tensor integer_binary(Prim p, const Tensor& a, const Tensor& b, const char* op, bool allow_pred) {
  auto [x, y] = promote(a, b, !allow_pred, op);
  if (is_float(x.dtype())) {
    throw Error(std::string(op) + ": expects integer tensors, got " +
                std::string(dtype_name(a.dtype())) + " and " + std::string(dtype_name(b.dtype())));
  }
  return bind1(p, {x, y});
}

Tensor compare(Prim p, const Tensor& a, const Tensor& b, const char* op) {
  auto [x, y] = promote(a, b, false, op);
  return bind1(p, {x, y});
}

Tensor to_pred(const Tensor& x) {
  if (x.dtype() == DType::Pred) return x;
  return bind1(Prim::not_equal, {x, scalar_int(0, x.dtype())});
}

}  // namespace

#define NX_FLOAT_UNARY(name)                         \
  Tensor name(const Tensor& x) {                     \
    return float_unary(Prim::name, x, "nx::" #name); \
  }
NX_FLOAT_UNARY(exp)
NX_FLOAT_UNARY(expm1)
NX_FLOAT_UNARY(log)
NX_FLOAT_UNARY(log1p)
NX_FLOAT_UNARY(sqrt)
NX_FLOAT_UNARY(rsqrt)
NX_FLOAT_UNARY(cbrt)
NX_FLOAT_UNARY(sin)
NX_FLOAT_UNARY(cos)
NX_FLOAT_UNARY(tan)
NX_FLOAT_UNARY(asin)
NX_FLOAT_UNARY(acos)
NX_FLOAT_UNARY(atan)
NX_FLOAT_UNARY(sinh)
NX_FLOAT_UNARY(cosh)
NX_FLOAT_UNARY(tanh)
NX_FLOAT_UNARY(asinh)
NX_FLOAT_UNARY(acosh)
NX_FLOAT_UNARY(atanh)
NX_FLOAT_UNARY(erf)
NX_FLOAT_UNARY(erfc)
NX_FLOAT_UNARY(erf_inv)
NX_FLOAT_UNARY(sigmoid)
#undef NX_FLOAT_UNARY

Tensor is_nan(const Tensor& x) {
  detail::check_defined(x, "nx::is_nan", "x");
  if (!is_float(x.dtype())) return full(x.shape(), 0, DType::Pred);
  return bind1(Prim::is_nan, {x});
}

Tensor is_infinity(const Tensor& x) {
  detail::check_defined(x, "nx::is_infinity", "x");
  if (!is_float(x.dtype())) return full(x.shape(), 0, DType::Pred);
  return bind1(Prim::is_infinity, {x});
}

Tensor is_finite(const Tensor& x) {
  detail::check_defined(x, "nx::is_finite", "x");
  if (!is_float(x.dtype())) return full(x.shape(), 1, DType::Pred);
  return logical_not(logical_or(is_nan(x), is_infinity(x)));
}

Tensor negate(const Tensor& x) {
  return numeric_unary(Prim::negate, x, "nx::negate");
}
Tensor abs(const Tensor& x) {
  return numeric_unary(Prim::abs, x, "nx::abs");
}
Tensor sign(const Tensor& x) {
  return numeric_unary(Prim::sign, x, "nx::sign");
}
Tensor square(const Tensor& x) {
  return multiply(x, x);
}
Tensor floor(const Tensor& x) {
  return rounding(Prim::floor, x, "nx::floor");
}
Tensor ceil(const Tensor& x) {
  return rounding(Prim::ceil, x, "nx::ceil");
}
Tensor round(const Tensor& x) {
  return rounding(Prim::round, x, "nx::round");
}
Tensor round_even(const Tensor& x) {
  return rounding(Prim::round_even, x, "nx::round_even");
}
Tensor trunc(const Tensor& x) {
  return rounding(Prim::trunc, x, "nx::trunc");
}

Tensor bitwise_not(const Tensor& x) {
  detail::check_defined(x, "nx::bitwise_not", "x");
  return bind1(Prim::bitwise_not, {x});
}
Tensor population_count(const Tensor& x) {
  detail::check_defined(x, "nx::population_count", "x");
  return bind1(Prim::population_count, {x});
}
Tensor count_leading_zeros(const Tensor& x) {
  detail::check_defined(x, "nx::count_leading_zeros", "x");
  return bind1(Prim::count_leading_zeros, {x});
}
Tensor logical_not(const Tensor& x) {
  detail::check_defined(x, "nx::logical_not", "x");
  return bind1(Prim::bitwise_not, {to_pred(x)});
}

Tensor add(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::add, a, b, "nx::add");
}
Tensor subtract(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::subtract, a, b, "nx::subtract");
}
Tensor multiply(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::multiply, a, b, "nx::multiply");
}
Tensor divide(const Tensor& a, const Tensor& b) {
  return float_binary(Prim::divide, a, b, "nx::divide");
}
Tensor quotient(const Tensor& a, const Tensor& b) {
  return integer_binary(Prim::quotient, a, b, "nx::quotient", false);
}
Tensor remainder(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::remainder, a, b, "nx::remainder");
}
Tensor mod(const Tensor& a, const Tensor& b) {
  auto [x, y] = promote(a, b, true, "nx::mod");
  Tensor r = bind1(Prim::remainder, {x, y});
  if (is_unsigned_int(x.dtype())) return r;
  // Shift results whose sign differs from the divisor's into the divisor's sign.
  Tensor zero = scalar_int(0, r.dtype());
  Tensor fix = logical_and(not_equal(r, zero), not_equal(less(r, zero), less(y, zero)));
  return select(fix, add(r, y), r);
}
Tensor pow(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::pow, a, b, "nx::pow");
}
Tensor max(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::max, a, b, "nx::max");
}
Tensor min(const Tensor& a, const Tensor& b) {
  return numeric_binary(Prim::min, a, b, "nx::min");
}
Tensor atan2(const Tensor& a, const Tensor& b) {
  return float_binary(Prim::atan2, a, b, "nx::atan2");
}

Tensor bitwise_and(const Tensor& a, const Tensor& b) {
  return integer_binary(Prim::bitwise_and, a, b, "nx::bitwise_and", true);
}
Tensor bitwise_or(const Tensor& a, const Tensor& b) {
  return integer_binary(Prim::bitwise_or, a, b, "nx::bitwise_or", true);
}
Tensor bitwise_xor(const Tensor& a, const Tensor& b) {
  return integer_binary(Prim::bitwise_xor, a, b, "nx::bitwise_xor", true);
}
Tensor left_shift(const Tensor& a, const Tensor& b) {
  return integer_binary(Prim::left_shift, a, b, "nx::left_shift", false);
}
Tensor right_shift(const Tensor& a, const Tensor& b) {
  return integer_binary(Prim::right_shift, a, b, "nx::right_shift", false);
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "nx::logical_and", "a");
  detail::check_defined(b, "nx::logical_and", "b");
  return bind1(Prim::bitwise_and, {to_pred(a), to_pred(b)});
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "nx::logical_or", "a");
  detail::check_defined(b, "nx::logical_or", "b");
  return bind1(Prim::bitwise_or, {to_pred(a), to_pred(b)});
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "nx::logical_xor", "a");
  detail::check_defined(b, "nx::logical_xor", "b");
  return bind1(Prim::bitwise_xor, {to_pred(a), to_pred(b)});
}

Tensor equal(const Tensor& a, const Tensor& b) {
  return compare(Prim::equal, a, b, "nx::equal");
}
Tensor not_equal(const Tensor& a, const Tensor& b) {
  return compare(Prim::not_equal, a, b, "nx::not_equal");
}
Tensor less(const Tensor& a, const Tensor& b) {
  return compare(Prim::less, a, b, "nx::less");
}
Tensor less_equal(const Tensor& a, const Tensor& b) {
  return compare(Prim::less_equal, a, b, "nx::less_equal");
}
Tensor greater(const Tensor& a, const Tensor& b) {
  return compare(Prim::greater, a, b, "nx::greater");
}
Tensor greater_equal(const Tensor& a, const Tensor& b) {
  return compare(Prim::greater_equal, a, b, "nx::greater_equal");
}

Tensor select(const Tensor& pred, const Tensor& on_true, const Tensor& on_false) {
  detail::check_defined(pred, "nx::select", "pred");
  auto [t, f] = promote(on_true, on_false, false, "nx::select");
  return bind1(Prim::select, {to_pred(pred), t, f});
}

Tensor clip(const Tensor& x, const Tensor& lo, const Tensor& hi) {
  return min(max(x, lo), hi);
}

Tensor as_type(const Tensor& x, DType dtype) {
  detail::check_defined(x, "nx::as_type", "x");
  return detail::strong(cast(x, dtype));
}

Tensor bitcast(const Tensor& x, DType dtype) {
  detail::check_defined(x, "nx::bitcast", "x");
  if (x.dtype() == dtype) return x;
  return bind1(Prim::bitcast, {x}, detail::ConvertParams{dtype});
}

}  // namespace nx
