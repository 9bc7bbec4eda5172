// ONNX elementwise converters: unary math, binary arithmetic with numpy broadcasting (and the
// explicit broadcast of opsets 1-6), the variadic Sum/Mean/Max/Min, logic, comparisons, bit
// operations, Where and Clip.
#include <string>
#include <utility>
#include <vector>

#include "ops_math_internal.hpp"

namespace axon::onnx_import::math {
namespace {

using nx::Tensor;
using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

// Opsets 1-6 broadcast only where the node says broadcast=1, and then B alone, to A's shape: B is
// a one-element tensor, or its dims equal A's from `axis` on (default: A's last dims). Returns
// B reshaped so that numpy broadcasting gives that result.
Tensor legacy_broadcast_operand(const OpCall& call, const Tensor& a, const Tensor& b) {
  if (call.attr_int("broadcast", 0) == 0) {
    if (a.shape() != b.shape()) {
      call.fail("inputs have shapes " + nx::type_string(a.type()) + " and " +
                nx::type_string(b.type()) + " without broadcast=1 (opset " +
                std::to_string(call.opset()) + " broadcasts only when asked)");
    }
    return b;
  }
  if (b.size() == 1) return nx::reshape(b, {});
  const int64_t rank = a.rank(), brank = b.rank();
  int64_t axis = call.attr_int("axis", rank - brank);
  if (axis < 0) axis += rank;
  bool fits = axis >= 0 && axis + brank <= rank;
  for (int64_t i = 0; fits && i < brank; ++i) {
    fits = a.shape()[static_cast<size_t>(axis + i)] == b.shape()[static_cast<size_t>(i)];
  }
  if (!fits) {
    call.fail("B " + nx::type_string(b.type()) + " does not match the dims of A " +
              nx::type_string(a.type()) + " from axis " + std::to_string(axis) + " (opset " +
              std::to_string(call.opset()) + " broadcast)");
  }
  nx::Shape full(static_cast<size_t>(rank), 1);
  for (int64_t i = 0; i < brank; ++i) {
    full[static_cast<size_t>(axis + i)] = b.shape()[static_cast<size_t>(i)];
  }
  return nx::reshape(b, full);
}

// A binary op's converter that also takes the broadcast/axis form of opsets 1-6.
Converter with_legacy_broadcast(Converter convert) {
  return [convert](const OpCall& call) {
    if (call.opset() >= 7) return convert(call);
    OpCall numpy_form = call;
    numpy_form.inputs_.at(1) = legacy_broadcast_operand(call, call.input(0), call.input(1));
    return convert(numpy_form);
  };
}

void add_unary(const std::string& op, int64_t since, UnaryFn fn) {
  register_op(
      {op, [fn](const OpCall& call) { return std::vector<Tensor>{fn(call.input(0))}; }, since});
}

// Math functions that nx computes in floating point: ONNX keeps the input's type.
void add_float_unary(const std::string& op, int64_t since, UnaryFn fn) {
  register_op({op,
               [fn](const OpCall& call) {
                 const Tensor& x = call.input(0);
                 return std::vector<Tensor>{keep_type(fn(x), x.dtype())};
               },
               since});
}

void add_binary(const std::string& op, int64_t since, BinaryFn fn) {
  register_op({op, with_legacy_broadcast([fn](const OpCall& call) {
                 return std::vector<Tensor>{fn(call.input(0), call.input(1))};
               }),
               since});
}

// ONNX requires both operands of arithmetic to have one type; a mismatch would silently
// promote in nx, so it is an error here.
void check_same_type(const OpCall& call, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype()) {
    call.fail("inputs must have the same dtype, got " + std::string(nx::dtype_name(a.dtype())) +
              " and " + std::string(nx::dtype_name(b.dtype())));
  }
}

void add_arith(const std::string& op, int64_t since, BinaryFn fn) {
  register_op({op, with_legacy_broadcast([fn](const OpCall& call) {
                 const Tensor& a = call.input(0);
                 const Tensor& b = call.input(1);
                 check_same_type(call, a, b);
                 return std::vector<Tensor>{fn(a, b)};
               }),
               since});
}

// Sum, Mean, Max, Min: one or more inputs, broadcast together (before opset 8 they had to have
// one shape, a case of this).
void add_variadic(const std::string& op, BinaryFn fn, bool mean) {
  register_op({op,
               [fn, mean](const OpCall& call) {
                 if (call.num_inputs() == 0) call.fail("expected at least one input, got none");
                 Tensor acc = call.input(0);
                 for (size_t i = 1; i < call.num_inputs(); ++i) {
                   check_same_type(call, acc, call.input(i));
                   acc = fn(acc, call.input(i));
                 }
                 if (mean)
                   acc = keep_type(acc / static_cast<double>(call.num_inputs()), acc.dtype());
                 return std::vector<Tensor>{acc};
               },
               1});
}

Tensor reciprocal(const Tensor& x) {
  return keep_type(nx::divide(1.0, x), x.dtype());
}

std::vector<Tensor> div_op(const OpCall& call) {
  const Tensor& a = call.input(0);
  const Tensor& b = call.input(1);
  check_same_type(call, a, b);
  // Integer division truncates toward zero, as in C.
  if (nx::is_integer(a.dtype())) return {nx::quotient(a, b)};
  return {nx::divide(a, b)};
}

std::vector<Tensor> mod_op(const OpCall& call) {
  const Tensor& a = call.input(0);
  const Tensor& b = call.input(1);
  check_same_type(call, a, b);
  // fmod = 1: the result takes the dividend's sign (C fmod); fmod = 0: the divisor's (Python %).
  if (call.attr_int("fmod", 0) != 0) return {nx::remainder(a, b)};
  return {nx::mod(a, b)};
}

// Pow accepts a base and an exponent of different types (opset 12+); the result has the base's
// type. Mixed types compute in the wider one (float beats integer); an integer base with a
// floating exponent computes in f64, so that int64 values stay exact.
std::vector<Tensor> pow_op(const OpCall& call) {
  const Tensor& base = call.input(0);
  const Tensor& exponent = call.input(1);
  const nx::DType out = base.dtype();
  if (exponent.dtype() == out) return {nx::pow(base, exponent)};
  const nx::DType compute = nx::is_integer(out) && nx::is_float(exponent.dtype())
                                ? nx::f64
                                : nx::merge(out, exponent.dtype());
  return {keep_type(nx::pow(keep_type(base, compute), keep_type(exponent, compute)), out)};
}

std::vector<Tensor> is_inf_op(const OpCall& call) {
  const Tensor& x = call.input(0);
  const bool negative = call.attr_int("detect_negative", 1) != 0;
  const bool positive = call.attr_int("detect_positive", 1) != 0;
  Tensor inf = nx::is_infinity(x);
  if (negative && positive) return {inf};
  if (negative) return {nx::logical_and(inf, nx::less(x, 0))};
  if (positive) return {nx::logical_and(inf, nx::greater(x, 0))};
  return {nx::logical_and(inf, false)};
}

std::vector<Tensor> bit_shift_op(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& y = call.input(1);
  check_same_type(call, x, y);
  const std::string direction = call.attr_string("direction", "");
  if (direction == "LEFT") return {nx::left_shift(x, y)};
  if (direction == "RIGHT") return {nx::right_shift(x, y)};
  call.fail("attribute direction must be \"LEFT\" or \"RIGHT\", got \"" + direction + "\"");
}

// A bound of Clip as a scalar of x's type (ONNX gives scalars; some exporters write shape {1},
// which must not turn a scalar x into a vector).
Tensor clip_bound(const OpCall& call, const Tensor& x, const Tensor& bound) {
  if (bound.size() != 1) {
    call.fail("min and max must be scalars, got shape " + nx::shape_repr(bound.shape()));
  }
  return keep_type(nx::reshape(bound, {}), x.dtype());
}

// Clip: bounds are attributes before opset 11 and optional inputs since. min(max(x, lo), hi)
// gives every element the value max when min > max, as ONNX specifies, and keeps NaN.
std::vector<Tensor> clip_op(const OpCall& call) {
  Tensor y = call.input(0);
  const nx::DType dtype = y.dtype();
  if (call.opset() < 11) {
    if (call.has_attr("min")) y = nx::max(y, nx::scalar(call.attr_float("min", 0), dtype));
    if (call.has_attr("max")) y = nx::min(y, nx::scalar(call.attr_float("max", 0), dtype));
    return {y};
  }
  const Tensor x = y;
  if (call.has_input(1)) y = nx::max(y, clip_bound(call, x, call.input(1)));
  if (call.has_input(2)) y = nx::min(y, clip_bound(call, x, call.input(2)));
  return {y};
}

std::vector<Tensor> where_op(const OpCall& call) {
  const Tensor& cond = call.input(0);
  if (cond.dtype() != nx::pred) {
    call.fail("condition must be a bool tensor, got " + std::string(nx::dtype_name(cond.dtype())));
  }
  check_same_type(call, call.input(1), call.input(2));
  return {nx::select(cond, call.input(1), call.input(2))};
}

}  // namespace

void register_elementwise_ops() {
  // Unary ops that keep the dtype.
  // Version 1 of the unary ops (and of Sum/Mean/Max/Min, Clip) differs from 6 only by the
  // consumed_inputs attribute, which is ignored, and by the types it allows (a subset).
  add_unary("Abs", 1, nx::abs);
  add_unary("Neg", 1, nx::negate);
  add_unary("Floor", 1, nx::floor);
  add_unary("Ceil", 1, nx::ceil);
  add_unary("Round", 11, nx::round_even);
  add_unary("Sign", 9, nx::sign);
  add_unary("Not", 1, nx::logical_not);
  add_unary("IsNaN", 9, nx::is_nan);
  add_unary("Reciprocal", 1, reciprocal);
  register_op({"IsInf", is_inf_op, 10});

  // Math functions.
  add_float_unary("Exp", 1, nx::exp);
  add_float_unary("Log", 1, nx::log);
  add_float_unary("Sqrt", 1, nx::sqrt);
  add_float_unary("Sin", 7, nx::sin);
  add_float_unary("Cos", 7, nx::cos);
  add_float_unary("Tan", 7, nx::tan);
  add_float_unary("Asin", 7, nx::asin);
  add_float_unary("Acos", 7, nx::acos);
  add_float_unary("Atan", 7, nx::atan);
  add_float_unary("Sinh", 9, nx::sinh);
  add_float_unary("Cosh", 9, nx::cosh);
  add_float_unary("Asinh", 9, nx::asinh);
  add_float_unary("Acosh", 9, nx::acosh);
  add_float_unary("Atanh", 9, nx::atanh);
  add_float_unary("Erf", 9, nx::erf);

  // Arithmetic (numpy broadcasting since opset 7, broadcast/axis attributes before).
  add_arith("Add", 1, nx::add);
  add_arith("Sub", 1, nx::subtract);
  add_arith("Mul", 1, nx::multiply);
  register_op({"Div", with_legacy_broadcast(div_op), 1});
  register_op({"Mod", mod_op, 10});
  register_op({"Pow", with_legacy_broadcast(pow_op), 1});
  add_variadic("Sum", nx::add, false);
  add_variadic("Mean", nx::add, true);
  add_variadic("Max", nx::max, false);
  add_variadic("Min", nx::min, false);

  // Logic, comparisons and bits.
  add_binary("And", 1, nx::logical_and);
  add_binary("Or", 1, nx::logical_or);
  add_binary("Xor", 1, nx::logical_xor);
  add_binary("Equal", 1, nx::equal);
  add_binary("Less", 1, nx::less);
  add_binary("LessOrEqual", 12, nx::less_equal);
  add_binary("Greater", 1, nx::greater);
  add_binary("GreaterOrEqual", 12, nx::greater_equal);
  register_op({"BitShift", bit_shift_op, 11});

  register_op({"Where", where_op, 9});
  register_op({"Clip", clip_op, 1});
}

}  // namespace axon::onnx_import::math
