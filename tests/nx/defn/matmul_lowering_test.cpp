// How nx::matmul traces: a matrix (or vector) rhs is contracted against all of the lhs's batch
// axes at once, as one dot_general without batch axes, so the CPU runs a single
// (batch * M, K) @ (K, N) product instead of broadcasting (and copying) the rhs per batch. Values
// are checked against a naive loop; the conformance cases matmul.* check them against NumPy and
// their gradients against PyTorch.
#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/defn/trace.hpp"
#include "nx/nx.hpp"

namespace nx::detail {
namespace {

using nx::testing::count_prim;
using nx::testing::f32t;
using nx::testing::random_tensor;

Graph traced_matmul(const Shape& a, const Shape& b) {
  std::vector<TensorType> types{f32t(a), f32t(b)};
  Traced t = trace_function(
      types, [](std::span<const Tensor> in) { return std::vector<Tensor>{matmul(in[0], in[1])}; });
  return *t.graph;
}

const Node& only_dot(const Graph& g) {
  const Node* dot = nullptr;
  for (const Node& n : g.nodes)
    if (n.kind == NodeKind::Prim && n.prim == Prim::dot_general) dot = &n;
  EXPECT_NE(dot, nullptr);
  return *dot;
}

TEST(MatmulLowering, MatrixRhsIsOneProductWithoutBroadcast) {
  Graph g = traced_matmul({2, 3, 4, 5}, {5, 6});
  EXPECT_EQ(count_prim(g, Prim::broadcast_in_dim), 0);
  EXPECT_EQ(count_prim(g, Prim::dot_general), 1);
  const auto& p = std::get<DotParams>(only_dot(g).params);
  EXPECT_TRUE(p.batch_a.empty());
  EXPECT_TRUE(p.batch_b.empty());
  EXPECT_EQ(g.types[static_cast<size_t>(g.outputs[0])].shape, (Shape{2, 3, 4, 6}));
}

TEST(MatmulLowering, VectorRhsDropsItsAxis) {
  Graph g = traced_matmul({2, 3, 4}, {4});
  EXPECT_EQ(count_prim(g, Prim::broadcast_in_dim), 0);
  EXPECT_EQ(g.types[static_cast<size_t>(g.outputs[0])].shape, (Shape{2, 3}));
}

TEST(MatmulLowering, BatchedRhsStillBroadcastsTheLhs) {
  Graph g = traced_matmul({3, 4}, {2, 4, 5});
  EXPECT_TRUE(std::get<DotParams>(only_dot(g).params).batch_a.size() == 1);
  EXPECT_EQ(g.types[static_cast<size_t>(g.outputs[0])].shape, (Shape{2, 3, 5}));
}

TEST(MatmulLowering, MatrixRhsValuesEagerAndJit) {
  // Large enough for the oneDNN path (one 48 x 64 @ 64 x 40 product).
  Tensor a = random_tensor(f32t({2, 3, 8, 64}), 1), b = random_tensor(f32t({64, 40}), 2);
  std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>();
  std::vector<double> want(2 * 3 * 8 * 40, 0.0);
  for (int64_t r = 0; r < 48; ++r)
    for (int64_t n = 0; n < 40; ++n)
      for (int64_t k = 0; k < 64; ++k)
        want[static_cast<size_t>(r * 40 + n)] +=
            static_cast<double>(av[static_cast<size_t>(r * 64 + k)]) *
            bv[static_cast<size_t>(k * 40 + n)];
  auto jf = nx::jit([](const Tensor& x, const Tensor& y) { return matmul(x, y); });
  for (const Tensor& got : {matmul(a, b), jf(a, b)}) {
    ASSERT_EQ(got.shape(), (Shape{2, 3, 8, 40}));
    std::vector<float> gv = got.to_vector<float>();
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(gv[i], want[i], 1e-3) << i;
  }
}

}  // namespace
}  // namespace nx::detail
