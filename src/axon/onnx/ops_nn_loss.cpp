// ONNX NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12..17): class axis 1,
// optional per-class weights, ignore_index, reduction none/sum/mean (mean divides by the sum of
// the weights of the targets that are not ignored, as ONNX and PyTorch). Written with nx ops
// (a gather along the class axis), which is exactly the ONNX formula.
#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

nx::Tensor nll(const OpCall& call, const nx::Tensor& input, const nx::Tensor& target,
               const std::optional<nx::Tensor>& weight) {
  if (input.rank() < 2)
    call.fail("input needs rank >= 2 (N, C, ...), got " + nx::type_string(input.type()));
  if (!nx::is_integer(target.dtype())) {
    call.fail("target must be integer, got " + nx::type_string(target.type()));
  }
  nx::Shape expect{input.shape()[0]};
  expect.insert(expect.end(), input.shape().begin() + 2, input.shape().end());
  if (target.shape() != expect) {
    call.fail("target must have shape " + nx::shape_repr(expect) + " for input " +
              nx::type_string(input.type()) + ", got " + nx::type_string(target.type()));
  }
  const std::string reduction = call.attr_string("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    call.fail("reduction must be none, sum or mean, got '" + reduction + "'");
  }
  nx::Tensor t = nx::as_type(target, nx::s64);
  std::optional<nx::Tensor> keep;
  if (call.has_attr("ignore_index")) {
    keep = nx::not_equal(t, nx::scalar_int(call.attr_int("ignore_index", 0), nx::s64));
    t = nx::select(*keep, t, nx::scalar_int(0, nx::s64));
  }
  const nx::Tensor picked = nx::squeeze(nx::take_along_axis(input, nx::new_axis(t, 1), 1), {1});
  std::optional<nx::Tensor> w;
  if (weight) w = nx::take(*weight, t, 0);
  if (keep) {
    const nx::Tensor zero = nx::zeros({}, input.dtype());
    w = nx::select(*keep, w ? *w : nx::ones({}, input.dtype()), zero);
  }
  nx::Tensor loss = nx::negate(w ? nx::multiply(picked, *w) : picked);
  if (w && w->shape() != loss.shape()) w = nx::broadcast(*w, loss.shape());
  if (reduction == "none") return loss;
  if (reduction == "sum") return nx::sum(loss);
  if (!w) return nx::mean(loss);
  return nx::divide(nx::sum(loss), nx::sum(*w));
}

std::optional<nx::Tensor> weight_input(const OpCall& call) {
  if (!call.has_input(2)) return std::nullopt;
  return call.input(2);
}

std::vector<nx::Tensor> nll_loss(const OpCall& call) {
  const nx::Tensor& input = float_input(call, 0);
  return {nll(call, input, call.input(1), weight_input(call))};
}

std::vector<nx::Tensor> softmax_cross_entropy(const OpCall& call) {
  const nx::Tensor& scores = float_input(call, 0, 2);
  const nx::Tensor log_prob = nx::log_softmax(scores, {1});
  return declared_outputs(call, {nll(call, log_prob, call.input(1), weight_input(call)), log_prob});
}

}  // namespace

void register_loss_ops() {
  register_op({"NegativeLogLikelihoodLoss", nll_loss, 12});
  register_op({"SoftmaxCrossEntropyLoss", softmax_cross_entropy, 12});
}

}  // namespace axon::onnx_import::nn
