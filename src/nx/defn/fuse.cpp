// fuse(): clusters of elementwise nodes, and contractions with their epilogues, become Fused
// nodes (see fused_kernel.hpp for the kinds and their kernels).
//
// The pass works on *units*: a cluster of nodes, or a single node left as it is.
//
// 0. Before clustering, a sum is taken through the factors that are constant along its axes
//    (sum(-a) = -sum(a), sum(a + a) = 2 sum(a), sum(a * c) = sum(a) * c for c constant over the
//    reduced axes), so that sums of one value with different per-channel weights (a backward
//    pass's) become one sum of that value, computed where the value is. Then a large reduction
//    whose reduced axes form more than one block (NCHW statistics over N, H and W) is split in two:
//    over its trailing reduced axes, which a cluster can end in, then over the remaining axes of
//    that much smaller result. Last, a cheap elementwise value (one operation on values that are
//    read, not computed, such as x - mean) that several nodes read is recomputed for each reader:
//    reading its operands again costs what reading it would, and it is then never written to
//    memory.
// 1. Epilogues. A dot_general/conv_general large enough to go to oneDNN, whose result feeds a
//    chain of elementwise nodes (each value used once, by the next), becomes one unit with the
//    longest prefix of that chain oneDNN takes as bias and post-ops (prepare_epilogue decides).
//    A convolution's chain may start with a transpose of its result, and the transposes its
//    operands are read through are copied into the program: the primitive then reads and
//    writes channels-last buffers in place (the layout to_channels_last gives them).
// 2. Elementwise clusters, greedily in topological order. An elementwise node with more than one
//    element (of a dtype the tile programs run) starts a cluster of its own, then merges with
//    the clusters of its operands that have the same element count, where that keeps the unit
//    graph acyclic: two units merge only if no path joins them through a third unit. A reduction
//    joins the cluster of its operand when the tile programs can run it (over leading or
//    trailing axes; all reductions of a cluster alike), and nothing in a cluster may read a
//    reduction of that cluster.
// 3. broadcast_in_dim and reshape are never cluster members: a cluster reads through them (their
//    chain is copied into each program that reads it, so a broadcast is never materialized for
//    it), and dependencies are traced through them to the value they view.
//    A reduction of a value the cluster does not compute (an input it reads) joins a cluster
//    that already reads all of that value, after the clusters are formed: the pass over the
//    data is then shared (batch norm's backward sums the cotangent while reading it). Likewise
//    two clusters over one domain that read the same input in full merge when they can.
// 4. Clusters with fewer than two operations (a broadcast read counts as one) stay plain nodes.
//    The units are then emitted in a topological order; units whose results nobody reads are
//    dropped, and a cluster outputs exactly the member values read outside it.
#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <variant>

#include "../backends/cpu/fused_dnnl.hpp"
#include "../backends/cpu/fused_ops.hpp"
#include "../backends/cpu/fused_program.hpp"
#include "fuse_program.hpp"
#include "fuse_rewrite.hpp"
#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

// Below these sizes the plain contraction does not go to oneDNN (contract_matmul.cpp,
// contract_conv.cpp measured the crossovers), so there is no primitive to fuse into.
constexpr double kDnnlMatmulMacs = 36.0 * 36.0 * 36.0;
constexpr double kDnnlConvMacs = 49152;

// Values smaller than this are not worth merging clusters for.
constexpr int64_t kSiblingMergeElements = int64_t(1) << 14;

bool is_view(const Node& n) {
  return n.kind == NodeKind::Prim && (n.prim == Prim::broadcast_in_dim || n.prim == Prim::reshape);
}

class Fuser {
 public:
  explicit Fuser(const Graph& g) : g_(g), n_(g.nodes.size()) {
    producer_.assign(g.num_values(), -1);
    for (size_t i = 0; i < n_; ++i)
      for (int32_t v : g.nodes[i].out) producer_[static_cast<size_t>(v)] = static_cast<int32_t>(i);
    users_.resize(g.num_values());
    for (size_t i = 0; i < n_; ++i)
      for (int32_t v : g.nodes[i].in)
        users_[static_cast<size_t>(v)].push_back(static_cast<int32_t>(i));
    is_output_.assign(g.num_values(), false);
    for (int32_t v : g.outputs) is_output_[static_cast<size_t>(v)] = true;
    root_producers_.resize(n_);
    for (size_t i = 0; i < n_; ++i) {
      for (int32_t v : g.nodes[i].in) {
        const int32_t p = producer(root(v));
        if (p >= 0) root_producers_[i].push_back(p);
      }
    }
    seen_.assign(n_, 0);
    unit_.resize(n_);
    for (size_t i = 0; i < n_; ++i) unit_[i] = static_cast<int32_t>(i);
    units_.resize(n_);
    for (size_t i = 0; i < n_; ++i) units_[i].members = {static_cast<int32_t>(i)};
  }

  Graph run() {
    for (size_t i = 0; i < n_; ++i) epilogue(static_cast<int32_t>(i));
    for (size_t i = 0; i < n_; ++i) cluster(static_cast<int32_t>(i));
    for (size_t i = 0; i < n_; ++i) absorb_input_reduction(static_cast<int32_t>(i));
    merge_siblings();
    dissolve_small();
    return emit();
  }

 private:
  struct Unit {
    std::vector<int32_t> members;  ///< node indices, increasing; empty once merged away
    enum class Kind : uint8_t { Plain, Elementwise, Matmul, Conv } kind = Kind::Plain;
    int64_t domain = 0;  ///< Elementwise: element count
    bool has_reduction = false;
    cpu::fused::ReduceLayout layout{};
    int64_t red_rows = 0, red_len = 0;
  };

  const Node& node(int32_t i) const { return g_.nodes[static_cast<size_t>(i)]; }
  int32_t producer(int32_t v) const { return producer_[static_cast<size_t>(v)]; }
  /// The value `v` views through broadcast_in_dim/reshape nodes.
  int32_t root(int32_t v) const {
    for (;;) {
      const int32_t p = producer(v);
      if (p < 0 || !is_view(node(p))) return v;
      v = node(p).in[0];
    }
  }
  int32_t unit_of_value(int32_t v) const {
    const int32_t p = producer(root(v));
    return p < 0 ? -1 : unit_[static_cast<size_t>(p)];
  }
  Unit& unit(int32_t u) { return units_[static_cast<size_t>(u)]; }
  bool fused(int32_t u) const { return units_[static_cast<size_t>(u)].kind != Unit::Kind::Plain; }

  /// Units whose results unit u reads (through views), u excluded; may repeat.
  void preds(int32_t u, std::vector<int32_t>& out) const {
    for (int32_t m : units_[static_cast<size_t>(u)].members) {
      for (int32_t p : root_producers_[static_cast<size_t>(m)]) {
        const int32_t pu = unit_[static_cast<size_t>(p)];
        if (pu != u) out.push_back(pu);
      }
    }
  }

  /// Whether `target` is reachable from the predecessors of `from` other than `target` itself:
  /// a path from `target` to `from` through some third unit.
  bool indirect_path(int32_t from, int32_t target) const {
    ++stamp_;
    std::vector<int32_t> stack, next;
    preds(from, next);
    for (int32_t p : next)
      if (p != target) stack.push_back(p);
    while (!stack.empty()) {
      const int32_t u = stack.back();
      stack.pop_back();
      if (u == target) return true;
      if (seen_[static_cast<size_t>(u)] == stamp_) continue;
      seen_[static_cast<size_t>(u)] = stamp_;
      preds(u, stack);
    }
    return false;
  }

  /// Whether some member of `a` reads a reduction result of `b`.
  bool reads_reduction(int32_t a, int32_t b) const {
    for (int32_t m : units_[static_cast<size_t>(a)].members) {
      for (int32_t v : node(m).in) {
        const int32_t p = producer(root(v));
        if (p >= 0 && unit_[static_cast<size_t>(p)] == b &&
            info(node(p).prim).group == PrimGroup::Reduce)
          return true;
      }
    }
    return false;
  }

  bool can_merge(int32_t a, int32_t b) const {
    const Unit& x = units_[static_cast<size_t>(a)];
    const Unit& y = units_[static_cast<size_t>(b)];
    if (x.kind != Unit::Kind::Elementwise || y.kind != Unit::Kind::Elementwise) return false;
    if (x.domain != y.domain) return false;
    if (x.has_reduction && y.has_reduction &&
        (x.layout != y.layout || x.red_rows != y.red_rows || x.red_len != y.red_len))
      return false;
    if (reads_reduction(a, b) || reads_reduction(b, a)) return false;
    return !indirect_path(a, b) && !indirect_path(b, a);
  }

  /// Moves b's members into a.
  void merge(int32_t a, int32_t b) {
    Unit& x = unit(a);
    Unit& y = unit(b);
    for (int32_t m : y.members) unit_[static_cast<size_t>(m)] = a;
    x.members.insert(x.members.end(), y.members.begin(), y.members.end());
    std::sort(x.members.begin(), x.members.end());
    if (y.has_reduction) {
      x.has_reduction = true;
      x.layout = y.layout, x.red_rows = y.red_rows, x.red_len = y.red_len;
    }
    y.members.clear();
    y.kind = Unit::Kind::Plain;
  }

  // ---- elementwise clusters -------------------------------------------------------------------

  bool fusible_elementwise(const Node& n) const {
    if (n.kind != NodeKind::Prim || !is_elementwise(n.prim)) return false;
    const TensorType& out = g_.type(n.out[0]);
    if (num_elements(out.shape) <= 1) return false;
    const DType t = g_.type(n.in[n.prim == Prim::select ? 1 : 0]).dtype;
    return cpu::fused::supports(n.prim, t);
  }

  void cluster(int32_t i) {
    const Node& n = node(i);
    if (unit_[static_cast<size_t>(i)] != i || fused(i)) return;  // taken by an epilogue
    if (fusible_elementwise(n)) {
      Unit& u = unit(i);
      u.kind = Unit::Kind::Elementwise;
      u.domain = num_elements(g_.type(n.out[0]).shape);
      for (int32_t v : n.in) {
        const int32_t p = unit_of_value(v);
        if (p < 0 || p == unit_[static_cast<size_t>(i)]) continue;
        const int32_t self = unit_[static_cast<size_t>(i)];
        if (can_merge(p, self)) merge(p, self);
      }
      return;
    }
    // argmax/argmin are in the Reduce group but take ArgParams; they do not end clusters.
    if (n.kind == NodeKind::Prim && info(n.prim).group == PrimGroup::Reduce &&
        std::holds_alternative<AxesParams>(n.params)) {
      const TensorType& in = g_.type(n.in[0]);
      const auto& axes = std::get<AxesParams>(n.params).axes;
      if (!cpu::fused::can_reduce(n.prim, in, axes)) return;
      const int32_t p = unit_of_value(n.in[0]);
      if (p < 0 || unit(p).kind != Unit::Kind::Elementwise) return;
      // Only a value computed in the cluster is worth reducing there (not a leaf it reads).
      if (producer(root(n.in[0])) < 0 || unit_[static_cast<size_t>(producer(root(n.in[0])))] != p)
        return;
      Unit& u = unit(i);
      u.kind = Unit::Kind::Elementwise;
      u.domain = num_elements(in.shape);
      u.has_reduction = true;
      cpu::fused::reduce_layout(in.shape, axes, u.layout, u.red_rows, u.red_len);
      if (can_merge(p, i)) {
        merge(p, i);
      } else {
        u = Unit{{i}};
      }
    }
  }

  /// A reduction left on its own whose operand some cluster reads in full (the same value, not
  /// through a view) joins that cluster, so the data is read once for both.
  void absorb_input_reduction(int32_t i) {
    const Node& n = node(i);
    if (unit_[static_cast<size_t>(i)] != i || fused(i)) return;
    if (n.kind != NodeKind::Prim || info(n.prim).group != PrimGroup::Reduce ||
        !std::holds_alternative<AxesParams>(n.params))
      return;
    const int32_t v = n.in[0];
    const TensorType& in = g_.type(v);
    const auto& axes = std::get<AxesParams>(n.params).axes;
    if (!cpu::fused::can_reduce(n.prim, in, axes)) return;
    for (int32_t user : users_[static_cast<size_t>(v)]) {
      const int32_t p = unit_[static_cast<size_t>(user)];
      if (p == i || unit(p).kind != Unit::Kind::Elementwise ||
          unit(p).domain != num_elements(in.shape) || !fusible_elementwise(node(user)))
        continue;
      Unit& u = unit(i);
      u.kind = Unit::Kind::Elementwise;
      u.domain = num_elements(in.shape);
      u.has_reduction = true;
      cpu::fused::reduce_layout(in.shape, axes, u.layout, u.red_rows, u.red_len);
      if (can_merge(p, i)) {
        merge(p, i);
        return;
      }
      u = Unit{{i}};
    }
  }

  /// Clusters of one domain that read the same full-size value (a parameter or a value that is
  /// materialized anyway) merge, so that it is read once.
  void merge_siblings() {
    for (size_t v = 0; v < g_.num_values(); ++v) {
      const int64_t size = num_elements(g_.type(static_cast<int32_t>(v)).shape);
      if (size < kSiblingMergeElements) continue;
      std::vector<int32_t> readers;  // distinct clusters reading v, after merges
      for (int32_t user : users_[v]) {
        const int32_t u = unit_[static_cast<size_t>(user)];
        if (unit(u).kind != Unit::Kind::Elementwise || unit(u).domain != size) continue;
        bool merged = false;
        for (int32_t r : readers) {  // live: merges below only ever grow them
          if (r == u) {
            merged = true;
            break;
          }
          if (can_merge(r, u)) {
            merge(r, u);
            merged = true;
            break;
          }
        }
        if (!merged) readers.push_back(u);
      }
    }
  }

  /// Operations a cluster saves: its members, plus each broadcast it reads through.
  int64_t weight(const Unit& u) const {
    int64_t w = static_cast<int64_t>(u.members.size());
    std::set<int32_t> seen;
    for (int32_t m : u.members) {
      for (int32_t v : node(m).in) {
        for (int32_t x = v; producer(x) >= 0 && is_view(node(producer(x)));
             x = node(producer(x)).in[0]) {
          const Node& vn = node(producer(x));
          if (vn.prim == Prim::broadcast_in_dim && seen.insert(producer(x)).second) ++w;
        }
      }
    }
    return w;
  }

  void dissolve_small() {
    for (size_t i = 0; i < n_; ++i) {
      Unit& u = units_[i];
      if (u.kind != Unit::Kind::Elementwise || weight(u) >= 2) continue;
      const std::vector<int32_t> members = u.members;  // u itself is reset below
      for (int32_t m : members) {
        unit_[static_cast<size_t>(m)] = m;
        units_[static_cast<size_t>(m)] = Unit{{m}};
      }
    }
  }

  // ---- epilogues ------------------------------------------------------------------------------

  void epilogue(int32_t i) {
    const Node& c = node(i);
    if (c.kind != NodeKind::Prim || (c.prim != Prim::dot_general && c.prim != Prim::conv_general))
      return;
    const TensorType& out = g_.type(c.out[0]);
    if (out.dtype != DType::F32 && out.dtype != DType::BF16) return;
    if (macs(c) < (c.prim == Prim::dot_general ? kDnnlMatmulMacs : kDnnlConvMacs)) return;
    std::vector<int32_t> chain{i};
    int32_t v = c.out[0];
    TensorType chain_type = out;
    for (;;) {
      if (is_output_[static_cast<size_t>(v)]) break;
      const auto& us = users_[static_cast<size_t>(v)];
      if (us.empty() || std::any_of(us.begin(), us.end(), [&](int32_t u) { return u != us[0]; }))
        break;
      const Node& u = node(us[0]);
      if (unit_[static_cast<size_t>(us[0])] != us[0]) break;
      // A convolution's result may be transposed first (a channels-last result: the primitive
      // writes it through strides), then the chain runs in the transposed shape.
      const bool transpose = chain.size() == 1 && c.prim == Prim::conv_general &&
                             u.kind == NodeKind::Prim && u.prim == Prim::transpose;
      if (transpose) {
        chain_type = g_.type(u.out[0]);
      } else {
        const PrimGroup grp = u.kind == NodeKind::Prim ? info(u.prim).group : PrimGroup::Movement;
        if (grp != PrimGroup::Unary && grp != PrimGroup::Binary) break;
        if (g_.type(u.out[0]) != chain_type) break;
      }
      chain.push_back(us[0]);
      v = u.out[0];
    }
    for (size_t len = chain.size(); len >= 2; --len) {
      std::vector<int32_t> members(chain.begin(), chain.begin() + static_cast<ptrdiff_t>(len));
      Program p = build_program(g_, producer_, members, {node(members.back()).out[0]}, true);
      if (!cpu::fused::prepare_epilogue(p.graph)) continue;
      Unit& u = unit(i);
      u.kind = c.prim == Prim::dot_general ? Unit::Kind::Matmul : Unit::Kind::Conv;
      for (size_t k = 1; k < len; ++k) {
        unit_[static_cast<size_t>(members[k])] = i;
        units_[static_cast<size_t>(members[k])].members.clear();
      }
      u.members = std::move(members);
      return;
    }
  }

  double macs(const Node& c) const {
    const Shape& a = g_.type(c.in[0]).shape;
    const Shape& out = g_.type(c.out[0]).shape;
    if (c.prim == Prim::dot_general) {
      double k = 1;
      for (int64_t ax : std::get<DotParams>(c.params).contract_a)
        k *= static_cast<double>(a[static_cast<size_t>(ax)]);
      return static_cast<double>(num_elements(out)) * k;
    }
    const Shape& w = g_.type(c.in[1]).shape;
    return static_cast<double>(num_elements(out)) * static_cast<double>(num_elements(w)) /
           static_cast<double>(std::max<int64_t>(1, w[0]));
  }

  // ---- emission -------------------------------------------------------------------------------

  /// Values a unit reads from other units: its program inputs for a cluster, operands otherwise.
  std::vector<int32_t> unit_inputs(int32_t u) const {
    const Unit& x = units_[static_cast<size_t>(u)];
    if (x.kind == Unit::Kind::Plain) return node(x.members[0]).in;
    return program_inputs(g_, producer_, x.members, x.kind != Unit::Kind::Elementwise);
  }

  Graph emit() {
    // Live units, latest first: a unit is live if it has effects or a live unit (or the graph's
    // outputs) reads one of its values.
    std::vector<int32_t> order = topological_units();
    std::vector<bool> needed(g_.num_values(), false);
    for (int32_t v : g_.outputs) needed[static_cast<size_t>(v)] = true;
    std::vector<std::vector<int32_t>> outputs(n_);
    std::vector<bool> live(n_, false);
    for (size_t k = order.size(); k-- > 0;) {
      const int32_t u = order[k];
      const Unit& x = units_[static_cast<size_t>(u)];
      bool effects = false;
      for (int32_t m : x.members) {
        // Params stay whether read or not: they are the graph's signature.
        effects = effects || has_effects(node(m)) || node(m).kind == NodeKind::Param;
        for (int32_t v : node(m).out)
          if (needed[static_cast<size_t>(v)]) outputs[static_cast<size_t>(u)].push_back(v);
      }
      if (!effects && outputs[static_cast<size_t>(u)].empty()) continue;
      live[static_cast<size_t>(u)] = true;
      for (int32_t v : unit_inputs(u)) needed[static_cast<size_t>(v)] = true;
    }
    GraphBuilder b(g_);
    for (int32_t u : order) {
      if (!live[static_cast<size_t>(u)]) continue;
      const Unit& x = units_[static_cast<size_t>(u)];
      if (x.kind == Unit::Kind::Plain) {
        const Node& n = node(x.members[0]);
        b.copy(n.kind == NodeKind::While || n.kind == NodeKind::Cond || n.kind == NodeKind::Scan
                   ? with_subgraphs(n, &fuse)
                   : n);
        continue;
      }
      const std::vector<int32_t>& outs = outputs[static_cast<size_t>(u)];
      Program p = build_program(g_, producer_, x.members, outs, x.kind != Unit::Kind::Elementwise);
      if (x.kind == Unit::Kind::Elementwise) {
        // Recomputed values (rematerialize) may meet in one cluster: compute them once.
        Graph deduped = eliminate_common_subexpressions(p.graph);
        const std::set<int32_t> distinct(deduped.outputs.begin(), deduped.outputs.end());
        if (distinct.size() == deduped.outputs.size()) p.graph = std::move(deduped);
      }
      Node f;
      f.kind = NodeKind::Fused;
      f.in = b.get(p.inputs);
      f.subgraphs = {std::make_shared<const Graph>(std::move(p.graph))};
      if (x.kind == Unit::Kind::Elementwise) {
        f.name = "elementwise";
        f.prim = Prim::add;
        for (int32_t m : x.members)
          if (info(node(m).prim).group == PrimGroup::Reduce) f.prim = node(m).prim;
      } else {
        f.name = x.kind == Unit::Kind::Matmul ? "matmul_epilogue" : "conv_epilogue";
        f.prim = node(x.members[0]).prim;
      }
      std::vector<TensorType> types;
      for (int32_t v : outs) types.push_back(g_.type(v));
      std::vector<int32_t> nv = b.emit(std::move(f), types);
      for (size_t k = 0; k < outs.size(); ++k) b.set(outs[k], nv[k]);
    }
    return b.finish();
  }

  /// Units (with members) in a topological order, earliest original position first among those
  /// ready, so that unfused graphs keep their order.
  std::vector<int32_t> topological_units() const {
    std::vector<int32_t> pending(n_, 0);
    std::vector<std::vector<int32_t>> succ(n_);
    using Item = std::pair<int32_t, int32_t>;  // (first member, unit)
    std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
    for (size_t u = 0; u < n_; ++u) {
      if (units_[u].members.empty()) continue;
      std::set<int32_t> deps;
      for (int32_t v : unit_inputs(static_cast<int32_t>(u))) {
        const int32_t p = producer(v);
        if (p >= 0 && unit_[static_cast<size_t>(p)] != static_cast<int32_t>(u))
          deps.insert(unit_[static_cast<size_t>(p)]);
      }
      pending[u] = static_cast<int32_t>(deps.size());
      for (int32_t d : deps) succ[static_cast<size_t>(d)].push_back(static_cast<int32_t>(u));
      if (deps.empty()) ready.emplace(units_[u].members.front(), static_cast<int32_t>(u));
    }
    std::vector<int32_t> order;
    while (!ready.empty()) {
      const int32_t u = ready.top().second;
      ready.pop();
      order.push_back(u);
      for (int32_t s : succ[static_cast<size_t>(u)])
        if (--pending[static_cast<size_t>(s)] == 0)
          ready.emplace(units_[static_cast<size_t>(s)].members.front(), s);
    }
    size_t units = 0;
    for (const Unit& x : units_) units += x.members.empty() ? 0 : 1;
    if (order.size() != units) throw Error("nx::fuse: internal error: the clusters form a cycle");
    return order;
  }

  const Graph& g_;
  size_t n_;
  std::vector<int32_t> producer_;
  std::vector<std::vector<int32_t>> users_;
  std::vector<bool> is_output_;
  std::vector<std::vector<int32_t>>
      root_producers_;  ///< per node: producers of its operands' roots
  std::vector<int32_t> unit_;
  std::vector<Unit> units_;
  mutable std::vector<uint32_t> seen_;  ///< indirect_path's visited marks (== stamp_)
  mutable uint32_t stamp_ = 0;
};

}  // namespace

Graph fuse(const Graph& g) {
  Graph r = rematerialize(split_reductions(factor_sums(g)));
  // The rewrites leave values unread (what factor_sums summed before); drop them first.
  if (r.nodes.size() != g.nodes.size()) r = eliminate_dead_code(r);
  return Fuser(r).run();
}

}  // namespace nx::detail
