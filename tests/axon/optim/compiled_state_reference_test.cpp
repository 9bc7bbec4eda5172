// Every row of the reference table, compiled and checkpointed:
//   - init and update under nx::jit (state donated, as a training step does) give the eager
//     trajectory, with one compilation for all 100 steps, hyperparameter changes included;
//   - the state after 40 steps, written to a safetensors file and read back into the structure
//     of a fresh init, is the same state (types and bytes), and training continues from it
//     exactly as from the original, eagerly and under the same compiled step.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "nx/defn.hpp"
#include "nx/io.hpp"
#include "reference_cases.hpp"

namespace optim_ref {
namespace {

// Compiled code fuses and reorders elementwise work; in f64 that moves results by a few ulp.
constexpr double kCompiledTolerance = 1e-11;

void apply_events(const std::vector<Event>& events, int64_t t, Tree& state) {
  for (const Event& e : events) {
    if (e.step == t) state = optim::set_hyperparameter(state, e.name, e.value);
  }
}

// One compiled training step: (params, state, grads) -> [params', state'].
auto compiled_step(const optim::Transformation& opt, const std::string& name,
                   std::vector<int> donate) {
  return nx::jit(
      [opt](const Tree& params, const Tree& state, const Tree& grads) {
        Step s = step(opt, params, state, grads);
        return Tree::list({s.params, s.state});
      },
      {.name = name + "_step", .donate = std::move(donate)});
}

class OptimizerCompiled : public ::testing::TestWithParam<std::string> {};

TEST_P(OptimizerCompiled, EqualsEagerEveryStep) {
  const std::string& name = GetParam();
  SCOPED_TRACE(describe_case(name));
  optim::Transformation opt = make_case(name);
  std::vector<Event> events = case_events(name);

  Tree params = initial_params();
  Tree state = opt.init(params);
  auto init = nx::jit([opt](const Tree& p) { return opt.init(p); }, {.name = name + "_init"});
  ASSERT_TRUE(bitwise_equal(init(params), state)) << "compiled init";

  auto compiled = compiled_step(opt, name, {0, 1});
  Tree cparams = initial_params(), cstate = init(cparams);
  double worst = 0;
  for (int64_t t = 0; t < reference().steps; ++t) {
    apply_events(events, t, state);
    apply_events(events, t, cstate);
    Step e = step(opt, params, state, gradients(t));
    params = e.params;
    state = e.state;
    Tree out = compiled(std::move(cparams), std::move(cstate), gradients(t));
    cparams = out[0];
    cstate = out[1];
    Diff dp = max_rel_diff(cparams, params);
    ASSERT_LE(dp.rel, kCompiledTolerance) << "params after step " << t + 1 << ": " << dp.where;
    ASSERT_TRUE(nx::same_structure(cstate, state)) << cstate << " vs " << state;
    Diff ds = max_rel_diff(cstate, state);
    ASSERT_LE(ds.rel, kCompiledTolerance) << "state after step " << t + 1 << ": " << ds.where;
    worst = std::max({worst, dp.rel, ds.rel});
  }
  std::printf("[ compiled  ] %-28s max rel diff from eager %.2e\n", name.c_str(), worst);
  // The state keeps its types from step to step, and hyperparameters are state: one signature.
  EXPECT_EQ(compiled.stats().compiles, 1);
}

INSTANTIATE_TEST_SUITE_P(Table, OptimizerCompiled, ::testing::ValuesIn(case_names()), param_name);

// The tree of `like`'s structure with the leaves of a flat map from dotted paths.
Tree restore(const Tree& like, const Tree& flat) {
  std::vector<Tensor> leaves;
  for (const nx::PathLeaf& pl : nx::tree_flatten_with_paths(like)) {
    leaves.push_back(flat[pl.path].leaf());
  }
  return nx::tree_unflatten(nx::tree_structure(like), leaves);
}

// The documented state layout: counts s64 scalars, PRNG keys u32[2], hyperparameters (and
// NAdam's mu_product) f64 scalars, moments and accumulators in the parameters' dtype (f32 or
// f64).
void expect_documented_dtypes(const Tree& state, nx::DType param_dtype) {
  for (const nx::PathLeaf& pl : nx::tree_flatten_with_paths(state)) {
    const std::string last = pl.path.substr(pl.path.rfind('.') + 1);
    const Tensor& t = pl.tensor;
    if (pl.path.find("hyperparams.") != std::string::npos || last == "mu_product") {
      EXPECT_EQ(t.type(), (nx::TensorType{{}, nx::f64})) << pl.path;
    } else if (last == "key") {
      EXPECT_EQ(t.type(), (nx::TensorType{{2}, nx::u32})) << pl.path;
    } else if (!nx::is_float(t.dtype())) {
      EXPECT_EQ(t.type(), (nx::TensorType{{}, nx::s64})) << pl.path;
    } else {
      EXPECT_EQ(t.dtype(), param_dtype) << pl.path;
    }
  }
}

class OptimizerCheckpoint : public ::testing::TestWithParam<std::tuple<std::string, nx::DType>> {};

TEST_P(OptimizerCheckpoint, StateRoundTripsThroughSafetensors) {
  const auto& [name, dtype] = GetParam();
  SCOPED_TRACE(describe_case(name) + " in " + std::string(nx::dtype_name(dtype)));
  optim::Transformation opt = make_case(name);
  std::vector<Event> events = case_events(name);
  constexpr int64_t kSaveAt = 40;

  Tree params = initial_params(dtype);
  Tree state = opt.init(params);
  expect_documented_dtypes(state, dtype);
  for (int64_t t = 0; t < kSaveAt; ++t) {
    apply_events(events, t, state);
    Step s = step(opt, params, state, gradients(t, dtype));
    params = s.params;
    state = s.state;
  }

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() /
      ("axon_optim_" + name + "_" + std::string(nx::dtype_name(dtype)) + "_" +
       std::to_string(::getpid()) + ".safetensors");
  nx::io::save_safetensors(file, state, {{"optimizer", name}});
  nx::io::Safetensors loaded = nx::io::load_safetensors(file);
  std::filesystem::remove(file);
  EXPECT_EQ(loaded.metadata.at("optimizer"), name);
  // A resuming process knows the optimizer, so it takes the structure from a fresh init.
  Tree restored = restore(opt.init(initial_params(dtype)), loaded.tensors);
  ASSERT_TRUE(bitwise_equal(restored, state));

  auto compiled = compiled_step(opt, name, {});
  Tree p1 = params, s1 = state, p2 = params, s2 = restored;
  for (int64_t t = kSaveAt; t < reference().steps; ++t) {
    apply_events(events, t, s1);
    apply_events(events, t, s2);
    Step a = step(opt, p1, s1, gradients(t, dtype));
    Step b = step(opt, p2, s2, gradients(t, dtype));
    ASSERT_TRUE(bitwise_equal(a.params, b.params)) << "params after step " << t + 1;
    ASSERT_TRUE(bitwise_equal(a.state, b.state)) << "state after step " << t + 1;
    if (t == kSaveAt) {
      // The restored state has the signature of the live one: the same executable serves it.
      Tree ca = compiled(p1, s1, gradients(t, dtype));
      Tree cb = compiled(p2, s2, gradients(t, dtype));
      EXPECT_TRUE(bitwise_equal(ca, cb)) << "compiled step from the restored state";
      EXPECT_EQ(compiled.stats().compiles, 1) << "the restored state recompiled the step";
    }
    p1 = a.params, s1 = a.state, p2 = b.params, s2 = b.state;
  }
}

std::string checkpoint_name(
    const ::testing::TestParamInfo<std::tuple<std::string, nx::DType>>& info) {
  return std::get<0>(info.param) + "_" + std::string(nx::dtype_name(std::get<1>(info.param)));
}

INSTANTIATE_TEST_SUITE_P(Table, OptimizerCheckpoint,
                         ::testing::Combine(::testing::ValuesIn(case_names()),
                                            ::testing::Values(nx::f64, nx::f32)),
                         checkpoint_name);

}  // namespace
}  // namespace optim_ref
