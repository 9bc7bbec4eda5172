// Shared by the ONNX converter tests: one-node cases stored in data/<family>.npz (written by the
// data/gen_ops_*.py scripts), run directly through their converter or as a one-node model
// through the importer, and compared with the expected outputs.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <string>
#include <vector>

#include "axon/onnx/ops.hpp"
#include "nx/error.hpp"
#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace onnx_case {

/// One node with its inputs and expected outputs.
struct Case {
  std::string name;
  ::onnx::NodeProto node;
  int64_t opset = 17;
  std::vector<nx::Tensor> inputs;  ///< undefined: an omitted optional input
  std::vector<bool> is_const;      ///< inputs stored as initializers in the imported model
  std::vector<nx::Tensor> outputs;
};

/// tests/axon/onnx/data/<file> as a map (loaded once per file).
const nx::Tree& reference(const std::string& file);
/// Case `name` of a reference: members <name>.node, .opset, .const, .in<i>, .out<i>.
Case load_case(const nx::Tree& reference, const std::string& name);
/// The names of every case of a reference, in file order.
std::vector<std::string> case_names(const nx::Tree& reference);

/// Tolerances by dtype (integers and bools always compare exactly).
struct Tolerance {
  double f16_rtol = 0, f16_atol = 0;
  double f32_rtol = 0, f32_atol = 0;
  double f64_rtol = 0, f64_atol = 0;
};
/// Same dtype and shape, values within the dtype's tolerance (NaN equals NaN).
void expect_matches(const nx::Tensor& actual, const nx::Tensor& expected, const std::string& what,
                    const Tolerance& tol);

/// The OpCall the importer would give the case's converter.
axon::onnx_import::OpCall make_call(const Case& c);
/// The case's converter called directly (eagerly).
std::vector<nx::Tensor> call_converter(const Case& c);
/// The case as a one-node model (constant inputs as initializers), serialized.
std::string model_bytes(const Case& c);
/// The one-node model imported and predicted (compiled).
std::vector<nx::Tensor> run_imported(const Case& c);

/// Runs every case of `reference` that `skip` (when given) does not select through its converter
/// (imported = false) or as a compiled one-node model (imported = true): a case that throws is a
/// test failure, the outputs of the others go to `check`. Returns how many cases ran.
int for_each_result(const nx::Tree& reference, bool imported,
                    const std::function<void(const Case&, const std::vector<nx::Tensor>&)>& check,
                    const std::function<bool(const Case&)>& skip = {});

/// The message of the nx::Error that f() throws; empty when it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const nx::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace onnx_case
