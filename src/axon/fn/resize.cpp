// resize: one constant weight matrix (or gather index) per resized spatial axis, computed in
// double when the call is traced, applied as a contraction along that axis.
#include "axon/fn/resize.hpp"

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "axon/fn/check.hpp"
#include "nx/dtype.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn {

namespace {

constexpr double kPi = std::numbers::pi;

double linear_kernel(double x) {
  return std::max(0.0, 1.0 - x);
}

/// Keys' cubic convolution kernel with a = -0.5 (as Axon and jax.image).
double cubic_kernel(double x) {
  if (x >= 2) return 0;
  if (x >= 1) return ((-0.5 * x + 2.5) * x - 4) * x + 2;
  return (1.5 * x - 2.5) * x * x + 1;
}

double lanczos_kernel(double radius, double x) {
  if (x > radius) return 0;
  if (x <= 1e-3) return 1;
  return radius * std::sin(kPi * x) * std::sin(kPi * x / radius) / (kPi * kPi * x * x);
}

double kernel_value(ResizeMethod m, double x) {
  switch (m) {
    case ResizeMethod::Bilinear:
      return linear_kernel(x);
    case ResizeMethod::Bicubic:
      return cubic_kernel(x);
    case ResizeMethod::Lanczos3:
      return lanczos_kernel(3, x);
    case ResizeMethod::Lanczos5:
      return lanczos_kernel(5, x);
    case ResizeMethod::Nearest:
      break;
  }
  return 0;
}

/// The [in, out] matrix of a kernel method along one axis (row-major).
std::vector<double> weight_matrix(int64_t in, int64_t out, ResizeMethod m, bool antialias) {
  const double inv_scale = static_cast<double>(in) / static_cast<double>(out);
  const double scale = antialias ? std::max(1.0, inv_scale) : 1.0;
  // Axon zeroes tiny kernel values (<= 1000 f32 epsilons) but normalises by the full sum.
  const double tiny = 1000.0 * std::ldexp(1.0, -23);
  std::vector<double> w(static_cast<size_t>(in * out));
  for (int64_t j = 0; j < out; ++j) {
    const double sample = (static_cast<double>(j) + 0.5) * inv_scale - 0.5;
    double total = 0;
    for (int64_t i = 0; i < in; ++i) {
      const double v = kernel_value(m, std::abs(sample - static_cast<double>(i)) / scale);
      w[static_cast<size_t>(i * out + j)] = v;
      total += v;
    }
    const double divisor = total != 0 ? total : 1.0;
    for (int64_t i = 0; i < in; ++i) {
      double& v = w[static_cast<size_t>(i * out + j)];
      v = std::abs(v) > tiny ? v / divisor : 0.0;
    }
  }
  return w;
}

/// Moves the last axis of a rank-`rank` tensor to position `axis`.
nx::Axes last_to(int64_t axis, int64_t rank) {
  nx::Axes perm;
  for (int64_t a = 0; a < rank - 1; ++a) {
    if (a == axis) perm.push_back(rank - 1);
    perm.push_back(a);
  }
  if (axis == rank - 1) perm.push_back(rank - 1);
  return perm;
}

Tensor resize_nearest(const Tensor& x, int64_t axis, int64_t out) {
  const int64_t in = x.axis_size(axis);
  std::vector<int32_t> idx(static_cast<size_t>(out));
  // floor((j + 0.5) * in / out) in exact integer arithmetic.
  for (int64_t j = 0; j < out; ++j)
    idx[static_cast<size_t>(j)] = static_cast<int32_t>((2 * j + 1) * in / (2 * out));
  return nx::take(x, nx::from_vector(idx), axis);
}

Tensor resize_kernel(const Tensor& x, int64_t axis, int64_t out, ResizeMethod m, bool antialias) {
  const int64_t in = x.axis_size(axis);
  Tensor w = nx::as_type(nx::from_vector(weight_matrix(in, out, m, antialias), nx::Shape{in, out}),
                         x.dtype());
  Tensor y = nx::dot(x, {axis}, w, {0});
  return axis == x.rank() - 1 ? y : nx::transpose(y, last_to(axis, x.rank()));
}

}  // namespace

Tensor resize(const Tensor& x, const Sizes& size, const ResizeOptions& opts) {
  detail::check_min_rank("resize", "input", x, 3);
  const nx::Axes axes = detail::spatial_axes(opts.channels, x.rank());
  const auto n = static_cast<int64_t>(axes.size());
  if (size.empty()) {
    detail::fail("resize", "size needs 1 or " + std::to_string(n) +
                               " values (one per spatial axis), got none");
  }
  const Sizes out = detail::expand_sizes("resize", "size", size, n, 1);
  for (int64_t s : out) {
    if (s < 1) detail::fail("resize", "size must be >= 1 on every axis, got " + std::to_string(s));
  }
  const bool nearest = opts.method == ResizeMethod::Nearest;
  const nx::DType dtype = x.dtype();
  Tensor y = nearest || nx::is_float(dtype) ? x : nx::as_type(x, nx::f32);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (x.axis_size(axes[i]) == out[i]) continue;  // identity for every method
    if (x.axis_size(axes[i]) == 0) {
      detail::fail("resize", "cannot resize an empty spatial axis, got " + detail::describe(x));
    }
    y = nearest ? resize_nearest(y, axes[i], out[i])
                : resize_kernel(y, axes[i], out[i], opts.method, opts.antialias);
  }
  return y.dtype() == dtype ? y : nx::as_type(y, dtype);
}

}  // namespace axon::fn
