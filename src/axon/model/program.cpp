// Flattening a model graph and evaluating it: one evaluator serves initialisation (creating the
// parameters, tracing the forward pass only for the shapes it needs) and prediction.
#include "axon/model/program.hpp"

#include <functional>
#include <optional>
#include <unordered_set>

#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/random.hpp"

namespace axon::detail {

namespace {

std::string join(const ParamPath& path) {
  std::string s;
  for (const auto& p : path) s += (s.empty() ? "" : ".") + p;
  return s;
}

std::string resolve_name(const Node& node, std::map<std::string, int64_t>& counters) {
  int64_t n = counters[node.op_name]++;
  if (node.kind == NodeKind::Input) return node.name;
  if (node.name.empty()) return node.op_name + "_" + std::to_string(n);
  std::string name = node.name;
  auto at = name.find("{n}");
  if (at != std::string::npos) name.replace(at, 3, std::to_string(n));
  return name;
}

struct Flattener {
  Program& program;
  std::map<std::string, int64_t> counters;
  std::map<std::string, int64_t> block_counter;
  std::unordered_set<int64_t> done, active;
  std::map<std::string, int64_t> input_names;

  void visit(const Node& node, const std::vector<std::string>& scope) {
    if (done.count(node.id)) return;
    if (!active.insert(node.id).second) {
      throw nx::Error("axon: the model graph has a cycle through " + node.op_name);
    }
    std::vector<std::string> inner = scope;
    if (node.kind == NodeKind::Namespace) inner.push_back(node.name);
    for (const Model& p : node.parents) visit(p.node(), inner);
    active.erase(node.id);
    done.insert(node.id);
    program.order.push_back(&node);
    program.names[node.id] = resolve_name(node, counters);
    program.scopes[node.id] = scope;
    if (node.kind == NodeKind::Input) {
      auto [it, fresh] = input_names.emplace(node.name, node.id);
      if (!fresh && it->second != node.id) {
        throw nx::Error("axon: two different inputs are named " + node.name +
                        " (input names must be unique)");
      }
      if (fresh) program.inputs.push_back(&node);
    }
    if (node.kind == NodeKind::Block) {
      const auto& def = *static_cast<const BlockDef*>(node.sub.get());
      if (!program.blocks.count(def.id)) {
        program.blocks[def.id] = make_program(def.inner);
        int64_t n = block_counter["block"]++;
        program.block_names[def.id] = def.name.empty() ? "block_" + std::to_string(n) : def.name;
      }
    }
  }
};

// A value flowing along an edge: a tree, or None (a missing optional input and what it reaches).
struct Value {
  Tree tree;
  bool present = true;
  bool optional = false;  // produced by axon::optional: consumers receive None instead of
                          // becoming None themselves
};

const Tree* find_path(const Tree& t, const ParamPath& path) {
  const Tree* at = &t;
  for (const auto& p : path) {
    at = at->find(p);
    if (!at) return nullptr;
  }
  return at;
}

Tree set_path(const Tree& t, const ParamPath& path, size_t i, const Tree& value) {
  if (i == path.size()) return value;
  const Tree* child = t.is_map() ? t.find(path[i]) : nullptr;
  Tree base = t.is_map() ? t : Tree();
  return base.set(path[i], set_path(child ? *child : Tree(), path, i + 1, value));
}

uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

bool runs_in(NodeMode m, Mode mode) {
  return m == NodeMode::Both || (m == NodeMode::Train) == (mode == Mode::Train);
}

Tree apply_forward_hooks(const Node& node, const std::string& name, Tree out, Mode mode) {
  for (const Hook& h : node.hooks) {
    if (!runs_in(h.mode, mode)) continue;
    auto fn = h.fn;
    if (h.on == HookEvent::Forward) {
      out = nx::tree_map(out, [&](const Tensor& t) {
        return nx::hook(t, name, [fn](const Tensor& v) { fn(Tree(v)); });
      });
    } else if (h.on == HookEvent::Backward) {
      out = nx::tree_map(out, [&](const Tensor& t) {
        return nx::custom_grad(t, {t}, [fn, name](const Tensor& g) {
          return std::vector<Tensor>{nx::hook(g, name, [fn](const Tensor& v) { fn(Tree(v)); })};
        });
      });
    }
  }
  return out;
}

// Mixed precision: t's floating-point leaves cast to `to` (unset: t). Integer and boolean leaves
// are never cast (embedding ids, masks).
Tree cast_floats(const Tree& t, std::optional<nx::DType> to) {
  if (!to || !nx::is_float(*to)) return t;
  return nx::tree_map(t, [&](const Tensor& x) {
    return nx::is_float(x.dtype()) && x.dtype() != *to ? nx::as_type(x, *to) : x;
  });
}

class Evaluator {
 public:
  Evaluator(const Program& p, const std::map<std::string, Tree>& inputs, const Tree& params,
            const EvalOptions& opts, const ParamPath& prefix)
      : program_(p), inputs_(inputs), given_(params), opts_(opts), prefix_(prefix) {}

  EvalResult run() {
    for (const Node* node : program_.order) {
      const Value& v = values_[node->id] = eval(*node);
      if (opts_.on_node && prefix_.empty()) opts_.on_node(*node, v.tree, v.present);
    }
    const Value& out = values_.at(program_.output);
    result_.output = out.tree;
    result_.present = out.present;
    return std::move(result_);
  }

 private:
  Value eval(const Node& node) {
    const std::string& name = program_.names.at(node.id);
    switch (node.kind) {
      case NodeKind::Input: {
        auto it = inputs_.find(node.name);
        if (it == inputs_.end()) return Value{Tree(), false, false};
        return Value{it->second};
      }
      case NodeKind::Constant:
        return Value{Tree(node.constant)};
      case NodeKind::Optional: {
        Value v = values_.at(node.parents[0].id());
        v.optional = true;
        return v;
      }
      case NodeKind::Namespace:
        return values_.at(node.parents[0].id());
      default:
        break;
    }
    std::vector<Tree> ins;
    std::vector<bool> present;
    for (const Model& p : node.parents) {
      const Value& v = values_.at(p.id());
      if (!v.present && !v.optional) return Value{Tree(), false, false};
      ins.push_back(v.tree);
      present.push_back(v.present);
    }
    switch (node.kind) {
      case NodeKind::Container: {
        if (node.container_keys.is_map()) {
          Tree::Map m;
          for (size_t i = 0; i < ins.size(); ++i)
            m.emplace_back(node.container_keys.keys()[i], ins[i]);
          return Value{Tree(std::move(m))};
        }
        return Value{Tree::list(ins)};
      }
      case NodeKind::Elem: {
        const std::string& key = node.elem_path[0];
        if (key[0] == '#') {
          size_t i = std::stoul(key.substr(1));
          if (!ins[0].is_list() || i >= ins[0].size()) {
            throw nx::Error("axon: " + describe_node(node, name) + ": element " +
                            std::to_string(i) + " of an output that is " + ins[0].to_string());
          }
          return Value{ins[0][i]};
        }
        if (!ins[0].contains(key)) {
          throw nx::Error("axon: " + describe_node(node, name) + ": no entry " + key +
                          " in an output that is " + ins[0].to_string());
        }
        return Value{ins[0][key]};
      }
      case NodeKind::Block:
        return eval_block(node, ins);
      default:
        return eval_layer(node, name, std::move(ins), std::move(present));
    }
  }

  ParamPath path_of(const Node& node, const std::string& name) const {
    ParamPath path = prefix_;
    for (const auto& s : program_.scopes.at(node.id)) path.push_back(s);
    path.push_back(name);
    return path;
  }

  Value eval_block(const Node& node, const std::vector<Tree>& ins) {
    const auto& def = *static_cast<const BlockDef*>(node.sub.get());
    const Program& inner = *program_.blocks.at(def.id);
    ParamPath path = prefix_;
    for (const auto& s : program_.scopes.at(node.id)) path.push_back(s);
    path.push_back(program_.block_names.at(def.id));
    std::map<std::string, Tree> bound;
    for (size_t i = 0; i < ins.size(); ++i) bound["block_input_" + std::to_string(i)] = ins[i];
    // Calls after the first share the parameters the first one created.
    Tree given = opts_.initialize ? merged_given() : given_;
    EvalResult r = Evaluator(inner, bound, given, opts_, path).run();
    if (opts_.initialize) absorb(r.params, r.state_paths);
    result_.state = merge(result_.state, r.state);
    return Value{r.output, r.present};
  }

  Tree merged_given() const { return merge(given_, result_.params); }

  static Tree merge(const Tree& a, const Tree& b) {
    if (!a.is_map() || !b.is_map()) return b;
    Tree out = a;
    for (size_t i = 0; i < b.size(); ++i) {
      const std::string& k = b.keys()[i];
      const Tree* existing = out.find(k);
      out = out.set(k, existing ? merge(*existing, b[i]) : b[i]);
    }
    return out;
  }

  void absorb(const Tree& params, const std::set<ParamPath>& state_paths) {
    result_.params = merge(result_.params, params);
    result_.state_paths.insert(state_paths.begin(), state_paths.end());
  }

  Tree layer_params(const Node& node, const ParamPath& path, const std::vector<Tree>& ins) {
    Tree params;
    stored_dtypes_.clear();
    std::vector<nx::Shape> shapes;
    for (const Tree& t : ins) shapes.push_back(t.is_leaf() ? t.leaf().shape() : nx::Shape{});
    for (const Param& p : node.params) {
      ParamPath full = path;
      full.push_back(p.name);
      const Tree* given = find_path(given_, full);
      if (!given) given = find_path(result_.params, full);
      Tensor value;
      nx::DType dtype = p.dtype;
      if (node.policy && node.policy->params && nx::is_float(dtype)) dtype = *node.policy->params;
      if (opts_.initialize) {
        nx::Shape shape = p.shape(shapes);
        if (given) {
          value = given->leaf();
          if (value.shape() != shape) {
            throw nx::Error("axon: " + describe_node(node, path.back()) + ": parameter " + p.name +
                            " was given with shape " + nx::shape_repr(value.shape()) +
                            ", the layer needs " + nx::shape_repr(shape));
          }
          if (value.dtype() != dtype) value = nx::as_type(value, dtype);
        } else {
          Tensor key = nx::random::fold_in(opts_.root_key, fnv1a(join(full)));
          value = p.initializer(shape, p.dtype, key);
          if (value.dtype() != dtype) value = nx::as_type(value, dtype);
        }
        result_.params = set_path(result_.params, full, 0, Tree(value));
        if (p.kind == ParamKind::State) result_.state_paths.insert(full);
      } else {
        if (!given) {
          throw nx::Error("axon: " + describe_node(node, path.back()) + ": parameter " +
                          join(full) + " is missing from the model state");
        }
        value = given->leaf();
        if (opts_.frozen && opts_.frozen->count(full)) value = nx::stop_grad(value);
      }
      if (node.policy) {
        stored_dtypes_[p.name] = value.dtype();
        value = cast_floats(Tree(value), node.policy->compute).leaf();
      }
      params = params.set(p.name, Tree(value));
    }
    return params;
  }

  Value eval_layer(const Node& node, const std::string& name, std::vector<Tree> ins,
                   std::vector<bool> present) {
    const bool runs = runs_in(node.mode, opts_.mode);
    if (!runs && !opts_.initialize) return Value{ins.at(0)};
    ParamPath path = path_of(node, name);
    try {
      if (!runs) {
        // Init creates the parameters of a node that does not run in this mode too (a
        // dropout's key), so that one state serves both modes.
        layer_params(node, path, ins);
        return Value{ins.at(0)};
      }
      if (node.policy) {
        for (Tree& t : ins) t = cast_floats(t, node.policy->compute);
      }
      for (const Hook& h : opts_.initialize ? std::vector<Hook>{} : node.hooks) {
        if (h.on != HookEvent::PreForward || !runs_in(h.mode, opts_.mode)) continue;
        auto fn = h.fn;
        for (Tree& t : ins) {
          t = nx::tree_map(t, [&](const Tensor& x) {
            return nx::hook(x, name, [fn](const Tensor& v) { fn(Tree(v)); });
          });
        }
      }
      Tree params = layer_params(node, path, ins);
      LayerCall call{std::move(ins), std::move(present), std::move(params), opts_.mode, name};
      LayerResult r = node.fn(call);
      if (opts_.mode == Mode::Train && (!r.state.is_map() || r.state.size() > 0)) {
        // Under a policy, state computed in the compute dtype is stored back in its own dtype.
        if (node.policy && r.state.is_map()) {
          for (size_t i = 0; i < r.state.size(); ++i) {
            auto it = stored_dtypes_.find(r.state.keys()[i]);
            if (it != stored_dtypes_.end())
              r.state = r.state.set(r.state.keys()[i], cast_floats(r.state[i], it->second));
          }
        }
        result_.state = set_path(result_.state, path, 0, r.state);
      }
      if (opts_.initialize) {
        return Value{node.policy ? cast_floats(r.output, node.policy->output) : r.output};
      }
      Tree out = apply_forward_hooks(node, name, std::move(r.output), opts_.mode);
      if (node.policy) out = cast_floats(out, node.policy->output);
      return Value{std::move(out)};
    } catch (const nx::Error& e) {
      std::string what = e.what();
      if (what.rfind("axon: ", 0) == 0) throw;
      throw nx::Error("axon: " + describe_node(node, name) + ": " + what);
    }
  }

  const Program& program_;
  const std::map<std::string, Tree>& inputs_;
  const Tree& given_;
  const EvalOptions& opts_;
  ParamPath prefix_;
  std::unordered_map<int64_t, Value> values_;
  EvalResult result_;
  std::map<std::string, nx::DType> stored_dtypes_;  // the current layer's parameter dtypes
};

}  // namespace

std::shared_ptr<const Program> make_program(const Model& model) {
  auto program = std::make_shared<Program>();
  program->root = model;
  Flattener f{*program, {}, {}, {}, {}, {}};
  f.visit(model.node(), {});
  program->output = model.id();
  return program;
}

namespace {
void collect_state_paths(const Program& program, const ParamPath& prefix,
                         std::set<ParamPath>& out) {
  for (const Node* node : program.order) {
    ParamPath path = prefix;
    for (const auto& s : program.scopes.at(node->id)) path.push_back(s);
    if (node->kind == NodeKind::Block) {
      const auto& def = *static_cast<const BlockDef*>(node->sub.get());
      path.push_back(program.block_names.at(def.id));
      collect_state_paths(*program.blocks.at(def.id), path, out);
      continue;
    }
    path.push_back(program.names.at(node->id));
    for (const Param& p : node->params) {
      if (p.kind != ParamKind::State) continue;
      ParamPath full = path;
      full.push_back(p.name);
      out.insert(full);
    }
  }
}
}  // namespace

std::set<ParamPath> state_paths(const Program& program) {
  std::set<ParamPath> out;
  collect_state_paths(program, {}, out);
  return out;
}

EvalResult evaluate(const Program& program, const std::map<std::string, Tree>& inputs,
                    const Tree& params, const EvalOptions& opts) {
  return Evaluator(program, inputs, params, opts, {}).run();
}

std::map<std::string, Tree> bind_inputs(const Program& program, const Tree& inputs) {
  std::map<std::string, Tree> bound;
  std::string expected;
  for (const Node* in : program.inputs) expected += (expected.empty() ? "" : ", ") + in->name;
  if (inputs.is_leaf()) {
    if (program.inputs.size() != 1) {
      throw nx::Error("axon::predict: a single tensor was given, but the model has " +
                      std::to_string(program.inputs.size()) + " inputs (" + expected +
                      "): pass a map from input name to tensor");
    }
    bound[program.inputs[0]->name] = inputs;
  } else if (inputs.is_map()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string& k = inputs.keys()[i];
      bool known = false;
      for (const Node* in : program.inputs) known = known || in->name == k;
      if (!known) {
        throw nx::Error("axon::predict: unknown input " + k + " (the model's inputs: " + expected +
                        ")");
      }
      bound[k] = inputs[i];
    }
  } else {
    throw nx::Error("axon::predict: inputs must be a tensor or a map from input name to tensor");
  }
  for (const Node* in : program.inputs) {
    auto it = bound.find(in->name);
    if (it == bound.end()) {
      if (in->input.optional) continue;
      throw nx::Error("axon::predict: missing input " + in->name +
                      " (the model's inputs: " + expected + ")");
    }
    if (!in->input.has_shape || !it->second.is_leaf()) continue;
    const nx::Shape& want = in->input.shape;
    const nx::Shape& got = it->second.leaf().shape();
    bool ok = want.size() == got.size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] == kDynamic || want[d] == got[d];
    if (!ok) {
      std::string w = "[";
      for (size_t d = 0; d < want.size(); ++d) {
        w += (d ? ", " : "") + (want[d] == kDynamic ? std::string("?") : std::to_string(want[d]));
      }
      throw nx::Error("axon::predict: input " + in->name + " must have shape " + w + "], got " +
                      nx::shape_repr(got));
    }
  }
  return bound;
}

}  // namespace axon::detail
