// Every row of the reference table (gen_optim_reference.py): the optimizer's parameters after each
// of 100 steps match torch.optim's, or the NumPy transcription of the paper's rule, to 1e-5
// relative in float64. Schedules match their transcriptions at counts 0..129.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "nx/defn.hpp"
#include "reference_cases.hpp"

namespace optim_ref {
namespace {

constexpr double kTolerance = 1e-5;
constexpr double kScheduleTolerance = 1e-12;

TEST(OptimReferenceData, Loads) {
  const Reference& r = reference();
  EXPECT_EQ(r.steps, 100);
  EXPECT_GE(r.case_names.size(), 30u);
  EXPECT_GE(r.schedule_names.size(), 10u);
  EXPECT_EQ(r.leaf_paths.size(), 4u);
}

class OptimizerReference : public ::testing::TestWithParam<std::string> {};

// Eagerly, step by step: the parameters after step t are compared with the reference's.
TEST_P(OptimizerReference, MatchesEveryStep) {
  const std::string& name = GetParam();
  SCOPED_TRACE(describe_case(name));
  if (case_reference(name) == "statistical") GTEST_SKIP() << "tested by noise_reference_test";
  optim::Transformation opt = make_case(name);
  std::vector<Event> events = case_events(name);
  Tree params = initial_params();
  Tree state = opt.init(params);
  double worst = 0;
  for (int64_t t = 0; t < reference().steps; ++t) {
    for (const Event& e : events) {
      if (e.step == t) state = optim::set_hyperparameter(state, e.name, e.value);
    }
    Step s = step(opt, params, state, gradients(t));
    params = s.params;
    state = s.state;
    Diff d = max_rel_diff(params, expected_params(name, t));
    worst = std::max(worst, d.rel);
    ASSERT_LE(d.rel, kTolerance) << "after step " << t + 1 << ": " << d.where;
  }
  // The worst deviation of each row, for the record (ctest -V shows it).
  std::printf("[ reference ] %-28s max rel diff %.2e  (%s)\n", name.c_str(), worst,
              describe_case(name).c_str());
}

INSTANTIATE_TEST_SUITE_P(Table, OptimizerReference, ::testing::ValuesIn(case_names()), param_name);

// by_name gives each optimizer with its default options: the same trajectory as the function.
TEST(OptimizerByName, IsTheDefaultOptimizer) {
  const std::vector<std::pair<std::string, optim::Transformation>> defaults = {
      {"adabelief", optim::adabelief()},
      {"adagrad", optim::adagrad()},
      {"adam", optim::adam()},
      {"adamw", optim::adamw()},
      {"lamb", optim::lamb()},
      {"noisy_sgd", optim::noisy_sgd()},
      {"radam", optim::radam()},
      {"rmsprop", optim::rmsprop()},
      {"sgd", optim::sgd()},
      {"yogi", optim::yogi()},
      {"adamax", optim::adamax()},
      {"nadam", optim::nadam()},
      {"lion", optim::lion()},
      {"adafactor", optim::adafactor()}};
  for (const auto& [name, want] : defaults) {
    SCOPED_TRACE(name);
    optim::Transformation got = optim::by_name(name);
    Tree p1 = initial_params(), p2 = p1;
    Tree s1 = got.init(p1), s2 = want.init(p2);
    for (int64_t t = 0; t < 5; ++t) {
      Step a = step(got, p1, s1, gradients(t));
      Step b = step(want, p2, s2, gradients(t));
      p1 = a.params, s1 = a.state, p2 = b.params, s2 = b.state;
    }
    EXPECT_TRUE(bitwise_equal(p1, p2));
    EXPECT_TRUE(bitwise_equal(s1, s2));
  }
  EXPECT_THROW(optim::by_name("adamm"), nx::Error);
}

// ---- schedules --------------------------------------------------------------------------------

class ScheduleReference : public ::testing::TestWithParam<std::string> {};

// Eager and compiled: the value at every count is the transcription's (schedules compute in
// f64: only the last bits of cos and pow may differ).
TEST_P(ScheduleReference, MatchesEveryCount) {
  const std::string& name = GetParam();
  optim::Schedule s = make_schedule(name);
  const Tensor& want = array("schedule." + name);
  auto compiled = nx::jit([s](const Tensor& count) { return s(count); });
  for (int64_t t = 0; t < reference().schedule_counts; ++t) {
    Tensor count = nx::scalar_int(t, nx::s64);
    Tensor eager = s(count);
    ASSERT_EQ(eager.rank(), 0) << "count " << t;
    ASSERT_EQ(eager.dtype(), nx::f64) << "count " << t;
    const double w = want.data<double>()[t];
    const double got = eager.item<double>();
    ASSERT_NEAR(got, w, kScheduleTolerance * std::abs(w)) << name << " at count " << t;
    const double jitted = compiled(count).item<double>();
    ASSERT_NEAR(jitted, w, kScheduleTolerance * std::abs(w)) << name << " compiled, at count " << t;
  }
  EXPECT_EQ(compiled.stats().compiles, 1);
}

INSTANTIATE_TEST_SUITE_P(Table, ScheduleReference, ::testing::ValuesIn(schedule_names()),
                         param_name);

}  // namespace
}  // namespace optim_ref
