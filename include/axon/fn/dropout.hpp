// Dropout layers (Axon.Layers.dropout, spatial_dropout, alpha_dropout, feature_alpha_dropout)
// as pure functions of nx tensors and a random key.
//
//   nx::Tensor key = nx::random::key(42);
//   auto [y, state] = axon::fn::dropout(x, key, {.rate = 0.1, .mode = axon::fn::Mode::Train});
//   key = state["key"].leaf();        // pass the new key to the next training step
//   auto [z, none] = axon::fn::dropout(x, key);   // Inference (the default): z is x, no state
//
// Keys are handled as Axon does with Nx.Random.uniform(key): the key is split in two, the
// second half draws the noise and the first is returned as state["key"]; so, for the same key,
// the mask is the one nx::random::uniform(nx::take(nx::random::split(key), 1), noise_shape,
// {.dtype = x.dtype()}) gives. Every function needs a float x and 0 <= rate < 1.
#pragma once

#include <optional>

#include "axon/fn/common.hpp"
#include "nx/shape.hpp"

namespace axon::fn {

/// Options of dropout.
struct DropoutOptions {
  double rate = 0.5;  ///< probability of dropping an element, in [0, 1)
  /// Shape of the mask, broadcast to x (e.g. {N, 1, F} shares it over axis 1); unset: x's.
  std::optional<nx::Shape> noise_shape{};
  Mode mode = Mode::Inference;  ///< Inference: the identity
};

/// Options of spatial_dropout and feature_alpha_dropout: whole channels are dropped.
struct SpatialDropoutOptions {
  double rate = 0.5;                   ///< probability of dropping a channel, in [0, 1)
  Channels channels = Channels::Last;  ///< where the channel axis of x is
  Mode mode = Mode::Inference;         ///< Inference: the identity
};
/// Options of feature_alpha_dropout (the same as spatial_dropout's).
using FeatureAlphaDropoutOptions = SpatialDropoutOptions;

/// Options of alpha_dropout.
struct AlphaDropoutOptions {
  double rate = 0.5;            ///< probability of dropping an element, in [0, 1)
  Mode mode = Mode::Inference;  ///< Inference: the identity
};

/// Train: keep = u < 1 - rate with u uniform of noise_shape; out = keep ? x / (1 - rate) : 0,
/// state {"key": new key}. Inference: x and an empty state.
StatefulOutput dropout(const Tensor& x, const Tensor& key, const DropoutOptions& opts = {});

/// dropout of whole feature maps: the mask has shape {N, C, 1, ...} (channels first) or
/// {N, 1, ..., C} (last), as torch's dropout2d/3d. x needs rank >= 3.
StatefulOutput spatial_dropout(const Tensor& x, const Tensor& key,
                               const SpatialDropoutOptions& opts = {});

/// Alpha dropout for SELU networks, Axon's formula: alpha' = -1.6733 * 1.0507,
/// a = 1 / sqrt((1 - rate) * alpha'^2), b = -a * alpha' * rate, out = a * (keep ? x : alpha') + b.
StatefulOutput alpha_dropout(const Tensor& x, const Tensor& key,
                             const AlphaDropoutOptions& opts = {});

/// Axon's feature alpha dropout: the mask of spatial_dropout; kept elements are x / (1 - rate),
/// dropped ones -selu(x). x needs rank >= 3.
StatefulOutput feature_alpha_dropout(const Tensor& x, const Tensor& key,
                                     const FeatureAlphaDropoutOptions& opts = {});

}  // namespace axon::fn
