// Type promotion shared by the op library: Nx's merge plus weakly typed C++ scalars.
#pragma once

#include <string_view>
#include <utility>

#include "../core/dispatch.hpp"
#include "../core/tensor_impl.hpp"

namespace nx::detail {

/// Throws nx::Error("<op>: argument <what> is an empty tensor") for a default-constructed handle.
void check_defined(const Tensor& t, std::string_view op, std::string_view what);
/// The dtype two operands compute in: merge() for strong types; a weak scalar adopts the other
/// operand's dtype, except that a weak float with an integer tensor gives f32.
DType result_type(const Tensor& a, const Tensor& b);
/// Converts x to dtype (no-op when equal). Keeps the weak mark only when the dtype is unchanged.
Tensor cast(const Tensor& x, DType dtype);
/// Both operands converted to their result_type (pred becomes u8 when `numeric`).
std::pair<Tensor, Tensor> promote(const Tensor& a, const Tensor& b, bool numeric,
                                  std::string_view op);

}  // namespace nx::detail
