// What the gradient mode covered: the primitives whose VJP rule is zero by definition, the
// primitives and ops no passing gradient case reached, and the report written after the run.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "grad_check.hpp"

namespace nx::conformance {

/// A primitive whose cotangents are zero by definition (as in Nx): piecewise constant, or with
/// integer or pred outputs. `float_input`: it accepts floating inputs, so some zero-gradient
/// case must run it (the others are integer-only and no gradient reaches them).
struct ZeroGradientPrim {
  const char* reason;
  bool float_input;
};

/// By primitive name.
const std::map<std::string, ZeroGradientPrim>& zero_gradient_prims();

/// Results of the variants run so far, in run order.
std::vector<GradResult>& grad_results();

/// Primitives with a real VJP rule that no passing gradient case differentiated through, and
/// zero-gradient primitives with floating inputs that no passing zero-gradient case ran.
std::vector<std::string> uncovered_prims(const std::vector<GradResult>& rs);

/// Public ops (declared in include/nx/ops) with neither a gradient case nor an entry in the
/// manifest's non-differentiable list.
std::vector<std::string> uncovered_ops(const std::set<std::string>& declared,
                                       const GradManifest& m);

/// Writes grad_report.md (per op: cases, passes per mode, failures) into `dir`; returns the
/// summary printed after the run.
std::string write_grad_report(const std::vector<GradResult>& rs, const std::filesystem::path& dir);

}  // namespace nx::conformance
