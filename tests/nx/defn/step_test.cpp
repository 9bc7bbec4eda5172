// The training steps that bench/defn times (bench/defn/steps.hpp, resnet18.hpp): compiled equals
// eager, the loss falls, Adam matches its hand-derived first step, and the MLP and CNN steps
// reproduce PyTorch's losses on the same model (tests/nx/defn/gen_step_reference.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../../../bench/defn/resnet18.hpp"
#include "../../../bench/defn/steps.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench::steps {
namespace {

// Every leaf of `got` within atol + rtol |want| of `want`, naming the first leaf that is not.
void expect_trees_near(const nx::Tree& got, const nx::Tree& want, double atol, double rtol,
                       const std::string& what) {
  ASSERT_TRUE(nx::same_structure(got, want)) << what << ": " << got << " vs " << want;
  std::vector<nx::PathLeaf> g = nx::tree_flatten_with_paths(got);
  std::vector<nx::PathLeaf> w = nx::tree_flatten_with_paths(want);
  for (size_t i = 0; i < g.size(); ++i) {
    ASSERT_EQ(g[i].tensor.type(), w[i].tensor.type()) << what << " " << g[i].path;
    std::vector<double> a = g[i].tensor.to_vector<double>();
    std::vector<double> b = w[i].tensor.to_vector<double>();
    double worst = 0;
    size_t at = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      double excess = std::abs(a[k] - b[k]) - (atol + rtol * std::abs(b[k]));
      if (!(excess <= worst)) {  // also catches NaN
        worst = std::isnan(excess) ? INFINITY : excess;
        at = k;
      }
    }
    EXPECT_LE(worst, 0.0) << what << ": leaf " << g[i].path << "[" << at << "] " << a[at] << " vs "
                          << b[at];
  }
}

struct Trajectory {
  std::vector<double> losses;  // compiled
  nx::Tree state;              // eager, after the last step
};

// Runs `steps` steps eagerly and compiled from the same state, checking that every state leaf and
// the loss agree after each.
template <class Step>
Trajectory check_jit_equals_eager(Step step, nx::Tree state, const nx::Tensor& x,
                                  const nx::Tensor& y, int steps, double tol) {
  auto compiled = nx::jit(step);
  nx::Tree eager_state = state, jit_state = state;
  std::vector<double> losses;
  for (int i = 0; i < steps; ++i) {
    const StepResult eager = step(eager_state, x, y);
    const StepResult jitted = compiled(jit_state, x, y);
    const std::string what = "step " + std::to_string(i);
    expect_trees_near(jitted.first, eager.first, tol, tol, what);
    const double e_loss = eager.second.item<double>(), j_loss = jitted.second.item<double>();
    EXPECT_NEAR(j_loss, e_loss, tol * (1 + std::abs(e_loss))) << what;
    losses.push_back(j_loss);
    // Both continue from the eager state, so that a difference cannot compound.
    eager_state = eager.first;
    jit_state = eager.first;
  }
  EXPECT_EQ(compiled.stats().compiles, 1);
  return {losses, eager_state};
}

void expect_decreasing(const std::vector<double>& losses) {
  for (size_t i = 1; i < losses.size(); ++i) {
    EXPECT_LT(losses[i], losses[i - 1]) << "loss went up at step " << i;
  }
}

TEST(DefnStep, AdamFirstStepIsSignedLearningRate) {
  // From zero moments, t = 1: m = 0.1 g, v = 0.001 g^2, and the bias corrections cancel them,
  // so p1 = p - lr g / (|g| + eps).
  nx::Tree params = {{"w", nx::tensor({1.0f, -2.0f, 0.5f})}};
  nx::Tree grads = {{"w", nx::tensor({0.3f, -4.0f, 0.0f})}};
  AdamConfig cfg;
  nx::Tree s = adam_update(adam_init(params), grads, cfg);
  std::vector<float> p = s["params"]["w"].leaf().to_vector<float>();
  EXPECT_NEAR(p[0], 1.0 - 1e-3 * 0.3 / (0.3 + 1e-8), 1e-7);
  EXPECT_NEAR(p[1], -2.0 + 1e-3 * 4.0 / (4.0 + 1e-8), 1e-7);
  EXPECT_EQ(p[2], 0.5f);
  EXPECT_EQ(s["t"].leaf().item<float>(), 1.0f);
  std::vector<float> m = s["m"]["w"].leaf().to_vector<float>();
  std::vector<float> v = s["v"]["w"].leaf().to_vector<float>();
  EXPECT_NEAR(m[1], 0.1 * -4.0, 1e-7);
  EXPECT_NEAR(v[1], 0.001 * 16.0, 1e-8);
}

// PyTorch's losses for three steps of the same models, inputs and Adam, and the output layer's
// bias after them, from tests/nx/defn/gen_step_reference.py (torch 1.13, float32).
constexpr double kTorchMlpLosses[] = {2.303463935852051, 2.3034181594848633, 2.303373098373413};
constexpr double kTorchMlpBias[] = {
    -0.08538966625928879, -0.06013660132884979, -0.03488519787788391, -0.010220474563539028,
    0.009631840512156487, 0.03488289192318916,  0.06013592332601547,  -0.08538966625928879,
    -0.06613047420978546, -0.040878742933273315};
constexpr double kTorchCnnLosses[] = {2.2981367111206055, 2.2977466583251953, 2.2973568439483643};
constexpr double kTorchCnnBias[] = {
    -0.08538845181465149, -0.06013466417789459, -0.0348808616399765, -0.009627072140574455,
    0.01562672108411789,  0.04088050127029419,  0.0661342665553093,  -0.08538845181465149,
    -0.06613438576459885, -0.040880560874938965};

// Losses within 2e-6 (float32 rounding of a 2.3 sum: well under the 4e-5 a step changes them),
// bias within 1e-6 (a step moves each entry by about 1e-3).
void expect_matches_torch(const Trajectory& t, const double (&losses)[3],
                          const double (&bias)[10]) {
  for (size_t i = 0; i < 3; ++i) EXPECT_NEAR(t.losses[i], losses[i], 2e-6) << "step " << i;
  std::vector<double> b = t.state["params"]["dense_1"]["bias"].leaf().to_vector<double>();
  ASSERT_EQ(b.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(b[i], bias[i], 1e-6) << "bias " << i;
}

TEST(DefnStep, MlpJitEqualsEagerAndMatchesTorch) {
  auto [x, y] = mlp_batch(128);
  Trajectory t = check_jit_equals_eager(mlp_adam_step, adam_init(mlp_params()), x, y, 3, 1e-5);
  expect_decreasing(t.losses);
  expect_matches_torch(t, kTorchMlpLosses, kTorchMlpBias);
}

TEST(DefnStep, MlpLossFallsOverTenSteps) {
  auto [x, y] = mlp_batch(128);
  auto step = nx::jit(mlp_adam_step);
  nx::Tree state = adam_init(mlp_params());
  std::vector<double> losses;
  for (int i = 0; i < 10; ++i) {
    auto [next, loss] = step(state, x, y);
    losses.push_back(loss.item<double>());
    state = next;
  }
  expect_decreasing(losses);
  EXPECT_EQ(state["t"].leaf().item<float>(), 10.0f);
}

TEST(DefnStep, DonatedStateGivesTheSameSteps) {
  // The benchmarks move the state into a step that donates it (updated in place where the
  // executor can): the results must not change.
  auto [x, y] = mlp_batch(128);
  auto donating = nx::jit(mlp_adam_step, {.name = "mlp_donating", .donate = {0}});
  nx::Tree eager = adam_init(mlp_params());
  nx::Tree moved = eager;
  for (int i = 0; i < 3; ++i) {
    StepResult e = mlp_adam_step(eager, x, y);
    StepResult d = donating(std::move(moved), x, y);
    expect_trees_near(d.first, e.first, 1e-5, 1e-5, "step " + std::to_string(i));
    EXPECT_NEAR(d.second.item<double>(), e.second.item<double>(), 1e-5);
    eager = e.first;
    moved = d.first;
  }
}

TEST(DefnStep, CnnJitEqualsEagerAndMatchesTorch) {
  auto [x, y] = cnn_batch(8);
  Trajectory t = check_jit_equals_eager(cnn_adam_step, adam_init(cnn_params()), x, y, 3, 1e-5);
  expect_decreasing(t.losses);
  expect_matches_torch(t, kTorchCnnLosses, kTorchCnnBias);
}

TEST(DefnStep, SmallResNetJitEqualsEager) {
  ResNetConfig cfg{.batch = 2, .image = 32, .width = 4, .classes = 10};
  auto step = [cfg](const nx::Tree& s, const nx::Tensor& x, const nx::Tensor& y) {
    return resnet18_sgd_step(s, x, y, cfg);
  };
  auto [x, y] = resnet18_batch(cfg);
  expect_decreasing(check_jit_equals_eager(step, resnet18_init(cfg), x, y, 3, 1e-4).losses);
}

TEST(DefnStep, ResNetStatisticsMoveTowardTheBatch) {
  ResNetConfig cfg{.batch = 2, .image = 32, .width = 4, .classes = 10};
  auto [x, y] = resnet18_batch(cfg);
  nx::Tree s0 = resnet18_init(cfg);
  auto [s1, loss] = resnet18_sgd_step(s0, x, y, cfg);
  // The stem's batch statistics, computed directly: running = 0.9 old + 0.1 batch.
  nx::ConvOptions o{.strides = {2, 2}, .padding = nx::Padding::explicit_pairs({{3, 3}, {3, 3}})};
  nx::Tensor h = nx::conv(x, s0["params"]["conv1"].leaf(), o);
  nx::Tensor mean = nx::mean(h, {.axes = nx::Axes{0, 2, 3}});
  nx::Tensor var = nx::variance(h, {.axes = nx::Axes{0, 2, 3}, .ddof = 1});
  expect_trees_near(s1["stats"]["bn1.mean"], nx::Tree(0.1 * mean), 1e-6, 1e-5, "bn1.mean");
  expect_trees_near(s1["stats"]["bn1.var"], nx::Tree(0.9 + 0.1 * var), 1e-6, 1e-5, "bn1.var");
  EXPECT_TRUE(std::isfinite(loss.item<double>()));
}

}  // namespace
}  // namespace nx_bench::steps
