// Addressing shared by gather and scatter: where each index row's slice lives in the operand.
#pragma once

#include <cstdint>
#include <vector>

#include "nx/tensor.hpp"

namespace nx::cpu {

/// Index row r addresses the operand slice that starts at element base[r]; the slice is
/// `outer.size()` contiguous runs of `inner` elements starting at base[r] + outer[j]. Slices
/// are stored contiguously (slice() elements per row) in gather's output and scatter's updates.
struct IndexPlan {
  int64_t rows = 0;
  int64_t inner = 1;
  std::vector<int64_t> outer;
  std::vector<int64_t> base;
  int64_t slice() const { return static_cast<int64_t>(outer.size()) * inner; }
};

/// Builds the plan for operand shape `x`, integer `indices` [..., axes.size()] and the indexed
/// axes. Indices are clamped into [0, size - 1] of their axis.
IndexPlan make_index_plan(const Shape& x, const Tensor& indices, const Axes& axes);

}  // namespace nx::cpu
