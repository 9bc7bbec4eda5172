// Shape layers: flatten, reshape, transpose, pad, resize, concatenate and split (Axon.flatten,
// Axon.reshape, ...). Parameterless nodes delegating to axon::fn (axon/fn/reshaping.hpp,
// axon/fn/resize.hpp).
//
//   auto x = axon::input("image", {axon::kDynamic, 28, 28, 3});
//   auto a = axon::flatten(x);                                   // [batch, 2352]
//   auto b = axon::reshape(x, {axon::kBatch, 28, axon::kAuto});  // [batch, 28, 84]
//   auto c = axon::pad(x, {{1, 1}, {2, 2}});                     // [batch, 30, 32, 3]
//   auto d = axon::resize(x, {56, 56}, {.method = axon::fn::ResizeMethod::Bilinear});
//   auto e = axon::concatenate({a, a});                          // [batch, 4704]
//   std::vector<axon::Model> parts = axon::split(x, 3);          // three [batch, 28, 28, 1]
//
// split is one "split" node whose output is the list of pieces, and one elem node per piece.
#pragma once

#include <cstdint>
#include <optional>
#include "axon/source_location.hpp"
#include <string>
#include <utility>
#include <vector>

#include "axon/fn/reshaping.hpp"
#include "axon/fn/resize.hpp"
#include "axon/model.hpp"

namespace axon {

/// In reshape's shape: the input's runtime batch size (Axon's :batch).
inline constexpr int64_t kBatch = fn::kBatch;
/// In reshape's shape: the one size inferred from the element count (Axon's :auto).
inline constexpr int64_t kAuto = fn::kAuto;

/// Options of the shape layers that take none but a name.
struct ShapeOptions {
  std::string name = {};
};

/// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...] (Axon.flatten).
Model flatten(const Model& x, ShapeOptions opts = {},
              SourceLocation where = SourceLocation::current());

/// x in `shape`, where kBatch is x's runtime batch size and one kAuto is inferred
/// (Axon.reshape).
Model reshape(const Model& x, nx::Shape shape, ShapeOptions opts = {},
              SourceLocation where = SourceLocation::current());

/// Options of transpose.
struct TransposeOptions {
  std::string name = {};
};
/// Permutes axes (output axis i is input axis perm[i]); without perm, reverses every axis,
/// the batch axis included, as Axon (Axon.transpose).
Model transpose(const Model& x, std::optional<nx::Axes> perm = std::nullopt,
                TransposeOptions opts = {},
                SourceLocation where = SourceLocation::current());

/// Options of pad.
struct PadOptions {
  std::string name = {};
  double value = 0.0;  ///< the fill value
  fn::Channels channels = fn::Channels::Last;
};
/// Pads the spatial axes only, {lo, hi} per spatial axis (Axon.pad).
Model pad(const Model& x, std::vector<std::pair<int64_t, int64_t>> padding, PadOptions opts = {},
          SourceLocation where = SourceLocation::current());

/// Options of resize (Axon's names and defaults).
struct ResizeOptions {
  std::string name = {};
  fn::ResizeMethod method = fn::ResizeMethod::Nearest;
  bool antialias = true;
  fn::Channels channels = fn::Channels::Last;
};
/// x resized to spatial size `size` (one value per spatial axis, or one for all) (Axon.resize;
/// any rank >= 3, where Axon takes rank 4 only).
Model resize(const Model& x, fn::Sizes size, ResizeOptions opts = {},
             SourceLocation where = SourceLocation::current());

/// Options of concatenate and split.
struct AxisOptions {
  std::string name = {};
  int64_t axis = -1;
};
/// The inputs joined along `axis` (Axon.concatenate).
Model concatenate(std::vector<Model> xs, AxisOptions opts = {},
                  SourceLocation where = SourceLocation::current());
/// x and y joined along `axis`.
Model concatenate(const Model& x, const Model& y, AxisOptions opts = {},
                  SourceLocation where = SourceLocation::current());

/// x split into `n` equal pieces along `axis` (the axis size must divide by n) (Axon.split).
std::vector<Model> split(const Model& x, int64_t n, AxisOptions opts = {},
                         SourceLocation where = SourceLocation::current());
/// x split into pieces of the given sizes along `axis` (they must add up to the axis size).
std::vector<Model> split(const Model& x, const fn::Sizes& sizes, AxisOptions opts = {},
                         SourceLocation where = SourceLocation::current());

}  // namespace axon
