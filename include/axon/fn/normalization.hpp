// Normalisation layers (Axon.Layers.batch_norm, instance_norm, layer_norm, group_norm,
// rms_norm) as pure functions of nx tensors.
//
//   // x: f32[32][64][56][56] in PyTorch's layout; gamma, beta, mean, var: f32[64].
//   auto [y, state] = axon::fn::batch_norm(x, gamma, beta, mean, var,
//                                          {.channel_index = 1, .mode = axon::fn::Mode::Train});
//   // y is normalised with the batch statistics; state["mean"], state["var"] are the updated
//   // running statistics, exactly as torch.nn.BatchNorm2d updates its buffers.
//   auto z = axon::fn::layer_norm(h, ln_gamma, ln_beta);                 // over the last axis
//   auto g = axon::fn::group_norm(x, gamma, beta, {.num_groups = 8, .channel_index = 1});
//   auto r = axon::fn::rms_norm(h, rms_gamma, {.upcast = axon::fn::RmsUpcast::All});
//
// Every parameter (gamma, beta, running mean and var) is a vector with one value per channel,
// the size of axis `channel_index` of x. Statistics use the biased variance, as Axon and PyTorch
// normalise. The running statistics follow PyTorch, not Axon (docs/axon-fn-normalization.md):
//   new_mean = (1 - momentum) * mean + momentum * batch_mean
//   new_var  = (1 - momentum) * var  + momentum * batch_var * n / (n - 1)   (unbiased)
// so momentum 0.1 keeps 90% of the old value and statistics move to and from PyTorch unchanged.
#pragma once

#include <cstdint>

#include "axon/fn/common.hpp"

namespace axon::fn {

/// Options of batch_norm and instance_norm.
struct BatchNormOptions {
  double epsilon = 1e-5;       ///< added to the variance before the square root
  int64_t channel_index = -1;  ///< the channel axis of x (negative from the end)
  double momentum = 0.1;       ///< weight of the batch statistic in the running average (PyTorch's)
  Mode mode = Mode::Inference;  ///< Train: batch statistics and new running ones
};
/// Options of instance_norm (the same as batch_norm's).
using InstanceNormOptions = BatchNormOptions;

/// Options of layer_norm.
struct LayerNormOptions {
  double epsilon = 1e-5;       ///< added to the variance before the square root
  int64_t channel_index = -1;  ///< the one axis normalised over (negative from the end)
};

/// Options of group_norm.
struct GroupNormOptions {
  int64_t num_groups = 0;      ///< groups the channels are split into; required (> 0, divides C)
  double epsilon = 1e-5;       ///< added to the variance before the square root
  int64_t channel_index = -1;  ///< the channel axis of x (negative from the end)
};

/// Which part of rms_norm runs in f32 (Axon's :upcast).
enum class RmsUpcast {
  Normalization,  ///< x / rms(x) in f32, cast back to x's type, then scaled by shift + gamma
  All,            ///< everything in f32 (the result is f32)
};

/// Options of rms_norm.
struct RmsNormOptions {
  double epsilon = 1e-6;                        ///< added to mean(x^2) before the square root
  int64_t channel_index = -1;                   ///< the axis normalised over
  double shift = 0.0;                           ///< added to gamma before scaling
  RmsUpcast upcast = RmsUpcast::Normalization;  ///< which part runs in f32
};

/// Batch normalisation over every axis but the channel axis:
/// gamma * (x - mean) / sqrt(var + epsilon) + beta. Inference: the running `mean` and `var`,
/// empty state. Train: the batch statistics, state {"mean", "var"} updated as PyTorch does.
/// x needs rank >= 2 and a float dtype; gamma, beta, mean, var are vectors of C values.
StatefulOutput batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                          const Tensor& mean, const Tensor& var, const BatchNormOptions& opts = {});

/// Instance normalisation: as batch_norm, but the statistics are per sample and channel (over
/// the spatial axes; x needs rank >= 3). Train returns running statistics averaged over the
/// batch, as torch.nn.functional.instance_norm updates them.
StatefulOutput instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                             const Tensor& mean, const Tensor& var,
                             const InstanceNormOptions& opts = {});

/// Layer normalisation over the single axis `channel_index`:
/// gamma * (x - mean) / sqrt(var + epsilon) + beta, gamma and beta of that axis' size.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const LayerNormOptions& opts = {});

/// Group normalisation: the C channels are split into num_groups groups of C / num_groups;
/// each (sample, group) is normalised over its channels and every other non-batch axis, then
/// scaled by gamma and shifted by beta per channel. x needs rank >= 2, channel axis not 0.
Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const GroupNormOptions& opts);

/// RMS normalisation: x / sqrt(mean(x^2 over channel_index) + epsilon) * (shift + gamma).
Tensor rms_norm(const Tensor& x, const Tensor& gamma, const RmsNormOptions& opts = {});

}  // namespace axon::fn
