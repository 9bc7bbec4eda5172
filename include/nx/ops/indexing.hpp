// Indexing: take, gather and indexed updates.
#pragma once

#include <optional>

#include "nx/tensor.hpp"

namespace nx {

/// Picks entries of x along `axis` by integer indices of any shape; the result has shape
/// x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:]. Negative indices count from the end.
Tensor take(const Tensor& x, const Tensor& indices, int64_t axis = 0);
/// Picks along `axis` with indices shaped like x except on that axis (numpy
/// take_along_axis, ONNX GatherElements).
Tensor take_along_axis(const Tensor& x, const Tensor& indices, int64_t axis);
/// Nx.gather: the last axis of indices addresses `axes` of x (all axes by default); the result
/// is indices.shape[:-1] ++ the remaining axes of x. Out-of-range indices are clamped.
Tensor gather(const Tensor& x, const Tensor& indices, const std::optional<Axes>& axes = {});
/// x with updates added at the gathered positions (duplicates accumulate; out-of-range indices
/// are clamped, as in gather) (Nx.indexed_add, ONNX ScatterND with reduction add).
Tensor indexed_add(const Tensor& x, const Tensor& indices, const Tensor& updates,
                   const std::optional<Axes>& axes = {});
/// x with updates written at the gathered positions; with duplicate positions the last
/// update in row-major order wins (Nx.indexed_put, ONNX ScatterND).
Tensor indexed_put(const Tensor& x, const Tensor& indices, const Tensor& updates,
                   const std::optional<Axes>& axes = {});
/// x with updates added along `axis` at take_along_axis positions (ONNX ScatterElements add).
Tensor scatter_add_along_axis(const Tensor& x, const Tensor& indices, const Tensor& updates,
                              int64_t axis);
/// One-hot encoding: a new axis of size `depth` (at `axis`, default last) that is 1 at the
/// index and 0 elsewhere; indices outside [0, depth) give all zeros.
Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype = f32, int64_t axis = -1);

}  // namespace nx
