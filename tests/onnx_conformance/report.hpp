// Per-operator summaries of conformance results, as text and as Markdown
// (docs/onnx-conformance.md).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "case_runner.hpp"

namespace onnx_conformance {

/// Counts of one group of cases.
struct Counts {
  int cases = 0, passed = 0, failed = 0, unsupported = 0;
  int constant = 0;  ///< passed with some graph inputs given as initializers
  void add(const CaseResult& r);
};

/// Results by operator, totals, and the claimed operators below the 95% bar.
struct Summary {
  std::map<std::string, Counts> direct;    ///< the op's own cases, by op
  std::map<std::string, Counts> expanded;  ///< the op's *_expanded cases, by op
  Counts total_direct, total_expanded;
  std::vector<std::string> claimed;     ///< axon::onnx::supported_operators()
  std::vector<std::string> violations;  ///< "Op: 3/5 runnable cases pass (60%)"
  std::vector<std::string> unrunnable;  ///< claimed ops whose cases are all unsupported
};

/// The fraction of an op's runnable (not unsupported) direct cases that must pass when the
/// importer claims the op.
inline constexpr double kRequiredPassRate = 0.95;

Summary summarize(const std::vector<CaseResult>& results, const std::vector<std::string>& claimed);
/// A few lines for the console.
std::string text_summary(const Summary& s);
/// The whole report: totals, a table per op, failures grouped by op and kind, unsupported.
std::string markdown_report(const std::vector<CaseResult>& results, const Summary& s);

}  // namespace onnx_conformance
