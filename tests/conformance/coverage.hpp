// What the conformance run covered: results per case variant, the public ops declared in the
// headers, and the report written after the run (conformance_report.md / .json).
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "manifest.hpp"

namespace nx::conformance {

enum class Status { Pass, Fail };

/// The outcome of one case variant.
struct Result {
  const CaseSpec* spec = nullptr;
  DType dtype = DType::F32;
  Status status = Status::Fail;
  std::string message;     ///< why it failed (empty on success)
  std::vector<int> prims;  ///< primitives the variant ran (by Prim index)
};

/// Results of the variants run so far, in run order.
std::vector<Result>& results();

/// Names of the free functions declared in the headers of `ops_dir` (include/nx/ops) that return
/// Tensor, std::pair<Tensor, Tensor> or std::vector<Tensor>, outside namespace detail;
/// operators are named "operator+" etc. Overloads count once.
std::set<std::string> declared_ops(const std::filesystem::path& ops_dir);

/// Primitives no passing, non-error case ran.
std::vector<std::string> unexercised_primitives(const std::vector<Result>& rs);

/// Writes conformance_report.md and conformance_report.json into `dir`; returns the Markdown.
std::string write_report(const std::vector<Result>& rs, const std::set<std::string>& declared,
                         const std::filesystem::path& dir);

}  // namespace nx::conformance
