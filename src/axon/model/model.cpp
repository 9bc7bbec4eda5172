// The model graph: nodes, handles and the special nodes (input, constant, container, elem,
// layer, optional, namespace, block, hooks).
#include <atomic>
#include <utility>

#include "axon/model.hpp"
#include "axon/model/defs.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon {

namespace detail {

int64_t next_node_id() {
  static std::atomic<int64_t> counter{0};
  return ++counter;
}

std::shared_ptr<Node> make_node(NodeKind kind, std::string op_name, std::string name,
                                std::vector<Model> parents, SourceLocation where) {
  for (const Model& p : parents) {
    if (!p.valid()) {
      throw nx::Error("axon::" + op_name + ": an input model is empty (default-constructed)");
    }
  }
  auto node = std::make_shared<Node>();
  node->id = next_node_id();
  node->kind = kind;
  node->op_name = std::move(op_name);
  node->name = std::move(name);
  node->parents = std::move(parents);
  node->where = where;
  return node;
}

std::string describe_node(const Node& node, const std::string& resolved_name) {
  std::string file = node.where.file_name();
  auto slash = file.find_last_of('/');
  if (slash != std::string::npos) file = file.substr(slash + 1);
  return resolved_name + " (" + node.op_name + ") built at " + file + ":" +
         std::to_string(node.where.line());
}

}  // namespace detail

const Node& Model::node() const {
  if (!node_) throw nx::Error("axon::Model: this model is empty (default-constructed)");
  return *node_;
}

Param param(std::string name, nx::Shape shape, ParamOptions opts) {
  return Param{std::move(name), [shape](const std::vector<nx::Shape>&) { return shape; },
               std::move(opts.initializer), opts.dtype, opts.kind};
}

Param param(std::string name, ShapeRule shape, ParamOptions opts) {
  return Param{std::move(name), std::move(shape), std::move(opts.initializer), opts.dtype,
               opts.kind};
}

const Tensor& LayerCall::input(size_t i) const {
  if (i >= inputs.size()) {
    throw nx::Error("axon layer " + name + ": asked for input " + std::to_string(i) + " of " +
                    std::to_string(inputs.size()));
  }
  if (!inputs[i].is_leaf()) {
    throw nx::Error("axon layer " + name + ": input " + std::to_string(i) +
                    " must be a tensor, got a container");
  }
  return inputs[i].leaf();
}

const Tensor& LayerCall::param(const std::string& pname) const {
  if (!params.is_map() || !params.contains(pname)) {
    throw nx::Error("axon layer " + name + ": has no parameter " + pname);
  }
  return params[pname].leaf();
}

Model input(std::string name, nx::Shape shape, InputOptions opts, SourceLocation where) {
  if (name.empty()) throw nx::Error("axon::input: an input needs a name");
  for (int64_t d : shape) {
    if (d < 0 && d != kDynamic) {
      throw nx::Error("axon::input " + name + ": dimension " + std::to_string(d) +
                      " is neither >= 0 nor kDynamic");
    }
  }
  auto node = detail::make_node(NodeKind::Input, "input", name, {}, where);
  node->input = InputSpec{std::move(shape), true, opts.optional, opts.dtype};
  return Model(std::move(node));
}

Model input(std::string name, InputOptions opts, SourceLocation where) {
  if (name.empty()) throw nx::Error("axon::input: an input needs a name");
  auto node = detail::make_node(NodeKind::Input, "input", name, {}, where);
  node->input = InputSpec{{}, false, opts.optional, opts.dtype};
  return Model(std::move(node));
}

Model constant(Tensor value, NodeOptions opts, SourceLocation where) {
  if (!value.defined()) throw nx::Error("axon::constant: the tensor is empty");
  auto node = detail::make_node(NodeKind::Constant, "constant", std::move(opts.name), {}, where);
  node->constant = std::move(value);
  return Model(std::move(node));
}

Model container(std::vector<Model> outputs, NodeOptions opts, SourceLocation where) {
  auto node = detail::make_node(NodeKind::Container, "container", std::move(opts.name),
                                std::move(outputs), where);
  node->container_keys = Tree::list({});
  return Model(std::move(node));
}

Model container(std::vector<std::pair<std::string, Model>> outputs, NodeOptions opts,
                SourceLocation where) {
  std::vector<Model> parents;
  Tree::Map keys;
  for (auto& [k, m] : outputs) {
    keys.emplace_back(k, Tree());
    parents.push_back(m);
  }
  auto node = detail::make_node(NodeKind::Container, "container", std::move(opts.name),
                                std::move(parents), where);
  node->container_keys = Tree(std::move(keys));
  return Model(std::move(node));
}

Model elem(const Model& x, size_t i, NodeOptions opts, SourceLocation where) {
  auto node = detail::make_node(NodeKind::Elem, "elem", std::move(opts.name), {x}, where);
  node->elem_path = {"#" + std::to_string(i)};
  return Model(std::move(node));
}

Model elem(const Model& x, const std::string& key, NodeOptions opts, SourceLocation where) {
  auto node = detail::make_node(NodeKind::Elem, "elem", std::move(opts.name), {x}, where);
  node->elem_path = {key};
  return Model(std::move(node));
}

Model layer(LayerFn fn, std::vector<Model> inputs, LayerOptions opts, SourceLocation where) {
  if (!fn) throw nx::Error("axon::layer " + opts.op_name + ": the layer function is empty");
  if (opts.mode != NodeMode::Both && inputs.empty()) {
    throw nx::Error("axon::layer " + opts.op_name +
                    ": a train-only or inference-only layer passes its first input through "
                    "in the other mode, so it needs an input");
  }
  for (size_t i = 0; i < opts.params.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (opts.params[i].name == opts.params[j].name) {
        throw nx::Error("axon::layer " + opts.op_name + ": parameter " + opts.params[i].name +
                        " is declared twice");
      }
    }
  }
  auto node = detail::make_node(NodeKind::Layer, std::move(opts.op_name), std::move(opts.name),
                                std::move(inputs), where);
  node->fn = std::move(fn);
  node->mode = opts.mode;
  node->params = std::move(opts.params);
  node->options = std::move(opts.options);
  return Model(std::move(node));
}

Model nx_layer(const Model& x, std::function<Tensor(const Tensor&)> f, NodeOptions opts,
               SourceLocation where) {
  return layer([f = std::move(f)](const LayerCall& c) { return LayerResult{f(c.input(0))}; }, {x},
               {.name = std::move(opts.name), .op_name = "nx"}, where);
}

Model optional(const Model& x, NodeOptions opts, SourceLocation where) {
  return Model(detail::make_node(NodeKind::Optional, "optional", std::move(opts.name), {x}, where));
}

Model or_else(const Model& a, const Model& b, NodeOptions opts, SourceLocation where) {
  return layer(
      [](const LayerCall& c) { return LayerResult{c.present[0] ? c.inputs[0] : c.inputs[1]}; },
      {optional(a, {}, where), b}, {.name = std::move(opts.name), .op_name = "or_else"}, where);
}

Model namespace_(const Model& inner, std::string name, SourceLocation where) {
  if (name.empty()) throw nx::Error("axon::namespace_: a namespace needs a name");
  return Model(
      detail::make_node(NodeKind::Namespace, "namespace", std::move(name), {inner}, where));
}

Block block(std::function<Model(const std::vector<Model>&)> fn, size_t arity, NodeOptions opts) {
  auto def = std::make_shared<detail::BlockDef>();
  def->id = detail::next_node_id();
  def->name = std::move(opts.name);
  def->arity = arity;
  std::vector<Model> placeholders;
  for (size_t i = 0; i < arity; ++i) {
    placeholders.push_back(input("block_input_" + std::to_string(i)));
    def->placeholders.push_back(placeholders.back().id());
  }
  def->inner = fn(placeholders);
  if (!def->inner.valid()) throw nx::Error("axon::block: the block function returned no model");
  Block b;
  b.def_ = std::move(def);
  return b;
}

Model Block::operator()(std::vector<Model> inputs, SourceLocation where) const {
  const auto& def = *static_cast<const detail::BlockDef*>(def_.get());
  if (inputs.size() != def.arity) {
    throw nx::Error("axon::block: expected " + std::to_string(def.arity) + " inputs, got " +
                    std::to_string(inputs.size()));
  }
  auto node = detail::make_node(NodeKind::Block, "block", def.name, std::move(inputs), where);
  node->sub = def_;
  return Model(std::move(node));
}

Model attach_hook(const Model& x, Hook hook) {
  auto copy = std::make_shared<Node>(x.node());
  copy->hooks.push_back(std::move(hook));
  return Model(std::move(copy));
}

}  // namespace axon
