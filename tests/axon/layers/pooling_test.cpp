// Pooling layer builders: no parameters, output shapes and values equal to axon::fn for both
// channel layouts and every option, and errors that name the layer.
#include <gtest/gtest.h>

#include "axon/compiler.hpp"
#include "axon/fn/pooling.hpp"
#include "axon/layers/pooling.hpp"
#include "nx/nx.hpp"

namespace {

using axon::fn::Channels;
using nx::Tensor;

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), 1e-5)).item<bool>());
}

Tensor positive(const nx::Shape& shape) {
  return nx::random::uniform(nx::random::key(3), shape, {.min = 0.1, .max = 2});
}

// The model's output for x, checking that it has no parameters.
Tensor run(const axon::Model& model, const Tensor& x) {
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template(x.shape(), nx::f32));
  EXPECT_EQ(s.num_parameters(), 0);
  return predict_fn(s, x).leaf();
}

struct Layout {
  Channels channels;
  nx::Shape input_shape;  // with the batch
};

std::vector<Layout> layouts() {
  return {{Channels::Last, {2, 8, 6, 3}}, {Channels::First, {2, 3, 8, 6}}};
}

axon::Model input_for(const Layout& l) {
  nx::Shape s = l.input_shape;
  s[0] = axon::kDynamic;
  return axon::input("x", s);
}

TEST(LayersPooling, WindowPools) {
  for (const Layout& l : layouts()) {
    auto x = input_for(l);
    Tensor xv = positive(l.input_shape);
    const nx::Padding pad = nx::Padding::explicit_pairs({{1, 0}, {0, 1}});
    axon::PoolOptions o{.kernel_size = {3, 2},
                        .strides = {1, 2},
                        .padding = pad,
                        .dilations = {2, 1},
                        .channels = l.channels};
    axon::fn::PoolOptions fo{.kernel_size = {3, 2},
                             .strides = {1, 2},
                             .padding = pad,
                             .window_dilations = {2, 1},
                             .channels = l.channels};
    expect_equal(run(axon::max_pool(x, o), xv), axon::fn::max_pool(xv, fo));
    expect_equal(run(axon::avg_pool(x, o), xv), axon::fn::avg_pool(xv, fo));
    expect_equal(run(axon::lp_pool(x, {.kernel_size = {3, 2},
                                       .strides = {1, 2},
                                       .padding = pad,
                                       .dilations = {2, 1},
                                       .channels = l.channels,
                                       .norm = 3}),
                     xv),
                 axon::fn::lp_pool(xv, {.kernel_size = {3, 2},
                                        .strides = {1, 2},
                                        .padding = pad,
                                        .window_dilations = {2, 1},
                                        .channels = l.channels,
                                        .norm = 3}));
    // Strides default to the kernel size.
    Tensor y = run(axon::max_pool(x, {.kernel_size = {2}, .channels = l.channels}), xv);
    EXPECT_EQ(y.shape(),
              l.channels == Channels::Last ? (nx::Shape{2, 4, 3, 3}) : (nx::Shape{2, 3, 4, 3}));
    expect_equal(y, axon::fn::max_pool(xv, {.kernel_size = {2}, .channels = l.channels}));
    // Same padding keeps ceil(in / stride).
    Tensor z = run(axon::avg_pool(x, {.kernel_size = {3},
                                      .strides = {1},
                                      .padding = nx::Padding::same(),
                                      .channels = l.channels}),
                   xv);
    EXPECT_EQ(z.shape(), xv.shape());
  }
}

TEST(LayersPooling, AdaptivePools) {
  for (const Layout& l : layouts()) {
    auto x = input_for(l);
    Tensor xv = positive(l.input_shape);
    axon::fn::AdaptivePoolOptions fo{.output_size = {4, 3}, .channels = l.channels};
    Tensor a = run(axon::adaptive_avg_pool(x, {.output_size = {4, 3}, .channels = l.channels}), xv);
    EXPECT_EQ(a.shape(),
              l.channels == Channels::Last ? (nx::Shape{2, 4, 3, 3}) : (nx::Shape{2, 3, 4, 3}));
    expect_equal(a, axon::fn::adaptive_avg_pool(xv, fo));
    expect_equal(
        run(axon::adaptive_max_pool(x, {.output_size = {4, 3}, .channels = l.channels}), xv),
        axon::fn::adaptive_max_pool(xv, fo));
    expect_equal(
        run(axon::adaptive_lp_pool(x, {.output_size = {3}, .channels = l.channels, .norm = 1.5}),
            xv),
        axon::fn::adaptive_lp_pool(xv, {.output_size = {3}, .channels = l.channels, .norm = 1.5}));
    // No output size: the input's.
    EXPECT_EQ(run(axon::adaptive_avg_pool(x, {.channels = l.channels}), xv).shape(), xv.shape());
  }
}

TEST(LayersPooling, GlobalPools) {
  for (const Layout& l : layouts()) {
    auto x = input_for(l);
    Tensor xv = positive(l.input_shape);
    for (bool keep : {false, true}) {
      axon::fn::GlobalPoolOptions fo{.keep_axes = keep, .channels = l.channels};
      Tensor a = run(axon::global_avg_pool(x, {.keep_axes = keep, .channels = l.channels}), xv);
      nx::Shape want = !keep                          ? nx::Shape{2, 3}
                       : l.channels == Channels::Last ? nx::Shape{2, 1, 1, 3}
                                                      : nx::Shape{2, 3, 1, 1};
      EXPECT_EQ(a.shape(), want);
      expect_equal(a, axon::fn::global_avg_pool(xv, fo));
      expect_equal(run(axon::global_max_pool(x, {.keep_axes = keep, .channels = l.channels}), xv),
                   axon::fn::global_max_pool(xv, fo));
      expect_equal(
          run(axon::global_lp_pool(x, {.keep_axes = keep, .channels = l.channels, .norm = 4}), xv),
          axon::fn::global_lp_pool(xv, {.keep_axes = keep, .channels = l.channels, .norm = 4}));
    }
  }
}

TEST(LayersPooling, BlurPool) {
  for (const Layout& l : layouts()) {
    Tensor xv = positive(l.input_shape);
    Tensor y = run(axon::blur_pool(input_for(l), {.channels = l.channels}), xv);
    EXPECT_EQ(y.shape(), xv.shape());
    expect_equal(y, axon::fn::blur_pool(xv, {.channels = l.channels}));
  }
}

TEST(LayersPooling, NamesAndSummaryOptions) {
  auto x = axon::input("x", {axon::kDynamic, 4, 4, 2});
  auto y = axon::max_pool(axon::max_pool(x), {.name = "pool"});
  EXPECT_EQ(y.node().op_name, "max_pool");
  EXPECT_EQ(y.node().parents[0].node().op_name, "max_pool");
  bool strides_shown = false;
  for (const auto& [k, v] : y.node().options) strides_shown |= k == "strides" && v == "kernel_size";
  EXPECT_TRUE(strides_shown);
}

TEST(LayersPooling, BadInputsNameTheLayer) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto [init_fn, predict_fn] = axon::build(axon::max_pool(x, {.kernel_size = {2}}));
  try {
    init_fn(nx::make_template({2, 4}, nx::f32));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("max_pool_0 (max_pool) built at pooling_test.cpp"), std::string::npos) << m;
    EXPECT_NE(m.find("axon::fn::max_pool"), std::string::npos) << m;
  }
  auto x3 = axon::input("x", {axon::kDynamic, 4, 3});
  EXPECT_THROW(axon::init(axon::blur_pool(x3), nx::make_template({1, 4, 3}, nx::f32)), nx::Error);
  // Option errors are found when the layer is built.
  EXPECT_THROW(axon::avg_pool(x, {.kernel_size = {0}}), nx::Error);
  EXPECT_THROW(axon::lp_pool(x, {.norm = 0}), nx::Error);
  EXPECT_THROW(axon::adaptive_max_pool(x, {.output_size = {-1}}), nx::Error);
}

}  // namespace
