// Shape rules of dot_general and conv_general: output types and input validation (every error
// names the op and the offending sizes).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/ops/creation.hpp"
#include "nx/rule_test_util.hpp"

namespace nx::detail {
namespace {

using nx::testing::expect_error;
constexpr auto& types_of = nx::testing::rule_types;

TensorType dot_type(const Tensor& a, const Tensor& b, DotParams p) {
  return types_of(Prim::dot_general, {a, b}, p)[0];
}

TEST(RulesContract, DotOutputIsBatchThenFreeAThenFreeB) {
  EXPECT_EQ(dot_type(zeros({3, 4}), zeros({4, 5}), {{1}, {}, {0}, {}}), (TensorType{{3, 5}, f32}));
  // Batch dims come in batch_a order, free dims in axis order.
  EXPECT_EQ(dot_type(zeros({2, 3, 4, 5}, s8), zeros({5, 3, 6, 2}, s8), {{3}, {1, 0}, {0}, {1, 3}}),
            (TensorType{{3, 2, 4, 6}, s8}));
  EXPECT_EQ(dot_type(zeros({7, 2}, f64), zeros({2, 7}, f64), {{}, {}, {}, {}}),
            (TensorType{{7, 2, 2, 7}, f64}));
  EXPECT_EQ(dot_type(zeros({5}, bf16), zeros({5}, bf16), {{0}, {}, {0}, {}}),
            (TensorType{{}, bf16}));
  EXPECT_EQ(dot_type(zeros({}, u64), zeros({3}, u64), {{}, {}, {}, {}}), (TensorType{{3}, u64}));
  EXPECT_EQ(dot_type(zeros({0, 4}), zeros({4, 0}), {{1}, {}, {0}, {}}), (TensorType{{0, 0}, f32}));
  EXPECT_EQ(dot_type(zeros({3, 0}, f16), zeros({0, 2}, f16), {{1}, {}, {0}, {}}),
            (TensorType{{3, 2}, f16}));
}

TEST(RulesContract, DotRejectsBadOperands) {
  Tensor a = zeros({3, 4}), b = zeros({5, 6});
  expect_error(
      [&] {
        dot_type(a, b, {{1}, {}, {0}, {}});
      },
      {"nx::dot_general", "contracting", "size 4", "size 5", "f32[3][4]", "f32[5][6]"});
  expect_error(
      [&] {
        dot_type(zeros({2, 3}), zeros({4, 3}), {{1}, {0}, {1}, {0}});
      },
      {"nx::dot_general", "batch", "size 2", "size 4"});
  expect_error(
      [&] {
        dot_type(a, zeros({4}), {{1, 0}, {}, {0}, {}});
      },
      {"nx::dot_general", "contracting axes of a {1, 0}", "{0}", "differ in number"});
  expect_error(
      [&] {
        dot_type(a, zeros({4}), {{1}, {0}, {0}, {}});
      },
      {"nx::dot_general", "batch axes", "differ in number"});
  expect_error(
      [&] {
        dot_type(a, zeros({4}), {{2}, {}, {0}, {}});
      },
      {"nx::dot_general", "contracting axis 2 of a", "out of range", "f32[3][4]"});
  expect_error(
      [&] {
        dot_type(a, zeros({4}), {{-1}, {}, {0}, {}});
      },
      {"nx::dot_general", "axis -1", "out of range"});
  expect_error(
      [&] {
        dot_type(zeros({4, 4}), zeros({4, 4}), {{1}, {}, {0}, {0}});
      },
      {"nx::dot_general", "axis 0 of b", "more than once"});
  expect_error(
      [&] {
        dot_type(zeros({4, 4}), zeros({4, 4}), {{1, 1}, {}, {0, 1}, {}});
      },
      {"nx::dot_general", "axis 1 of a", "more than once"});
  expect_error(
      [&] {
        dot_type(zeros({3, 4}), zeros({4, 5}, f64), {{1}, {}, {0}, {}});
      },
      {"nx::dot_general", "one dtype", "f32[3][4]", "f64[4][5]"});
  expect_error(
      [&] {
        dot_type(zeros({3, 4}, pred), zeros({4, 5}, pred), {{1}, {}, {0}, {}});
      },
      {"nx::dot_general", "numeric", "pred[3][4]"});
}

ConvParams conv_params(int64_t spatial) {
  std::vector<int64_t> ones(static_cast<size_t>(spatial), 1), zero(static_cast<size_t>(spatial));
  return ConvParams{ones, zero, zero, ones, ones, 1, 1};
}

TensorType conv_type(const Shape& x, const Shape& w, const ConvParams& p, DType dt = f32) {
  return types_of(Prim::conv_general, {zeros(x, dt), zeros(w, dt)}, p)[0];
}

TEST(RulesContract, ConvOutputShapes) {
  ConvParams p = conv_params(2);
  p.pad_lo = {1, 1}, p.pad_hi = {1, 1};
  EXPECT_EQ(conv_type({16, 64, 56, 56}, {128, 64, 3, 3}, p), (TensorType{{16, 128, 56, 56}, f32}));
  // Stride 2, kernel dilation 2 (span 5): floor((10 + 1 + 0 - 5) / 2) + 1 = 4.
  ConvParams s = conv_params(1);
  s.strides = {2}, s.rhs_dilation = {2}, s.pad_lo = {1};
  EXPECT_EQ(conv_type({1, 2, 10}, {3, 2, 3}, s, bf16), (TensorType{{1, 3, 4}, bf16}));
  // Input dilation 3 makes 4 elements span 10; padding -2 and 1 leaves 9; kernel 2 gives 8.
  ConvParams t = conv_params(1);
  t.lhs_dilation = {3}, t.pad_lo = {-2}, t.pad_hi = {1};
  EXPECT_EQ(conv_type({1, 1, 4}, {1, 1, 2}, t, f64), (TensorType{{1, 1, 8}, f64}));
  // Feature groups: C = I * groups; batch groups divide the output batch.
  ConvParams fg = conv_params(2);
  fg.feature_groups = 4;
  EXPECT_EQ(conv_type({2, 8, 5, 5}, {12, 2, 3, 3}, fg), (TensorType{{2, 12, 3, 3}, f32}));
  ConvParams bg = conv_params(2);
  bg.batch_groups = 3;
  EXPECT_EQ(conv_type({6, 2, 5, 5}, {9, 2, 3, 3}, bg, f16), (TensorType{{2, 9, 3, 3}, f16}));
  // A kernel wider than the padded input: an empty axis (XLA), and an empty input padded.
  EXPECT_EQ(conv_type({1, 1, 2}, {1, 1, 4}, conv_params(1)).shape, (Shape{1, 1, 0}));
  ConvParams e = conv_params(1);
  e.pad_lo = {2};
  EXPECT_EQ(conv_type({1, 1, 0}, {1, 1, 2}, e).shape, (Shape{1, 1, 1}));
  EXPECT_EQ(conv_type({1, 1, 3, 3, 3, 3}, {2, 1, 2, 2, 2, 2}, conv_params(4)).shape,
            (Shape{1, 2, 2, 2, 2, 2}));
}

TEST(RulesContract, ConvRejectsBadOperands) {
  ConvParams p1 = conv_params(1);
  expect_error(
      [&] {
        conv_type({2, 3}, {4, 3}, conv_params(0));
      },
      {"nx::conv_general", "at least one spatial axis", "f32[2][3]"});
  expect_error(
      [&] {
        conv_type({2, 3, 5}, {4, 3, 2, 2}, p1);
      },
      {"nx::conv_general", "kernel f32[4][3][2][2]", "rank 3"});
  expect_error(
      [&] {
        conv_type({2, 3, 5}, {4, 2, 2}, p1);
      },
      {"nx::conv_general", "input channels (3)", "kernel input channels (2)",
       "feature_groups (1)"});
  expect_error(
      [&] {
        conv_type({2, 3, 5}, {4, 3, 2}, conv_params(2));
      },
      {"nx::conv_general", "strides", "(1)", "got 2"});
  ConvParams fg = p1;
  fg.feature_groups = 2;
  expect_error(
      [&] {
        conv_type({2, 4, 5}, {3, 2, 2}, fg);
      },
      {"nx::conv_general", "output channels (3)", "feature_groups (2)"});
  ConvParams bg = p1;
  bg.batch_groups = 2;
  expect_error(
      [&] {
        conv_type({3, 2, 5}, {4, 2, 2}, bg);
      },
      {"nx::conv_general", "input batch (3)", "batch_groups (2)"});
  expect_error(
      [&] {
        conv_type({4, 2, 5}, {3, 2, 2}, bg);
      },
      {"nx::conv_general", "output channels (3)", "batch_groups (2)"});
  ConvParams both = p1;
  both.feature_groups = 2, both.batch_groups = 2;
  expect_error(
      [&] {
        conv_type({4, 4, 5}, {4, 2, 2}, both);
      },
      {"nx::conv_general", "at most one", "(2)"});
  ConvParams zero_groups = p1;
  zero_groups.feature_groups = 0;
  expect_error(
      [&] {
        conv_type({1, 1, 5}, {1, 1, 2}, zero_groups);
      },
      {"nx::conv_general", "feature_groups", ">= 1"});
  ConvParams stride0 = p1;
  stride0.strides = {0};
  expect_error(
      [&] {
        conv_type({1, 1, 5}, {1, 1, 2}, stride0);
      },
      {"nx::conv_general", "stride (0)", ">= 1"});
  ConvParams dil0 = p1;
  dil0.lhs_dilation = {0};
  expect_error(
      [&] {
        conv_type({1, 1, 5}, {1, 1, 2}, dil0);
      },
      {"nx::conv_general", "lhs_dilation (0)"});
  ConvParams crop = p1;
  crop.pad_lo = {-4}, crop.pad_hi = {-2};
  expect_error(
      [&] {
        conv_type({1, 1, 5}, {1, 1, 2}, crop);
      },
      {"nx::conv_general", "padding (-4, -2)", "dilated input size 5"});
  expect_error(
      [&] {
        conv_type({1, 1, 5}, {1, 1, 2}, p1, s32);
      },
      {"nx::conv_general", "float", "s32[1][1][5]"});
  expect_error(
      [&] {
        types_of(Prim::conv_general, {zeros({1, 1, 5}), zeros({1, 1, 2}, f64)}, p1);
      },
      {"nx::conv_general", "one dtype", "f32[1][1][5]", "f64[1][1][2]"});
}

}  // namespace
}  // namespace nx::detail
