// Axon.Activations as compositions of nx ops. Piecewise functions are written with nx::select so
// that the branch not taken never sees an input that overflows (its cotangent is zero, and
// 0 * inf would be NaN), and so that the gradient at a kink is the one PyTorch uses.
#include "axon/fn/activations.hpp"

#include <array>
#include <string>
#include <utility>

#include "axon/fn/check.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"

namespace axon::fn {

namespace {

/// clip(x, lo, hi) whose gradient is 1 strictly inside (lo, hi) and 0 elsewhere, including at
/// lo and hi (PyTorch's hardtanh/relu6; nx::clip would give 1/2 there, from max/min ties).
Tensor clip_open(const Tensor& x, double lo, double hi) {
  Tensor inside = nx::logical_and(nx::greater(x, lo), nx::less(x, hi));
  return nx::select(inside, x, nx::clip(nx::stop_grad(x), lo, hi));
}

/// x where x <= 0, else 0: the input of a negative branch that must not overflow.
Tensor non_positive(const Tensor& x) {
  return nx::select(nx::greater(x, 0.0), nx::zeros_like(x), x);
}

/// opts.axis made non-negative for x, or nx::Error naming `fn`.
nx::Axes reduce_axes(std::string_view fn, const Tensor& x, const SoftmaxOptions& opts) {
  if (opts.axis.empty()) detail::fail(fn, "axis must name at least one axis, got none");
  nx::Axes axes;
  for (int64_t a : opts.axis) {
    int64_t n = detail::normalize_axis(fn, "axis", a, x.rank());
    for (int64_t b : axes) {
      if (b == n) detail::fail(fn, "axis lists axis " + std::to_string(a) + " twice");
    }
    axes.push_back(n);
  }
  return axes;
}

/// x - stop_grad(max(x)) over `axes` (kept), with a 0 shift where the max is not finite so that
/// all -inf slices stay -inf instead of NaN.
Tensor shift_by_max(const Tensor& x, const nx::Axes& axes) {
  Tensor m = nx::reduce_max(x, {axes, true});
  m = nx::select(nx::is_finite(m), m, nx::zeros_like(m));
  return nx::subtract(x, nx::stop_grad(m));
}

}  // namespace

Tensor celu(const Tensor& x, const CeluOptions& opts) {
  if (opts.alpha == 0.0) detail::fail("celu", "alpha must not be 0, got 0");
  Tensor neg = nx::multiply(opts.alpha, nx::expm1(nx::divide(non_positive(x), opts.alpha)));
  return nx::select(nx::greater(x, 0.0), x, neg);
}

Tensor elu(const Tensor& x, const EluOptions& opts) {
  Tensor neg = nx::multiply(opts.alpha, nx::expm1(non_positive(x)));
  return nx::select(nx::greater(x, 0.0), x, neg);
}

Tensor exp(const Tensor& x) {
  return nx::exp(x);
}

Tensor gelu(const Tensor& x) {
  constexpr double kRsqrt2 = 0.70710678118654752440;
  // 1 + erf(z) = erfc(-z): the same function, without the cancellation for negative x.
  return nx::multiply(nx::multiply(x, 0.5), nx::erfc(nx::multiply(x, -kRsqrt2)));
}

Tensor hard_sigmoid(const Tensor& x, const HardSigmoidOptions& opts) {
  return clip_open(nx::add(nx::multiply(x, opts.alpha), opts.beta), 0.0, 1.0);
}

Tensor hard_silu(const Tensor& x, const HardSigmoidOptions& opts) {
  return nx::multiply(x, fn::hard_sigmoid(x, opts));
}

Tensor hard_tanh(const Tensor& x) {
  return clip_open(x, -1.0, 1.0);
}

Tensor leaky_relu(const Tensor& x, const LeakyReluOptions& opts) {
  return nx::select(nx::greater(x, 0.0), x, nx::multiply(x, opts.alpha));
}

Tensor linear(const Tensor& x) {
  return x;
}

Tensor log_sumexp(const Tensor& x, const SoftmaxOptions& opts) {
  nx::Axes axes = reduce_axes("log_sumexp", x, opts);
  Tensor m = nx::reduce_max(x, {axes, true});
  m = nx::stop_grad(nx::select(nx::is_finite(m), m, nx::zeros_like(m)));
  return nx::add(nx::log(nx::sum(nx::exp(nx::subtract(x, m)), {axes, true})), m);
}

Tensor log_sigmoid(const Tensor& x) {
  return nx::negate(fn::softplus(nx::negate(x)));
}

Tensor log_softmax(const Tensor& x, const SoftmaxOptions& opts) {
  nx::Axes axes = reduce_axes("log_softmax", x, opts);
  Tensor shifted = shift_by_max(x, axes);
  return nx::subtract(shifted, nx::log(nx::sum(nx::exp(shifted), {axes, true})));
}

Tensor mish(const Tensor& x) {
  return nx::multiply(x, nx::tanh(fn::softplus(x)));
}

Tensor relu(const Tensor& x) {
  Tensor value = nx::max(x, nx::zeros_like(x));
  return nx::custom_grad(value, {x}, [x](const Tensor& g) {
    return std::vector<Tensor>{nx::select(nx::greater(x, 0.0), g, nx::zeros_like(g))};
  });
}

Tensor relu6(const Tensor& x) {
  return clip_open(x, 0.0, 6.0);
}

Tensor sigmoid(const Tensor& x) {
  return nx::sigmoid(x);
}

Tensor silu(const Tensor& x) {
  return nx::multiply(x, nx::sigmoid(x));
}

Tensor selu(const Tensor& x, const SeluOptions& opts) {
  return nx::multiply(opts.gamma, fn::elu(x, {.alpha = opts.alpha}));
}

Tensor softmax(const Tensor& x, const SoftmaxOptions& opts) {
  nx::Axes axes = reduce_axes("softmax", x, opts);
  Tensor e = nx::exp(shift_by_max(x, axes));
  return nx::divide(e, nx::sum(e, {axes, true}));
}

Tensor softplus(const Tensor& x) {
  // Axon's log1p(exp(-|x|)) + max(x, 0), with |x| and max(x, 0) split on the same predicate:
  // with nx's abs'(0) = 1 and max's tie rule (1/2) the gradient at 0 would be 0, not
  // sigmoid(0) = 1/2.
  Tensor pos = nx::greater_equal(x, 0.0);
  Tensor abs = nx::select(pos, x, nx::negate(x));
  Tensor relu = nx::select(pos, x, nx::zeros_like(x));
  return nx::add(nx::log1p(nx::exp(nx::negate(abs))), relu);
}

Tensor softsign(const Tensor& x) {
  return nx::divide(x, nx::add(nx::abs(x), 1.0));
}

Tensor tanh(const Tensor& x) {
  return nx::tanh(x);
}

namespace {

struct Named {
  std::string_view name;
  Tensor (*fn)(const Tensor&);
};

// Activations with options are called with their defaults.
constexpr std::array<Named, 22> kActivations{{
    {"celu", [](const Tensor& x) { return fn::celu(x); }},
    {"elu", [](const Tensor& x) { return fn::elu(x); }},
    {"exp", [](const Tensor& x) { return fn::exp(x); }},
    {"gelu", [](const Tensor& x) { return fn::gelu(x); }},
    {"hard_sigmoid", [](const Tensor& x) { return fn::hard_sigmoid(x); }},
    {"hard_silu", [](const Tensor& x) { return fn::hard_silu(x); }},
    {"hard_tanh", [](const Tensor& x) { return fn::hard_tanh(x); }},
    {"leaky_relu", [](const Tensor& x) { return fn::leaky_relu(x); }},
    {"linear", [](const Tensor& x) { return fn::linear(x); }},
    {"log_sumexp", [](const Tensor& x) { return fn::log_sumexp(x); }},
    {"log_sigmoid", [](const Tensor& x) { return fn::log_sigmoid(x); }},
    {"log_softmax", [](const Tensor& x) { return fn::log_softmax(x); }},
    {"mish", [](const Tensor& x) { return fn::mish(x); }},
    {"relu", [](const Tensor& x) { return fn::relu(x); }},
    {"relu6", [](const Tensor& x) { return fn::relu6(x); }},
    {"sigmoid", [](const Tensor& x) { return fn::sigmoid(x); }},
    {"silu", [](const Tensor& x) { return fn::silu(x); }},
    {"selu", [](const Tensor& x) { return fn::selu(x); }},
    {"softmax", [](const Tensor& x) { return fn::softmax(x); }},
    {"softplus", [](const Tensor& x) { return fn::softplus(x); }},
    {"softsign", [](const Tensor& x) { return fn::softsign(x); }},
    {"tanh", [](const Tensor& x) { return fn::tanh(x); }},
}};

}  // namespace

Activation activation(std::string_view name) {
  for (const Named& a : kActivations) {
    if (a.name == name) return a.fn;
  }
  std::string valid;
  for (const Named& a : kActivations) valid += (valid.empty() ? "" : ", ") + std::string(a.name);
  detail::fail("activation",
               "unknown activation \"" + std::string(name) + "\", expected one of: " + valid);
}

Tensor activate(const Tensor& x, std::string_view name) {
  return activation(name)(x);
}

}  // namespace axon::fn
