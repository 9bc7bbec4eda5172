// Shape rules of elementwise and conversion primitives.
#include <string>

#include "rules_common.hpp"

namespace nx::detail {

void rule_error(int prim, const std::string& message) {
  throw Error(op_label(prim) + ": " + message);
}

void check_dtype_class(int prim, const Tensor& t, DTypeClass cls, const char* what) {
  DType d = t.dtype();
  bool ok = true;
  const char* expected = "";
  switch (cls) {
    case DTypeClass::Any:
      break;
    case DTypeClass::Numeric:
      ok = is_numeric(d), expected = "a numeric dtype (not pred)";
      break;
    case DTypeClass::Float:
      ok = is_float(d), expected = "a float dtype";
      break;
    case DTypeClass::Integer:
      ok = is_integer(d), expected = "an integer dtype";
      break;
    case DTypeClass::IntPred:
      ok = is_integer(d) || d == DType::Pred;
      expected = "an integer or pred dtype";
      break;
  }
  if (!ok) {
    rule_error(prim, std::string(what) + " must have " + expected + ", got " + describe(t));
  }
}

void check_same_dtype(int prim, std::span<const Tensor> in) {
  for (size_t i = 1; i < in.size(); ++i) {
    if (in[i].dtype() != in[0].dtype()) {
      rule_error(
          prim, "operands must have one dtype, got " + describe(in[0]) + " and " + describe(in[i]));
    }
  }
}

void check_per_axis(int prim, const std::vector<int64_t>& values, int64_t rank, const char* what) {
  if (static_cast<int64_t>(values.size()) != rank) {
    rule_error(prim, std::string(what) + " needs one entry per axis (" + std::to_string(rank) +
                         "), got " + std::to_string(values.size()));
  }
}

std::vector<TensorType> rule_unary(int prim, std::span<const Tensor> in, const Params&) {
  check_dtype_class(prim, in[0], kPrimInfo[static_cast<size_t>(prim)].dtypes, "the operand");
  return {in[0].type()};
}

std::vector<TensorType> rule_unary_pred(int prim, std::span<const Tensor> in, const Params&) {
  check_dtype_class(prim, in[0], kPrimInfo[static_cast<size_t>(prim)].dtypes, "the operand");
  return {TensorType{in[0].shape(), DType::Pred}};
}

std::vector<TensorType> rule_binary(int prim, std::span<const Tensor> in, const Params&) {
  check_same_dtype(prim, in);
  check_dtype_class(prim, in[0], kPrimInfo[static_cast<size_t>(prim)].dtypes, "the operands");
  return {
      TensorType{broadcast_shapes(in[0].shape(), in[1].shape(), op_label(prim)), in[0].dtype()}};
}

std::vector<TensorType> rule_compare(int prim, std::span<const Tensor> in, const Params&) {
  check_same_dtype(prim, in);
  return {TensorType{broadcast_shapes(in[0].shape(), in[1].shape(), op_label(prim)), DType::Pred}};
}

std::vector<TensorType> rule_select(int prim, std::span<const Tensor> in, const Params&) {
  if (in[0].dtype() != DType::Pred) {
    rule_error(prim, "the predicate must be pred, got " + describe(in[0]));
  }
  check_same_dtype(prim, in.subspan(1));
  Shape s = broadcast_shapes(in[0].shape(), in[1].shape(), op_label(prim));
  s = broadcast_shapes(s, in[2].shape(), op_label(prim));
  return {TensorType{s, in[1].dtype()}};
}

std::vector<TensorType> rule_convert(int, std::span<const Tensor> in, const Params& params) {
  return {TensorType{in[0].shape(), std::get<ConvertParams>(params).dtype}};
}

std::vector<TensorType> rule_bitcast(int prim, std::span<const Tensor> in, const Params& params) {
  DType to = std::get<ConvertParams>(params).dtype;
  if (bit_size(to) != bit_size(in[0].dtype()) || to == DType::Pred ||
      in[0].dtype() == DType::Pred) {
    rule_error(prim, "can only reinterpret between non-pred dtypes of one bit width, got " +
                         describe(in[0]) + " to " + std::string(dtype_name(to)));
  }
  return {TensorType{in[0].shape(), to}};
}

}  // namespace nx::detail
