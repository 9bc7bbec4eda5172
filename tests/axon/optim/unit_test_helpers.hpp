// Shared helpers of the axon::optim unit tests: a small parameter tree, gradients for it, and
// tree comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "axon/optim.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/tree.hpp"

namespace optim_unit {

namespace optim = axon::optim;
using nx::Tensor;
using nx::Tree;

/// A parameter tree with a map, a list, a matrix, a vector and a scalar.
inline Tree sample_params(nx::DType dtype = nx::f32) {
  Tensor kernel = nx::tensor({{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}}, dtype);
  Tensor bias = nx::tensor({0.1, -0.2, 0.3}, dtype);
  Tensor gain = nx::scalar(1.25, dtype);
  Tensor extra = nx::tensor({-2.0, 4.0}, dtype);
  return Tree{{"dense", Tree{{"kernel", kernel}, {"bias", bias}}},
              {"blocks", Tree::list({Tree(gain), Tree(extra)})}};
}

/// Gradients for sample_params that change with `step` (no zeros, mixed signs).
inline Tree sample_grads(int step, nx::DType dtype = nx::f32) {
  double s = 1.0 + 0.3 * step;
  double k = step % 2 == 0 ? 1.0 : -0.5;
  Tensor kernel = nx::tensor({{0.2 * s, -0.4 * k, 1.1}, {-0.7 * s, 0.05 * k, 0.9 * s}}, dtype);
  Tensor bias = nx::tensor({0.3 * k, -0.6 * s, 0.01}, dtype);
  Tensor gain = nx::scalar(-0.8 * s * k, dtype);
  Tensor extra = nx::tensor({1.5 * k, -0.25 * s}, dtype);
  return Tree{{"dense", Tree{{"kernel", kernel}, {"bias", bias}}},
              {"blocks", Tree::list({Tree(gain), Tree(extra)})}};
}

/// The elements of a tensor as doubles.
inline std::vector<double> values(const Tensor& t) {
  return t.to_vector<double>();
}

/// Asserts both trees have one structure, leaf types, and values within rtol * |b| + atol.
inline void expect_tree_near(const Tree& a, const Tree& b, double rtol, double atol = 0.0,
                             const std::string& what = "") {
  ASSERT_TRUE(nx::same_structure(a, b)) << what << ": " << a.to_string() << " vs " << b.to_string();
  std::vector<nx::PathLeaf> la = nx::tree_flatten_with_paths(a);
  std::vector<nx::PathLeaf> lb = nx::tree_flatten_with_paths(b);
  for (size_t i = 0; i < la.size(); ++i) {
    ASSERT_EQ(la[i].tensor.type(), lb[i].tensor.type()) << what << " at " << la[i].path;
    std::vector<double> x = values(la[i].tensor), y = values(lb[i].tensor);
    for (size_t j = 0; j < x.size(); ++j) {
      if (std::isnan(y[j])) {
        EXPECT_TRUE(std::isnan(x[j])) << what << " at " << la[i].path << "[" << j << "]";
        continue;
      }
      EXPECT_NEAR(x[j], y[j], rtol * std::abs(y[j]) + atol)
          << what << " at " << la[i].path << "[" << j << "]";
    }
  }
}

/// The update of a transformation as a jit-compiled function of (grads, state, params) returning
/// [updates, state].
inline auto jitted_update(const optim::Transformation& t) {
  return nx::jit([t](const Tree& g, const Tree& s, const Tree& p) {
    optim::UpdateResult r = t.update(g, s, p);
    return Tree::list({r.updates, r.state});
  });
}

/// Runs `steps` updates eagerly from init, feeding sample_grads, applying the updates.
struct EagerRun {
  std::vector<Tree> updates;
  std::vector<Tree> states;
  Tree params;
};
inline EagerRun run_eager(const optim::Transformation& t, int steps, nx::DType dtype = nx::f32) {
  EagerRun r;
  r.params = sample_params(dtype);
  Tree state = t.init(r.params);
  for (int i = 0; i < steps; ++i) {
    optim::UpdateResult u = t.update(sample_grads(i, dtype), state, r.params);
    state = u.state;
    r.params = optim::apply_updates(r.params, u.updates);
    r.updates.push_back(u.updates);
    r.states.push_back(state);
  }
  return r;
}

/// Throws-with-message matcher: runs f and returns the nx::Error message ("" if none thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const nx::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace optim_unit
