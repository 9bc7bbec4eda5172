// Algebraic simplification: local rewrites that make a node cheaper or remove it, each exact
// (bit-for-bit) except x + 0 -> x on floats, which keeps x = -0 where the sum gives +0 (XLA makes
// the same trade).
// Splats (one value everywhere: a scalar constant, maybe broadcast or reshaped) are recognised so
// that `x + zeros(shape)` simplifies like `x + 0`. Nodes left without readers are removed by DCE.
#include <algorithm>
#include <utility>

#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

// Whether new value `v` is a splat equal to `want` (0 or 1).
bool splat_equals(const GraphBuilder& b, int32_t v, int want) {
  std::optional<Tensor> s = splat_scalar(b, v);
  if (!s) return false;
  DType d = s->dtype();
  if (is_float(d)) return element_as_double(*s, 0) == static_cast<double>(want);
  if (is_unsigned_int(d)) return element_as_uint64(*s, 0) == static_cast<uint64_t>(want);
  return element_as_int64(*s, 0) == want;
}

bool is_identity_perm(const Axes& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

// Whether every value of dtype `a` converts to `b` and back unchanged, so that a conversion
// through `b` gives what a direct conversion from `a` gives.
bool lossless(DType a, DType b) {
  if (a == b || a == DType::Pred) return true;
  if (is_float(a) && is_float(b)) return bit_size(b) > bit_size(a);
  if (is_unsigned_int(a) && is_unsigned_int(b)) return bit_size(b) >= bit_size(a);
  if (is_signed_int(a) && is_signed_int(b)) return bit_size(b) >= bit_size(a);
  if (is_unsigned_int(a) && is_signed_int(b)) return bit_size(b) > bit_size(a);
  if (is_integer(a) && is_float(b)) {
    int value_bits = is_signed_int(a) ? bit_size(a) - 1 : bit_size(a);
    return value_bits <= mantissa_bits(b) + 1;
  }
  return false;
}

class Rewriter {
 public:
  // `reads`: how many times each value of `g` is read (by nodes and as a result).
  Rewriter(GraphBuilder& b, const Graph& g, const std::vector<int32_t>& reads, const Node& n)
      : b_(b), reads_(reads), n_(n), in_(b.get(n.in)), t_(g.type(n.out[0])) {}

  // The value replacing the node's (single) output, or nullopt to keep the node.
  std::optional<int32_t> run() {
    if (auto r = algebra()) return r;
    if (auto r = movement()) return r;
    if (auto r = dot_of_transposes()) return r;
    return splat_movement();
  }

 private:
  const Node* producer_prim(int32_t v, Prim p) const {
    const Node& d = b_.producer(v);
    return d.kind == NodeKind::Prim && d.prim == p ? &d : nullptr;
  }
  // `v` standing for the output: itself, or broadcast up when an elementwise op broadcast it.
  std::optional<int32_t> as_output(int32_t v) {
    const TensorType& t = b_.type(v);
    if (t == t_) return v;
    if (t.dtype != t_.dtype) return std::nullopt;
    return b_.broadcast_to(v, t_.shape);
  }
  std::optional<int32_t> same(int32_t v) {
    if (b_.type(v) == t_) return v;
    return std::nullopt;
  }
  bool zero(int32_t v) const { return splat_equals(b_, v, 0); }
  bool one(int32_t v) const { return splat_equals(b_, v, 1); }

  std::optional<int32_t> algebra() {
    switch (n_.prim) {
      case Prim::add:
        if (zero(in_[1])) return as_output(in_[0]);
        if (zero(in_[0])) return as_output(in_[1]);
        break;
      case Prim::subtract:
        if (zero(in_[1])) return as_output(in_[0]);
        break;
      case Prim::multiply:
        if (one(in_[1])) return as_output(in_[0]);
        if (one(in_[0])) return as_output(in_[1]);
        // Only integers: on floats, x * 0 is NaN for x = inf or NaN, and -0 for negative x.
        if (is_integer(t_.dtype) && (zero(in_[0]) || zero(in_[1]))) {
          return b_.broadcast_to(
              b_.emit_constant(*splat_scalar(b_, zero(in_[0]) ? in_[0] : in_[1])), t_.shape);
        }
        break;
      case Prim::divide:
      case Prim::quotient:
      case Prim::pow:
        if (one(in_[1])) return as_output(in_[0]);
        break;
      case Prim::max:
      case Prim::min:
      case Prim::bitwise_and:
      case Prim::bitwise_or:
        if (in_[0] == in_[1]) return as_output(in_[0]);
        break;
      case Prim::negate:
        if (const Node* d = producer_prim(in_[0], Prim::negate)) return same(d->in[0]);
        break;
      case Prim::convert:
        if (auto r = same(in_[0])) return r;
        if (const Node* d = producer_prim(in_[0], Prim::convert)) {
          int32_t x = d->in[0];
          if (lossless(b_.type(x).dtype, b_.type(in_[0]).dtype)) {
            if (auto r = same(x)) return r;
            return b_.emit_prim1(Prim::convert, {x}, n_.params);
          }
        }
        break;
      case Prim::bitcast:
        if (auto r = same(in_[0])) return r;
        if (const Node* d = producer_prim(in_[0], Prim::bitcast)) {
          if (auto r = same(d->in[0])) return r;
          return b_.emit_prim1(Prim::bitcast, {d->in[0]}, n_.params);
        }
        break;
      case Prim::select:
        if (std::optional<Tensor> p = splat_scalar(b_, in_[0])) {
          return as_output(element_as_int64(*p, 0) != 0 ? in_[1] : in_[2]);
        }
        if (in_[1] == in_[2]) return as_output(in_[1]);
        break;
      case Prim::reduce_sum:
      case Prim::reduce_prod:
      case Prim::reduce_max:
      case Prim::reduce_min:
      case Prim::reduce_and:
      case Prim::reduce_or:
        if (std::get<AxesParams>(n_.params).axes.empty()) return same(in_[0]);
        break;
      default:
        break;
    }
    return std::nullopt;
  }

  std::optional<int32_t> movement() {
    switch (n_.prim) {
      case Prim::reshape:
        if (auto r = same(in_[0])) return r;
        if (const Node* d = producer_prim(in_[0], Prim::reshape)) {
          if (auto r = same(d->in[0])) return r;
          return b_.emit_prim1(Prim::reshape, {d->in[0]}, n_.params);
        }
        break;
      case Prim::transpose: {
        const Axes& perm = std::get<AxesParams>(n_.params).axes;
        if (is_identity_perm(perm)) return in_[0];
        if (const Node* d = producer_prim(in_[0], Prim::transpose)) {
          const Axes& inner = std::get<AxesParams>(d->params).axes;
          Axes composed(perm.size());
          for (size_t i = 0; i < perm.size(); ++i) {
            composed[i] = inner[static_cast<size_t>(perm[i])];
          }
          if (is_identity_perm(composed)) return same(d->in[0]);
          return b_.emit_prim1(Prim::transpose, {d->in[0]}, AxesParams{composed});
        }
        return transposed_dot();
      }
      case Prim::broadcast_in_dim:
        if (auto r = same(in_[0])) return r;
        if (const Node* d = producer_prim(in_[0], Prim::broadcast_in_dim)) {
          const Axes& outer = std::get<BroadcastParams>(n_.params).axes;
          const Axes& inner = std::get<BroadcastParams>(d->params).axes;
          Axes axes;
          for (int64_t a : inner) axes.push_back(outer[static_cast<size_t>(a)]);
          if (auto r = same(d->in[0])) return r;
          return b_.emit_prim1(Prim::broadcast_in_dim, {d->in[0]}, BroadcastParams{t_.shape, axes});
        }
        break;
      case Prim::slice:
        return slice();
      case Prim::reverse: {
        const Shape& s = b_.type(in_[0]).shape;
        bool any = false;
        for (int64_t a : std::get<AxesParams>(n_.params).axes)
          any = any || s[static_cast<size_t>(a)] > 1;
        if (!any) return in_[0];
        if (const Node* d = producer_prim(in_[0], Prim::reverse)) {
          if (d->params == n_.params) return same(d->in[0]);
        }
        break;
      }
      case Prim::pad: {
        const auto& p = std::get<PadParams>(n_.params);
        auto zeros = [](const Ints& v) {
          return std::all_of(v.begin(), v.end(), [](int64_t x) { return x == 0; });
        };
        if (zeros(p.lo) && zeros(p.hi) && zeros(p.interior)) return same(in_[0]);
        break;
      }
      case Prim::concatenate:
        if (in_.size() == 1) return same(in_[0]);
        break;
      case Prim::dynamic_slice:
        // Starts are clamped into range, so a slice as large as the operand is all of it.
        return same(in_[0]);
      case Prim::dynamic_update_slice:
        // Likewise an update as large as the operand replaces all of it.
        return same(in_[1]);
      default:
        break;
    }
    return std::nullopt;
  }

  std::optional<int32_t> slice() {
    const auto& p = std::get<SliceParams>(n_.params);
    const Shape& s = b_.type(in_[0]).shape;
    bool whole = true;
    for (size_t i = 0; i < s.size(); ++i) {
      whole = whole && t_.shape[i] == s[i] && (p.start[i] == 0 || s[i] == 0);
    }
    if (whole) return same(in_[0]);
    const Node* d = producer_prim(in_[0], Prim::slice);
    if (d == nullptr) return std::nullopt;
    const auto& q = std::get<SliceParams>(d->params);
    SliceParams c;
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t n = t_.shape[i];
      int64_t start = q.start[i] + p.start[i] * q.strides[i];
      int64_t stride = q.strides[i] * p.strides[i];
      if (n == 0) start = 0;
      c.start.push_back(start);
      c.limit.push_back(n == 0 ? 0 : start + (n - 1) * stride + 1);
      c.strides.push_back(stride);
    }
    return b_.emit_prim1(Prim::slice, {d->in[0]}, c);
  }

  // dot_general reading a transposed matrix reads the matrix itself, contracting the other axis
  // (x @ transpose(w) is how linear layers and ONNX Gemm(transB) apply a weight): the product
  // reads either layout of a matrix in place, so the transpose's copy goes, and a weight that
  // is a constant or parameter stays one, which lets its product keep it in the layout oneDNN
  // prefers (dnnl_matmul_run). Only 2-D operands with one free axis: their result order cannot
  // change, and every layout of theirs runs in place.
  std::optional<int32_t> dot_of_transposes() {
    if (n_.prim != Prim::dot_general) return std::nullopt;
    DotParams p = std::get<DotParams>(n_.params);
    std::vector<int32_t> in = in_;
    bool changed = false;
    auto absorb = [&](size_t i, Axes& contract, const Axes& batch) {
      const Node* d = producer_prim(in[i], Prim::transpose);
      if (d == nullptr || b_.type(in[i]).shape.size() != 2 || contract.size() != 1 ||
          !batch.empty())
        return;
      const Axes& perm = std::get<AxesParams>(d->params).axes;
      contract[0] = perm[static_cast<size_t>(contract[0])];
      in[i] = d->in[0];
      changed = true;
    };
    absorb(0, p.contract_a, p.batch_a);
    absorb(1, p.contract_b, p.batch_b);
    if (!changed) return std::nullopt;
    return same(b_.emit_prim1(Prim::dot_general, in, p));
  }

  // transpose(a . b) of two matrices is b . a: the product writes its result in the order asked
  // for instead of a copy transposing it (the weight gradient x^T . dy of a dense layer comes out
  // of the VJP as (dy^T . x)^T). Only when the transpose is the product's one reader, so that
  // the product is not computed twice. The same sums of the same products, though oneDNN may add
  // them in another order for the other layout.
  std::optional<int32_t> transposed_dot() {
    const Node* d = producer_prim(in_[0], Prim::dot_general);
    if (d == nullptr || reads_[static_cast<size_t>(n_.in[0])] != 1) return std::nullopt;
    const DotParams& p = std::get<DotParams>(d->params);
    if (!p.batch_a.empty() || p.contract_a.size() != 1 || b_.type(d->in[0]).shape.size() != 2 ||
        b_.type(d->in[1]).shape.size() != 2) {
      return std::nullopt;
    }
    DotParams swapped{p.contract_b, p.batch_b, p.contract_a, p.batch_a};
    return same(b_.emit_prim1(Prim::dot_general, {d->in[1], d->in[0]}, swapped));
  }

  // A movement op of a splat into a large result becomes a broadcast of the scalar: no data to
  // move, and a broadcast fuses into its consumers.
  std::optional<int32_t> splat_movement() {
    PrimGroup g = info(n_.prim).group;
    if (g != PrimGroup::Movement || num_elements(t_.shape) <= kFoldElements) return std::nullopt;
    switch (n_.prim) {
      case Prim::broadcast_in_dim:
      case Prim::reshape:
      case Prim::transpose:
      case Prim::reverse:
      case Prim::slice:
      case Prim::dynamic_slice:
        break;
      default:
        return std::nullopt;
    }
    // Already the canonical form.
    if (n_.prim == Prim::broadcast_in_dim && b_.constant(in_[0]) != nullptr &&
        b_.type(in_[0]).shape.empty()) {
      return std::nullopt;
    }
    std::optional<Tensor> s = splat_scalar(b_, in_[0]);
    if (!s) return std::nullopt;
    return b_.broadcast_to(b_.emit_constant(*s), t_.shape);
  }

  GraphBuilder& b_;
  const std::vector<int32_t>& reads_;
  const Node& n_;
  std::vector<int32_t> in_;
  TensorType t_;
};

}  // namespace

Graph simplify(const Graph& g) {
  std::vector<int32_t> reads(g.types.size(), 0);
  for (const Node& n : g.nodes) {
    for (int32_t v : n.in) ++reads[static_cast<size_t>(v)];
  }
  for (int32_t v : g.outputs) ++reads[static_cast<size_t>(v)];
  GraphBuilder b(g);
  for (const Node& n : g.nodes) {
    switch (n.kind) {
      case NodeKind::Prim:
        if (n.out.size() == 1) {
          if (std::optional<int32_t> r = Rewriter(b, g, reads, n).run()) {
            b.set(n.out[0], *r);
            break;
          }
        }
        b.copy(n);
        break;
      case NodeKind::Constant: {
        // A large constant with one value everywhere is stored as a scalar and broadcast.
        const Tensor& c = n.constant;
        if (c.size() > kFoldElements && is_splat(c)) {
          b.set(n.out[0], b.broadcast_to(b.emit_constant(element_scalar(c, 0)), c.shape()));
        } else {
          b.copy(n);
        }
        break;
      }
      case NodeKind::Cond: {
        Node m = with_subgraphs(n, &simplify);
        // Identical branches: the predicate does not matter.
        if (graphs_equal(*m.subgraphs[0], *m.subgraphs[1])) {
          std::vector<int32_t> args = b.get(std::span<const int32_t>(n.in).subspan(1));
          std::vector<int32_t> outs = b.inline_graph(*m.subgraphs[0], args);
          for (size_t i = 0; i < outs.size(); ++i) b.set(n.out[i], outs[i]);
        } else {
          b.copy(m);
        }
        break;
      }
      default:
        b.copy(with_subgraphs(n, &simplify));
    }
  }
  return b.finish();
}

}  // namespace nx::detail
