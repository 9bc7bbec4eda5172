// Reductions, statistics, softmax and cumulative operations.
#pragma once

#include <optional>

#include "nx/tensor.hpp"

namespace nx {

/// Which axes to reduce (all when unset) and whether to keep them as size 1.
struct ReduceOptions {
  std::optional<Axes> axes{};
  bool keep_axes = false;
};

/// Sum; integers accumulate in 64 bits of their signedness, pred counts as s64 (Nx.sum).
Tensor sum(const Tensor& x, const ReduceOptions& opts = {});
/// Product, with sum's accumulation types (Nx.product).
Tensor product(const Tensor& x, const ReduceOptions& opts = {});
/// Maximum (NaN propagates); dtype kept.
Tensor reduce_max(const Tensor& x, const ReduceOptions& opts = {});
/// Minimum (NaN propagates); dtype kept.
Tensor reduce_min(const Tensor& x, const ReduceOptions& opts = {});
/// pred: every element is non-zero.
Tensor all(const Tensor& x, const ReduceOptions& opts = {});
/// pred: some element is non-zero.
Tensor any(const Tensor& x, const ReduceOptions& opts = {});
/// Arithmetic mean, floating.
Tensor mean(const Tensor& x, const ReduceOptions& opts = {});

/// Options of variance and standard deviation.
struct VarianceOptions {
  std::optional<Axes> axes{};
  bool keep_axes = false;
  int64_t ddof = 0;  ///< delta degrees of freedom: divides by n - ddof
};
/// Variance (biased by default, ddof = 0), floating.
Tensor variance(const Tensor& x, const VarianceOptions& opts = {});
/// Standard deviation: sqrt(variance).
Tensor standard_deviation(const Tensor& x, const VarianceOptions& opts = {});
/// log(sum(exp(x))), computed stably by shifting with the maximum.
Tensor logsumexp(const Tensor& x, const ReduceOptions& opts = {});
/// exp(x) / sum(exp(x)) over axes (default: the last axis), stable.
Tensor softmax(const Tensor& x, const Axes& axes = {-1});
/// x - logsumexp(x) over axes (default: the last axis).
Tensor log_softmax(const Tensor& x, const Axes& axes = {-1});

/// Options of argmax/argmin.
struct ArgOptions {
  std::optional<int64_t> axis{};  ///< unset: over the flattened tensor
  bool keep_axis = false;
  bool tie_high = false;  ///< ties pick the highest index (Nx's tie_break: :high)
};
/// Index of the maximum (s64); NaN counts as the maximum.
Tensor argmax(const Tensor& x, const ArgOptions& opts = {});
/// Index of the minimum (s64); NaN counts as the minimum.
Tensor argmin(const Tensor& x, const ArgOptions& opts = {});

/// Options of the cumulative operations.
struct CumulativeOptions {
  int64_t axis = 0;
  bool reverse = false;  ///< accumulate from the end
};
/// Running sum along an axis (sum's accumulation types).
Tensor cumulative_sum(const Tensor& x, const CumulativeOptions& opts = {});
/// Running product along an axis.
Tensor cumulative_product(const Tensor& x, const CumulativeOptions& opts = {});
/// Running maximum along an axis.
Tensor cumulative_max(const Tensor& x, const CumulativeOptions& opts = {});
/// Running minimum along an axis.
Tensor cumulative_min(const Tensor& x, const CumulativeOptions& opts = {});

}  // namespace nx
