// The reference evaluator of a graph: runs it node by node through bind and the control-flow
// entry points, so that it executes eagerly when nothing is traced and re-records into the
// enclosing trace otherwise (autodiff replays forward graphs this way).
#pragma once

#include <span>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

/// Runs `g` on `inputs` (one per graph input). When `env` is given it receives every value of
/// the graph, indexed by value id. Returns the outputs.
std::vector<Tensor> interpret(const Graph& g, std::span<const Tensor> inputs,
                              std::vector<Tensor>* env = nullptr);

/// Runs one node on the tensors of its inputs; returns its outputs.
std::vector<Tensor> interpret_node(const Node& n, std::span<const Tensor> in, const Graph& g);

}  // namespace nx::detail
