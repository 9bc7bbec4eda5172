// Tracing: bind records nodes, concrete tensors become constants, enclosing-trace tensors are
// captured, and traced tensors cannot be read or escape.
#include "nx/defn/trace.hpp"

#include <gtest/gtest.h>

#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx::detail {
namespace {

TEST(DefnTrace, RecordsPrimitivesOverParams) {
  TensorType t{{2, 3}, DType::F32};
  std::vector<TensorType> params = {t, t};
  Traced tr = trace_function(params, [](std::span<const Tensor> p) {
    EXPECT_TRUE(p[0].is_traced());
    EXPECT_EQ(p[0].shape(), (Shape{2, 3}));
    return std::vector<Tensor>{nx::exp(p[0]) + p[1]};
  });
  const Graph& g = *tr.graph;
  EXPECT_EQ(g.inputs.size(), 2u);
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.type(g.outputs[0]), t);
  int prims = 0;
  for (const Node& n : g.nodes) prims += n.kind == NodeKind::Prim;
  EXPECT_EQ(prims, 2);
  EXPECT_TRUE(tr.captures.empty());
}

TEST(DefnTrace, ConcreteTensorsBecomeConstants) {
  Tensor c = nx::tensor({1.0f, 2.0f});
  TensorType t{{2}, DType::F32};
  Traced tr = trace_function(
      {&t, 1}, [&](std::span<const Tensor> p) { return std::vector<Tensor>{p[0] * c + c}; });
  int constants = 0;
  for (const Node& n : tr.graph->nodes) constants += n.kind == NodeKind::Constant;
  EXPECT_EQ(constants, 1);  // one constant node for c, used twice
}

TEST(DefnTrace, TracedDataCannotBeRead) {
  TensorType t{{}, DType::F32};
  EXPECT_THROW(trace_function({&t, 1},
                              [](std::span<const Tensor> p) {
                                (void)p[0].item<float>();
                                return std::vector<Tensor>{p[0]};
                              }),
               Error);
}

TEST(DefnTrace, EscapedTracerIsAnError) {
  Tensor leaked;
  TensorType t{{}, DType::F32};
  trace_function({&t, 1}, [&](std::span<const Tensor> p) {
    leaked = p[0] + 1;
    return std::vector<Tensor>{leaked};
  });
  try {
    (void)(leaked + 1);
    FAIL() << "expected nx::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos) << e.what();
  }
}

TEST(DefnTrace, NestedTraceCapturesOuterValues) {
  TensorType t{{3}, DType::F32};
  Traced outer = trace_function({&t, 1}, [&](std::span<const Tensor> p) {
    Tensor a = p[0] * 2;
    Traced inner = trace_function(
        {&t, 1}, [&](std::span<const Tensor> q) { return std::vector<Tensor>{q[0] + a}; });
    EXPECT_EQ(inner.captures.size(), 1u);
    EXPECT_EQ(inner.graph->inputs.size(), 2u);
    return std::vector<Tensor>{a};
  });
  EXPECT_TRUE(outer.captures.empty());
}

TEST(DefnTrace, FilledTensorsAreBroadcastsUnderTracing) {
  TensorType t{{512, 512}, DType::F32};
  Traced tr = trace_function({&t, 1}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{p[0] + nx::zeros({512, 512})};
  });
  for (const Node& n : tr.graph->nodes) {
    if (n.kind == NodeKind::Constant) {
      EXPECT_EQ(n.constant.size(), 1);
    }
  }
}

}  // namespace
}  // namespace nx::detail
