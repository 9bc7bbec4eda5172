// The checks and small numerical helpers every loss uses.
#include <string>

#include "axon/fn/check.hpp"
#include "losses_internal.hpp"
#include "nx/dtype.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"

namespace axon::fn::losses::detail {

using fn::detail::describe;
using fn::detail::fail;

void check_pair(std::string_view fn, const Tensor& y_true, const Tensor& y_pred) {
  if (!nx::is_float(y_pred.dtype())) {
    fail(fn, "y_pred must be floating point, got " + describe(y_pred));
  }
  if (y_true.shape() != y_pred.shape()) {
    fail(fn, "y_true and y_pred must have the same shape, got y_true " + describe(y_true) +
                 " and y_pred " + describe(y_pred));
  }
}

void check_reduction(std::string_view fn, Reduction reduction) {
  switch (reduction) {
    case Reduction::None:
    case Reduction::Mean:
    case Reduction::Sum:
      return;
  }
  fail(fn, "reduction must be None, Mean or Sum, got the value " +
               std::to_string(static_cast<int>(reduction)));
}

Tensor as_float_labels(const Tensor& y_true, const Tensor& y_pred) {
  if (nx::is_float(y_true.dtype())) return y_true;
  return nx::as_type(y_true, y_pred.dtype());
}

Tensor reduce(std::string_view fn, const Tensor& loss, Reduction reduction) {
  check_reduction(fn, reduction);
  switch (reduction) {
    case Reduction::Mean:
      return nx::mean(loss);
    case Reduction::Sum:
      return nx::sum(loss);
    case Reduction::None:
      break;
  }
  return loss;
}

Tensor mean_last(const Tensor& x) {
  return nx::mean(x, {.axes = nx::Axes{-1}});
}

Tensor sum_last(const Tensor& x) {
  return nx::sum(x, {.axes = nx::Axes{-1}});
}

Tensor softplus(const Tensor& x) {
  // Each branch sees only the half-line it is selected on, so neither overflows and the
  // unselected one passes back an exact zero (never 0 * inf).
  Tensor pos = nx::greater_equal(x, 0.0);
  Tensor xp = nx::select(pos, x, 0.0);
  Tensor xn = nx::select(pos, 0.0, x);
  Tensor upper = xp + nx::log1p(nx::exp(-xp));  // x >= 0
  Tensor lower = nx::log1p(nx::exp(xn));        // x < 0
  return nx::select(pos, upper, lower);
}

Tensor log_sigmoid(const Tensor& x) {
  return -softplus(-x);
}

}  // namespace axon::fn::losses::detail
