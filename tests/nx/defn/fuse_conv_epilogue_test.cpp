// Which elementwise chains become a convolution's oneDNN post-ops: only those oneDNN runs in
// its direct kernels (scalars, one value per output channel, eltwise), never a full-tensor,
// per-batch or per-position operand (which sends oneDNN 2.6 to im2col + GEMM); those stay a
// separate elementwise cluster. Kernel gradients are never fused (they run as oneDNN's
// backward-weights convolution). Each case also runs compiled and eager and must agree.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/defn/passes.hpp"
#include "nx/defn/trace.hpp"
#include "nx/nx.hpp"

namespace nx::detail {
namespace {

using nx::testing::count_prim;
using nx::testing::f32t;
using nx::testing::random_tensor;

Graph trace(const std::vector<TensorType>& types, const TraceFn& f) {
  Traced t = trace_function(types, f);
  EXPECT_EQ(t.captures.size(), 0u);
  return *t.graph;
}

/// The conv_epilogue nodes of a fused graph.
std::vector<const Node*> epilogues(const Graph& g) {
  std::vector<const Node*> out;
  for (const Node& n : g.nodes)
    if (n.kind == NodeKind::Fused && n.name == "conv_epilogue") out.push_back(&n);
  return out;
}

int elementwise_clusters(const Graph& g) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.kind == NodeKind::Fused && n.name == "elementwise";
  return c;
}

/// Binary elementwise nodes of a program, of any operand shape.
int binaries(const Graph& program) {
  int c = 0;
  for (const Node& n : program.nodes)
    c += n.kind == NodeKind::Prim && info(n.prim).group == PrimGroup::Binary;
  return c;
}

/// f compiled (all passes) against f eager, on random inputs of `types`.
void expect_jit_matches_eager(const std::vector<TensorType>& types, const TraceFn& f) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < types.size(); ++i)
    in.push_back(random_tensor(types[i], static_cast<uint32_t>(i + 1)));
  std::vector<Tensor> want = f(in);
  auto jf = nx::jit([&](const Tensor& a, const Tensor& b, const Tensor& c) {
    std::vector<Tensor> args{a, b, c};
    return f(args)[0];
  });
  Tensor got = jf(in[0], in[1], in[2]);
  ASSERT_EQ(got.type(), want[0].type());
  std::vector<double> g = got.to_vector<double>(), w = want[0].to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], 1e-4 * std::max(1.0, std::fabs(w[i]))) << "element " << i;
}

const ConvOptions kSame{.padding = Padding::same()};

TEST(DefnFuseConvEpilogue, PerChannelAndScalarOperandsAreFused) {
  // Bias, per-channel scale and shift (batch norm at inference), a scalar, relu.
  const std::vector<TensorType> types{f32t({2, 8, 12, 12}), f32t({16, 8, 3, 3}), f32t({16})};
  TraceFn f = [](std::span<const Tensor> p) {
    Tensor c = nx::reshape(p[2], {1, 16, 1, 1});
    Tensor y = nx::conv(p[0], p[1], kSame) + c;
    return std::vector<Tensor>{nx::max(((y * c) - c) / 3.0, 0.0)};
  };
  Graph fused = fuse(trace(types, f));
  std::vector<const Node*> e = epilogues(fused);
  ASSERT_EQ(e.size(), 1u) << dump_text(fused);
  EXPECT_EQ(count_prim(fused, Prim::conv_general), 0) << dump_text(fused);
  EXPECT_EQ(elementwise_clusters(fused), 0) << dump_text(fused);
  EXPECT_EQ(binaries(*e[0]->subgraphs[0]), 5) << dump_text(*e[0]->subgraphs[0]);
  expect_jit_matches_eager(types, f);
}

TEST(DefnFuseConvEpilogue, FullTensorOperandsStayElementwise) {
  // A residual add: the chain stops before it, so only the bias is fused; the add and the relu
  // become a cluster of their own.
  const std::vector<TensorType> types{f32t({2, 8, 12, 12}), f32t({8, 8, 3, 3}),
                                      f32t({2, 8, 12, 12})};
  TraceFn residual = [](std::span<const Tensor> p) {
    Tensor y = nx::conv(p[0], p[1], kSame) * 0.5;
    return std::vector<Tensor>{nx::max(y + p[2], 0.0)};
  };
  Graph fused = fuse(trace(types, residual));
  std::vector<const Node*> e = epilogues(fused);
  ASSERT_EQ(e.size(), 1u) << dump_text(fused);
  EXPECT_EQ(binaries(*e[0]->subgraphs[0]), 1) << dump_text(*e[0]->subgraphs[0]);  // * 0.5
  EXPECT_EQ(elementwise_clusters(fused), 1) << dump_text(fused);
  expect_jit_matches_eager(types, residual);

  // The input gradient of relu(conv): the mask multiplies first, so nothing is fused.
  TraceFn masked = [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::conv(p[0], p[1], kSame) * p[2] + 1.0};
  };
  fused = fuse(trace(types, masked));
  EXPECT_EQ(epilogues(fused).size(), 0u) << dump_text(fused);
  EXPECT_EQ(count_prim(fused, Prim::conv_general), 1) << dump_text(fused);
  expect_jit_matches_eager(types, masked);
}

TEST(DefnFuseConvEpilogue, PerBatchAndPerPositionOperandsStayElementwise) {
  for (const Shape& s : {Shape{2, 1, 1, 1}, Shape{1, 1, 12, 12}, Shape{1, 8, 12, 1}}) {
    SCOPED_TRACE(::testing::PrintToString(s));
    const std::vector<TensorType> types{f32t({2, 8, 12, 12}), f32t({8, 8, 3, 3}), f32t(s)};
    TraceFn f = [](std::span<const Tensor> p) {
      return std::vector<Tensor>{nx::tanh(nx::conv(p[0], p[1], kSame) - p[2])};
    };
    Graph fused = fuse(trace(types, f));
    EXPECT_EQ(epilogues(fused).size(), 0u) << dump_text(fused);
    expect_jit_matches_eager(types, f);
  }
}

TEST(DefnFuseConvEpilogue, KernelGradientsAreNotFused) {
  // A kernel larger than the output: the plain path runs it as a weight gradient.
  const std::vector<TensorType> types{f32t({16, 4, 28, 28}), f32t({32, 4, 26, 26}), f32t({32})};
  TraceFn f = [](std::span<const Tensor> p) {
    Tensor y = nx::conv(p[0], p[1]) + nx::reshape(p[2], {1, 32, 1, 1});
    return std::vector<Tensor>{nx::max(y, 0.0)};
  };
  Graph fused = fuse(trace(types, f));
  EXPECT_EQ(epilogues(fused).size(), 0u) << dump_text(fused);
  EXPECT_EQ(count_prim(fused, Prim::conv_general), 1) << dump_text(fused);
  expect_jit_matches_eager(types, f);
}

}  // namespace
}  // namespace nx::detail
