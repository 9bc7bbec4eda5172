// Axis-group arithmetic shared by dot_general's planner (contract.cpp) and the fused matmul
// epilogue's planner (fused_dnnl_plan.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nx/shape.hpp"

namespace nx::cpu {

/// The stride of a group of axes walked as one row-major index (last axis fastest), if the
/// buffer allows it: each axis's stride must be the next one's stride times its size (size-1
/// axes skipped). A group whose size is 1 gets stride 0 (gemm replaces it with a plain one).
inline std::optional<int64_t> group_stride(const Shape& dims, const std::vector<int64_t>& strides,
                                           const Axes& axes) {
  std::optional<int64_t> stride;
  int64_t extent = 0;
  for (size_t i = axes.size(); i-- > 0;) {
    const size_t ax = static_cast<size_t>(axes[i]);
    if (dims[ax] == 1) continue;
    if (!stride) {
      stride = strides[ax];
    } else if (strides[ax] != extent) {
      return std::nullopt;
    }
    extent = strides[ax] * dims[ax];
  }
  return stride.value_or(0);
}

/// The number of elements of a group of axes.
inline int64_t axes_product(const Shape& dims, const Axes& axes) {
  int64_t p = 1;
  for (int64_t ax : axes) p *= dims[static_cast<size_t>(ax)];
  return p;
}

/// The axes of a rank-`rank` operand that are neither contracting nor batch, in order.
inline Axes free_axes(int64_t rank, const Axes& contract, const Axes& batch) {
  std::vector<bool> used(static_cast<size_t>(rank), false);
  for (int64_t ax : contract) used[static_cast<size_t>(ax)] = true;
  for (int64_t ax : batch) used[static_cast<size_t>(ax)] = true;
  Axes out;
  for (int64_t i = 0; i < rank; ++i)
    if (!used[static_cast<size_t>(i)]) out.push_back(i);
  return out;
}

}  // namespace nx::cpu
