#include "grad_coverage.hpp"

#include <fstream>
#include <sstream>

#include "nx/core/primitive.hpp"

namespace nx::conformance {

const std::map<std::string, ZeroGradientPrim>& zero_gradient_prims() {
  static const std::map<std::string, ZeroGradientPrim> prims = {
      {"sign", {"piecewise constant", true}},
      {"floor", {"piecewise constant", true}},
      {"ceil", {"piecewise constant", true}},
      {"round", {"piecewise constant", true}},
      {"round_even", {"piecewise constant", true}},
      {"trunc", {"piecewise constant", true}},
      {"is_nan", {"pred-valued", true}},
      {"is_infinity", {"pred-valued", true}},
      {"equal", {"pred-valued comparison", true}},
      {"not_equal", {"pred-valued comparison", true}},
      {"less", {"pred-valued comparison", true}},
      {"less_equal", {"pred-valued comparison", true}},
      {"greater", {"pred-valued comparison", true}},
      {"greater_equal", {"pred-valued comparison", true}},
      {"reduce_and", {"pred-valued", true}},
      {"reduce_or", {"pred-valued", true}},
      {"argmax", {"integer-valued", true}},
      {"argmin", {"integer-valued", true}},
      {"bitcast", {"reinterprets bits: no derivative (Nx gives none)", true}},
      {"quotient", {"integer-only", false}},
      {"bitwise_not", {"integer-only", false}},
      {"bitwise_and", {"integer-only", false}},
      {"bitwise_or", {"integer-only", false}},
      {"bitwise_xor", {"integer-only", false}},
      {"left_shift", {"integer-only", false}},
      {"right_shift", {"integer-only", false}},
      {"population_count", {"integer-only", false}},
      {"count_leading_zeros", {"integer-only", false}},
      {"iota", {"no input", false}},
      {"threefry2x32", {"random bits from integer keys", false}},
  };
  return prims;
}

std::vector<GradResult>& grad_results() {
  static std::vector<GradResult> rs;
  return rs;
}

std::vector<std::string> uncovered_prims(const std::vector<GradResult>& rs) {
  std::vector<bool> differentiated(detail::kNumPrims, false), zero_ran(detail::kNumPrims, false);
  for (const GradResult& r : rs) {
    if (!r.passed) continue;
    for (int p : r.prims)
      (r.spec->zero_grad ? zero_ran : differentiated)[static_cast<size_t>(p)] = true;
  }
  std::vector<std::string> missing;
  for (int p = 0; p < detail::kNumPrims; ++p) {
    std::string name(detail::kPrimInfo[static_cast<size_t>(p)].name);
    auto zero = zero_gradient_prims().find(name);
    if (zero == zero_gradient_prims().end()) {
      if (!differentiated[static_cast<size_t>(p)]) missing.push_back(name);
    } else if (zero->second.float_input && !zero_ran[static_cast<size_t>(p)] &&
               !differentiated[static_cast<size_t>(p)]) {
      missing.push_back(name + " (zero-gradient)");
    }
  }
  return missing;
}

std::vector<std::string> uncovered_ops(const std::set<std::string>& declared,
                                       const GradManifest& m) {
  std::set<std::string> covered;
  for (const GradCaseSpec& c : m.cases) covered.insert(c.op);
  std::vector<std::string> missing;
  for (const std::string& op : declared) {
    if (!covered.count(op) && !m.non_differentiable.count(op)) missing.push_back(op);
  }
  return missing;
}

namespace {

struct OpRow {
  int cases = 0;
  bool zero = true;
  std::map<DType, std::pair<int, int>> passed_run;  // mode -> (passed, run)
};

std::string one_line(const std::string& s) {
  std::string out;
  for (char ch : s) out += ch == '\n' ? ' ' : ch;
  return out.size() > 300 ? out.substr(0, 300) + "..." : out;
}

}  // namespace

std::string write_grad_report(const std::vector<GradResult>& rs, const std::filesystem::path& dir) {
  std::map<std::string, OpRow> ops;
  std::map<std::string, std::set<std::string>> seen;
  int passed = 0, failed = 0;
  int64_t evals = 0;
  for (const GradResult& r : rs) {
    OpRow& row = ops[r.spec->op];
    if (seen[r.spec->op].insert(r.spec->name).second) ++row.cases;
    row.zero = row.zero && r.spec->zero_grad;
    auto& pr = row.passed_run[r.mode];
    pr.second += 1;
    pr.first += r.passed ? 1 : 0;
    (r.passed ? passed : failed) += 1;
    evals += r.fd_evals;
  }
  std::ostringstream md, summary;
  summary << "Gradient mode: " << rs.size() << " variants of " << seen.size() << " ops, " << passed
          << " passed, " << failed << " failed (" << evals
          << " evaluations of L for central differences)\n";
  md << "# Gradient conformance report\n\n" << summary.str() << "\n";
  md << "| op | cases | f32 vs torch | f64 vs central differences |\n|---|---|---|---|\n";
  auto cell = [](const OpRow& row, DType d) -> std::string {
    auto it = row.passed_run.find(d);
    if (it == row.passed_run.end()) return "-";
    const auto& [p, n] = it->second;
    return std::to_string(p) + "/" + std::to_string(n) + (p == n ? "" : " **FAIL**");
  };
  std::string failing;
  for (const auto& [op, row] : ops) {
    md << "| " << op << (row.zero ? " (zero)" : "") << " | " << row.cases << " | "
       << cell(row, DType::F32) << " | " << cell(row, DType::F64) << " |\n";
    bool ok = true;
    for (const auto& [d, pr] : row.passed_run) ok = ok && pr.first == pr.second;
    if (!ok) failing += " " + op;
  }
  md << "\n## Failures\n\n";
  for (const GradResult& r : rs) {
    if (!r.passed) {
      md << "- " << r.spec->name << " [" << dtype_name(r.mode) << "]: " << one_line(r.message)
         << "\n";
    }
  }
  if (!failing.empty()) summary << "Ops with failures:" << failing << "\n";
  std::ofstream(dir / "grad_report.md") << md.str();
  return summary.str();
}

}  // namespace nx::conformance
