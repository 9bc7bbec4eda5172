// The display: summary tables (golden for a small MLP; structure for a CNN, a multi-input and
// multi-output model, a recurrent model with tree outputs and a dropout model), Mermaid and
// Graphviz drawings, and the printed forms of a model and a model state.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "axon/compiler.hpp"
#include "axon/display.hpp"
#include "axon/fn/conv.hpp"
#include "axon/fn/dropout.hpp"
#include "axon/graph.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/recurrent.hpp"
#include "axon/layers/shape.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

axon::Model mlp() {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto h = axon::dense(x, 8, {.activation = "relu"});
  return axon::dense(h, 3);
}

// A 3x3 convolution (channels last) as any user layer would write it.
axon::Model conv3x3(const axon::Model& x, int64_t units) {
  return axon::layer(
      [](const axon::LayerCall& c) {
        return axon::LayerResult{axon::fn::conv(c.input(0), c.param("kernel"), c.param("bias"))};
      },
      {x},
      {.op_name = "conv",
       .params = {axon::param("kernel",
                              [units](const std::vector<nx::Shape>& s) {
                                return nx::Shape{3, 3, s[0].back(), units};
                              }),
                  axon::param("bias", nx::Shape{units}, {.initializer = axon::fn::init::zeros()})},
       .options = {{"kernel_size", "[3, 3]"}, {"padding", "valid"}}});
}

axon::Model dropout(const axon::Model& x, double rate) {
  return axon::layer(
      [rate](const axon::LayerCall& c) {
        auto r = axon::fn::dropout(c.input(0), c.param("key"), {.rate = rate, .mode = c.mode});
        return axon::LayerResult{r.output, r.state};
      },
      {x},
      {.op_name = "dropout",
       .mode = axon::NodeMode::Train,
       .params = {axon::param("key", nx::Shape{2},
                              {.initializer = [](const nx::Shape&, nx::DType,
                                                 const Tensor&) { return nx::random::key(0); },
                               .dtype = nx::u32,
                               .kind = axon::ParamKind::State})},
       .options = {{"rate", std::to_string(rate).substr(0, 3)}}});
}

// A recurrent layer whose output is a tree {sequence, {h}} (as Axon's LSTM/GRU are).
axon::Model rnn(const axon::Model& x, int64_t units) {
  return axon::layer(
      [](const axon::LayerCall& c) {
        Tensor seq = nx::tanh(nx::dot(c.input(0), c.param("kernel")));
        int64_t t = seq.shape()[1];
        Tensor h =
            nx::reshape(nx::slice_along_axis(seq, t - 1, 1, 1), {seq.shape()[0], seq.shape()[2]});
        return axon::LayerResult{Tree::list({Tree(seq), Tree::list({Tree(h)})})};
      },
      {x},
      {.op_name = "rnn", .params = {axon::param("kernel", [units](const std::vector<nx::Shape>& s) {
                           return nx::Shape{s[0].back(), units};
                         })}});
}

TEST(ModelDisplay, SummaryOfAnMlpIsTheGoldenTable) {
  std::string got = axon::summary(mlp(), nx::make_template({1, 4}, nx::f32));
  // clang-format off
  const std::string want = R"(+--------------------------------------------------------------------------------------------+
|                                           Model                                            |
+===================+====================+==============+================+===================+
| Layer             | Input Shape(s)     | Output Shape | Options        | Parameters        |
+===================+====================+==============+================+===================+
| x ( input )       |                    | f32[1][4]    | shape: [?, 4]  |                   |
+-------------------+--------------------+--------------+----------------+-------------------+
| dense_0 ( dense ) | x: f32[1][4]       | f32[1][8]    | units: 8       | kernel: f32[4][8] |
|                   |                    |              | use_bias: true | bias: f32[8]      |
+-------------------+--------------------+--------------+----------------+-------------------+
| relu_0 ( relu )   | dense_0: f32[1][8] | f32[1][8]    |                |                   |
+-------------------+--------------------+--------------+----------------+-------------------+
| dense_1 ( dense ) | relu_0: f32[1][8]  | f32[1][3]    | units: 3       | kernel: f32[8][3] |
|                   |                    |              | use_bias: true | bias: f32[3]      |
+-------------------+--------------------+--------------+----------------+-------------------+
Total Parameters: 67
Total Parameters Memory: 268 bytes
)";
  // clang-format on
  EXPECT_EQ(got, want) << got;
}

TEST(ModelDisplay, SummaryOfACnnShowsEveryLayerAndCountsParameters) {
  auto x = axon::input("image", {axon::kDynamic, 8, 8, 1});
  auto h = conv3x3(x, 4);
  h = axon::activation(h, "relu");
  auto y = axon::dense(axon::flatten(h), 10);
  std::string s = axon::summary(y, nx::make_template({2, 8, 8, 1}, nx::f32));
  EXPECT_TRUE(has(s, "image ( input )")) << s;
  EXPECT_TRUE(has(s, "shape: [?, 8, 8, 1]")) << s;
  EXPECT_TRUE(has(s, "conv_0 ( conv )")) << s;
  EXPECT_TRUE(has(s, "image: f32[2][8][8][1]")) << s;
  EXPECT_TRUE(has(s, "f32[2][6][6][4]")) << s;
  EXPECT_TRUE(has(s, "kernel: f32[3][3][1][4]")) << s;
  EXPECT_TRUE(has(s, "kernel_size: [3, 3]")) << s;
  EXPECT_TRUE(has(s, "flatten_0 ( flatten )")) << s;
  EXPECT_TRUE(has(s, "f32[2][144]")) << s;
  EXPECT_TRUE(has(s, "kernel: f32[144][10]")) << s;
  int64_t n = 3 * 3 * 4 + 4 + 144 * 10 + 10;
  EXPECT_TRUE(has(s, "Total Parameters: " + std::to_string(n) + "\n")) << s;
  EXPECT_TRUE(has(s, "Total Parameters Memory: " + axon::format_memory(4 * n) + "\n")) << s;
  // Every line of the table has the same width.
  std::istringstream lines(s);
  std::string line;
  size_t w = 0;
  while (std::getline(lines, line) && (line[0] == '+' || line[0] == '|')) {
    if (w == 0) w = line.size();
    EXPECT_EQ(line.size(), w) << line;
  }
}

TEST(ModelDisplay, SummaryOfAMultiInputMultiOutputModel) {
  auto a = axon::input("a", {axon::kDynamic, 3});
  auto b = axon::input("b", {axon::kDynamic, 5});
  auto ha = axon::dense(a, 4, {.name = "left"});
  auto hb = axon::dense(b, 4, {.name = "right"});
  auto both = axon::layer(
      [](const axon::LayerCall& c) { return axon::LayerResult{c.input(0) + c.input(1)}; }, {ha, hb},
      {.op_name = "add"});
  auto y = axon::container({{"sum", both}, {"left", ha}});
  Tree templates{{"a", nx::make_template({2, 3}, nx::f32)},
                 {"b", nx::make_template({2, 5}, nx::f32)}};
  std::string s = axon::summary(y, templates);
  EXPECT_TRUE(has(s, "left: f32[2][4]")) << s;
  EXPECT_TRUE(has(s, "right: f32[2][4]")) << s;
  EXPECT_TRUE(has(s, "container_0 ( container )")) << s;
  EXPECT_TRUE(has(s, "{sum: f32[2][4], left: f32[2][4]}")) << s;
  EXPECT_TRUE(has(s, "keys: sum, left")) << s;
  EXPECT_TRUE(has(s, "Total Parameters: " + std::to_string(3 * 4 + 4 + 5 * 4 + 4))) << s;
  // A single tensor for a two-input model is an error naming the inputs.
  EXPECT_THROW(axon::summary(y, nx::make_template({2, 3}, nx::f32)), nx::Error);
}

TEST(ModelDisplay, SummaryOfARecurrentModelWithTreeOutputs) {
  auto x = axon::input("seq", {axon::kDynamic, 5, 3});
  auto r = rnn(x, 6);
  auto out = axon::elem(r, 0);
  auto carry = axon::elem(r, 1);
  auto h = axon::elem(carry, 0);
  auto y = axon::container({axon::dense(out, 2), h});
  std::string s = axon::summary(y, nx::make_template({1, 5, 3}, nx::f32));
  EXPECT_TRUE(has(s, "[f32[1][5][6], [f32[1][6]]]")) << s;  // the rnn's output tree
  EXPECT_TRUE(has(s, "index: 1")) << s;
  EXPECT_TRUE(has(s, "elem_2 ( elem )")) << s;
  EXPECT_TRUE(has(s, "[f32[1][5][2], f32[1][6]]")) << s;
}

TEST(ModelDisplay, SummaryOfADropoutModelInBothModes) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto y = axon::dense(dropout(axon::dense(x, 8), 0.5), 2);
  auto t = nx::make_template({3, 4}, nx::f32);
  std::string inf = axon::summary(y, t);
  EXPECT_TRUE(has(inf, "dropout_0 ( dropout )")) << inf;
  EXPECT_TRUE(has(inf, "rate: 0.5")) << inf;
  EXPECT_TRUE(has(inf, "mode: train only")) << inf;
  EXPECT_TRUE(has(inf, "key: u32[2] (state)")) << inf;
  EXPECT_TRUE(has(inf, "of which state: 2 (8 bytes)")) << inf;
  std::string train = axon::summary(y, t, {.mode = axon::Mode::Train, .unicode = true});
  EXPECT_TRUE(has(train, "dropout_0 ( dropout )")) << train;
  EXPECT_TRUE(has(train, "│")) << train;
  EXPECT_TRUE(has(train, "╞")) << train;
}

// Axon's issues #617 (LSTM), #600 (dropout) and #388 (several inputs) with the built-in layers.
TEST(ModelDisplay, SummaryWithTheBuiltInLayers) {
  auto img = axon::input("image", {axon::kDynamic, 6, 6, 1});
  auto seq = axon::input("seq", {axon::kDynamic, 7, 3});
  auto h = axon::batch_norm(axon::conv(img, 4, {.activation = "relu"}));
  h = axon::dropout(axon::flatten(h));
  axon::RecurrentLayer r = axon::lstm(seq, 5);
  auto y = axon::container({axon::dense(h, 2), r.output_sequence, r.carry});
  Tree templates{{"image", nx::make_template({1, 6, 6, 1}, nx::f32)},
                 {"seq", nx::make_template({1, 7, 3}, nx::f32)}};
  for (axon::Mode mode : {axon::Mode::Inference, axon::Mode::Train}) {
    std::string s = axon::summary(y, templates, {.mode = mode});
    EXPECT_TRUE(has(s, "conv_0 ( conv )")) << s;
    EXPECT_TRUE(has(s, "batch_norm_0 ( batch_norm )")) << s;
    EXPECT_TRUE(has(s, "mean: f32[4] (state)")) << s;
    EXPECT_TRUE(has(s, "dropout_0 ( dropout )")) << s;
    EXPECT_TRUE(has(s, "lstm_0 ( lstm )")) << s;
    EXPECT_TRUE(has(s, "[f32[1][2], f32[1][7][5], [f32[1][5], f32[1][5]]]")) << s;
  }
  Tree out = axon::get_output_shape(y, templates);
  EXPECT_EQ(out[2][1].leaf().shape(), (nx::Shape{1, 5}));
}

TEST(ModelDisplay, FormatMemoryUsesDecimalUnits) {
  EXPECT_EQ(axon::format_memory(0), "0 bytes");
  EXPECT_EQ(axon::format_memory(999), "999 bytes");
  EXPECT_EQ(axon::format_memory(1000), "1.0 kilobytes");
  EXPECT_EQ(axon::format_memory(407080), "407.08 kilobytes");
  EXPECT_EQ(axon::format_memory(1200000), "1.2 megabytes");
  EXPECT_EQ(axon::format_memory(3'000'000'000), "3.0 gigabytes");
}

TEST(ModelDisplay, MermaidAndDotDrawEveryNodeAndEdge) {
  auto a = axon::input("a", {axon::kDynamic, 3});
  auto b = axon::input("b", {axon::kDynamic, 3});
  auto s = axon::layer(
      [](const axon::LayerCall& c) { return axon::LayerResult{c.input(0) * c.input(1)}; }, {a, b},
      {.op_name = "multiply"});
  auto y = axon::dense(s, 2, {.activation = "relu"});
  std::string m = axon::as_mermaid(y);
  EXPECT_EQ(m,
            "graph TD;\n"
            "  n0[/\"a (input)\"/];\n"
            "  n1[/\"b (input)\"/];\n"
            "  n2[\"multiply_0 (multiply)\"];\n"
            "  n3[\"dense_0 (dense)\"];\n"
            "  n4[\"relu_0 (relu)\"];\n"
            "  n0 --> n2;\n"
            "  n1 --> n2;\n"
            "  n2 --> n3;\n"
            "  n3 --> n4;\n");
  std::string lr =
      axon::as_mermaid(y, {.direction = axon::GraphDirection::LeftRight,
                           .input_templates = Tree{{"a", nx::make_template({1, 3}, nx::f32)},
                                                   {"b", nx::make_template({1, 3}, nx::f32)}}});
  EXPECT_TRUE(has(lr, "graph LR;")) << lr;
  EXPECT_TRUE(has(lr, "n3[\"dense_0 (dense) f32[1][2]\"];")) << lr;
  std::string d = axon::as_dot(y);
  EXPECT_TRUE(has(d, "digraph axon {")) << d;
  EXPECT_TRUE(has(d, "n0 [label=\"a (input)\", shape=parallelogram];")) << d;
  EXPECT_TRUE(has(d, "n4 [label=\"relu_0 (relu)\"];")) << d;
  for (const char* e : {"n0 -> n2;", "n1 -> n2;", "n2 -> n3;", "n3 -> n4;"})
    EXPECT_TRUE(has(d, e)) << d;
}

TEST(ModelDisplay, PrintedModelAndModelState) {
  std::ostringstream os;
  os << mlp();
  EXPECT_EQ(os.str(), "#Axon< inputs: {\"x\": [?, 4]} outputs: \"dense_1\" nodes: 4 >");
  auto [init_fn, predict_fn] = axon::build(mlp());
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32));
  std::ostringstream ss;
  ss << s;
  EXPECT_EQ(ss.str(),
            "#axon::ModelState<\n  Parameters: 67 (268 B)\n  Trainable Parameters: 67 (268 B)\n"
            "  Trainable State: 0 (0 B)\n>");
  std::ostringstream fs;
  fs << s.freeze([](const axon::ParamPath& p) { return p[0] == "dense_0"; });
  EXPECT_TRUE(has(fs.str(), "Trainable Parameters: 27 (108 B)")) << fs.str();
}

}  // namespace
