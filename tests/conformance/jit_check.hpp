// The jit mode of the conformance harness: every case run under nx::jit against its eager run.
//
// Forward: each variant of data/manifest.json runs through its adapter eagerly, then under
// nx::jit with the case's inputs as traced arguments, once with the graph passes (optimized) and
// once without (JitOptions::optimize = false, the traced graph lowered as is), so that a
// mismatch points at the passes or at lowering. Each compiled function is called twice: the
// second call takes the cache, and the first call's outputs must survive it (no output may alias
// the executable's arena). A third setting compiles the case with its inputs closed over
// (constants of the graph, which constant folding may evaluate).
// Gradient: each case of data_grad/manifest.json runs value_and_grad (grad for zero-gradient
// cases) inside nx::jit, optimized and not, against the same call made eagerly.
// Grad of grad: for a few smooth ops, the gradient of <v, dL/dx> computed inside nx::jit against
// central differences of the eager first gradient in float64.
//
// Compiled against eager (jit_compare): dtype and shape exactly, integers and pred bit for bit;
// floats within a few ulp (jit_tolerance: fusion evaluates chains without rounding in between
// and reductions may be reassociated), NaN matching NaN and infinities exactly.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "grad_manifest.hpp"
#include "manifest.hpp"

namespace nx::conformance {

/// How far a compiled float result may be from the eager one: `ulps` units in the last place of
/// the eager element, or `scale_ulps` of the largest |element| of the eager tensor (results of
/// reductions whose terms cancel: a reassociated sum is off by a few ulp of its terms, not of
/// its result).
struct UlpTolerance {
  double ulps = 0;
  double scale_ulps = 0;
  /// -0 and +0 differ (negate(0) is -0; a sum's zero may take either sign by summation order).
  bool zero_sign = false;
};

/// The tolerance of compiled results of float dtype `d`: forward values (grad = false) or values
/// computed by value_and_grad. Cases' tol_scale does not apply: it widens the tolerance against
/// NumPy for ops whose algorithm differs from NumPy's, and jit runs nx's own algorithm.
UlpTolerance jit_tolerance(DType d, bool grad);

/// Empty when `got` (compiled) matches `want` (eager); otherwise what differs, naming the worst
/// error in ulp.
std::string jit_compare(const Tensor& got, const Tensor& want, UlpTolerance tol);

/// Ops whose adapters need the concrete value of an input at trace time (or whose result cannot
/// be a compiled value), with the reason. Under jit with traced arguments they must throw
/// nx::Error; those with inputs still run the "constants" setting.
const std::map<std::string, std::string>& untraceable_ops();

/// One case variant (or gradient case) in one jit setting.
struct JitResult {
  std::string op = {};
  std::string name = {};     ///< case name
  std::string variant = {};  ///< dtype (forward) or mode (gradient)
  /// "optimized", "unoptimized", "constants", "grad", "grad-unoptimized", "grad-of-grad"
  std::string setting = {};
  bool passed = false;
  std::string message = {};
  bool fused = false;  ///< passed, and the optimized graph has fused nodes
};

/// Runs forward case `c`, variant `v` under jit: optimized, unoptimized and with the inputs as
/// constants; one result each (never throws).
std::vector<JitResult> run_forward_jit(const CaseSpec& c, const VariantSpec& v);

/// Runs gradient case `c` in float mode `mode` with value_and_grad inside jit, optimized and
/// unoptimized; one result each (never throws).
std::vector<JitResult> run_grad_jit(const GradCaseSpec& c, DType mode);

/// The ops of the grad-of-grad smoke test.
const std::vector<std::string>& grad_of_grad_ops();

/// Grad of grad of gradient case `c` (float64) inside jit against central differences of the
/// eager first gradient (never throws).
JitResult run_grad_of_grad_jit(const GradCaseSpec& c);

}  // namespace nx::conformance
