// Shared helpers of the axon::fn tests: reference data made by the scripts next to the data
// (tests/axon/fn/data/gen_*.py, run with /usr/bin/python3 and Debian's python3-torch), tensor
// comparison, and the forward/gradient check every function goes through.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "nx/defn.hpp"
#include "nx/io.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/tree.hpp"

namespace fn_test {

using nx::Tensor;
using nx::Tree;

/// tests/axon/fn/data.
inline std::filesystem::path data_dir() {
  return std::filesystem::path(__FILE__).parent_path() / "data";
}

/// A reference file tests/axon/fn/data/<name>.npz as a map: member name -> tensor. Loaded once
/// per process.
const Tree& reference(const std::string& name);

/// The member `key` of reference `name`; fails the test (and throws) when it is missing.
Tensor ref(const std::string& name, const std::string& key);

/// The elements of t converted to double, row-major.
std::vector<double> values(const Tensor& t);

/// Expects same shape and |a - b| <= atol + rtol * |b| elementwise (NaN equals NaN); `what`
/// names the comparison in failures.
void expect_close(const Tensor& actual, const Tensor& expected, double rtol, double atol,
                  const std::string& what);

/// The forward and gradient check of one function of several inputs: f(inputs) is compared
/// with `expected_out`; then the gradient of sum(f(inputs) * cotangent) with respect to every
/// input listed in `wrt` (indices into inputs) is compared with `expected_grads` (same order),
/// eagerly (nx::grad) and compiled (nx::jit of nx::grad). Tolerances are for f32.
void check_forward_and_grads(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                             const std::vector<Tensor>& inputs, const Tensor& expected_out,
                             const Tensor& cotangent, const std::vector<size_t>& wrt,
                             const std::vector<Tensor>& expected_grads, double rtol, double atol,
                             const std::string& what);

}  // namespace fn_test
