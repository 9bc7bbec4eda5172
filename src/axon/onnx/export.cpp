// axon::onnx::export_onnx: traces a model's inference-mode predict into nx's graph of
// primitives and writes it as an ONNX ModelProto (see include/axon/onnx_export.hpp).
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/graph.hpp"
#include "axon/onnx/export_emit.hpp"
#include "axon/onnx_export.hpp"
#include "nx/defn/trace.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::onnx {

namespace {

using detail::kBatchA;
using detail::kBatchB;
using nx::Tensor;
using nx::TensorType;

constexpr const char* kWho = "axon::onnx::export_onnx: ";

struct InputInfo {
  std::string name;
  TensorType type;       ///< the shape exported with a fixed batch
  bool dynamic = false;  ///< first dim kDynamic: symbolic batch
};

std::vector<InputInfo> resolve_inputs(const Model& model, const ExportOptions& opts) {
  std::vector<InputInfo> ins;
  std::vector<std::shared_ptr<const Node>> all = nodes(model);
  size_t num_inputs = 0;
  for (const auto& n : all) num_inputs += n->kind == NodeKind::Input;
  for (const auto& n : all) {
    if (n->kind != NodeKind::Input) continue;
    InputInfo in;
    in.name = n->name;
    const nx::Tree* t = nullptr;
    if (opts.input_templates.is_leaf() && num_inputs == 1) {
      t = &opts.input_templates;
    } else if (opts.input_templates.is_map()) {
      t = opts.input_templates.find(n->name);
    }
    const nx::Shape& declared = n->input.shape;
    if (t != nullptr) {
      in.type = TensorType{t->leaf().shape(), t->leaf().dtype()};
    } else {
      if (!n->input.has_shape)
        throw nx::Error(std::string(kWho) + "input '" + n->name +
                        "' has no declared shape; give its template in input_templates");
      in.type = TensorType{declared, n->input.dtype};
      for (size_t i = 0; i < declared.size(); ++i) {
        if (declared[i] != kDynamic) continue;
        if (i != 0)
          throw nx::Error(std::string(kWho) + "input '" + n->name + "' has dynamic dim " +
                          std::to_string(i) + "; give its template in input_templates");
        in.type.shape[0] = 1;
      }
    }
    in.dynamic = opts.dynamic_batch && n->input.has_shape && !declared.empty() &&
                 declared[0] == kDynamic && !in.type.shape.empty();
    ins.push_back(std::move(in));
  }
  if (ins.empty()) throw nx::Error(std::string(kWho) + "the model has no inputs");
  return ins;
}

struct Trace {
  nx::detail::Traced traced;
  std::vector<std::string> param_names;  ///< per graph input: state path or input name
  std::vector<nx::TensorType> param_types;
  std::vector<std::string> output_names;
  size_t num_state = 0;
};

Trace trace_at(const Model& model, const ModelState& state, const std::vector<InputInfo>& ins,
               const PredictFn& predict, int64_t batch) {
  Trace tr;
  std::vector<nx::PathLeaf> leaves = nx::tree_flatten_with_paths(state.data);
  nx::TreeDef def = nx::tree_structure(state.data);
  std::vector<TensorType> types;
  for (const auto& l : leaves) {
    tr.param_names.push_back(l.path);
    types.push_back(l.tensor.type());
  }
  tr.num_state = leaves.size();
  for (const auto& in : ins) {
    TensorType t = in.type;
    if (in.dynamic && batch > 0) t.shape[0] = batch;
    tr.param_names.push_back(in.name);
    types.push_back(t);
  }
  tr.param_types = types;
  const size_t ns = tr.num_state;
  nx::Tree out_tree;
  tr.traced = nx::detail::trace_function(types, [&](std::span<const Tensor> params) {
    ModelState s = state;
    s.data = nx::tree_unflatten(def, params.subspan(0, ns));
    nx::Tree::Map inputs;
    for (size_t i = 0; i < ins.size(); ++i) inputs.emplace_back(ins[i].name, params[ns + i]);
    out_tree = predict(s, nx::Tree(std::move(inputs)));
    return nx::tree_leaves(out_tree);
  });
  if (out_tree.is_leaf()) {
    tr.output_names = {"output"};
  } else {
    for (const auto& l : nx::tree_flatten_with_paths(out_tree))
      tr.output_names.push_back("output." + l.path);
  }
  return tr;
}

void collect_used(const ::onnx::GraphProto& g, std::set<std::string>& used) {
  for (const auto& n : g.node()) {
    for (const auto& i : n.input()) used.insert(i);
    for (const auto& a : n.attribute()) {
      if (a.has_g()) collect_used(a.g(), used);
      for (const auto& sg : a.graphs()) collect_used(sg, used);
    }
  }
}

std::string build_proto(const Trace& ta, const Trace& tb, const std::vector<InputInfo>& ins,
                        const ModelState& state, bool dynamic, const ExportOptions& opts,
                        const std::string& note) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name(opts.producer);
  m.set_producer_version("0.1.0");
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(17);
  ::onnx::GraphProto* g = m.mutable_graph();
  g->set_name(opts.graph_name);
  if (!note.empty()) g->set_doc_string(note);
  const std::string batch = "batch_size";
  detail::Emitter em(g, dynamic, batch);

  // Graph inputs.
  for (size_t i = 0; i < ins.size(); ++i) {
    auto* vi = g->add_input();
    vi->set_name(ins[i].name);
    em.set_type(vi, ta.param_types[ta.num_state + i], tb.param_types[tb.num_state + i]);
  }
  if (dynamic) {
    for (const auto& in : ins) {
      if (!in.dynamic) continue;
      auto* s = g->add_node();
      s->set_op_type("Shape");
      s->set_name("batch_shape");
      s->add_input(in.name);
      s->add_output(batch);
      detail::attr_i(s, "start", 0);
      detail::attr_i(s, "end", 1);
      break;
    }
  }
  std::vector<std::string> outs =
      em.emit_graph(*ta.traced.graph, *tb.traced.graph, g, ta.param_names);
  const nx::detail::Graph& ga = *ta.traced.graph;
  const nx::detail::Graph& gb = *tb.traced.graph;
  for (size_t i = 0; i < outs.size(); ++i) {
    auto* n = g->add_node();
    n->set_op_type("Identity");
    n->set_name(em.fresh("output"));
    n->add_input(outs[i]);
    n->add_output(ta.output_names[i]);
    auto* vi = g->add_output();
    vi->set_name(ta.output_names[i]);
    em.set_type(vi, ga.type(ga.outputs[i]), gb.type(gb.outputs[i]));
  }
  // Parameters the graph reads, as initializers named by their state path.
  std::set<std::string> used;
  collect_used(*g, used);
  for (const auto& l : nx::tree_flatten_with_paths(state.data)) {
    if (used.count(l.path) == 0) continue;
    detail::to_tensor_proto(l.tensor, l.path, g->add_initializer());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes))
    throw nx::Error(std::string(kWho) + "the model could not be serialized");
  return bytes;
}

}  // namespace

ExportResult export_onnx_model(const Model& model, const ModelState& state,
                               const ExportOptions& opts) {
  if (opts.opset != 17)
    throw nx::Error(std::string(kWho) + "only opset 17 is supported, got " +
                    std::to_string(opts.opset));
  std::vector<InputInfo> ins = resolve_inputs(model, opts);
  auto [init_fn, predict] =
      build(model, BuildOptions{.mode = Mode::Inference, .jit = {.optimize = false}});
  (void)init_fn;
  ExportResult r;
  bool any_dynamic = false;
  for (const auto& in : ins) any_dynamic = any_dynamic || in.dynamic;
  if (any_dynamic) {
    try {
      Trace a = trace_at(model, state, ins, predict, kBatchA);
      Trace b = trace_at(model, state, ins, predict, kBatchB);
      r.bytes = build_proto(a, b, ins, state, true, opts, "");
      r.dynamic_batch = true;
      return r;
    } catch (const detail::NotDynamic& e) {
      r.note = std::string("exported with a fixed batch size: ") + e.what();
    }
  }
  Trace t = trace_at(model, state, ins, predict, 0);
  r.bytes = build_proto(t, t, ins, state, false, opts, r.note);
  return r;
}

std::string export_onnx_bytes(const Model& model, const ModelState& state,
                              const ExportOptions& opts) {
  return export_onnx_model(model, state, opts).bytes;
}

void export_onnx(const Model& model, const ModelState& state, const std::filesystem::path& path,
                 const ExportOptions& opts) {
  std::string bytes = export_onnx_bytes(model, state, opts);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw nx::Error(std::string(kWho) + "cannot open '" + path.string() + "' for writing");
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw nx::Error(std::string(kWho) + "cannot write '" + path.string() + "'");
}

}  // namespace axon::onnx
