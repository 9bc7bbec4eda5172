// Running one ONNX backend node test case through axon's importer (the worker side of the
// conformance runner, node_runner.cpp).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace onnx_conformance {

/// The outcome of one case.
struct CaseResult {
  std::string name;       ///< "test_abs"
  std::string op;         ///< the op under test ("Abs"; for *_expanded, the decomposed op)
  bool expanded = false;  ///< an *_expanded case (the op's function body, other ops)
  std::string status;     ///< "pass", "fail" or "unsupported"
  std::string kind;       ///< why not passed: import, build, run, output, crash, timeout, ...
  std::string reason;     ///< one line
  /// Graph inputs given as initializers (with the test's values) because an op needs them
  /// when the model is compiled: "shape,axes"; empty when none.
  std::string constant_inputs;
};

/// The op under test and whether the case is an expanded one, from the case's model (for an
/// expanded case, the sibling case's single node names the op).
void identify(const std::filesystem::path& node_dir, CaseResult& result);

/// "" when axon can run the case at all; otherwise why not (an op without converter, a node of
/// another domain, sequence/optional/string values, an opset outside 7..17).
std::string unsupported_reason(const std::filesystem::path& case_dir,
                               const std::vector<std::string>& supported);

/// Imports, builds and runs the case on every test_data_set_<k> and compares with the
/// expected outputs; fills status, kind and reason (exceptions are caught and reported).
void run_case(const std::filesystem::path& case_dir, CaseResult& result);

/// One line: tabs and newlines become spaces, at most `max` characters.
std::string one_line(const std::string& s, size_t max = 300);

}  // namespace onnx_conformance
