// Dropout layer builders: the "key" State parameter (u32 {2}, from the seed or from init), the
// identity in inference, train-mode outputs and next keys equal to axon::fn through predict's
// {prediction, state} tree, and errors that name the layer.
#include <gtest/gtest.h>

#include "axon/compiler.hpp"
#include "axon/fn/dropout.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "nx/nx.hpp"

namespace {

using axon::fn::Channels;
using nx::Tensor;
using nx::Tree;

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.dtype(), b.dtype());
  // Keys exactly; values up to rounding (the compiled graph may fuse differently).
  if (a.dtype() == nx::u32) {
    EXPECT_TRUE(nx::all(nx::equal(a, b)).item<bool>());
  } else {
    EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), 1e-5)).item<bool>());
  }
}

Tensor random(const nx::Shape& shape) {
  return nx::random::normal(nx::random::key(9), shape);
}

const Tensor& key_of(const axon::ModelState& s, const std::string& layer) {
  return s.data[layer]["key"].leaf();
}

void expect_key_param(const axon::ModelState& s, const std::string& layer) {
  ASSERT_TRUE(s.data.contains(layer) && s.data[layer].contains("key")) << layer;
  EXPECT_EQ(s.data[layer].size(), 1u);
  EXPECT_EQ(key_of(s, layer).shape(), (nx::Shape{2}));
  EXPECT_EQ(key_of(s, layer).dtype(), nx::u32);
  EXPECT_EQ(s.state.count({layer, "key"}), 1u);
  EXPECT_EQ(s.trainable_parameters().size(), 0u);
}

using FnCall = std::function<axon::fn::StatefulOutput(const Tensor&, const Tensor&)>;

// Inference passes x through; train mode equals `f` with the initial key and returns its key.
void check_layer(const axon::Model& model, const std::string& layer, const Tensor& xv,
                 const FnCall& f) {
  auto [init_fn, infer] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template(xv.shape(), nx::f32));
  expect_key_param(s, layer);
  expect_equal(infer(s, xv).leaf(), xv);

  auto [train_init, train] = axon::build(model, {.mode = axon::Mode::Train});
  Tree r = train(s, xv);
  axon::fn::StatefulOutput want = f(xv, key_of(s, layer));
  expect_equal(r["prediction"].leaf(), want.output);
  expect_equal(r["state"][layer]["key"].leaf(), want.state["key"].leaf());
  EXPECT_FALSE(nx::all(nx::equal(r["prediction"].leaf(), xv)).item<bool>());
  // The next step uses the new key, so draws a new mask.
  axon::ModelState next = s.update(s.trainable_parameters(), r["state"]);
  expect_equal(key_of(next, layer), want.state["key"].leaf());
  Tree r2 = train(next, xv);
  expect_equal(r2["prediction"].leaf(), f(xv, want.state["key"].leaf()).output);
  EXPECT_FALSE(nx::all(nx::equal(r2["prediction"].leaf(), r["prediction"].leaf())).item<bool>());
}

TEST(LayersDropout, Dropout) {
  auto x = axon::input("x", {axon::kDynamic, 16});
  Tensor xv = random({4, 16});
  check_layer(axon::dropout(x, {.rate = 0.3}), "dropout_0", xv,
              [](const Tensor& t, const Tensor& k) {
                return axon::fn::dropout(t, k, {.rate = 0.3, .mode = axon::Mode::Train});
              });
  // Default rate 0.5.
  check_layer(axon::dropout(x), "dropout_0", xv, [](const Tensor& t, const Tensor& k) {
    return axon::fn::dropout(t, k, {.mode = axon::Mode::Train});
  });
}

TEST(LayersDropout, SpatialAndFeatureAlphaDropoutBothLayouts) {
  for (Channels ch : {Channels::Last, Channels::First}) {
    auto x = axon::input("x", {axon::kDynamic, 6, 5, 4});
    Tensor xv = random({3, 6, 5, 4});
    check_layer(axon::spatial_dropout(x, {.rate = 0.4, .channels = ch}), "spatial_dropout_0", xv,
                [ch](const Tensor& t, const Tensor& k) {
                  return axon::fn::spatial_dropout(
                      t, k, {.rate = 0.4, .channels = ch, .mode = axon::Mode::Train});
                });
    check_layer(axon::feature_alpha_dropout(x, {.channels = ch}), "feature_alpha_dropout_0", xv,
                [ch](const Tensor& t, const Tensor& k) {
                  return axon::fn::feature_alpha_dropout(
                      t, k, {.channels = ch, .mode = axon::Mode::Train});
                });
  }
}

TEST(LayersDropout, AlphaDropout) {
  auto x = axon::input("x", {axon::kDynamic, 10});
  check_layer(axon::alpha_dropout(x, {.rate = 0.2}), "alpha_dropout_0", random({5, 10}),
              [](const Tensor& t, const Tensor& k) {
                return axon::fn::alpha_dropout(t, k, {.rate = 0.2, .mode = axon::Mode::Train});
              });
}

TEST(LayersDropout, KeysFromSeedOrInit) {
  auto x = axon::input("x", {axon::kDynamic, 8});
  auto model = axon::dropout(axon::dropout(axon::dropout(x, {.seed = 42})));
  axon::ModelState s = axon::init(model, nx::make_template({2, 8}, nx::f32));
  expect_equal(key_of(s, "dropout_0"), nx::random::key(42));
  // Without a seed: the init key of the parameter, distinct per layer, reproducible, and moved
  // by BuildOptions::seed.
  EXPECT_FALSE(nx::all(nx::equal(key_of(s, "dropout_1"), key_of(s, "dropout_2"))).item<bool>());
  axon::ModelState again = axon::init(model, nx::make_template({3, 8}, nx::f32));
  expect_equal(key_of(again, "dropout_1"), key_of(s, "dropout_1"));
  axon::ModelState other = axon::init(model, nx::make_template({2, 8}, nx::f32), {}, {.seed = 1});
  EXPECT_FALSE(nx::all(nx::equal(key_of(other, "dropout_1"), key_of(s, "dropout_1"))).item<bool>());
  expect_equal(key_of(other, "dropout_0"), nx::random::key(42));
}

TEST(LayersDropout, InsideATrainedModel) {
  // dense -> dropout -> dense: the train-mode state holds only the dropout key; inference is the
  // two dense layers alone.
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto model = axon::dense(axon::dropout(axon::dense(x, 8), {.rate = 0.5, .seed = 3}), 2);
  auto built_train = axon::build(model, {.mode = axon::Mode::Train});
  auto& init_fn = built_train.first;
  auto& train = built_train.second;
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  EXPECT_EQ(s.trainable_parameters().size(), 2u);
  EXPECT_EQ(s.trainable_state().size(), 1u);
  Tree r = train(s, nx::ones({2, 4}));
  EXPECT_EQ(r["prediction"].leaf().shape(), (nx::Shape{2, 2}));
  ASSERT_EQ(r["state"].size(), 1u);
  EXPECT_TRUE(r["state"]["dropout_0"].contains("key"));
  // Gradients flow through the dropout node to the first dense layer.
  Tree g = nx::grad(s.trainable_parameters(), [&](const Tree& params) {
    return nx::sum(train(s.update(params), nx::ones({2, 4}))["prediction"].leaf());
  });
  EXPECT_GT(nx::sum(nx::abs(g["dense_0"]["kernel"].leaf())).item<float>(), 0.0f);
}

TEST(LayersDropout, BadInputsNameTheLayer) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  try {
    axon::dropout(x, {.rate = 1.0});
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("axon::dropout: rate must be in [0, 1), got 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(axon::alpha_dropout(x, {.rate = -0.1}), nx::Error);
  // spatial_dropout needs rank >= 3: found when it runs (in train mode).
  auto model = axon::spatial_dropout(x);
  auto [init_fn, train] = axon::build(model, {.mode = axon::Mode::Train});
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  try {
    train(s, nx::ones({2, 4}));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("spatial_dropout_0 (spatial_dropout) built at dropout_test.cpp"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("axon::fn::spatial_dropout"), std::string::npos) << m;
  }
}

}  // namespace
