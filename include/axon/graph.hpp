// Graph tools (Axon's graph-level API): inspecting a model's nodes and making edited copies.
// Models are immutable: every edit returns a new model sharing nothing it changed with the old.
//
//   // Swap every relu for a gelu (the dense layers, and their parameter names, stay).
//   axon::Model g = axon::rewrite_nodes(model, [](const axon::Node& n) -> axon::Rewriter {
//     if (n.op_name != "relu") return std::nullopt;
//     return [](std::vector<axon::Model> parents, axon::Model) {
//       return axon::activation(parents[0], "gelu");
//     };
//   });
//   // LoRA: a low-rank update added to each dense layer's output; the original dense layers
//   // keep their names, so the pre-trained state still initialises them.
//   axon::Model lora = axon::rewrite_nodes(model, [](const axon::Node& n) -> axon::Rewriter {
//     if (n.op_name != "dense") return std::nullopt;
//     return [](std::vector<axon::Model> parents, axon::Model wx) {
//       auto a = axon::dense(parents[0], 4, {.name = "lora_a_{n}", .use_bias = false});
//       auto b = axon::dense(a, out_units, {.name = "lora_b_{n}", .use_bias = false});
//       return axon::layer([](const axon::LayerCall& c) {
//         return axon::LayerResult{c.input(0) + c.input(1)}; }, {wx, b}, {.op_name = "add"});
//     };
//   });
//   axon::get_op_counts(model);  // {"dense": 2, "input": 1, "relu": 1}
//
// Traversals visit the nodes parents first, each node once, without recursion over the graph
// (1000-node chains are fine). They do not descend into a block's inner graph: a block call is
// one node.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/fn/common.hpp"
#include "axon/model.hpp"
#include "nx/tree.hpp"

namespace axon {

/// The nodes of `model`, parents first, each once (the order the compiler evaluates them).
std::vector<std::shared_ptr<const Node>> nodes(const Model& model);

/// The resolved name of every node by id ("dense_0", or the given name), as build uses them.
std::map<int64_t, std::string> node_names(const Model& model);

/// A new model with every node replaced by fn(node); the result's parents are remapped to the
/// replaced parents. `fn` receives a copy of the node whose parents are already the new ones;
/// ids are kept unless fn changes them, so a map that keeps the ops keeps parameter names.
Model map_nodes(const Model& model, const std::function<Node(Node)>& fn);

/// Folds fn over the nodes, parents first, each node once.
template <class Acc>
Acc reduce_nodes(const Model& model, Acc acc, const std::function<Acc(Acc, const Node&)>& fn) {
  for (const auto& n : nodes(model)) acc = fn(std::move(acc), *n);
  return acc;
}

/// Builds the replacement of a node: from the node's (already rewritten) parents and a copy of
/// the node itself on those parents (`placeholder_output`), returns the model consumers see.
using RewriteFn = std::function<Model(std::vector<Model> new_parents, Model placeholder_output)>;
/// What a rewrite_nodes callback returns: nullopt to keep the node (Axon's :skip).
using Rewriter = std::optional<RewriteFn>;

/// Axon's rewrite_nodes: for each node (parents first) fn decides whether to replace it; a
/// replacement is built by the returned function from the node's rewritten parents and a copy
/// of the node (the placeholder), and every consumer of the node sees it. Nodes of the original
/// model keep their resolved names (an unnamed dense_1 stays dense_1 even if new dense layers
/// come before it), so an initial state of the original model still fits; new unnamed nodes
/// get names that collide with none of those.
Model rewrite_nodes(const Model& model, const std::function<Rewriter(const Node&)>& fn);

/// A model's output node and the models of its parents (Axon's pop_node).
struct PoppedNode {
  std::shared_ptr<const Node> node;
  std::vector<Model> parents;
};
/// Splits off the output node: {node, parents}.
PoppedNode pop_node(const Model& model);

/// The output's types (a tree of nx templates, e.g. [f32[1][3], f32[1][2]] for a container)
/// for inputs shaped like `input_templates`, by tracing the model once.
nx::Tree get_output_shape(const Model& model, const nx::Tree& input_templates,
                          fn::Mode mode = fn::Mode::Inference);

/// Input name -> declared shape (kDynamic for unknown dims; {} for an input declared without
/// a shape).
std::map<std::string, nx::Shape> get_inputs(const Model& model);

/// Op name -> how many nodes have it (inputs included, as Axon).
std::map<std::string, int64_t> get_op_counts(const Model& model);

/// Resolved node name -> op name, for every node.
std::map<std::string, std::string> properties(const Model& model);

}  // namespace axon
