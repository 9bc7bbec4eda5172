// Sorting and selection.
#pragma once

#include <utility>

#include "nx/tensor.hpp"

namespace nx {

/// Options of sort and argsort.
struct SortOptions {
  int64_t axis = -1;
  bool descending = false;
};
/// Sorted copy along an axis (stable; NaN sorts above +inf).
Tensor sort(const Tensor& x, const SortOptions& opts = {});
/// s64 indices that sort x along an axis (stable).
Tensor argsort(const Tensor& x, const SortOptions& opts = {});
/// The k largest entries along the last axis, descending, and their s64 indices (ties keep the
/// lower index first).
std::pair<Tensor, Tensor> top_k(const Tensor& x, int64_t k);

}  // namespace nx
