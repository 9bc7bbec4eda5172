// Helpers shared by the shape rules.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "dispatch.hpp"

namespace nx::detail {

/// Throws nx::Error("nx::<op>: <message>").
[[noreturn]] void rule_error(int prim, const std::string& message);
/// Checks that `t` has a dtype of `cls`; `what` names the argument in the message.
void check_dtype_class(int prim, const Tensor& t, DTypeClass cls, const char* what);
/// Checks that every input has the dtype of the first.
void check_same_dtype(int prim, std::span<const Tensor> in);
/// "f32[2][3]" of an input.
inline std::string describe(const Tensor& t) {
  return type_string(t.type());
}
/// Checks that `values` has one entry per axis of a rank-`rank` operand.
void check_per_axis(int prim, const std::vector<int64_t>& values, int64_t rank, const char* what);

}  // namespace nx::detail
