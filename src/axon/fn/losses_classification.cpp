// Classification losses: binary and categorical cross-entropy, hinge losses, soft margin,
// Kullback-Leibler divergence and margin ranking (Axon.Losses).
#include <string>

#include "axon/fn/check.hpp"
#include "losses_internal.hpp"
#include "nx/dtype.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn::losses {

using fn::detail::describe;
using fn::detail::fail;

namespace {

// Axon's epsilon of the probability paths (clip bounds and the guard inside the logs).
constexpr double kEps = 1e-7;

// y * log(p), 0 where y is 0 (also when p is 0), with a zero (not NaN) gradient there.
Tensor xlogy(const Tensor& y, const Tensor& p) {
  Tensor zero_y = nx::equal(y, 0.0);
  Tensor safe_p = nx::select(zero_y, 1.0, p);
  return nx::select(zero_y, 0.0, y * nx::log(safe_p));
}

// The class ids of sparse labels, reshaped to y_pred's shape with a last axis of 1 (for
// take_along_axis). Accepts y_pred.shape[:-1] and y_pred.shape[:-1] ++ {1}.
Tensor sparse_indices(std::string_view fn, const Tensor& y_true, const Tensor& y_pred) {
  if (!nx::is_integer(y_true.dtype())) {
    fail(fn, "sparse y_true must hold integer class ids, got y_true " + describe(y_true));
  }
  nx::Shape want = y_pred.shape();
  want.back() = 1;
  nx::Shape batch(y_pred.shape().begin(), y_pred.shape().end() - 1);
  if (y_true.shape() != want && y_true.shape() != batch) {
    fail(fn, "sparse y_true must have shape " + nx::shape_repr(batch) + " or " +
                 nx::shape_repr(want) + " (y_pred's without its class axis), got y_true " +
                 describe(y_true) + " and y_pred " + describe(y_pred));
  }
  if (!y_true.is_traced()) {
    // Out-of-range ids would be clamped by the gather; say so while the values are at hand
    // (read on the host: nx ops would be traced inside an enclosing grad or jit).
    const int64_t classes = y_pred.shape().back();
    for (int64_t v : y_true.to_vector<int64_t>()) {
      if (v < 0 || v >= classes) {
        fail(fn, "sparse y_true must hold class ids in [0, " + std::to_string(classes) + "), got " +
                     std::to_string(v));
      }
    }
  }
  return nx::reshape(nx::as_type(y_true, nx::s64), want);
}

}  // namespace

Tensor binary_cross_entropy(const Tensor& y_true, const Tensor& y_pred,
                            const BinaryCrossEntropyOptions& opts) {
  constexpr std::string_view kFn = "binary_cross_entropy";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  detail::check_reduction(kFn, opts.reduction);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  Tensor loss;
  if (opts.from_logits) {
    loss = -(y * detail::log_sigmoid(y_pred)) - (1.0 - y) * detail::log_sigmoid(-y_pred);
  } else {
    Tensor p = nx::clip(y_pred, kEps, 1.0 - kEps);
    loss = -(y * nx::log(p + kEps) + (1.0 - y) * nx::log(1.0 - p + kEps));
  }
  if (opts.positive_weight || opts.negative_weight) {
    // Axon takes [neg, pos][y] (integer labels only); the linear form is the same for 0/1
    // labels and also serves soft labels.
    const double pos = opts.positive_weight.value_or(1.0);
    const double neg = opts.negative_weight.value_or(1.0);
    loss = (neg + (pos - neg) * y) * loss;
  }
  return detail::reduce(kFn, detail::mean_last(loss), opts.reduction);
}

Tensor categorical_cross_entropy(const Tensor& y_true, const Tensor& y_pred,
                                 const CategoricalCrossEntropyOptions& opts) {
  constexpr std::string_view kFn = "categorical_cross_entropy";
  fn::detail::check_float(kFn, "y_pred", y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  detail::check_reduction(kFn, opts.reduction);
  const int64_t classes = y_pred.shape().back();

  Tensor loss;
  Tensor ids;  // class of each sample, for the weights
  if (opts.sparse) {
    Tensor idx = sparse_indices(kFn, y_true, y_pred);
    Tensor picked = opts.from_logits ? nx::take_along_axis(nx::log_softmax(y_pred), idx, -1)
                                     : nx::log(nx::take_along_axis(y_pred, idx, -1));
    loss = -nx::squeeze(picked, {-1});
    ids = nx::squeeze(idx, {-1});
  } else {
    detail::check_pair(kFn, y_true, y_pred);
    Tensor y = detail::as_float_labels(y_true, y_pred);
    loss = opts.from_logits ? -detail::sum_last(y * nx::log_softmax(y_pred))
                            : -detail::sum_last(xlogy(y, y_pred));
    if (opts.class_weights) ids = nx::argmax(y_true, {.axis = -1});
  }
  if (!opts.class_weights) return detail::reduce(kFn, loss, opts.reduction);

  const Tensor& weights = *opts.class_weights;
  if (weights.rank() != 1 || weights.shape()[0] != classes) {
    fail(kFn, "class_weights must have shape {" + std::to_string(classes) +
                  "} (one weight per class of y_pred " + describe(y_pred) + "), got " +
                  describe(weights));
  }
  Tensor w = nx::take(nx::as_type(weights, loss.dtype()), ids);
  loss = w * loss;
  if (opts.reduction == Reduction::Mean) return nx::sum(loss) / nx::sum(w);
  return detail::reduce(kFn, loss, opts.reduction);
}

Tensor categorical_hinge(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "categorical_hinge";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  Tensor negative = nx::reduce_max((1.0 - y) * y_pred, {.axes = nx::Axes{-1}});
  Tensor positive = detail::sum_last(y * y_pred);
  return detail::reduce(kFn, nx::max(negative - positive + 1.0, 0.0), opts.reduction);
}

Tensor hinge(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "hinge";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  return detail::reduce(kFn, detail::mean_last(nx::max(1.0 - y * y_pred, 0.0)), opts.reduction);
}

Tensor soft_margin(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "soft_margin";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = detail::as_float_labels(y_true, y_pred);
  // Axon sums over axis 0 (the batch); the per-sample mean over the last axis is the loss its
  // docs describe and PyTorch's soft_margin_loss once averaged.
  return detail::reduce(kFn, detail::mean_last(detail::softplus(-y * y_pred)), opts.reduction);
}

Tensor kl_divergence(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts) {
  constexpr std::string_view kFn = "kl_divergence";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  Tensor y = nx::clip(detail::as_float_labels(y_true, y_pred), kEps, 1.0);
  Tensor p = nx::clip(y_pred, kEps, 1.0);
  return detail::reduce(kFn, detail::sum_last(y * nx::log(y / p)), opts.reduction);
}

Tensor margin_ranking(const Tensor& y_true, const std::pair<Tensor, Tensor>& y_pred,
                      const MarginRankingOptions& opts) {
  constexpr std::string_view kFn = "margin_ranking";
  const auto& [p1, p2] = y_pred;
  detail::check_pair(kFn, y_true, p1);
  if (!nx::is_float(p2.dtype()) || p2.shape() != p1.shape()) {
    fail(kFn, "the two predictions must be floating point of one shape, got y_pred1 " +
                  describe(p1) + " and y_pred2 " + describe(p2));
  }
  Tensor y = detail::as_float_labels(y_true, p1);
  return detail::reduce(kFn, nx::max(-y * (p1 - p2) + opts.margin, 0.0), opts.reduction);
}

}  // namespace axon::fn::losses
