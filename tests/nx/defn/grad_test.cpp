// grad and value_and_grad: analytic gradients, trees, aux, stop_grad, custom_grad, grad of grad,
// grad inside jit and jit inside grad. (Per-primitive rules are tested in vjp_rules_test.cpp and
// the conformance harness's gradient mode.)
#include <gtest/gtest.h>

#include <cmath>

#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx {
namespace {

std::vector<double> vals(const Tensor& t) {
  return t.to_vector<double>();
}

void expect_near(const Tensor& got, const std::vector<double>& want, double tol = 1e-12) {
  std::vector<double> g = vals(got);
  ASSERT_EQ(g.size(), want.size());
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << "at " << i;
}

TEST(DefnGrad, ScalarPolynomial) {
  Tensor x = nx::tensor({1.0, 2.0, -3.0}, DType::F64);
  Tensor g = nx::grad(x, [](const Tensor& v) { return nx::sum(v * v * v); });
  expect_near(g, {3.0, 12.0, 27.0});
}

TEST(DefnGrad, ValueAndGradOfTree) {
  Tree p = {{"w", nx::tensor({{1.0, 2.0}, {3.0, 4.0}}, DType::F64)},
            {"b", nx::tensor({0.5, -0.5}, DType::F64)}};
  Tensor x = nx::tensor({{1.0, -1.0}}, DType::F64);
  ValueAndGrad r = nx::value_and_grad(
      p, [&](const Tree& q) { return nx::sum(nx::dot(x, q["w"].leaf()) + q["b"].leaf()); });
  // x.w = [1-3, 2-4] = [-2, -2]; + b = [-1.5, -2.5]; sum = -4.
  EXPECT_DOUBLE_EQ(r.value.item<double>(), -4.0);
  expect_near(r.grad["w"].leaf(), {1.0, 1.0, -1.0, -1.0});
  expect_near(r.grad["b"].leaf(), {1.0, 1.0});
}

TEST(DefnGrad, BroadcastOperandsGetSummedCotangents) {
  Tree p = {{"a", nx::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, DType::F64)},
            {"b", nx::tensor({1.0, 1.0, 2.0}, DType::F64)}};
  Tree g = nx::grad(p, [](const Tree& q) { return nx::sum(q["a"].leaf() * q["b"].leaf()); });
  expect_near(g["b"].leaf(), {5.0, 7.0, 9.0});
  expect_near(g["a"].leaf(), {1.0, 1.0, 2.0, 1.0, 1.0, 2.0});
}

TEST(DefnGrad, WrtSubsetAndAux) {
  Tree p = {{"a", nx::tensor({2.0}, DType::F64)}, {"b", nx::tensor({3.0}, DType::F64)}};
  GradOptions opts;
  opts.wrt = [](const std::string& path) { return path == "a"; };
  ValueAndGrad r = nx::value_and_grad_aux(
      p,
      [](const Tree& q) {
        Tensor y = nx::sum(q["a"].leaf() * q["b"].leaf());
        return std::pair<Tensor, Tree>(y, Tree({{"double", y * 2}}));
      },
      opts);
  expect_near(r.grad["a"].leaf(), {3.0});
  expect_near(r.grad["b"].leaf(), {0.0});
  EXPECT_DOUBLE_EQ(r.aux["double"].leaf().item<double>(), 12.0);
}

TEST(DefnGrad, StopGradBlocksFlow) {
  Tensor x = nx::tensor({3.0}, DType::F64);
  Tensor g = nx::grad(x, [](const Tensor& v) { return nx::sum(v * nx::stop_grad(v)); });
  expect_near(g, {3.0});
}

TEST(DefnGrad, CustomGradReplacesTheRule) {
  Tensor x = nx::tensor({1.0, 4.0}, DType::F64);
  // value sqrt(x), declared gradient 10 * g (ignores the real derivative).
  Tensor g = nx::grad(x, [](const Tensor& v) {
    Tensor y = nx::custom_grad(nx::sqrt(v), {v},
                               [](const Tensor& ct) { return std::vector<Tensor>{ct * 10.0}; });
    return nx::sum(y);
  });
  expect_near(g, {10.0, 10.0});
}

TEST(DefnGrad, CustomGradClosureSeesForwardValues) {
  Tensor x = nx::tensor({1.0, 4.0}, DType::F64);
  // The vjp uses y, a value of the traced forward pass: d sqrt(x) = g / (2 sqrt(x)).
  Tensor g = nx::grad(x, [](const Tensor& v) {
    Tensor y = nx::sqrt(v);
    Tensor z = nx::custom_grad(
        y, {v}, [y](const Tensor& ct) { return std::vector<Tensor>{ct / (2.0 * y)}; });
    return nx::sum(z);
  });
  expect_near(g, {0.5, 0.25});
}

TEST(DefnGrad, GradOfGrad) {
  Tensor x = nx::tensor({0.5, 2.0}, DType::F64);
  // d2/dx2 sum(x^3) = 6x.
  Tensor h = nx::grad(x, [](const Tensor& v) {
    return nx::sum(nx::grad(v, [](const Tensor& u) { return nx::sum(u * u * u); }));
  });
  expect_near(h, {3.0, 12.0});
}

TEST(DefnGrad, GradOfGradThroughCustomGrad) {
  Tensor x = nx::tensor({2.0}, DType::F64);
  // f = custom(x^2 with vjp 2*x*g): f'' = 2.
  Tensor h = nx::grad(x, [](const Tensor& v) {
    return nx::sum(nx::grad(v, [](const Tensor& u) {
      Tensor y = nx::custom_grad(
          u * u, {u}, [u](const Tensor& ct) { return std::vector<Tensor>{2.0 * u * ct}; });
      return nx::sum(y);
    }));
  });
  expect_near(h, {2.0});
}

TEST(DefnGrad, GradInsideJitAndJitInsideGrad) {
  Tensor x = nx::tensor({1.0, 2.0}, DType::F64);
  auto f = nx::jit([](const Tensor& v) {
    return nx::grad(v, [](const Tensor& u) { return nx::sum(nx::sin(u)); });
  });
  expect_near(f(x), {std::cos(1.0), std::cos(2.0)});
  auto sq = nx::jit([](const Tensor& u) { return nx::sum(u * u); });
  Tensor g = nx::grad(x, [&](const Tensor& v) { return sq(v); });
  expect_near(g, {2.0, 4.0});
  EXPECT_EQ(sq.stats().inlined, 1);
}

TEST(DefnGrad, ClosureOverOuterTracedValue) {
  // grad inside a jit where the loss closes over a traced batch (the training-step shape).
  auto step = nx::jit([](const Tensor& w, const Tensor& xb) {
    return nx::grad(w, [&](const Tensor& v) { return nx::sum(v * xb); });
  });
  expect_near(step(nx::tensor({1.0, 1.0}, DType::F64), nx::tensor({3.0, 4.0}, DType::F64)),
              {3.0, 4.0});
}

TEST(DefnGrad, Errors) {
  EXPECT_THROW(nx::grad(nx::tensor({1, 2}), [](const Tensor& v) { return nx::sum(v); }), Error);
  EXPECT_THROW(nx::grad(nx::tensor({1.0, 2.0}, DType::F64), [](const Tensor& v) { return v; }),
               Error);
}

TEST(DefnGrad, UnusedInputHasZeroGradient) {
  Tree p = {{"a", nx::tensor({1.0f})}, {"b", nx::tensor({2.0f})}};
  Tree g = nx::grad(p, [](const Tree& q) { return nx::sum(q["a"].leaf() * 2); });
  expect_near(g["b"].leaf(), {0.0});
  EXPECT_EQ(g["b"].leaf().dtype(), DType::F32);
}

}  // namespace
}  // namespace nx
