// Convolution layers of axon::fn (Axon.Layers.conv, conv_transpose, depthwise_conv,
// separable_conv2d/3d) for 1, 2 and 3 spatial axes: pure compositions of nx::conv, so they run
// eagerly, trace under nx::jit and differentiate under nx::grad.
//
//   // channels last (Axon's default): input [N, H, W, C], kernel [kh, kw, C / groups, O]
//   nx::Tensor y = axon::fn::conv(x, k, b, {.strides = {2}, .padding = nx::Padding::same()});
//   // channels first (PyTorch's layout): input [N, C, H, W], kernel [O, C / groups, kh, kw]
//   nx::Tensor z = axon::fn::conv(x, k, {}, {.padding = nx::Padding::explicit_pairs({{1, 1},
//                                 {1, 1}}), .channels = axon::fn::Channels::First});
//
// Kernel layouts follow Axon: channels Last -> {k1..kn, in / groups, out}; channels First ->
// {out, in / groups, k1..kn}, which is torch.nn.functional.conv*d's weight. A bias is a scalar
// or a vector {out}, added along the channel axis; pass `{}` for none.
//
// conv_transpose keeps Axon's convention (a convolution of the stride-dilated input with the
// kernel as given, not flipped). A PyTorch ConvTranspose weight {in, out, k..} and its
// padding/output_padding convert exactly with conv_transpose_kernel_from_torch and
// conv_transpose_padding_from_torch (docs/axon-fn-conv.md derives the relation):
//   auto y = axon::fn::conv_transpose(x, axon::fn::conv_transpose_kernel_from_torch(w, First), b,
//       {.strides = {2}, .padding = axon::fn::conv_transpose_padding_from_torch({3, 3}, {1},
//        {1}), .channels = axon::fn::Channels::First});   // == F.conv_transpose2d(x, w, b, 2, 1,
//        1)
#pragma once

#include <optional>

#include "axon/fn/common.hpp"
#include "nx/ops/conv.hpp"

namespace axon::fn {

/// Options of conv (Axon's names and defaults). Sizes: empty = 1, one value = every axis.
struct ConvOptions {
  Sizes strides{};                             ///< window strides (default 1)
  nx::Padding padding = nx::Padding::valid();  ///< valid, same (as Nx) or explicit {lo, hi}
  Sizes input_dilation{};                      ///< zeros inserted between input elements (1)
  Sizes kernel_dilation{};                     ///< atrous dilation of the kernel (1)
  int64_t feature_group_size = 1;              ///< grouped convolution: channels split in groups
  int64_t batch_group_size = 1;        ///< batch split in groups, one per group of output features
  Channels channels = Channels::Last;  ///< where the channel axis of input and output is
};

/// N-D convolution (N = input rank - 2, 1 to 3) of input and kernel, plus bias.
Tensor conv(const Tensor& input, const Tensor& kernel, const std::optional<Tensor>& bias = {},
            const ConvOptions& opts = {});

/// Options of conv_transpose (Axon's names and defaults).
struct ConvTransposeOptions {
  Sizes strides{};  ///< upsampling factors: the input is dilated by them (default 1)
  /// valid: output in*s + max(k'-s, 0); same: output in*s (k' = dilated kernel size); explicit
  /// pairs are passed to the underlying convolution unchanged.
  nx::Padding padding = nx::Padding::valid();
  Sizes kernel_dilation{};  ///< atrous dilation of the kernel (1)
  Channels channels = Channels::Last;
};

/// Transposed convolution as Axon: conv with strides 1, input_dilation = strides and padding
/// computed from `padding`; the kernel (conv's layout, groups 1) is not flipped.
Tensor conv_transpose(const Tensor& input, const Tensor& kernel,
                      const std::optional<Tensor>& bias = {},
                      const ConvTransposeOptions& opts = {});

/// The conv_transpose kernel that reproduces a PyTorch ConvTranspose weight {in, out, k1..kn}
/// (groups 1): spatially reversed, in/out swapped, laid out for `channels`.
Tensor conv_transpose_kernel_from_torch(const Tensor& weight, Channels channels);

/// The explicit conv_transpose padding that reproduces PyTorch's (kernel sizes, padding,
/// output_padding, dilation): per axis {d(k-1) - p, d(k-1) - p + output_padding}.
nx::Padding conv_transpose_padding_from_torch(const Sizes& kernel_size, const Sizes& padding,
                                              const Sizes& output_padding = {},
                                              const Sizes& dilation = {});

/// Options of depthwise_conv and the separable convolutions (conv's, without groups).
struct DepthwiseConvOptions {
  Sizes strides{};
  nx::Padding padding = nx::Padding::valid();
  Sizes input_dilation{};
  Sizes kernel_dilation{};
  Channels channels = Channels::Last;
};

/// conv with feature_group_size = input channels C: kernel {k.., 1, C*m} (Last) or
/// {C*m, 1, k..} (First) gives C*m output channels, m per input channel.
Tensor depthwise_conv(const Tensor& input, const Tensor& kernel,
                      const std::optional<Tensor>& bias = {},
                      const DepthwiseConvOptions& opts = {});

/// Two depthwise convolutions of a rank-4 input, each with the same options (so strides apply
/// twice), with per-axis kernels: Last {k0, 1, 1, C*m} then {1, k1, 1, C*m}.
Tensor separable_conv2d(const Tensor& input, const Tensor& kernel1,
                        const std::optional<Tensor>& bias1, const Tensor& kernel2,
                        const std::optional<Tensor>& bias2, const DepthwiseConvOptions& opts = {});

/// Three depthwise convolutions of a rank-5 input, each with the same options, with kernels
/// Last {k0, 1, 1, 1, C*m}, {1, k1, 1, 1, C*m}, {1, 1, k2, 1, C*m}.
Tensor separable_conv3d(const Tensor& input, const Tensor& kernel1,
                        const std::optional<Tensor>& bias1, const Tensor& kernel2,
                        const std::optional<Tensor>& bias2, const Tensor& kernel3,
                        const std::optional<Tensor>& bias3, const DepthwiseConvOptions& opts = {});

}  // namespace axon::fn
