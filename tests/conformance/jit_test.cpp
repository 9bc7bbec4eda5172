// The jit mode of the op conformance harness (jit_check.hpp says what is checked): every forward
// case variant compiled with and without the graph passes and with its inputs as constants,
// every gradient case with value_and_grad inside jit, and grad of grad inside jit for a few
// smooth ops, each against its eager run.
//
//   ctest -R conformance_jit                                  # everything
//   ./conformance_jit_tests --gtest_filter='JitForward*softmax*'
//
// Tests: JitForward/<case>_<dtype> and JitGrad/<case>_<mode> (all settings in one test; a
// failure names its setting), JitGradOfGrad/<case>, and JitCoverage (the lists of this mode and
// the comparison itself). At the end a summary (cases per setting, failures
// by op) is printed and written to jit_report.md in the build directory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "jit_check.hpp"

#ifndef NX_CONFORMANCE_REPORT_DIR
#error "NX_CONFORMANCE_REPORT_DIR must name the directory for the report"
#endif

namespace nx::conformance {
namespace {

std::vector<JitResult>& jit_results() {
  static std::vector<JitResult> rs;
  return rs;
}

// Set when a manifest cannot be read; reported by a test (an exception while gtest registers
// the parameters would abort the binary without a useful message).
std::string& manifest_error() {
  static std::string message;
  return message;
}

void record(const JitResult& r) {
  jit_results().push_back(r);
  if (!r.passed) {
    ADD_FAILURE() << r.name << " [" << r.variant << "] (nx::" << r.op << ", " << r.setting
                  << "): " << r.message;
  }
}

// ---- forward ------------------------------------------------------------------------------------

struct ForwardParam {
  int case_index = 0;
  int variant_index = 0;
};

void PrintTo(const ForwardParam& p, std::ostream* os) {
  const CaseSpec& c = manifest().cases[static_cast<size_t>(p.case_index)];
  *os << c.name << " [" << dtype_name(c.variants[static_cast<size_t>(p.variant_index)].dtype)
      << "]";
}

std::vector<ForwardParam> forward_params() {
  std::vector<ForwardParam> out;
  try {
    const auto& cases = manifest().cases;
    for (size_t c = 0; c < cases.size(); ++c) {
      for (size_t v = 0; v < cases[c].variants.size(); ++v) {
        out.push_back({static_cast<int>(c), static_cast<int>(v)});
      }
    }
  } catch (const std::exception& e) {
    manifest_error() += std::string("data/manifest.json: ") + e.what() + "\n";
  }
  return out;
}

std::string forward_name(const testing::TestParamInfo<ForwardParam>& info) {
  const CaseSpec& c = manifest().cases[static_cast<size_t>(info.param.case_index)];
  return test_name_of(c.name) + "_" +
         std::string(dtype_name(c.variants[static_cast<size_t>(info.param.variant_index)].dtype));
}

class JitForward : public testing::TestWithParam<ForwardParam> {};

TEST_P(JitForward, MatchesEager) {
  const CaseSpec& c = manifest().cases[static_cast<size_t>(GetParam().case_index)];
  for (const JitResult& r :
       run_forward_jit(c, c.variants[static_cast<size_t>(GetParam().variant_index)])) {
    record(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, JitForward, testing::ValuesIn(forward_params()), forward_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(JitForward);

// ---- gradients ----------------------------------------------------------------------------------

struct GradParam {
  int case_index = 0;
  DType mode = DType::F32;
};

void PrintTo(const GradParam& p, std::ostream* os) {
  *os << grad_manifest().cases[static_cast<size_t>(p.case_index)].name << " [" << dtype_name(p.mode)
      << "]";
}

std::vector<GradParam> grad_params() {
  std::vector<GradParam> out;
  try {
    const auto& cases = grad_manifest().cases;
    for (size_t c = 0; c < cases.size(); ++c) {
      for (DType mode : cases[c].modes) out.push_back({static_cast<int>(c), mode});
    }
  } catch (const std::exception& e) {
    manifest_error() += std::string("data_grad/manifest.json: ") + e.what() + "\n";
  }
  return out;
}

std::string grad_name(const testing::TestParamInfo<GradParam>& info) {
  return test_name_of(grad_manifest().cases[static_cast<size_t>(info.param.case_index)].name) +
         "_" + std::string(dtype_name(info.param.mode));
}

class JitGrad : public testing::TestWithParam<GradParam> {};

TEST_P(JitGrad, MatchesEager) {
  for (const JitResult& r : run_grad_jit(
           grad_manifest().cases[static_cast<size_t>(GetParam().case_index)], GetParam().mode)) {
    record(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, JitGrad, testing::ValuesIn(grad_params()), grad_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(JitGrad);

// The first float64 gradient case of each grad-of-grad op (-1 where there is none).
int grad_of_grad_case(const std::string& op) {
  const auto& cases = grad_manifest().cases;
  for (size_t c = 0; c < cases.size(); ++c) {
    const GradCaseSpec& s = cases[c];
    bool f64 = std::find(s.modes.begin(), s.modes.end(), DType::F64) != s.modes.end();
    if (s.op == op && f64 && !s.zero_grad) return static_cast<int>(c);
  }
  return -1;
}

std::vector<int> grad_of_grad_params() {
  std::vector<int> out;
  try {
    for (const std::string& op : grad_of_grad_ops()) {
      int c = grad_of_grad_case(op);
      if (c >= 0) out.push_back(c);
    }
  } catch (const std::exception&) {  // grad_params() has recorded why
  }
  return out;
}

class JitGradOfGrad : public testing::TestWithParam<int> {};

TEST_P(JitGradOfGrad, MatchesCentralDifferences) {
  record(run_grad_of_grad_jit(grad_manifest().cases[static_cast<size_t>(GetParam())]));
}

INSTANTIATE_TEST_SUITE_P(Cases, JitGradOfGrad, testing::ValuesIn(grad_of_grad_params()),
                         [](const testing::TestParamInfo<int>& info) {
                           return test_name_of(
                               grad_manifest().cases[static_cast<size_t>(info.param)].name);
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(JitGradOfGrad);

// ---- the lists of this mode ---------------------------------------------------------------------

TEST(JitCoverage, ManifestsLoad) {
  EXPECT_TRUE(manifest_error().empty()) << manifest_error();
}

TEST(JitCoverage, UntraceableOpsAreFewAndReal) {
  // An untraceable op must be a host-data exception, not a way to skip a failing op: the list
  // stays small and every entry names an op with cases (run_forward_jit checks that it really
  // throws under tracing).
  EXPECT_LE(untraceable_ops().size(), 4u);
  std::set<std::string> ops;
  for (const CaseSpec& c : manifest().cases) ops.insert(c.op);
  for (const auto& [op, why] : untraceable_ops()) {
    EXPECT_TRUE(ops.count(op)) << op << " is listed as untraceable but has no forward case";
  }
}

TEST(JitCoverage, CompareSeesDifferences) {
  // The comparison itself: a mode that passes everything proves nothing.
  const UlpTolerance tol = jit_tolerance(DType::F32, false);
  const float one_ulp = std::nextafter(1.0f, 2.0f) - 1.0f;
  Tensor want = from_vector(std::vector<float>{1.0f, 0.0f, 1e-30f, NAN, INFINITY});
  EXPECT_EQ(jit_compare(want, want, tol), "");
  EXPECT_EQ(
      jit_compare(from_vector(std::vector<float>{1.0f + 4 * one_ulp, 0.0f, 1e-30f, NAN, INFINITY}),
                  want, tol),
      "");
  auto differs = [&](std::vector<float> got) {
    return !jit_compare(from_vector(got), want, tol).empty();
  };
  EXPECT_TRUE(differs({1.0f + 8 * one_ulp, 0.0f, 1e-30f, NAN, INFINITY}));
  EXPECT_TRUE(differs({1.0f, -0.0f, 1e-30f, NAN, INFINITY}));
  EXPECT_TRUE(differs({1.0f, 0.0f, 0.0f, NAN, INFINITY}));  // small elements keep their ulp
  EXPECT_TRUE(differs({1.0f, 0.0f, 1e-30f, 1.0f, INFINITY}));
  EXPECT_TRUE(differs({1.0f, 0.0f, 1e-30f, NAN, -INFINITY}));
  EXPECT_TRUE(differs({1.0f, 0.0f, 1e-30f, NAN, 3e38f}));
  EXPECT_FALSE(
      jit_compare(from_vector(std::vector<float>{1.0f}), from_vector(std::vector<double>{1.0}), tol)
          .empty());
  Tensor ints = from_vector(std::vector<int32_t>{1, 2, 3});
  EXPECT_FALSE(jit_compare(from_vector(std::vector<int32_t>{1, 2, 4}), ints, tol).empty());
  EXPECT_FALSE(jit_compare(from_vector(std::vector<bool>{true, false}),
                           from_vector(std::vector<bool>{true, true}), tol)
                   .empty());
  // Gradients: a few ulp of the tensor's largest element, and either sign of zero.
  const UlpTolerance gtol = jit_tolerance(DType::F32, true);
  Tensor g = from_vector(std::vector<float>{100.0f, 1e-6f, 0.0f});
  EXPECT_EQ(jit_compare(from_vector(std::vector<float>{100.0f, 2e-6f, -0.0f}), g, gtol), "");
  EXPECT_FALSE(jit_compare(from_vector(std::vector<float>{100.0f, 1e-4f, 0.0f}), g, gtol).empty());
}

TEST(JitCoverage, GradOfGradOpsHaveCases) {
  for (const std::string& op : grad_of_grad_ops()) {
    EXPECT_GE(grad_of_grad_case(op), 0) << op << " has no float64 gradient case";
  }
}

// ---- the summary --------------------------------------------------------------------------------

std::string summary(const std::vector<JitResult>& rs) {
  // setting -> {passed, failed}; setting -> op -> failing "case [variant]"s.
  std::map<std::string, std::pair<int, int>> counts;
  std::map<std::string, int> fused;
  std::map<std::string, std::map<std::string, std::vector<std::string>>> failures;
  for (const JitResult& r : rs) {
    auto& [pass, fail] = counts[r.setting];
    (r.passed ? pass : fail) += 1;
    fused[r.setting] += r.passed && r.fused ? 1 : 0;
    if (!r.passed) failures[r.setting][r.op].push_back(r.name + " [" + r.variant + "]");
  }
  std::string out =
      "# Jit mode\n\n| setting | variants | passed | failed | passed with fused nodes |\n"
      "|---|---|---|---|---|\n";
  for (const auto& [setting, pf] : counts) {
    out += "| " + setting + " | " + std::to_string(pf.first + pf.second) + " | " +
           std::to_string(pf.first) + " | " + std::to_string(pf.second) + " | " +
           std::to_string(fused[setting]) + " |\n";
  }
  for (const auto& [setting, by_op] : failures) {
    out += "\n## Failures, " + setting + " (by op)\n\n";
    for (const auto& [op, names] : by_op) {
      out += "- " + op + " (" + std::to_string(names.size()) + "):";
      for (size_t i = 0; i < names.size() && i < 8; ++i) out += " " + names[i];
      if (names.size() > 8) out += " ...";
      out += "\n";
    }
  }
  return out;
}

class Report : public testing::Environment {
 public:
  void TearDown() override {
    if (jit_results().empty()) return;
    std::string text = summary(jit_results());
    std::ofstream(std::string(NX_CONFORMANCE_REPORT_DIR) + "/jit_report.md") << text;
    std::cout << text << "Report written to " << NX_CONFORMANCE_REPORT_DIR << "/jit_report.md\n";
  }
};

[[maybe_unused]] testing::Environment* const kReport =
    testing::AddGlobalTestEnvironment(new Report);

}  // namespace
}  // namespace nx::conformance
