// axon::fn::metrics: Axon.Metrics, measures of a model's predictions that are reported, not
// trained on (they have no useful gradient). Each is a composition of nx ops, so it runs eagerly
// and under nx::jit, e.g. inside a compiled evaluation step.
//
//   namespace metrics = axon::fn::metrics;
//   Tensor acc = metrics::accuracy(y_true, y_pred);                  // one-hot y_true
//   Tensor acc2 = metrics::accuracy(labels, logits, {.sparse = true});   // class indices
//   Tensor p = metrics::precision(y_true, probs, {.threshold = 0.7});
//   Tensor top5 = metrics::top_k_categorical_accuracy(y_true, y_pred);
//
//   // Accumulate over batches, as Axon.Loop does (i = number of batches seen so far):
//   metrics::RunningMetric avg = metrics::running_average(metrics::metric("accuracy"));
//   acc = avg(acc, y_true_batch, y_pred_batch, i);                   // (acc * i + m) / (i + 1)
//
// Shapes: y_true and y_pred have the same shape, except sparse labels, which have y_pred's
// shape without its last axis (a trailing axis of size 1 is also accepted). Results are
// scalars: counts are s64, ratios (accuracy, precision, recall, sensitivity, specificity,
// top-k accuracy) f32, mean_absolute_error the inputs' floating dtype. Labels of the threshold
// metrics are 0 or 1 (any numeric dtype): Axon's definitions compare them with the thresholded
// prediction, so, e.g., a true positive is a prediction above the threshold with label 1.
//
// Bad input (mismatched shapes, a binary accuracy on a last axis of size other than 1 with
// from_logits, top-k on rank > 2, k < 1) throws nx::Error naming the metric.
#pragma once

#include <functional>
#include <string_view>

#include "axon/fn/common.hpp"

namespace axon::fn::metrics {

/// A metric: (y_true, y_pred) -> a scalar.
using Metric = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
/// A metric accumulated over batches: (acc, y_true, y_pred, i) -> the new acc, where i is the
/// number of batches already in acc (a scalar).
using RunningMetric = std::function<Tensor(const Tensor& acc, const Tensor& y_true,
                                           const Tensor& y_pred, const Tensor& i)>;

/// Options of accuracy.
struct AccuracyOptions {
  bool from_logits = false;  ///< binary case: y_pred are logits (thresholded at 0, not 0.5)
  bool sparse = false;       ///< categorical case: y_true holds class indices, not one-hot rows
};
/// Options of the threshold metrics (counts, precision, recall, sensitivity, specificity).
struct ThresholdOptions {
  double threshold = 0.5;  ///< a prediction is positive when y_pred > threshold
};
/// Options of top_k_categorical_accuracy.
struct TopKOptions {
  int64_t k = 5;        ///< how many of the highest predictions count (clamped to the classes)
  bool sparse = false;  ///< y_true holds class indices, not one-hot rows
};

/// Fraction of correct predictions. If y_pred's last axis has size 1 (binary):
/// mean((y_pred > 0.5) == y_true) (y_pred > 0 with from_logits); otherwise (categorical):
/// mean(argmax(y_pred, -1) == argmax(y_true, -1)), or == y_true when sparse. Ties in argmax go
/// to the lowest index.
Tensor accuracy(const Tensor& y_true, const Tensor& y_pred, const AccuracyOptions& opts = {});

/// Number of elements with y_pred > threshold and y_true == 1.
Tensor true_positives(const Tensor& y_true, const Tensor& y_pred,
                      const ThresholdOptions& opts = {});
/// Number of elements with y_pred > threshold and y_true != 1.
Tensor false_positives(const Tensor& y_true, const Tensor& y_pred,
                       const ThresholdOptions& opts = {});
/// Number of elements with y_pred <= threshold and y_true == 0.
Tensor true_negatives(const Tensor& y_true, const Tensor& y_pred,
                      const ThresholdOptions& opts = {});
/// Number of elements with y_pred <= threshold and y_true != 0.
Tensor false_negatives(const Tensor& y_true, const Tensor& y_pred,
                       const ThresholdOptions& opts = {});

/// tp / (tp + fp + 1e-16).
Tensor precision(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts = {});
/// tp / (tp + fn + 1e-16).
Tensor recall(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts = {});
/// Same as recall.
Tensor sensitivity(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts = {});
/// tn / (tn + fp + 1e-16).
Tensor specificity(const Tensor& y_true, const Tensor& y_pred, const ThresholdOptions& opts = {});

/// mean(|y_true - y_pred|) over all elements.
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred);

/// Fraction of rows whose label is among the k highest predictions (y_pred of rank 1 or 2;
/// among equal predictions the lower index ranks first).
Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred,
                                  const TopKOptions& opts = {});

/// The metric named by Axon's atom, with default options: accuracy, true_positives,
/// false_positives, true_negatives, false_negatives, precision, recall, sensitivity,
/// specificity, mean_absolute_error, top_k_categorical_accuracy. Throws nx::Error listing the
/// valid names for an unknown one.
Metric metric(std::string_view name);

/// (acc * i + metric(y_true, y_pred)) / (i + 1): the mean over the batches so far.
RunningMetric running_average(Metric metric);
/// acc + metric(y_true, y_pred): the sum over the batches so far.
RunningMetric running_sum(Metric metric);

}  // namespace axon::fn::metrics
