// Shape layers: output shapes, no parameters, and values equal to the axon::fn functions they
// delegate to (which are checked against PyTorch/NumPy in tests/axon/fn).
#include <gtest/gtest.h>

#include "../fn/fn_test_helpers.hpp"
#include "axon/compiler.hpp"
#include "axon/layers/shape.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;
namespace fn = axon::fn;

Tensor ramp(const nx::Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return nx::reshape(nx::as_type(nx::arange(0, n, 1), nx::f32), shape) * Tensor(0.25);
}

// Builds `model` (one input), initialises it for x and predicts x.
Tree run(const axon::Model& model, const Tensor& x, axon::ModelState* state = nullptr) {
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template(x.shape(), x.dtype()));
  if (state) *state = s;
  return predict_fn(s, x);
}

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  fn_test::expect_close(a, b, 1e-6, 1e-6, what);
}

TEST(LayersShape, FlattenAndReshapeWithBatchPlaceholder) {
  auto x = axon::input("x", {axon::kDynamic, 4, 6});
  Tensor v = ramp({3, 4, 6});
  axon::ModelState s;
  Tree flat = run(axon::flatten(x), v, &s);
  EXPECT_EQ(s.num_parameters(), 0);
  expect_same(flat.leaf(), fn::flatten(v), "flatten");
  EXPECT_EQ(flat.leaf().shape(), (nx::Shape{3, 24}));

  auto r = axon::reshape(x, {axon::kBatch, 3, axon::kAuto});
  Tree y = run(r, v);
  EXPECT_EQ(y.leaf().shape(), (nx::Shape{3, 3, 8}));
  expect_same(y.leaf(), fn::reshape(v, {3, 3, 8}), "reshape");
  // The batch placeholder follows the runtime batch.
  auto [init_fn, predict_fn] = axon::build(r);
  axon::ModelState s2 = init_fn(nx::make_template({1, 4, 6}, nx::f32));
  EXPECT_EQ(predict_fn(s2, ramp({5, 4, 6})).leaf().shape(), (nx::Shape{5, 3, 8}));
  EXPECT_THROW(axon::reshape(x, {axon::kAuto, axon::kAuto}), nx::Error);
  EXPECT_THROW(axon::reshape(x, {-7, 3}), nx::Error);
}

TEST(LayersShape, Transpose) {
  auto x = axon::input("x", {axon::kDynamic, 2, 3});
  Tensor v = ramp({4, 2, 3});
  Tree all = run(axon::transpose(x), v);
  EXPECT_EQ(all.leaf().shape(), (nx::Shape{3, 2, 4}));  // every axis reversed, as Axon
  expect_same(all.leaf(), fn::transpose(v), "transpose()");
  Tree perm = run(axon::transpose(x, nx::Axes{0, 2, 1}), v);
  expect_same(perm.leaf(), fn::transpose(v, nx::Axes{0, 2, 1}), "transpose(perm)");
}

TEST(LayersShape, PadChannelsLastAndFirst) {
  auto x = axon::input("x", {axon::kDynamic, 3, 4, 2});
  Tensor v = ramp({2, 3, 4, 2});
  Tree last = run(axon::pad(x, {{1, 0}, {2, 1}}, {.value = 1.5}), v);
  EXPECT_EQ(last.leaf().shape(), (nx::Shape{2, 4, 7, 2}));
  expect_same(last.leaf(), fn::pad(v, {{1, 0}, {2, 1}}, {.value = 1.5}), "pad last");
  Tree first = run(axon::pad(x, {{0, 1}, {1, 1}}, {.channels = fn::Channels::First}), v);
  EXPECT_EQ(first.leaf().shape(), (nx::Shape{2, 3, 5, 4}));
  expect_same(first.leaf(), fn::pad(v, {{0, 1}, {1, 1}}, {.channels = fn::Channels::First}),
              "pad first");
}

TEST(LayersShape, ResizeMethodsAndChannels) {
  auto x = axon::input("x", {axon::kDynamic, 6, 6, 2});
  Tensor v = ramp({1, 6, 6, 2});
  Tree near = run(axon::resize(x, {3, 9}), v);
  EXPECT_EQ(near.leaf().shape(), (nx::Shape{1, 3, 9, 2}));
  expect_same(near.leaf(), fn::resize(v, {3, 9}), "resize nearest");
  Tree bil = run(axon::resize(x, {4}, {.method = fn::ResizeMethod::Bilinear}), v);
  expect_same(bil.leaf(), fn::resize(v, {4}, {.method = fn::ResizeMethod::Bilinear}),
              "resize bilinear");
  Tree cub = run(axon::resize(x, {4, 8},
                              {.method = fn::ResizeMethod::Bicubic,
                               .antialias = false,
                               .channels = fn::Channels::First}),
                 v);
  EXPECT_EQ(cub.leaf().shape(), (nx::Shape{1, 6, 4, 8}));
  expect_same(cub.leaf(),
              fn::resize(v, {4, 8},
                         {.method = fn::ResizeMethod::Bicubic,
                          .antialias = false,
                          .channels = fn::Channels::First}),
              "resize bicubic first");
  EXPECT_THROW(axon::resize(x, {0, 3}), nx::Error);
  EXPECT_THROW(axon::resize(x, {}), nx::Error);
}

TEST(LayersShape, ConcatenateAlongAnyAxis) {
  auto a = axon::input("a", {axon::kDynamic, 2, 3});
  auto b = axon::input("b", {axon::kDynamic, 4, 3});
  Tensor va = ramp({2, 2, 3}), vb = ramp({2, 4, 3}) + Tensor(100.0);
  auto [init_fn, predict_fn] = axon::build(axon::concatenate({a, b, a}, {.axis = 1}));
  axon::ModelState s = init_fn(Tree{{"a", nx::make_template({2, 2, 3}, nx::f32)},
                                    {"b", nx::make_template({2, 4, 3}, nx::f32)}});
  Tensor y = predict_fn(s, Tree{{"a", va}, {"b", vb}}).leaf();
  EXPECT_EQ(y.shape(), (nx::Shape{2, 8, 3}));
  expect_same(y, fn::concatenate({va, vb, va}, 1), "concatenate axis 1");
  // Two models, the last axis by default.
  Tree last = run(axon::concatenate(a, a), va);
  expect_same(last.leaf(), fn::concatenate({va, va}), "concatenate last");
  EXPECT_THROW(axon::concatenate(std::vector<axon::Model>{}), nx::Error);
}

TEST(LayersShape, SplitEqualAndBySizes) {
  auto x = axon::input("x", {axon::kDynamic, 6});
  Tensor v = ramp({2, 6});
  std::vector<axon::Model> thirds = axon::split(x, 3);
  ASSERT_EQ(thirds.size(), 3u);
  auto [init_fn, predict_fn] = axon::build(axon::container(thirds));
  axon::ModelState s = init_fn(nx::make_template({2, 6}, nx::f32));
  Tree y = predict_fn(s, v);
  std::vector<Tensor> want = fn::split(v, 3);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(y[i].leaf().shape(), (nx::Shape{2, 2}));
    expect_same(y[i].leaf(), want[i], "split piece " + std::to_string(i));
  }
  // One piece alone, and explicit sizes along axis 0.
  expect_same(run(thirds[2], v).leaf(), want[2], "split piece 2 alone");
  auto y0 = axon::input("y", {4, 3});
  Tensor w = ramp({4, 3});
  std::vector<axon::Model> parts = axon::split(y0, fn::Sizes{1, 3}, {.axis = 0});
  ASSERT_EQ(parts.size(), 2u);
  std::vector<Tensor> want2 = fn::split(w, fn::Sizes{1, 3}, 0);
  expect_same(run(parts[0], w).leaf(), want2[0], "split sizes 0");
  expect_same(run(parts[1], w).leaf(), want2[1], "split sizes 1");
  EXPECT_THROW(axon::split(x, 0), nx::Error);
  // A size that does not divide is reported with the layer that failed.
  auto bad = axon::split(x, 4);
  try {
    run(bad[0], v);
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("split_0 (split) built at shape_test.cpp"), std::string::npos) << m;
  }
}

TEST(LayersShape, GradientsFlowThroughShapeLayers) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto parts = axon::split(x, 2);
  auto y = axon::concatenate({axon::reshape(parts[1], {axon::kBatch, 2}), parts[0]});
  auto built_predict_fn = axon::build(y);
  auto& init_fn = built_predict_fn.first;
  auto& predict_fn = built_predict_fn.second;
  axon::ModelState s = init_fn(nx::make_template({3, 4}, nx::f32));
  Tensor v = ramp({3, 4});
  Tensor g = nx::grad(v, [&](const Tensor& t) {
    return nx::sum(predict_fn(s, t).leaf() *
                   nx::reshape(nx::as_type(nx::arange(0, 12, 1), nx::f32), {3, 4}));
  });
  // y = [x2 x3 x0 x1]: the cotangent's columns permuted back.
  Tensor ct = nx::reshape(nx::as_type(nx::arange(0, 12, 1), nx::f32), {3, 4});
  expect_same(
      g, fn::concatenate({nx::slice_along_axis(ct, 2, 2, 1), nx::slice_along_axis(ct, 0, 2, 1)}),
      "grad");
}

}  // namespace
