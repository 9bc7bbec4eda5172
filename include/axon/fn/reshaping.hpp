// axon::fn shape layers: flatten, reshape, transpose, pad, concatenate and split, as Axon's
// shape layers (Axon.flatten, Axon.reshape, ...) and their functional forms in Axon.Layers.
//
//   namespace fn = axon::fn;
//   Tensor x = ...;                                          // f32[8][4][4][16]
//   Tensor a = fn::flatten(x);                               // f32[8][256]
//   Tensor b = fn::reshape(x, {fn::kBatch, 16, fn::kAuto});  // f32[8][16][16]
//   Tensor c = fn::transpose(x, nx::Axes{0, 3, 1, 2});       // f32[8][16][4][4]
//   Tensor d = fn::pad(x, {{1, 1}, {0, 2}});                 // f32[8][6][6][16]: spatial only
//   Tensor e = fn::concatenate({x, x});                      // f32[8][4][4][32]: last axis
//   std::vector<Tensor> f = fn::split(x, 2);                 // two f32[8][4][4][8]
//
// These are thin, checked wrappers over nx's movement ops: they differentiate and compile as
// those do. Axis arguments may be negative (counted from the end).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "axon/fn/common.hpp"
#include "nx/shape.hpp"

namespace axon::fn {

/// In reshape's target shape: the input's batch size (axis 0), Axon's `:batch`.
inline constexpr int64_t kBatch = -2;
/// In reshape's target shape: the one size inferred from the element count, Axon's `:auto`.
inline constexpr int64_t kAuto = -1;

/// Options of pad.
struct PadOptions {
  double value = 0.0;  ///< the fill value (converted to the input's dtype)
  Channels channels = Channels::Last;
};

/// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...] (Axon.flatten); a rank-1 input gives
/// [batch, 1].
Tensor flatten(const Tensor& x);

/// x in `shape`, where kBatch stands for x's batch size (axis 0) and one kAuto (-1) is
/// inferred (Axon.reshape). Other negative sizes are rejected.
Tensor reshape(const Tensor& x, const nx::Shape& shape);

/// Permutes axes: output axis i is input axis perm[i]; without perm, reverses all axes,
/// including the batch axis, as Axon (Axon.transpose).
Tensor transpose(const Tensor& x, const std::optional<nx::Axes>& perm = std::nullopt);

/// Pads the spatial axes only ({lo, hi} per spatial axis, negative crops); the batch and
/// channel axes are left alone (Axon.pad).
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& padding,
           const PadOptions& opts = {});

/// Joins tensors along `axis` (default: the last) (Axon.concatenate); dtypes are merged.
Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis = -1);

/// Splits into `n` equal parts along `axis` (the size must divide by n) (Axon.split).
std::vector<Tensor> split(const Tensor& x, int64_t n, int64_t axis = -1);
/// Splits into parts of the given sizes along `axis` (they must add up to the axis size).
std::vector<Tensor> split(const Tensor& x, const Sizes& sizes, int64_t axis = -1);

}  // namespace axon::fn
