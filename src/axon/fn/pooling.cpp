// Window pools (max, avg, lp), their adaptive and global forms, and blur pooling: each maps its
// spatial options onto a full-rank nx window (size 1, stride 1 on the batch and channel axes).
#include "axon/fn/pooling.hpp"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "axon/fn/check.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "nx/ops/window.hpp"

namespace axon::fn {

namespace {

using detail::fail;

/// A full-rank window: the spatial options placed on the spatial axes, 1 elsewhere.
struct Window {
  nx::Shape dims;
  nx::WindowOptions opts;
};

std::string list(const Sizes& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

void check_positive(std::string_view fn, std::string_view option, const Sizes& s) {
  for (int64_t v : s) {
    if (v < 1) fail(fn, std::string(option) + " must be >= 1 on every axis, got " + list(s));
  }
}

/// Places per-spatial-axis values into a full-rank vector of 1s.
Sizes full_rank(const Sizes& spatial, const nx::Axes& axes, int64_t rank) {
  Sizes out(static_cast<size_t>(rank), 1);
  for (size_t i = 0; i < axes.size(); ++i) out[static_cast<size_t>(axes[i])] = spatial[i];
  return out;
}

void check_input(std::string_view fn, const Tensor& x) {
  detail::check_min_rank(fn, "input", x, 3);
}

/// The spatial padding option as full-rank padding (valid and same pass through).
nx::Padding full_rank_padding(std::string_view fn, const nx::Padding& p, const nx::Axes& axes,
                              int64_t rank) {
  if (p.kind != nx::Padding::Kind::Explicit) return p;
  const size_t n = axes.size();
  if (p.pairs.size() != 1 && p.pairs.size() != n) {
    fail(fn, "padding needs 1 or " + std::to_string(n) +
                 " {lo, hi} pairs (one per spatial axis), " + "got " +
                 std::to_string(p.pairs.size()));
  }
  std::vector<std::pair<int64_t, int64_t>> pairs(static_cast<size_t>(rank), {0, 0});
  for (size_t i = 0; i < n; ++i) {
    const auto& pr = p.pairs.size() == 1 ? p.pairs[0] : p.pairs[i];
    if (pr.first < 0 || pr.second < 0) {
      fail(fn, "padding must be >= 0, got {" + std::to_string(pr.first) + ", " +
                   std::to_string(pr.second) + "} on spatial axis " + std::to_string(i));
    }
    pairs[static_cast<size_t>(axes[i])] = pr;
  }
  return nx::Padding::explicit_pairs(std::move(pairs));
}

Window pool_window(std::string_view fn, const Tensor& x, const Sizes& kernel_size,
                   const Sizes& strides, const nx::Padding& padding, const Sizes& dilations,
                   Channels channels) {
  check_input(fn, x);
  const int64_t rank = x.rank();
  const nx::Axes axes = detail::spatial_axes(channels, rank);
  const auto n = static_cast<int64_t>(axes.size());
  Sizes k = detail::expand_sizes(fn, "kernel_size", kernel_size, n, 1);
  check_positive(fn, "kernel_size", k);
  Sizes s = strides.empty() ? k : detail::expand_sizes(fn, "strides", strides, n, 1);
  check_positive(fn, "strides", s);
  Sizes d = detail::expand_sizes(fn, "window_dilations", dilations, n, 1);
  check_positive(fn, "window_dilations", d);
  Window w;
  w.dims = full_rank(k, axes, rank);
  w.opts.strides = full_rank(s, axes, rank);
  w.opts.window_dilations = full_rank(d, axes, rank);
  w.opts.padding = full_rank_padding(fn, padding, axes, rank);
  return w;
}

/// Axon's adaptive window: stride = floor(in / out), window = in - (out - 1) * stride.
Window adaptive_window(std::string_view fn, const Tensor& x, const Sizes& output_size,
                       Channels channels) {
  check_input(fn, x);
  const int64_t rank = x.rank();
  const nx::Axes axes = detail::spatial_axes(channels, rank);
  const auto n = static_cast<int64_t>(axes.size());
  Sizes in(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) in[i] = x.shape()[static_cast<size_t>(axes[i])];
  Sizes out = output_size.empty() ? in : detail::expand_sizes(fn, "output_size", output_size, n, 1);
  Sizes k(axes.size()), s(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) {
    if (out[i] < 1 || out[i] > in[i]) {
      fail(fn, "output_size must be between 1 and the input's spatial size " + list(in) +
                   " on every axis (the window rule stride = floor(in / out) needs out <= in), " +
                   "got " + list(out));
    }
    s[i] = in[i] / out[i];
    k[i] = in[i] - (out[i] - 1) * s[i];
  }
  Window w;
  w.dims = full_rank(k, axes, rank);
  w.opts.strides = full_rank(s, axes, rank);
  return w;
}

void check_norm(std::string_view fn, const Tensor& x, double norm) {
  detail::check_float(fn, "input", x);
  if (!(norm > 0) || !std::isfinite(norm)) {
    fail(fn, "norm must be a finite number > 0, got " + std::to_string(norm));
  }
}

/// x^p, with p = 2 as a square (exact, and cheaper than pow).
Tensor power(const Tensor& x, double p) {
  return p == 2 ? nx::square(x) : nx::pow(x, p);
}

/// s^(1/p), with p = 2 as a square root.
Tensor root(const Tensor& s, double p) {
  return p == 2 ? nx::sqrt(s) : nx::pow(s, 1.0 / p);
}

bool zero_padding(const nx::Padding& p) {
  if (p.kind == nx::Padding::Kind::Valid) return true;
  if (p.kind == nx::Padding::Kind::Same) return false;
  for (const auto& [lo, hi] : p.pairs) {
    if (lo != 0 || hi != 0) return false;
  }
  return true;
}

/// The window sum of x, or of x's tiles when the windows tile the input (stride = window,
/// no dilation, no padding): then each spatial axis [n * k + r] is cut to n * k, split into
/// [n, k] and summed over k, which computes the same sums with a plain reduction and
/// differentiates to a broadcast instead of a strided scatter (faster on CPU).
Tensor window_sum(const Tensor& x, const Window& w) {
  const nx::Shape& shape = x.shape();
  bool tiles = nx::is_float(x.dtype()) && zero_padding(w.opts.padding);
  nx::Shape split, lengths(shape);
  nx::Axes reduce;
  for (size_t a = 0; tiles && a < shape.size(); ++a) {
    const int64_t k = w.dims[a];
    const int64_t d = w.opts.window_dilations.empty() ? 1 : w.opts.window_dilations[a];
    tiles = w.opts.strides[a] == k && (k == 1 || d == 1) && shape[a] >= k;
    if (!tiles || k == 1) {
      split.push_back(shape[a]);
      continue;
    }
    lengths[a] = shape[a] / k * k;
    split.push_back(shape[a] / k);
    split.push_back(k);
    reduce.push_back(static_cast<int64_t>(split.size()) - 1);
  }
  if (!tiles) return nx::window_sum(x, w.dims, w.opts);
  const Tensor cut = lengths == shape ? x : nx::slice(x, nx::Shape(shape.size(), 0), lengths);
  return reduce.empty() ? x : nx::sum(nx::reshape(cut, split), {.axes = reduce});
}

Tensor window_mean(const Tensor& x, const Window& w) {
  return nx::divide(window_sum(x, w), static_cast<double>(nx::num_elements(w.dims)));
}

Tensor lp_window(const Tensor& x, const Window& w, double norm) {
  return root(window_sum(power(x, norm), w), norm);
}

}  // namespace

Tensor max_pool(const Tensor& x, const PoolOptions& o) {
  Window w = pool_window("max_pool", x, o.kernel_size, o.strides, o.padding, o.window_dilations,
                         o.channels);
  return nx::window_max(x, w.dims, w.opts);
}

Tensor avg_pool(const Tensor& x, const PoolOptions& o) {
  Window w = pool_window("avg_pool", x, o.kernel_size, o.strides, o.padding, o.window_dilations,
                         o.channels);
  return window_mean(x, w);
}

Tensor lp_pool(const Tensor& x, const LpPoolOptions& o) {
  Window w = pool_window("lp_pool", x, o.kernel_size, o.strides, o.padding, o.window_dilations,
                         o.channels);
  check_norm("lp_pool", x, o.norm);
  return lp_window(x, w, o.norm);
}

Tensor adaptive_avg_pool(const Tensor& x, const AdaptivePoolOptions& o) {
  Window w = adaptive_window("adaptive_avg_pool", x, o.output_size, o.channels);
  return window_mean(x, w);
}

Tensor adaptive_max_pool(const Tensor& x, const AdaptivePoolOptions& o) {
  Window w = adaptive_window("adaptive_max_pool", x, o.output_size, o.channels);
  return nx::window_max(x, w.dims, w.opts);
}

Tensor adaptive_lp_pool(const Tensor& x, const AdaptiveLpPoolOptions& o) {
  Window w = adaptive_window("adaptive_lp_pool", x, o.output_size, o.channels);
  check_norm("adaptive_lp_pool", x, o.norm);
  return lp_window(x, w, o.norm);
}

Tensor global_avg_pool(const Tensor& x, const GlobalPoolOptions& o) {
  check_input("global_avg_pool", x);
  return nx::mean(x,
                  {.axes = detail::spatial_axes(o.channels, x.rank()), .keep_axes = o.keep_axes});
}

Tensor global_max_pool(const Tensor& x, const GlobalPoolOptions& o) {
  check_input("global_max_pool", x);
  return nx::reduce_max(
      x, {.axes = detail::spatial_axes(o.channels, x.rank()), .keep_axes = o.keep_axes});
}

Tensor global_lp_pool(const Tensor& x, const GlobalLpPoolOptions& o) {
  check_input("global_lp_pool", x);
  check_norm("global_lp_pool", x, o.norm);
  Tensor s = nx::sum(power(x, o.norm), {.axes = detail::spatial_axes(o.channels, x.rank()),
                                        .keep_axes = o.keep_axes});
  return root(s, o.norm);
}

Tensor blur_pool(const Tensor& x, const BlurPoolOptions& o) {
  detail::check_rank("blur_pool", "input", x, 4);
  const int64_t c = x.axis_size(detail::channel_axis(o.channels, 4));
  // The binomial filter, one copy per channel: a depthwise [C, 1, 3, 3] kernel.
  static const std::vector<float> kTaps = {1, 2, 1, 2, 4, 2, 1, 2, 1};
  std::vector<float> taps;
  taps.reserve(static_cast<size_t>(c) * 9);
  for (int64_t i = 0; i < c; ++i) {
    for (float t : kTaps) taps.push_back(t / 16.0f);
  }
  Tensor kernel = nx::from_vector(taps, nx::Shape{c, 1, 3, 3});
  if (nx::is_float(x.dtype())) kernel = nx::as_type(kernel, x.dtype());
  nx::ConvOptions co{.padding = nx::Padding::explicit_pairs({{1, 1}, {1, 1}}),
                     .feature_group_size = c};
  if (o.channels == Channels::Last) {
    co.input_permutation = {0, 3, 1, 2};
    co.output_permutation = {0, 3, 1, 2};
  }
  return nx::conv(x, kernel, co);
}

}  // namespace axon::fn
