// ONNX reductions (Reduce*), ArgMax/ArgMin and CumSum.
//
// Axes come from the `axes` attribute before opset 18 (ReduceSum: before 13) and from the
// optional second input after; both forms are accepted at every opset, since a model only ever
// uses the one its opset defines. No axes means all axes, unless noop_with_empty_axes is set,
// when the input passes through. The result keeps the input's dtype, as ONNX requires (nx sums
// integers in 64 bits and averages in floating point; the result is converted back).
#include <optional>
#include <string>
#include <vector>

#include "ops_math_internal.hpp"

namespace axon::onnx_import::math {
namespace {

using nx::Tensor;
using Reduction = Tensor (*)(const Tensor&, const nx::ReduceOptions&);

// The reduced axes, or nullopt for "pass the input through" (noop_with_empty_axes).
std::optional<nx::Axes> reduce_axes(const OpCall& call, const Tensor& x) {
  std::vector<int64_t> axes;
  if (call.has_input(1)) {
    axes = call.ints_input(1);
  } else {
    axes = call.attr_ints("axes");
  }
  if (axes.empty()) {
    if (call.attr_int("noop_with_empty_axes", 0) != 0) return std::nullopt;
    return nx::all_axes(x.rank());
  }
  for (int64_t& a : axes) {
    if (a < -x.rank() || a >= x.rank()) {
      call.fail("axis " + std::to_string(a) + " is out of range for an input of rank " +
                std::to_string(x.rank()));
    }
    if (a < 0) a += x.rank();
  }
  return nx::normalize_axes(axes, x.rank(), call.op_type());
}

Tensor sum_square(const Tensor& x, const nx::ReduceOptions& opts) {
  return nx::sum(nx::square(x), opts);
}
Tensor l1(const Tensor& x, const nx::ReduceOptions& opts) {
  return nx::sum(nx::abs(x), opts);
}
Tensor l2(const Tensor& x, const nx::ReduceOptions& opts) {
  return nx::sqrt(nx::sum(nx::square(x), opts));
}
Tensor log_sum(const Tensor& x, const nx::ReduceOptions& opts) {
  return nx::log(nx::sum(x, opts));
}

// Registers Reduce<op>: `fn` reduces with nx options.
void add_reduce(const std::string& op, int64_t since, Reduction fn) {
  register_op({op,
               [fn](const OpCall& call) {
                 const Tensor& x = call.input(0);
                 std::optional<nx::Axes> axes = reduce_axes(call, x);
                 if (!axes) return std::vector<Tensor>{x};
                 nx::ReduceOptions opts{*axes, call.attr_int("keepdims", 1) != 0};
                 return std::vector<Tensor>{keep_type(fn(x, opts), x.dtype())};
               },
               since});
}

// ArgMax/ArgMin: s64 indices along `axis`; select_last_index picks the last of equal extremes.
// Version 1 (opsets 1-10) only lacks negative axes and select_last_index (default 0).
void add_arg(const std::string& op, Tensor (*fn)(const Tensor&, const nx::ArgOptions&)) {
  register_op({op,
               [fn](const OpCall& call) {
                 const Tensor& x = call.input(0);
                 const int64_t rank = x.rank();
                 const int64_t axis = call.attr_int("axis", 0);
                 if (axis < -rank || axis >= rank) {
                   call.fail("axis " + std::to_string(axis) +
                             " is out of range for an input of rank " + std::to_string(x.rank()));
                 }
                 nx::ArgOptions opts;
                 opts.axis = axis < 0 ? axis + rank : axis;
                 opts.keep_axis = call.attr_int("keepdims", 1) != 0;
                 opts.tie_high = call.attr_int("select_last_index", 0) != 0;
                 return std::vector<Tensor>{fn(x, opts)};
               },
               1});
}

// CumSum: the running sum along the axis given by the second input (a scalar); exclusive
// shifts the sums by one (the first is 0), reverse accumulates from the end.
std::vector<Tensor> cumsum_op(const OpCall& call) {
  const Tensor& x = call.input(0);
  const std::vector<int64_t> axis_values = call.ints_input(1);
  if (axis_values.size() != 1) {
    call.fail("axis must be a scalar, got " + std::to_string(axis_values.size()) + " values");
  }
  int64_t axis = axis_values[0];
  if (axis < -x.rank() || axis >= x.rank()) {
    call.fail("axis " + std::to_string(axis) + " is out of range for an input of rank " +
              std::to_string(x.rank()));
  }
  if (axis < 0) axis += x.rank();
  const bool reverse = call.attr_int("reverse", 0) != 0;
  Tensor y = x;
  if (call.attr_int("exclusive", 0) != 0 && x.axis_size(axis) > 0) {
    // Shift by one along the axis: a zero comes in on the side the sum starts from and the last
    // element drops out (a negative pad crops).
    std::vector<nx::PadConfig> config(static_cast<size_t>(x.rank()));
    config[static_cast<size_t>(axis)] = reverse ? nx::PadConfig{-1, 1, 0} : nx::PadConfig{1, -1, 0};
    y = nx::pad(y, nx::scalar(0, x.dtype()), config);
  }
  return {keep_type(nx::cumulative_sum(y, {axis, reverse}), x.dtype())};
}

}  // namespace

void register_reduce_ops() {
  add_reduce("ReduceSum", 1, nx::sum);
  add_reduce("ReduceMean", 1, nx::mean);
  add_reduce("ReduceMax", 1, nx::reduce_max);
  add_reduce("ReduceMin", 1, nx::reduce_min);
  add_reduce("ReduceProd", 1, nx::product);
  add_reduce("ReduceL1", 1, l1);
  add_reduce("ReduceL2", 1, l2);
  add_reduce("ReduceLogSum", 1, log_sum);
  add_reduce("ReduceLogSumExp", 1, nx::logsumexp);
  add_reduce("ReduceSumSquare", 1, sum_square);
  add_arg("ArgMax", nx::argmax);
  add_arg("ArgMin", nx::argmin);
  register_op({"CumSum", cumsum_op, 11});
}

}  // namespace axon::onnx_import::math
