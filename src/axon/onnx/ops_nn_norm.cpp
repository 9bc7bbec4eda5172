// ONNX normalisations (opsets 1..17): BatchNormalization (inference; the training outputs:
// batch statistics and updated running statistics for opset 14's training_mode, for the
// optional outputs of opsets 7..13 and for is_test = 0 before), InstanceNormalization,
// LayerNormalization (17: axis, epsilon, stash_type, Mean and InvStdDev outputs), LpNormalization,
// MeanVarianceNormalization and LRN. All are nx compositions, so they trace and differentiate.
#include <algorithm>

#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

/// A per-channel parameter ({C}, or {C, D..} for opset 7's spatial = 0) shaped to broadcast
/// against x {N, C, D..}.
nx::Tensor channel_param(const OpCall& call, size_t i, const nx::Tensor& x) {
  const nx::Tensor& t = call.input(i);
  nx::Shape shape(static_cast<size_t>(x.rank()), 1);
  if (t.rank() <= 1) {
    if (t.size() != x.shape()[1] && t.size() != 1) {
      call.fail("input " + std::to_string(i) + " must have " + std::to_string(x.shape()[1]) +
                " channel values, got " + nx::type_string(t.type()));
    }
    shape[1] = t.size();
    return nx::reshape(t, shape);
  }
  // Opset 7 spatial = 0: {C, D1..Dn} broadcasts after the batch axis.
  nx::Shape full{1};
  full.insert(full.end(), t.shape().begin(), t.shape().end());
  if (static_cast<int64_t>(full.size()) != x.rank()) {
    call.fail("input " + std::to_string(i) + " has shape " + nx::type_string(t.type()) +
              ", which does not broadcast against X " + nx::type_string(x.type()));
  }
  return nx::reshape(t, full);
}

nx::Axes all_but_channel(const nx::Tensor& x) {
  nx::Axes axes{0};
  for (int64_t a = 2; a < x.rank(); ++a) axes.push_back(a);
  return axes;
}

std::vector<nx::Tensor> batch_norm(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 2);
  const double eps = call.attr_float("epsilon", 1e-5);
  const double momentum = call.attr_float("momentum", 0.9);
  const nx::Tensor scale = channel_param(call, 1, x), bias = channel_param(call, 2, x);
  const nx::Tensor mean = channel_param(call, 3, x), var = channel_param(call, 4, x);
  // Opsets 1-6 say which with is_test (default 0: training); 7-13 by the outputs declared.
  const bool training = call.opset() >= 14 ? call.attr_int("training_mode", 0) != 0
                        : call.opset() < 7 ? call.attr_int("is_test", 0) == 0
                                           : call.num_outputs() > 1;
  if (!training) {
    const nx::Tensor inv = nx::rsqrt(nx::add(var, eps));
    return {nx::add(nx::multiply(nx::multiply(nx::subtract(x, mean), inv), scale), bias)};
  }
  const nx::Axes axes = all_but_channel(x);
  const nx::Tensor bmean = nx::mean(x, {axes, true});
  const nx::Tensor bvar = nx::variance(x, {axes, true});
  const nx::Tensor y = nx::add(
      nx::multiply(nx::multiply(nx::subtract(x, bmean), nx::rsqrt(nx::add(bvar, eps))), scale),
      bias);
  const nx::Shape stat_shape = call.input(3).shape();
  auto flat = [&](const nx::Tensor& t) { return nx::reshape(t, stat_shape); };
  const nx::Tensor run_mean =
      flat(nx::add(nx::multiply(mean, momentum), nx::multiply(bmean, 1.0 - momentum)));
  const nx::Tensor run_var =
      flat(nx::add(nx::multiply(var, momentum), nx::multiply(bvar, 1.0 - momentum)));
  if (call.opset() >= 14) return declared_outputs(call, {y, run_mean, run_var});
  return declared_outputs(call, {y, run_mean, run_var, flat(bmean), flat(bvar)});
}

std::vector<nx::Tensor> instance_norm(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 3);
  const double eps = call.attr_float("epsilon", 1e-5);
  nx::Axes axes;
  for (int64_t a = 2; a < x.rank(); ++a) axes.push_back(a);
  const nx::Tensor mean = nx::mean(x, {axes, true});
  const nx::Tensor var = nx::variance(x, {axes, true});
  const nx::Tensor norm = nx::multiply(nx::subtract(x, mean), nx::rsqrt(nx::add(var, eps)));
  return {nx::add(nx::multiply(norm, channel_param(call, 1, x)), channel_param(call, 2, x))};
}

std::vector<nx::Tensor> layer_norm(const OpCall& call) {
  const nx::Tensor& x0 = float_input(call, 0, 1);
  const int64_t axis = norm_axis(call, call.attr_int("axis", -1), x0.rank());
  const double eps = call.attr_float("epsilon", 1e-5);
  const nx::DType stash = dtype_from_onnx(call, call.attr_int("stash_type", 1));
  if (!nx::is_float(stash)) call.fail("stash_type must be a float type");
  const nx::Tensor x = x0.dtype() == stash ? x0 : nx::as_type(x0, stash);
  nx::Axes axes;
  for (int64_t a = axis; a < x.rank(); ++a) axes.push_back(a);
  const nx::Tensor mean = nx::mean(x, {axes, true});
  const nx::Tensor d = nx::subtract(x, mean);
  const nx::Tensor var = nx::mean(nx::square(d), {axes, true});
  const nx::Tensor inv = nx::rsqrt(nx::add(var, eps));
  nx::Tensor y = nx::multiply(d, inv);
  if (y.dtype() != x0.dtype()) y = nx::as_type(y, x0.dtype());
  y = nx::multiply(y, call.input(1));
  if (call.has_input(2)) y = nx::add(y, call.input(2));
  return declared_outputs(call, {y, mean, inv});
}

std::vector<nx::Tensor> lp_normalization(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 1);
  const int64_t axis = norm_axis(call, call.attr_int("axis", -1), x.rank());
  const int64_t p = call.attr_int("p", 2);
  nx::Tensor norm;
  if (p == 1) {
    norm = nx::sum(nx::abs(x), {nx::Axes{axis}, true});
  } else if (p == 2) {
    norm = nx::sqrt(nx::sum(nx::square(x), {nx::Axes{axis}, true}));
  } else {
    call.fail("p must be 1 or 2, got " + std::to_string(p));
  }
  return {nx::divide(x, norm)};
}

std::vector<nx::Tensor> mean_variance_normalization(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 1);
  nx::Axes axes;
  for (int64_t a : call.attr_ints("axes", {0, 2, 3})) axes.push_back(norm_axis(call, a, x.rank()));
  const nx::Tensor mean = nx::mean(x, {axes, true});
  const nx::Tensor var = nx::subtract(nx::mean(nx::square(x), {axes, true}), nx::square(mean));
  return {nx::divide(nx::subtract(x, mean), nx::add(nx::sqrt(var), 1e-9))};
}

std::vector<nx::Tensor> lrn(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 3);
  const int64_t size = call.attr_int("size", 0);
  if (size < 1) call.fail("size must be a positive integer, got " + std::to_string(size));
  const double alpha = call.attr_float("alpha", 1e-4), beta = call.attr_float("beta", 0.75);
  const double bias = call.attr_float("bias", 1.0);
  nx::Shape window(static_cast<size_t>(x.rank()), 1);
  window[1] = size;
  std::vector<std::pair<int64_t, int64_t>> pairs(static_cast<size_t>(x.rank()), {0, 0});
  pairs[1] = {(size - 1) / 2, size - 1 - (size - 1) / 2};
  const nx::Tensor sq =
      nx::window_sum(nx::square(x), window, {.padding = nx::Padding::explicit_pairs(pairs)});
  const nx::Tensor denom = nx::pow(nx::add(nx::multiply(sq, alpha / size), bias), beta);
  return {nx::divide(x, denom)};
}

}  // namespace

void register_norm_ops() {
  register_op({"BatchNormalization", batch_norm, 1});
  register_op({"InstanceNormalization", instance_norm, 1});
  register_op({"LayerNormalization", layer_norm, 17});
  register_op({"LpNormalization", lp_normalization, 1});
  register_op({"MeanVarianceNormalization", mean_variance_normalization, 9});
  register_op({"LRN", lrn, 1});
}

}  // namespace axon::onnx_import::nn
