// axon::fn resize: image (and volume, and signal) resizing, as Axon.Layers.resize and
// jax.image.resize.
//
//   namespace fn = axon::fn;
//   Tensor x = ...;                                                  // f32[8][32][32][3]
//   Tensor a = fn::resize(x, {64, 48});                              // nearest: f32[8][64][48][3]
//   Tensor b = fn::resize(x, {16, 16}, {.method = fn::ResizeMethod::Bilinear});  // antialiased
//   Tensor c = fn::resize(nchw, {64, 64}, {.method = fn::ResizeMethod::Lanczos3,
//                                          .channels = fn::Channels::First});
//
// The input is [batch, spatial..., channels] (or [batch, channels, spatial...] with
// Channels::First) with any number (>= 1) of spatial axes; Axon accepts rank 4 only, this
// accepts every rank >= 3 because the method is separable. Each spatial axis whose size changes
// is resized on its own, with Axon's (jax.image.resize's) rule:
//  - Nearest: out[j] = in[floor((j + 0.5) * in / out)] (computed exactly in integers);
//  - kernel methods: out[j] = sum_i w[i, j] in[i] with sample_j = (j + 0.5) * in / out - 0.5,
//    w[i, j] = kernel(|sample_j - i| / scale), scale = max(1, in / out) when antialias (the
//    kernel widens when downsampling, so it averages instead of aliasing) else 1; each column
//    is normalised to sum 1, and weights whose kernel value is <= 1000 * 2^-23 become 0.
//    Kernels: Bilinear max(0, 1 - x); Bicubic Keys' cubic with a = -0.5; LanczosR (R = 3, 5)
//    R sin(pi x) sin(pi x / R) / (pi x)^2, 1 for x <= 1e-3, 0 for x > R.
// The weights depend only on the sizes, so they are constants made when the call is traced: a
// kernel resize compiles to one matrix product per resized axis, and nearest to one gather.
// The output has the input's dtype (integer inputs are resized in f32 and converted back).
#pragma once

#include "axon/fn/common.hpp"

namespace axon::fn {

/// Interpolation method of resize (Axon's :nearest, :bilinear, :bicubic, :lanczos3, :lanczos5).
enum class ResizeMethod { Nearest, Bilinear, Bicubic, Lanczos3, Lanczos5 };

/// Options of resize (Axon's names and defaults).
struct ResizeOptions {
  ResizeMethod method = ResizeMethod::Nearest;
  bool antialias = true;  ///< widen the kernel when downsampling (kernel methods only)
  Channels channels = Channels::Last;
};

/// x resized to spatial size `size` (one value per spatial axis, or one for all)
/// (Axon.Layers.resize).
Tensor resize(const Tensor& x, const Sizes& size, const ResizeOptions& opts = {});

}  // namespace axon::fn
