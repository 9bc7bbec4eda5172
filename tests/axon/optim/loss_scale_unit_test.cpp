// Loss scaling: identity, static and dynamic scales, growth after a period of finite steps,
// shrinking on overflow, and skipping the update of an overflowed step.
#include <limits>

#include "nx/ops/reduce.hpp"

#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

Tree grads_with(double v) {
  return Tree{{"w", nx::tensor({1.0, v}, nx::f32)}, {"b", nx::tensor({2.0}, nx::f16)}};
}

double scale_of(const Tree& state) {
  return state["loss_scale"].leaf().item<double>();
}

TEST(OptimLossScale, IdentityChangesNothing) {
  optim::LossScale ls = optim::identity_loss_scale();
  Tree s = ls.init();
  Tensor loss = nx::scalar(2.5, nx::f32);
  EXPECT_EQ(ls.scale(loss, s).item<double>(), 2.5);
  optim::LossScale::Unscaled u = ls.unscale(grads_with(3.0), s);
  expect_tree_near(u.grads, grads_with(3.0), 0.0);
  EXPECT_TRUE(u.finite.item<bool>());
}

TEST(OptimLossScale, StaticScalesAndUnscales) {
  optim::LossScale ls = optim::static_loss_scale(1024.0);
  Tree s = ls.init();
  EXPECT_EQ(scale_of(s), 1024.0);
  Tensor scaled = ls.scale(nx::scalar(0.5, nx::f32), s);
  EXPECT_EQ(scaled.dtype(), nx::f32);
  EXPECT_EQ(scaled.item<double>(), 512.0);
  EXPECT_EQ(ls.scale(nx::scalar(0.5, nx::f16), s).dtype(), nx::f16);  // keeps the loss dtype
  optim::LossScale::Unscaled u = ls.unscale(grads_with(2048.0), s);
  EXPECT_EQ(values(u.grads["w"].leaf()), (std::vector<double>{1.0 / 1024, 2.0}));
  EXPECT_EQ(u.grads["b"].leaf().dtype(), nx::f16);
  EXPECT_EQ(values(u.grads["b"].leaf())[0], 2.0 / 1024);
  EXPECT_TRUE(u.finite.item<bool>());
  EXPECT_FALSE(
      ls.unscale(grads_with(std::numeric_limits<double>::infinity()), s).finite.item<bool>());
  EXPECT_EQ(scale_of(ls.unscale(grads_with(std::nan("")), s).state), 1024.0);  // never adjusts
  EXPECT_NE(error_of([] { optim::static_loss_scale(0.0); }), "");
}

TEST(OptimLossScale, DynamicGrowsAfterAPeriodAndShrinksOnOverflow) {
  optim::LossScale ls =
      optim::dynamic_loss_scale({.init_scale = 8.0, .period = 3, .factor = 2.0, .min_scale = 2.0});
  Tree s = ls.init();
  EXPECT_EQ(scale_of(s), 8.0);
  std::vector<double> scales;
  auto step = [&](double v) {
    optim::LossScale::Unscaled u = ls.unscale(grads_with(v), s);
    s = u.state;
    scales.push_back(scale_of(s));
    return u;
  };
  double inf = std::numeric_limits<double>::infinity();
  // Unscaled with the scale before the adjustment.
  EXPECT_EQ(values(step(1.0).grads["w"].leaf())[0], 1.0 / 8);
  step(1.0);
  step(1.0);                                             // third finite step in a row: grow
  EXPECT_FALSE(step(inf).finite.item<bool>());           // overflow: halve, reset the counter
  EXPECT_FALSE(step(std::nan("")).finite.item<bool>());  // NaN counts as overflow
  step(inf);                                             // would go below min_scale: stays at 2
  step(1.0);
  step(1.0);
  step(1.0);  // grow again after three finite steps
  EXPECT_EQ(scales, (std::vector<double>{8, 8, 16, 8, 4, 2, 2, 2, 4}));
  EXPECT_EQ(s["counter"].leaf().item<int64_t>(), 0);
}

TEST(OptimLossScale, DynamicUnderJitMatchesEager) {
  optim::LossScale ls = optim::dynamic_loss_scale({.init_scale = 4.0, .period = 2});
  auto unscale = nx::jit([ls](const Tree& g, const Tree& s) {
    optim::LossScale::Unscaled u = ls.unscale(g, s);
    return Tree::list({u.grads, Tree(u.finite), u.state});
  });
  Tree s_eager = ls.init(), s_jit = ls.init();
  double inf = std::numeric_limits<double>::infinity();
  for (double v : {1.0, 1.0, inf, 1.0, 3.0}) {
    optim::LossScale::Unscaled e = ls.unscale(grads_with(v), s_eager);
    Tree j = unscale(grads_with(v), s_jit);
    EXPECT_EQ(j[1].leaf().item<bool>(), e.finite.item<bool>());
    expect_tree_near(Tree(j[2]), e.state, 0.0);
    s_eager = e.state;
    s_jit = j[2];
  }
  EXPECT_EQ(unscale.stats().compiles, 1);
}

TEST(OptimLossScale, SkipIfNotFiniteSkipsTheStep) {
  auto opt = optim::adam({.learning_rate = 0.1});
  Tree p = Tree{{"w", nx::tensor({1.0, 2.0}, nx::f32)}, {"b", nx::tensor({2.0}, nx::f32)}};
  Tree s = opt.init(p);
  Tree bad =
      Tree{{"w", nx::tensor({1.0, std::nan("")}, nx::f32)}, {"b", nx::tensor({2.0}, nx::f32)}};
  Tensor no = nx::scalar(0.0, nx::pred), yes = nx::scalar(1.0, nx::pred);
  optim::UpdateResult skipped = optim::skip_if_not_finite(opt, no, bad, s, p);
  nx::tree_for_each(skipped.updates, [](const Tensor& u) {
    for (double v : values(u)) EXPECT_EQ(v, 0.0);
  });
  expect_tree_near(skipped.state, s, 0.0);  // nothing moved, no NaN leaked in
  Tree good = grads_with(3.0).set("b", Tree(nx::tensor({2.0}, nx::f32)));
  optim::UpdateResult taken = optim::skip_if_not_finite(opt, yes, good, s, p);
  optim::UpdateResult plain = opt.update(good, s, p);
  expect_tree_near(taken.updates, plain.updates, 0.0);
  expect_tree_near(taken.state, plain.state, 0.0);
}

TEST(OptimLossScale, TrainingStepWithDynamicScaleUnderJit) {
  // The whole mixed-precision step compiles: scale, grad, unscale, skip, apply.
  optim::LossScale ls = optim::dynamic_loss_scale({.init_scale = 1024.0});
  auto opt = optim::sgd({.learning_rate = 0.1});
  auto train = nx::jit([ls, opt](const Tree& p, const Tree& os, const Tree& ss, const Tensor& x) {
    Tree g = nx::grad(
        p, [&](const Tree& q) { return ls.scale(nx::sum(nx::square(q["w"].leaf() * x)), ss); });
    optim::LossScale::Unscaled u = ls.unscale(g, ss);
    optim::UpdateResult r = optim::skip_if_not_finite(opt, u.finite, u.grads, os, p);
    return Tree::list({optim::apply_updates(p, r.updates), r.state, u.state});
  });
  Tree p = Tree{{"w", nx::tensor({1.0, -2.0}, nx::f32)}};
  Tree out = train(p, opt.init(p), ls.init(), nx::tensor({1.0, 1.0}, nx::f32));
  // d/dw sum((w x)^2) = 2 w: one SGD step of 0.1 gives 0.8 w.
  EXPECT_EQ(values(out[0]["w"].leaf()), (std::vector<double>{0.8f, -1.6f}));
  // An overflowing input: the step is skipped and the scale halves.
  float big = std::numeric_limits<float>::max();
  Tree skipped = train(p, opt.init(p), ls.init(), nx::tensor({big, big}, nx::f32));
  EXPECT_EQ(values(skipped[0]["w"].leaf()), (std::vector<double>{1.0, -2.0}));
  EXPECT_EQ(scale_of(skipped[2]), 512.0);
  EXPECT_EQ(train.stats().compiles, 1);
}

}  // namespace
}  // namespace optim_unit
