// The optimizers: chains of transformations ending in the learning-rate stage (Polaris's
// Optimizers, plus AdaMax, NAdam, Lion and Adafactor), and lookup by name.
#include <algorithm>
#include <string>
#include <utility>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim {

using detail::named_chain;

Transformation adabelief(const AdabeliefOptions& o) {
  return named_chain("adabelief", {scale_by_belief({o.b1, o.b2, o.eps, o.eps_root}),
                                   scale_by_learning_rate(o.learning_rate)});
}

Transformation adagrad(const AdagradOptions& o) {
  return named_chain("adagrad", {scale_by_rss({o.initial_accumulator_value, o.eps}),
                                 scale_by_learning_rate(o.learning_rate)});
}

Transformation adam(const AdamOptimizerOptions& o) {
  return named_chain("adam", {scale_by_adam({o.b1, o.b2, o.eps, o.eps_root}),
                              scale_by_learning_rate(o.learning_rate)});
}

Transformation adamw(const AdamwOptions& o) {
  return named_chain(
      "adamw", {scale_by_adam({o.b1, o.b2, o.eps, o.eps_root}), add_decayed_weights({o.decay}),
                scale_by_learning_rate(o.learning_rate)});
}

Transformation lamb(const LambOptions& o) {
  return named_chain(
      "lamb",
      {scale_by_adam({o.b1, o.b2, o.eps, o.eps_root}), add_decayed_weights({o.decay}),
       scale_by_trust_ratio({.min_norm = o.min_norm}), scale_by_learning_rate(o.learning_rate)});
}

Transformation noisy_sgd(const NoisySgdOptions& o) {
  return named_chain(
      "noisy_sgd", {scale_by_learning_rate(o.learning_rate), add_noise({o.eta, o.gamma, o.seed})});
}

Transformation radam(const RadamOptimizerOptions& o) {
  return named_chain("radam", {scale_by_radam({o.b1, o.b2, o.eps, o.eps_root, o.threshold}),
                               scale_by_learning_rate(o.learning_rate)});
}

Transformation rmsprop(const RmspropOptions& o) {
  RmsOptions rms{o.initial_scale, o.decay, o.eps};
  std::vector<Transformation> ts{o.centered ? scale_by_stddev(rms) : scale_by_rms(rms),
                                 scale_by_learning_rate(o.learning_rate)};
  // Polaris puts the momentum after the learning rate, so the buffer holds rate-scaled steps
  // (the same as torch.optim.RMSprop while the rate is constant).
  if (o.momentum) ts.push_back(trace({*o.momentum, o.nesterov}));
  return named_chain("rmsprop", std::move(ts));
}

Transformation sgd(const SgdOptions& o) {
  std::vector<Transformation> ts;
  if (o.momentum) ts.push_back(trace({*o.momentum, o.nesterov}));
  ts.push_back(scale_by_learning_rate(o.learning_rate));
  return named_chain("sgd", std::move(ts));
}

Transformation yogi(const YogiOptimizerOptions& o) {
  return named_chain("yogi",
                     {scale_by_yogi({o.initial_accumulator_value, o.b1, o.b2, o.eps, o.eps_root}),
                      scale_by_learning_rate(o.learning_rate)});
}

Transformation adamax(const AdamaxOptions& o) {
  return named_chain("adamax", {detail::scale_by_adamax(o.b1, o.b2, o.eps),
                                scale_by_learning_rate(o.learning_rate)});
}

Transformation nadam(const NadamOptions& o) {
  return named_chain("nadam", {detail::scale_by_nadam(o.b1, o.b2, o.eps, o.momentum_decay),
                               scale_by_learning_rate(o.learning_rate)});
}

Transformation lion(const LionOptions& o) {
  return named_chain("lion", {detail::scale_by_lion(o.b1, o.b2), add_decayed_weights({o.decay}),
                              scale_by_learning_rate(o.learning_rate)});
}

Transformation adafactor(const AdafactorOptions& o) {
  std::vector<Transformation> ts{
      detail::scale_by_factored_rms(o.decay_rate, o.eps1, o.min_dim_size_to_factor)};
  if (o.clipping_threshold) ts.push_back(detail::clip_by_block_rms(*o.clipping_threshold));
  // The paper's relative step size when no rate is given: min(1e-2, 1 / sqrt(t)).
  Rate relative = Schedule([](const Tensor& count) {
    return nx::min(nx::rsqrt(nx::as_type(count + 1, nx::f64)), nx::scalar(1e-2, nx::f64));
  });
  ts.push_back(
      detail::learning_rate_stage(o.learning_rate ? *o.learning_rate : relative, 1.0, "adafactor"));
  if (o.multiply_by_parameter_scale) ts.push_back(detail::scale_by_param_block_rms(o.eps2));
  if (o.b1) ts.push_back(detail::ema(*o.b1));
  ts.push_back(add_decayed_weights({o.decay}));
  ts.push_back(scale(-1.0));
  return named_chain("adafactor", std::move(ts));
}

Transformation by_name(const std::string& name) {
  static const std::vector<std::pair<const char*, Transformation (*)()>> kOptimizers = {
      {"adabelief", [] { return adabelief(); }},
      {"adagrad", [] { return adagrad(); }},
      {"adam", [] { return adam(); }},
      {"adamw", [] { return adamw(); }},
      {"lamb", [] { return lamb(); }},
      {"noisy_sgd", [] { return noisy_sgd(); }},
      {"radam", [] { return radam(); }},
      {"rmsprop", [] { return rmsprop(); }},
      {"sgd", [] { return sgd(); }},
      {"yogi", [] { return yogi(); }},
      {"adamax", [] { return adamax(); }},
      {"nadam", [] { return nadam(); }},
      {"lion", [] { return lion(); }},
      {"adafactor", [] { return adafactor(); }},
  };
  for (const auto& [n, make] : kOptimizers) {
    if (name == n) return make();
  }
  std::string names;
  for (const auto& [n, make] : kOptimizers) names += (names.empty() ? "" : ", ") + std::string(n);
  throw nx::Error("axon::optim::by_name: unknown optimizer \"" + name + "\"; the names are " +
                  names);
}

}  // namespace axon::optim
