// Schedules against values computed by hand from their formulas, eagerly and under jit.
#include <cmath>
#include <numbers>

#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

double at(const optim::Schedule& s, int64_t step) {
  Tensor v = s(nx::scalar_int(step, nx::s64));
  EXPECT_EQ(v.dtype(), nx::f64);
  EXPECT_EQ(v.rank(), 0);
  return v.item<double>();
}

TEST(OptimSchedules, Constant) {
  auto s = optim::constant_schedule(0.125);
  EXPECT_EQ(at(s, 0), 0.125);
  EXPECT_EQ(at(s, 12345), 0.125);
}

TEST(OptimSchedules, LinearDecayWithWarmup) {
  auto s = optim::linear_decay(0.5, {.warmup = 4, .steps = 12});
  EXPECT_DOUBLE_EQ(at(s, 0), 0.0);
  EXPECT_DOUBLE_EQ(at(s, 1), 0.125);  // 0.5 * 1 / 4
  EXPECT_DOUBLE_EQ(at(s, 3), 0.375);
  EXPECT_DOUBLE_EQ(at(s, 4), 0.5);   // 0.5 * (12 - 4) / 8
  EXPECT_DOUBLE_EQ(at(s, 8), 0.25);  // 0.5 * 4 / 8
  EXPECT_DOUBLE_EQ(at(s, 12), 0.0);
  EXPECT_DOUBLE_EQ(at(s, 20), 0.0);  // clamped at 0
}

TEST(OptimSchedules, LinearDecayWithoutWarmup) {
  auto s = optim::linear_decay(1.0, {.steps = 10});
  EXPECT_DOUBLE_EQ(at(s, 0), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 3), 0.7);
}

TEST(OptimSchedules, ExponentialDecay) {
  auto s = optim::exponential_decay(2.0, {.decay_rate = 0.5, .transition_steps = 4});
  EXPECT_DOUBLE_EQ(at(s, 0), 2.0);
  EXPECT_DOUBLE_EQ(at(s, 4), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 2), 2.0 * std::pow(0.5, 0.5));
  EXPECT_DOUBLE_EQ(at(s, 10), 2.0 * std::pow(0.5, 2.5));
}

TEST(OptimSchedules, ExponentialDecayStaircaseAndBegin) {
  auto s = optim::exponential_decay(
      1.0, {.decay_rate = 0.1, .transition_steps = 3, .transition_begin = 2, .staircase = true});
  EXPECT_DOUBLE_EQ(at(s, 0), 1.0);  // before begin: init
  EXPECT_DOUBLE_EQ(at(s, 2), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 4), 1.0);  // floor(2 / 3) = 0
  EXPECT_NEAR(at(s, 5), 0.1, 1e-15);
  EXPECT_NEAR(at(s, 11), 0.001, 1e-17);  // floor(9 / 3) = 3
}

TEST(OptimSchedules, CosineDecay) {
  auto s = optim::cosine_decay(1.0, {.decay_steps = 10, .alpha = 0.2});
  EXPECT_DOUBLE_EQ(at(s, 0), 1.0);
  EXPECT_NEAR(at(s, 5), 0.5 * 0.8 + 0.2, 1e-15);
  double c3 = (1 + std::cos(std::numbers::pi * 0.3)) / 2 * 0.8 + 0.2;
  EXPECT_NEAR(at(s, 3), c3, 1e-15);
  EXPECT_NEAR(at(s, 10), 0.2, 1e-15);
  EXPECT_NEAR(at(s, 50), 0.2, 1e-15);  // t is clamped to decay_steps
}

TEST(OptimSchedules, PolynomialDecay) {
  auto s = optim::polynomial_decay(
      1.0, {.end_value = 0.1, .power = 2, .transition_steps = 4, .transition_begin = 2});
  EXPECT_DOUBLE_EQ(at(s, 0), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 2), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 4), 0.9 * 0.25 + 0.1);  // (1 - 2/4)^2
  EXPECT_DOUBLE_EQ(at(s, 6), 0.1);
  EXPECT_DOUBLE_EQ(at(s, 100), 0.1);
}

TEST(OptimSchedules, WarmupCosineDecay) {
  auto s = optim::warmup_cosine_decay({.init_value = 0.1,
                                       .peak_value = 1.0,
                                       .warmup_steps = 4,
                                       .decay_steps = 14,
                                       .end_value = 0.2});
  EXPECT_DOUBLE_EQ(at(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(at(s, 2), 0.55);
  EXPECT_DOUBLE_EQ(at(s, 4), 1.0);
  // Cosine over the remaining 10 steps from 1 to 0.2 (alpha = end / peak).
  EXPECT_NEAR(at(s, 9), 0.5 * 0.8 + 0.2, 1e-15);
  EXPECT_NEAR(at(s, 14), 0.2, 1e-15);
  EXPECT_NEAR(at(s, 30), 0.2, 1e-15);
}

TEST(OptimSchedules, JoinSchedules) {
  auto s =
      optim::join_schedules({optim::constant_schedule(3.0), optim::linear_decay(1.0, {.steps = 10}),
                             optim::constant_schedule(0.5)},
                            {5, 8});
  EXPECT_DOUBLE_EQ(at(s, 0), 3.0);
  EXPECT_DOUBLE_EQ(at(s, 4), 3.0);
  EXPECT_DOUBLE_EQ(at(s, 5), 1.0);  // the second schedule sees 0
  EXPECT_DOUBLE_EQ(at(s, 7), 0.8);  // ... and 2
  EXPECT_DOUBLE_EQ(at(s, 8), 0.5);
}

TEST(OptimSchedules, PiecewiseConstant) {
  auto s = optim::piecewise_constant(1.0, {3, 6}, {0.5, 0.1});
  EXPECT_DOUBLE_EQ(at(s, 0), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 2), 1.0);
  EXPECT_DOUBLE_EQ(at(s, 3), 0.5);  // at the boundary the scale applies
  EXPECT_DOUBLE_EQ(at(s, 5), 0.5);
  EXPECT_NEAR(at(s, 6), 0.05, 1e-17);
}

TEST(OptimSchedules, CyclicalTriangular) {
  auto s = optim::cyclical({.min_value = 0.1, .max_value = 0.5, .step_size = 4});
  EXPECT_DOUBLE_EQ(at(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(at(s, 2), 0.3);
  EXPECT_DOUBLE_EQ(at(s, 4), 0.5);
  EXPECT_DOUBLE_EQ(at(s, 6), 0.3);
  EXPECT_DOUBLE_EQ(at(s, 8), 0.1);
  EXPECT_DOUBLE_EQ(at(s, 12), 0.5);
}

TEST(OptimSchedules, CyclicalTriangular2AndExpRange) {
  using Mode = optim::CyclicalOptions::Mode;
  auto t2 = optim::cyclical(
      {.min_value = 0.0, .max_value = 1.0, .step_size = 2, .mode = Mode::Triangular2});
  EXPECT_DOUBLE_EQ(at(t2, 2), 1.0);
  EXPECT_DOUBLE_EQ(at(t2, 6), 0.5);  // second cycle: amplitude halved
  EXPECT_DOUBLE_EQ(at(t2, 10), 0.25);
  auto ex = optim::cyclical(
      {.min_value = 0.0, .max_value = 1.0, .step_size = 2, .mode = Mode::ExpRange, .gamma = 0.9});
  EXPECT_NEAR(at(ex, 2), std::pow(0.9, 2), 1e-15);
  EXPECT_NEAR(at(ex, 7), 0.5 * std::pow(0.9, 7), 1e-15);
}

TEST(OptimSchedules, TraceUnderJit) {
  auto s = optim::warmup_cosine_decay({.peak_value = 2.0, .warmup_steps = 3, .decay_steps = 9});
  auto f = nx::jit([s](const Tensor& count) { return s(count); });
  for (int64_t t : {0, 1, 3, 5, 9, 12}) {
    Tensor c = nx::scalar_int(t, nx::s64);
    EXPECT_DOUBLE_EQ(f(c).item<double>(), s(c).item<double>()) << "step " << t;
  }
  EXPECT_EQ(f.stats().compiles, 1);
}

TEST(OptimSchedules, RateAcceptsNumbersAndSchedules) {
  optim::Rate constant = 0.25;
  EXPECT_FALSE(constant.is_schedule());
  EXPECT_EQ(constant.constant(), 0.25);
  EXPECT_EQ(constant.at(nx::scalar_int(7, nx::s64)).item<double>(), 0.25);
  // A user schedule may return f32; the rate is converted to f64.
  optim::Rate scheduled = optim::Schedule([](const Tensor& c) { return nx::as_type(c, nx::f32); });
  EXPECT_TRUE(scheduled.is_schedule());
  Tensor v = scheduled.at(nx::scalar_int(3, nx::s64));
  EXPECT_EQ(v.dtype(), nx::f64);
  EXPECT_EQ(v.item<double>(), 3.0);
  EXPECT_NE(error_of([&] { scheduled.constant(); }), "");
  optim::Rate bad = optim::Schedule([](const Tensor&) { return nx::zeros({2}); });
  EXPECT_NE(error_of([&] { bad.at(nx::scalar_int(0, nx::s64)); }).find("scalar"),
            std::string::npos);
}

TEST(OptimSchedules, RejectBadOptions) {
  EXPECT_NE(error_of([] { optim::cosine_decay(1.0, {.decay_steps = 0}); }).find("decay_steps"),
            std::string::npos);
  EXPECT_NE(error_of([] { optim::exponential_decay(1.0, {.transition_steps = 0}); }), "");
  EXPECT_NE(error_of([] { optim::polynomial_decay(1.0, {.transition_steps = -1}); }), "");
  EXPECT_NE(error_of([] { optim::warmup_cosine_decay({.warmup_steps = 10, .decay_steps = 10}); }),
            "");
  EXPECT_NE(error_of([] { optim::join_schedules({optim::constant_schedule(1)}, {3}); }), "");
  EXPECT_NE(error_of([] { optim::piecewise_constant(1.0, {1, 2}, {0.5}); }), "");
  EXPECT_NE(error_of([] { optim::piecewise_constant(1.0, {1}, {-0.5}); }), "");
  EXPECT_NE(error_of([] { optim::cyclical({.step_size = 0}); }), "");
  EXPECT_NE(error_of([] { optim::Rate r = optim::Schedule(); }), "");
}

}  // namespace
}  // namespace optim_unit
