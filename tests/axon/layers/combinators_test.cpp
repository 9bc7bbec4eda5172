// Combinators: add/subtract/multiply as broadcasting left folds, cond taking each branch at run
// time (one compiled program for both), and the EOS mask.
#include <gtest/gtest.h>

#include "../fn/fn_test_helpers.hpp"
#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/linear.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/combinators.hpp"
#include "axon/layers/linear.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;
namespace fn = axon::fn;

Tensor ramp(const nx::Shape& shape, double scale = 0.5, double offset = 0.0) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return nx::reshape(nx::arange(0, static_cast<double>(n), 1), shape) * Tensor(scale) +
         Tensor(offset);
}

void expect_same(const Tensor& a, const Tensor& b, const std::string& what) {
  fn_test::expect_close(a, b, 1e-6, 1e-6, what);
}

TEST(LayersCombinators, BinaryAndListFoldsBroadcast) {
  auto a = axon::input("a", {axon::kDynamic, 3});
  auto b = axon::input("b", {axon::kDynamic, 3});
  auto row = axon::constant(nx::reshape(ramp({3}, 1.0, 1.0), {1, 3}));
  Tensor va = ramp({2, 3}), vb = ramp({2, 3}, -1.0, 4.0),
         vr = nx::reshape(ramp({3}, 1.0, 1.0), {1, 3});
  Tree inputs{{"a", va}, {"b", vb}};
  Tree templates{{"a", nx::make_template({2, 3}, nx::f32)},
                 {"b", nx::make_template({2, 3}, nx::f32)}};
  auto check = [&](const axon::Model& m, const Tensor& want, const std::string& what) {
    auto [init_fn, predict_fn] = axon::build(m);
    axon::ModelState s = init_fn(templates);
    EXPECT_EQ(s.num_parameters(), 0);
    expect_same(predict_fn(s, inputs).leaf(), want, what);
  };
  check(axon::add(a, b), va + vb, "add");
  check(axon::subtract(a, b), va - vb, "subtract");
  check(axon::multiply(a, b), va * vb, "multiply");
  check(axon::add({a, b, row}), (va + vb) + vr, "add list");
  check(axon::subtract({a, b, row}), (va - vb) - vr, "subtract list (left fold)");
  check(axon::multiply({a, row, b}), (va * vr) * vb, "multiply list");
  EXPECT_THROW(axon::add(std::vector<axon::Model>{a}), nx::Error);
  EXPECT_THROW(axon::multiply(std::vector<axon::Model>{}), nx::Error);
}

TEST(LayersCombinators, CondPicksTheBranchAtRunTime) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto on_true = axon::dense(x, 3, {.name = "yes"});
  auto on_false = axon::tanh(axon::dense(x, 3, {.name = "no"}));
  auto y = axon::cond(
      x, [](const Tensor& v) { return nx::greater(nx::sum(v), Tensor(0.0)); }, on_true, on_false);
  auto built_predict_fn = axon::build(y);
  auto& init_fn = built_predict_fn.first;
  auto& predict_fn = built_predict_fn.second;
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  Tensor pos = ramp({2, 4}, 0.25, 0.1), neg = ramp({2, 4}, -0.25, -0.1);
  auto yes = [&](const Tensor& v) {
    return fn::dense(v, s.data["yes"]["kernel"].leaf(), s.data["yes"]["bias"].leaf());
  };
  auto no = [&](const Tensor& v) {
    return fn::tanh(fn::dense(v, s.data["no"]["kernel"].leaf(), s.data["no"]["bias"].leaf()));
  };
  expect_same(predict_fn(s, pos).leaf(), yes(pos), "cond true");
  expect_same(predict_fn(s, neg).leaf(), no(neg), "cond false");
  EXPECT_EQ(predict_fn.stats().compiles, 1);  // one program, the branch chosen at run time

  // The gradient reaches the chosen branch only.
  Tree g = nx::grad(s.data, [&](const Tree& d) {
    axon::ModelState t = s;
    t.data = d;
    return nx::sum(predict_fn(t, neg).leaf());
  });
  EXPECT_EQ(nx::sum(nx::abs(g["yes"]["kernel"].leaf())).item<float>(), 0.0f);
  EXPECT_GT(nx::sum(nx::abs(g["no"]["kernel"].leaf())).item<float>(), 0.0f);
}

TEST(LayersCombinators, CondRejectsANonScalarPredicate) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto y = axon::cond(
      x, [](const Tensor& v) { return nx::greater(v, Tensor(0.0)); }, x, x);
  auto [init_fn, predict_fn] = axon::build(y);
  try {
    init_fn(nx::make_template({2, 4}, nx::f32));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("axon::cond: cond_fn must return a rank-0 tensor"), std::string::npos) << m;
    EXPECT_NE(m.find("cond_0 (cond)"), std::string::npos) << m;
  }
  EXPECT_THROW(axon::cond(x, axon::CondFn(), x, x), nx::Error);
}

TEST(LayersCombinators, MaskMarksTheEosToken) {
  auto ids = axon::input("ids", {axon::kDynamic, 5}, {.dtype = nx::s64});
  auto [init_fn, predict_fn] = axon::build(axon::mask(ids, 0));
  axon::ModelState s = init_fn(nx::make_template({2, 5}, nx::s64));
  Tensor v = nx::as_type(nx::reshape(nx::arange(0, 10, 1), {2, 5}), nx::s64);
  v = nx::remainder(v, Tensor(int64_t{3}));
  Tensor m = predict_fn(s, v).leaf();
  EXPECT_EQ(m.dtype(), nx::pred);
  expect_same(nx::as_type(m, nx::f32), nx::as_type(nx::equal(v, Tensor(int64_t{0})), nx::f32),
              "mask");
  // Float ids are converted to s64 first, as Axon.
  auto fx = axon::input("f", {axon::kDynamic, 3});
  auto [i2, p2] = axon::build(axon::mask(fx, 2));
  axon::ModelState s2 = i2(nx::make_template({1, 3}, nx::f32));
  Tensor fm = p2(s2, nx::reshape(nx::arange(1, 4, 1), {1, 3})).leaf();
  expect_same(nx::as_type(fm, nx::f32),
              nx::from_vector(std::vector<float>{0, 1, 0}, nx::Shape{1, 3}), "mask of floats");
}

}  // namespace
