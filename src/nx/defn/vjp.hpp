// Reverse-mode rules: one vector-Jacobian product per primitive, all in vjp_rules.cpp.
//
// A rule gets the primal inputs and outputs of one node (as tensors of the current context:
// concrete when eager, traced when an enclosing function is traced) and the cotangents of its
// outputs, and returns one cotangent per input, built from ordinary nx ops (so the backward pass
// is itself traceable, optimizable and differentiable: grad of grad). An empty Tensor means a
// zero cotangent. Cotangents have exactly their input's shape and dtype (rules undo broadcasting
// and type changes).
#pragma once

#include <span>
#include <vector>

#include "../core/primitive.hpp"

namespace nx::detail {

struct VjpArgs {
  Prim prim;
  const Params& params;
  std::span<const Tensor> in;    ///< primal inputs
  std::span<const Tensor> out;   ///< primal outputs
  std::span<const Tensor> ct;    ///< output cotangents (empty Tensor = zero; one at least set)
  std::span<const bool> wanted;  ///< which inputs need a cotangent (the rule may skip others)
};

/// The rule of a primitive. Every primitive has one (a missing one is a link error):
/// piecewise-constant and integer-valued primitives (floor, sign, comparisons, argmax, iota,
/// bitwise ops, random bits...) return zero cotangents, as Nx does.
using VjpRule = std::vector<Tensor> (*)(const VjpArgs& a);

#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) \
  std::vector<Tensor> vjp_##name(const VjpArgs& a);
#include "../core/primitives.def"
#undef NX_PRIM

/// The rule for `p`.
VjpRule vjp_rule(Prim p);

/// True when values of this dtype carry gradients (floating point).
inline bool differentiable_dtype(DType t) {
  return is_float(t);
}

}  // namespace nx::detail
