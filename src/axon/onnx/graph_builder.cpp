// Turning a parsed GraphProto into an axon Model: graph inputs become axon::input nodes,
// initializers become parameters (weights of one node) or constants, every node one layer that
// calls its op's converter, and the graph outputs the model's output (a map when several).
#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <sstream>

#include "axon/onnx/importer.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::onnx_import {

namespace {

using axon::onnx::Imported;
using axon::onnx::ImportOptions;

// Inputs that are settings of the op rather than data (read with concrete()/ints_input(), or
// hyper-parameters such as Clip's bounds and Dropout's ratio): an initializer there stays a
// constant even when it is floating point.
bool setting_input(const std::string& op, int slot) {
  static const std::map<std::string, std::set<int>> table = {
      {"Reshape", {1}},
      {"Expand", {1}},
      {"Tile", {1}},
      {"Slice", {1, 2, 3, 4}},
      {"Pad", {1, 2, 3}},
      {"Resize", {1, 2, 3}},
      {"Upsample", {1}},
      {"ConstantOfShape", {0}},
      {"Range", {0, 1, 2}},
      {"OneHot", {1, 2}},
      {"TopK", {1}},
      {"Squeeze", {1}},
      {"Unsqueeze", {1}},
      {"Split", {1}},
      {"Clip", {1, 2}},
      {"Dropout", {1, 2}},
      {"CumSum", {1}},
      {"Trilu", {1}},
      {"ReduceSum", {1}},
      {"ReduceMean", {1}},
      {"ReduceMax", {1}},
      {"ReduceMin", {1}},
      {"ReduceProd", {1}},
      {"ReduceL1", {1}},
      {"ReduceL2", {1}},
      {"ReduceLogSum", {1}},
      {"ReduceLogSumExp", {1}},
      {"ReduceSumSquare", {1}},
      {"MaxUnpool", {2}},
      {"NonMaxSuppression", {2, 3, 4}},
      {"CenterCropPad", {1}},
      {"Col2Im", {1, 2, 3}},
      {"DFT", {1}},
      {"STFT", {1, 2, 3}},
      {"MelWeightMatrix", {3, 4}},
      {"RoiAlign", {1, 2}},
      {"MaxRoiPool", {1}},
      {"QuantizeLinear", {1, 2}},
      {"DequantizeLinear", {1, 2}},
      {"QLinearMatMul", {1, 2, 4, 5, 6, 7}},
      {"QLinearConv", {1, 2, 4, 5, 6, 7}},
      {"Loop", {0, 1}},
      {"If", {0}},
      {"Compress", {1}},
      {"Shape", {0}},
      {"Size", {0}},
  };
  auto it = table.find(op);
  return it != table.end() && it->second.count(slot);
}

// Where a node's input slot comes from when its layer runs.
struct Slot {
  enum Kind { Missing, Parent, Param } kind = Missing;
  size_t parent = 0;  // Parent: index into the layer's inputs
  std::string param;  // Param: the parameter's name
};

// Everything one node's layer function needs.
struct NodePlan {
  const ::onnx::NodeProto* node = nullptr;
  std::string name;
  std::vector<Slot> slots;
  std::vector<std::pair<std::string, size_t>> outer;  // free variables of its graphs -> parent
};

std::string describe_attr(const ::onnx::AttributeProto& a) {
  auto list = [](const auto& xs) {
    std::string s = "[";
    int n = 0;
    for (const auto& x : xs) {
      if (n == 8) {
        s += ", ...";
        break;
      }
      std::ostringstream os;
      os << x;
      s += (n++ ? ", " : "") + os.str();
    }
    return s + "]";
  };
  switch (a.type()) {
    case ::onnx::AttributeProto::INT:
      return std::to_string(a.i());
    case ::onnx::AttributeProto::FLOAT: {
      std::ostringstream os;
      os << a.f();
      return os.str();
    }
    case ::onnx::AttributeProto::STRING:
      return a.s().size() > 32 ? a.s().substr(0, 32) + "..." : a.s();
    case ::onnx::AttributeProto::INTS:
      return list(a.ints());
    case ::onnx::AttributeProto::FLOATS:
      return list(a.floats());
    case ::onnx::AttributeProto::TENSOR:
      return "tensor";
    case ::onnx::AttributeProto::GRAPH:
      return "graph";
    default:
      return "...";
  }
}

// Kahn's algorithm over the graph's producer/consumer edges (ONNX asks for nodes in
// topological order; some exporters do not quite deliver it).
std::vector<int> topological_order(const ::onnx::GraphProto& g, const std::string& what,
                                   const std::vector<std::string>& names) {
  const int n = g.node_size();
  std::map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& o : g.node(i).output()) {
      if (o.empty()) continue;
      if (!producer.emplace(o, i).second) {
        throw nx::Error(what + ": value " + o + " is produced by two nodes (" + names[producer[o]] +
                        " and " + names[i] + ")");
      }
    }
  }
  std::vector<std::set<int>> deps(n);
  std::vector<std::vector<int>> users(n);
  for (int i = 0; i < n; ++i) {
    std::set<std::string> reads(g.node(i).input().begin(), g.node(i).input().end());
    for (const auto& a : g.node(i).attribute()) {
      if (a.has_g()) {
        auto fv = free_variables(a.g());
        reads.insert(fv.begin(), fv.end());
      }
      for (const auto& sub : a.graphs()) {
        auto fv = free_variables(sub);
        reads.insert(fv.begin(), fv.end());
      }
    }
    for (const auto& r : reads) {
      auto it = producer.find(r);
      if (it != producer.end() && deps[i].insert(it->second).second) users[it->second].push_back(i);
    }
  }
  std::vector<int> order;
  std::deque<int> ready;
  std::vector<size_t> missing(n);
  for (int i = 0; i < n; ++i) {
    missing[i] = deps[i].size();
    if (missing[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    int i = ready.front();
    ready.pop_front();
    order.push_back(i);
    for (int u : users[i]) {
      if (--missing[u] == 0) ready.push_back(u);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i) {
      if (missing[i] > 0) {
        throw nx::Error(what + ": the graph has a cycle through node " + names[i]);
      }
    }
  }
  return order;
}

nx::Shape declared_shape(const ::onnx::TypeProto_Tensor& t) {
  nx::Shape s;
  for (const auto& d : t.shape().dim()) {
    s.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : kDynamic);
  }
  return s;
}

// The axon::input nodes `m` depends on, by name.
void reachable_inputs(const Model& m, std::set<std::string>& names, std::set<int64_t>& seen) {
  if (!seen.insert(m.id()).second) return;
  if (m.node().kind == NodeKind::Input) names.insert(m.node().name);
  for (const auto& p : m.node().parents) reachable_inputs(p, names, seen);
}

// A graph input that no node on the way to the outputs reads (CastLike's `like` in its
// expanded body, which only reads its type) is still part of the file's interface: callers
// feed every declared input, as ONNX Runtime requires. An axon model's inputs are the input
// nodes it depends on, so a pass-through layer makes the output depend on the unread ones.
Model keep_unread_inputs(const Model& out, const std::vector<std::string>& inputs,
                         const std::map<std::string, Model>& values) {
  std::set<std::string> read;
  std::set<int64_t> seen;
  reachable_inputs(out, read, seen);
  std::vector<Model> parents{out};
  for (const auto& name : inputs) {
    if (!read.count(name)) parents.push_back(values.at(name));
  }
  if (parents.size() == 1) return out;
  LayerFn pass = [](const LayerCall& c) { return LayerResult{c.inputs.at(0)}; };
  return axon::layer(pass, std::move(parents), {.name = "unread_inputs", .op_name = "passthrough"});
}

}  // namespace

Imported build_graph(std::shared_ptr<const ImportContext> ctx, const ImportOptions& opts) {
  const ::onnx::GraphProto& g = ctx->proto->graph();
  const std::string& what = ctx->what;
  Imported out;

  if (g.sparse_initializer_size() > 0) {
    throw nx::Error(what + ": sparse initializers are not supported");
  }
  std::map<std::string, const ::onnx::TensorProto*> inits;
  for (const auto& t : g.initializer()) {
    if (t.name().empty()) throw nx::Error(what + ": an initializer has no name");
    inits[t.name()] = &t;
  }

  // Node names: the file's, or "<op_type>_<n>"; sanitized and made unique.
  std::vector<std::string> names(g.node_size());
  {
    std::map<std::string, int> per_op;
    std::set<std::string> used;
    for (int i = 0; i < g.node_size(); ++i) {
      const auto& node = g.node(i);
      std::string base = node.name().empty()
                             ? node.op_type() + "_" + std::to_string(per_op[node.op_type()]++)
                             : node.name();
      base = sanitize_name(base);
      std::string name = base;
      for (int k = 1; used.count(name); ++k) name = base + "_" + std::to_string(k);
      used.insert(name);
      names[i] = name;
      check_node_supported(node, node.name().empty() ? name : node.name(), what, ctx->opset);
    }
  }
  std::vector<int> order = topological_order(g, what, names);

  // Who reads each initializer: weights are read by one node only, in data inputs.
  std::map<std::string, std::set<int>> readers;
  std::set<std::string> pinned;  // read as a setting, by a subgraph or as a graph output
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& node = g.node(i);
    for (int s = 0; s < node.input_size(); ++s) {
      const std::string& in = node.input(s);
      if (!inits.count(in)) continue;
      readers[in].insert(i);
      if (setting_input(node.op_type(), s)) pinned.insert(in);
    }
    for (const auto& a : node.attribute()) {
      std::set<std::string> fv;
      if (a.has_g()) fv = free_variables(a.g());
      for (const auto& sub : a.graphs()) {
        auto more = free_variables(sub);
        fv.insert(more.begin(), more.end());
      }
      pinned.insert(fv.begin(), fv.end());
    }
  }
  for (const auto& o : g.output()) pinned.insert(o.name());

  std::map<std::string, Model> values;

  // Graph inputs (an input that also has an initializer is that initializer: IR < 4 files
  // list every initializer among the inputs).
  std::set<std::string> shaped;
  for (const auto& in : g.input()) {
    if (inits.count(in.name())) continue;
    if (in.name().empty()) throw nx::Error(what + ": a graph input has no name");
    if (!in.type().has_tensor_type()) {
      throw nx::Error(what + ": input " + in.name() +
                      " is not a tensor (sequences, maps and optionals are not supported)");
    }
    const auto& tt = in.type().tensor_type();
    nx::DType dt = dtype_from_onnx(tt.elem_type(), what + ": input " + in.name());
    auto over = opts.input_shapes.find(in.name());
    if (over != opts.input_shapes.end()) {
      values[in.name()] = axon::input(in.name(), over->second, {.dtype = dt});
      shaped.insert(in.name());
    } else if (tt.has_shape()) {
      values[in.name()] = axon::input(in.name(), declared_shape(tt), {.dtype = dt});
    } else {
      values[in.name()] = axon::input(in.name(), {.dtype = dt});
    }
    out.inputs.push_back(in.name());
  }
  for (const auto& [name, shape] : opts.input_shapes) {
    if (!shaped.count(name)) {
      std::string known;
      for (const auto& n : out.inputs) known += (known.empty() ? "" : ", ") + n;
      throw nx::Error(what + ": ImportOptions::input_shapes names " + name +
                      ", which is not an input of the model (its inputs: " + known + ")");
    }
  }

  // Initializers that are weights: node index -> (initializer name).
  std::map<int, std::vector<std::string>> weights;
  for (const auto& [name, t] : inits) {
    auto r = readers.find(name);
    bool weight = opts.trainable_initializers && r != readers.end() && r->second.size() == 1 &&
                  !pinned.count(name) && t->dims_size() >= 1 &&
                  (t->data_type() == ::onnx::TensorProto::FLOAT ||
                   t->data_type() == ::onnx::TensorProto::DOUBLE ||
                   t->data_type() == ::onnx::TensorProto::FLOAT16 ||
                   t->data_type() == ::onnx::TensorProto::BFLOAT16);
    if (weight) weights[*r->second.begin()].push_back(name);
  }
  auto value_of = [&](const std::string& name, const std::string& user) -> Model {
    auto it = values.find(name);
    if (it != values.end()) return it->second;
    auto init = inits.find(name);
    if (init == inits.end()) {
      throw nx::Error(what + ": " + user + " reads " + name +
                      ", which no node, graph input or initializer defines");
    }
    nx::Tensor v = tensor_from_proto(*init->second, *ctx, what + ": initializer " + name);
    Model c = axon::constant(v, {.name = sanitize_name(name)});
    values[name] = c;
    return c;
  };

  Tree::Map state_data;
  std::set<ParamPath> state_paths;
  for (int i : order) {
    const auto& node = g.node(i);
    auto plan = std::make_shared<NodePlan>();
    plan->node = &node;
    plan->name = names[i];
    const std::string user = "node " + names[i] + " (" + node.op_type() + ")";
    std::vector<Model> parents;
    std::map<std::string, size_t> parent_of;
    auto add_parent = [&](const std::string& v) {
      auto it = parent_of.find(v);
      if (it != parent_of.end()) return it->second;
      parents.push_back(value_of(v, user));
      parent_of[v] = parents.size() - 1;
      return parents.size() - 1;
    };
    std::vector<Param> params;
    Tree::Map node_state;
    const auto& mine = weights[i];
    for (int s = 0; s < node.input_size(); ++s) {
      const std::string& in = node.input(s);
      Slot slot;
      if (in.empty()) {
        slot.kind = Slot::Missing;
      } else if (std::find(mine.begin(), mine.end(), in) != mine.end()) {
        slot.kind = Slot::Param;
        slot.param = sanitize_name(in);
        bool declared = false;
        for (const auto& p : params) declared = declared || p.name == slot.param;
        if (!declared) {
          nx::Tensor w = tensor_from_proto(*inits.at(in), *ctx, what + ": initializer " + in);
          bool is_state = node.op_type() == "BatchNormalization" && (s == 3 || s == 4);
          auto init_fn = [w](const nx::Shape&, nx::DType, const nx::Tensor&) { return w; };
          params.push_back(
              axon::param(slot.param, w.shape(),
                          {.initializer = init_fn,
                           .dtype = w.dtype(),
                           .kind = is_state ? ParamKind::State : ParamKind::Parameter}));
          node_state.emplace_back(slot.param, Tree(w));
          if (is_state) state_paths.insert({names[i], slot.param});
        }
      } else {
        slot.kind = Slot::Parent;
        slot.parent = add_parent(in);
      }
      plan->slots.push_back(slot);
    }
    for (const auto& a : node.attribute()) {
      std::set<std::string> fv;
      if (a.has_g()) fv = free_variables(a.g());
      for (const auto& sub : a.graphs()) {
        auto more = free_variables(sub);
        fv.insert(more.begin(), more.end());
      }
      for (const auto& v : fv) plan->outer.emplace_back(v, add_parent(v));
    }
    std::vector<std::pair<std::string, std::string>> shown;
    for (const auto& a : node.attribute()) shown.emplace_back(a.name(), describe_attr(a));

    LayerFn fn = [plan, ctx](const LayerCall& c) -> LayerResult {
      std::vector<nx::Tensor> ins;
      ins.reserve(plan->slots.size());
      for (const Slot& s : plan->slots) {
        if (s.kind == Slot::Missing)
          ins.emplace_back();
        else if (s.kind == Slot::Param)
          ins.push_back(c.param(s.param));
        else
          ins.push_back(c.input(s.parent));
      }
      auto env = std::make_shared<Env>();
      for (const auto& [v, k] : plan->outer) (*env)[v] = c.input(k);
      std::vector<nx::Tensor> outs = run_node(*plan->node, plan->name, ins, env, ctx);
      if (plan->node->output_size() == 1) return LayerResult{Tree(outs.at(0))};
      Tree::List list;
      for (size_t o = 0; o < outs.size(); ++o) {
        // run_node checked that every output the graph names is computed; an output left
        // unnamed (an omitted optional one) may be skipped, and a scalar keeps its position so
        // that elem(layer, o) of the named ones keeps its index. No node can refer to it.
        list.push_back(outs[o].defined() ? Tree(outs[o]) : Tree(nx::Tensor(0.0f)));
      }
      return LayerResult{Tree::list(std::move(list))};
    };
    if (!node_state.empty()) state_data.emplace_back(names[i], Tree::map(std::move(node_state)));
    Model layer = axon::layer(fn, std::move(parents),
                              {.name = names[i],
                               .op_name = node.op_type(),
                               .params = std::move(params),
                               .options = std::move(shown)});
    if (node.output_size() == 1) {
      if (!node.output(0).empty()) values[node.output(0)] = layer;
    } else {
      for (int o = 0; o < node.output_size(); ++o) {
        if (node.output(o).empty()) continue;
        values[node.output(o)] =
            axon::elem(layer, static_cast<size_t>(o), {.name = sanitize_name(node.output(o))});
      }
    }
  }

  if (g.output_size() == 0) throw nx::Error(what + ": the graph has no outputs");
  std::vector<std::pair<std::string, Model>> outs;
  for (const auto& o : g.output()) {
    outs.emplace_back(o.name(), value_of(o.name(), "graph output " + o.name()));
    out.outputs.push_back(o.name());
  }
  out.model = outs.size() == 1 ? outs[0].second : axon::container(outs, {.name = "outputs"});
  out.model = keep_unread_inputs(out.model, out.inputs, values);
  out.state = ModelState::from_tree(Tree::map(std::move(state_data)));
  out.state.state = state_paths;
  return out;
}

}  // namespace axon::onnx_import
