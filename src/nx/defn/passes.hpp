// Graph passes, run by jit between tracing and lowering. Each takes a graph and returns an
// equivalent one (same inputs and outputs, same results up to floating-point reassociation where
// a pass says so).
#pragma once

#include <functional>
#include <string_view>

#include "graph.hpp"

namespace nx::detail {

/// Called after each pass with its name and result (dumps).
using PassObserver = std::function<void(std::string_view pass, const Graph& g)>;

/// The whole pipeline, in order.
Graph optimize(const Graph& g, const PassObserver& observe = {});

/// Removes nodes whose outputs are not used (Hook nodes are kept: they have effects).
Graph eliminate_dead_code(const Graph& g);
/// Merges nodes of one kind with the same params and inputs.
Graph eliminate_common_subexpressions(const Graph& g);
/// Evaluates nodes whose inputs are all constants (small results only).
Graph fold_constants(const Graph& g);
/// Algebraic identities: x+0, x*1, x*0 (integers), double negation, reshape/transpose/broadcast
/// chains folded, no-op converts/reshapes/transposes/slices removed.
Graph simplify(const Graph& g);
/// Channels-first convolutions (f32/bf16, oneDNN-sized) run on channels-last twins of their
/// operands, the transposes sunk through elementwise ops, reductions, windows and pads and
/// cancelled between convolutions (pass_layout.cpp); `g` itself when that saves no copy.
Graph to_channels_last(const Graph& g);
/// Clusters elementwise/broadcast chains (with a trailing reduction where it pays) into Fused
/// nodes, and matmul/conv + bias + activation into Fused nodes lowered to oneDNN post-ops.
Graph fuse(const Graph& g);
/// conv_general nodes reading transposed operands or feeding a transpose become "conv_layout"
/// Fused nodes that oneDNN runs over strided views (no transpose materialized).
Graph fuse_conv_layouts(const Graph& g);

}  // namespace nx::detail
