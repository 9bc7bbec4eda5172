// The closed program graph of a cluster of nodes (for fuse() and its tests).
#pragma once

#include <cstdint>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

/// A cluster's program and what feeds it.
struct Program {
  Graph graph;
  std::vector<int32_t> inputs;  ///< values of the original graph, one per program input
};

/// The program of `members` (node indices of `g`, increasing): copies of the members, of the
/// broadcast_in_dim/reshape chains they read through (so broadcasts are read, not
/// materialized) and of the one-element constants they read; every other value they read is an
/// input. `outputs` are member results, in the order the program returns them. With `epilogue`,
/// the first member's (the contraction's) operands are inputs as they are, or for a
/// conv_general transposes of inputs (copied: the kernel reads them through strides). `producer`
/// maps each value of g to the index of its node.
Program build_program(const Graph& g, const std::vector<int32_t>& producer,
                      const std::vector<int32_t>& members, const std::vector<int32_t>& outputs,
                      bool epilogue);

/// The `inputs` build_program would give the program (without building it).
std::vector<int32_t> program_inputs(const Graph& g, const std::vector<int32_t>& producer,
                                    const std::vector<int32_t>& members, bool epilogue);

}  // namespace nx::detail
