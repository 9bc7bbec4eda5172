// axon::fn pooling: window pools, adaptive pools, global pools and blur pooling (Axon.Layers).
//
//   namespace fn = axon::fn;
//   Tensor x = ...;                                   // f32[8][32][32][16], channels last
//   Tensor a = fn::max_pool(x, {.kernel_size = {2}});  // f32[8][16][16][16]: strides = kernel
//   Tensor b = fn::avg_pool(x, {.kernel_size = {3}, .strides = {1},
//                               .padding = nx::Padding::same()});   // f32[8][32][32][16]
//   Tensor c = fn::adaptive_avg_pool(x, {.output_size = {4}});      // f32[8][4][4][16]
//   Tensor d = fn::global_avg_pool(x);                              // f32[8][16]
//   Tensor e = fn::max_pool(nx_first, {.kernel_size = {2}, .channels = fn::Channels::First});
//
// Inputs are [batch, spatial..., channels] (Channels::Last, Axon's default) or
// [batch, channels, spatial...] (Channels::First), with any number (>= 1) of spatial axes;
// pools never mix the batch or channel axes. Every function is a composition of nx window ops
// and reductions, so it runs eagerly, under nx::jit and under nx::grad.
//
// Semantics are Axon's (see docs/axon-fn-pooling.md for the differences from PyTorch):
//  - strides default to the kernel size; padding is valid, same (Nx's rule: the dilated window
//    minus one in total, half rounded down low) or explicit {lo, hi} per spatial axis (>= 0);
//  - avg_pool divides by the full window size: padded zeros count (torch's
//    count_include_pad=True);
//  - lp_pool is (sum x^p)^(1/p) over the window, with no abs (torch's lp_pool on x >= 0);
//  - adaptive pools use stride = floor(in / out) and window = in - (out - 1) * stride, which
//    equals PyTorch's adaptive pools when out divides in and differs otherwise.
#pragma once

#include "axon/fn/common.hpp"
#include "nx/ops/conv.hpp"

namespace axon::fn {

/// Options of max_pool and avg_pool (Axon's names and defaults).
struct PoolOptions {
  Sizes kernel_size{};       ///< window size per spatial axis; empty = 1
  Sizes strides{};           ///< empty = equal to kernel_size (Axon's default)
  nx::Padding padding{};     ///< valid (default), same, or explicit {lo, hi}: 1 or per axis
  Sizes window_dilations{};  ///< spacing of window taps; empty = 1
  Channels channels = Channels::Last;
};

/// Options of lp_pool: PoolOptions plus the power p.
struct LpPoolOptions {
  Sizes kernel_size{};       ///< window size per spatial axis; empty = 1
  Sizes strides{};           ///< empty = equal to kernel_size
  nx::Padding padding{};     ///< valid (default), same, or explicit {lo, hi}: 1 or per axis
  Sizes window_dilations{};  ///< spacing of window taps; empty = 1
  Channels channels = Channels::Last;
  double norm = 2;  ///< p of (sum x^p)^(1/p)
};

/// Options of adaptive_avg_pool and adaptive_max_pool.
struct AdaptivePoolOptions {
  Sizes output_size{};  ///< spatial output size; empty = the input's (one value = every axis)
  Channels channels = Channels::Last;
};

/// Options of adaptive_lp_pool.
struct AdaptiveLpPoolOptions {
  Sizes output_size{};  ///< spatial output size; empty = the input's (one value = every axis)
  Channels channels = Channels::Last;
  double norm = 2;  ///< p of (sum x^p)^(1/p)
};

/// Options of global_avg_pool and global_max_pool.
struct GlobalPoolOptions {
  bool keep_axes = false;  ///< keep the spatial axes as size 1
  Channels channels = Channels::Last;
};

/// Options of global_lp_pool.
struct GlobalLpPoolOptions {
  bool keep_axes = false;  ///< keep the spatial axes as size 1
  Channels channels = Channels::Last;
  double norm = 2;  ///< p of (sum x^p)^(1/p)
};

/// Options of blur_pool.
struct BlurPoolOptions {
  Channels channels = Channels::Last;
};

/// Maximum over each window (padding never wins) (Axon.Layers.max_pool).
Tensor max_pool(const Tensor& x, const PoolOptions& opts = {});
/// Mean over each window, padded zeros included in the count (Axon.Layers.avg_pool); floating.
Tensor avg_pool(const Tensor& x, const PoolOptions& opts = {});
/// (sum over each window of x^norm)^(1/norm) (Axon.Layers.lp_pool); x must be floating.
Tensor lp_pool(const Tensor& x, const LpPoolOptions& opts = {});

/// avg_pool with the window and stride that give `output_size` (Axon.Layers.adaptive_avg_pool).
Tensor adaptive_avg_pool(const Tensor& x, const AdaptivePoolOptions& opts = {});
/// max_pool with the window and stride that give `output_size` (Axon.Layers.adaptive_max_pool).
Tensor adaptive_max_pool(const Tensor& x, const AdaptivePoolOptions& opts = {});
/// lp_pool with the window and stride that give `output_size` (Axon.Layers.adaptive_lp_pool).
Tensor adaptive_lp_pool(const Tensor& x, const AdaptiveLpPoolOptions& opts = {});

/// Mean over all spatial axes: [N, C] (Axon.Layers.global_avg_pool); floating.
Tensor global_avg_pool(const Tensor& x, const GlobalPoolOptions& opts = {});
/// Maximum over all spatial axes: [N, C] (Axon.Layers.global_max_pool).
Tensor global_max_pool(const Tensor& x, const GlobalPoolOptions& opts = {});
/// (sum over all spatial axes of x^norm)^(1/norm): [N, C] (Axon.Layers.global_lp_pool).
Tensor global_lp_pool(const Tensor& x, const GlobalLpPoolOptions& opts = {});

/// Blurs each channel of a rank-4 input with the 3x3 binomial filter [1 2 1]^T [1 2 1] / 16,
/// zero padding 1, stride 1: the output has the input's shape (Axon.Layers.blur_pool; it does
/// not subsample, unlike antialiased-CNN's BlurPool).
Tensor blur_pool(const Tensor& x, const BlurPoolOptions& opts = {});

}  // namespace axon::fn
