// Shape rules of sort and the cumulative (scan) primitives.
#include <string>

#include "rules_common.hpp"

namespace nx::detail {

namespace {

// The params carry an axis already normalized by the op library; a rank-0 operand has none.
void check_axis(int prim, const Tensor& t, int64_t axis) {
  if (axis < 0 || axis >= t.rank()) {
    rule_error(prim, "axis " + std::to_string(axis) + " is out of range for " + describe(t) +
                         (t.rank() == 0 ? " (a scalar has no axis)"
                                        : " (expected 0 to " + std::to_string(t.rank() - 1) + ")"));
  }
}

}  // namespace

std::vector<TensorType> rule_sort(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& p = std::get<SortParams>(params);
  check_dtype_class(prim, in[0], DTypeClass::Numeric, "the operand");
  check_axis(prim, in[0], p.axis);
  return {in[0].type(), TensorType{in[0].shape(), DType::S64}};
}

std::vector<TensorType> rule_scan(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& p = std::get<ScanParams>(params);
  check_dtype_class(prim, in[0], DTypeClass::Numeric, "the operand");
  check_axis(prim, in[0], p.axis);
  return {in[0].type()};
}

}  // namespace nx::detail
