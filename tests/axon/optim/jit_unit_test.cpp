// Every transformation and optimizer under nx::jit gives what it gives eagerly, compiles once,
// and keeps its state's structure and types from step to step (so states can be donated and
// carried through loops).
#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

struct Case {
  const char* name;
  std::function<optim::Transformation()> make;
};

std::vector<Case> cases() {
  return {
      {"identity", [] { return optim::identity(); }},
      {"scale", [] { return optim::scale(0.5); }},
      {"scale_by_state", [] { return optim::scale_by_state(-0.1); }},
      {"scale_by_learning_rate", [] { return optim::scale_by_learning_rate(0.01); }},
      {"scale_by_learning_rate_schedule",
       [] { return optim::scale_by_learning_rate(optim::cosine_decay(0.1, {.decay_steps = 3})); }},
      {"scale_by_schedule", [] { return optim::scale_by_schedule(optim::linear_decay(1.0)); }},
      {"scale_by_adam", [] { return optim::scale_by_adam(); }},
      {"scale_by_rss", [] { return optim::scale_by_rss(); }},
      {"scale_by_rms", [] { return optim::scale_by_rms(); }},
      {"scale_by_belief", [] { return optim::scale_by_belief(); }},
      {"scale_by_stddev", [] { return optim::scale_by_stddev(); }},
      {"scale_by_radam", [] { return optim::scale_by_radam({.b2 = 0.9}); }},
      {"trace", [] { return optim::trace(); }},
      {"trace_nesterov", [] { return optim::trace({.nesterov = true}); }},
      {"clip", [] { return optim::clip(0.5); }},
      {"clip_by_global_norm", [] { return optim::clip_by_global_norm(0.5); }},
      {"centralize", [] { return optim::centralize(); }},
      {"add_decayed_weights", [] { return optim::add_decayed_weights({.decay = 0.1}); }},
      {"scale_by_trust_ratio", [] { return optim::scale_by_trust_ratio(); }},
      {"add_noise", [] { return optim::add_noise({.seed = 3}); }},
      {"scale_by_yogi", [] { return optim::scale_by_yogi(); }},
      {"accumulate_gradients", [] { return optim::accumulate_gradients(optim::adam(), 2); }},
      {"masked",
       [] {
         return optim::masked(optim::adam(),
                              [](const std::string& p) { return p.starts_with("dense"); });
       }},
      {"chain",
       [] {
         return optim::chain({optim::clip_by_global_norm(1.0), optim::scale_by_adam(),
                              optim::scale_by_learning_rate(0.1)});
       }},
      {"adabelief", [] { return optim::adabelief(); }},
      {"adagrad", [] { return optim::adagrad(); }},
      {"adam", [] { return optim::adam(); }},
      {"adamw", [] { return optim::adamw({.decay = 0.01}); }},
      {"lamb", [] { return optim::lamb({.decay = 0.01}); }},
      {"noisy_sgd", [] { return optim::noisy_sgd(); }},
      {"radam", [] { return optim::radam(); }},
      {"rmsprop", [] { return optim::rmsprop(); }},
      {"rmsprop_centered_momentum",
       [] { return optim::rmsprop({.centered = true, .momentum = 0.9, .nesterov = true}); }},
      {"sgd", [] { return optim::sgd(); }},
      {"sgd_momentum", [] { return optim::sgd({.momentum = 0.9}); }},
      {"yogi", [] { return optim::yogi(); }},
      {"adamax", [] { return optim::adamax(); }},
      {"nadam", [] { return optim::nadam(); }},
      {"lion", [] { return optim::lion({.decay = 0.1}); }},
      {"adafactor", [] { return optim::adafactor(); }},
      {"adafactor_factored_momentum",
       [] {
         return optim::adafactor(
             {.learning_rate = 0.1, .b1 = 0.9, .min_dim_size_to_factor = 2, .decay = 0.01});
       }},
  };
}

class OptimJit : public ::testing::TestWithParam<Case> {};

TEST_P(OptimJit, EqualsEagerAndKeepsStateTypes) {
  for (nx::DType dtype : {nx::f32, nx::f64}) {
    optim::Transformation t = GetParam().make();
    auto step = jitted_update(t);
    Tree p = sample_params(dtype);
    Tree eager_state = t.init(p), jit_state = eager_state;
    Tree eager_params = p, jit_params = p;
    double rtol = dtype == nx::f64 ? 1e-13 : 2e-6;
    for (int i = 0; i < 4; ++i) {
      Tree g = sample_grads(i, dtype);
      optim::UpdateResult e = t.update(g, eager_state, eager_params);
      Tree j = step(g, jit_state, jit_params);
      std::string what = std::string(nx::dtype_name(dtype)) + " step " + std::to_string(i);
      expect_tree_near(Tree(j[0]), e.updates, rtol, 1e-12, what + " updates");
      expect_tree_near(Tree(j[1]), e.state, rtol, 1e-12, what + " state");
      // The state keeps its structure and types.
      ASSERT_TRUE(nx::same_structure(e.state, eager_state)) << what;
      std::vector<Tensor> before = nx::tree_leaves(eager_state), after = nx::tree_leaves(e.state);
      for (size_t k = 0; k < before.size(); ++k) {
        ASSERT_EQ(before[k].type(), after[k].type()) << what << " state leaf " << k;
      }
      eager_state = e.state;
      jit_state = j[1];
      eager_params = optim::apply_updates(eager_params, e.updates);
      jit_params = optim::apply_updates(jit_params, j[0]);
    }
    EXPECT_EQ(step.stats().compiles, 1) << nx::dtype_name(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(All, OptimJit, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace optim_unit
