// The reference data of the gradient mode: data_grad/manifest.json and one NPZ per op, written
// by gen_grad_reference.py from grad_cases.py.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness.hpp"

namespace nx::conformance {

/// One row of grad_cases.py.
struct GradCaseSpec {
  std::string name;
  std::string op;    ///< the adapter (public op) it runs
  std::string file;  ///< NPZ file name in data_grad/
  std::string key;   ///< prefix of its arrays in that file
  Json attrs;
  std::vector<std::string> inputs;  ///< per input: "float" (the mode's dtype) or a dtype name
  int num_outputs = 0;              ///< outputs the op returns
  std::vector<int> outputs;         ///< outputs that enter L (each has weights "w<j>")
  std::vector<int> wrt;             ///< inputs differentiated (each has a torch gradient "g<n>")
  std::vector<DType> modes;         ///< f32 (against torch), f64 (against central differences)
  bool zero_grad = false;           ///< the gradient must be exactly zero
  double tol_scale = 1.0;
};

struct GradManifest {
  std::vector<GradCaseSpec> cases;
  std::map<std::string, std::string> non_differentiable;  ///< op -> why it has no gradient case
};

/// The gradient manifest, loaded once (throws std::runtime_error when it cannot be read).
const GradManifest& grad_manifest();

/// The array `<key>.<suffix>` of a case ("i0", "w1", "g0", "L"), as stored.
Tensor grad_array(const GradCaseSpec& c, const std::string& suffix);

/// True when input `i` of `c` is a floating input of the mode's dtype.
inline bool is_mode_float(const GradCaseSpec& c, size_t i) {
  return c.inputs[i] == "float";
}

}  // namespace nx::conformance
