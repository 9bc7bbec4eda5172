// The gradient mode of the conformance harness: one case of data_grad/ in one float mode.
//
// The scalar under test is L = sum_j sum(w_j * op(inputs)[j]) over the outputs j the case lists,
// with the stored weights w_j. nx::value_and_grad gives dL/d(input) for the inputs the case
// differentiates; the check depends on the mode:
//   f64  central differences of L in float64: the inputs are the stored float32 values, held
//        exactly in float64, each element perturbed by h = cbrt(eps) * max(1, |x|);
//   f32  PyTorch's autograd gradient of the same L on the same inputs (data_grad/<op>.npz);
//   zero-gradient cases, in both modes: every gradient element must be exactly zero.
// Both modes also check the gradient's dtype and shape (the input's) and the value of L against
// PyTorch's, which shows that the torch function of the case computes what the nx op does.
#pragma once

#include <string>
#include <vector>

#include "grad_manifest.hpp"

namespace nx::conformance {

/// What one case variant did.
struct GradResult {
  const GradCaseSpec* spec = nullptr;
  DType mode = DType::F32;
  bool passed = false;
  std::string message;  ///< why it failed
  /// Primitives (by Prim index) the passing variant covers: those on a differentiable path of
  /// the op, or for a zero-gradient case every primitive the op runs.
  std::vector<int> prims;
  int64_t fd_evals = 0;  ///< evaluations of L for central differences
};

/// Runs case `c` in float mode `mode` (F32 or F64); never throws.
GradResult run_grad_case(const GradCaseSpec& c, DType mode);

/// The primitives of the graph nx traces for the op over the differentiated inputs. With
/// `differentiable_only`, those on a path of floating values from a differentiated input to an
/// output entering L (the VJP rules a gradient of the case runs, stop_grad cutting paths).
/// Empty when the op cannot be traced.
std::vector<int> traced_prims(const GradCaseSpec& c, DType mode, bool differentiable_only);

}  // namespace nx::conformance
