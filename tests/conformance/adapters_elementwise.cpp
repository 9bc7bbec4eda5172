// Adapters of include/nx/ops/elementwise.hpp: unary, binary (with optional weak C++ scalars),
// ternary, conversions and operators.
#include "harness.hpp"

namespace nx::conformance {
namespace {

using Unary = Tensor (*)(const Tensor&);
using Binary = Tensor (*)(const Tensor&, const Tensor&);

Adapter unary(Unary f) {
  return [f](const std::vector<Tensor>& in, const Json&) { return one(f(in.at(0))); };
}

// attrs {"scalar": 3, "scalar_side": "a"|"b"} replace one operand with a weakly typed C++
// number (what `x + 3` passes), to test weak-type promotion.
Adapter binary(Binary f) {
  return [f](const std::vector<Tensor>& in, const Json& at) {
    if (at.contains("scalar")) {
      Tensor s = weak_scalar(at["scalar"]);
      return one(at.value("scalar_side", "b") == "a" ? f(s, in.at(0)) : f(in.at(0), s));
    }
    return one(f(in.at(0), in.at(1)));
  };
}

const bool kUnary = register_adapters({
    {"exp", unary(&nx::exp)},
    {"expm1", unary(&nx::expm1)},
    {"log", unary(&nx::log)},
    {"log1p", unary(&nx::log1p)},
    {"sqrt", unary(&nx::sqrt)},
    {"rsqrt", unary(&nx::rsqrt)},
    {"cbrt", unary(&nx::cbrt)},
    {"sin", unary(&nx::sin)},
    {"cos", unary(&nx::cos)},
    {"tan", unary(&nx::tan)},
    {"asin", unary(&nx::asin)},
    {"acos", unary(&nx::acos)},
    {"atan", unary(&nx::atan)},
    {"sinh", unary(&nx::sinh)},
    {"cosh", unary(&nx::cosh)},
    {"tanh", unary(&nx::tanh)},
    {"asinh", unary(&nx::asinh)},
    {"acosh", unary(&nx::acosh)},
    {"atanh", unary(&nx::atanh)},
    {"erf", unary(&nx::erf)},
    {"erfc", unary(&nx::erfc)},
    {"erf_inv", unary(&nx::erf_inv)},
    {"sigmoid", unary(&nx::sigmoid)},
    {"is_nan", unary(&nx::is_nan)},
    {"is_infinity", unary(&nx::is_infinity)},
    {"is_finite", unary(&nx::is_finite)},
    {"negate", unary(&nx::negate)},
    {"abs", unary(&nx::abs)},
    {"sign", unary(&nx::sign)},
    {"square", unary(&nx::square)},
    {"floor", unary(&nx::floor)},
    {"ceil", unary(&nx::ceil)},
    {"round", unary(&nx::round)},
    {"round_even", unary(&nx::round_even)},
    {"trunc", unary(&nx::trunc)},
    {"bitwise_not", unary(&nx::bitwise_not)},
    {"population_count", unary(&nx::population_count)},
    {"count_leading_zeros", unary(&nx::count_leading_zeros)},
    {"logical_not", unary(&nx::logical_not)},
});

const bool kBinary = register_adapters({
    {"add", binary(&nx::add)},
    {"subtract", binary(&nx::subtract)},
    {"multiply", binary(&nx::multiply)},
    {"divide", binary(&nx::divide)},
    {"quotient", binary(&nx::quotient)},
    {"remainder", binary(&nx::remainder)},
    {"mod", binary(&nx::mod)},
    {"pow", binary(&nx::pow)},
    {"max", binary(static_cast<Binary>(&nx::max))},
    {"min", binary(static_cast<Binary>(&nx::min))},
    {"atan2", binary(&nx::atan2)},
    {"bitwise_and", binary(&nx::bitwise_and)},
    {"bitwise_or", binary(&nx::bitwise_or)},
    {"bitwise_xor", binary(&nx::bitwise_xor)},
    {"left_shift", binary(&nx::left_shift)},
    {"right_shift", binary(&nx::right_shift)},
    {"logical_and", binary(&nx::logical_and)},
    {"logical_or", binary(&nx::logical_or)},
    {"logical_xor", binary(&nx::logical_xor)},
    {"equal", binary(&nx::equal)},
    {"not_equal", binary(&nx::not_equal)},
    {"less", binary(&nx::less)},
    {"less_equal", binary(&nx::less_equal)},
    {"greater", binary(&nx::greater)},
    {"greater_equal", binary(&nx::greater_equal)},
});

const bool kOther = register_adapters({
    {"select", [](const std::vector<Tensor>& in,
                  const Json&) { return one(select(in.at(0), in.at(1), in.at(2))); }},
    {"clip", [](const std::vector<Tensor>& in,
                const Json&) { return one(clip(in.at(0), in.at(1), in.at(2))); }},
    {"as_type", [](const std::vector<Tensor>& in,
                   const Json& at) { return one(as_type(in.at(0), dtype_attr(at, "dtype"))); }},
    {"bitcast", [](const std::vector<Tensor>& in,
                   const Json& at) { return one(bitcast(in.at(0), dtype_attr(at, "dtype"))); }},
    {"operator+",
     [](const std::vector<Tensor>& in, const Json&) { return one(in.at(0) + in.at(1)); }},
    {"operator*",
     [](const std::vector<Tensor>& in, const Json&) { return one(in.at(0) * in.at(1)); }},
    {"operator/",
     [](const std::vector<Tensor>& in, const Json&) { return one(in.at(0) / in.at(1)); }},
    {"operator-",
     [](const std::vector<Tensor>& in, const Json&) {
       return one(in.size() == 1 ? -in.at(0) : in.at(0) - in.at(1));
     }},
});

}  // namespace
}  // namespace nx::conformance
