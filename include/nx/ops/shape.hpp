// Shape and movement operations: reshape, broadcast, transpose, slicing, padding, joining.
#pragma once

#include <vector>

#include "nx/tensor.hpp"

namespace nx {

/// The same data in a new shape; one dimension may be -1 (inferred, Nx's :auto).
Tensor reshape(const Tensor& x, const Shape& shape);
/// Broadcasts numpy-style (trailing axes aligned) to `shape`.
Tensor broadcast(const Tensor& x, const Shape& shape);
/// Broadcasts with an explicit map: x's axis i becomes axis axes[i] of `shape` (Nx.broadcast/3).
Tensor broadcast(const Tensor& x, const Shape& shape, const Axes& axes);
/// Reverses the order of the axes.
Tensor transpose(const Tensor& x);
/// Permutes axes: output axis i is input axis axes[i].
Tensor transpose(const Tensor& x, const Axes& axes);
/// Removes all size-1 axes.
Tensor squeeze(const Tensor& x);
/// Removes the given size-1 axes (error if one is not size 1).
Tensor squeeze(const Tensor& x, const Axes& axes);
/// Inserts a size-1 axis at `axis` (negative counts in the output rank).
Tensor new_axis(const Tensor& x, int64_t axis);
/// Merges axes start_axis..end_axis (inclusive) into one; by default flattens to 1-D.
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);

/// A static slice: `lengths[i]` elements from `start[i]`, every `strides[i]` (default 1).
/// Starts are clamped so the slice fits (Nx.slice).
Tensor slice(const Tensor& x, const std::vector<int64_t>& start,
             const std::vector<int64_t>& lengths, const std::vector<int64_t>& strides = {});
/// A slice whose starts are integer scalar tensors, clamped so the slice fits (Nx.slice with
/// tensor starts; XLA's dynamic_slice).
Tensor dynamic_slice(const Tensor& x, const std::vector<Tensor>& start,
                     const std::vector<int64_t>& lengths);
/// A slice along one axis (Nx.slice_along_axis).
Tensor slice_along_axis(const Tensor& x, int64_t start, int64_t length, int64_t axis = 0,
                        int64_t stride = 1);
/// x with `update` written at `start` (clamped so it fits) (Nx.put_slice).
Tensor put_slice(const Tensor& x, const std::vector<int64_t>& start, const Tensor& update);
/// put_slice with integer scalar tensor starts (XLA's dynamic_update_slice).
Tensor dynamic_put_slice(const Tensor& x, const std::vector<Tensor>& start, const Tensor& update);

/// Per-axis padding: low, high (both may be negative: cropping) and interior (>= 0).
struct PadConfig {
  int64_t lo = 0, hi = 0, interior = 0;
};
/// Pads x with `value` (Nx.pad); one PadConfig per axis.
Tensor pad(const Tensor& x, const Tensor& value, const std::vector<PadConfig>& config);

/// Joins tensors along an existing axis; dtypes are merged.
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis = 0);
/// Joins tensors of one shape along a new axis.
Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
/// Reverses the given axes (all when empty).
Tensor reverse(const Tensor& x, const Axes& axes = {});
/// Repeats x `reps[i]` times along axis i (reps may be longer than x's rank) (Nx.tile).
Tensor tile(const Tensor& x, const std::vector<int64_t>& reps);
/// Splits into pieces of the given sizes along axis (sizes must add up to the axis size).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis = 0);
/// Splits into n equal pieces along axis (the axis size must divide by n).
std::vector<Tensor> split(const Tensor& x, int64_t n, int64_t axis = 0);
/// Zeros above the k-th diagonal of the last two axes (ONNX Trilu lower).
Tensor tril(const Tensor& x, int64_t k = 0);
/// Zeros below the k-th diagonal of the last two axes (ONNX Trilu upper).
Tensor triu(const Tensor& x, int64_t k = 0);

}  // namespace nx
