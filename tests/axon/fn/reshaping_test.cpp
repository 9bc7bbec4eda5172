// axon::fn shape layers against their PyTorch equivalents (tests/axon/fn/data/gen_reshaping.py):
// values, shapes and gradients (eager and compiled), and argument errors.
#include "axon/fn/reshaping.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace {

namespace fn = axon::fn;
using fn::Channels;
using nx::Tensor;

/// Checks case `name` of reshaping.npz with `n` inputs, forward and gradients of all inputs.
void run_case(const std::string& name, size_t n,
              const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  std::vector<Tensor> xs;
  std::vector<Tensor> grads;
  std::vector<size_t> wrt;
  for (size_t i = 0; i < n; ++i) {
    xs.push_back(fn_test::ref("reshaping", name + "_x" + std::to_string(i)));
    grads.push_back(fn_test::ref("reshaping", name + "_g" + std::to_string(i)));
    wrt.push_back(i);
  }
  fn_test::check_forward_and_grads(f, xs, fn_test::ref("reshaping", name + "_out"),
                                   fn_test::ref("reshaping", name + "_ct"), wrt, grads, 1e-6, 1e-6,
                                   name);
}

/// Part i scaled by i + 1 and joined back, as gen_reshaping.py's scaled_split.
Tensor rejoin(const std::vector<Tensor>& parts, int64_t axis) {
  std::vector<Tensor> scaled;
  for (size_t i = 0; i < parts.size(); ++i) {
    scaled.push_back(nx::multiply(parts[i], static_cast<double>(i + 1)));
  }
  return fn::concatenate(scaled, axis);
}

TEST(Reshaping, FlattenReshapeTranspose) {
  run_case("flatten", 1, [](const std::vector<Tensor>& x) { return fn::flatten(x[0]); });
  run_case("reshape", 1, [](const std::vector<Tensor>& x) {
    return fn::reshape(x[0], {fn::kBatch, 3, fn::kAuto});
  });
  run_case("transpose_default", 1,
           [](const std::vector<Tensor>& x) { return fn::transpose(x[0]); });
  run_case("transpose_perm", 1, [](const std::vector<Tensor>& x) {
    return fn::transpose(x[0], nx::Axes{0, -1, 1, 2});
  });
}

TEST(Reshaping, PadTouchesSpatialAxesOnly) {
  run_case("pad_last", 1, [](const std::vector<Tensor>& x) {
    return fn::pad(x[0], {{1, 2}, {0, -1}}, {.value = 0.5});
  });
  run_case("pad_first", 1, [](const std::vector<Tensor>& x) {
    return fn::pad(x[0], {{2, 0}, {1, 1}}, {.channels = Channels::First});
  });
  run_case("pad_first_1d", 1, [](const std::vector<Tensor>& x) {
    return fn::pad(x[0], {{-2, 3}}, {.value = -1.0, .channels = Channels::First});
  });
  // The fill value takes the input's dtype.
  Tensor xi = fn::pad(nx::ones({1, 2, 1}, nx::s32), {{1, 0}}, {.value = 7});
  EXPECT_EQ(xi.dtype(), nx::s32);
  EXPECT_EQ(xi.to_vector<int32_t>(), (std::vector<int32_t>{7, 1, 1}));
}

TEST(Reshaping, ConcatenateAndSplit) {
  run_case("concatenate_last", 3, [](const std::vector<Tensor>& x) { return fn::concatenate(x); });
  run_case("concatenate_axis1", 2,
           [](const std::vector<Tensor>& x) { return fn::concatenate(x, 1); });
  run_case("split_sizes", 1, [](const std::vector<Tensor>& x) {
    std::vector<Tensor> parts = fn::split(x[0], fn::Sizes{2, 3, 1});
    EXPECT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[1].shape(), (nx::Shape{2, 3, 3}));
    return rejoin(parts, -1);
  });
  run_case("split_equal", 1, [](const std::vector<Tensor>& x) {
    std::vector<Tensor> parts = fn::split(x[0], 3, 1);
    EXPECT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].shape(), (nx::Shape{2, 2, 4}));
    return rejoin(parts, 1);
  });
}

TEST(Reshaping, ShapesUnderJitUseTheTracedBatch) {
  // kBatch is resolved from the input each time the function is traced.
  auto f = nx::jit([](const Tensor& x) { return fn::reshape(x, {fn::kBatch, fn::kAuto, 2}); });
  EXPECT_EQ(f(nx::zeros({3, 4, 2})).shape(), (nx::Shape{3, 4, 2}));
  EXPECT_EQ(f(nx::zeros({5, 2, 6})).shape(), (nx::Shape{5, 6, 2}));
  EXPECT_EQ(fn::flatten(nx::zeros({7})).shape(), (nx::Shape{7, 1}));
  EXPECT_EQ(fn::transpose(nx::zeros({2, 3, 4})).shape(), (nx::Shape{4, 3, 2}));
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

TEST(ReshapingErrors, NameTheFunctionAndSayWhatWasExpected) {
  Tensor x = nx::zeros({2, 3, 4});
  expect_error(
      [&] {
        fn::reshape(x, {fn::kBatch, 5});
      },
      {"axon::fn::reshape", "f32{2, 3, 4}", "{2, 5}"});
  expect_error(
      [&] {
        fn::reshape(x, {fn::kAuto, fn::kAuto});
      },
      {"axon::fn::reshape", "at most one"});
  expect_error([&] { fn::reshape(x, {-3, 24}); }, {"axon::fn::reshape", "kBatch"});
  expect_error(
      [&] {
        fn::transpose(x, nx::Axes{0, 1});
      },
      {"axon::fn::transpose", "one axis per axis", "{0, 1}"});
  expect_error([&] { fn::transpose(x, nx::Axes{0, 1, 1}); }, {"axon::fn::transpose", "repeats"});
  expect_error(
      [&] {
        fn::pad(x, {{1, 1}, {1, 1}});
      },
      {"axon::fn::pad", "one {lo, hi} pair per spatial axis", "got 2"});
  expect_error([&] { fn::pad(x, {{-5, 0}}); }, {"axon::fn::pad", "crops more"});
  expect_error([&] { fn::concatenate({}); }, {"axon::fn::concatenate", "at least one"});
  expect_error(
      [&] {
        fn::concatenate({x, nx::zeros({2, 4, 4})});
      },
      {"axon::fn::concatenate", "same shape except on axis 2", "f32{2, 4, 4}"});
  expect_error([&] { fn::concatenate({x, x}, 3); }, {"axon::fn::concatenate", "out of range"});
  expect_error([&] { fn::split(x, 3); },
               {"axon::fn::split", "size 4", "does not split into 3 equal parts"});
  expect_error(
      [&] {
        fn::split(x, fn::Sizes{1, 2});
      },
      {"axon::fn::split", "{1, 2}", "add up", "(4)"});
}

}  // namespace
