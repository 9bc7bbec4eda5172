// Private helpers shared by the math family's converter files (ops_math*.cpp).
#pragma once

#include <string>

#include "axon/onnx/ops.hpp"
#include "nx/nx.hpp"

namespace axon::onnx_import::math {

/// Returns `y` converted to `dtype` when it differs (ONNX keeps the input type where nx widens:
/// integer sums accumulate in 64 bits, math functions compute integers in f32).
inline nx::Tensor keep_type(const nx::Tensor& y, nx::DType dtype) {
  return y.dtype() == dtype ? y : nx::as_type(y, dtype);
}

/// Fails unless input `i` has a floating dtype (the ops whose formulas only make sense there).
inline void require_float(const OpCall& call, size_t i) {
  const nx::Tensor& x = call.input(i);
  if (!nx::is_float(x.dtype())) {
    call.fail("input " + std::to_string(i) +
              " must be a floating tensor (f16, bf16, f32, f64), got " +
              std::string(nx::dtype_name(x.dtype())));
  }
}

// Each file registers its part of the family.
void register_elementwise_ops();
void register_cast_ops();
void register_activation_ops();
void register_reduce_ops();
void register_det_op();

}  // namespace axon::onnx_import::math
