// Adapters of include/nx/ops/constants.hpp and include/nx/ops/creation.hpp, and of the
// primitives no public op reaches yet ("prim:<name>", called through nx::detail::bind).
//
// Ops without tensor inputs take the variant's dtype from "_dtype"; "default": true calls the
// overload without a dtype argument, to check the documented default.
#include <cstring>

#include "harness.hpp"
#include "nx/core/dispatch.hpp"

namespace nx::conformance {
namespace {

using In = std::vector<Tensor>;
using Constant = Tensor (*)(DType);
using Default = Tensor (*)();

// `dflt` calls the constant with its default dtype (only pi, e and euler_gamma have one).
Adapter constant(Constant f, Default dflt = nullptr) {
  return [f, dflt](const In&, const Json& at) {
    if (bool_attr(at, "default") && dflt) return one(dflt());
    return one(f(case_dtype(at)));
  };
}

// from_vector for the C++ type that stores x's dtype (std::vector<bool> for pred).
template <class T>
Tensor vector_of(const Tensor& x, std::optional<Shape> shape) {
  return from_vector(x.to_vector<T>(), shape);
}
Tensor from_vector_like(const Tensor& x, std::optional<Shape> shape) {
  switch (x.dtype()) {
    case DType::U8:
      return vector_of<uint8_t>(x, shape);
    case DType::U16:
      return vector_of<uint16_t>(x, shape);
    case DType::U32:
      return vector_of<uint32_t>(x, shape);
    case DType::U64:
      return vector_of<uint64_t>(x, shape);
    case DType::S8:
      return vector_of<int8_t>(x, shape);
    case DType::S16:
      return vector_of<int16_t>(x, shape);
    case DType::S32:
      return vector_of<int32_t>(x, shape);
    case DType::S64:
      return vector_of<int64_t>(x, shape);
    case DType::F16:
      return vector_of<half>(x, shape);
    case DType::BF16:
      return vector_of<bfloat16>(x, shape);
    case DType::F32:
      return vector_of<float>(x, shape);
    case DType::F64:
      return vector_of<double>(x, shape);
    case DType::Pred:
      return from_vector(x.to_vector<bool>(), shape);
  }
  throw std::logic_error("from_vector_like: unknown dtype");
}

// The nested-list forms of nx::tensor that cases.py names (same values as its _tensor_ref).
Tensor tensor_form(const std::string& form, DType dtype) {
  if (form == "int1d") return tensor({1, 2, 3});
  if (form == "double1d") return tensor({1.5, -2.0, 0.1});
  if (form == "bool1d") return tensor({true, false, true});
  if (form == "int2d") return tensor({{1, 2, 3}, {4, 5, 6}});
  if (form == "double2d") return tensor({{1.5, 2.0}, {3.0, 4.25}});
  if (form == "int3d") return tensor({{{1, 2}}, {{3, 4}}});
  if (form == "double4d") return tensor({{{{0.5}}, {{1.5}}}});
  if (form == "double1d_f64") return tensor({0.1, 0.2, 1e-300}, f64);
  if (form == "int2d_as") return tensor({{1, 2}, {3, 0}}, dtype);
  if (form == "ragged") return tensor({{1, 2}, {3}});
  throw std::runtime_error("unknown tensor form " + form);
}

Shape shape_of(const Json& at) {
  return ints_attr(at, "shape");
}

const bool kConstants = register_adapters({
    {"pi", constant(&nx::pi, [] { return nx::pi(); })},
    {"e", constant(&nx::e, [] { return nx::e(); })},
    {"euler_gamma", constant(&nx::euler_gamma, [] { return nx::euler_gamma(); })},
    {"epsilon", constant(&nx::epsilon)},
    {"infinity", constant(&nx::infinity)},
    {"neg_infinity", constant(&nx::neg_infinity)},
    {"nan", constant(&nx::nan)},
    {"max_finite", constant(&nx::max_finite)},
    {"min_finite", constant(&nx::min_finite)},
    {"smallest_positive_normal", constant(&nx::smallest_positive_normal)},
});

const bool kCreation = register_adapters({
    {"full",
     [](const In&, const Json& at) {
       double v = double_attr(at, "value");
       if (bool_attr(at, "default")) return one(full(shape_of(at), v));
       return one(full(shape_of(at), v, case_dtype(at)));
     }},
    {"zeros",
     [](const In&, const Json& at) {
       return one(bool_attr(at, "default") ? zeros(shape_of(at))
                                           : zeros(shape_of(at), case_dtype(at)));
     }},
    {"ones",
     [](const In&, const Json& at) {
       return one(bool_attr(at, "default") ? ones(shape_of(at))
                                           : ones(shape_of(at), case_dtype(at)));
     }},
    {"full_like",
     [](const In& in, const Json& at) {
       return one(full_like(in.at(0), double_attr(at, "value")));
     }},
    {"zeros_like", [](const In& in, const Json&) { return one(zeros_like(in.at(0))); }},
    {"ones_like", [](const In& in, const Json&) { return one(ones_like(in.at(0))); }},
    {"iota",
     [](const In&, const Json& at) {
       bool dflt = bool_attr(at, "default");
       if (at.contains("axis")) {
         int64_t axis = int_attr(at, "axis");
         return one(dflt ? iota(shape_of(at), axis) : iota(shape_of(at), axis, case_dtype(at)));
       }
       return one(dflt ? iota(shape_of(at)) : iota(shape_of(at), case_dtype(at)));
     }},
    {"eye",
     [](const In&, const Json& at) {
       bool dflt = bool_attr(at, "default");
       if (at.contains("n")) {
         int64_t n = int_attr(at, "n");
         return one(dflt ? eye(n) : eye(n, case_dtype(at)));
       }
       return one(dflt ? eye(shape_of(at)) : eye(shape_of(at), case_dtype(at)));
     }},
    {"linspace",
     [](const In&, const Json& at) {
       return one(linspace(double_attr(at, "start"), double_attr(at, "stop"), int_attr(at, "n"),
                           at.value("endpoint", true), case_dtype(at)));
     }},
    {"arange",
     [](const In&, const Json& at) {
       return one(arange(double_attr(at, "start"), double_attr(at, "stop"),
                         double_attr(at, "step", 1.0), case_dtype(at)));
     }},
    {"from_data",
     [](const In& in, const Json&) {
       return one(from_data(in.at(0).raw_data(), in.at(0).shape(), in.at(0).dtype()));
     }},
    {"from_vector",
     [](const In& in, const Json& at) {
       std::optional<Shape> shape;
       if (at.contains("shape"))
         shape = shape_of(at);
       else if (!bool_attr(at, "flat"))
         shape = in.at(0).shape();
       return one(from_vector_like(in.at(0), shape));
     }},
    {"scalar",
     [](const In&, const Json& at) {
       return one(scalar(double_attr(at, "value"), case_dtype(at)));
     }},
    {"scalar_int",
     [](const In&, const Json& at) {
       return one(scalar_int(int_attr(at, "value"), case_dtype(at)));
     }},
    {"tensor",
     [](const In&, const Json& at) {
       return one(tensor_form(at.at("form").get<std::string>(), case_dtype(at)));
     }},
    {"make_template",
     [](const In&, const Json& at) { return one(make_template(shape_of(at), case_dtype(at))); }},
});

const bool kPrimitives = register_adapters({
    {"prim:threefry2x32",
     [](const In& in, const Json&) {
       return detail::bind(detail::Prim::threefry2x32, std::span<const Tensor>(in));
     }},
});

}  // namespace
}  // namespace nx::conformance
