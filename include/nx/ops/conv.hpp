// Convolution (Nx.conv): strides, padding, input and kernel dilation, feature and batch groups,
// and layout permutations.
#pragma once

#include <vector>

#include "nx/tensor.hpp"

namespace nx {

/// Padding of a convolution or window op: valid (none); same, as Nx: the (dilated) window size
/// minus one in total, half (rounded down) low and the rest high, whatever the stride, so that
/// the output has ceil(in / stride) elements; or explicit {lo, hi} per axis.
struct Padding {
  enum class Kind { Valid, Same, Explicit };
  Kind kind = Kind::Valid;
  std::vector<std::pair<int64_t, int64_t>> pairs{};  ///< for Explicit: {lo, hi} per axis

  static Padding valid() { return {}; }
  static Padding same() { return {Kind::Same, {}}; }
  static Padding explicit_pairs(std::vector<std::pair<int64_t, int64_t>> p) {
    return {Kind::Explicit, std::move(p)};
  }
};

/// Options of conv. Empty vectors mean "1 on every spatial axis" (strides, dilations) or the
/// identity permutation.
struct ConvOptions {
  std::vector<int64_t> strides{};
  Padding padding{};
  std::vector<int64_t> input_dilation{};   ///< dilates the input (transposed convolution)
  std::vector<int64_t> kernel_dilation{};  ///< dilates the kernel (atrous convolution)
  int64_t feature_group_size = 1;        ///< grouped/depthwise: input channels split in groups
  int64_t batch_group_size = 1;          ///< batch groups (used by kernel gradients)
  Axes input_permutation{};   ///< axes of the input that are [batch, channels, spatial...]
  Axes kernel_permutation{};  ///< axes of the kernel that are [out, in, spatial...]
  Axes output_permutation{};  ///< where [batch, channels, spatial...] go in the output
};

/// Convolution of input [N, C, spatial...] with kernel [O, C / groups, spatial...] giving
/// [N, O, spatial...] (after permutations), floating; integer inputs compute in f32.
Tensor conv(const Tensor& input, const Tensor& kernel, const ConvOptions& opts = {});

}  // namespace nx
