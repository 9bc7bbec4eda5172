// accumulate_gradients really accumulates: every k-th call feeds the mean of the last k updates
// to the inner transformation, whose state does not move on the other calls.
#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

// An inner transformation that records what it was fed (as its "last" state) and counts calls.
optim::Transformation recorder() {
  return optim::stateful(
      [](const Tree& params) {
        return Tree{{"calls", nx::scalar_int(0, nx::s64)},
                    {"last", nx::tree_map(params, [](const Tensor& p) {
                       return nx::zeros(p.shape(), p.dtype() == nx::f64 ? nx::f64 : nx::f32);
                     })}};
      },
      [](const Tree& u, const Tree& s, const Tree&) {
        Tree out = nx::tree_map(u, [](const Tensor& x) { return x * 10.0; });
        return optim::UpdateResult{out, Tree{{"calls", s["calls"].leaf() + 1}, {"last", u}}};
      });
}

void run_and_check(bool jit) {
  const int k = 3;
  auto t = optim::accumulate_gradients(recorder(), k);
  auto step = jitted_update(t);
  Tree p = sample_params(nx::f64);
  Tree s = t.init(p);
  EXPECT_EQ(s["step"].leaf().item<int64_t>(), 0);
  std::vector<Tree> fed;
  for (int i = 0; i < 7; ++i) {
    Tree g = sample_grads(i, nx::f64);
    fed.push_back(g);
    Tree updates;
    if (jit) {
      Tree r = step(g, s, p);
      updates = r[0];
      s = r[1];
    } else {
      optim::UpdateResult r = t.update(g, s, p);
      updates = r.updates;
      s = r.state;
    }
    bool fires = (i + 1) % k == 0;
    int64_t calls = (i + 1) / k;
    EXPECT_EQ(s["inner"]["calls"].leaf().item<int64_t>(), calls) << "call " << i;
    EXPECT_EQ(s["step"].leaf().item<int64_t>(), (i + 1) % k) << "call " << i;
    if (fires) {
      Tree mean = nx::tree_map(std::span<const Tree>(fed.data() + fed.size() - k, k),
                               [&](std::span<const Tensor> xs) {
                                 Tensor sum = xs[0];
                                 for (size_t j = 1; j < xs.size(); ++j) sum = sum + xs[j];
                                 return sum / 3.0;
                               });
      expect_tree_near(Tree(s["inner"]["last"]), mean, 1e-14, 1e-15, "inner input");
      expect_tree_near(updates, nx::tree_map(mean, [](const Tensor& x) { return x * 10.0; }), 1e-14,
                       1e-14, "emitted update");
      nx::tree_for_each(s["accumulated"], [](const Tensor& a) {
        for (double v : values(a)) EXPECT_EQ(v, 0.0);
      });
    } else {
      nx::tree_for_each(updates, [](const Tensor& u) {
        for (double v : values(u)) EXPECT_EQ(v, 0.0);
      });
    }
  }
  if (jit) {
    EXPECT_EQ(step.stats().compiles, 1);
  }
}

TEST(OptimAccumulate, FeedsTheMeanOfKStepsEagerly) {
  run_and_check(false);
}

TEST(OptimAccumulate, FeedsTheMeanOfKStepsUnderJit) {
  run_and_check(true);
}

TEST(OptimAccumulate, MatchesOneBigBatchStepOfSgd) {
  // Accumulating k gradients with SGD equals one step on their mean.
  auto acc = optim::accumulate_gradients(optim::sgd({.learning_rate = 0.5}), 2);
  auto big = optim::sgd({.learning_rate = 0.5});
  Tree p = sample_params(nx::f64);
  Tree s = acc.init(p);
  Tree g0 = sample_grads(0, nx::f64), g1 = sample_grads(1, nx::f64);
  optim::UpdateResult a0 = acc.update(g0, s, p);
  optim::UpdateResult a1 = acc.update(g1, a0.state, p);
  Tree mean = nx::tree_map(g0, g1, [](const Tensor& a, const Tensor& b) { return (a + b) / 2.0; });
  optim::UpdateResult b = big.update(mean, big.init(p), p);
  expect_tree_near(a1.updates, b.updates, 1e-15);
}

TEST(OptimAccumulate, OneStepPassesEveryUpdate) {
  auto t = optim::accumulate_gradients(optim::scale(2.0), 1);
  Tree p = sample_params(nx::f64), g = sample_grads(0, nx::f64);
  optim::UpdateResult r = t.update(g, t.init(p), p);
  expect_tree_near(r.updates, nx::tree_map(g, [](const Tensor& x) { return x * 2.0; }), 0.0);
  EXPECT_EQ(r.state["step"].leaf().item<int64_t>(), 0);
}

TEST(OptimAccumulate, EmitsTheAccumulatorDtype) {
  // bf16 gradients accumulate in f32, and the zeros of non-firing steps are f32 too.
  auto t = optim::accumulate_gradients(optim::sgd(), 2);
  Tree p = sample_params(nx::bf16);
  Tree s = t.init(p);
  nx::tree_for_each(s["accumulated"], [](const Tensor& a) { EXPECT_EQ(a.dtype(), nx::f32); });
  optim::UpdateResult r = t.update(sample_grads(0, nx::bf16), s, p);
  nx::tree_for_each(r.updates, [](const Tensor& u) { EXPECT_EQ(u.dtype(), nx::f32); });
  r = t.update(sample_grads(1, nx::bf16), r.state, p);
  nx::tree_for_each(r.updates, [](const Tensor& u) { EXPECT_EQ(u.dtype(), nx::f32); });
}

TEST(OptimAccumulate, RejectsBadInput) {
  EXPECT_NE(error_of([] { optim::accumulate_gradients(optim::sgd(), 0); }), "");
  EXPECT_NE(error_of([] { optim::accumulate_gradients(optim::Transformation{}, 2); }), "");
  // An inner update that changes its state's types cannot be accumulated.
  auto bad = optim::stateful(
      [](const Tree&) {
        return Tree{{"x", nx::scalar(0.0, nx::f32)}};
      },
      [](const Tree& u, const Tree&, const Tree&) {
        return optim::UpdateResult{u, Tree{{"x", nx::scalar(0.0, nx::f64)}}};
      });
  auto t = optim::accumulate_gradients(bad, 1);
  Tree p = sample_params();
  std::string e = error_of([&] { t.update(sample_grads(0), t.init(p), p); });
  EXPECT_NE(e.find("axon::optim::accumulate_gradients"), std::string::npos) << e;
  EXPECT_NE(e.find("'x'"), std::string::npos) << e;
}

}  // namespace
}  // namespace optim_unit
