// Normalisation layer builders: parameter names, shapes, kinds and initial values, outputs equal
// to axon::fn with the initialised parameters, train-mode running statistics through predict
// (the {prediction, state} tree) and ModelState::update, and errors that name the layer.
#include <cmath>

#include <gtest/gtest.h>

#include "axon/compiler.hpp"
#include "axon/fn/normalization.hpp"
#include "axon/layers/normalization.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), 1e-5)).item<bool>());
}

Tensor random(const nx::Shape& shape) {
  return nx::random::normal(nx::random::key(5), shape, {.mean = 1, .std = 2});
}

void expect_param(const axon::ModelState& s, const std::string& layer, const std::string& name,
                  const nx::Shape& shape, bool state = false) {
  ASSERT_TRUE(s.data.contains(layer) && s.data[layer].contains(name)) << layer << "." << name;
  const Tensor& t = s.data[layer][name].leaf();
  EXPECT_EQ(t.shape(), shape) << layer << "." << name;
  EXPECT_EQ(t.dtype(), nx::f32) << layer << "." << name;
  EXPECT_EQ(s.state.count({layer, name}), state ? 1u : 0u) << layer << "." << name;
}

const Tensor& p(const axon::ModelState& s, const std::string& layer, const std::string& name) {
  return s.data[layer][name].leaf();
}

float max_abs(const Tensor& t) {
  return nx::reduce_max(nx::abs(t)).item<float>();
}

// Axon's glorot_uniform gamma on a vector of n: not constant, within +-sqrt(3 / n).
void expect_glorot_vector(const Tensor& g) {
  const double limit = std::sqrt(3.0 / static_cast<double>(g.shape()[0]));
  EXPECT_LE(max_abs(g), limit);
  EXPECT_GT(nx::reduce_max(g).item<float>() - nx::reduce_min(g).item<float>(), 0.0f);
}

TEST(LayersNormalization, BatchNormInferenceAndTrain) {
  // Channels first: channel_index 1.
  auto x = axon::input("x", {axon::kDynamic, 3, 4, 5});
  auto model = axon::batch_norm(x, {.channel_index = 1, .epsilon = 1e-3, .momentum = 0.2});
  Tensor xv = random({2, 3, 4, 5});
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template({2, 3, 4, 5}, nx::f32));
  const std::string l = "batch_norm_0";
  expect_param(s, l, "gamma", {3});
  expect_param(s, l, "beta", {3});
  expect_param(s, l, "mean", {3}, true);
  expect_param(s, l, "var", {3}, true);
  expect_glorot_vector(p(s, l, "gamma"));
  expect_equal(p(s, l, "beta"), nx::zeros({3}));
  expect_equal(p(s, l, "mean"), nx::zeros({3}));
  expect_equal(p(s, l, "var"), nx::ones({3}));
  axon::fn::BatchNormOptions fo{.epsilon = 1e-3, .channel_index = 1, .momentum = 0.2};
  expect_equal(predict_fn(s, xv).leaf(), axon::fn::batch_norm(xv, p(s, l, "gamma"), p(s, l, "beta"),
                                                              p(s, l, "mean"), p(s, l, "var"), fo)
                                             .output);

  auto [train_init, train_predict] = axon::build(model, {.mode = axon::Mode::Train});
  Tree r = train_predict(s, xv);
  fo.mode = axon::Mode::Train;
  axon::fn::StatefulOutput want = axon::fn::batch_norm(xv, p(s, l, "gamma"), p(s, l, "beta"),
                                                       p(s, l, "mean"), p(s, l, "var"), fo);
  expect_equal(r["prediction"].leaf(), want.output);
  expect_equal(r["state"][l]["mean"].leaf(), want.state["mean"].leaf());
  expect_equal(r["state"][l]["var"].leaf(), want.state["var"].leaf());
  EXPECT_EQ(r["state"][l].size(), 2u);
  // The update moves the running statistics and nothing else.
  axon::ModelState next = s.update(s.trainable_parameters(), r["state"]);
  expect_equal(p(next, l, "mean"), want.state["mean"].leaf());
  expect_equal(p(next, l, "gamma"), p(s, l, "gamma"));
  EXPECT_GT(max_abs(p(next, l, "mean")), 0.0f);
}

TEST(LayersNormalization, InstanceNormTrainUpdatesState) {
  auto x = axon::input("x", {axon::kDynamic, 6, 4});
  auto model = axon::instance_norm(x, {.gamma_initializer = axon::fn::init::ones()});
  Tensor xv = random({3, 6, 4});
  auto [init_fn, predict_fn] = axon::build(model, {.mode = axon::Mode::Train});
  axon::ModelState s = init_fn(nx::make_template({3, 6, 4}, nx::f32));
  const std::string l = "instance_norm_0";
  expect_param(s, l, "gamma", {4});
  expect_param(s, l, "mean", {4}, true);
  expect_param(s, l, "var", {4}, true);
  expect_equal(p(s, l, "gamma"), nx::ones({4}));
  Tree r = predict_fn(s, xv);
  axon::fn::StatefulOutput want =
      axon::fn::instance_norm(xv, p(s, l, "gamma"), p(s, l, "beta"), p(s, l, "mean"),
                              p(s, l, "var"), {.mode = axon::Mode::Train});
  expect_equal(r["prediction"].leaf(), want.output);
  expect_equal(r["state"][l]["mean"].leaf(), want.state["mean"].leaf());
  expect_equal(r["state"][l]["var"].leaf(), want.state["var"].leaf());
  // Inference uses the running statistics.
  auto [i2, infer] = axon::build(model);
  expect_equal(infer(s, xv).leaf(), axon::fn::instance_norm(xv, p(s, l, "gamma"), p(s, l, "beta"),
                                                            p(s, l, "mean"), p(s, l, "var"))
                                        .output);
}

TEST(LayersNormalization, LayerGroupAndRmsNorm) {
  auto x = axon::input("x", {axon::kDynamic, 4, 6});
  Tensor xv = random({2, 4, 6});
  auto [s1, y1] = [&] {
    auto [init_fn, predict_fn] = axon::build(axon::layer_norm(x, {.epsilon = 1e-4}));
    axon::ModelState s = init_fn(nx::make_template({2, 4, 6}, nx::f32));
    return std::pair{s, predict_fn(s, xv).leaf()};
  }();
  expect_param(s1, "layer_norm_0", "gamma", {6});
  expect_param(s1, "layer_norm_0", "beta", {6});
  expect_glorot_vector(p(s1, "layer_norm_0", "gamma"));
  expect_equal(y1, axon::fn::layer_norm(xv, p(s1, "layer_norm_0", "gamma"),
                                        p(s1, "layer_norm_0", "beta"), {.epsilon = 1e-4}));

  // Group norm over channel axis 1 (4 channels, 2 groups).
  auto [init_g, predict_g] = axon::build(axon::group_norm(x, 2, {.channel_index = 1}));
  axon::ModelState sg = init_g(nx::make_template({2, 4, 6}, nx::f32));
  expect_param(sg, "group_norm_0", "gamma", {4});
  expect_param(sg, "group_norm_0", "beta", {4});
  expect_equal(p(sg, "group_norm_0", "gamma"), nx::ones({4}));
  expect_equal(
      predict_g(sg, xv).leaf(),
      axon::fn::group_norm(xv, p(sg, "group_norm_0", "gamma"), p(sg, "group_norm_0", "beta"),
                           {.num_groups = 2, .channel_index = 1}));

  for (auto upcast : {axon::fn::RmsUpcast::Normalization, axon::fn::RmsUpcast::All}) {
    auto [init_r, predict_r] = axon::build(
        axon::rms_norm(x, {.channel_index = -1, .epsilon = 1e-5, .shift = 0.5, .upcast = upcast}));
    axon::ModelState sr = init_r(nx::make_template({2, 4, 6}, nx::f32));
    expect_param(sr, "rms_norm_0", "gamma", {6});
    EXPECT_EQ(sr.data["rms_norm_0"].size(), 1u);
    expect_equal(p(sr, "rms_norm_0", "gamma"), nx::ones({6}));
    expect_equal(predict_r(sr, xv).leaf(),
                 axon::fn::rms_norm(xv, p(sr, "rms_norm_0", "gamma"),
                                    {.epsilon = 1e-5, .shift = 0.5, .upcast = upcast}));
  }
}

TEST(LayersNormalization, BadInputsNameTheLayer) {
  auto x1 = axon::input("x", nx::Shape{axon::kDynamic});
  try {
    axon::init(axon::batch_norm(x1), nx::make_template({4}, nx::f32));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("batch_norm_0 (batch_norm) built at normalization_test.cpp"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("axon::batch_norm: input must have rank >= 2, got shape {4}"),
              std::string::npos)
        << m;
  }
  auto x = axon::input("x", {axon::kDynamic, 6});
  try {
    axon::init(axon::group_norm(x, 4), nx::make_template({2, 6}, nx::f32));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("axon::group_norm: the channel count (6) must be divisible by num_groups "
                     "(4)"),
              std::string::npos)
        << m;
  }
  EXPECT_THROW(
      axon::init(axon::layer_norm(x, {.channel_index = 2}), nx::make_template({2, 6}, nx::f32)),
      nx::Error);
  EXPECT_THROW(axon::init(axon::instance_norm(x), nx::make_template({2, 6}, nx::f32)), nx::Error);
  EXPECT_THROW(axon::group_norm(x, 0), nx::Error);
}

}  // namespace
