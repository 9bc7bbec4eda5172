// Sliding-window reductions (pooling) and their scatter counterparts.
#pragma once

#include <vector>

#include "nx/ops/conv.hpp"
#include "nx/tensor.hpp"

namespace nx {

/// Options of the window ops. Empty vectors mean 1 on every axis. Padding must be >= 0 (as in
/// Nx); padded positions hold the reduction's identity.
struct WindowOptions {
  std::vector<int64_t> strides{};
  Padding padding{};
  std::vector<int64_t> window_dilations{};
};

/// Sum over each window of size `window` (one entry per axis of x).
Tensor window_sum(const Tensor& x, const Shape& window, const WindowOptions& opts = {});
/// Mean over each window (padding counts as zeros in the sum and in the count, as Nx).
Tensor window_mean(const Tensor& x, const Shape& window, const WindowOptions& opts = {});
/// Product over each window.
Tensor window_product(const Tensor& x, const Shape& window, const WindowOptions& opts = {});
/// Maximum over each window (padding never wins).
Tensor window_max(const Tensor& x, const Shape& window, const WindowOptions& opts = {});
/// Minimum over each window (padding never wins).
Tensor window_min(const Tensor& x, const Shape& window, const WindowOptions& opts = {});
/// Scatters each source element to the position of its window's maximum, adding on
/// collisions, into a tensor of x's shape filled with init (Nx.window_scatter_max).
Tensor window_scatter_max(const Tensor& x, const Tensor& source, const Tensor& init,
                          const Shape& window, const WindowOptions& opts = {});
/// As window_scatter_max, at each window's minimum.
Tensor window_scatter_min(const Tensor& x, const Tensor& source, const Tensor& init,
                          const Shape& window, const WindowOptions& opts = {});

}  // namespace nx
