// axon::ModelState: a model's parameters and state, with which of them are trainable.
//
//   axon::ModelState s = init_fn(templates);
//   s.data["dense_0"]["kernel"]                     // a tensor: layer -> parameter -> tensor
//   axon::ModelState ft = s.freeze([](const axon::ParamPath& p) { return p[0] != "head"; });
//   nx::Tree trainable = ft.trainable_parameters();  // only the head's parameters
//   s.save("model.safetensors");                      // tensor names "dense_0.kernel", ...
//   axon::ModelState back = axon::ModelState::load("model.safetensors");
//   axon::ModelState ft2 = axon::freeze(model, s, {.up = 3});   // the first 3 layers frozen
//
// A parameter is trainable unless frozen; state (batch-norm statistics, dropout keys) is
// updated by the forward pass in train mode, never by the optimizer. The data tree is what
// predict reads and what an optimizer updates (trainable_parameters), so a ModelState moves
// through nx::jit and checkpoints like any tree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nx/tree.hpp"

namespace axon {

class Model;

/// A parameter's path in the state: {"dense_0", "kernel"}; namespaces and blocks add levels.
using ParamPath = std::vector<std::string>;

/// Parameters and state of a model (Axon.ModelState).
struct ModelState {
  nx::Tree data = nx::Tree();       ///< nested maps: layer -> name -> tensor
  std::set<ParamPath> state = {};   ///< paths of state (not trained by optimizers)
  std::set<ParamPath> frozen = {};  ///< paths excluded from training

  /// An empty state.
  static ModelState empty() { return {}; }
  /// Every leaf of `data` a trainable parameter (Axon's ModelState.new).
  static ModelState from_tree(nx::Tree data);

  /// Trainable parameters: not state, not frozen (the tree an optimizer sees).
  nx::Tree trainable_parameters() const;
  /// Frozen parameters (not state).
  nx::Tree frozen_parameters() const;
  /// State that is not frozen (what train-mode predict updates).
  nx::Tree trainable_state() const;
  /// Frozen state.
  nx::Tree frozen_state() const;
  /// Every path in data, in order.
  std::vector<ParamPath> paths() const;

  /// A copy with the paths for which `pred` is true frozen (all when pred is empty).
  ModelState freeze(const std::function<bool(const ParamPath&)>& pred = {}) const;
  /// A copy with the paths for which `pred` is true unfrozen (all when pred is empty).
  ModelState unfreeze(const std::function<bool(const ParamPath&)>& pred = {}) const;
  /// A copy with `params` (a tree of updated parameters, e.g. after an optimizer step) and
  /// `state` (train-mode state updates) merged in; frozen paths are left unchanged.
  ModelState update(const nx::Tree& params, const nx::Tree& state = nx::Tree()) const;

  /// Number of parameters (elements) and their size in bytes.
  int64_t num_parameters() const;
  int64_t num_bytes() const;

  /// Writes data as safetensors; tensor names are the dotted paths ("dense_0.kernel"), and the
  /// state/frozen paths go to the file's metadata, so weights move to and from PyTorch.
  void save(const std::filesystem::path& path) const;
  /// Reads a file written by save (or any safetensors file: every tensor a parameter).
  static ModelState load(const std::filesystem::path& path);
};

/// Which layers freeze and unfreeze by depth select (Axon's [up: n] / [down: n]): the first
/// `up` or the last `down` layers that have trainable parameters, in the model's topological
/// order (parents first, as the layers are named). Give exactly one.
struct FreezeDepth {
  std::optional<int64_t> up = std::nullopt;
  std::optional<int64_t> down = std::nullopt;
};

/// The layers of `model` that have trainable parameters (kind Parameter), in topological order,
/// as state paths ({"dense_0"}, {"backbone", "conv_1"}); a block's layers count once.
std::vector<ParamPath> parameter_layers(const Model& model);

/// A copy of `state` with every parameter and state of the selected layers frozen (all of them
/// when n exceeds the number of layers). Throws nx::Error when `state` lacks one of them.
ModelState freeze(const Model& model, const ModelState& state, FreezeDepth depth);
/// A copy of `state` with the selected layers unfrozen.
ModelState unfreeze(const Model& model, const ModelState& state, FreezeDepth depth);

}  // namespace axon
