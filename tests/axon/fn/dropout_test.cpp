// axon::fn dropout layers: masks equal to the nx::random draws Axon makes (Nx.Random.uniform:
// split the key, draw with the second half, return the first), the formulas applied element by
// element here from that mask, gradients, expectation, inference identity and errors.
#include "axon/fn/dropout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace {

using axon::fn::Channels;
using axon::fn::Mode;
using fn_test::expect_close;
using fn_test::values;
using nx::Tensor;

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

// x: f32{2, 3, 4} ramp with negative and positive values.
Tensor sample_input() {
  return nx::reshape(nx::as_type(nx::iota({24}), nx::f32) * 0.25f - 2.5f, {2, 3, 4});
}

// The uniform draw Axon makes from `key` for `shape`, broadcast to `out` (as nx::broadcast).
std::vector<double> axon_uniform(const Tensor& key, const nx::Shape& shape, const nx::Shape& out) {
  Tensor u = nx::random::uniform(nx::take(nx::random::split(key), 1), shape);
  return values(nx::broadcast(u, out));
}

void expect_new_key(const axon::fn::StatefulOutput& o, const Tensor& key) {
  ASSERT_TRUE(o.state.is_map());
  EXPECT_EQ(o.state.keys(), std::vector<std::string>{"key"});
  expect_close(o.state["key"].leaf(), nx::take(nx::random::split(key), 0), 0, 0, "new key");
}

// Inference mode is the identity and has no state; the jit result equals the eager one.
void expect_inference_identity(const axon::fn::StatefulOutput& o, const Tensor& x) {
  expect_close(o.output, x, 0, 0, "inference output");
  EXPECT_TRUE(o.state.is_map() && o.state.size() == 0);
}

TEST(FnDropout, MaskIsAxonsDrawAndScalesKept) {
  const Tensor x = sample_input(), key = nx::random::key(7);
  for (double rate : {0.0, 0.3, 0.5, 0.9}) {
    axon::fn::StatefulOutput o = axon::fn::dropout(x, key, {.rate = rate, .mode = Mode::Train});
    expect_new_key(o, key);
    const std::vector<double> u = axon_uniform(key, x.shape(), x.shape()), xs = values(x),
                              got = values(o.output);
    const float keep = 1.0f - static_cast<float>(rate);
    for (size_t i = 0; i < xs.size(); ++i) {
      const double expected = u[i] < keep ? static_cast<float>(xs[i]) / keep : 0.0;
      EXPECT_FLOAT_EQ(got[i], expected) << "rate " << rate << " element " << i;
    }
  }
}

TEST(FnDropout, NoiseShapeBroadcasts) {
  const Tensor x = sample_input(), key = nx::random::key(3);
  axon::fn::StatefulOutput o = axon::fn::dropout(
      x, key, {.rate = 0.5, .noise_shape = nx::Shape{2, 1, 4}, .mode = Mode::Train});
  const std::vector<double> u = axon_uniform(key, {2, 1, 4}, x.shape()), xs = values(x),
                            got = values(o.output);
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_FLOAT_EQ(got[i], u[i] < 0.5 ? xs[i] * 2 : 0.0);
}

TEST(FnDropout, GradientIsMaskOverKeep) {
  const Tensor x = sample_input(), key = nx::random::key(11);
  const double rate = 0.25;
  auto f = [&](const Tensor& v) {
    return nx::sum(axon::fn::dropout(v, key, {.rate = rate, .mode = Mode::Train}).output);
  };
  Tensor eager = nx::grad(x, f);
  Tensor jitted = nx::jit([&](const Tensor& v) { return nx::grad(v, f); })(x);
  const std::vector<double> u = axon_uniform(key, x.shape(), x.shape());
  std::vector<float> expected;
  for (double ui : u) expected.push_back(ui < 0.75 ? 1.0f / 0.75f : 0.0f);
  const Tensor want = nx::from_vector(expected, x.shape());
  expect_close(eager, want, 1e-6, 0, "dropout grad (eager)");
  expect_close(jitted, want, 1e-6, 0, "dropout grad (jit)");
}

TEST(FnDropout, ExpectationIsInput) {
  // Mean of 2000 draws (one per key) of a constant input is that input within 3 sigma.
  const Tensor x = nx::full({2000}, 3.0);
  axon::fn::StatefulOutput o =
      axon::fn::dropout(x, nx::random::key(5), {.rate = 0.4, .mode = Mode::Train});
  const double mean = values(nx::mean(o.output))[0];
  const double sigma = 3.0 * std::sqrt(0.4 / 0.6) / std::sqrt(2000.0);
  EXPECT_NEAR(mean, 3.0, 3 * sigma);
}

TEST(FnDropout, DeterministicAndJitEqualsEager) {
  const Tensor x = sample_input(), key = nx::random::key(42);
  auto run = [&](const Tensor& v, const Tensor& k) {
    axon::fn::StatefulOutput o = axon::fn::dropout(v, k, {.rate = 0.5, .mode = Mode::Train});
    return nx::Tree::list({o.output, o.state});
  };
  nx::Tree a = run(x, key), b = run(x, key);
  nx::Tree c = nx::jit(run)(x, key);
  expect_close(a[0].leaf(), b[0].leaf(), 0, 0, "same key, same mask");
  expect_close(c[0].leaf(), a[0].leaf(), 0, 0, "jit output");
  expect_close(c[1]["key"].leaf(), a[1]["key"].leaf(), 0, 0, "jit key");
  // The new key draws a different mask.
  nx::Tree d = run(x, a[1]["key"].leaf());
  EXPECT_NE(values(d[0].leaf()), values(a[0].leaf()));
}

TEST(FnDropout, InferenceIsIdentity) {
  const Tensor x = sample_input(), key = nx::random::key(1);
  expect_inference_identity(axon::fn::dropout(x, key, {.rate = 0.5}), x);
  expect_inference_identity(axon::fn::spatial_dropout(x, key), x);
  expect_inference_identity(axon::fn::alpha_dropout(x, key), x);
  expect_inference_identity(axon::fn::feature_alpha_dropout(x, key), x);
}

TEST(FnSpatialDropout, DropsWholeChannels) {
  const Tensor x = sample_input(), key = nx::random::key(9);
  for (Channels ch : {Channels::First, Channels::Last}) {
    const nx::Shape noise = ch == Channels::First ? nx::Shape{2, 3, 1} : nx::Shape{2, 1, 4};
    axon::fn::StatefulOutput o =
        axon::fn::spatial_dropout(x, key, {.rate = 0.5, .channels = ch, .mode = Mode::Train});
    expect_new_key(o, key);
    const std::vector<double> u = axon_uniform(key, noise, x.shape()), xs = values(x),
                              got = values(o.output);
    for (size_t i = 0; i < xs.size(); ++i) EXPECT_FLOAT_EQ(got[i], u[i] < 0.5 ? xs[i] * 2 : 0.0);
  }
}

TEST(FnAlphaDropout, AxonFormula) {
  const Tensor x = sample_input(), key = nx::random::key(13);
  const double rate = 0.2;
  auto f = [&](const Tensor& v) {
    return axon::fn::alpha_dropout(v, key, {.rate = rate, .mode = Mode::Train});
  };
  axon::fn::StatefulOutput o = f(x);
  expect_new_key(o, key);
  const float keep = 1.0f - 0.2f;
  const float alpha_p = -static_cast<float>(kSeluAlpha) * static_cast<float>(kSeluScale);
  const float a = 1.0f / std::sqrt(keep * alpha_p * alpha_p);
  const float b = -a * alpha_p * static_cast<float>(rate);
  const std::vector<double> u = axon_uniform(key, x.shape(), x.shape()), xs = values(x),
                            got = values(o.output);
  std::vector<float> grad;
  for (size_t i = 0; i < xs.size(); ++i) {
    const bool kept = u[i] < keep;
    EXPECT_NEAR(got[i], a * (kept ? static_cast<float>(xs[i]) : alpha_p) + b, 1e-6);
    grad.push_back(kept ? a : 0.0f);
  }
  Tensor g = nx::grad(x, [&](const Tensor& v) { return nx::sum(f(v).output); });
  expect_close(g, nx::from_vector(grad, x.shape()), 1e-6, 0, "alpha_dropout grad");
}

TEST(FnFeatureAlphaDropout, KeptScaledDroppedNegativeSelu) {
  const Tensor x = sample_input(), key = nx::random::key(17);
  for (Channels ch : {Channels::First, Channels::Last}) {
    const nx::Shape noise = ch == Channels::First ? nx::Shape{2, 3, 1} : nx::Shape{2, 1, 4};
    auto f = [&](const Tensor& v) {
      return axon::fn::feature_alpha_dropout(v, key,
                                             {.rate = 0.5, .channels = ch, .mode = Mode::Train});
    };
    axon::fn::StatefulOutput o = f(x);
    expect_new_key(o, key);
    const std::vector<double> u = axon_uniform(key, noise, x.shape()), xs = values(x),
                              got = values(o.output);
    std::vector<float> grad;
    for (size_t i = 0; i < xs.size(); ++i) {
      const double v = xs[i];
      const double selu = kSeluScale * (v > 0 ? v : kSeluAlpha * std::expm1(v));
      const double dselu = kSeluScale * (v > 0 ? 1.0 : kSeluAlpha * std::exp(v));
      const bool kept = u[i] < 0.5;
      EXPECT_NEAR(got[i], kept ? v * 2 : -selu, 1e-5) << i;
      grad.push_back(static_cast<float>(kept ? 2.0 : -dselu));
    }
    Tensor g = nx::grad(x, [&](const Tensor& v) { return nx::sum(f(v).output); });
    expect_close(g, nx::from_vector(grad, x.shape()), 1e-5, 1e-6, "feature_alpha_dropout grad");
  }
}

TEST(FnDropout, RejectsBadInput) {
  const Tensor x = sample_input(), key = nx::random::key(1);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const nx::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { axon::fn::dropout(x, key, {.rate = 1.0}); }),
            "axon::fn::dropout: rate must be in [0, 1), got 1.000000");
  EXPECT_EQ(message([&] { axon::fn::alpha_dropout(x, key, {.rate = -0.1}); }),
            "axon::fn::alpha_dropout: rate must be in [0, 1), got -0.100000");
  EXPECT_EQ(message([&] {
              axon::fn::spatial_dropout(nx::ones({2, 3}), key);
            }),
            "axon::fn::spatial_dropout: input must have rank at least 3, got f32{2, 3}");
  EXPECT_EQ(message([&] {
              axon::fn::dropout(x, key, {.noise_shape = nx::Shape{3, 4, 1}, .mode = Mode::Train});
            }),
            "axon::fn::dropout: noise_shape {3, 4, 1} does not broadcast to input f32{2, 3, 4}");
  EXPECT_EQ(
      message([&] { axon::fn::feature_alpha_dropout(x, nx::ones({2}), {.mode = Mode::Train}); }),
      "axon::fn::feature_alpha_dropout: key must be a u32[2] random key "
      "(nx::random::key), got f32{2}");
  EXPECT_EQ(message([&] { axon::fn::dropout(nx::iota({4}), key, {.mode = Mode::Train}); }),
            "axon::fn::dropout: input must be floating point, got s32{4}");
}

}  // namespace
