// Dropout layers (Axon.dropout, spatial_dropout, alpha_dropout, feature_alpha_dropout), with
// Axon's options and defaults. Each is a train-only node: in inference it passes its input
// through (Axon removes it from the graph); in train mode it draws its mask from its "key"
// State parameter and returns the next key as its state update.
//
//   auto h = axon::dropout(axon::dense(x, 128), {.rate = 0.2});
//   auto [init_fn, predict_fn] = axon::build(h, {.mode = axon::Mode::Train});
//   nx::Tree r = predict_fn(state, batch);       // r["state"]["dropout_0"]["key"]: next key
//   state = state.update(state.trainable_parameters(), r["state"]);
//
// Parameter: key, u32 {2}, kind State. With `seed` set it starts as nx::random::key(seed), as
// Axon's. Axon's default seed is the system time; ours is the key init gives the parameter
// (derived from BuildOptions::seed and the layer's name), so a model initialises the same way
// every time and two dropout layers never share a mask.
#pragma once

#include <cstdint>
#include <optional>
#include "axon/source_location.hpp"
#include <string>

#include "axon/fn/common.hpp"
#include "axon/model.hpp"

namespace axon {

/// Options of dropout and alpha_dropout.
struct DropoutOptions {
  std::string name = {};
  double rate = 0.5;                 ///< probability of dropping an element, in [0, 1)
  std::optional<int64_t> seed = {};  ///< the first key's seed; unset: derived at init
};
/// Options of spatial_dropout and feature_alpha_dropout (whole channels are dropped).
struct SpatialDropoutOptions {
  std::string name = {};
  double rate = 0.5;                 ///< probability of dropping a channel, in [0, 1)
  std::optional<int64_t> seed = {};  ///< the first key's seed; unset: derived at init
  fn::Channels channels = fn::Channels::Last;
};

/// Elements zeroed with probability rate, the others scaled by 1 / (1 - rate).
Model dropout(const Model& x, DropoutOptions opts = {},
              SourceLocation where = SourceLocation::current());
/// Dropout of whole feature maps (input rank >= 3).
Model spatial_dropout(const Model& x, SpatialDropoutOptions opts = {},
                      SourceLocation where = SourceLocation::current());
/// Alpha dropout for SELU networks (Axon's formula, fn::alpha_dropout).
Model alpha_dropout(const Model& x, DropoutOptions opts = {},
                    SourceLocation where = SourceLocation::current());
/// Axon's feature alpha dropout: spatial_dropout's mask, dropped elements -selu(x).
Model feature_alpha_dropout(const Model& x, SpatialDropoutOptions opts = {},
                            SourceLocation where = SourceLocation::current());

}  // namespace axon
