// Control-flow nodes (While, Cond, Scan): running them and differentiating them.
#pragma once

#include <span>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

/// Runs a While, Cond or Scan node on `in`: eagerly when nothing records, else records the
/// same node (same subgraphs) into the current trace.
std::vector<Tensor> run_control(const Node& n, std::span<const Tensor> in);

/// Cotangents of a control-flow node's inputs (empty Tensor = zero), emitted as ops.
std::vector<Tensor> vjp_control(const Node& n, std::span<const Tensor> in,
                                std::span<const Tensor> out, std::span<const Tensor> ct,
                                std::span<const bool> wanted);

}  // namespace nx::detail
