// How a reduction walks its operand: the reduced and kept axes collapsed into as few loops as
// possible, and the shape of work that follows (see reduce_engine.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nx/dtype.hpp"
#include "nx/shape.hpp"

namespace nx::cpu {

/// One collapsed loop of a reduction: trip count and input stride in elements.
struct ReduceLoop {
  int64_t size;
  int64_t stride;
};

/// A reduction of a contiguous operand over a sorted list of axes. Axes of size 1 are dropped
/// and neighbouring axes of one kind (kept or reduced) merge, so e.g. reducing axes {1, 2} of
/// [a, b, c, d] is kept [a], reduced [b*c], kept [d].
struct ReducePlan {
  int64_t out_size = 1;             ///< number of outputs (product of kept axes)
  int64_t reduce_count = 1;         ///< elements combined into each output (0: the identity)
  std::vector<ReduceLoop> kept;     ///< outer to inner; the output is row-major over these
  std::vector<ReduceLoop> reduced;  ///< outer to inner
  /// The innermost loop (stride 1) is reduced: each output reduces contiguous runs.
  /// Otherwise it is kept: each output row accumulates strided rows of the input.
  bool inner_reduced = false;
};

ReducePlan make_reduce_plan(const Shape& shape, const Axes& axes);

class PreparedKernel;  // prepared.hpp
/// The prepared kernels of reduce_max/reduce_min (reduce_extrema.cpp) and reduce_and/reduce_or
/// (reduce_logical.cpp) over operands of dtype t; prepare_reduce (reduce.cpp) picks them.
std::unique_ptr<PreparedKernel> prepare_extreme(bool is_max, DType t, ReducePlan plan);
std::unique_ptr<PreparedKernel> prepare_logical(bool is_and, DType t, ReducePlan plan);

}  // namespace nx::cpu
