// A model graph flattened for evaluation: nodes in parents-first order with their resolved
// names and parameter scopes, and the evaluator that runs them (eagerly or under tracing) to
// initialise parameters or to predict.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "axon/model.hpp"
#include "axon/model/defs.hpp"

namespace axon::detail {

/// A parameter path in the model state: {"dense_0", "kernel"}, {"ns", "dense_0", "kernel"}.
using ParamPath = std::vector<std::string>;

/// The flattened graph of one model output.
struct Program {
  Model root;  ///< keeps the graph alive: the pointers below point into it
  std::vector<const Node*> order;                                ///< parents first, each node once
  std::unordered_map<int64_t, std::string> names;                ///< resolved names by node id
  std::unordered_map<int64_t, std::vector<std::string>> scopes;  ///< namespace prefix by id
  std::vector<const Node*> inputs;                               ///< input nodes, in order
  int64_t output = 0;
  /// Programs of the blocks used, by block definition id, and their resolved names.
  std::map<int64_t, std::shared_ptr<const Program>> blocks;
  std::map<int64_t, std::string> block_names;
};

/// Flattens `model` (throws nx::Error on duplicate input names or a cycle).
std::shared_ptr<const Program> make_program(const Model& model);

/// How an evaluation treats parameters.
struct EvalOptions {
  Mode mode = Mode::Inference;
  /// Initialise: parameters missing from `params` are created with their initializer (keys
  /// from `root_key`), and the result's `params` holds every parameter.
  bool initialize = false;
  Tensor root_key;
  /// Paths whose parameters are wrapped in stop_grad (frozen).
  const std::set<ParamPath>* frozen = nullptr;
  /// Called after each node of the program (not of a block's inner graph) with its output and
  /// whether it is present (not None): the display records output shapes this way.
  std::function<void(const Node& node, const Tree& output, bool present)> on_node = {};
};

/// What an evaluation gives.
struct EvalResult {
  Tree output;                      ///< the model's output (empty when it is None)
  bool present = true;              ///< false when the output is None
  Tree params = Tree();             ///< initialize: every parameter, nested by path
  Tree state = Tree();              ///< train mode: state updates, nested by path
  std::set<ParamPath> state_paths;  ///< initialize: the paths of kind State
};

/// Runs the program on `inputs` (input name -> value; a missing optional input is None).
EvalResult evaluate(const Program& program, const std::map<std::string, Tree>& inputs,
                    const Tree& params, const EvalOptions& opts);

/// The paths of every parameter of kind State (batch-norm statistics, dropout keys).
std::set<ParamPath> state_paths(const Program& program);

/// Binds predict's `inputs` to the program's input names: a map by name, or a single tensor
/// when the model has exactly one input. Checks shapes against the declared ones.
std::map<std::string, Tree> bind_inputs(const Program& program, const Tree& inputs);

}  // namespace axon::detail
