// axon::fn::resize against a NumPy transcription of Axon's (jax.image.resize's) algorithm and
// against torch.nn.functional.interpolate where they agree (tests/axon/fn/data/gen_resize.py):
// forward values and gradients, eager and compiled, channels first and last.
#include "axon/fn/resize.hpp"

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
using fn::ResizeMethod;
using nx::Tensor;

struct Case {
  std::string name;
  fn::Sizes size;
  ResizeMethod method;
  bool antialias = true;
};

void run_case(const Case& c) {
  for (Channels ch : {Channels::First, Channels::Last}) {
    const std::string key = c.name + (ch == Channels::First ? "_first" : "_last");
    auto call = [&](const Tensor& x) {
      return fn::resize(x, c.size, {.method = c.method, .antialias = c.antialias, .channels = ch});
    };
    Tensor x = fn_test::ref("resize", key + "_x");
    fn_test::check_forward_and_grads([&](const std::vector<Tensor>& in) { return call(in[0]); },
                                     {x}, fn_test::ref("resize", key + "_out"),
                                     fn_test::ref("resize", key + "_ct"), {0},
                                     {fn_test::ref("resize", key + "_gx")}, 1e-4, 1e-5, key);
    fn_test::expect_close(nx::jit(call)(x), call(x), 1e-6, 1e-6, key + " jit forward");
  }
}

const char* method_name(ResizeMethod m) {
  switch (m) {
    case ResizeMethod::Nearest:
      return "nearest";
    case ResizeMethod::Bilinear:
      return "bilinear";
    case ResizeMethod::Bicubic:
      return "bicubic";
    case ResizeMethod::Lanczos3:
      return "lanczos3";
    case ResizeMethod::Lanczos5:
      return "lanczos5";
  }
  return "";
}

TEST(Resize, EveryMethodUpAndDownWithAndWithoutAntialias) {
  for (ResizeMethod m : {ResizeMethod::Nearest, ResizeMethod::Bilinear, ResizeMethod::Bicubic,
                         ResizeMethod::Lanczos3, ResizeMethod::Lanczos5}) {
    const std::string name = method_name(m);
    run_case({name + "_up", {9, 11}, m});
    run_case({name + "_down", {5, 4}, m});
    if (m != ResizeMethod::Nearest) {
      run_case({name + "_up_noaa", {9, 11}, m, false});
      run_case({name + "_down_noaa", {5, 4}, m, false});
    }
  }
}

TEST(Resize, MixedDirectionsAndOtherSpatialRanks) {
  run_case({"bicubic_mixed", {4, 9}, ResizeMethod::Bicubic});
  run_case({"bilinear_1d", {3}, ResizeMethod::Bilinear});
  run_case({"lanczos3_3d", {7, 3, 3}, ResizeMethod::Lanczos3});
  run_case({"nearest_3d", {7, 3, 5}, ResizeMethod::Nearest});
}

TEST(Resize, MatchesTorchInterpolateWhereTheyAgree) {
  run_case({"torch_nearest_up2", {8, 15}, ResizeMethod::Nearest});
  run_case({"torch_bilinear_up", {9, 11}, ResizeMethod::Bilinear, false});
  run_case({"torch_bilinear_down", {5, 4}, ResizeMethod::Bilinear, false});
  run_case({"torch_bilinear_down_aa", {5, 4}, ResizeMethod::Bilinear, true});
  run_case({"torch_bicubic_down_aa", {5, 4}, ResizeMethod::Bicubic, true});
}

TEST(Resize, ShapesDtypesAndIdentity) {
  Tensor x = nx::iota({1, 3, 4, 1}, nx::f32);
  // Same size: the identity for every method (Axon skips the axis).
  for (ResizeMethod m : {ResizeMethod::Nearest, ResizeMethod::Bicubic, ResizeMethod::Lanczos5}) {
    fn_test::expect_close(fn::resize(x, {3, 4}, {.method = m}), x, 0, 0, "identity");
  }
  // One size for every spatial axis.
  EXPECT_EQ(fn::resize(x, {6}).shape(), (nx::Shape{1, 6, 6, 1}));
  // Integer inputs keep their dtype; nearest is exact.
  Tensor xi = nx::iota({1, 1, 4}, nx::s32);
  Tensor yi = fn::resize(xi, {8}, {.channels = Channels::First});
  EXPECT_EQ(yi.to_vector<int32_t>(), (std::vector<int32_t>{0, 0, 1, 1, 2, 2, 3, 3}));
  Tensor yb = fn::resize(nx::as_type(xi, nx::f64), {2},
                         {.method = ResizeMethod::Bilinear, .channels = Channels::First});
  EXPECT_EQ(yb.dtype(), nx::f64);
  // Antialiased linear downsampling by 2: output 0 samples at 0.5 with a kernel twice as wide,
  // giving inputs 0, 1, 2 the weights 3/7, 3/7, 1/7.
  EXPECT_NEAR(yb.to_vector<double>()[0], (0 * 3 + 1 * 3 + 2 * 1) / 7.0, 1e-12);
  EXPECT_EQ(
      fn::resize(xi, {2}, {.method = ResizeMethod::Bilinear, .channels = Channels::First}).dtype(),
      nx::s32);
}

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

TEST(ResizeErrors, NameTheFunctionAndSayWhatWasExpected) {
  Tensor x = nx::zeros({2, 8, 8, 3});
  expect_error(
      [&] {
        fn::resize(nx::zeros({8, 3}), {4});
      },
      {"axon::fn::resize", "rank at least 3", "f32{8, 3}"});
  expect_error([&] { fn::resize(x, {4, 4, 4}); }, {"axon::fn::resize", "size", "1 or 2"});
  expect_error([&] { fn::resize(x, {}); }, {"axon::fn::resize", "size", "got none"});
  expect_error([&] { fn::resize(x, {0, 4}); }, {"axon::fn::resize", "size must be >= 1"});
}

TEST(Resize, CompilesToOneMatrixProductPerResizedAxis) {
  nx::JitFunction f(
      [](const nx::Tree& args, const void*) {
        return nx::Tree(fn::resize(args[0].leaf(), {5, 4}, {.method = ResizeMethod::Lanczos3}));
      },
      {});
  const std::string g = f.graph_text(nx::Tree::list({nx::Tree(nx::zeros({2, 12, 10, 3}))}));
  // The weights are constants made at trace time: no kernel arithmetic is left in the graph.
  auto count = [&](const std::string& op) {
    size_t n = 0;
    for (size_t at = g.find(op); at != std::string::npos; at = g.find(op, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("dot_general("), 2u) << g;
  EXPECT_EQ(count("sin("), 0u) << g;
  EXPECT_EQ(count("select("), 0u) << g;
}

}  // namespace
