// Addressing shared by gather and scatter: where each index row's slice lives in the operand.
#pragma once

#include <cstdint>
#include <vector>

#include "nx/tensor.hpp"

namespace nx::cpu {

/// Index row r addresses the operand slice that starts at element base[r]; the slice is
/// `outer.size()` contiguous runs of `inner` elements starting at base[r] + outer[j]. Slices
/// are stored contiguously (slice() elements per row) in gather's output and scatter's updates.
/// The plan depends only on shapes; the bases come from the index values (index_bases).
struct IndexPlan {
  int64_t rows = 0;
  int64_t inner = 1;
  std::vector<int64_t> outer;
  std::vector<int64_t> size, step;  ///< per indexed axis: its size and stride in the operand
  int64_t slice() const { return static_cast<int64_t>(outer.size()) * inner; }
};

/// Builds the plan for operand shape `x`, indices of shape [..., axes.size()] and the indexed
/// axes.
IndexPlan make_index_plan(const Shape& x, const Shape& indices, const Axes& axes);

/// base[r] for each of the plan's rows, from integer `indices`, each index clamped into
/// [0, size - 1] of its axis. Allocates nothing.
void index_bases(const IndexPlan& p, const Tensor& indices, int64_t* base);

}  // namespace nx::cpu
