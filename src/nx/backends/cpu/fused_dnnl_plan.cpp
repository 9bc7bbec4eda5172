// read_plan: an epilogue program graph -> the oneDNN problem it describes.
#include <algorithm>
#include <cmath>

#include "../../core/tensor_impl.hpp"
#include "contract_axes.hpp"
#include "contract_conv.hpp"
#include "contract_gemm.hpp"
#include "fused_dnnl_plan.hpp"

namespace nx::cpu::fused {

namespace {

using detail::Graph;
using detail::Node;
using detail::NodeKind;
using detail::Prim;

struct Unsupported {};
void require(bool ok) {
  if (!ok) throw Unsupported{};
}

struct View {
  int32_t leaf = -1;
  Shape shape;
  std::vector<int64_t> strides;
};

// ---- reading the program -----------------------------------------------------------------------

/// A view over the output (numpy broadcasting from `v`'s shape), collapsed onto groups of
/// output axes: each group is either broadcast (dim 1) or read with a single stride.
Extra collapse(const View& v, const Shape& out,
               const std::vector<std::pair<size_t, size_t>>& groups) {
  require(v.shape.size() <= out.size());
  const size_t lead = out.size() - v.shape.size();
  std::vector<int64_t> st(out.size(), 0);
  for (size_t i = 0; i < v.shape.size(); ++i) {
    require(v.shape[i] == out[lead + i] || v.shape[i] == 1);
    st[lead + i] = v.shape[i] == 1 ? 0 : v.strides[i];
  }
  Extra e;
  e.leaf = v.leaf;
  for (const auto& [b, end] : groups) {
    int64_t size = 1, stride = 0, extent = 0;
    bool any = false, broadcast = false;
    for (size_t ax = end; ax-- > b;) {
      if (out[ax] == 1) continue;
      size *= out[ax];
      if (st[ax] == 0) {
        broadcast = true;
        continue;
      }
      if (!any) {
        stride = st[ax];
        any = true;
      } else {
        require(st[ax] == extent);
      }
      extent = st[ax] * out[ax];
    }
    require(!(any && broadcast));
    e.dims.push_back(any ? size : 1);
    e.strides.push_back(stride);
  }
  // Broadcast dims get the stride a dense layout would give them (oneDNN checks strides).
  int64_t dense = 1;
  for (size_t i = e.dims.size(); i-- > 0;) {
    if (e.dims[i] == 1) e.strides[i] = dense;
    dense = std::max(dense, e.strides[i] * e.dims[i]);
  }
  return e;
}

class Reader {
 public:
  Reader(const Graph& g, std::vector<Tensor>& constants) : g_(g), constants_(constants) {}

  Plan read() {
    views_.resize(g_.num_values());
    const int32_t ni = static_cast<int32_t>(g_.inputs.size());
    for (const Node& n : g_.nodes) {
      switch (n.kind) {
        case NodeKind::Param:
          set_view(n.out[0], n.index, g_.type(n.out[0]).shape);
          break;
        case NodeKind::Constant:
          set_view(n.out[0], ni + static_cast<int32_t>(constants_.size()), n.constant.shape());
          constants_.push_back(n.constant);
          break;
        case NodeKind::Prim:
          prim(n);
          break;
        default:
          throw Unsupported{};
      }
    }
    require(chain_ >= 0 && g_.outputs.size() == 1 && g_.outputs[0] == chain_);
    return std::move(plan_);
  }

 private:
  void set_view(int32_t v, int32_t leaf, const Shape& s) {
    views_[static_cast<size_t>(v)] = View{leaf, s, row_major(s)};
  }
  const View& view(int32_t v) const {
    const View& x = views_[static_cast<size_t>(v)];
    require(x.leaf >= 0);
    return x;
  }
  /// Leaf index of a value that is exactly an input (no broadcast, no reshape).
  int32_t input_leaf(int32_t v) const {
    const View& x = view(v);
    require(x.leaf < static_cast<int32_t>(g_.inputs.size()));
    require(x.shape == g_.type(g_.inputs[static_cast<size_t>(x.leaf)]).shape);
    return x.leaf;
  }

  void prim(const Node& n) {
    if (n.prim == Prim::dot_general || n.prim == Prim::conv_general) return contraction(n);
    if (n.prim == Prim::transpose) return transpose(n);
    if (n.prim == Prim::broadcast_in_dim || n.prim == Prim::reshape) {
      require(n.in[0] != chain_);
      View x = view(n.in[0]);
      if (n.prim == Prim::reshape) {
        const Shape& to = std::get<detail::ReshapeParams>(n.params).shape;
        require(x.strides == row_major(x.shape));
        x.shape = to;
        x.strides = row_major(to);
      } else {
        const auto& bp = std::get<detail::BroadcastParams>(n.params);
        std::vector<int64_t> st(bp.shape.size(), 0);
        for (size_t i = 0; i < bp.axes.size(); ++i) {
          const size_t ax = static_cast<size_t>(bp.axes[i]);
          st[ax] = x.shape[i] == bp.shape[ax] ? x.strides[i] : 0;
        }
        x.shape = bp.shape;
        x.strides = std::move(st);
      }
      views_[static_cast<size_t>(n.out[0])] = std::move(x);
      return;
    }
    require(chain_ >= 0 && g_.type(n.out[0]) == out_type_);
    int uses = 0;
    for (int32_t v : n.in) uses += v == chain_;
    require(uses >= 1);
    chain_op(n, uses);
    chain_ = n.out[0];
    ++length_;
  }

  void transpose(const Node& n) {
    const Axes& perm = std::get<detail::AxesParams>(n.params).axes;
    if (n.in[0] != chain_) {
      // A view: axis i reads the operand's axis perm[i].
      const View& x = view(n.in[0]);
      View t{x.leaf, Shape(perm.size()), std::vector<int64_t>(perm.size())};
      for (size_t i = 0; i < perm.size(); ++i) {
        t.shape[i] = x.shape[static_cast<size_t>(perm[i])];
        t.strides[i] = x.strides[static_cast<size_t>(perm[i])];
      }
      views_[static_cast<size_t>(n.out[0])] = std::move(t);
      return;
    }
    // The convolution's result, transposed before the chain: the primitive writes the chain's
    // row-major buffer through strides (the chain's axis j is the problem's axis perm[j]).
    require(plan_.conv && length_ == 0 && out_perm_.empty());
    out_perm_ = perm;
    out_type_ = g_.type(n.out[0]);
    const std::vector<int64_t> rm = row_major(out_type_.shape);
    for (size_t j = 0; j < perm.size(); ++j) plan_.c_strides[static_cast<size_t>(perm[j])] = rm[j];
    groups_.clear();
    for (size_t ax = 0; ax < out_type_.shape.size(); ++ax) groups_.emplace_back(ax, ax + 1);
    chain_ = n.out[0];
  }

  /// A tensor operand of the chain as oneDNN sees it: over the problem's dims.
  Extra extra(int32_t v) const {
    Extra e = collapse(view(v), out_type_.shape, groups_);
    if (out_perm_.empty()) return e;
    Extra c{e.leaf, memory::dims(e.dims.size()), memory::dims(e.dims.size())};
    for (size_t j = 0; j < out_perm_.size(); ++j) {
      c.dims[static_cast<size_t>(out_perm_[j])] = e.dims[j];
      c.strides[static_cast<size_t>(out_perm_[j])] = e.strides[j];
    }
    // Broadcast dims get the stride a dense layout would give them, as collapse() does.
    int64_t dense = 1;
    for (size_t i = c.dims.size(); i-- > 0;) {
      if (c.dims[i] == 1) c.strides[i] = dense;
      dense = std::max(dense, c.strides[i] * c.dims[i]);
    }
    return c;
  }

  /// The leaf and strides of a convolution operand: an input, or a transposed view of one.
  const View& conv_operand(int32_t v) const {
    const View& x = view(v);
    require(x.leaf < static_cast<int32_t>(g_.inputs.size()));
    require(x.shape == g_.type(v).shape);
    for (size_t i = 0; i < x.shape.size(); ++i) require(x.shape[i] == 1 || x.strides[i] != 0);
    return x;
  }

  void contraction(const Node& n) {
    require(chain_ < 0);
    const TensorType& out = g_.type(n.out[0]);
    plan_.dtype = out.dtype;
    require(out.dtype == DType::F32 || out.dtype == DType::BF16);
    require(num_elements(out.shape) > 0);
    const Shape& sa = g_.type(n.in[0]).shape;
    const Shape& sb = g_.type(n.in[1]).shape;
    if (n.prim == Prim::dot_general) {
      plan_.a = input_leaf(n.in[0]);
      plan_.b = input_leaf(n.in[1]);
      require(dnnl_matmul_supports(out.dtype));
      const auto& p = std::get<detail::DotParams>(n.params);
      const Axes fa = free_axes(static_cast<int64_t>(sa.size()), p.contract_a, p.batch_a);
      const Axes fb = free_axes(static_cast<int64_t>(sb.size()), p.contract_b, p.batch_b);
      const int64_t batch = axes_product(sa, p.batch_a), m = axes_product(sa, fa),
                    nn = axes_product(sb, fb);
      const int64_t k = axes_product(sa, p.contract_a);
      require(k > 0);
      const auto sta = row_major(sa), stb = row_major(sb);
      auto g = [&](const Shape& s, const std::vector<int64_t>& st, const Axes& axes) {
        auto r = group_stride(s, st, axes);
        require(r.has_value());
        return *r;
      };
      GemmView v;
      v.batch = batch, v.m = m, v.n = nn, v.k = k;
      v.a_sb = g(sa, sta, p.batch_a), v.a_sm = g(sa, sta, fa), v.a_sk = g(sa, sta, p.contract_a);
      v.b_sb = g(sb, stb, p.batch_b), v.b_sk = g(sb, stb, p.contract_b), v.b_sn = g(sb, stb, fb);
      v = canonical(v);
      // oneDNN has fast kernels only when one of each operand's matrix strides is 1.
      require((v.a_sm == 1 || v.a_sk == 1) && (v.b_sk == 1 || v.b_sn == 1));
      const size_t nbat = p.batch_a.size(), nfa = fa.size();
      if (batch == 1) {
        plan_.a_dims = {m, k}, plan_.a_strides = {v.a_sm, v.a_sk};
        plan_.b_dims = {k, nn}, plan_.b_strides = {v.b_sk, v.b_sn};
        plan_.c_dims = {m, nn};
        groups_ = {{nbat, nbat + nfa}, {nbat + nfa, out.shape.size()}};
      } else {
        plan_.a_dims = {batch, m, k}, plan_.a_strides = {v.a_sb, v.a_sm, v.a_sk};
        plan_.b_dims = {batch, k, nn}, plan_.b_strides = {v.b_sb, v.b_sk, v.b_sn};
        plan_.c_dims = {batch, m, nn};
        groups_ = {{0, nbat}, {nbat, nbat + nfa}, {nbat + nfa, out.shape.size()}};
      }
      plan_.c_strides = row_major(plan_.c_dims);
    } else {
      const auto& p = std::get<detail::ConvParams>(n.params);
      const size_t d = sa.size() - 2;
      require(d >= 1 && d <= 3 && p.batch_groups == 1);
      // A kernel gradient runs faster as oneDNN's backward-weights convolution (the plain
      // conv_general path) than as a forward primitive with post-ops.
      require(!dnnl_conv_prefers_backward_weights(conv_geometry(p, sa, sb, out.shape)));
      plan_.conv = true;
      plan_.groups = p.feature_groups;
      const View& x = conv_operand(n.in[0]);
      const View& w = conv_operand(n.in[1]);
      plan_.a = x.leaf, plan_.b = w.leaf;
      plan_.a_dims = {sa.begin(), sa.end()};
      plan_.a_strides = x.strides;
      plan_.c_dims = {out.shape.begin(), out.shape.end()};
      plan_.c_strides = row_major(plan_.c_dims);
      if (p.feature_groups > 1) {
        plan_.b_dims = {p.feature_groups, sb[0] / p.feature_groups};
        plan_.b_dims.insert(plan_.b_dims.end(), sb.begin() + 1, sb.end());
        plan_.b_strides = {sb[0] / p.feature_groups * w.strides[0]};
        plan_.b_strides.insert(plan_.b_strides.end(), w.strides.begin(), w.strides.end());
      } else {
        plan_.b_dims = {sb.begin(), sb.end()};
        plan_.b_strides = w.strides;
      }
      for (size_t a = 0; a < d; ++a) {
        require(p.lhs_dilation[a] == 1 && p.pad_lo[a] >= 0 && p.pad_hi[a] >= 0);
        plan_.strides.push_back(p.strides[a]);
        plan_.dilates.push_back(p.rhs_dilation[a] - 1);
        plan_.pad_l.push_back(p.pad_lo[a]);
        plan_.pad_r.push_back(p.pad_hi[a]);
      }
      for (size_t ax = 0; ax < out.shape.size(); ++ax) groups_.emplace_back(ax, ax + 1);
    }
    chain_ = n.out[0];
    out_type_ = out;
  }

  static GemmView canonical(GemmView g) {
    // As contract_matmul.cpp: size-1 dimensions get the strides of a plain layout.
    if (g.m == 1) g.a_sm = g.a_sk == 1 ? g.k : 1;
    if (g.k == 1) {
      g.a_sk = g.a_sm == 1 ? g.m : 1;
      g.b_sk = g.b_sn == 1 ? g.n : 1;
    }
    if (g.n == 1) g.b_sn = g.b_sk == 1 ? g.k : 1;
    if (g.batch == 1) {
      g.a_sb = g.m * g.k;
      g.b_sb = g.k * g.n;
    }
    return g;
  }

  /// The scalar a one-element constant view holds, if `v` is one.
  std::optional<double> scalar(int32_t v) const {
    const View& x = view(v);
    const int32_t ni = static_cast<int32_t>(g_.inputs.size());
    if (x.leaf < ni) return std::nullopt;
    const Tensor& c = constants_[static_cast<size_t>(x.leaf - ni)];
    if (c.size() != 1) return std::nullopt;
    return detail::element_as_double(c, 0);
  }

  void eltwise(dnnl::algorithm alg, float alpha = 0, float beta = 0) {
    // oneDNN 2.6's brgemm kernels compute every eltwise_linear post-op of a primitive with the
    // constants of the first (measured: linear(0.5, -1) then linear(2, 0) is wrong), so a chain
    // holds one; further scalar operations become binary post-ops.
    if (alg == dnnl::algorithm::eltwise_linear) {
      require(!linear_used_);
      linear_used_ = true;
    }
    PostOp p;
    p.alg = alg, p.alpha = alpha, p.beta = beta;
    plan_.posts.push_back(p);
  }
  void binary(dnnl::algorithm alg, int32_t v) {
    PostOp p;
    p.binary = true;
    p.alg = alg;
    p.src1 = extra(v);
    if (plan_.conv) {
      // oneDNN 2.6's direct convolution kernels take binary operands that are scalars or one
      // value per output channel; with any other operand (a full tensor, per batch, per
      // position) it falls back to im2col + GEMM (x64:gemm:jit), measured 3-12x slower than
      // the direct kernel on ResNet-18's input gradients, far more than a separate elementwise
      // pass costs; so the chain stops before such an operand. With channels-last src and dst
      // a full-tensor operand in the same layout (a residual add) moves oneDNN from brgconv to
      // jit:avx512_core: on ResNet-18 at batch 1 that was 20-35% slower than brgconv plus a
      // separate pass (0.50-0.57 vs 0.42 ms per 3x3 convolution), at batch 16 no faster.
      for (size_t i = 0; i < p.src1.dims.size(); ++i) require(i == 1 || p.src1.dims[i] == 1);
    }
    plan_.posts.push_back(p);
  }

  void chain_op(const Node& n, int uses) {
    using A = dnnl::algorithm;
    const detail::PrimGroup group = detail::info(n.prim).group;
    if (group == detail::PrimGroup::Unary) {
      switch (n.prim) {
        case Prim::exp:
          return eltwise(A::eltwise_exp);
        case Prim::log:
          return eltwise(A::eltwise_log);
        case Prim::tanh:
          return eltwise(A::eltwise_tanh);
        case Prim::sigmoid:
          return eltwise(A::eltwise_logistic);
        case Prim::sqrt:
          return eltwise(A::eltwise_sqrt);
        case Prim::abs:
          return eltwise(A::eltwise_abs);
        case Prim::negate:
          return eltwise(A::eltwise_linear, -1.0f, 0.0f);
        default:
          throw Unsupported{};
      }
    }
    require(group == detail::PrimGroup::Binary && n.in.size() == 2);
    if (uses == 2) {
      require(n.prim == Prim::multiply);
      return eltwise(A::eltwise_square);
    }
    const bool first = n.in[0] == chain_;
    const int32_t other = first ? n.in[1] : n.in[0];
    if (auto s = scalar(other); s && !linear_used_) {
      const float v = static_cast<float>(*s);
      switch (n.prim) {
        case Prim::add:
          return eltwise(A::eltwise_linear, 1.0f, v);
        case Prim::multiply:
          return eltwise(A::eltwise_linear, v, 0.0f);
        case Prim::subtract:
          return first ? eltwise(A::eltwise_linear, 1.0f, -v)
                       : eltwise(A::eltwise_linear, -1.0f, v);
        default:
          break;
      }
    }
    if (auto s = scalar(other); s && n.prim == Prim::max && *s == 0.0 && !std::signbit(*s)) {
      return eltwise(A::eltwise_relu, 0.0f, 0.0f);
    }
    switch (n.prim) {
      case Prim::add:
        // The first add of a tensor after the product is the primitive's bias.
        if (length_ == 0 && !plan_.bias && !scalar(other)) {
          Extra e = extra(other);
          if (!plan_.conv) {
            // oneDNN 2.6 has fast matmuls only with a bias per column (measured: per-row,
            // per-batch and full biases fall back to its reference loops); others are
            // binary post-ops.
            bool per_column = true;
            for (size_t i = 0; i + 1 < e.dims.size(); ++i)
              per_column = per_column && e.dims[i] == 1;
            if (per_column) {
              plan_.bias = e;
              return;
            }
            return binary(A::binary_add, other);
          }
          // A convolution's bias is one value per output channel, contiguous.
          bool per_channel = e.dims[1] == plan_.c_dims[1] && e.strides[1] == 1;
          for (size_t i = 0; i < e.dims.size(); ++i)
            per_channel = per_channel && (i == 1 || e.dims[i] == 1);
          if (per_channel) {
            plan_.bias = Extra{e.leaf, {plan_.c_dims[1]}, {1}};
            return;
          }
        }
        return binary(A::binary_add, other);
      case Prim::multiply:
        return binary(A::binary_mul, other);
      case Prim::max:
        return binary(A::binary_max, other);
      case Prim::min:
        return binary(A::binary_min, other);
      case Prim::subtract:
        require(first);
        return binary(A::binary_sub, other);
      case Prim::divide:
        require(first);
        return binary(A::binary_div, other);
      default:
        throw Unsupported{};
    }
  }

  const Graph& g_;
  std::vector<Tensor>& constants_;
  std::vector<View> views_;
  Axes out_perm_;  ///< conv: the transpose of the result the chain runs on; empty: none
  Plan plan_;
  int32_t chain_ = -1;
  int length_ = 0;
  bool linear_used_ = false;
  TensorType out_type_;
  std::vector<std::pair<size_t, size_t>> groups_;
};

}  // namespace

std::vector<int64_t> row_major(const std::vector<int64_t>& dims) {
  std::vector<int64_t> st(dims.size());
  int64_t e = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    st[i] = e;
    e *= dims[i];
  }
  return st;
}

std::optional<Plan> read_plan(const Graph& program, std::vector<Tensor>& constants) {
  try {
    return Reader(program, constants).read();
  } catch (const Unsupported&) {
    return std::nullopt;
  }
}

}  // namespace nx::cpu::fused
