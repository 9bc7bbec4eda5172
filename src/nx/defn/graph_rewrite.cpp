#include "graph_rewrite.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "../core/dispatch.hpp"
#include "../core/tensor_impl.hpp"
#include "nx/ops/creation.hpp"

namespace nx::detail {

std::vector<TensorType> prim_output_types(Prim p, std::span<const TensorType> in,
                                          const Params& params) {
  const PrimInfo& pi = info(p);
  if (pi.inputs >= 0 && static_cast<size_t>(pi.inputs) != in.size()) {
    throw Error(op_label(static_cast<int>(p)) + ": expected " + std::to_string(pi.inputs) +
                " inputs, got " + std::to_string(in.size()));
  }
  if (params.index() != pi.params_index) {
    throw Error(op_label(static_cast<int>(p)) + ": expected params of kind " +
                std::to_string(pi.params_index) + ", got kind " + std::to_string(params.index()));
  }
  // Shape rules only read types, so templates stand in for the data.
  std::vector<Tensor> templates;
  templates.reserve(in.size());
  for (const TensorType& t : in) templates.push_back(make_template(t.shape, t.dtype));
  return pi.rule(static_cast<int>(p), templates, params);
}

bool has_effects(const Node& n) {
  if (n.kind == NodeKind::Hook) return true;
  for (const auto& sg : n.subgraphs) {
    if (sg && has_effects(*sg)) return true;
  }
  return false;
}

bool has_effects(const Graph& g) {
  for (const Node& n : g.nodes) {
    if (has_effects(n)) return true;
  }
  return false;
}

bool constants_equal(const Tensor& a, const Tensor& b, size_t max_bytes) {
  if (a.impl() == b.impl()) return true;
  if (!a.defined() || !b.defined()) return false;
  if (a.type() != b.type() || a.is_weak() != b.is_weak()) return false;
  if (a.is_weak() && std::memcmp(&a.impl()->weak_value, &b.impl()->weak_value, sizeof(double))) {
    return false;
  }
  if (a.is_template() || b.is_template() || a.is_traced() || b.is_traced()) return false;
  if (a.raw_data() == b.raw_data()) return true;
  size_t bytes = static_cast<size_t>(a.byte_size());
  if (bytes > max_bytes) return false;
  return std::memcmp(a.raw_data(), b.raw_data(), bytes) == 0;
}

namespace {

bool nodes_equal(const Node& a, const Node& b) {
  if (a.kind != b.kind || a.prim != b.prim || !(a.params == b.params) || a.in != b.in ||
      a.out != b.out || a.index != b.index || !(a.scan == b.scan) || a.name != b.name ||
      a.vjp != b.vjp || a.hook != b.hook || a.trace != b.trace ||
      a.subgraphs.size() != b.subgraphs.size()) {
    return false;
  }
  if (a.constant.defined() != b.constant.defined()) return false;
  if (a.constant.defined() && !constants_equal(a.constant, b.constant, SIZE_MAX)) return false;
  for (size_t i = 0; i < a.subgraphs.size(); ++i) {
    const auto& x = a.subgraphs[i];
    const auto& y = b.subgraphs[i];
    if (x == y) continue;
    if (!x || !y || !graphs_equal(*x, *y)) return false;
  }
  return true;
}

}  // namespace

bool graphs_equal(const Graph& a, const Graph& b) {
  if (a.types != b.types || a.inputs != b.inputs || a.outputs != b.outputs ||
      a.nodes.size() != b.nodes.size()) {
    return false;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    if (!nodes_equal(a.nodes[i], b.nodes[i])) return false;
  }
  return true;
}

std::vector<bool> used_inputs(const Graph& g) {
  std::vector<bool> used(g.num_values(), false);
  for (const Node& n : g.nodes) {
    for (int32_t v : n.in) used[static_cast<size_t>(v)] = true;
  }
  for (int32_t v : g.outputs) used[static_cast<size_t>(v)] = true;
  std::vector<bool> out(g.inputs.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) out[i] = used[static_cast<size_t>(g.inputs[i])];
  return out;
}

Graph restrict_graph(const Graph& g, const std::vector<bool>& keep, std::span<const Tensor> fixed,
                     const std::vector<bool>& keep_out) {
  std::vector<bool> used = used_inputs(g);
  GraphBuilder b(g);
  // Kept inputs keep their order (Param nodes need not appear in input order).
  std::vector<int32_t> new_index(keep.size(), -1);
  int32_t next = 0;
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i]) new_index[i] = next++;
  }
  b.set_num_inputs(static_cast<size_t>(next));
  for (const Node& n : g.nodes) {
    if (n.kind != NodeKind::Param) {
      b.copy(n);
      continue;
    }
    size_t i = static_cast<size_t>(n.index);
    if (keep[i]) {
      Node p;
      p.kind = NodeKind::Param;
      p.index = new_index[i];
      b.set(n.out[0], b.emit(std::move(p), {&g.type(n.out[0]), 1})[0]);
    } else if (i < fixed.size() && fixed[i].defined()) {
      b.set(n.out[0], b.emit_constant(fixed[i]));
    } else if (used[i]) {
      throw Error("nx::detail::restrict_graph: internal error: dropping input " +
                  std::to_string(i) + ", which the graph reads");
    }
  }
  return b.finish(keep_out);
}

Graph merge_inputs(const Graph& g, const std::vector<int32_t>& same_as) {
  GraphBuilder b(g);
  std::vector<int32_t> new_index(same_as.size(), -1);
  int32_t next = 0;
  for (size_t i = 0; i < same_as.size(); ++i) {
    if (same_as[i] == static_cast<int32_t>(i)) new_index[i] = next++;
  }
  b.set_num_inputs(static_cast<size_t>(next));
  // Param nodes first, in input order, so that every alias finds its target defined.
  for (size_t i = 0; i < same_as.size(); ++i) {
    if (new_index[i] < 0) continue;
    Node p;
    p.kind = NodeKind::Param;
    p.index = new_index[i];
    b.set(g.inputs[i], b.emit(std::move(p), {&g.type(g.inputs[i]), 1})[0]);
  }
  for (size_t i = 0; i < same_as.size(); ++i) {
    if (new_index[i] < 0) b.set(g.inputs[i], b.get(g.inputs[static_cast<size_t>(same_as[i])]));
  }
  for (const Node& n : g.nodes) {
    if (n.kind != NodeKind::Param) b.copy(n);
  }
  return b.finish();
}

GraphBuilder::GraphBuilder(const Graph& old)
    : old_(old), map_(old.num_values(), -1), num_inputs_(old.inputs.size()) {}

int32_t GraphBuilder::get(int32_t v) const {
  int32_t nv = map_[static_cast<size_t>(v)];
  if (nv < 0) {
    throw Error("nx::detail::GraphBuilder: internal error: value %" + std::to_string(v) +
                " has no replacement (a pass dropped a value that is still read)");
  }
  return nv;
}

std::vector<int32_t> GraphBuilder::get(std::span<const int32_t> vs) const {
  std::vector<int32_t> out;
  out.reserve(vs.size());
  for (int32_t v : vs) out.push_back(get(v));
  return out;
}

void GraphBuilder::set(int32_t v, int32_t nv) {
  if (old_.type(v) != g_.type(nv)) {
    throw Error("nx::detail::GraphBuilder: internal error: replacing %" + std::to_string(v) + " (" +
                type_string(old_.type(v)) + ") by a value of type " + type_string(g_.type(nv)));
  }
  map_[static_cast<size_t>(v)] = nv;
}

std::vector<int32_t> GraphBuilder::add_outputs(Node& n, std::span<const TensorType> out_types) {
  n.out.clear();
  for (const TensorType& t : out_types) {
    n.out.push_back(g_.add_value(t));
    def_.push_back(static_cast<int32_t>(g_.nodes.size()));
  }
  if (n.kind == NodeKind::Param) {
    size_t i = static_cast<size_t>(n.index);
    if (g_.inputs.size() <= i) g_.inputs.resize(i + 1, -1);
    g_.inputs[i] = n.out[0];
  }
  return n.out;
}

std::vector<int32_t> GraphBuilder::copy(const Node& n) {
  Node m = n;
  m.in = get(n.in);
  return copy_rewired(m);
}

std::vector<int32_t> GraphBuilder::copy_rewired(const Node& n) {
  Node m = n;
  std::vector<TensorType> types;
  types.reserve(n.out.size());
  for (int32_t v : n.out) types.push_back(old_.type(v));
  std::vector<int32_t> outs = add_outputs(m, types);
  g_.add_node(std::move(m));
  for (size_t i = 0; i < outs.size(); ++i) map_[static_cast<size_t>(n.out[i])] = outs[i];
  return outs;
}

std::vector<int32_t> GraphBuilder::emit(Node n, std::span<const TensorType> out_types) {
  std::vector<int32_t> outs = add_outputs(n, out_types);
  g_.add_node(std::move(n));
  return outs;
}

std::vector<int32_t> GraphBuilder::emit_prim(Prim p, std::vector<int32_t> in,
                                             const Params& params) {
  std::vector<TensorType> in_types;
  in_types.reserve(in.size());
  for (int32_t v : in) in_types.push_back(g_.type(v));
  std::vector<TensorType> out_types = prim_output_types(p, in_types, params);
  Node n;
  n.kind = NodeKind::Prim;
  n.prim = p;
  n.params = params;
  n.in = std::move(in);
  return emit(std::move(n), out_types);
}

int32_t GraphBuilder::emit_constant(const Tensor& t) {
  Node n;
  n.kind = NodeKind::Constant;
  n.constant = t;
  TensorType type = t.type();
  return emit(std::move(n), {&type, 1})[0];
}

int32_t GraphBuilder::broadcast_to(int32_t v, const Shape& shape) {
  const Shape& s = g_.type(v).shape;
  if (s == shape) return v;
  Axes axes;
  int64_t offset = static_cast<int64_t>(shape.size()) - static_cast<int64_t>(s.size());
  for (size_t i = 0; i < s.size(); ++i) axes.push_back(offset + static_cast<int64_t>(i));
  return emit_prim1(Prim::broadcast_in_dim, {v}, BroadcastParams{shape, axes});
}

std::vector<int32_t> GraphBuilder::inline_graph(const Graph& sub, std::span<const int32_t> args) {
  std::vector<int32_t> local(sub.num_values(), -1);
  auto at = [&](int32_t v) { return local[static_cast<size_t>(v)]; };
  for (const Node& n : sub.nodes) {
    if (n.kind == NodeKind::Param) {
      int32_t a = args[static_cast<size_t>(n.index)];
      if (g_.type(a) != sub.type(n.out[0])) {
        throw Error("nx::detail::GraphBuilder::inline_graph: internal error: argument " +
                    std::to_string(n.index) + " is " + type_string(g_.type(a)) +
                    ", the subgraph expects " + type_string(sub.type(n.out[0])));
      }
      local[static_cast<size_t>(n.out[0])] = a;
      continue;
    }
    Node m = n;
    for (int32_t& v : m.in) v = at(v);
    std::vector<TensorType> types;
    for (int32_t v : n.out) types.push_back(sub.type(v));
    std::vector<int32_t> outs = emit(std::move(m), types);
    for (size_t i = 0; i < outs.size(); ++i) local[static_cast<size_t>(n.out[i])] = outs[i];
  }
  std::vector<int32_t> result;
  for (int32_t v : sub.outputs) result.push_back(at(v));
  return result;
}

const Tensor* GraphBuilder::constant(int32_t nv) const {
  const Node& n = producer(nv);
  return n.kind == NodeKind::Constant ? &n.constant : nullptr;
}

Graph GraphBuilder::finish(const std::vector<bool>& keep_out) {
  g_.outputs.clear();
  for (size_t i = 0; i < old_.outputs.size(); ++i) {
    if (keep_out.empty() || keep_out[i]) g_.outputs.push_back(get(old_.outputs[i]));
  }
  if (g_.inputs.size() > num_inputs_) {
    throw Error("nx::detail::GraphBuilder: internal error: " + std::to_string(g_.inputs.size()) +
                " inputs for a graph of " + std::to_string(num_inputs_));
  }
  g_.inputs.resize(num_inputs_, -1);
  for (size_t i = 0; i < g_.inputs.size(); ++i) {
    if (g_.inputs[i] < 0 && !signature_changed_) {
      // The pass dropped the Param node of an input nothing reads; the signature stays.
      Node p;
      p.kind = NodeKind::Param;
      p.index = static_cast<int32_t>(i);
      emit(std::move(p), {&old_.type(old_.inputs[i]), 1});
    }
    if (g_.inputs[i] < 0) {
      throw Error("nx::detail::GraphBuilder: internal error: input " + std::to_string(i) +
                  " has no Param node");
    }
  }
  return std::move(g_);
}

Tensor element_scalar(const Tensor& t, int64_t i) {
  Tensor s = make_tensor(TensorType{{}, t.dtype()});
  size_t bytes = static_cast<size_t>(byte_size(t.dtype()));
  std::memcpy(mutable_data(s), static_cast<const char*>(t.raw_data()) + bytes * size_t(i), bytes);
  return s;
}

bool is_splat(const Tensor& t) {
  if (t.size() == 0) return false;
  const char* p = static_cast<const char*>(t.raw_data());
  size_t bytes = static_cast<size_t>(byte_size(t.dtype()));
  size_t total = static_cast<size_t>(t.byte_size());
  for (size_t off = bytes; off < total; off += bytes) {
    if (std::memcmp(p, p + off, bytes) != 0) return false;
  }
  return true;
}

std::optional<Tensor> splat_scalar(const GraphBuilder& b, int32_t nv) {
  // Movement ops of a splat are splats of the same value (when not empty).
  for (;;) {
    if (num_elements(b.type(nv).shape) == 0) return std::nullopt;
    const Node& n = b.producer(nv);
    if (n.kind == NodeKind::Constant) {
      if (n.constant.is_template() || n.constant.is_traced() || !is_splat(n.constant)) {
        return std::nullopt;
      }
      return element_scalar(n.constant, 0);
    }
    if (n.kind != NodeKind::Prim) return std::nullopt;
    switch (n.prim) {
      case Prim::broadcast_in_dim:
      case Prim::reshape:
      case Prim::transpose:
      case Prim::reverse:
      case Prim::slice:
      case Prim::dynamic_slice:
        nv = n.in[0];
        break;
      default:
        return std::nullopt;
    }
  }
}

Node with_subgraphs(const Node& n, Graph (*pass)(const Graph&)) {
  Node m = n;
  if (n.kind == NodeKind::While || n.kind == NodeKind::Cond || n.kind == NodeKind::Scan) {
    for (auto& sg : m.subgraphs) sg = std::make_shared<const Graph>(pass(*sg));
  }
  return m;
}

}  // namespace nx::detail
