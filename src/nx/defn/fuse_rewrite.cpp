// fuse_rewrite.hpp: the graph rewrites fuse() runs before clustering.
#include "fuse_rewrite.hpp"

#include <algorithm>
#include <map>
#include <variant>

#include "../backends/cpu/fused_program.hpp"
#include "graph_rewrite.hpp"

namespace nx::detail {

namespace {

bool is_view(const Node& n) {
  return n.kind == NodeKind::Prim && (n.prim == Prim::broadcast_in_dim || n.prim == Prim::reshape);
}

// The trailing block of a split reduction must reduce at least this many elements per result.
constexpr int64_t kMinSplitShrink = 16;

// For a reduction over `axes` of shape `in` that reduce_layout rejects: the trailing block of
// reduced axes (size-1 axes skipped) to reduce first, and the remaining axes; false when the
// split does not give a reduction a cluster can end in.
bool split_axes(Prim p, const TensorType& in, const Axes& axes, Axes& inner, Axes& outer) {
  if (num_elements(in.shape) < kFuseRewriteElements || cpu::fused::can_reduce(p, in, axes))
    return false;
  std::vector<bool> reduced(in.shape.size(), false);
  for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
  size_t start = in.shape.size();
  while (start > 0 && (reduced[start - 1] || in.shape[start - 1] == 1)) --start;
  inner.clear();
  outer.clear();
  for (int64_t a : axes) (static_cast<size_t>(a) >= start ? inner : outer).push_back(a);
  if (inner.empty() || outer.empty()) return false;
  // The partial result must be much smaller than the input, or the split costs a pass.
  int64_t inner_n = 1;
  for (int64_t a : inner) inner_n *= in.shape[static_cast<size_t>(a)];
  return inner_n >= kMinSplitShrink && cpu::fused::can_reduce(p, in, inner);
}

// sum(a) over `axes` of a value of shape `in`, taken through negations, doublings and factors
// constant over the axes (step 0 of fuse.cpp's comment); emits the new nodes into `b`.
class SumFactorer {
 public:
  SumFactorer(const Graph& g, GraphBuilder& b) : g_(g), b_(b), producer_(g.num_values(), -1) {
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (int32_t v : g.nodes[i].out) producer_[static_cast<size_t>(v)] = static_cast<int32_t>(i);
  }

  /// Whether reduce_sum node n can be taken through at least one factor.
  bool applies(const Node& n) const {
    // f32 and f64 only: an f16 sum of unweighted values could overflow where the weighted
    // one does not.
    if (n.kind != NodeKind::Prim || n.prim != Prim::reduce_sum) return false;
    const DType t = g_.type(n.in[0]).dtype;
    if ((t != DType::F32 && t != DType::F64) ||
        num_elements(g_.type(n.in[0]).shape) < kFuseRewriteElements)
      return false;
    const Axes& axes = std::get<AxesParams>(n.params).axes;
    int32_t a = -1, c = -1;
    return step(n.in[0], axes, a, c) != Step::None;
  }

  /// The new value of sum(v) over axes.
  int32_t sum(int32_t v, const Axes& axes) {
    int32_t a = -1, c = -1;
    switch (step(v, axes, a, c)) {
      case Step::Negate:
        return b_.emit_prim1(Prim::negate, {sum(a, axes)}, {});
      case Step::Double: {
        const int32_t s = sum(a, axes);
        return b_.emit_prim1(Prim::add, {s, s}, {});
      }
      case Step::Factor:
        return b_.emit_prim1(Prim::multiply, {sum(a, axes), reduced_factor(c, axes)}, {});
      case Step::None:
        break;
    }
    return b_.emit_prim1(Prim::reduce_sum, {b_.get(v)}, AxesParams{axes});
  }

 private:
  enum class Step { None, Negate, Double, Factor };

  const Node* producer(int32_t v) const {
    const int32_t p = producer_[static_cast<size_t>(v)];
    return p < 0 ? nullptr : &g_.nodes[static_cast<size_t>(p)];
  }

  // How sum(v) factors: through negate(a), add(a, a), or multiply(a, c) with c constant over
  // the axes (a must then have v's shape).
  Step step(int32_t v, const Axes& axes, int32_t& a, int32_t& c) const {
    const Node* n = producer(v);
    if (n == nullptr || n->kind != NodeKind::Prim) return Step::None;
    if (n->prim == Prim::negate) {
      a = n->in[0];
      return Step::Negate;
    }
    if (n->prim == Prim::add && n->in[0] == n->in[1]) {
      a = n->in[0];
      return Step::Double;
    }
    if (n->prim != Prim::multiply) return Step::None;
    const Shape& shape = g_.type(v).shape;
    for (int k = 0; k < 2; ++k) {
      a = n->in[static_cast<size_t>(k)];
      c = n->in[static_cast<size_t>(1 - k)];
      if (g_.type(a).shape == shape && g_.type(a).dtype == g_.type(v).dtype &&
          constant_over(c, axes))
        return Step::Factor;
    }
    return Step::None;
  }

  static bool reduced(const Axes& axes, int64_t a) {
    return std::find(axes.begin(), axes.end(), a) != axes.end();
  }

  // Whether value c (an operand of an elementwise node over the reduced shape) takes the same
  // value at every position along the axes: a scalar, size 1 on every reduced axis, or a
  // broadcast_in_dim of something placed on kept axes only.
  bool constant_over(int32_t c, const Axes& axes) const {
    const Shape& cs = g_.type(c).shape;
    if (cs.empty()) return true;
    // Elementwise operands have the reduced value's rank; anything else is left alone.
    if (std::any_of(axes.begin(), axes.end(),
                    [&](int64_t a) { return a < 0 || static_cast<size_t>(a) >= cs.size(); }))
      return false;
    if (std::all_of(axes.begin(), axes.end(),
                    [&](int64_t a) { return cs[static_cast<size_t>(a)] == 1; }))
      return true;
    const Node* n = producer(c);
    if (n == nullptr || n->kind != NodeKind::Prim || n->prim != Prim::broadcast_in_dim)
      return false;
    const Axes& map = std::get<BroadcastParams>(n->params).axes;
    return std::none_of(map.begin(), map.end(), [&](int64_t a) { return reduced(axes, a); });
  }

  // c as a factor of the reduced result (its reduced axes dropped).
  int32_t reduced_factor(int32_t c, const Axes& axes) {
    const Shape& cs = g_.type(c).shape;
    if (cs.empty()) return b_.get(c);
    Shape out;
    for (size_t i = 0; i < cs.size(); ++i)
      if (!reduced(axes, static_cast<int64_t>(i))) out.push_back(cs[i]);
    if (std::all_of(axes.begin(), axes.end(),
                    [&](int64_t a) { return cs[static_cast<size_t>(a)] == 1; }))
      return b_.emit_prim1(Prim::reshape, {b_.get(c)}, ReshapeParams{out});
    const Node& n = *producer(c);
    Axes map = std::get<BroadcastParams>(n.params).axes;
    for (int64_t& m : map)
      m -= std::count_if(axes.begin(), axes.end(), [&](int64_t a) { return a < m; });
    return b_.emit_prim1(Prim::broadcast_in_dim, {b_.get(n.in[0])}, BroadcastParams{out, map});
  }

  const Graph& g_;
  GraphBuilder& b_;
  std::vector<int32_t> producer_;
};

}  // namespace

Graph factor_sums(const Graph& g) {
  GraphBuilder probe_builder(g);
  SumFactorer probe(g, probe_builder);
  if (std::none_of(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return probe.applies(n); }))
    return g;
  GraphBuilder b(g);
  SumFactorer f(g, b);
  for (const Node& n : g.nodes) {
    if (!f.applies(n)) {
      b.copy(n);
      continue;
    }
    b.set(n.out[0], f.sum(n.in[0], std::get<AxesParams>(n.params).axes));
  }
  return b.finish();
}

Graph split_reductions(const Graph& g) {
  auto splittable = [&](const Node& n, Axes& inner, Axes& outer) {
    return n.kind == NodeKind::Prim && info(n.prim).group == PrimGroup::Reduce &&
           std::holds_alternative<AxesParams>(n.params) &&
           split_axes(n.prim, g.type(n.in[0]), std::get<AxesParams>(n.params).axes, inner, outer);
  };
  Axes inner, outer;
  if (std::none_of(g.nodes.begin(), g.nodes.end(),
                   [&](const Node& n) { return splittable(n, inner, outer); }))
    return g;
  GraphBuilder b(g);
  for (const Node& n : g.nodes) {
    if (!splittable(n, inner, outer)) {
      b.copy(n);
      continue;
    }
    // The inner axes are the last ones, so the outer axes keep their numbers.
    const int32_t partial = b.emit_prim1(n.prim, {b.get(n.in[0])}, AxesParams{inner});
    b.set(n.out[0], b.emit_prim1(n.prim, {partial}, AxesParams{outer}));
  }
  return b.finish();
}

Graph rematerialize(const Graph& g) {
  std::vector<int32_t> producer(g.num_values(), -1);
  std::vector<int32_t> readers(g.num_values(), 0);
  std::vector<bool> is_output(g.num_values(), false);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int32_t v : g.nodes[i].out) producer[static_cast<size_t>(v)] = static_cast<int32_t>(i);
    for (int32_t v : g.nodes[i].in) ++readers[static_cast<size_t>(v)];
  }
  for (int32_t v : g.outputs) is_output[static_cast<size_t>(v)] = true;
  auto fusible_reader = [](const Node& n) {
    return n.kind == NodeKind::Prim &&
           (is_elementwise(n.prim) || (info(n.prim).group == PrimGroup::Reduce &&
                                       std::holds_alternative<AxesParams>(n.params)));
  };
  // Whether reading operand u costs no more than reading a value of `size` elements that it
  // helps compute: it is small, or it is itself read from memory (not computed by a cluster).
  auto read_not_computed = [&](int32_t u, int64_t size) {
    for (;;) {
      const int32_t p = producer[static_cast<size_t>(u)];
      if (p < 0) return true;
      const Node& n = g.nodes[static_cast<size_t>(p)];
      if (num_elements(g.type(u).shape) * 16 <= size) return true;
      if (n.kind == NodeKind::Prim && is_view(n)) {
        u = n.in[0];
        continue;
      }
      return n.kind != NodeKind::Prim || !is_elementwise(n.prim);
    }
  };
  std::vector<bool> cheap(g.num_values(), false);
  bool any = false;
  for (const Node& n : g.nodes) {
    if (n.kind != NodeKind::Prim || !is_elementwise(n.prim) || n.out.size() != 1) continue;
    const PrimGroup grp = info(n.prim).group;
    if (grp != PrimGroup::Unary && grp != PrimGroup::Binary) continue;
    const int32_t v = n.out[0];
    const int64_t size = num_elements(g.type(v).shape);
    if (size < kFuseRewriteElements || readers[static_cast<size_t>(v)] < 2 ||
        is_output[static_cast<size_t>(v)])
      continue;
    if (std::all_of(n.in.begin(), n.in.end(),
                    [&](int32_t u) { return read_not_computed(u, size); })) {
      cheap[static_cast<size_t>(v)] = true;
      any = true;
    }
  }
  if (!any) return g;
  std::vector<bool> first_read(g.num_values(), false);
  GraphBuilder b(g);
  for (const Node& n : g.nodes) {
    bool rewired = false;
    std::vector<int32_t> in;
    std::map<int32_t, int32_t> copies;  // a value read twice by n is copied once
    for (int32_t v : n.in) {
      if (auto it = copies.find(v); it != copies.end()) {
        in.push_back(it->second);
        continue;
      }
      if (!cheap[static_cast<size_t>(v)] || !fusible_reader(n) ||
          !first_read[static_cast<size_t>(v)]) {
        if (cheap[static_cast<size_t>(v)]) first_read[static_cast<size_t>(v)] = true;
        in.push_back(b.get(v));
        copies[v] = in.back();
        continue;
      }
      const Node& p = g.nodes[static_cast<size_t>(producer[static_cast<size_t>(v)])];
      in.push_back(b.emit_prim1(p.prim, b.get(p.in), p.params));
      copies[v] = in.back();
      rewired = true;
    }
    if (!rewired) {
      b.copy(n);
      continue;
    }
    Node m = n;
    m.in = std::move(in);
    b.copy_rewired(m);
  }
  return b.finish();
}

}  // namespace nx::detail
