// while_loop, cond and scan: eager, compiled, and their gradients against finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx {
namespace {

// x^(2^k) by repeated squaring while a counter runs.
Tree square_k_times(const Tensor& x, int64_t k) {
  return nx::while_loop(
      Tree::list({Tree(x), Tree(nx::scalar_int(0, DType::S64))}),
      [k](const Tree& s) { return nx::less(s[1].leaf(), k); },
      [](const Tree& s) {
        return Tree::list({Tree(s[0].leaf() * s[0].leaf()), Tree(s[1].leaf() + 1)});
      });
}

TEST(DefnControlFlow, WhileEagerAndCompiled) {
  Tensor x = nx::tensor({1.5, -0.5}, DType::F64);
  Tensor eager = square_k_times(x, 3)[0].leaf();
  EXPECT_NEAR(eager.to_vector<double>()[0], std::pow(1.5, 8), 1e-12);
  auto f = nx::jit([](const Tensor& v) { return square_k_times(v, 3)[0].leaf(); });
  EXPECT_EQ(f(x).to_vector<double>(), eager.to_vector<double>());
}

TEST(DefnControlFlow, WhileGradient) {
  Tensor x = nx::tensor({1.1, -0.7}, DType::F64);
  // d/dx x^8 = 8 x^7, eager and compiled.
  auto g = [](const Tensor& v) {
    return nx::grad(v, [](const Tensor& u) { return nx::sum(square_k_times(u, 3)[0].leaf()); });
  };
  std::vector<double> got = g(x).to_vector<double>();
  EXPECT_NEAR(got[0], 8 * std::pow(1.1, 7), 1e-10);
  EXPECT_NEAR(got[1], 8 * std::pow(-0.7, 7), 1e-10);
  auto jg = nx::jit(g);
  EXPECT_EQ(jg(x).to_vector<double>(), got);
}

TEST(DefnControlFlow, WhileRejectsChangingTypes) {
  EXPECT_THROW(
      nx::while_loop(
          Tree(nx::tensor({1.0f})), [](const Tree& s) { return nx::less(nx::sum(s.leaf()), 5); },
          [](const Tree& s) { return Tree(nx::as_type(s.leaf(), DType::F64)); }),
      Error);
}

TEST(DefnControlFlow, CondPicksABranchAndDifferentiates) {
  auto f = [](const Tensor& x) {
    return nx::cond(
               nx::greater(nx::sum(x), 0), [&] { return Tree(x * x); },
               [&] { return Tree(nx::sin(x)); })
        .leaf();
  };
  Tensor pos = nx::tensor({1.0, 2.0}, DType::F64), neg = nx::tensor({-1.0, -2.0}, DType::F64);
  auto jf = nx::jit(f);
  EXPECT_EQ(jf(pos).to_vector<double>(), f(pos).to_vector<double>());
  EXPECT_EQ(jf(neg).to_vector<double>(), f(neg).to_vector<double>());
  auto g = [&](const Tensor& x) {
    return nx::grad(x, [&](const Tensor& u) { return nx::sum(f(u)); });
  };
  std::vector<double> gp = g(pos).to_vector<double>();
  EXPECT_NEAR(gp[0], 2.0, 1e-12);
  EXPECT_NEAR(gp[1], 4.0, 1e-12);
  std::vector<double> gn = nx::jit(g)(neg).to_vector<double>();
  EXPECT_NEAR(gn[0], std::cos(-1.0), 1e-12);
  EXPECT_NEAR(gn[1], std::cos(-2.0), 1e-12);
}

TEST(DefnControlFlow, CondBranchesMustAgree) {
  auto f = nx::jit([](const Tensor& x) {
    return nx::cond(
               nx::greater(nx::sum(x), 0), [&] { return Tree(x); },
               [&] { return Tree(nx::as_type(x, DType::F64)); })
        .leaf();
  });
  EXPECT_THROW(f(nx::tensor({1.0f})), Error);
}

// A simple RNN: h = tanh(w * h + x_t); ys = h per step.
ScanResult rnn(const Tensor& w, const Tensor& h0, const Tensor& xs, bool reverse = false) {
  return nx::scan(
      Tree(h0), Tree(xs),
      [&](const Tree& h, const Tree& x) {
        Tensor n = nx::tanh(w * h.leaf() + x.leaf());
        return std::pair<Tree, Tree>(Tree(n), Tree(n * 2));
      },
      ScanOptions{reverse, -1});
}

TEST(DefnControlFlow, ScanEagerAndCompiled) {
  Tensor w = nx::tensor({0.5, -0.3}, DType::F64), h0 = nx::tensor({0.1, 0.2}, DType::F64);
  Tensor xs = nx::tensor({{0.1, 0.2}, {0.3, -0.4}, {0.5, 0.6}}, DType::F64);
  for (bool rev : {false, true}) {
    ScanResult e = rnn(w, h0, xs, rev);
    // Reference by hand.
    std::vector<double> h = {0.1, 0.2};
    std::vector<double> ys(6);
    std::vector<double> xv = xs.to_vector<double>(), wv = w.to_vector<double>();
    for (int k = 0; k < 3; ++k) {
      int t = rev ? 2 - k : k;
      for (int j = 0; j < 2; ++j) {
        h[j] = std::tanh(wv[j] * h[j] + xv[t * 2 + j]);
        ys[t * 2 + j] = 2 * h[j];
      }
    }
    std::vector<double> got = e.ys.leaf().to_vector<double>();
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(got[i], ys[i], 1e-12);
    auto f = nx::jit([rev](const Tensor& a, const Tensor& b, const Tensor& c) {
      ScanResult r = rnn(a, b, c, rev);
      return std::make_pair(r.carry.leaf(), r.ys.leaf());
    });
    auto [c, y] = f(w, h0, xs);
    EXPECT_EQ(y.to_vector<double>(), got);
    EXPECT_EQ(c.to_vector<double>(), e.carry.leaf().to_vector<double>());
  }
}

double loss_of(const Tensor& w, const Tensor& h0, const Tensor& xs, bool rev) {
  ScanResult r = rnn(w, h0, xs, rev);
  return nx::sum(r.ys.leaf() * r.ys.leaf()).item<double>() + nx::sum(r.carry.leaf()).item<double>();
}

TEST(DefnControlFlow, ScanGradientMatchesFiniteDifferences) {
  Tensor w = nx::tensor({0.5, -0.3}, DType::F64), h0 = nx::tensor({0.1, 0.2}, DType::F64);
  Tensor xs = nx::tensor({{0.1, 0.2}, {0.3, -0.4}, {0.5, 0.6}}, DType::F64);
  for (bool rev : {false, true}) {
    Tree p = {{"w", w}, {"h0", h0}, {"xs", xs}};
    auto loss = [rev](const Tree& q) {
      ScanResult r = rnn(q["w"].leaf(), q["h0"].leaf(), q["xs"].leaf(), rev);
      return nx::sum(r.ys.leaf() * r.ys.leaf()) + nx::sum(r.carry.leaf());
    };
    Tree g = nx::grad(p, loss);
    Tree jg = nx::jit([&](const Tree& q) { return nx::grad(q, loss); })(p);
    for (const char* name : {"w", "h0", "xs"}) {
      std::vector<double> base = p[name].leaf().to_vector<double>();
      std::vector<double> got = g[name].leaf().to_vector<double>();
      std::vector<double> jgot = jg[name].leaf().to_vector<double>();
      for (size_t i = 0; i < base.size(); ++i) {
        const double h = 1e-6;
        auto at = [&](double d) {
          std::vector<double> v = base;
          v[i] += d;
          Tensor t = nx::from_vector(v, p[name].leaf().shape());
          Tree q = p.set(name, Tree(t));
          return loss_of(q["w"].leaf(), q["h0"].leaf(), q["xs"].leaf(), rev);
        };
        double fd = (at(h) - at(-h)) / (2 * h);
        EXPECT_NEAR(got[i], fd, 1e-7) << name << "[" << i << "] reverse=" << rev;
        EXPECT_NEAR(jgot[i], got[i], 1e-12) << name << "[" << i << "]";
      }
    }
  }
}

TEST(DefnControlFlow, ScanWithoutXsUsesLength) {
  ScanResult r = nx::scan(
      Tree(nx::tensor({1.0}, DType::F64)), Tree::list({}),
      [](const Tree& c, const Tree&) {
        return std::pair<Tree, Tree>(Tree(c.leaf() * 2), Tree(c.leaf()));
      },
      ScanOptions{false, 4});
  EXPECT_EQ(r.carry.leaf().to_vector<double>(), std::vector<double>({16.0}));
  EXPECT_EQ(r.ys.leaf().to_vector<double>(), std::vector<double>({1, 2, 4, 8}));
}

}  // namespace
}  // namespace nx
