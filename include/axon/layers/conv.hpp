// Convolution layers: conv, conv_transpose, depthwise_conv, separable_conv2d and
// separable_conv3d (Axon.conv, ...), with Axon's options and defaults, for inputs with 1 to 3
// spatial axes, channels last (Axon's default) or first.
//
//   auto x = axon::input("image", {axon::kDynamic, 28, 28, 1});
//   auto h = axon::conv(x, 32, {.kernel_size = {3}, .padding = nx::Padding::same(),
//                               .activation = "relu"});      // conv_0 then relu_0
//   h = axon::depthwise_conv(h, 2, {.kernel_size = {3}});    // 64 channels
//   auto up = axon::conv_transpose(h, 16, {.kernel_size = {2}, .strides = {2}});
//
// Parameters (k.. = kernel_size per spatial axis, C = input channels, m = channel multiplier):
//   conv            kernel Last {k.., C / groups, units}, First {units, C / groups, k..};
//                   bias {units}
//   conv_transpose  kernel Last {k.., C, units}, First {units, C, k..}; bias {units}
//   depthwise_conv  kernel Last {k.., 1, C m}, First {C m, 1, k..}; bias {C m}
//   separable_conv2d kernel_1 Last {k0, 1, 1, C m}, kernel_2 {1, k1, 1, C m} (First: the
//                   depthwise First layout), bias_1, bias_2 {C m}
//   separable_conv3d kernel_1..3 Last {k0, 1, 1, 1, C m}, {1, k1, 1, 1, C m}, {1, 1, k2, 1, C m},
//                   bias_1..3 {C m}
// The computation is axon::fn's (axon/fn/conv.hpp), which documents the semantics; an input of
// the wrong rank fails at init with a message naming the layer.
#pragma once

#include <cstdint>
#include "axon/source_location.hpp"
#include <string>

#include "axon/fn/common.hpp"
#include "axon/fn/initializers.hpp"
#include "axon/model.hpp"
#include "nx/ops/conv.hpp"

namespace axon {

/// Options of conv. Sizes: empty = 1, one value = every spatial axis, else one per axis.
struct ConvOptions {
  std::string name = {};
  fn::Sizes kernel_size{};                     ///< window size (default 1)
  fn::Sizes strides{};                         ///< window strides (default 1)
  nx::Padding padding = nx::Padding::valid();  ///< valid, same or explicit {lo, hi} per axis
  fn::Sizes input_dilation{};                  ///< zeros inserted between input elements (1)
  fn::Sizes kernel_dilation{};                 ///< atrous dilation of the kernel (1)
  int64_t feature_group_size = 1;              ///< grouped convolution (divides C)
  fn::Channels channels = fn::Channels::Last;
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
  std::string activation = {};  ///< appended as its own node when set
};
/// An N-D convolution (N = input rank - 2, 1 to 3) to `units` output channels.
Model conv(const Model& x, int64_t units, ConvOptions opts = {},
           SourceLocation where = SourceLocation::current());

/// Options of conv_transpose (conv's, without input dilation and groups).
struct ConvTransposeOptions {
  std::string name = {};
  fn::Sizes kernel_size{};                     ///< window size (default 1)
  fn::Sizes strides{};                         ///< upsampling factors (default 1)
  nx::Padding padding = nx::Padding::valid();  ///< valid, same or explicit (fn::conv_transpose)
  fn::Sizes kernel_dilation{};                 ///< atrous dilation of the kernel (1)
  fn::Channels channels = fn::Channels::Last;
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
  std::string activation = {};  ///< appended as its own node when set
};
/// A transposed convolution to `units` output channels, as Axon's (the kernel is not flipped).
Model conv_transpose(const Model& x, int64_t units, ConvTransposeOptions opts = {},
                     SourceLocation where = SourceLocation::current());

/// Options of depthwise_conv, separable_conv2d and separable_conv3d (conv's, without groups).
struct DepthwiseConvOptions {
  std::string name = {};
  fn::Sizes kernel_size{};  ///< window size (default 1)
  fn::Sizes strides{};      ///< window strides (default 1); separable convs apply them per pass
  nx::Padding padding = nx::Padding::valid();
  fn::Sizes input_dilation{};
  fn::Sizes kernel_dilation{};
  fn::Channels channels = fn::Channels::Last;
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
  std::string activation = {};  ///< appended as its own node when set
};
/// A convolution of each input channel on its own, `channel_multiplier` outputs per channel.
Model depthwise_conv(const Model& x, int64_t channel_multiplier, DepthwiseConvOptions opts = {},
                     SourceLocation where = SourceLocation::current());
/// Two depthwise convolutions of a rank-4 input, one per spatial axis (Axon.separable_conv2d).
Model separable_conv2d(const Model& x, int64_t channel_multiplier, DepthwiseConvOptions opts = {},
                       SourceLocation where = SourceLocation::current());
/// Three depthwise convolutions of a rank-5 input, one per spatial axis.
Model separable_conv3d(const Model& x, int64_t channel_multiplier, DepthwiseConvOptions opts = {},
                       SourceLocation where = SourceLocation::current());

}  // namespace axon
