// conv_layout kernels: one oneDNN convolution over transposed views (see dnnl_conv_layout.hpp).
#include "dnnl_conv_layout.hpp"

#include <optional>

#include "../../core/tensor_impl.hpp"
#include "contract_conv.hpp"
#include "dnnl_common.hpp"

namespace nx::cpu::fused {

namespace {

using detail::Graph;
using detail::Node;
using detail::NodeKind;
using detail::Prim;

// The convolution a conv_layout program computes: its geometry (of the operands as
// conv_general sees them), the strides of the buffers it reads and writes, and which program
// input is the input and which the kernel.
struct Layout {
  DType dtype{};
  ConvGeometry g;
  ConvStrides strides;
  size_t x_input = 0, k_input = 1;
};

const Node* producer(const Graph& p, int32_t v) {
  for (const Node& n : p.nodes)
    for (int32_t o : n.out)
      if (o == v) return &n;
  return nullptr;
}

bool is_param(const Node* n) {
  return n && n->kind == NodeKind::Param;
}

bool is_transpose(const Node* n) {
  return n && n->kind == NodeKind::Prim && n->prim == Prim::transpose &&
         std::holds_alternative<detail::AxesParams>(n->params);
}

// Strides of operand `v` of the convolution: a Param (row-major) or a transpose of one (whose
// axis i reads the Param's axis perm[i]). Sets `input` to the Param's position.
std::optional<Shape> operand_strides(const Graph& p, int32_t v, size_t& input) {
  const Node* n = producer(p, v);
  if (is_param(n)) {
    input = static_cast<size_t>(n->index);
    return strides_of(p.type(v).shape);
  }
  if (!is_transpose(n)) return std::nullopt;
  const Node* src = producer(p, n->in[0]);
  if (!is_param(src)) return std::nullopt;
  input = static_cast<size_t>(src->index);
  const Shape phys = strides_of(p.type(n->in[0]).shape);
  const Axes& perm = std::get<detail::AxesParams>(n->params).axes;
  Shape s(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) s[i] = phys[static_cast<size_t>(perm[i])];
  return s;
}

std::optional<Layout> read_program(const Graph& p) {
  if (p.inputs.size() != 2 || p.outputs.size() != 1) return std::nullopt;
  const Node* conv = nullptr;
  for (const Node& n : p.nodes) {
    if (n.kind == NodeKind::Prim && n.prim == Prim::conv_general) {
      if (conv) return std::nullopt;
      conv = &n;
    }
  }
  if (!conv) return std::nullopt;
  Layout l;
  auto xs = operand_strides(p, conv->in[0], l.x_input);
  auto ks = operand_strides(p, conv->in[1], l.k_input);
  if (!xs || !ks || l.x_input == l.k_input) return std::nullopt;
  const int32_t y = conv->out[0];
  const int32_t result = p.outputs[0];
  Shape ys;
  if (result == y) {
    ys = strides_of(p.type(y).shape);
  } else {
    const Node* t = producer(p, result);
    if (!is_transpose(t) || t->in[0] != y) return std::nullopt;
    // The result's axis j is the convolution's axis perm[j].
    const Shape phys = strides_of(p.type(result).shape);
    const Axes& perm = std::get<detail::AxesParams>(t->params).axes;
    ys.assign(perm.size(), 0);
    for (size_t j = 0; j < perm.size(); ++j) ys[static_cast<size_t>(perm[j])] = phys[j];
  }
  const TensorType& xt = p.type(conv->in[0]);
  l.dtype = xt.dtype;
  l.g = conv_geometry(std::get<detail::ConvParams>(conv->params), xt.shape,
                      p.type(conv->in[1]).shape, p.type(y).shape);
  const Shape row_major_k = strides_of(p.type(conv->in[1]).shape);
  const bool contiguous_k = *ks == row_major_k;
  l.strides = ConvStrides{std::move(*xs), std::move(*ks), std::move(ys), contiguous_k};
  return l;
}

struct ConvLayoutState final : detail::FusedState {
  std::shared_ptr<DnnlConvArgs> args;
};

class ConvLayoutKernel final : public detail::FusedKernel {
 public:
  ConvLayoutKernel(Layout l, std::shared_ptr<const DnnlConv> c)
      : l_(std::move(l)), c_(std::move(c)) {}

  void run(std::span<const Tensor> in, std::span<Tensor> out) const override {
    dnnl_util::Scratch scratch;
    void* s = scratch.take(scratch_bytes());
    auto state = make_state(s);
    run_with(in, out, s, state.get());
  }
  size_t scratch_bytes() const override { return dnnl_conv_scratch_bytes(*c_); }
  std::unique_ptr<detail::FusedState> make_state(void* scratch) const override {
    auto st = std::make_unique<ConvLayoutState>();
    st->args = dnnl_conv_bind(*c_, scratch);
    return st;
  }
  void run_with(std::span<const Tensor> in, std::span<Tensor> out, void* scratch,
                detail::FusedState* state) const override {
    auto* st = static_cast<ConvLayoutState*>(state);
    dnnl_conv_run(*c_, *st->args, l_.dtype, l_.g, in[l_.x_input].raw_data(),
                  in[l_.k_input].raw_data(), detail::mutable_data(out[0]), scratch,
                  in[l_.k_input].impl()->buffer->id());
  }

 private:
  Layout l_;
  std::shared_ptr<const DnnlConv> c_;
};

}  // namespace

std::unique_ptr<detail::FusedKernel> prepare_conv_layout(const Graph& program) {
  std::optional<Layout> l = read_program(program);
  if (!l) return nullptr;
  auto c = dnnl_conv_prepare(l->dtype, l->g, l->strides);
  if (!c) return nullptr;
  return std::make_unique<ConvLayoutKernel>(std::move(*l), std::move(c));
}

bool conv_layout_supported(const Graph& program) {
  std::optional<Layout> l = read_program(program);
  return l && dnnl_conv_prepare(l->dtype, l->g, l->strides) != nullptr;
}

}  // namespace nx::cpu::fused
