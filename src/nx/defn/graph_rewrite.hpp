// Tools for passes that rewrite graphs: a builder that copies nodes of an old graph into a new one
// with fresh value numbering (and lets a pass replace a node's outputs by values it already has),
// helpers that reshape the signature of a closed subgraph, and structural queries.
//
// A pass walks the old graph's nodes in order and, for each, either copies it (copy), emits
// other nodes in its place (emit, emit_prim, emit_constant, inline_graph), or maps its outputs to
// existing new values (set). finish() maps the old outputs and returns the new graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

/// Output types of primitive `p` on inputs of the given types: its shape rule run on templates.
/// Checks the input count and parameter kind first; throws nx::Error as the rule does.
std::vector<TensorType> prim_output_types(Prim p, std::span<const TensorType> in,
                                          const Params& params);

/// Whether running `n` can do anything besides defining its outputs: a Hook, or a control-flow
/// or fused node whose subgraphs hold one. Such nodes are never removed or merged.
bool has_effects(const Node& n);
/// Whether any node of `g` (or of its subgraphs) has effects.
bool has_effects(const Graph& g);

/// Whether two constants hold the same data: same type, weak mark and bytes. Tensors of more
/// than `max_bytes` bytes compare equal only when they share a buffer.
bool constants_equal(const Tensor& a, const Tensor& b, size_t max_bytes = size_t(1) << 16);

/// Structural equality: same values, nodes, params, constants (by data), subgraphs (recursively),
/// inputs and outputs. Hook and CustomGrad callbacks compare by identity.
bool graphs_equal(const Graph& a, const Graph& b);

/// For each input of `g`, whether any node or output reads it.
std::vector<bool> used_inputs(const Graph& g);

/// `g` with its signature narrowed: input i stays an input when keep[i]; otherwise it becomes a
/// Constant node holding fixed[i] when that is defined, or is dropped (it must then be unused).
/// Outputs are those with keep_out[i] (all when keep_out is empty).
Graph restrict_graph(const Graph& g, const std::vector<bool>& keep,
                     std::span<const Tensor> fixed = {}, const std::vector<bool>& keep_out = {});

/// `g` with duplicate inputs merged: input i reads what input same_as[i] (<= i) reads, and
/// only the inputs with same_as[i] == i remain (in order).
Graph merge_inputs(const Graph& g, const std::vector<int32_t>& same_as);

/// Copies nodes of an old graph into a new one with fresh value ids (see the file comment).
class GraphBuilder {
 public:
  explicit GraphBuilder(const Graph& old);

  /// The new value standing for old value `v` (throws nx::Error when it has none yet).
  int32_t get(int32_t v) const;
  /// get() of each.
  std::vector<int32_t> get(std::span<const int32_t> vs) const;
  /// Whether old value `v` has a new value.
  bool has(int32_t v) const { return map_[static_cast<size_t>(v)] >= 0; }
  /// Makes new value `nv` stand for old value `v`; their types must be equal.
  void set(int32_t v, int32_t nv);

  /// Copies old node `n` (inputs mapped, fresh outputs mapped from n's). Param nodes keep their
  /// index. Returns the new output ids.
  std::vector<int32_t> copy(const Node& n);
  /// Like copy, but `n.in` already holds new value ids (the pass chose the inputs); `n.out`
  /// holds the old outputs, which get fresh values.
  std::vector<int32_t> copy_rewired(const Node& n);
  /// Appends node `n`, whose `in` already holds new value ids, with fresh outputs of the given
  /// types. Returns the new output ids (the caller maps old values to them).
  std::vector<int32_t> emit(Node n, std::span<const TensorType> out_types);
  /// Appends a primitive node on new values; its output types come from the shape rule.
  std::vector<int32_t> emit_prim(Prim p, std::vector<int32_t> in, const Params& params);
  int32_t emit_prim1(Prim p, std::vector<int32_t> in, const Params& params) {
    return emit_prim(p, std::move(in), params)[0];
  }
  /// Appends a Constant node holding `t`.
  int32_t emit_constant(const Tensor& t);
  /// new value `v` broadcast (numpy rules: trailing axes aligned) to `shape`; `v` itself when
  /// it already has that shape.
  int32_t broadcast_to(int32_t v, const Shape& shape);
  /// Copies the nodes of closed graph `sub` with its inputs bound to new values `args`; returns
  /// the new values of its outputs.
  std::vector<int32_t> inline_graph(const Graph& sub, std::span<const int32_t> args);

  /// The graph built so far.
  const Graph& graph() const { return g_; }
  /// Type of new value `nv`.
  const TensorType& type(int32_t nv) const { return g_.type(nv); }
  /// The node defining new value `nv`.
  const Node& producer(int32_t nv) const {
    return g_.nodes[static_cast<size_t>(def_[static_cast<size_t>(nv)])];
  }
  /// The tensor of new value `nv` when a Constant node defines it.
  const Tensor* constant(int32_t nv) const;

  /// The new graph's input count when it differs from the old graph's (restrict_graph); Param
  /// nodes must then cover them all. Otherwise finish() adds the Param nodes of inputs the pass
  /// did not copy (unused ones), so that the signature stays.
  void set_num_inputs(size_t n) {
    num_inputs_ = n;
    signature_changed_ = true;
  }

  /// Maps the old graph's outputs (those with keep_out[i], all when empty) and returns the new
  /// graph; the builder is spent.
  Graph finish(const std::vector<bool>& keep_out = {});

 private:
  std::vector<int32_t> add_outputs(Node& n, std::span<const TensorType> out_types);

  const Graph& old_;
  Graph g_;
  std::vector<int32_t> map_;  // old value -> new value, -1 when unmapped
  std::vector<int32_t> def_;  // new value -> index of its node in g_
  size_t num_inputs_;
  bool signature_changed_ = false;
};

/// Results of at most this many elements are worth computing at compile time: folding them into
/// constants costs little memory. Larger constant-valued results stay as (fusible) broadcasts.
inline constexpr int64_t kFoldElements = 4096;

/// Element `i` of concrete tensor `t` as a new strongly typed scalar tensor.
Tensor element_scalar(const Tensor& t, int64_t i);
/// Whether every element of concrete tensor `t` has the bytes of the first (false when empty).
bool is_splat(const Tensor& t);

/// When new value `nv` is known to hold one value in every element (a splat constant, or a
/// movement op such as broadcast_in_dim or reshape of one), that value as a scalar tensor.
std::optional<Tensor> splat_scalar(const GraphBuilder& b, int32_t nv);

/// A copy of node `n` whose While, Cond and Scan subgraphs went through `pass` (Fused programs
/// are left as the fuser made them).
Node with_subgraphs(const Node& n, Graph (*pass)(const Graph&));

}  // namespace nx::detail
