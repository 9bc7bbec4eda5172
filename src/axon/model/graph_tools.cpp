// Graph tools: traversal in the compiler's order, edited copies of a model (map_nodes,
// rewrite_nodes) and the inspection helpers (pop_node, get_inputs, get_op_counts, properties,
// get_output_shape). Every traversal walks the flattened program: no recursion over the graph.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "axon/graph.hpp"
#include "axon/model/defs.hpp"
#include "axon/model/display_trace.hpp"
#include "axon/model/program.hpp"
#include "nx/error.hpp"

namespace axon {

namespace {

void check_valid(const Model& model, const char* fn) {
  if (!model.valid()) {
    throw nx::Error(std::string("axon::") + fn + ": the model is empty (default-constructed)");
  }
}

// The shared pointer of every node of the program, by id.
std::unordered_map<int64_t, std::shared_ptr<const Node>> pointers(const detail::Program& p) {
  std::unordered_map<int64_t, std::shared_ptr<const Node>> out;
  out.emplace(p.root.id(), p.root.ptr());
  for (const Node* n : p.order) {
    for (const Model& parent : n->parents) out.emplace(parent.id(), parent.ptr());
  }
  return out;
}

// Rebuilds a graph parents first: `edit` gets each node with its parents remapped to their
// rebuilt models and whether any of them changed, and returns the node's replacement (nullopt:
// keep the node as is when no parent changed).
Model rebuild(const detail::Program& program,
              const std::function<std::optional<Model>(Node node, bool parents_changed)>& edit) {
  auto ptrs = pointers(program);
  std::unordered_map<int64_t, Model> done;
  for (const Node* n : program.order) {
    Node copy = *n;
    bool changed = false;
    for (Model& p : copy.parents) {
      const Model& q = done.at(p.id());
      changed = changed || q.ptr() != p.ptr();
      p = q;
    }
    std::optional<Model> out = edit(std::move(copy), changed);
    if (out) {
      done.emplace(n->id, std::move(*out));
    } else if (changed) {
      Node again = *n;
      for (Model& p : again.parents) p = done.at(p.id());
      done.emplace(n->id, Model(std::make_shared<Node>(std::move(again))));
    } else {
      done.emplace(n->id, Model(ptrs.at(n->id)));
    }
  }
  return done.at(program.output);
}

bool needs_counter(const Node& n) {
  return n.kind != NodeKind::Input && (n.name.empty() || n.name.find("{n}") != std::string::npos);
}

}  // namespace

std::vector<std::shared_ptr<const Node>> nodes(const Model& model) {
  check_valid(model, "nodes");
  auto program = detail::make_program(model);
  auto ptrs = pointers(*program);
  std::vector<std::shared_ptr<const Node>> out;
  out.reserve(program->order.size());
  for (const Node* n : program->order) out.push_back(ptrs.at(n->id));
  return out;
}

std::map<int64_t, std::string> node_names(const Model& model) {
  check_valid(model, "node_names");
  auto program = detail::make_program(model);
  return {program->names.begin(), program->names.end()};
}

Model map_nodes(const Model& model, const std::function<Node(Node)>& fn) {
  check_valid(model, "map_nodes");
  auto program = detail::make_program(model);
  std::unordered_map<int64_t, Model> done;
  for (const Node* n : program->order) {
    Node copy = *n;
    for (Model& p : copy.parents) p = done.at(p.id());
    Node out = fn(std::move(copy));
    // Parents fn put back from the old graph point to their replacements.
    for (Model& p : out.parents) {
      if (!p.valid()) throw nx::Error("axon::map_nodes: fn returned a node with an empty parent");
      auto it = done.find(p.id());
      if (it != done.end()) p = it->second;
    }
    done.emplace(n->id, Model(std::make_shared<Node>(std::move(out))));
  }
  return done.at(program->output);
}

Model rewrite_nodes(const Model& model, const std::function<Rewriter(const Node&)>& fn) {
  check_valid(model, "rewrite_nodes");
  auto program = detail::make_program(model);
  std::unordered_set<int64_t> original;
  std::unordered_set<std::string> taken;
  for (const Node* n : program->order) {
    original.insert(n->id);
    taken.insert(program->names.at(n->id));
  }
  // 1. Rewrite, parents first; nodes of the original graph get their resolved names pinned.
  bool rewritten = false;
  Model result = rebuild(*program, [&](Node node, bool) -> std::optional<Model> {
    if (needs_counter(node)) node.name = program->names.at(node.id);
    Rewriter rw = fn(node);
    if (!rw) return Model(std::make_shared<Node>(std::move(node)));
    if (!*rw) throw nx::Error("axon::rewrite_nodes: the rewriter function is empty");
    rewritten = true;
    std::vector<Model> parents = node.parents;
    auto placeholder = std::make_shared<Node>(std::move(node));
    placeholder->id = detail::next_node_id();
    Model out = (*rw)(parents, Model(std::move(placeholder)));
    if (!out.valid()) throw nx::Error("axon::rewrite_nodes: a rewriter returned an empty model");
    return out;
  });
  if (!rewritten) return result;
  // 2. New nodes without a fixed name get "<op>_<n>" names no original node has.
  auto next = detail::make_program(result);
  std::unordered_map<int64_t, std::string> fresh;
  std::map<std::string, int64_t> counters;
  for (const Node* n : next->order) {
    if (original.count(n->id) || n->name.empty()) continue;
    taken.insert(next->names.at(n->id));
  }
  for (const Node* n : next->order) {
    if (original.count(n->id) || !n->name.empty() || n->kind == NodeKind::Input) continue;
    std::string name;
    do {
      name = n->op_name + "_" + std::to_string(counters[n->op_name]++);
    } while (taken.count(name));
    taken.insert(name);
    fresh[n->id] = name;
  }
  if (fresh.empty()) return result;
  return rebuild(*next, [&](Node node, bool) -> std::optional<Model> {
    auto it = fresh.find(node.id);
    if (it == fresh.end()) return std::nullopt;
    node.name = it->second;
    return Model(std::make_shared<Node>(std::move(node)));
  });
}

PoppedNode pop_node(const Model& model) {
  check_valid(model, "pop_node");
  return PoppedNode{model.ptr(), model.node().parents};
}

nx::Tree get_output_shape(const Model& model, const nx::Tree& input_templates, fn::Mode mode) {
  check_valid(model, "get_output_shape");
  auto program = detail::make_program(model);
  detail::ModelTrace trace = detail::trace_model(*program, input_templates, mode);
  const detail::NodeTrace& out = trace.nodes.at(program->output);
  if (!out.present) {
    throw nx::Error(
        "axon::get_output_shape: the model's output is None for these inputs (an optional "
        "input it depends on is missing)");
  }
  return out.types;
}

std::map<std::string, nx::Shape> get_inputs(const Model& model) {
  check_valid(model, "get_inputs");
  auto program = detail::make_program(model);
  std::map<std::string, nx::Shape> out;
  for (const Node* n : program->inputs) out[n->name] = n->input.shape;
  return out;
}

std::map<std::string, int64_t> get_op_counts(const Model& model) {
  check_valid(model, "get_op_counts");
  auto program = detail::make_program(model);
  std::map<std::string, int64_t> out;
  for (const Node* n : program->order) ++out[n->op_name];
  return out;
}

std::map<std::string, std::string> properties(const Model& model) {
  check_valid(model, "properties");
  auto program = detail::make_program(model);
  std::map<std::string, std::string> out;
  for (const Node* n : program->order) out[program->names.at(n->id)] = n->op_name;
  return out;
}

}  // namespace axon
