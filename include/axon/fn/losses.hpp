// axon::fn::losses: every loss function of Axon (Axon.Losses), as pure compositions of nx ops, so
// each runs eagerly, traces under nx::jit and differentiates under nx::grad.
//
//   namespace losses = axon::fn::losses;
//   using losses::Reduction;
//   // y_pred: softmax probabilities f32[B][C]; y_true: one-hot f32[B][C] or class ids s64[B]
//   Tensor l = losses::categorical_cross_entropy(y_true, y_pred);             // f32[B]
//   Tensor m = losses::categorical_cross_entropy(ids, logits, {.from_logits = true,
//                                                 .sparse = true, .reduction = Reduction::Mean});
//   Tensor b = losses::binary_cross_entropy(y, p, {.positive_weight = 3.0});  // f32[B]
//   auto smoothed = losses::label_smoothing(losses::loss("categorical_cross_entropy"), 0.1);
//   Tensor s = smoothed(y_true, y_pred);                                      // f32 scalar (mean)
//   // CTC over log-probabilities f32[B][T][C], labels s64[B][S] padded, lengths s64[B]:
//   Tensor c = losses::ctc_loss(log_probs, input_lengths, labels, label_lengths,
//                               {.reduction = Reduction::Mean});
//
// Conventions (Axon's):
//  - Every loss takes (y_true, y_pred, opts). y_pred must be floating point; y_true may be any
//    numeric type (it is converted to y_pred's floating type) unless a loss says otherwise, and
//    must have y_pred's shape, except for sparse labels.
//  - "Per-sample" losses reduce the last axis (the classes or features): f32[B][C] -> f32[B].
//    huber is elementwise, cosine_similarity reduces its `axes`, margin_ranking is elementwise.
//  - `reduction` (default None, as Axon) then gives the per-sample tensor (None), the mean of
//    all its elements (Mean) or their sum (Sum).
//  - Bad input throws nx::Error("axon::fn::<loss>: ..."), saying what was expected and what came.
//
// docs/axon-fn-losses.md lists the formulas and every place this library departs from Axon
// (where Axon has a bug or an accident) and from PyTorch, with the reasons.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "axon/fn/common.hpp"

namespace axon::fn::losses {

/// How a loss reduces its per-sample values: keep them, average them, or add them up.
enum class Reduction { None, Mean, Sum };

/// A loss with its options bound: (y_true, y_pred) -> loss.
using Loss = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;

/// Options of the losses whose only option is the reduction.
struct LossOptions {
  Reduction reduction = Reduction::None;
};

// ---- Classification ----------------------------------------------------------------------------

/// Options of binary_cross_entropy.
struct BinaryCrossEntropyOptions {
  std::optional<double> positive_weight{};  ///< weight of elements whose label is 1 (unset: 1)
  std::optional<double> negative_weight{};  ///< weight of elements whose label is 0 (unset: 1)
  bool from_logits = false;                 ///< y_pred holds logits rather than probabilities
  Reduction reduction = Reduction::None;
};
/// Binary cross-entropy per element, averaged over the last axis: -y log p - (1-y) log(1-p).
/// Probabilities are clipped to [1e-7, 1-1e-7] and 1e-7 is added inside the logs (Axon);
/// from_logits uses log_sigmoid. With weights, each element is scaled by
/// negative_weight + (positive_weight - negative_weight) * y before the average.
Tensor binary_cross_entropy(const Tensor& y_true, const Tensor& y_pred,
                            const BinaryCrossEntropyOptions& opts = {});

/// Options of categorical_cross_entropy.
struct CategoricalCrossEntropyOptions {
  /// One weight per class (rank 1, size = number of classes); unset: all 1. Each sample is
  /// scaled by the weight of its class, and Mean becomes sum(w * l) / sum(w).
  std::optional<Tensor> class_weights{};
  bool from_logits = false;  ///< y_pred holds logits (log_softmax is applied) not probabilities
  /// y_true holds integer class ids: shape y_pred.shape[:-1], or that with a trailing 1.
  bool sparse = false;
  Reduction reduction = Reduction::None;
};
/// Categorical cross-entropy over the last axis: -sum(y * log p) (xlogy: 0 where y is 0), or
/// -log p[label] when sparse; from_logits: the same with log_softmax(y_pred).
Tensor categorical_cross_entropy(const Tensor& y_true, const Tensor& y_pred,
                                 const CategoricalCrossEntropyOptions& opts = {});

/// Categorical hinge over the last axis: max(0, max((1-y) * p) - sum(y * p) + 1).
Tensor categorical_hinge(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Hinge, averaged over the last axis: mean(max(0, 1 - y * p)); labels are -1 or 1.
Tensor hinge(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Soft margin, averaged over the last axis: mean(log(1 + exp(-y * p))), computed stably.
Tensor soft_margin(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Kullback-Leibler divergence over the last axis: sum(y * log(y / p)), with y and p clipped
/// to [1e-7, 1].
Tensor kl_divergence(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Options of margin_ranking.
struct MarginRankingOptions {
  double margin = 0.0;
  Reduction reduction = Reduction::None;
};
/// Margin ranking, elementwise: max(0, -y * (p1 - p2) + margin), where y_pred = {p1, p2} and
/// y (1 or -1) says which of the two should rank higher.
Tensor margin_ranking(const Tensor& y_true, const std::pair<Tensor, Tensor>& y_pred,
                      const MarginRankingOptions& opts = {});

// ---- Regression --------------------------------------------------------------------------------

/// Mean absolute error over the last axis: mean(|y - p|).
Tensor mean_absolute_error(const Tensor& y_true, const Tensor& y_pred,
                           const LossOptions& opts = {});

/// Mean squared error over the last axis: mean((y - p)^2).
Tensor mean_squared_error(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Log-cosh over the last axis: mean(log(cosh(p - y))), computed stably for large |p - y|.
Tensor log_cosh(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Poisson over the last axis: mean(p - y * log(p + 1e-7)).
Tensor poisson(const Tensor& y_true, const Tensor& y_pred, const LossOptions& opts = {});

/// Options of huber.
struct HuberOptions {
  double delta = 1.0;  ///< where the loss turns from quadratic to linear
  Reduction reduction = Reduction::None;
};
/// Huber, elementwise (no average over the last axis, as Axon): 0.5 d^2 where d = |p - y| <=
/// delta, else delta * d - 0.5 delta^2.
Tensor huber(const Tensor& y_true, const Tensor& y_pred, const HuberOptions& opts = {});

/// Options of cosine_similarity.
struct CosineSimilarityOptions {
  nx::Axes axes = {1};  ///< the axes the vectors lie along (negative counts from the end)
  double eps = 1e-6;    ///< lower bound of the product of the norms
  Reduction reduction = Reduction::None;
};
/// Cosine similarity (a similarity, not 1 - similarity) along `axes`:
/// sum(y * p) / max(|y| |p|, eps).
Tensor cosine_similarity(const Tensor& y_true, const Tensor& y_pred,
                         const CosineSimilarityOptions& opts = {});

// ---- Connectionist temporal classification ----------------------------------------------------

/// Options of ctc_loss and connectionist_temporal_classification.
struct CtcOptions {
  int64_t blank = 0;  ///< the class id of the blank symbol
  /// Mean divides each sample's loss by its label length (at least 1), then averages (Axon and
  /// PyTorch); Sum adds the losses up.
  Reduction reduction = Reduction::None;
  /// Impossible alignments (an input too short for its labels) have an infinite loss; when set,
  /// such losses and their gradients are zero instead (PyTorch's zero_infinity).
  bool zero_infinity = false;
};
/// CTC loss in PyTorch's argument order: the negative log-likelihood of each label sequence
/// under the per-frame class log-probabilities, summed over all alignments.
///  - log_probs: f32/f64[B][T][C], log-probabilities (e.g. log_softmax of logits);
///  - input_lengths: integer [B], frames of each sample that count (0..T);
///  - labels: integer [B][S], each row padded past its length with any valid class;
///  - label_lengths: integer [B], 0..S.
/// Returns the per-sample losses [B] (None) or a scalar. The gradient is exact with respect to
/// log_probs (PyTorch's assumes log_probs came from log_softmax; through a log_softmax the
/// two agree).
Tensor ctc_loss(const Tensor& log_probs, const Tensor& input_lengths, const Tensor& labels,
                const Tensor& label_lengths, const CtcOptions& opts = {});

/// Axon's y_true of CTC: the label lengths and the padded labels.
struct CtcTargets {
  Tensor lengths;  ///< integer [B]
  Tensor labels;   ///< integer [B][S]
};
/// CTC loss with Axon's signature: y_true = {lengths, labels}, y_pred = log-probabilities
/// [B][T][C], every input using all T frames. Equals ctc_loss(y_pred, T, labels, lengths, opts).
Tensor connectionist_temporal_classification(const CtcTargets& y_true, const Tensor& y_pred,
                                             const CtcOptions& opts = {});

// ---- Label smoothing and losses by name ---------------------------------------------------------

/// y_true * (1 - smoothing) + smoothing / C, C the size of y_pred's last axis (the classes).
Tensor apply_label_smoothing(const Tensor& y_true, const Tensor& y_pred, double smoothing = 0.1);

/// loss_fn applied to smoothed labels: (y, p) -> loss_fn(apply_label_smoothing(y, p, s), p).
Loss label_smoothing(Loss loss_fn, double smoothing = 0.1);

/// A loss by its Axon name, with default options and the given reduction (Mean by default, as
/// Axon.Loop calls loss atoms): binary_cross_entropy, categorical_cross_entropy,
/// categorical_hinge, hinge, kl_divergence, log_cosh, mean_absolute_error, mean_squared_error,
/// poisson, soft_margin, huber. Throws nx::Error for other names.
Loss loss(std::string_view name, Reduction reduction = Reduction::Mean);

}  // namespace axon::fn::losses
