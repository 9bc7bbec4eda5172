// axon::mixed_precision: computing in bf16 or f16 while keeping parameters (or outputs) in f32
// (Axon.MixedPrecision).
//
//   namespace mp = axon::mixed_precision;
//   mp::Policy policy = mp::create_policy({.compute = nx::bf16, .output = nx::f32});
//   axon::Model fast = mp::apply_policy(model, policy, {.except = {"batch_norm"}});
//   auto [init_fn, predict_fn] = axon::build(fast);
//   axon::ModelState s = init_fn(templates);   // parameters f32 (policy.params unset)
//   nx::Tensor y = predict_fn(s, x).leaf();    // dense/conv run in bf16, outputs are f32
//
// A policy names three dtypes, each optional ("no cast" when unset):
//  - params: the dtype parameters are created (and stored) in at init; given parameters are
//    converted to it;
//  - compute: a layer's inputs and parameters are cast to it before the layer runs (after
//    stop_grad for frozen ones, so gradients flow back to the stored dtype);
//  - output: the layer's output is cast to it (after its forward hooks).
// Only floating-point tensors are ever cast: integer inputs (embedding ids, masks) and integer
// state (dropout keys) pass unchanged, and a policy cannot name an integer dtype. In train mode,
// a layer's new state (batch-norm statistics) is cast back to the dtype it is stored in.
//
// apply_policy returns a new model (the original is unchanged) whose layer nodes chosen by the
// filter carry the policy; the compiler (axon::build) applies the casts. Namespaces and blocks
// are rewritten too, so their layers are filtered like any other.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "axon/model.hpp"
#include "nx/tree.hpp"

namespace axon::mixed_precision {

/// Options of create_policy: each dtype unset means "no cast" (Axon's nil).
struct PolicyOptions {
  std::optional<nx::DType> params = std::nullopt;
  std::optional<nx::DType> compute = std::nullopt;
  std::optional<nx::DType> output = std::nullopt;
};

/// A policy; throws nx::Error when a dtype is not floating point.
Policy create_policy(PolicyOptions opts = {});

/// "p=f32 c=bf16 o=f32" (an unset dtype prints as "none"), as Axon's inspect.
std::string to_string(const Policy& policy);

/// Which of a policy's dtypes cast uses.
enum class CastTo { Params, Compute, Output };

/// The floating-point leaves of `tree` cast to the policy's `to` dtype (unchanged when it is
/// unset); integer and boolean leaves are never cast.
nx::Tree cast(const Policy& policy, const nx::Tree& tree, CastTo to);

/// Which layers apply_policy sets the policy on, by op name (Axon's only:/except:): every layer
/// when both are empty; only the ops in `only` when it is given; never the ops in `except`.
struct PolicyFilter {
  std::vector<std::string> only = {};
  std::vector<std::string> except = {};
};

/// A copy of `model` whose layers passing `filter` carry `policy` (replacing any earlier one).
Model apply_policy(const Model& model, const Policy& policy, PolicyFilter filter = {});
/// A copy of `model` whose layers for which `filter(node)` is true carry `policy`.
Model apply_policy(const Model& model, const Policy& policy,
                   const std::function<bool(const Node&)>& filter);

}  // namespace axon::mixed_precision
