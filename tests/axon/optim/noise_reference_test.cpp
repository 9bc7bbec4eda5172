// noisy_sgd and add_noise against their documented rule (Neelakantan et al. 2015, Optax),
// statistically: the update of step t (from 1) is -lr * g + sqrt(eta / t^gamma) * z with z
// standard normal, drawn afresh for every step and every leaf. With zero gradients the update is
// the noise itself, so each step's 12,000 samples divided by sqrt(eta / t^gamma) must look like
// N(0, 1): mean, standard deviation, no
// correlation between leaves or between steps, and, pooled over 100 steps, the normal CDF
// (Kolmogorov-Smirnov). Bounds are 5 standard errors: a correct implementation fails one of the
// ~500 checks with probability below 1e-4, and the seed is fixed, so the test is deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "axon/optim.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/tree.hpp"

namespace {

namespace optim = axon::optim;
using nx::Tensor;
using nx::Tree;

constexpr double kEta = 0.3, kGamma = 0.55, kLr = 0.05;
constexpr int64_t kSteps = 100;

// Three leaves of 4,000 elements, two of them the same shape (noise drawn with one key for both
// would be identical there).
Tree big_params(nx::DType dtype) {
  return Tree{
      {"a", nx::full({100, 40}, 0.5, dtype)},
      {"b", Tree{{"x", nx::full({100, 40}, -0.5, dtype)}, {"y", nx::zeros({4000}, dtype)}}}};
}

Tree ramp_grads(const Tree& params, int64_t t) {
  return nx::tree_map(params, [t](const Tensor& p) {
    std::vector<double> v(static_cast<size_t>(p.size()));
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(0.01 * static_cast<double>(i) + t);
    return nx::as_type(nx::from_vector(v, p.shape()), p.dtype());
  });
}

std::vector<std::vector<double>> leaves_of(const Tree& t) {
  std::vector<std::vector<double>> out;
  for (const Tensor& l : nx::tree_leaves(t)) out.push_back(l.to_vector<double>());
  return out;
}

double mean(const std::vector<double>& x) {
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}
double stddev(const std::vector<double>& x) {
  double m = mean(x), s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return std::sqrt(s / static_cast<double>(x.size() - 1));
}
double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = mean(x), my = mean(y), sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

// Runs `steps` updates of `opt` on zero gradients; returns each step's updates.
std::vector<Tree> noise_updates(const optim::Transformation& opt, const Tree& params,
                                int64_t steps) {
  Tree zeros = nx::tree_map(params, [](const Tensor& p) { return nx::zeros_like(p); });
  Tree state = opt.init(params);
  std::vector<Tree> out;
  for (int64_t t = 0; t < steps; ++t) {
    optim::UpdateResult r = opt.update(zeros, state, params);
    out.push_back(r.updates);
    state = r.state;
  }
  return out;
}

TEST(NoisySgdReference, NoiseIsStandardNormalWithVarianceEtaOverTToTheGamma) {
  optim::Transformation opt =
      optim::noisy_sgd({.learning_rate = kLr, .eta = kEta, .gamma = kGamma, .seed = 42});
  Tree params = big_params(nx::f64);
  std::vector<Tree> updates = noise_updates(opt, params, kSteps);
  std::vector<double> pooled;
  std::vector<std::vector<double>> previous;
  for (int64_t t = 0; t < kSteps; ++t) {
    SCOPED_TRACE("step " + std::to_string(t + 1));
    const double scale = std::sqrt(kEta / std::pow(static_cast<double>(t + 1), kGamma));
    std::vector<std::vector<double>> z = leaves_of(updates[static_cast<size_t>(t)]);
    for (auto& leaf : z) {
      for (double& v : leaf) v /= scale;
    }
    for (const auto& leaf : z) {
      const double n = static_cast<double>(leaf.size());
      EXPECT_LT(std::abs(mean(leaf)), 5 / std::sqrt(n));
      EXPECT_LT(std::abs(stddev(leaf) - 1), 5 / std::sqrt(2 * n));
      pooled.insert(pooled.end(), leaf.begin(), leaf.end());
    }
    // Fresh noise per leaf (a and b.x have one shape) and per step.
    EXPECT_LT(std::abs(correlation(z[0], z[1])), 5 / std::sqrt(4000.0));
    if (!previous.empty()) {
      for (size_t i = 0; i < z.size(); ++i) {
        EXPECT_LT(std::abs(correlation(z[i], previous[i])), 5 / std::sqrt(4000.0));
      }
    }
    previous = z;
  }
  // Pooled over all steps: the distribution is the standard normal's (Kolmogorov-Smirnov; the
  // 99.9% point of the statistic is 1.95 / sqrt(n)).
  std::sort(pooled.begin(), pooled.end());
  const double n = static_cast<double>(pooled.size());
  double d = 0;
  for (size_t i = 0; i < pooled.size(); ++i) {
    const double cdf = 0.5 * std::erfc(-pooled[i] / std::sqrt(2.0));
    d = std::max({d, std::abs(cdf - static_cast<double>(i) / n),
                  std::abs(cdf - static_cast<double>(i + 1) / n)});
  }
  EXPECT_LT(d, 1.95 / std::sqrt(n));
}

// The gradient part is exactly -lr * g, the noise added after the rate (not scaled by it) and
// independent of the gradients: the same seed gives the same noise whatever the gradients are.
TEST(NoisySgdReference, UpdateIsScaledGradientPlusTheSameNoise) {
  for (nx::DType dtype : {nx::f64, nx::f32}) {
    SCOPED_TRACE(std::string(nx::dtype_name(dtype)));
    optim::NoisySgdOptions o{.learning_rate = kLr, .eta = kEta, .gamma = kGamma, .seed = 3};
    Tree params = big_params(dtype);
    std::vector<Tree> noise = noise_updates(optim::noisy_sgd(o), params, 5);
    optim::Transformation opt = optim::noisy_sgd(o);
    Tree state = opt.init(params);
    for (int64_t t = 0; t < 5; ++t) {
      Tree g = ramp_grads(params, t);
      optim::UpdateResult r = opt.update(g, state, params);
      state = r.state;
      auto u = leaves_of(r.updates), z = leaves_of(noise[static_cast<size_t>(t)]),
           gs = leaves_of(g);
      for (const Tensor& leaf : nx::tree_leaves(r.updates)) EXPECT_EQ(leaf.dtype(), dtype);
      const double tol = dtype == nx::f64 ? 1e-15 : 1e-6;
      for (size_t i = 0; i < u.size(); ++i) {
        for (size_t k = 0; k < u[i].size(); k += 97) {
          ASSERT_NEAR(u[i][k], -kLr * gs[i][k] + z[i][k], tol) << "leaf " << i << " [" << k << "]";
        }
      }
    }
  }
}

TEST(NoisySgdReference, SeedDeterminesTheNoise) {
  Tree params = big_params(nx::f64);
  auto run = [&](uint64_t seed) {
    return noise_updates(optim::noisy_sgd({.eta = kEta, .seed = seed}), params, 3);
  };
  std::vector<Tree> a = run(11), b = run(11), c = run(12);
  for (size_t t = 0; t < a.size(); ++t) {
    auto x = leaves_of(a[t]), y = leaves_of(b[t]), z = leaves_of(c[t]);
    EXPECT_EQ(x, y) << "step " << t + 1 << ": one seed, two runs";
    EXPECT_LT(std::abs(correlation(x[0], z[0])), 5 / std::sqrt(4000.0)) << "step " << t + 1;
  }
}

// add_noise on its own (Polaris's transformation): the same rule without the rate.
TEST(AddNoiseReference, StandardDeviationFollowsTheSchedule) {
  optim::Transformation opt = optim::add_noise({.eta = 2.0, .gamma = 1.0, .seed = 5});
  Tree params = big_params(nx::f32);
  std::vector<Tree> updates = noise_updates(opt, params, 20);
  for (int64_t t = 0; t < 20; ++t) {
    std::vector<double> all;
    for (const auto& leaf : leaves_of(updates[static_cast<size_t>(t)])) {
      all.insert(all.end(), leaf.begin(), leaf.end());
    }
    const double want = std::sqrt(2.0 / static_cast<double>(t + 1));
    EXPECT_LT(std::abs(stddev(all) / want - 1),
              5 / std::sqrt(2.0 * static_cast<double>(all.size())))
        << "step " << t + 1;
  }
}

}  // namespace
