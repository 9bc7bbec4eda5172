// Convolution layer builders: parameter names, shapes and kinds for both channel layouts, output
// values equal to axon::fn with the initialised parameters, the activation node, and errors
// that name the layer.
#include <gtest/gtest.h>

#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/conv.hpp"
#include "axon/layers/conv.hpp"
#include "nx/nx.hpp"

namespace {

using axon::fn::Channels;
using nx::Tensor;

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), 1e-5)).item<bool>());
}

Tensor random(const nx::Shape& shape, uint64_t seed = 1) {
  return nx::random::uniform(nx::random::key(static_cast<int64_t>(seed)), shape,
                             {.min = -1, .max = 1});
}

// A trainable f32 parameter of the given shape.
void expect_param(const axon::ModelState& s, const std::string& layer, const std::string& name,
                  const nx::Shape& shape) {
  ASSERT_TRUE(s.data.contains(layer) && s.data[layer].contains(name)) << layer << "." << name;
  const Tensor& t = s.data[layer][name].leaf();
  EXPECT_EQ(t.shape(), shape) << layer << "." << name;
  EXPECT_EQ(t.dtype(), nx::f32) << layer << "." << name;
  EXPECT_FALSE(s.state.count({layer, name})) << layer << "." << name;
}

const Tensor& p(const axon::ModelState& s, const std::string& layer, const std::string& name) {
  return s.data[layer][name].leaf();
}

// Initialises `model` for x's shape and returns its state and its output for x.
std::pair<axon::ModelState, Tensor> run(const axon::Model& model, const Tensor& x) {
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template(x.shape(), nx::f32));
  return {s, predict_fn(s, x).leaf()};
}

std::string init_error(const axon::Model& model, const nx::Shape& shape) {
  try {
    axon::init(model, nx::make_template(shape, nx::f32));
  } catch (const nx::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected nx::Error";
  return "";
}

TEST(LayersConv, Conv2dChannelsLast) {
  auto x = axon::input("x", {axon::kDynamic, 6, 5, 3});
  axon::ConvOptions opts{.kernel_size = {3, 2}, .strides = {2}, .padding = nx::Padding::same()};
  Tensor xv = random({2, 6, 5, 3});
  auto [s, y] = run(axon::conv(x, 4, opts), xv);
  expect_param(s, "conv_0", "kernel", {3, 2, 3, 4});
  expect_param(s, "conv_0", "bias", {4});
  EXPECT_EQ(y.shape(), (nx::Shape{2, 3, 3, 4}));
  expect_equal(y, axon::fn::conv(xv, p(s, "conv_0", "kernel"), p(s, "conv_0", "bias"),
                                 {.strides = {2}, .padding = nx::Padding::same()}));
  // Glorot-uniform kernel, zero bias.
  EXPECT_GT(nx::sum(nx::abs(p(s, "conv_0", "kernel"))).item<float>(), 0.0f);
  EXPECT_EQ(nx::sum(nx::abs(p(s, "conv_0", "bias"))).item<float>(), 0.0f);
}

TEST(LayersConv, Conv2dChannelsFirstGroupsDilationsNoBiasAndActivation) {
  auto x = axon::input("x", {axon::kDynamic, 4, 7, 7});
  axon::ConvOptions opts{.kernel_size = {3},
                         .padding = nx::Padding::explicit_pairs({{1, 0}, {0, 2}}),
                         .input_dilation = {1, 2},
                         .kernel_dilation = {2},
                         .feature_group_size = 2,
                         .channels = Channels::First,
                         .use_bias = false,
                         .activation = "relu"};
  Tensor xv = random({2, 4, 7, 7});
  auto [s, y] = run(axon::conv(x, 6, opts), xv);
  expect_param(s, "conv_0", "kernel", {6, 2, 3, 3});
  EXPECT_FALSE(s.data["conv_0"].contains("bias"));
  EXPECT_EQ(s.data.size(), 1u);  // relu_0 has no parameters
  expect_equal(
      y, axon::fn::relu(axon::fn::conv(xv, p(s, "conv_0", "kernel"), {},
                                       {.padding = nx::Padding::explicit_pairs({{1, 0}, {0, 2}}),
                                        .input_dilation = {1, 2},
                                        .kernel_dilation = {2},
                                        .feature_group_size = 2,
                                        .channels = Channels::First})));
}

TEST(LayersConv, Conv1dAnd3dKernelLayouts) {
  auto x1 = axon::input("x", {axon::kDynamic, 9, 2});
  Tensor v1 = random({3, 9, 2});
  auto [s1, y1] = run(axon::conv(x1, 5, {.kernel_size = {4}}), v1);
  expect_param(s1, "conv_0", "kernel", {4, 2, 5});
  EXPECT_EQ(y1.shape(), (nx::Shape{3, 6, 5}));
  expect_equal(y1, axon::fn::conv(v1, p(s1, "conv_0", "kernel"), p(s1, "conv_0", "bias")));

  auto x3 = axon::input("x", {axon::kDynamic, 2, 4, 4, 3});
  Tensor v3 = random({1, 2, 4, 4, 3});
  auto [s3, y3] =
      run(axon::conv(x3, 2, {.kernel_size = {1, 2, 3}, .channels = Channels::First}), v3);
  expect_param(s3, "conv_0", "kernel", {2, 2, 1, 2, 3});
  EXPECT_EQ(y3.shape(), (nx::Shape{1, 2, 4, 3, 1}));
  expect_equal(y3, axon::fn::conv(v3, p(s3, "conv_0", "kernel"), p(s3, "conv_0", "bias"),
                                  {.channels = Channels::First}));
}

TEST(LayersConv, ConvTransposeBothLayouts) {
  for (Channels ch : {Channels::Last, Channels::First}) {
    const bool last = ch == Channels::Last;
    auto x = axon::input(
        "x", last ? nx::Shape{axon::kDynamic, 4, 5, 3} : nx::Shape{axon::kDynamic, 3, 4, 5});
    Tensor xv = random(last ? nx::Shape{2, 4, 5, 3} : nx::Shape{2, 3, 4, 5});
    axon::ConvTransposeOptions opts{
        .kernel_size = {3, 2}, .strides = {2}, .kernel_dilation = {1, 2}, .channels = ch};
    auto [s, y] = run(axon::conv_transpose(x, 7, opts), xv);
    expect_param(s, "conv_transpose_0", "kernel",
                 last ? nx::Shape{3, 2, 3, 7} : nx::Shape{7, 3, 3, 2});
    expect_param(s, "conv_transpose_0", "bias", {7});
    expect_equal(y, axon::fn::conv_transpose(
                        xv, p(s, "conv_transpose_0", "kernel"), p(s, "conv_transpose_0", "bias"),
                        {.strides = {2}, .kernel_dilation = {1, 2}, .channels = ch}));
    // valid: in * s + max(k' - s, 0) with k' = (k - 1) d + 1.
    nx::Shape spatial =
        last ? nx::Shape{y.shape()[1], y.shape()[2]} : nx::Shape{y.shape()[2], y.shape()[3]};
    EXPECT_EQ(spatial, (nx::Shape{4 * 2 + 1, 5 * 2 + 1}));
  }
}

TEST(LayersConv, DepthwiseConvBothLayouts) {
  for (Channels ch : {Channels::Last, Channels::First}) {
    const bool last = ch == Channels::Last;
    auto x = axon::input(
        "x", last ? nx::Shape{axon::kDynamic, 6, 6, 3} : nx::Shape{axon::kDynamic, 3, 6, 6});
    Tensor xv = random(last ? nx::Shape{2, 6, 6, 3} : nx::Shape{2, 3, 6, 6});
    axon::DepthwiseConvOptions opts{
        .kernel_size = {3}, .strides = {2}, .padding = nx::Padding::same(), .channels = ch};
    auto [s, y] = run(axon::depthwise_conv(x, 2, opts), xv);
    expect_param(s, "depthwise_conv_0", "kernel",
                 last ? nx::Shape{3, 3, 1, 6} : nx::Shape{6, 1, 3, 3});
    expect_param(s, "depthwise_conv_0", "bias", {6});
    EXPECT_EQ(y.shape(), last ? (nx::Shape{2, 3, 3, 6}) : (nx::Shape{2, 6, 3, 3}));
    expect_equal(y, axon::fn::depthwise_conv(
                        xv, p(s, "depthwise_conv_0", "kernel"), p(s, "depthwise_conv_0", "bias"),
                        {.strides = {2}, .padding = nx::Padding::same(), .channels = ch}));
  }
}

TEST(LayersConv, SeparableConv2dBothLayouts) {
  for (Channels ch : {Channels::Last, Channels::First}) {
    const bool last = ch == Channels::Last;
    auto x = axon::input(
        "x", last ? nx::Shape{axon::kDynamic, 7, 6, 2} : nx::Shape{axon::kDynamic, 2, 7, 6});
    Tensor xv = random(last ? nx::Shape{2, 7, 6, 2} : nx::Shape{2, 2, 7, 6});
    auto [s, y] = run(axon::separable_conv2d(x, 3, {.kernel_size = {3, 2}, .channels = ch}), xv);
    const std::string l = "separable_conv2d_0";
    expect_param(s, l, "kernel_1", last ? nx::Shape{3, 1, 1, 6} : nx::Shape{6, 1, 3, 1});
    expect_param(s, l, "kernel_2", last ? nx::Shape{1, 2, 1, 6} : nx::Shape{6, 1, 1, 2});
    expect_param(s, l, "bias_1", {6});
    expect_param(s, l, "bias_2", {6});
    EXPECT_EQ(y.shape(), last ? (nx::Shape{2, 5, 5, 6}) : (nx::Shape{2, 6, 5, 5}));
    expect_equal(
        y, axon::fn::separable_conv2d(xv, p(s, l, "kernel_1"), p(s, l, "bias_1"),
                                      p(s, l, "kernel_2"), p(s, l, "bias_2"), {.channels = ch}));
  }
}

TEST(LayersConv, SeparableConv3d) {
  auto x = axon::input("x", {axon::kDynamic, 4, 5, 6, 2});
  Tensor xv = random({1, 4, 5, 6, 2});
  auto [s, y] = run(axon::separable_conv3d(
                        x, 1, {.kernel_size = {2, 3, 1}, .use_bias = false, .activation = "tanh"}),
                    xv);
  const std::string l = "separable_conv3d_0";
  expect_param(s, l, "kernel_1", {2, 1, 1, 1, 2});
  expect_param(s, l, "kernel_2", {1, 3, 1, 1, 2});
  expect_param(s, l, "kernel_3", {1, 1, 1, 1, 2});
  EXPECT_FALSE(s.data[l].contains("bias_1"));
  expect_equal(
      y, axon::fn::tanh(axon::fn::separable_conv3d(xv, p(s, l, "kernel_1"), {}, p(s, l, "kernel_2"),
                                                   {}, p(s, l, "kernel_3"), {})));
}

TEST(LayersConv, SummaryOptions) {
  auto x = axon::input("x", {axon::kDynamic, 6, 6, 3});
  auto y = axon::conv(x, 8, {.kernel_size = {3, 1}, .padding = nx::Padding::same()});
  const auto& o = y.node().options;
  auto has = [&](const std::string& k, const std::string& v) {
    for (const auto& [key, value] : o)
      if (key == k) return value == v;
    return false;
  };
  EXPECT_EQ(y.node().op_name, "conv");
  EXPECT_TRUE(has("units", "8"));
  EXPECT_TRUE(has("kernel_size", "{3, 1}"));
  EXPECT_TRUE(has("padding", "same"));
  EXPECT_TRUE(has("channels", "last"));
}

TEST(LayersConv, BadInputsNameTheLayer) {
  auto x2 = axon::input("x", {axon::kDynamic, 4});
  std::string m = init_error(axon::conv(x2, 3), {2, 4});
  EXPECT_NE(m.find("conv_0 (conv) built at conv_test.cpp"), std::string::npos) << m;
  EXPECT_NE(m.find("axon::conv: input must have rank 3 to 5"), std::string::npos) << m;
  EXPECT_NE(m.find("{2, 4}"), std::string::npos) << m;

  auto x4 = axon::input("x", {axon::kDynamic, 5, 5, 3});
  m = init_error(axon::conv(x4, 4, {.feature_group_size = 2}), {1, 5, 5, 3});
  EXPECT_NE(m.find("input channels (3) must be divisible by feature_group_size (2)"),
            std::string::npos)
      << m;
  m = init_error(axon::conv(x4, 4, {.kernel_size = {3, 3, 3}}), {1, 5, 5, 3});
  EXPECT_NE(m.find("kernel_size must have 1 or 2 values"), std::string::npos) << m;
  m = init_error(axon::separable_conv2d(x2, 1), {2, 4});
  EXPECT_NE(m.find("axon::separable_conv2d: input must have rank 4"), std::string::npos) << m;
  auto x5 = axon::input("x", {axon::kDynamic, 2, 2, 2, 2});
  m = init_error(axon::separable_conv2d(x5, 1), {1, 2, 2, 2, 2});
  EXPECT_NE(m.find("got shape {1, 2, 2, 2, 2}"), std::string::npos) << m;

  // Option errors are found when the layer is built.
  EXPECT_THROW(axon::conv(x4, 0), nx::Error);
  EXPECT_THROW(axon::conv(x4, 2, {.strides = {0}}), nx::Error);
  EXPECT_THROW(axon::depthwise_conv(x4, -1), nx::Error);
  EXPECT_THROW(axon::conv_transpose(x4, 2, {.kernel_size = {-2}}), nx::Error);
}

}  // namespace
