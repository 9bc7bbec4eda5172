// axon::fn pooling against PyTorch (tests/axon/fn/data/gen_pooling.py): forward values and the
// gradients of sum(out * cotangent), eager and compiled, channels first and last.
#include "axon/fn/pooling.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace {

namespace fn = axon::fn;
using fn::Channels;
using nx::Padding;
using nx::Tensor;

/// One reference case: its name in pooling.npz and the call, given the channel layout.
struct Case {
  std::string name;
  std::function<Tensor(const Tensor&, Channels)> f;
  bool positive_only = false;
};

Padding pads(std::vector<std::pair<int64_t, int64_t>> p) {
  return Padding::explicit_pairs(std::move(p));
}

void run_case(const Case& c) {
  for (Channels ch : {Channels::First, Channels::Last}) {
    const std::string key = c.name + (ch == Channels::First ? "_first" : "_last");
    Tensor x = fn_test::ref("pooling", key + "_x");
    auto f = [&](const std::vector<Tensor>& in) { return c.f(in[0], ch); };
    fn_test::check_forward_and_grads(f, {x}, fn_test::ref("pooling", key + "_out"),
                                     fn_test::ref("pooling", key + "_ct"), {0},
                                     {fn_test::ref("pooling", key + "_gx")}, 1e-4, 1e-5, key);
    // A compiled forward equals the eager one.
    auto jitted = nx::jit([&](const Tensor& t) { return c.f(t, ch); });
    fn_test::expect_close(jitted(x), c.f(x, ch), 1e-6, 1e-6, key + " jit forward");
  }
}

TEST(PoolingWindow, MaxPoolMatchesTorch) {
  for (const Case& c : std::vector<Case>{
           {"max1d",
            [](const Tensor&x, Channels ch) {
              return fn::max_pool(
                  x,
                  {.kernel_size = {3}, .strides = {2}, .padding = pads({{1, 1}}), .channels = ch});
            }},
           {"max2d",
            [](const Tensor&x, Channels ch) {
              return fn::max_pool(x, {.kernel_size = {3, 2},
                                      .strides = {2, 1},
                                      .padding = pads({{1, 0}, {0, 1}}),
                                      .window_dilations = {1, 2},
                                      .channels = ch});
            }},
           {"max2d_default",
            [](const Tensor&x, Channels ch) {
              return fn::max_pool(x, {.kernel_size = {2}, .channels = ch});
            }},
           {"max3d",
            [](const Tensor&x, Channels ch) {
              return fn::max_pool(x, {.kernel_size = {2, 3, 2},
                                      .strides = {1, 2, 1},
                                      .padding = Padding::same(),
                                      .window_dilations = {2, 1, 1},
                                      .channels = ch});
            }},
       }) {
    run_case(c);
  }
}

TEST(PoolingWindow, AvgPoolCountsPaddingAsTorchCountIncludePad) {
  for (const Case& c : std::vector<Case>{
           {"avg1d",
            [](const Tensor&x, Channels ch) {
              return fn::avg_pool(x,
                                  {.kernel_size = {4}, .padding = pads({{2, 1}}), .channels = ch});
            }},
           {"avg2d",
            [](const Tensor&x, Channels ch) {
              return fn::avg_pool(
                  x,
                  {.kernel_size = {3}, .strides = {2}, .padding = pads({{1, 1}}), .channels = ch});
            }},
           {"avg2d_dil",
            [](const Tensor&x, Channels ch) {
              return fn::avg_pool(x, {.kernel_size = {2},
                                      .strides = {1},
                                      .padding = Padding::same(),
                                      .window_dilations = {2},
                                      .channels = ch});
            }},
           {"avg2d_remainder",
            [](const Tensor&x, Channels ch) {
              return fn::avg_pool(
                  x, {.kernel_size = {2, 3}, .padding = pads({{0, 0}}), .channels = ch});
            }},
           {"avg3d",
            [](const Tensor&x, Channels ch) {
              return fn::avg_pool(x, {.kernel_size = {2}, .channels = ch});
            }},
       }) {
    run_case(c);
  }
}

TEST(PoolingWindow, LpPoolMatchesTorchAndTranscription) {
  for (const Case& c : std::vector<Case>{
           {"lp1d",
            [](const Tensor&x, Channels ch) {
              return fn::lp_pool(x, {.kernel_size = {3}, .strides = {2}, .channels = ch});
            }},
           {"lp2d_norm3",
            [](const Tensor&x, Channels ch) {
              return fn::lp_pool(x, {.kernel_size = {2}, .channels = ch, .norm = 3});
            }},
           {"lp2d_pad_dil",
            [](const Tensor&x, Channels ch) {
              return fn::lp_pool(x, {.kernel_size = {3},
                                     .strides = {1},
                                     .padding = pads({{1, 1}, {2, 0}}),
                                     .window_dilations = {2},
                                     .channels = ch});
            }},
           {"lp3d",
            [](const Tensor&x, Channels ch) {
              return fn::lp_pool(x, {.kernel_size = {2}, .channels = ch});
            }},
       }) {
    run_case(c);
  }
}

TEST(PoolingAdaptive, MatchesTorchWhenDivisibleAndAxonsRuleOtherwise) {
  for (const Case& c : std::vector<Case>{
           {"adaptive_avg2d",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_avg_pool(x, {.output_size = {4, 3}, .channels = ch});
            }},
           {"adaptive_avg2d_nondiv",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_avg_pool(x, {.output_size = {4, 3}, .channels = ch});
            }},
           {"adaptive_avg1d_same",
            [](const Tensor&x, Channels ch) { return fn::adaptive_avg_pool(x, {.channels = ch}); }},
           {"adaptive_max1d",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_max_pool(x, {.output_size = {5}, .channels = ch});
            }},
           {"adaptive_max3d",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_max_pool(x, {.output_size = {3, 2, 2}, .channels = ch});
            }},
           {"adaptive_max2d_nondiv",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_max_pool(x, {.output_size = {2, 3}, .channels = ch});
            }},
           {"adaptive_lp2d",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_lp_pool(x, {.output_size = {2, 3}, .channels = ch});
            }},
           {"adaptive_lp1d_norm3",
            [](const Tensor&x, Channels ch) {
              return fn::adaptive_lp_pool(x, {.output_size = {4}, .channels = ch, .norm = 3});
            }},
       }) {
    run_case(c);
  }
}

TEST(PoolingGlobal, MatchesTorchReductions) {
  for (const Case& c : std::vector<Case>{
           {"global_avg2d",
            [](const Tensor&x, Channels ch) { return fn::global_avg_pool(x, {.channels = ch}); }},
           {"global_avg2d_keep",
            [](const Tensor&x, Channels ch) {
              return fn::global_avg_pool(x, {.keep_axes = true, .channels = ch});
            }},
           {"global_max1d",
            [](const Tensor&x, Channels ch) { return fn::global_max_pool(x, {.channels = ch}); }},
           {"global_max3d_keep",
            [](const Tensor&x, Channels ch) {
              return fn::global_max_pool(x, {.keep_axes = true, .channels = ch});
            }},
           {"global_lp2d",
            [](const Tensor&x, Channels ch) { return fn::global_lp_pool(x, {.channels = ch}); }},
           {"global_lp2d_norm3_keep",
            [](const Tensor&x, Channels ch) {
              return fn::global_lp_pool(x, {.keep_axes = true, .channels = ch, .norm = 3});
            }},
       }) {
    run_case(c);
  }
}

TEST(PoolingBlur, MatchesTorchDepthwiseConv) {
  run_case(
      {"blur", [](const Tensor& x, Channels ch) { return fn::blur_pool(x, {.channels = ch}); }});
}

TEST(PoolingShapes, DefaultsFollowAxon) {
  Tensor x = nx::zeros({2, 9, 7, 3});
  // Strides default to the kernel size; valid padding drops the remainder.
  EXPECT_EQ(fn::max_pool(x, {.kernel_size = {2}}).shape(), (nx::Shape{2, 4, 3, 3}));
  EXPECT_EQ(
      fn::avg_pool(x, {.kernel_size = {3}, .strides = {1}, .padding = Padding::same()}).shape(),
      (nx::Shape{2, 9, 7, 3}));
  // A kernel of 1 (the default) is the identity.
  EXPECT_EQ(fn::max_pool(x).shape(), x.shape());
  EXPECT_EQ(fn::adaptive_avg_pool(x, {.output_size = {1}}).shape(), (nx::Shape{2, 1, 1, 3}));
  EXPECT_EQ(fn::global_max_pool(x, {.keep_axes = true}).shape(), (nx::Shape{2, 1, 1, 3}));
  EXPECT_EQ(fn::global_avg_pool(x, {.channels = Channels::First}).shape(), (nx::Shape{2, 9}));
  // Integer inputs: max keeps the dtype, avg is floating.
  Tensor xi = nx::iota({1, 4, 1}, nx::s32);
  EXPECT_EQ(fn::max_pool(xi, {.kernel_size = {2}}).to_vector<int32_t>(),
            (std::vector<int32_t>{1, 3}));
  EXPECT_EQ(fn::avg_pool(xi, {.kernel_size = {2}}).to_vector<float>(),
            (std::vector<float>{0.5f, 2.5f}));
}

/// Expects f to throw nx::Error whose message contains every fragment.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing " << fragments[0];
  } catch (const nx::Error& e) {
    for (const std::string& s : fragments) {
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
    }
  }
}

TEST(PoolingErrors, NameTheFunctionAndSayWhatWasExpected) {
  Tensor x = nx::zeros({2, 8, 8, 3});
  expect_error(
      [&] {
        fn::max_pool(nx::zeros({4, 3}), {.kernel_size = {2}});
      },
      {"axon::fn::max_pool", "rank at least 3", "f32{4, 3}"});
  expect_error(
      [&] {
        fn::avg_pool(x, {.kernel_size = {2, 2, 2}});
      },
      {"axon::fn::avg_pool", "kernel_size", "1 or 2"});
  expect_error([&] { fn::max_pool(x, {.kernel_size = {0}}); },
               {"axon::fn::max_pool", "kernel_size must be >= 1"});
  expect_error(
      [&] {
        fn::max_pool(x, {.kernel_size = {2}, .padding = pads({{-1, 0}})});
      },
      {"axon::fn::max_pool", "padding must be >= 0"});
  expect_error(
      [&] {
        fn::lp_pool(nx::zeros({2, 4, 1}, nx::s32), {.kernel_size = {2}});
      },
      {"axon::fn::lp_pool", "floating point", "s32"});
  expect_error([&] { fn::lp_pool(x, {.kernel_size = {2}, .norm = 0}); },
               {"axon::fn::lp_pool", "norm"});
  expect_error(
      [&] {
        fn::adaptive_avg_pool(x, {.output_size = {9, 4}});
      },
      {"axon::fn::adaptive_avg_pool", "output_size", "{8, 8}", "{9, 4}"});
  expect_error(
      [&] {
        fn::global_lp_pool(nx::zeros({3, 4}));
      },
      {"axon::fn::global_lp_pool", "rank at least 3"});
  expect_error(
      [&] {
        fn::blur_pool(nx::zeros({2, 8, 3}));
      },
      {"axon::fn::blur_pool", "rank 4", "f32{2, 8, 3}"});
}

TEST(PoolingGraph, TilingWindowsBecomeReductions) {
  auto graph = [](const std::function<Tensor(const Tensor&)>& f) {
    nx::JitFunction jf([f](const nx::Tree& a, const void*) { return nx::Tree(f(a[0].leaf())); },
                       {});
    return jf.graph_text(nx::Tree::list({nx::Tree(nx::zeros({2, 9, 8, 3}))}));
  };
  // Default strides tile the input: cut to 8 x 8, split into 2 x 2 tiles, reduce.
  const std::string tiled =
      graph([](const Tensor& t) { return fn::avg_pool(t, {.kernel_size = {2}}); });
  EXPECT_EQ(tiled.find("window_sum"), std::string::npos) << tiled;
  EXPECT_NE(tiled.find("reduce_sum"), std::string::npos) << tiled;
  // Overlapping windows keep the window op.
  const std::string overlapping =
      graph([](const Tensor& t) { return fn::lp_pool(t, {.kernel_size = {2}, .strides = {1}}); });
  EXPECT_NE(overlapping.find("window_sum"), std::string::npos) << overlapping;
}

}  // namespace
