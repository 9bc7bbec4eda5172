// The gradient mode of the op conformance harness: every case of data_grad/manifest.json (made
// by gen_grad_reference.py from grad_cases.py) runs through the forward harness's adapter under
// nx::value_and_grad, and its gradient is checked against central differences in float64 and
// against PyTorch autograd in float32 (grad_check.hpp says how).
//
//   ctest -R conformance_grad                                  # everything, with coverage checks
//   ./conformance_grad_tests --gtest_filter='*softmax*'        # some cases (coverage check
//   skipped)
//
// One test per case and mode, named <case>_<f32|f64>. After the last one, a final test checks
// that every primitive with a real VJP rule was differentiated through by some passing case (and
// every zero-gradient primitive with floating inputs ran in a zero-gradient case), and writes
// grad_report.md (op x mode) into the build directory. Two more tests check that every public op
// has a gradient case or a reason in the non-differentiable list, and every case an adapter.
#include <gtest/gtest.h>

#include <cctype>
#include <iostream>
#include <set>

#include "coverage.hpp"
#include "grad_coverage.hpp"
#include "nx/core/primitive.hpp"

#ifndef NX_SOURCE_DIR
#error "NX_SOURCE_DIR must name the source tree"
#endif
#ifndef NX_CONFORMANCE_REPORT_DIR
#error "NX_CONFORMANCE_REPORT_DIR must name the directory for the report"
#endif

namespace nx::conformance {
namespace {

/// A case in one mode, or (case_index < 0) the coverage check that runs after all of them.
struct GradParam {
  int case_index = -1;
  DType mode = DType::F32;
};

void PrintTo(const GradParam& p, std::ostream* os) {
  if (p.case_index < 0) {
    *os << "coverage check";
    return;
  }
  *os << grad_manifest().cases[static_cast<size_t>(p.case_index)].name << " [" << dtype_name(p.mode)
      << "]";
}

// Set when the manifest cannot be read; the final test reports it (an exception thrown while
// gtest registers the parameters would abort the whole binary without a useful message).
std::string& manifest_error() {
  static std::string message;
  return message;
}

std::vector<GradParam> params() {
  std::vector<GradParam> out;
  try {
    grad_manifest();
  } catch (const std::exception& e) {
    manifest_error() = e.what();
    return {GradParam{}};
  }
  const auto& cases = grad_manifest().cases;
  for (size_t c = 0; c < cases.size(); ++c) {
    for (DType mode : cases[c].modes) out.push_back({static_cast<int>(c), mode});
  }
  out.push_back({});  // last: the coverage check and the report
  return out;
}

std::string test_name(const testing::TestParamInfo<GradParam>& info) {
  if (info.param.case_index < 0) return "zz_coverage_and_report";
  const GradCaseSpec& c = grad_manifest().cases[static_cast<size_t>(info.param.case_index)];
  std::string name = test_name_of(c.name);
  return name + "_" + std::string(dtype_name(info.param.mode));
}

size_t num_variants() {
  size_t n = 0;
  for (const GradCaseSpec& c : grad_manifest().cases) n += c.modes.size();
  return n;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += " " + n;
  return out;
}

class ConformanceGrad : public testing::TestWithParam<GradParam> {};

TEST_P(ConformanceGrad, Run) {
  const GradParam p = GetParam();
  if (p.case_index < 0) {
    ASSERT_TRUE(manifest_error().empty())
        << "cannot load the gradient manifest: " << manifest_error();
    std::cout << write_grad_report(grad_results(), NX_CONFORMANCE_REPORT_DIR)
              << "Report written to " << NX_CONFORMANCE_REPORT_DIR << "/grad_report.md\n";
    if (grad_results().size() != num_variants()) {
      GTEST_SKIP() << "only " << grad_results().size() << " of " << num_variants()
                   << " variants ran (filtered): primitive coverage needs them all";
    }
    std::vector<std::string> missing = uncovered_prims(grad_results());
    EXPECT_TRUE(missing.empty()) << "primitives no passing gradient case reached:"
                                 << joined(missing);
    return;
  }
  const GradCaseSpec& c = grad_manifest().cases[static_cast<size_t>(p.case_index)];
  GradResult r = run_grad_case(c, p.mode);
  grad_results().push_back(r);
  if (!r.passed) {
    ADD_FAILURE() << c.name << " [" << dtype_name(p.mode) << "] (nx::" << c.op
                  << "): " << r.message;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, ConformanceGrad, testing::ValuesIn(params()), test_name);

TEST(ConformanceGradCoverage, EveryPublicOpHasAGradientCaseOrAReason) {
  std::set<std::string> declared =
      declared_ops(std::filesystem::path(NX_SOURCE_DIR) / "include/nx/ops");
  ASSERT_GT(declared.size(), 50u) << "the header parser found too few ops";
  const GradManifest& m = grad_manifest();
  EXPECT_TRUE(uncovered_ops(declared, m).empty())
      << "public ops with neither a gradient case in grad_cases.py nor an entry in its "
         "NON_DIFFERENTIABLE list:"
      << joined(uncovered_ops(declared, m));
  std::vector<std::string> unknown;
  for (const GradCaseSpec& c : m.cases)
    if (!declared.count(c.op)) unknown.push_back(c.op);
  for (const auto& [op, why] : m.non_differentiable)
    if (!declared.count(op)) unknown.push_back(op);
  EXPECT_TRUE(unknown.empty()) << "gradient cases or NON_DIFFERENTIABLE entries name ops that no "
                                  "header declares:"
                               << joined(unknown);
}

TEST(ConformanceGradCoverage, EveryCaseHasAnAdapter) {
  std::set<std::string> missing;
  for (const GradCaseSpec& c : grad_manifest().cases)
    if (!adapters().count(c.op)) missing.insert(c.op);
  EXPECT_TRUE(missing.empty()) << "ops with gradient cases but no adapter:"
                               << joined({missing.begin(), missing.end()});
}

TEST(ConformanceGradCoverage, ZeroGradientPrimitivesExist) {
  std::set<std::string> names;
  for (const auto& info : detail::kPrimInfo) names.insert(std::string(info.name));
  for (const auto& [name, zero] : zero_gradient_prims())
    EXPECT_TRUE(names.count(name)) << name << " is not a primitive of primitives.def";
}

}  // namespace
}  // namespace nx::conformance
