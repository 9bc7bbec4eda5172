// to_channels_last(): channels-first convolutions run on channels-last values, with the
// transposes between them cancelled.
//
// Our tensors are row-major, so an NCHW convolution hands oneDNN nchw activations, which its
// fast kernels do not read: every convolution reordered its input to a blocked layout and its
// result back (a full copy each way, 10 ms per ResNet-18 step at batch 16). Channels-last (NHWC)
// is a plain row-major layout that oneDNN's brgconv kernels read and write directly, as fast as
// or faster than the blocked ones. So each eligible conv_general(x, k) becomes
//     T_cf(conv(T_cf(x_l), k)) with x_l = T_cl(x)
// (T_cl moves the channel axis last, T_cf back), where the inner transposes are views the
// conv_layout and epilogue kernels absorb (strided memory descriptors: no copy), and the values
// between convolutions stay channels-last: each value v of the old graph may have a *twin*, a
// new value v_l with v == transpose(v_l, back). Walking the graph in order, a node whose operands
// have twins is computed on the twins instead when that needs no copy (the transpose sinks
// through it):
//  - elementwise ops (unary, binary, compare, select, convert) whose operands are twins with the
//    same `back`, or need no data movement to match: one element, all-ones shapes, one non-unit
//    axis (reshaped), broadcast_in_dim of a smaller value (re-broadcast along the permuted axes);
//  - reductions (the reduced axes remapped; a result whose remaining axes are in order is plain);
//  - window reductions and max-pool backward (window, strides, padding permuted), pad;
//  - transposes (composed into `back`; T o T^-1 is the twin itself: the transposes cancel);
//  - channels-first convolutions themselves (their result's twin is channels-last).
// Any other reader gets the value materialized (one transpose, emitted once). A graph in which
// this saves nothing (at least two transposes materialized per converted convolution, the
// reorders it replaces) is returned as it was.
#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>

#include "../backends/cpu/contract_conv.hpp"
#include "../backends/cpu/dnnl_conv_layout.hpp"
#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

// Below this many multiply-adds conv_general does not go to oneDNN (contract_conv.cpp).
constexpr double kDnnlConvMacs = 49152;

/// A channels-last value standing for an old value: old == transpose(value, back).
struct Twin {
  int32_t value = -1;
  Axes back;
};

bool is_identity(const Axes& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

Axes inverse(const Axes& p) {
  Axes r(p.size());
  for (size_t i = 0; i < p.size(); ++i) r[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
  return r;
}

/// [0, 2, ..., r-1, 1]: channels-first to channels-last.
Axes to_last(size_t rank) {
  Axes p{0};
  for (size_t i = 2; i < rank; ++i) p.push_back(static_cast<int64_t>(i));
  p.push_back(1);
  return p;
}

/// Per-axis values of the old layout in the twin's: result[back[i]] = v[i].
template <class V>
V permute(const V& v, const Axes& back) {
  V r(v.size());
  for (size_t i = 0; i < v.size(); ++i) r[static_cast<size_t>(back[i])] = v[i];
  return r;
}

class LayoutPass {
 public:
  explicit LayoutPass(const Graph& g) : g_(g), b_(g), twins_(g.num_values()) {
    producer_.resize(g.num_values(), -1);
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (int32_t v : g.nodes[i].out) producer_[static_cast<size_t>(v)] = static_cast<int32_t>(i);
  }

  std::optional<Graph> run() {
    for (const Node& n : g_.nodes) {
      if (n.kind == NodeKind::Prim && visit(n)) continue;
      if ((n.kind == NodeKind::StopGrad || n.kind == NodeKind::CustomGrad) && twin(n.in[0])) {
        // Identities once gradients are taken (optimize runs on graphs autodiff is done with):
        // the result is the operand's twin, and a custom gradient's extra inputs, which only its
        // gradient function reads, are not materialized for it.
        const Twin t = *twin(n.in[0]);
        set_twin(n.out[0], t.value, t.back);
        continue;
      }
      Node c = n;
      for (int32_t& v : c.in) v = plain(v);
      b_.copy_rewired(c);
    }
    for (int32_t v : g_.outputs) plain(v);
    if (converted_ == 0 || materialized_ >= 2 * converted_) return std::nullopt;
    return b_.finish();
  }

 private:
  const Twin* twin(int32_t v) const {
    const Twin& t = twins_[static_cast<size_t>(v)];
    return t.value >= 0 ? &t : nullptr;
  }
  const TensorType& type(int32_t v) const { return g_.type(v); }

  /// The new value of old value v in its own layout (its twin transposed back, once).
  int32_t plain(int32_t v) {
    if (b_.has(v)) return b_.get(v);
    const Twin& t = twins_[static_cast<size_t>(v)];
    const int32_t nv = b_.emit_prim1(Prim::transpose, {t.value}, AxesParams{t.back});
    ++materialized_;
    b_.set(v, nv);
    return nv;
  }

  void set_twin(int32_t old, int32_t nv, Axes back) {
    if (is_identity(back)) {
      b_.set(old, nv);
      return;
    }
    twins_[static_cast<size_t>(old)] = Twin{nv, std::move(back)};
  }

  /// Computes n on twins when it can; false leaves n to be copied.
  bool visit(const Node& n) {
    const PrimGroup group = info(n.prim).group;
    switch (group) {
      case PrimGroup::Unary:
      case PrimGroup::Binary:
      case PrimGroup::Compare:
      case PrimGroup::Ternary:
        return elementwise(n);
      case PrimGroup::Convert:
        return n.prim == Prim::convert && elementwise(n);
      case PrimGroup::Reduce:
        return n.prim != Prim::argmax && n.prim != Prim::argmin && reduce(n);
      case PrimGroup::Window:
        return window(n);
      case PrimGroup::Contract:
        return n.prim == Prim::conv_general && conv(n);
      case PrimGroup::Movement:
        if (n.prim == Prim::transpose) return transpose(n);
        if (n.prim == Prim::pad) return pad(n);
        return false;
      default:
        return false;
    }
  }

  /// The `back` shared by n's operands with twins (of the result's rank), if any and only one.
  std::optional<Axes> common_back(const Node& n, size_t count) const {
    std::optional<Axes> back;
    for (size_t i = 0; i < count; ++i) {
      const Twin* t = twin(n.in[i]);
      if (!t) continue;
      if (back && *back != t->back) return std::nullopt;
      back = t->back;
    }
    return back;
  }

  /// Old operand v (no twin) in the twin layout `back` of a result of rank r, when that needs
  /// no data movement; -1 otherwise.
  int32_t moved_operand(int32_t v, const Axes& back) {
    const Shape& s = type(v).shape;
    const size_t r = back.size();
    if (s.size() > r) return -1;
    const auto non_unit = std::count_if(s.begin(), s.end(), [](int64_t d) { return d != 1; });
    if (non_unit == 0) return plain(v);  // broadcasts along any axes alike
    const int32_t p = producer_[static_cast<size_t>(v)];
    const Node* bn = p >= 0 ? &g_.nodes[static_cast<size_t>(p)] : nullptr;
    if (s.size() == r && bn && bn->kind == NodeKind::Prim && bn->prim == Prim::broadcast_in_dim &&
        !twin(bn->in[0])) {
      const auto& bp = std::get<BroadcastParams>(bn->params);
      Axes axes;
      for (int64_t a : bp.axes) axes.push_back(back[static_cast<size_t>(a)]);
      if (std::is_sorted(axes.begin(), axes.end()) &&
          std::adjacent_find(axes.begin(), axes.end()) == axes.end()) {
        return b_.emit_prim1(Prim::broadcast_in_dim, {plain(bn->in[0])},
                             BroadcastParams{permute(bp.shape, back), axes});
      }
    }
    if (non_unit > 1) return -1;
    Shape full(r - s.size(), 1);
    full.insert(full.end(), s.begin(), s.end());
    const Shape moved = permute(full, back);
    const int32_t x = plain(v);
    return moved == s ? x : b_.emit_prim1(Prim::reshape, {x}, ReshapeParams{moved});
  }

  bool elementwise(const Node& n) {
    const auto back = common_back(n, n.in.size());
    if (!back || back->size() != type(n.out[0]).shape.size()) return false;
    for (int32_t v : n.in)
      if (twin(v) && type(v).shape.size() != back->size()) return false;
    // Check every operand first: a failed one must leave nothing emitted for the others.
    for (int32_t v : n.in) {
      if (twin(v)) continue;
      const Shape& s = type(v).shape;
      const auto non_unit = std::count_if(s.begin(), s.end(), [](int64_t d) { return d != 1; });
      if (s.size() > back->size()) return false;
      if (non_unit > 1 && !broadcast_movable(v, *back)) return false;
    }
    std::vector<int32_t> in;
    for (int32_t v : n.in) {
      const Twin* t = twin(v);
      in.push_back(t ? t->value : moved_operand(v, *back));
      if (in.back() < 0) return false;
    }
    set_twin(n.out[0], b_.emit_prim1(n.prim, std::move(in), n.params), *back);
    return true;
  }

  bool broadcast_movable(int32_t v, const Axes& back) const {
    const int32_t p = producer_[static_cast<size_t>(v)];
    if (p < 0 || type(v).shape.size() != back.size()) return false;
    const Node& bn = g_.nodes[static_cast<size_t>(p)];
    if (bn.kind != NodeKind::Prim || bn.prim != Prim::broadcast_in_dim || twin(bn.in[0]))
      return false;
    Axes axes;
    for (int64_t a : std::get<BroadcastParams>(bn.params).axes)
      axes.push_back(back[static_cast<size_t>(a)]);
    return std::is_sorted(axes.begin(), axes.end()) &&
           std::adjacent_find(axes.begin(), axes.end()) == axes.end();
  }

  bool transpose(const Node& n) {
    const Twin* t = twin(n.in[0]);
    if (!t) return false;
    const Axes& p = std::get<AxesParams>(n.params).axes;
    Axes back(p.size());
    for (size_t i = 0; i < p.size(); ++i) back[i] = t->back[static_cast<size_t>(p[i])];
    set_twin(n.out[0], t->value, std::move(back));
    return true;
  }

  bool reduce(const Node& n) {
    const Twin* t = twin(n.in[0]);
    if (!t) return false;
    const Axes& axes = std::get<AxesParams>(n.params).axes;
    const size_t r = t->back.size();
    Axes moved;
    for (int64_t a : axes) moved.push_back(t->back[static_cast<size_t>(a)]);
    std::sort(moved.begin(), moved.end());
    std::vector<bool> reduced(r, false), kept_new(r, true);
    for (int64_t a : axes) reduced[static_cast<size_t>(a)] = true;
    for (int64_t a : moved) kept_new[static_cast<size_t>(a)] = false;
    // The result's axis i is the input's i-th kept axis; its position among the twin's kept
    // axes is where the result's twin has it.
    std::vector<int64_t> rank(r, -1);
    int64_t k = 0;
    for (size_t j = 0; j < r; ++j)
      if (kept_new[j]) rank[j] = k++;
    Axes back;
    for (size_t i = 0; i < r; ++i)
      if (!reduced[i]) back.push_back(rank[static_cast<size_t>(t->back[i])]);
    const int32_t nv = b_.emit_prim1(n.prim, {t->value}, AxesParams{moved});
    set_twin(n.out[0], nv, std::move(back));
    return true;
  }

  bool window(const Node& n) {
    const Twin* t = twin(n.in[0]);
    if (!t) return false;
    std::vector<int32_t> in{t->value};
    if (n.in.size() == 3) {  // window_scatter_*: operand, source, init
      const Twin* s = twin(n.in[1]);
      if (!s || s->back != t->back) return false;
      in.push_back(s->value);
      in.push_back(plain(n.in[2]));
    }
    const auto& p = std::get<WindowParams>(n.params);
    const Axes back = t->back;
    WindowParams q{permute(p.window, back), permute(p.strides, back), permute(p.pad_lo, back),
                   permute(p.pad_hi, back), permute(p.window_dilation, back)};
    set_twin(n.out[0], b_.emit_prim1(n.prim, std::move(in), q), back);
    return true;
  }

  bool pad(const Node& n) {
    const Twin* t = twin(n.in[0]);
    if (!t || twin(n.in[1])) return false;
    const auto& p = std::get<PadParams>(n.params);
    const Axes back = t->back;
    PadParams q{permute(p.lo, back), permute(p.hi, back), permute(p.interior, back)};
    set_twin(n.out[0], b_.emit_prim1(Prim::pad, {t->value, plain(n.in[1])}, q), back);
    return true;
  }

  /// Whether conv_general node n runs on channels-last operands.
  bool convertible(const Node& n, const Axes& cl) const {
    const TensorType& yt = type(n.out[0]);
    if (yt.dtype != DType::F32 && yt.dtype != DType::BF16) return false;
    if (type(n.in[0]).dtype != yt.dtype || type(n.in[1]).dtype != yt.dtype) return false;
    const size_t r = yt.shape.size();
    if (r < 3 || r > 5) return false;
    const Twin* t = twin(n.in[0]);
    if (t && t->back != inverse(cl)) return false;
    const auto geometry = cpu::conv_geometry(std::get<ConvParams>(n.params), type(n.in[0]).shape,
                                             type(n.in[1]).shape, yt.shape);
    if (geometry.macs() < kDnnlConvMacs) return false;
    // The program the conv_layout kernel would run: oneDNN must take it with these strides.
    Graph p;
    auto param = [&](const TensorType& tt, int32_t index) {
      const int32_t v = p.add_value(tt);
      Node pn;
      pn.kind = NodeKind::Param;
      pn.index = index;
      pn.out = {v};
      p.add_node(std::move(pn));
      p.inputs.push_back(v);
      return v;
    };
    auto prim = [&](Prim op, std::vector<int32_t> in, Params params, const TensorType& tt) {
      const int32_t v = p.add_value(tt);
      Node pn;
      pn.prim = op;
      pn.params = std::move(params);
      pn.in = std::move(in);
      pn.out = {v};
      p.add_node(std::move(pn));
      return v;
    };
    const TensorType& xt = type(n.in[0]);
    const int32_t xl = param(TensorType{permute(xt.shape, inverse(cl)), xt.dtype}, 0);
    const int32_t k = param(type(n.in[1]), 1);
    const int32_t x = prim(Prim::transpose, {xl}, AxesParams{inverse(cl)}, xt);
    const int32_t y = prim(Prim::conv_general, {x, k}, n.params, yt);
    p.outputs = {prim(Prim::transpose, {y}, AxesParams{cl},
                      TensorType{permute(yt.shape, inverse(cl)), yt.dtype})};
    return cpu::fused::conv_layout_supported(p);
  }

  bool conv(const Node& n) {
    const Axes cl = to_last(type(n.out[0]).shape.size());
    const Axes cf = inverse(cl);
    if (!convertible(n, cl)) return false;
    int32_t xl;
    if (const Twin* t = twin(n.in[0])) {
      xl = t->value;
    } else {
      // Other readers of x (a residual add) may use this copy too.
      xl = b_.emit_prim1(Prim::transpose, {plain(n.in[0])}, AxesParams{cl});
      twins_[static_cast<size_t>(n.in[0])] = Twin{xl, cf};
      ++materialized_;
    }
    const int32_t x = b_.emit_prim1(Prim::transpose, {xl}, AxesParams{cf});
    const int32_t y = b_.emit_prim1(Prim::conv_general, {x, plain(n.in[1])}, n.params);
    set_twin(n.out[0], b_.emit_prim1(Prim::transpose, {y}, AxesParams{cl}), cf);
    ++converted_;
    return true;
  }

  const Graph& g_;
  GraphBuilder b_;
  std::vector<Twin> twins_;  ///< per old value; value -1: none
  std::vector<int32_t> producer_;
  int converted_ = 0, materialized_ = 0;
};

}  // namespace

Graph to_channels_last(const Graph& g) {
  std::optional<Graph> r = LayoutPass(g).run();
  return r ? std::move(*r) : g;
}

}  // namespace nx::detail
