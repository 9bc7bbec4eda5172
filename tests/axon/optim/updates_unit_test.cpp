// Each update against a plain double-precision loop written from its formula (f64 tensors, a
// few steps), and the defaults Polaris documents in its code.
#include <algorithm>
#include <cmath>
#include <functional>

#include "nx/ops/reduce.hpp"
#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

// Per-element gradients for step i of the scalar references.
std::vector<double> grad(int i) {
  return {0.3 + 0.1 * i, -1.2 + 0.05 * i * i, (i % 2 ? 2.0 : -0.4), 1e-3 * (i + 1)};
}
std::vector<double> param0() {
  return {1.0, -0.5, 0.25, 2.0};
}

Tree leaf_tree(const std::vector<double>& v) {
  return Tree{{"w", nx::from_vector(v)}};
}

// Runs `t` for `steps` steps on a one-leaf f64 tree, applying the updates, and compares each
// step's update with `reference(i, g, p)` (which keeps its own state).
using Reference = std::function<std::vector<double>(int i, const std::vector<double>& g,
                                                    const std::vector<double>& p)>;
void check_against(const optim::Transformation& t, const Reference& reference, int steps = 6,
                   double rtol = 1e-13) {
  std::vector<double> p = param0();
  Tree params = leaf_tree(p);
  Tree state = t.init(params);
  for (int i = 0; i < steps; ++i) {
    optim::UpdateResult r = t.update(leaf_tree(grad(i)), state, params);
    std::vector<double> want = reference(i, grad(i), p);
    std::vector<double> got = values(r.updates["w"].leaf());
    ASSERT_EQ(got.size(), want.size());
    for (size_t j = 0; j < want.size(); ++j) {
      EXPECT_NEAR(got[j], want[j], rtol * std::abs(want[j]) + 1e-300)
          << "step " << i << " element " << j;
    }
    state = r.state;
    params = optim::apply_updates(params, r.updates);
    for (size_t j = 0; j < p.size(); ++j) p[j] += want[j];
  }
}

TEST(OptimUpdates, ScaleAndScaleByState) {
  check_against(optim::scale(-0.5), [](int, auto& g, auto&) {
    std::vector<double> u;
    for (double x : g) u.push_back(x * -0.5);
    return u;
  });
  check_against(optim::scale_by_state(3.0), [](int, auto& g, auto&) {
    std::vector<double> u;
    for (double x : g) u.push_back(x * 3.0);
    return u;
  });
}

TEST(OptimUpdates, ScaleByAdam) {
  std::vector<double> m(4), v(4);
  check_against(optim::scale_by_adam(), [&](int i, auto& g, auto&) {
    std::vector<double> u;
    for (size_t j = 0; j < 4; ++j) {
      m[j] = 0.9 * m[j] + 0.1 * g[j];
      v[j] = 0.999 * v[j] + 0.001 * g[j] * g[j];
      double mh = m[j] / (1 - std::pow(0.9, i + 1)), vh = v[j] / (1 - std::pow(0.999, i + 1));
      u.push_back(mh / (std::sqrt(vh + 1e-15) + 1e-8));
    }
    return u;
  });
}

TEST(OptimUpdates, ScaleByRss) {
  std::vector<double> s(4, 0.1);
  check_against(optim::scale_by_rss(), [&](int, auto& g, auto&) {
    std::vector<double> u;
    for (size_t j = 0; j < 4; ++j) {
      s[j] += g[j] * g[j];
      u.push_back(g[j] / std::sqrt(s[j] + 1e-7));
    }
    return u;
  });
}

TEST(OptimUpdates, ScaleByRmsAndStddev) {
  std::vector<double> v(4, 0.5);
  check_against(optim::scale_by_rms({.initial_scale = 0.5, .decay = 0.8, .eps = 1e-6}),
                [&](int, auto& g, auto&) {
                  std::vector<double> u;
                  for (size_t j = 0; j < 4; ++j) {
                    v[j] = 0.8 * v[j] + 0.2 * g[j] * g[j];
                    u.push_back(g[j] / std::sqrt(v[j] + 1e-6));
                  }
                  return u;
                });
  std::vector<double> m(4), n(4, 1.0);
  check_against(optim::scale_by_stddev({.initial_scale = 1.0}), [&](int, auto& g, auto&) {
    std::vector<double> u;
    for (size_t j = 0; j < 4; ++j) {
      m[j] = 0.9 * m[j] + 0.1 * g[j];
      n[j] = 0.9 * n[j] + 0.1 * g[j] * g[j];
      u.push_back(g[j] / std::sqrt(n[j] - m[j] * m[j] + 1e-8));
    }
    return u;
  });
}

TEST(OptimUpdates, ScaleByBeliefFollowsThePaper) {
  std::vector<double> m(4), s(4);
  check_against(
      optim::scale_by_belief({.eps = 1e-12}),
      [&](int i, auto& g, auto&) {
        std::vector<double> u;
        for (size_t j = 0; j < 4; ++j) {
          m[j] = 0.9 * m[j] + 0.1 * g[j];
          s[j] = 0.999 * s[j] + 0.001 * (g[j] - m[j]) * (g[j] - m[j]) + 1e-16;
          double mh = m[j] / (1 - std::pow(0.9, i + 1)), sh = s[j] / (1 - std::pow(0.999, i + 1));
          u.push_back(mh / (std::sqrt(sh) + 1e-12));
        }
        return u;
      },
      6, 1e-11);
}

TEST(OptimUpdates, ScaleByRadamRectifiesOnceRhoPassesTheThreshold) {
  // b2 = 0.9: rho_inf = 19, and rho_t passes 5 at t = 6, so both branches run.
  std::vector<double> m(4), v(4);
  double b1 = 0.9, b2 = 0.9;
  check_against(
      optim::scale_by_radam({.b1 = b1, .b2 = b2}),
      [&](int i, auto& g, auto&) {
        double t = i + 1;
        double rho_inf = 2 / (1 - b2) - 1;
        double rho = rho_inf - 2 * t * std::pow(b2, t) / (1 - std::pow(b2, t));
        std::vector<double> u;
        for (size_t j = 0; j < 4; ++j) {
          m[j] = b1 * m[j] + (1 - b1) * g[j];
          v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
          double mh = m[j] / (1 - std::pow(b1, t)), vh = v[j] / (1 - std::pow(b2, t));
          if (rho >= 5.0) {
            double r =
                std::sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
            u.push_back(r * mh / (std::sqrt(vh) + 1e-8));
          } else {
            u.push_back(mh);
          }
        }
        return u;
      },
      10, 1e-12);
}

TEST(OptimUpdates, ScaleByYogi) {
  std::vector<double> m(4, 1e-6), v(4, 1e-6);
  check_against(
      optim::scale_by_yogi(),
      [&](int i, auto& g, auto&) {
        std::vector<double> u;
        for (size_t j = 0; j < 4; ++j) {
          m[j] = 0.9 * m[j] + 0.1 * g[j];
          double g2 = g[j] * g[j];
          double sign = v[j] > g2 ? 1.0 : v[j] < g2 ? -1.0 : 0.0;
          v[j] = v[j] - 0.001 * sign * g2;
          double mh = m[j] / (1 - std::pow(0.9, i + 1)), vh = v[j] / (1 - std::pow(0.999, i + 1));
          u.push_back(mh / (std::sqrt(vh) + 1e-3));
        }
        return u;
      },
      6, 1e-12);
}

TEST(OptimUpdates, TraceAndNesterov) {
  for (bool nesterov : {false, true}) {
    std::vector<double> tr(4);
    check_against(optim::trace({.decay = 0.7, .nesterov = nesterov}), [&](int, auto& g, auto&) {
      std::vector<double> u;
      for (size_t j = 0; j < 4; ++j) {
        tr[j] = 0.7 * tr[j] + g[j];
        u.push_back(nesterov ? 0.7 * tr[j] + g[j] : tr[j]);
      }
      return u;
    });
  }
}

TEST(OptimUpdates, ClipAndClipByGlobalNorm) {
  check_against(optim::clip(0.5), [](int, auto& g, auto&) {
    std::vector<double> u;
    for (double x : g) u.push_back(std::clamp(x, -0.5, 0.5));
    return u;
  });
  for (double max_norm : {0.1, 100.0}) {
    check_against(optim::clip_by_global_norm(max_norm), [&](int, auto& g, auto&) {
      double n = 0;
      for (double x : g) n += x * x;
      n = std::sqrt(n);
      std::vector<double> u;
      for (double x : g) u.push_back(n < max_norm ? x : x * (max_norm / n));
      return u;
    });
  }
}

TEST(OptimUpdates, ClipByGlobalNormSpansAllLeaves) {
  auto t = optim::clip_by_global_norm(1.0);
  Tree g = Tree{{"a", nx::tensor({3.0}, nx::f64)}, {"b", nx::tensor({4.0}, nx::f64)}};
  optim::UpdateResult r = t.update(g, t.init(g), g);
  EXPECT_DOUBLE_EQ(values(r.updates["a"].leaf())[0], 0.6);
  EXPECT_DOUBLE_EQ(values(r.updates["b"].leaf())[0], 0.8);
}

TEST(OptimUpdates, CentralizeSubtractsTheMeanOverTrailingAxes) {
  auto t = optim::centralize();
  Tree g = Tree{{"m", nx::tensor({{1.0, 2.0, 6.0}, {0.0, -3.0, 3.0}}, nx::f64)},
                {"v", nx::tensor({1.0, 2.0}, nx::f64)}};
  optim::UpdateResult r = t.update(g, t.init(g), g);
  EXPECT_EQ(values(r.updates["m"].leaf()), (std::vector<double>{-2, -1, 3, 0, -3, 3}));
  EXPECT_EQ(values(r.updates["v"].leaf()), (std::vector<double>{1, 2}));  // rank 1: unchanged
}

TEST(OptimUpdates, AddDecayedWeights) {
  check_against(optim::add_decayed_weights({.decay = 0.3}), [](int, auto& g, auto& p) {
    std::vector<double> u;
    for (size_t j = 0; j < 4; ++j) u.push_back(g[j] + 0.3 * p[j]);
    return u;
  });
}

TEST(OptimUpdates, ScaleByTrustRatio) {
  check_against(optim::scale_by_trust_ratio({.trust_coefficient = 0.5, .eps = 1e-3}),
                [](int, auto& g, auto& p) {
                  double pn = 0, gn = 0;
                  for (size_t j = 0; j < 4; ++j) pn += p[j] * p[j], gn += g[j] * g[j];
                  double ratio = 0.5 * std::sqrt(pn) / (std::sqrt(gn) + 1e-3);
                  std::vector<double> u;
                  for (double x : g) u.push_back(x * ratio);
                  return u;
                });
  // A zero norm gives ratio 1; min_norm raises small norms.
  auto t = optim::scale_by_trust_ratio();
  Tree zero = Tree{{"w", nx::zeros({2}, nx::f64)}},
       g = Tree{{"w", nx::tensor({3.0, 4.0}, nx::f64)}};
  EXPECT_EQ(values(t.update(g, t.init(zero), zero).updates["w"].leaf()),
            (std::vector<double>{3.0, 4.0}));
  auto floor = optim::scale_by_trust_ratio({.min_norm = 10.0});
  Tree p = Tree{{"w", nx::tensor({0.0, 1.0}, nx::f64)}};
  // |p| = 1 and |g| = 5 are both raised to 10: ratio 1.
  EXPECT_EQ(values(floor.update(g, floor.init(p), p).updates["w"].leaf()),
            (std::vector<double>{3.0, 4.0}));
}

TEST(OptimUpdates, AddNoiseIsAnnealedReproducibleAndMovesItsKey) {
  auto t = optim::add_noise({.eta = 0.5, .gamma = 0.55, .seed = 7});
  Tree zero = Tree{{"w", nx::zeros({20000}, nx::f64)}};
  Tree s = t.init(zero);
  optim::UpdateResult r1 = t.update(zero, s, zero);
  optim::UpdateResult again = t.update(zero, s, zero);
  expect_tree_near(again.updates, r1.updates, 0.0);  // same key, same noise
  optim::UpdateResult r2 = t.update(zero, r1.state, zero);
  EXPECT_NE(values(r2.updates["w"].leaf())[0], values(r1.updates["w"].leaf())[0]);
  EXPECT_EQ(r2.state["count"].leaf().item<int64_t>(), 2);
  // The standard deviation is sqrt(eta / t^gamma): sqrt(0.5) at t = 1, sqrt(0.5 / 2^0.55) at 2.
  auto stddev = [](const Tree& u) {
    Tensor x = u["w"].leaf();
    return std::sqrt(nx::mean(nx::square(x)).item<double>());
  };
  EXPECT_NEAR(stddev(r1.updates), std::sqrt(0.5), 0.02);
  EXPECT_NEAR(stddev(r2.updates), std::sqrt(0.5 / std::pow(2.0, 0.55)), 0.02);
  // The noise has the update's dtype.
  Tree z32 = Tree{{"w", nx::zeros({3}, nx::bf16)}};
  EXPECT_EQ(t.update(z32, t.init(z32), z32).updates["w"].leaf().dtype(), nx::bf16);
}

TEST(OptimUpdates, AdamaxAsTorch) {
  std::vector<double> m(4), u(4);
  check_against(
      optim::adamax({.learning_rate = 0.01}),
      [&](int i, auto& g, auto&) {
        std::vector<double> out;
        for (size_t j = 0; j < 4; ++j) {
          m[j] = 0.9 * m[j] + 0.1 * g[j];
          u[j] = std::max(0.999 * u[j], std::abs(g[j]) + 1e-8);
          out.push_back(-0.01 / (1 - std::pow(0.9, i + 1)) * m[j] / u[j]);
        }
        return out;
      },
      6, 1e-12);
}

TEST(OptimUpdates, NadamAsTorchWithTheMomentumSchedule) {
  std::vector<double> m(4), v(4);
  double product = 1.0;
  double lr = 0.01, b1 = 0.9, b2 = 0.999, psi = 4e-3;
  check_against(
      optim::nadam({.learning_rate = lr}),
      [&](int i, auto& g, auto&) {
        double t = i + 1;
        double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi));
        double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
        product *= mu;
        std::vector<double> out;
        for (size_t j = 0; j < 4; ++j) {
          m[j] = b1 * m[j] + (1 - b1) * g[j];
          v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
          double d = std::sqrt(v[j] / (1 - std::pow(b2, t))) + 1e-8;
          out.push_back(-lr * (1 - mu) / (1 - product) * g[j] / d -
                        lr * mu_next / (1 - product * mu_next) * m[j] / d);
        }
        return out;
      },
      6, 1e-12);
}

TEST(OptimUpdates, LionWithDecoupledDecay) {
  std::vector<double> m(4);
  check_against(optim::lion({.learning_rate = 0.1, .decay = 0.5}), [&](int, auto& g, auto& p) {
    std::vector<double> out;
    for (size_t j = 0; j < 4; ++j) {
      double c = 0.1 * g[j] + 0.9 * m[j];
      double s = c > 0 ? 1.0 : c < 0 ? -1.0 : 0.0;
      out.push_back(-0.1 * (s + 0.5 * p[j]));
      m[j] = 0.01 * g[j] + 0.99 * m[j];
    }
    return out;
  });
}

TEST(OptimUpdates, AdafactorUnfactoredLeaf) {
  // A vector is never factored: v = b2_t v + (1 - b2_t)(g^2 + eps1), u = g / sqrt(v), clipped to
  // RMS 1, times the relative step min(1e-2, 1/sqrt(t)) and max(eps2, rms(p)), negated.
  std::vector<double> v(4);
  check_against(
      optim::adafactor(),
      [&](int i, auto& g, auto& p) {
        double t = i + 1;
        double beta = 1 - std::pow(t, -0.8);
        std::vector<double> u(4);
        double ms = 0, pms = 0;
        for (size_t j = 0; j < 4; ++j) {
          v[j] = beta * v[j] + (1 - beta) * (g[j] * g[j] + 1e-30);
          u[j] = g[j] / std::sqrt(v[j]);
          ms += u[j] * u[j] / 4;
          pms += p[j] * p[j] / 4;
        }
        double clip = std::max(1.0, std::sqrt(ms) / 1.0);
        double step = std::min(1e-2, 1 / std::sqrt(t)) * std::max(std::sqrt(pms), 1e-3);
        for (double& x : u) x = -(x / clip * step);
        return u;
      },
      6, 1e-12);
}

TEST(OptimUpdates, AdafactorFactorsLargeMatrices) {
  // A [3][4] matrix factored with min_dim_size_to_factor 3: rows and columns statistics.
  auto opt = optim::adafactor({.learning_rate = 1.0,
                               .clipping_threshold = std::nullopt,
                               .multiply_by_parameter_scale = false,
                               .min_dim_size_to_factor = 3});
  std::vector<double> gv = {0.5, -1.0, 2.0, 0.1, 1.5, 0.2, -0.3, 0.7, -0.9, 0.4, 1.1, -2.0};
  Tensor g = nx::from_vector(gv, nx::Shape{3, 4});
  Tree p = Tree{{"m", nx::zeros({3, 4}, nx::f64)}};
  Tree s = opt.init(p);
  EXPECT_EQ(s[0]["v_row"]["m"].leaf().shape(), (nx::Shape{3}));
  EXPECT_EQ(s[0]["v_col"]["m"].leaf().shape(), (nx::Shape{4}));
  EXPECT_EQ(s[0]["v"]["m"].leaf().shape(), (nx::Shape{1}));
  optim::UpdateResult r = opt.update(Tree{{"m", g}}, s, p);
  // First step: b2_1 = 0, so the statistics are the means of g^2 (+eps1).
  std::vector<double> row(3), col(4);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      double x = gv[i * 4 + j] * gv[i * 4 + j] + 1e-30;
      row[i] += x / 4;
      col[j] += x / 3;
    }
  double row_mean = (row[0] + row[1] + row[2]) / 3;
  std::vector<double> got = values(r.updates["m"].leaf());
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) {
      double want = -gv[i * 4 + j] / std::sqrt(row[i] / row_mean) / std::sqrt(col[j]);
      EXPECT_NEAR(got[i * 4 + j], want, 1e-12 * std::abs(want)) << i << "," << j;
    }
}

TEST(OptimUpdates, MomentsAreF32ExceptForF64Params) {
  Tree s32 = optim::scale_by_adam().init(sample_params(nx::bf16));
  nx::tree_for_each(s32["mu"], [](const Tensor& t) { EXPECT_EQ(t.dtype(), nx::f32); });
  Tree s64 = optim::scale_by_adam().init(sample_params(nx::f64));
  nx::tree_for_each(s64["nu"], [](const Tensor& t) { EXPECT_EQ(t.dtype(), nx::f64); });
  EXPECT_EQ(s64["count"].leaf().dtype(), nx::s64);
  // bf16 gradients: the update comes out in the moments' f32, and apply_updates brings it back.
  auto opt = optim::adam();
  Tree p = sample_params(nx::bf16);
  optim::UpdateResult r = opt.update(sample_grads(0, nx::bf16), opt.init(p), p);
  nx::tree_for_each(r.updates, [](const Tensor& t) { EXPECT_EQ(t.dtype(), nx::f32); });
  nx::tree_for_each(optim::apply_updates(p, r.updates),
                    [](const Tensor& t) { EXPECT_EQ(t.dtype(), nx::bf16); });
}

TEST(OptimUpdates, PolarisDefaults) {
  auto hp = [](const optim::Transformation& t, const char* name) {
    return optim::get_hyperparameter(t.init(sample_params()), name).item<double>();
  };
  EXPECT_EQ(hp(optim::scale_by_adam(), "eps_root"), 1e-15);
  EXPECT_EQ(hp(optim::scale_by_rss(), "eps"), 1e-7);
  EXPECT_EQ(hp(optim::scale_by_rms(), "decay"), 0.9);
  EXPECT_EQ(hp(optim::scale_by_belief(), "eps"), 0.0);
  EXPECT_EQ(hp(optim::scale_by_belief(), "eps_root"), 1e-16);
  EXPECT_EQ(hp(optim::scale_by_radam(), "threshold"), 5.0);
  EXPECT_EQ(hp(optim::scale_by_yogi(), "eps"), 1e-3);
  EXPECT_EQ(hp(optim::clip(), "delta"), 2.0);
  EXPECT_EQ(hp(optim::add_noise(), "eta"), 0.01);
  EXPECT_EQ(hp(optim::add_noise(), "gamma"), 0.55);
  EXPECT_EQ(hp(optim::adam(), "learning_rate"), 1e-3);
  EXPECT_EQ(hp(optim::lamb(), "learning_rate"), 1e-2);
  EXPECT_EQ(hp(optim::sgd(), "learning_rate"), 1e-2);
  EXPECT_EQ(hp(optim::yogi(), "learning_rate"), 1e-2);
  EXPECT_EQ(hp(optim::adamax(), "learning_rate"), 2e-3);
  EXPECT_EQ(hp(optim::nadam(), "momentum_decay"), 4e-3);
  auto yogi = optim::scale_by_yogi().init(sample_params());
  EXPECT_FLOAT_EQ(values(yogi["nu"]["blocks"][0].leaf())[0], 1e-6f);
  auto rss = optim::scale_by_rss().init(sample_params());
  EXPECT_FLOAT_EQ(values(rss["sum_of_squares"]["blocks"][0].leaf())[0], 0.1f);
}

TEST(OptimUpdates, ByNameKnowsEveryOptimizer) {
  for (const char* name : {"adabelief", "adagrad", "adam", "adamw", "lamb", "noisy_sgd", "radam",
                           "rmsprop", "sgd", "yogi", "adamax", "nadam", "lion", "adafactor"}) {
    EagerRun r = run_eager(optim::by_name(name), 2);
    EXPECT_EQ(r.updates.size(), 2u) << name;
  }
  std::string e = error_of([] { optim::by_name("adamm"); });
  EXPECT_NE(e.find("adafactor"), std::string::npos) << e;
}

}  // namespace
}  // namespace optim_unit
