// axon::fn activations: Axon.Activations as pure compositions of nx ops, so each runs eagerly,
// traces under nx::jit and differentiates under nx::grad.
//
//   namespace fn = axon::fn;
//   Tensor h = fn::relu(x);
//   Tensor p = fn::softmax(logits);                        // over the last axis
//   Tensor q = fn::log_softmax(logits, {.axis = {1, 2}});  // over several axes
//   Tensor s = fn::hard_sigmoid(x, {.alpha = 0.2, .beta = 0.5});  // Keras's variant
//
//   // By Axon's atom name, e.g. for a layer's `activation` option:
//   fn::Activation act = fn::activation("gelu");
//   Tensor y = act(x);                 // same as fn::activate(x, "gelu")
//
// Every activation keeps its input's shape and floating dtype (integer inputs follow the nx op
// they go through). Formulas are Axon's (docs/axon-fn-activations.md lists them): gelu is the
// exact erf form; softmax, log_softmax and log_sumexp subtract the max behind nx::stop_grad;
// relu's gradient is the cotangent where x > 0 and 0 elsewhere (also at 0).
//
// Deviation from Axon: Axon's sigmoid and softmax attach the input as "logits" metadata that its
// losses read to work from logits. nx tensors carry no metadata, so the losses here take an
// explicit `from_logits` option instead.
#pragma once

#include <functional>
#include <string_view>

#include "axon/fn/common.hpp"
#include "nx/shape.hpp"

namespace axon::fn {

/// Options of celu.
struct CeluOptions {
  double alpha = 1.0;  ///< scale and inverse input scale of the negative part; must not be 0
};
/// Options of elu.
struct EluOptions {
  double alpha = 1.0;  ///< scale of the negative part
};
/// Options of hard_sigmoid and hard_silu (Axon's defaults: beta 0.2, not Keras's 0.5).
struct HardSigmoidOptions {
  double alpha = 0.2;  ///< slope
  double beta = 0.2;   ///< offset: hard_sigmoid(0) = beta
};
/// Options of leaky_relu.
struct LeakyReluOptions {
  double alpha = 0.01;  ///< slope of the negative part
};
/// Options of selu.
struct SeluOptions {
  double alpha = 1.6732632423543772;  ///< elu's alpha
  double gamma = 1.0507009873554805;  ///< output scale
};
/// Options of softmax, log_softmax and log_sumexp: the axes reduced over (negative from the end).
struct SoftmaxOptions {
  nx::Axes axis = {-1};  ///< one or more axes
};

/// x > 0 ? x : alpha * expm1(x / alpha).
Tensor celu(const Tensor& x, const CeluOptions& opts = {});
/// x > 0 ? x : alpha * expm1(x).
Tensor elu(const Tensor& x, const EluOptions& opts = {});
/// e^x.
Tensor exp(const Tensor& x);
/// x * (1 + erf(x / sqrt(2))) / 2 (exact, no tanh approximation; computed with erfc).
Tensor gelu(const Tensor& x);
/// clip(alpha * x + beta, 0, 1).
Tensor hard_sigmoid(const Tensor& x, const HardSigmoidOptions& opts = {});
/// x * hard_sigmoid(x, opts).
Tensor hard_silu(const Tensor& x, const HardSigmoidOptions& opts = {});
/// clip(x, -1, 1).
Tensor hard_tanh(const Tensor& x);
/// x > 0 ? x : alpha * x.
Tensor leaky_relu(const Tensor& x, const LeakyReluOptions& opts = {});
/// x (the identity).
Tensor linear(const Tensor& x);
/// log(sum(exp(x))) over opts.axis, max-shifted; the reduced axes are kept with size 1.
Tensor log_sumexp(const Tensor& x, const SoftmaxOptions& opts = {});
/// -softplus(-x), stable for large |x|.
Tensor log_sigmoid(const Tensor& x);
/// x - log_sumexp(x) over opts.axis, max-shifted.
Tensor log_softmax(const Tensor& x, const SoftmaxOptions& opts = {});
/// x * tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// max(x, 0); gradient: the cotangent where x > 0, else 0.
Tensor relu(const Tensor& x);
/// min(max(x, 0), 6).
Tensor relu6(const Tensor& x);
/// 1 / (1 + e^-x).
Tensor sigmoid(const Tensor& x);
/// x * sigmoid(x).
Tensor silu(const Tensor& x);
/// gamma * elu(x, alpha).
Tensor selu(const Tensor& x, const SeluOptions& opts = {});
/// exp(x - max) / sum(exp(x - max)) over opts.axis.
Tensor softmax(const Tensor& x, const SoftmaxOptions& opts = {});
/// log1p(exp(-|x|)) + max(x, 0), stable for large |x|.
Tensor softplus(const Tensor& x);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// tanh(x).
Tensor tanh(const Tensor& x);

/// An activation as a value: a function of one tensor.
using Activation = std::function<Tensor(const Tensor&)>;

/// The activation named by Axon's atom ("relu", "gelu", "softmax", ...), with default options.
/// Throws nx::Error listing the valid names for an unknown one.
Activation activation(std::string_view name);

/// activation(name)(x).
Tensor activate(const Tensor& x, std::string_view name);

}  // namespace axon::fn
