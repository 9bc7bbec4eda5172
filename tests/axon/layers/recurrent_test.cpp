// Recurrent layers: parameter names and shapes (Axon's, flattened), outputs equal to the axon::fn
// sequence functions with the initialised parameters (zeros or given initial carry, masks,
// static/dynamic unroll, no bias), ConvLSTM, and bidirectional with its shared block.
#include <gtest/gtest.h>

#include "../fn/fn_test_helpers.hpp"
#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/recurrent.hpp"
#include "axon/fn/reshaping.hpp"
#include "axon/layers/combinators.hpp"
#include "axon/layers/recurrent.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;
namespace fn = axon::fn;

Tensor wave(const nx::Shape& shape, double freq = 0.37) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return nx::sin(nx::reshape(nx::arange(0, static_cast<double>(n), 1), shape) * Tensor(freq));
}

void expect_near(const Tensor& a, const Tensor& b, const std::string& what) {
  fn_test::expect_close(a, b, 1e-5, 1e-5, what);
}

Tensor at(const axon::ModelState& s, const std::string& layer, const std::string& name) {
  return s.data[layer][name].leaf();
}

fn::LstmWeights lstm_weights(const Tree& p, bool bias = true) {
  auto g = [&](const char* n) { return bias || n[0] == 'w' ? p[n].leaf() : Tensor(); };
  return {g("wii"), g("wif"), g("wig"), g("wio"), g("whi"), g("whf"),
          g("whg"), g("who"), g("bi"),  g("bf"),  g("bg"),  g("bo")};
}

fn::GruWeights gru_weights(const Tree& p) {
  auto g = [&](const char* n) { return p[n].leaf(); };
  return {g("wir"), g("wiz"), g("win"), g("whr"), g("whz"),
          g("whn"), g("br"),  g("bz"),  g("bin"), g("bhn")};
}

TEST(LayersRecurrent, LstmParametersAndOutputsMatchFn) {
  auto x = axon::input("x", {axon::kDynamic, 5, 3});
  axon::RecurrentLayer r =
      axon::lstm(x, 4, {.bias_initializer = fn::init::uniform({.scale = 0.5})});
  auto [init_fn, predict_fn] = axon::build(axon::container(
      std::vector<axon::Model>{r.output_sequence, r.states[0], r.states[1], r.carry}));
  axon::ModelState s = init_fn(nx::make_template({2, 5, 3}, nx::f32));
  ASSERT_EQ(s.data.size(), 1u);
  const Tree& p = s.data["lstm_0"];
  EXPECT_EQ(p.size(), 12u);
  for (const char* n : {"wii", "wif", "wig", "wio"})
    EXPECT_EQ(p[n].leaf().shape(), (nx::Shape{3, 4}));
  for (const char* n : {"whi", "whf", "whg", "who"})
    EXPECT_EQ(p[n].leaf().shape(), (nx::Shape{4, 4}));
  for (const char* n : {"bi", "bf", "bg", "bo"}) EXPECT_EQ(p[n].leaf().shape(), (nx::Shape{4}));
  EXPECT_EQ(s.num_parameters(), 4 * (3 * 4 + 4 * 4 + 4));
  EXPECT_EQ(p["wii"].leaf().dtype(), nx::f32);
  EXPECT_TRUE(s.state.empty());  // every parameter trainable, no State kind

  Tensor v = wave({2, 5, 3});
  Tree y = predict_fn(s, v);
  std::vector<Tensor> zeros{nx::zeros({2, 4}), nx::zeros({2, 4})};
  fn::RecurrentOutput want = fn::lstm(v, zeros, Tensor(), lstm_weights(p));
  EXPECT_EQ(y[0].leaf().shape(), (nx::Shape{2, 5, 4}));
  expect_near(y[0].leaf(), want.output, "lstm output");
  expect_near(y[1].leaf(), want.carry[0], "lstm c");
  expect_near(y[2].leaf(), want.carry[1], "lstm h");
  ASSERT_TRUE(y[3].is_list());
  expect_near(y[3][1].leaf(), want.carry[1], "lstm carry list");
  // The last output step is the final h.
  expect_near(nx::squeeze(nx::slice_along_axis(y[0].leaf(), 4, 1, 1), {1}), want.carry[1],
              "last step is h");
}

TEST(LayersRecurrent, LstmFromAGivenStateWithMaskStaticAndNoBias) {
  auto x = axon::input("x", {axon::kDynamic, 4, 3});
  auto ids = axon::input("ids", {axon::kDynamic, 4});
  axon::RecurrentLayer first = axon::lstm(x, 5, {.name = "enc"});
  // Stacked: the second layer starts from the first one's carry, with a mask and other options.
  axon::RecurrentLayer second = axon::lstm(first.output_sequence, first.carry, 5,
                                           {.activation = "relu",
                                            .gate = "hard_sigmoid",
                                            .unroll = fn::Unroll::Static,
                                            .use_bias = false,
                                            .mask = axon::mask(ids, 0)});
  auto [init_fn, predict_fn] = axon::build(second.output_sequence);
  axon::ModelState s = init_fn(Tree{{"x", nx::make_template({2, 4, 3}, nx::f32)},
                                    {"ids", nx::make_template({2, 4}, nx::f32)}});
  EXPECT_TRUE(s.data.contains("enc"));
  EXPECT_EQ(s.data["lstm_1"].size(), 8u);  // no bias (named nodes count too)
  EXPECT_FALSE(s.data["lstm_1"].contains("bi"));
  Tensor v = wave({2, 4, 3});
  Tensor idv = nx::from_vector(std::vector<float>{3, 1, 0, 0, 2, 0, 5, 0}, nx::Shape{2, 4});
  Tensor y = predict_fn(s, Tree{{"x", v}, {"ids", idv}}).leaf();

  std::vector<Tensor> zeros{nx::zeros({2, 5}), nx::zeros({2, 5})};
  fn::RecurrentOutput a = fn::lstm(v, zeros, Tensor(), lstm_weights(s.data["enc"]));
  fn::RecurrentOptions o{.unroll = fn::Unroll::Static,
                         .gate = fn::activation("hard_sigmoid"),
                         .activation = fn::activation("relu")};
  fn::RecurrentOutput b = fn::lstm(a.output, a.carry, nx::equal(idv, Tensor(0.0)),
                                   lstm_weights(s.data["lstm_1"], false), o);
  expect_near(y, b.output, "stacked lstm");
  EXPECT_THROW(axon::lstm(x, 0), nx::Error);
  EXPECT_THROW(axon::lstm(x, 3, {.activation = "nope"}), nx::Error);
}

TEST(LayersRecurrent, GruMatchesFnAndTakesASingleTensorState) {
  auto x = axon::input("x", {axon::kDynamic, 6, 2});
  axon::RecurrentLayer r = axon::gru(x, 3, {.bias_initializer = fn::init::uniform({.scale = 0.3})});
  ASSERT_EQ(r.states.size(), 1u);
  auto [init_fn, predict_fn] =
      axon::build(axon::container(std::vector<axon::Model>{r.output_sequence, r.states[0]}));
  axon::ModelState s = init_fn(nx::make_template({3, 6, 2}, nx::f32));
  const Tree& p = s.data["gru_0"];
  EXPECT_EQ(p.size(), 10u);
  EXPECT_EQ(p["win"].leaf().shape(), (nx::Shape{2, 3}));
  EXPECT_EQ(p["whn"].leaf().shape(), (nx::Shape{3, 3}));
  EXPECT_EQ(p["bhn"].leaf().shape(), (nx::Shape{3}));
  Tensor v = wave({3, 6, 2});
  Tree y = predict_fn(s, v);
  fn::RecurrentOutput want = fn::gru(v, {nx::zeros({3, 3})}, Tensor(), gru_weights(p));
  expect_near(y[0].leaf(), want.output, "gru output");
  expect_near(y[1].leaf(), want.carry[0], "gru h");

  // A given h as a single tensor model.
  auto h0 = axon::input("h0", {axon::kDynamic, 3});
  axon::RecurrentLayer g = axon::gru(x, h0, 3);
  auto [i2, p2] = axon::build(g.output_sequence);
  axon::ModelState s2 = i2(Tree{{"x", nx::make_template({3, 6, 2}, nx::f32)},
                                {"h0", nx::make_template({3, 3}, nx::f32)}});
  Tensor h = wave({3, 3}, 1.3);
  expect_near(p2(s2, Tree{{"x", v}, {"h0", h}}).leaf(),
              fn::gru(v, {h}, Tensor(), gru_weights(s2.data["gru_0"])).output, "gru given h");
}

TEST(LayersRecurrent, ConvLstmShapesAndValues) {
  // {batch, time, channels, h, w}, channels first per step as Axon.
  auto x = axon::input("x", {axon::kDynamic, 3, 2, 6, 6});
  axon::RecurrentLayer r = axon::conv_lstm(
      x, 4,
      {.kernel_size = {3}, .strides = {2}, .bias_initializer = fn::init::uniform({.scale = 0.2})});
  auto [init_fn, predict_fn] =
      axon::build(axon::container(std::vector<axon::Model>{r.output_sequence, r.states[1]}));
  axon::ModelState s = init_fn(nx::make_template({2, 3, 2, 6, 6}, nx::f32));
  EXPECT_EQ(at(s, "conv_lstm_0", "input_kernel").shape(), (nx::Shape{16, 2, 3, 3}));
  EXPECT_EQ(at(s, "conv_lstm_0", "hidden_kernel").shape(), (nx::Shape{16, 4, 3, 3}));
  EXPECT_EQ(at(s, "conv_lstm_0", "bias").shape(), (nx::Shape{16}));
  Tensor v = wave({2, 3, 2, 6, 6});
  Tree y = predict_fn(s, v);
  EXPECT_EQ(y[0].leaf().shape(), (nx::Shape{2, 3, 4, 3, 3}));  // stride 2, same padding
  fn::ConvLstmWeights w{at(s, "conv_lstm_0", "input_kernel"), at(s, "conv_lstm_0", "hidden_kernel"),
                        at(s, "conv_lstm_0", "bias")};
  std::vector<Tensor> zeros{nx::zeros({2, 4, 3, 3}), nx::zeros({2, 4, 3, 3})};
  fn::RecurrentOutput want = fn::conv_lstm(v, zeros, Tensor(), w, {.strides = {2}});
  expect_near(y[0].leaf(), want.output, "conv_lstm output");
  expect_near(y[1].leaf(), want.carry[1], "conv_lstm h");

  // Valid padding, no bias, a given state.
  auto c0 = axon::input("c0", {axon::kDynamic, 4, 4, 4});
  axon::RecurrentLayer g = axon::conv_lstm(x, axon::container(std::vector<axon::Model>{c0, c0}), 4,
                                           {.kernel_size = {3},
                                            .padding = nx::Padding::valid(),
                                            .unroll = fn::Unroll::Static,
                                            .use_bias = false});
  auto [i2, p2] = axon::build(g.output_sequence);
  axon::ModelState s2 = i2(Tree{{"x", nx::make_template({2, 3, 2, 6, 6}, nx::f32)},
                                {"c0", nx::make_template({2, 4, 4, 4}, nx::f32)}});
  EXPECT_FALSE(s2.data["conv_lstm_0"].contains("bias"));
  Tensor c = wave({2, 4, 4, 4}, 0.9);
  fn::ConvLstmWeights w2{at(s2, "conv_lstm_0", "input_kernel"),
                         at(s2, "conv_lstm_0", "hidden_kernel"), Tensor()};
  expect_near(p2(s2, Tree{{"x", v}, {"c0", c}}).leaf(),
              fn::conv_lstm(v, {c, c}, Tensor(), w2,
                            {.unroll = fn::Unroll::Static, .padding = nx::Padding::valid()})
                  .output,
              "conv_lstm valid");
  // The zeros carry follows valid padding too.
  axon::RecurrentLayer z =
      axon::conv_lstm(x, 2, {.kernel_size = {3}, .padding = nx::Padding::valid()});
  auto [i3, p3] = axon::build(z.states[0]);
  axon::ModelState s3 = i3(nx::make_template({1, 3, 2, 6, 6}, nx::f32));
  EXPECT_EQ(p3(s3, wave({1, 3, 2, 6, 6})).leaf().shape(), (nx::Shape{1, 2, 4, 4}));
}

TEST(LayersRecurrent, BidirectionalSharesTheBlockAndReversesBack) {
  auto x = axon::input("x", {axon::kDynamic, 5, 3});
  auto y = axon::bidirectional(
      x, [](const axon::Model& in) { return axon::lstm(in, 4).output_sequence; });
  auto [init_fn, predict_fn] = axon::build(y);
  axon::ModelState s = init_fn(nx::make_template({2, 5, 3}, nx::f32));
  ASSERT_EQ(s.data.size(), 1u);  // one parameter set for both directions, as Axon
  const Tree& p = s.data["block_0"]["lstm_0"];
  Tensor v = wave({2, 5, 3});
  std::vector<Tensor> zeros{nx::zeros({2, 4}), nx::zeros({2, 4})};
  auto run = [&](const Tensor& in) { return fn::lstm(in, zeros, Tensor(), lstm_weights(p)); };
  Tensor fwd = run(v).output;
  Tensor bwd = nx::reverse(run(nx::reverse(v, {1})).output, {1});
  Tensor out = predict_fn(s, v).leaf();
  EXPECT_EQ(out.shape(), (nx::Shape{2, 5, 8}));
  expect_near(out, fn::concatenate({fwd, bwd}), "bidirectional concatenate");

  // A custom merge over the {sequence, carry} output: carries are not reversed.
  auto both = axon::bidirectional(
      x, [](const axon::Model& in) { return axon::gru(in, 3).layer; },
      [](const Tensor& a, const Tensor& b) { return a + b; }, {.name = "bi"});
  auto [i2, p2] = axon::build(both);
  axon::ModelState s2 = i2(nx::make_template({2, 5, 3}, nx::f32));
  const Tree& q = s2.data["bi"]["gru_0"];
  auto g = [&](const Tensor& in) {
    return fn::gru(in, {nx::zeros({2, 3})}, Tensor(), gru_weights(q));
  };
  fn::RecurrentOutput f = g(v), b = g(nx::reverse(v, {1}));
  Tree r = p2(s2, v);
  expect_near(r[0].leaf(), f.output + nx::reverse(b.output, {1}), "bidirectional sum sequence");
  expect_near(r[1][0].leaf(), f.carry[0] + b.carry[0], "bidirectional sum carry");
  EXPECT_THROW(axon::bidirectional(x, {}), nx::Error);
}

TEST(LayersRecurrent, InputRankErrorsNameTheLayer) {
  auto x = axon::input("x", {axon::kDynamic, 3});
  auto r = axon::lstm(x, 2);
  auto [init_fn, predict_fn] = axon::build(r.output_sequence);
  try {
    init_fn(nx::make_template({2, 3}, nx::f32));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("lstm_0 (lstm)"), std::string::npos) << m;
    EXPECT_NE(m.find("rank 3"), std::string::npos) << m;
  }
}

TEST(LayersRecurrent, TrainsThroughTheLayer) {
  auto x = axon::input("x", {axon::kDynamic, 4, 2});
  auto r = axon::lstm(x, 3);
  auto built_predict_fn = axon::build(r.states[1]);
  auto& init_fn = built_predict_fn.first;
  auto& predict_fn = built_predict_fn.second;
  axon::ModelState s = init_fn(nx::make_template({2, 4, 2}, nx::f32));
  Tensor v = wave({2, 4, 2});
  Tree g = nx::grad(s.data, [&](const Tree& d) {
    axon::ModelState t = s;
    t.data = d;
    return nx::sum(predict_fn(t, v).leaf());
  });
  Tree want = nx::grad(s.data["lstm_0"], [&](const Tree& p) {
    return nx::sum(
        fn::lstm(v, {nx::zeros({2, 3}), nx::zeros({2, 3})}, Tensor(), lstm_weights(p)).carry[1]);
  });
  for (const char* n : {"wii", "whg", "bo"}) {
    expect_near(g["lstm_0"][n].leaf(), want[n].leaf(), std::string("grad ") + n);
  }
}

}  // namespace
