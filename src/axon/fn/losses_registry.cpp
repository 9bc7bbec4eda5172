// Label smoothing, and losses looked up by their Axon names (as Axon.Loop's loss atoms).
#include <string>
#include <utility>

#include "axon/fn/check.hpp"
#include "losses_internal.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::fn::losses {

using fn::detail::fail;

Tensor apply_label_smoothing(const Tensor& y_true, const Tensor& y_pred, double smoothing) {
  constexpr std::string_view kFn = "apply_label_smoothing";
  detail::check_pair(kFn, y_true, y_pred);
  fn::detail::check_min_rank(kFn, "y_pred", y_pred, 1);
  if (!(smoothing >= 0 && smoothing <= 1)) {
    fail(kFn, "smoothing must lie in [0, 1], got " + std::to_string(smoothing));
  }
  const auto classes = static_cast<double>(y_pred.shape().back());
  return detail::as_float_labels(y_true, y_pred) * (1.0 - smoothing) + smoothing / classes;
}

Loss label_smoothing(Loss loss_fn, double smoothing) {
  if (!loss_fn) fail("label_smoothing", "loss_fn is empty");
  return [fn = std::move(loss_fn), smoothing](const Tensor& y_true, const Tensor& y_pred) {
    return fn(apply_label_smoothing(y_true, y_pred, smoothing), y_pred);
  };
}

Loss loss(std::string_view name, Reduction reduction) {
  detail::check_reduction("loss", reduction);
  const LossOptions o{.reduction = reduction};
  using F = Tensor (*)(const Tensor&, const Tensor&, const LossOptions&);
  static const std::pair<std::string_view, F> kPlain[] = {
      {"categorical_hinge", categorical_hinge},
      {"hinge", hinge},
      {"kl_divergence", kl_divergence},
      {"log_cosh", log_cosh},
      {"mean_absolute_error", mean_absolute_error},
      {"mean_squared_error", mean_squared_error},
      {"poisson", poisson},
      {"soft_margin", soft_margin},
  };
  for (const auto& entry : kPlain) {
    if (entry.first != name) continue;
    F f = entry.second;
    return [f, o](const Tensor& y, const Tensor& p) { return f(y, p, o); };
  }
  if (name == "binary_cross_entropy") {
    return [reduction](const Tensor& y, const Tensor& p) {
      return binary_cross_entropy(y, p, {.reduction = reduction});
    };
  }
  if (name == "categorical_cross_entropy") {
    return [reduction](const Tensor& y, const Tensor& p) {
      return categorical_cross_entropy(y, p, {.reduction = reduction});
    };
  }
  if (name == "huber") {
    return [reduction](const Tensor& y, const Tensor& p) {
      return huber(y, p, {.reduction = reduction});
    };
  }
  fail("loss", "unknown loss \"" + std::string(name) +
                   "\"; expected one of binary_cross_entropy, categorical_cross_entropy, "
                   "categorical_hinge, hinge, kl_divergence, log_cosh, mean_absolute_error, "
                   "mean_squared_error, poisson, soft_margin, huber");
}

}  // namespace axon::fn::losses
