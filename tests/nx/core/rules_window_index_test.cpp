// Shape rules of window, gather/scatter and QR primitives: output types and input validation.
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

WindowParams window(Shape w, Ints s, Ints lo, Ints hi, Ints d) {
  return WindowParams{std::move(w), std::move(s), std::move(lo), std::move(hi), std::move(d)};
}

TEST(RulesWindowIndex, WindowOutputShapes) {
  Tensor x = zeros({16, 64, 112, 112});
  auto t = types_of(Prim::window_max, {x},
                    window({1, 1, 3, 3}, {1, 1, 2, 2}, {0, 0, 1, 1}, {0, 0, 1, 1}, {1, 1, 1, 1}));
  EXPECT_EQ(t[0], (TensorType{{16, 64, 56, 56}, f32}));
  // Dilation 2 makes a 3-window span 5: (7 - 5) / 1 + 1 = 3.
  t = types_of(Prim::window_sum, {zeros({7}, s8)}, window({3}, {1}, {0}, {0}, {2}));
  EXPECT_EQ(t[0], (TensorType{{3}, s8}));
  // A window larger than the padded operand gives an empty axis (XLA's StridedBound).
  t = types_of(Prim::window_min, {zeros({3})}, window({5}, {1}, {0}, {0}, {1}));
  EXPECT_EQ(t[0].shape, (Shape{0}));
  t = types_of(Prim::window_sum, {zeros({0}, u8)}, window({1}, {1}, {1}, {1}, {1}));
  EXPECT_EQ(t[0].shape, (Shape{2}));
  t = types_of(Prim::window_product, {Tensor(2.0f)}, window({}, {}, {}, {}, {}));
  EXPECT_EQ(t[0].shape, Shape{});
}

/// Expects the rule of p on `in` to throw nx::Error naming every string of `parts`.
void expect_rule_error(Prim p, std::initializer_list<Tensor> in, const Params& params,
                       const std::vector<std::string>& parts) {
  expect_error([&] { types_of(p, in, params); }, parts);
}

TEST(RulesWindowIndex, WindowRejectsBadParams) {
  Tensor x = zeros({4, 5});
  expect_rule_error(Prim::window_sum, {x}, window({2}, {1, 1}, {0, 0}, {0, 0}, {1, 1}),
                    {"nx::window_sum", "window", "(2)", "got 1"});
  expect_rule_error(Prim::window_max, {x}, window({2, 2}, {1, 0}, {0, 0}, {0, 0}, {1, 1}),
                    {"nx::window_max", "f32[4][5]", "strides {1, 0}"});
  expect_rule_error(Prim::window_max, {x}, window({2, 2}, {1, 1}, {0, -1}, {0, 0}, {1, 1}),
                    {"nx::window_max", "padding {0, -1}"});
  expect_rule_error(Prim::window_min, {x}, window({0, 2}, {1, 1}, {0, 0}, {0, 0}, {1, 1}),
                    {"nx::window_min", "window {0, 2}"});
  expect_rule_error(Prim::window_min, {x}, window({1, 2}, {1, 1}, {0, 0}, {0, 0}, {1, 0}),
                    {"nx::window_min", "dilation {1, 0}"});
  expect_rule_error(Prim::window_sum, {zeros({3}, pred)}, window({1}, {1}, {0}, {0}, {1}),
                    {"nx::window_sum", "numeric", "pred[3]"});
  const int64_t huge = int64_t{1} << 62;
  expect_rule_error(Prim::window_sum, {x}, window({1, 5}, {1, 1}, {0, 0}, {0, 0}, {1, huge}),
                    {"nx::window_sum", "overflows"});
  expect_rule_error(Prim::window_sum, {x}, window({1, 1}, {1, 1}, {huge, 0}, {huge, 0}, {1, 1}),
                    {"nx::window_sum", "overflows"});
}

TEST(RulesWindowIndex, WindowScatterChecksSourceAndInit) {
  Tensor x = zeros({4, 4});
  WindowParams p = window({2, 2}, {2, 2}, {0, 0}, {0, 0}, {1, 1});
  auto t = types_of(Prim::window_scatter_max, {x, zeros({2, 2}), zeros({})}, p);
  EXPECT_EQ(t[0], x.type());
  expect_rule_error(Prim::window_scatter_max, {x, zeros({3, 2}), zeros({})}, p,
                    {"nx::window_scatter_max", "source f32[3][2]", "{2, 2}", "f32[4][4]"});
  expect_rule_error(Prim::window_scatter_min, {x, zeros({2, 2}, f64), zeros({})}, p,
                    {"nx::window_scatter_min", "one dtype", "f64[2][2]"});
  expect_rule_error(Prim::window_scatter_min, {x, zeros({2, 2}), zeros({1})}, p,
                    {"nx::window_scatter_min", "scalar", "f32[1]"});
  expect_rule_error(Prim::window_scatter_max,
                    {zeros({4, 4}, pred), zeros({2, 2}, pred), zeros({}, pred)}, p,
                    {"nx::window_scatter_max", "numeric"});
}

TEST(RulesWindowIndex, GatherAndScatterShapes) {
  Tensor x = zeros({4, 3, 5}, s16);
  auto t = types_of(Prim::gather, {x, zeros({2, 6, 2}, s32)}, GatherParams{{2, 0}});
  EXPECT_EQ(t[0], (TensorType{{2, 6, 3}, s16}));
  t = types_of(Prim::gather, {x, zeros({7, 1}, u8)}, GatherParams{{1}});
  EXPECT_EQ(t[0], (TensorType{{7, 4, 5}, s16}));
  t = types_of(Prim::gather, {x, zeros({2, 0}, s64)}, GatherParams{{}});
  EXPECT_EQ(t[0], (TensorType{{2, 4, 3, 5}, s16}));
  t = types_of(Prim::gather, {zeros({0, 2}), zeros({0, 1}, s64)}, GatherParams{{0}});
  EXPECT_EQ(t[0].shape, (Shape{0, 2}));  // indexing an empty axis is fine with no rows
  t = types_of(Prim::scatter_put, {zeros({3}, pred), zeros({2, 1}, s32), zeros({2}, pred)},
               GatherParams{{0}});
  EXPECT_EQ(t[0], (TensorType{{3}, pred}));
  t = types_of(Prim::scatter_add, {x, zeros({5, 2}, s32), zeros({5, 3}, s16)},
               GatherParams{{0, 2}});
  EXPECT_EQ(t[0], x.type());
}

TEST(RulesWindowIndex, GatherAndScatterRejectBadInput) {
  Tensor x = zeros({4, 3});
  expect_rule_error(Prim::gather, {x, zeros({2, 1})}, GatherParams{{0}},
                    {"nx::gather", "integer", "f32[2][1]"});
  expect_rule_error(Prim::gather, {x, zeros({}, s32)}, GatherParams{{}},
                    {"nx::gather", "rank >= 1"});
  expect_rule_error(Prim::gather, {x, zeros({2, 2}, s32)}, GatherParams{{0}},
                    {"nx::gather", "s32[2][2]", "size 1", "got 2"});
  expect_rule_error(Prim::gather, {x, zeros({2, 1}, s32)}, GatherParams{{2}},
                    {"nx::gather", "axis 2", "f32[4][3]"});
  expect_rule_error(Prim::gather, {x, zeros({2, 2}, s32)}, GatherParams{{1, 1}},
                    {"nx::gather", "repeat axis 1"});
  expect_rule_error(Prim::gather, {zeros({0, 2}), zeros({1, 1}, s32)}, GatherParams{{0}},
                    {"nx::gather", "axis 0", "size 0"});
  expect_rule_error(Prim::scatter_add, {x, zeros({2, 1}, s32), zeros({2, 4})}, GatherParams{{0}},
                    {"nx::scatter_add", "updates f32[2][4]", "{2, 3}"});
  expect_rule_error(Prim::scatter_put, {x, zeros({2, 1}, s32), zeros({2, 3}, f64)},
                    GatherParams{{0}}, {"nx::scatter_put", "updates f64[2][3]", "dtype"});
  expect_rule_error(Prim::scatter_add, {zeros({3}, pred), zeros({2, 1}, s32), zeros({2}, pred)},
                    GatherParams{{0}}, {"nx::scatter_add", "numeric", "pred[3]"});
}

TEST(RulesWindowIndex, QrShapesAndErrors) {
  auto t = types_of(Prim::qr, {zeros({2, 5, 3})}, QrParams{false});
  EXPECT_EQ(t[0].shape, (Shape{2, 5, 3}));
  EXPECT_EQ(t[1].shape, (Shape{2, 3, 3}));
  t = types_of(Prim::qr, {zeros({5, 3}, f64)}, QrParams{true});
  EXPECT_EQ(t[0], (TensorType{{5, 5}, f64}));
  EXPECT_EQ(t[1], (TensorType{{5, 3}, f64}));
  t = types_of(Prim::qr, {zeros({3, 5}, bf16)}, QrParams{false});
  EXPECT_EQ(t[0].shape, (Shape{3, 3}));
  EXPECT_EQ(t[1].shape, (Shape{3, 5}));
  expect_rule_error(Prim::qr, {zeros({3, 3}, s32)}, QrParams{}, {"nx::qr", "float", "s32[3][3]"});
  expect_rule_error(Prim::qr, {zeros({3})}, QrParams{}, {"nx::qr", "rank >= 2", "f32[3]"});
}

TEST(RulesWindowIndex, BindReportsTheOpName) {
  auto run = [] { bind1(Prim::gather, {zeros({3}), zeros({1, 2}, s32)}, GatherParams{{0}}); };
  expect_error(run, {"nx::gather", "s32[1][2]"});
}

}  // namespace
}  // namespace nx::detail
