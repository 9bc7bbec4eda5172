// fuse_conv_layouts(): a conv_general that reads transposed operands or whose result is
// transposed becomes a "conv_layout" Fused node, run as one oneDNN convolution over strided
// views of the untransposed buffers (backends/cpu/dnnl_conv_layout.hpp).
//
// Two patterns produce such transposes, and materializing them cost a full copy of each
// activation per convolution:
//  - channels-last convolutions: nx::conv expresses NHWC input/output and HWIO kernels as
//    transposes around a conv_general on [N, C, spatial...];
//  - the kernel gradient vjp_conv_general emits: a convolution of transpose(x, {1, 0, ...})
//    with transpose(cotangent, {1, 0, ...}), whose result is transposed back.
// Only convolutions oneDNN takes with those strides are rewritten (the kernel is asked at
// compile time, so a rewritten node never falls back to the interpreted program); the
// transposes stay in the graph for their other readers, and dead-code elimination removes those
// nobody else reads. Runs after fuse(): convolutions that took an epilogue are left alone.
#include <memory>
#include <vector>

#include "../backends/cpu/contract_conv.hpp"
#include "../backends/cpu/dnnl_conv_layout.hpp"
#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

// Below this many multiply-adds the CPU backend runs conv_general without oneDNN
// (contract_conv.cpp's crossover), so there is nothing to gain.
constexpr double kDnnlConvMacs = 49152;

struct Rewrite {
  int32_t x = -1, k = -1;  ///< old values the Fused node reads
  Axes x_perm, k_perm;     ///< empty: the operand is read as it is
  int32_t out_node = -1;   ///< index of the absorbed output transpose, or -1
  std::shared_ptr<const Graph> program;
};

}  // namespace

Graph fuse_conv_layouts(const Graph& g) {
  std::vector<int32_t> producer(g.num_values(), -1);
  std::vector<int32_t> readers(g.num_values(), 0);
  std::vector<int32_t> reader(g.num_values(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int32_t v : g.nodes[i].out) producer[static_cast<size_t>(v)] = static_cast<int32_t>(i);
    for (int32_t v : g.nodes[i].in) {
      ++readers[static_cast<size_t>(v)];
      reader[static_cast<size_t>(v)] = static_cast<int32_t>(i);
    }
  }
  for (int32_t v : g.outputs) readers[static_cast<size_t>(v)] += 2;  // never absorbed
  std::vector<int32_t> absorbed_by(g.nodes.size(), -1);
  // A transpose another rewrite absorbed has no node of its own to look through.
  auto transpose_at = [&](int32_t node) -> const Node* {
    if (node < 0 || absorbed_by[static_cast<size_t>(node)] >= 0) return nullptr;
    const Node& n = g.nodes[static_cast<size_t>(node)];
    return n.kind == NodeKind::Prim && n.prim == Prim::transpose &&
                   std::holds_alternative<AxesParams>(n.params)
               ? &n
               : nullptr;
  };

  std::vector<Rewrite> plan(g.nodes.size());
  bool any = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.kind != NodeKind::Prim || n.prim != Prim::conv_general) continue;
    const TensorType& yt = g.type(n.out[0]);
    if (yt.dtype != DType::F32 && yt.dtype != DType::BF16) continue;
    if (g.type(n.in[0]).dtype != yt.dtype || g.type(n.in[1]).dtype != yt.dtype) continue;
    const auto geometry = cpu::conv_geometry(std::get<ConvParams>(n.params), g.type(n.in[0]).shape,
                                             g.type(n.in[1]).shape, yt.shape);
    if (geometry.macs() < kDnnlConvMacs) continue;
    Rewrite r;
    r.x = n.in[0], r.k = n.in[1];
    if (const Node* t = transpose_at(producer[static_cast<size_t>(n.in[0])])) {
      r.x = t->in[0], r.x_perm = std::get<AxesParams>(t->params).axes;
    }
    if (const Node* t = transpose_at(producer[static_cast<size_t>(n.in[1])])) {
      r.k = t->in[0], r.k_perm = std::get<AxesParams>(t->params).axes;
    }
    const int32_t y = n.out[0];
    const Node* out_t = nullptr;
    if (readers[static_cast<size_t>(y)] == 1) {
      out_t = transpose_at(reader[static_cast<size_t>(y)]);
      if (out_t) r.out_node = reader[static_cast<size_t>(y)];
    }
    if (r.x_perm.empty() && r.k_perm.empty() && !out_t) continue;

    // The program: Params, the transposes, the convolution, the output transpose.
    auto p = std::make_shared<Graph>();
    auto param = [&](int32_t old, int32_t index) {
      const int32_t v = p->add_value(g.type(old));
      Node pn;
      pn.kind = NodeKind::Param;
      pn.index = index;
      pn.out = {v};
      p->add_node(std::move(pn));
      p->inputs.push_back(v);
      return v;
    };
    auto prim = [&](Prim op, std::vector<int32_t> in, Params params, const TensorType& t) {
      const int32_t v = p->add_value(t);
      Node pn;
      pn.prim = op;
      pn.params = std::move(params);
      pn.in = std::move(in);
      pn.out = {v};
      p->add_node(std::move(pn));
      return v;
    };
    int32_t px = param(r.x, 0), pk = param(r.k, 1);
    if (!r.x_perm.empty()) px = prim(Prim::transpose, {px}, AxesParams{r.x_perm}, g.type(n.in[0]));
    if (!r.k_perm.empty()) pk = prim(Prim::transpose, {pk}, AxesParams{r.k_perm}, g.type(n.in[1]));
    int32_t result = prim(Prim::conv_general, {px, pk}, n.params, yt);
    if (out_t) result = prim(Prim::transpose, {result}, out_t->params, g.type(out_t->out[0]));
    p->outputs = {result};
    if (!cpu::fused::conv_layout_supported(*p)) continue;
    r.program = std::move(p);
    if (r.out_node >= 0) absorbed_by[static_cast<size_t>(r.out_node)] = static_cast<int32_t>(i);
    plan[i] = std::move(r);
    any = true;
  }
  if (!any) return g;

  GraphBuilder b(g);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (absorbed_by[i] >= 0) continue;  // computed by its convolution's Fused node
    const Rewrite& r = plan[i];
    if (!r.program) {
      b.copy(n);
      continue;
    }
    Node f;
    f.kind = NodeKind::Fused;
    f.prim = Prim::add;
    f.name = "conv_layout";
    f.in = {b.get(r.x), b.get(r.k)};
    f.subgraphs = {r.program};
    const TensorType out_type = r.program->type(r.program->outputs[0]);
    const int32_t v = b.emit(std::move(f), std::vector<TensorType>{out_type})[0];
    // With an absorbed output transpose the Fused node stands for that transpose's result (the
    // convolution's own value has no other reader).
    b.set(r.out_node >= 0 ? g.nodes[static_cast<size_t>(r.out_node)].out[0] : n.out[0], v);
  }
  return b.finish();
}

}  // namespace nx::detail
