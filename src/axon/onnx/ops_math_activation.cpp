// ONNX activation converters, each ONNX's formula and attribute defaults written with nx ops.
// Exponentials only ever see min(x, 0), so the branch that select() discards cannot overflow
// and poison gradients with inf * 0. Gelu (opset 20) and Mish (opset 18) are outside 7..17.
#include <string>
#include <vector>

#include "ops_math_internal.hpp"

namespace axon::onnx_import::math {
namespace {

using nx::Tensor;
using Formula = Tensor (*)(const OpCall&, const Tensor&);

// Registers an activation of one input whose formula reads the node's attributes.
void add_activation(const std::string& op, int64_t since, Formula formula) {
  register_op({op,
               [formula](const OpCall& call) {
                 require_float(call, 0);
                 return std::vector<Tensor>{formula(call, call.input(0))};
               },
               since});
}

Tensor relu(const OpCall& call, const Tensor& x) {
  (void)call;
  return nx::max(x, 0);
}

// alpha * x for x < 0, x otherwise.
Tensor leaky_relu(const OpCall& call, const Tensor& x) {
  return nx::select(nx::less(x, 0), x * call.attr_float("alpha", 0.01), x);
}

// alpha * (exp(x) - 1) for x < 0, x otherwise.
Tensor elu(const OpCall& call, const Tensor& x) {
  const double alpha = call.attr_float("alpha", 1.0);
  return nx::select(nx::less(x, 0), nx::expm1(nx::min(x, 0)) * alpha, x);
}

// gamma * (alpha * (exp(x) - 1)) for x <= 0, gamma * x otherwise.
// Selu-1 (opsets 1-5) had shorter default constants.
Tensor selu(const OpCall& call, const Tensor& x) {
  const bool v1 = call.opset() < 6;
  const double alpha = call.attr_float("alpha", v1 ? 1.673200011253357 : 1.67326319217681884765625);
  const double gamma =
      call.attr_float("gamma", v1 ? 1.0506999492645264 : 1.05070102214813232421875);
  return nx::select(nx::greater(x, 0), x, nx::expm1(nx::min(x, 0)) * alpha) * gamma;
}

// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
Tensor celu(const OpCall& call, const Tensor& x) {
  const double alpha = call.attr_float("alpha", 1.0);
  return nx::max(x, 0) + nx::expm1(nx::min(x, 0) / alpha) * alpha;
}

Tensor sigmoid(const OpCall& call, const Tensor& x) {
  (void)call;
  return nx::sigmoid(x);
}

// max(0, min(1, alpha * x + beta)).
Tensor hard_sigmoid(const OpCall& call, const Tensor& x) {
  const double alpha = call.attr_float("alpha", 0.2);
  const double beta = call.attr_float("beta", 0.5);
  return nx::max(nx::min(x * alpha + beta, 1), 0);
}

// x * max(0, min(1, x / 6 + 1 / 2)).
Tensor hard_swish(const OpCall& call, const Tensor& x) {
  (void)call;
  return x * nx::max(nx::min(x * (1.0 / 6.0) + 0.5, 1), 0);
}

Tensor tanh(const OpCall& call, const Tensor& x) {
  (void)call;
  return nx::tanh(x);
}

// log(exp(x) + 1), as max(x, 0) + log1p(exp(-|x|)) so that large x does not overflow.
Tensor softplus(const OpCall& call, const Tensor& x) {
  (void)call;
  return nx::max(x, 0) + nx::log1p(nx::exp(-nx::abs(x)));
}

// x / (1 + |x|).
Tensor softsign(const OpCall& call, const Tensor& x) {
  (void)call;
  return x / (nx::abs(x) + 1);
}

// x for x > alpha, 0 otherwise.
Tensor thresholded_relu(const OpCall& call, const Tensor& x) {
  return nx::select(nx::greater(x, call.attr_float("alpha", 1.0)), x, 0);
}

// PRelu: slope * x for x < 0, x otherwise; slope broadcasts to x (unidirectionally).
std::vector<Tensor> prelu_op(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& slope = call.input(1);
  if (slope.dtype() != x.dtype()) {
    call.fail("slope must have the dtype of X (" + std::string(nx::dtype_name(x.dtype())) +
              "), got " + std::string(nx::dtype_name(slope.dtype())));
  }
  bool fits = slope.rank() <= x.rank();
  for (int64_t i = 1; fits && i <= slope.rank(); ++i) {
    const int64_t s = slope.shape()[static_cast<size_t>(slope.rank() - i)];
    fits = s == 1 || s == x.shape()[static_cast<size_t>(x.rank() - i)];
  }
  if (!fits) {
    call.fail("slope of shape " + nx::shape_repr(slope.shape()) +
              " does not broadcast to X's shape " + nx::shape_repr(x.shape()));
  }
  return {nx::select(nx::less(x, 0), x * slope, x)};
}

// Relu takes integers too (opset 14).
std::vector<Tensor> relu_op(const OpCall& call) {
  return {relu(call, call.input(0))};
}

// Shrink: x + bias for x < -lambd, x - bias for x > lambd, 0 otherwise; any numeric type.
std::vector<Tensor> shrink_op(const OpCall& call) {
  const Tensor& x = call.input(0);
  const double lambd = call.attr_float("lambd", 0.5);
  const double bias = call.attr_float("bias", 0.0);
  const nx::DType dtype = x.dtype();
  const Tensor zero = nx::scalar(0, dtype);
  Tensor y = nx::select(nx::less(x, -lambd), keep_type(x + bias, dtype),
                        nx::select(nx::greater(x, lambd), keep_type(x - bias, dtype), zero));
  return {y};
}

}  // namespace

// Versions 1 of Relu, LeakyRelu, Elu, Selu, Sigmoid, HardSigmoid and Tanh differ from 6 only by
// the consumed_inputs attribute, which is ignored (and by Selu's defaults). PRelu before 7
// broadcast the slope differently.
void register_activation_ops() {
  register_op({"Relu", relu_op, 1});
  add_activation("LeakyRelu", 1, leaky_relu);
  register_op({"PRelu", prelu_op, 7});
  add_activation("Elu", 1, elu);
  add_activation("Selu", 1, selu);
  add_activation("Celu", 12, celu);
  add_activation("Sigmoid", 1, sigmoid);
  add_activation("HardSigmoid", 1, hard_sigmoid);
  add_activation("HardSwish", 14, hard_swish);
  add_activation("Tanh", 1, tanh);
  add_activation("Softplus", 1, softplus);
  add_activation("Softsign", 1, softsign);
  add_activation("ThresholdedRelu", 10, thresholded_relu);
  register_op({"Shrink", shrink_op, 9});
}

}  // namespace axon::onnx_import::math
