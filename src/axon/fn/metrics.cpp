// Axon.Metrics: accuracy, threshold counts and ratios, mean absolute error, top-k accuracy, the
// running combinators and lookup by name.
#include "axon/fn/metrics.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "axon/fn/check.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "nx/ops/sort.hpp"

namespace axon::fn::metrics {

namespace {

constexpr double kEpsilon = 1e-16;

void check_defined(std::string_view fn, const Tensor& y_true, const Tensor& y_pred) {
  if (!y_true.defined()) detail::fail(fn, "y_true is an empty tensor");
  if (!y_pred.defined()) detail::fail(fn, "y_pred is an empty tensor");
}

void check_same_shape(std::string_view fn, const Tensor& y_true, const Tensor& y_pred) {
  check_defined(fn, y_true, y_pred);
  if (y_true.shape() != y_pred.shape()) {
    detail::fail(fn, "y_true and y_pred must have the same shape, got y_true " +
                         detail::describe(y_true) + " and y_pred " + detail::describe(y_pred));
  }
}

/// Sparse labels for predictions of shape [..., C]: shape [...] or [..., 1], returned as [...].
Tensor sparse_labels(std::string_view fn, const Tensor& y_true, const Tensor& y_pred) {
  nx::Shape batch(y_pred.shape().begin(), y_pred.shape().end() - 1);
  nx::Shape with_one = batch;
  with_one.push_back(1);
  if (y_true.shape() == batch) return y_true;
  if (y_true.shape() == with_one) return nx::reshape(y_true, batch);
  detail::fail(fn, "sparse y_true must have shape " + nx::shape_repr(batch) + " or " +
                       nx::shape_repr(with_one) + " for y_pred " + detail::describe(y_pred) +
                       ", got " + detail::describe(y_true));
}

/// The mean of a pred tensor as f32 (Nx.mean of a boolean tensor).
Tensor fraction(const Tensor& hits) {
  return nx::mean(nx::as_type(hits, nx::f32));
}

/// Axon's four counts share one shape: the thresholded prediction and a condition on y_true.
struct Thresholded {
  Tensor positive;  ///< y_pred > threshold
  Tensor is_one;    ///< y_true == 1
  Tensor is_zero;   ///< y_true == 0
};

Thresholded threshold(std::string_view fn, const Tensor& y_true, const Tensor& y_pred,
                      const ThresholdOptions& opts) {
  check_same_shape(fn, y_true, y_pred);
  return {nx::greater(y_pred, opts.threshold), nx::equal(y_true, 1), nx::equal(y_true, 0)};
}

Tensor count(const Tensor& a, const Tensor& b) {
  return nx::sum(nx::logical_and(a, b));
}

/// a / (a + b + 1e-16) in f32.
Tensor ratio(const Tensor& a, const Tensor& b) {
  Tensor fa = nx::as_type(a, nx::f32);
  return nx::divide(fa, nx::add(nx::add(fa, nx::as_type(b, nx::f32)), kEpsilon));
}

}  // namespace

Tensor accuracy(const Tensor& y_true, const Tensor& y_pred, const AccuracyOptions& opts) {
  check_defined("metrics::accuracy", y_true, y_pred);
  detail::check_min_rank("metrics::accuracy", "y_pred", y_pred, 1);
  if (y_pred.shape().back() == 1) {
    check_same_shape("metrics::accuracy", y_true, y_pred);
    // sigmoid(x) > 0.5 exactly when x > 0; comparing the logits avoids sigmoid's rounding.
    Tensor positive = nx::greater(y_pred, opts.from_logits ? 0.0 : 0.5);
    return fraction(nx::equal(nx::as_type(positive, nx::u8), y_true));
  }
  Tensor labels;
  if (opts.sparse) {
    labels = sparse_labels("metrics::accuracy", y_true, y_pred);
  } else {
    check_same_shape("metrics::accuracy", y_true, y_pred);
    labels = nx::argmax(y_true, {.axis = -1});
  }
  return fraction(nx::equal(labels, nx::argmax(y_pred, {.axis = -1})));
}

Tensor true_positives(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::true_positives", y_true, y_pred, opts);
  return count(t.positive, t.is_one);
}

Tensor false_positives(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::false_positives", y_true, y_pred, opts);
  return count(t.positive, nx::logical_not(t.is_one));
}

Tensor true_negatives(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::true_negatives", y_true, y_pred, opts);
  return count(nx::logical_not(t.positive), t.is_zero);
}

Tensor false_negatives(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::false_negatives", y_true, y_pred, opts);
  return count(nx::logical_not(t.positive), nx::logical_not(t.is_zero));
}

Tensor precision(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::precision", y_true, y_pred, opts);
  return ratio(count(t.positive, t.is_one), count(t.positive, nx::logical_not(t.is_one)));
}

Tensor recall(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::recall", y_true, y_pred, opts);
  Tensor negative = nx::logical_not(t.positive);
  return ratio(count(t.positive, t.is_one), count(negative, nx::logical_not(t.is_zero)));
}

Tensor sensitivity(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::sensitivity", y_true, y_pred, opts);
  Tensor negative = nx::logical_not(t.positive);
  return ratio(count(t.positive, t.is_one), count(negative, nx::logical_not(t.is_zero)));
}

Tensor specificity(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts) {
  Thresholded t = threshold("metrics::specificity", y_true, y_pred, opts);
  Tensor negative = nx::logical_not(t.positive);
  return ratio(count(negative, t.is_zero), count(t.positive, nx::logical_not(t.is_one)));
}

Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred) {
  check_same_shape("metrics::mean_absolute_error", y_true, y_pred);
  return nx::mean(nx::abs(nx::subtract(y_true, y_pred)));
}

Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred,
                                  const TopKOptions& opts) {
  constexpr std::string_view fn = "metrics::top_k_categorical_accuracy";
  check_defined(fn, y_true, y_pred);
  if (y_pred.rank() != 1 && y_pred.rank() != 2) {
    detail::fail(fn, "y_pred must have rank 1 or 2, got " + detail::describe(y_pred));
  }
  if (opts.k < 1) detail::fail(fn, "k must be at least 1, got " + std::to_string(opts.k));
  // Labels as [..., 1], to compare with the [..., k] indices of the top predictions.
  Tensor labels;
  if (opts.sparse) {
    labels = nx::new_axis(sparse_labels(fn, y_true, y_pred), -1);
  } else {
    check_same_shape(fn, y_true, y_pred);
    labels = nx::argmax(y_true, {.axis = -1, .keep_axis = true});
  }
  const int64_t k = std::min(opts.k, y_pred.shape().back());
  Tensor top = nx::top_k(y_pred, k).second;
  return fraction(nx::any(nx::equal(top, nx::as_type(labels, nx::s64)), {.axes = nx::Axes{-1}}));
}

namespace {

struct Named {
  std::string_view name;
  Tensor (*fn)(const Tensor&, const Tensor&);
};

constexpr std::array<Named, 11> kMetrics{{
    {"accuracy", [](const Tensor& t, const Tensor& p) { return accuracy(t, p); }},
    {"true_positives", [](const Tensor& t, const Tensor& p) { return true_positives(t, p); }},
    {"false_positives", [](const Tensor& t, const Tensor& p) { return false_positives(t, p); }},
    {"true_negatives", [](const Tensor& t, const Tensor& p) { return true_negatives(t, p); }},
    {"false_negatives", [](const Tensor& t, const Tensor& p) { return false_negatives(t, p); }},
    {"precision", [](const Tensor& t, const Tensor& p) { return precision(t, p); }},
    {"recall", [](const Tensor& t, const Tensor& p) { return recall(t, p); }},
    {"sensitivity", [](const Tensor& t, const Tensor& p) { return sensitivity(t, p); }},
    {"specificity", [](const Tensor& t, const Tensor& p) { return specificity(t, p); }},
    {"mean_absolute_error",
     [](const Tensor& t, const Tensor& p) { return mean_absolute_error(t, p); }},
    {"top_k_categorical_accuracy",
     [](const Tensor& t, const Tensor& p) { return top_k_categorical_accuracy(t, p); }},
}};

}  // namespace

Metric metric(std::string_view name) {
  for (const Named& m : kMetrics) {
    if (m.name == name) return m.fn;
  }
  std::string valid;
  for (const Named& m : kMetrics) valid += (valid.empty() ? "" : ", ") + std::string(m.name);
  detail::fail("metrics::metric",
               "unknown metric \"" + std::string(name) + "\", expected one of: " + valid);
}

RunningMetric running_average(Metric metric) {
  return [metric = std::move(metric)](const Tensor& acc, const Tensor& y_true, const Tensor& y_pred,
                                      const Tensor& i) {
    return nx::divide(nx::add(nx::multiply(acc, i), metric(y_true, y_pred)), nx::add(i, 1));
  };
}

RunningMetric running_sum(Metric metric) {
  return
      [metric = std::move(metric)](const Tensor& acc, const Tensor& y_true, const Tensor& y_pred,
                                   const Tensor&) { return nx::add(acc, metric(y_true, y_pred)); };
}

}  // namespace axon::fn::metrics
