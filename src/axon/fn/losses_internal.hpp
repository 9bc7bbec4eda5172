// Helpers shared by the losses_*.cpp files (private to axon::fn::losses).
#pragma once

#include <string_view>

#include "axon/fn/losses.hpp"

namespace axon::fn::losses::detail {

/// Throws unless y_pred is floating point and y_true has y_pred's shape (naming both).
void check_pair(std::string_view fn, const Tensor& y_true, const Tensor& y_pred);

/// Throws unless `reduction` is one of the enum's values.
void check_reduction(std::string_view fn, Reduction reduction);

/// y_true in a floating type: converted to y_pred's dtype when it is not floating already
/// (Axon merges the two types first; a float y_true of another width promotes as usual).
Tensor as_float_labels(const Tensor& y_true, const Tensor& y_pred);

/// The per-sample loss reduced as asked: unchanged, the mean of all elements, or their sum.
Tensor reduce(std::string_view fn, const Tensor& loss, Reduction reduction);

/// The mean over the last axis (the per-sample value of most losses).
Tensor mean_last(const Tensor& x);
/// The sum over the last axis.
Tensor sum_last(const Tensor& x);

/// log(1 + exp(x)), stable for every x, with the exact derivative sigmoid(x) everywhere
/// (including 0, where a max/abs formulation would split ties).
Tensor softplus(const Tensor& x);
/// log(sigmoid(x)) = -softplus(-x).
Tensor log_sigmoid(const Tensor& x);

}  // namespace axon::fn::losses::detail
