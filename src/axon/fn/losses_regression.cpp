// Regression losses: mean absolute and squared error, log-cosh, Poisson, Huber and cosine
// similarity (Axon.Losses).
#include <algorithm>
#include <cmath>
#include <string>

#include "axon/fn/check.hpp"
#include "losses_internal.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"

namespace axon::fn::losses {

using fn::detail::fail;

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "mean_absolute_error";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  return detail::reduce(kFn, detail::mean_last(nx::abs(y - y_pred)), opts.reduction);
}

Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "mean_squared_error";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  return detail::reduce(kFn, detail::mean_last(nx::square(y - y_pred)), opts.reduction);
}

Tensor log_cosh(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "log_cosh";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor x = y_pred - detail::as_float_labels(y_true, y_pred);
  // Axon's x + log1p(exp(-2x)) - log 2 overflows to inf once -2x passes the dtype's exp range;
  // softplus(-2x) is the same value, computed stably.
  Tensor loss = x + detail::softplus(-2.0 * x) - std::log(2.0);
  return detail::reduce(kFn, detail::mean_last(loss), opts.reduction);
}

Tensor poisson(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "poisson";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  Tensor loss = y_pred - y * nx::log(y_pred + 1e-7);
  return detail::reduce(kFn, detail::mean_last(loss), opts.reduction);
}

Tensor huber(const Tensor& y_true, const Tensor& y_pred, const HuberOptions& opts) {
  constexpr std::string_view kFn = "huber";
  detail::check_pair(kFn, y_true, y_pred);
  if (!(opts.delta > 0)) fail(kFn, "delta must be positive, got " + std::to_string(opts.delta));
  Tensor d = nx::abs(y_pred - detail::as_float_labels(y_true, y_pred));
  const double delta = opts.delta;
  Tensor loss =
      nx::select(nx::less_equal(d, delta), 0.5 * nx::square(d), delta * d - 0.5 * delta * delta);
  return detail::reduce(kFn, loss, opts.reduction);
}

Tensor cosine_similarity(const Tensor& y_true, const Tensor& y_pred,
                         const CosineSimilarityOptions& opts) {
  constexpr std::string_view kFn = "cosine_similarity";
  detail::check_pair(kFn, y_true, y_pred);
  if (opts.axes.empty()) fail(kFn, "axes must name at least one axis, got none");
  nx::Axes axes;
  for (int64_t a : opts.axes) {
    int64_t axis = fn::detail::normalize_axis(kFn, "axis", a, y_pred.rank());
    if (std::find(axes.begin(), axes.end(), axis) != axes.end()) {
      fail(kFn, "axes must be distinct, got axis " + std::to_string(axis) + " twice");
    }
    axes.push_back(axis);
  }
  Tensor y = detail::as_float_labels(y_true, y_pred);
  Tensor dot = nx::sum(y * y_pred, {.axes = axes});
  Tensor sq_true = nx::sum(nx::square(y), {.axes = axes});
  Tensor sq_pred = nx::sum(nx::square(y_pred), {.axes = axes});
  // max(|y| |p|, eps) as sqrt(max(|y|^2 |p|^2, eps^2)): the same value, and a zero vector gets
  // a zero gradient instead of the NaN of d|v|/dv at v = 0.
  Tensor norms = nx::sqrt(nx::max(sq_true * sq_pred, opts.eps * opts.eps));
  return detail::reduce(kFn, dot / norms, opts.reduction);
}

}  // namespace axon::fn::losses
