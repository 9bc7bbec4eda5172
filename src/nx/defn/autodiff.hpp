// Reverse-mode differentiation of a traced graph, emitted as ordinary ops.
#pragma once

#include <span>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

/// The cotangents of `g`'s inputs given cotangents of its outputs (`out_cts[i]` for output i;
/// an empty Tensor is zero). `env` holds every value of g in the current context (from
/// interpret). `wanted[i]` says whether input i needs a cotangent; the result has an empty
/// Tensor for inputs that are not wanted or get no gradient. The ops are emitted through bind:
/// eagerly, or recorded into the enclosing trace.
std::vector<Tensor> backward(const Graph& g, const std::vector<Tensor>& env,
                             std::span<const Tensor> out_cts, std::span<const bool> wanted);

}  // namespace nx::detail
