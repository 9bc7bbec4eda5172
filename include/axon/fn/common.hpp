// Types shared by every part of axon::fn, Axon's functional API: pure functions over nx::Tensor
// that run eagerly, trace under nx::jit and differentiate under nx::grad with no extra code.
//
// Conventions, so that every function reads the same way:
//  - Options are aggregate structs with Axon's option names and defaults, passed last:
//      axon::fn::conv(x, k, b, {.strides = {2}, .padding = nx::Padding::same()});
//  - Spatial sizes (kernel sizes, strides, dilations) are `Sizes`: empty means the default,
//    one value applies to every spatial axis, otherwise one value per spatial axis.
//  - Channels are last by default (Axon's `channels: :last`); `Channels::First` is PyTorch's
//    layout. Normalisations name their channel axis with `channel_index` (default -1).
//  - Functions that behave differently while training take a Mode (default Inference). In
//    Train mode those that update state return a StatefulOutput: the output and the new state
//    (batch-norm statistics "mean"/"var", dropout "key"), as Axon's StatefulOutput.
//  - Bad input throws nx::Error naming the function, e.g.
//      "axon::fn::conv: input must have rank kernel rank (4), got f32[8][32]".
#pragma once

#include <cstdint>
#include <vector>

#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace axon::fn {

using nx::Tensor;

/// Whether a layer runs for inference (the default) or training.
enum class Mode { Inference, Train };

/// Where the channel axis of a spatial input is: after the spatial axes ([N, ..., C], Axon's
/// default) or before them ([N, C, ...], PyTorch's layout).
enum class Channels { Last, First };

/// Spatial sizes: empty = the option's default; one value = that value on every spatial axis;
/// otherwise one value per spatial axis.
using Sizes = std::vector<int64_t>;

/// What a stateful layer returns in Train mode: its output and the new values of its state
/// (e.g. {"mean": ..., "var": ...} for batch norm, {"key": ...} for dropout).
struct StatefulOutput {
  Tensor output;
  nx::Tree state;
};

}  // namespace axon::fn
