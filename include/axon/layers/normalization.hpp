// Normalisation layers (Axon.batch_norm, instance_norm, layer_norm, group_norm, rms_norm), with
// Axon's options and defaults.
//
//   auto h = axon::conv(x, 64, {.kernel_size = {3}});
//   h = axon::batch_norm(h);                     // channels last: channel_index -1
//   auto [init_fn, predict_fn] = axon::build(h, {.mode = axon::Mode::Train});
//   nx::Tree r = predict_fn(state, images);      // {prediction, state}
//   state = state.update(state.trainable_parameters(), r["state"]);  // new running mean/var
//
// Parameters are vectors of C values, C the size of axis `channel_index` of the input:
//   batch_norm, instance_norm  gamma, beta; mean (zeros) and var (ones) of kind State
//   layer_norm, group_norm     gamma, beta
//   rms_norm                   gamma
// gamma's default initializer is Axon's: glorot_uniform for batch, instance and layer norm
// (uniform in +-sqrt(3 / C)), ones for group and RMS norm. In train mode batch and instance norm
// normalise with the batch statistics and return new running statistics, with momentum as
// PyTorch's (new = (1 - momentum) old + momentum batch; see axon/fn/normalization.hpp).
#pragma once

#include <cstdint>
#include "axon/source_location.hpp"
#include <string>

#include "axon/fn/initializers.hpp"
#include "axon/fn/normalization.hpp"
#include "axon/model.hpp"

namespace axon {

/// Options of batch_norm and instance_norm.
struct BatchNormOptions {
  std::string name = {};
  fn::init::Initializer gamma_initializer = fn::init::glorot_uniform();  ///< Axon's default
  fn::init::Initializer beta_initializer = fn::init::zeros();
  int64_t channel_index = -1;  ///< the channel axis (negative from the end)
  double epsilon = 1e-5;       ///< added to the variance before the square root
  double momentum = 0.1;       ///< weight of the batch statistic in the running average
};
/// Options of instance_norm (batch_norm's).
using InstanceNormOptions = BatchNormOptions;

/// Batch normalisation: running statistics in inference, batch statistics (and new running
/// ones) in train mode.
Model batch_norm(const Model& x, BatchNormOptions opts = {},
                 SourceLocation where = SourceLocation::current());
/// Instance normalisation: statistics per sample and channel over the spatial axes.
Model instance_norm(const Model& x, InstanceNormOptions opts = {},
                    SourceLocation where = SourceLocation::current());

/// Options of layer_norm.
struct LayerNormOptions {
  std::string name = {};
  fn::init::Initializer gamma_initializer = fn::init::glorot_uniform();  ///< Axon's default
  fn::init::Initializer beta_initializer = fn::init::zeros();
  int64_t channel_index = -1;  ///< the one axis normalised over
  double epsilon = 1e-5;
};
/// Layer normalisation over the axis channel_index.
Model layer_norm(const Model& x, LayerNormOptions opts = {},
                 SourceLocation where = SourceLocation::current());

/// Options of group_norm.
struct GroupNormOptions {
  std::string name = {};
  fn::init::Initializer gamma_initializer = fn::init::ones();
  fn::init::Initializer beta_initializer = fn::init::zeros();
  int64_t channel_index = -1;  ///< the channel axis
  double epsilon = 1e-5;
};
/// Group normalisation: the channels split into num_groups groups (num_groups divides C).
Model group_norm(const Model& x, int64_t num_groups, GroupNormOptions opts = {},
                 SourceLocation where = SourceLocation::current());

/// Options of rms_norm.
struct RmsNormOptions {
  std::string name = {};
  fn::init::Initializer gamma_initializer = fn::init::ones();
  int64_t channel_index = -1;  ///< the axis normalised over
  double epsilon = 1e-6;
  double shift = 0.0;                                   ///< added to gamma before scaling
  fn::RmsUpcast upcast = fn::RmsUpcast::Normalization;  ///< which part runs in f32
};
/// RMS normalisation: x / sqrt(mean(x^2) + epsilon) * (shift + gamma).
Model rms_norm(const Model& x, RmsNormOptions opts = {},
               SourceLocation where = SourceLocation::current());

}  // namespace axon
