// Algebraic simplification: one table row per rule, with the graph simplify and DCE leave
// (dump_text), checked to compute what the original graph computes.
#include <gtest/gtest.h>

#include <functional>

#include "graph_build_util.hpp"
#include "nx/defn/passes.hpp"

namespace nx::detail {
namespace {

using nx::testing::expect_pass_preserves;
using nx::testing::f32t;
using nx::testing::GraphMaker;
using nx::testing::shared;
using nx::testing::splat;

Graph simplify_dce(const Graph& g) {
  return eliminate_dead_code(simplify(g));
}

// Runs simplify and DCE, checks the result and returns it.
Graph checked(const Graph& g, Graph (*pass)(const Graph&)) {
  expect_pass_preserves(g, pass, 1);
  return pass(g);
}

// ---- simplification -----------------------------------------------------------------------------

struct SimplifyCase {
  const char* name;
  std::function<void(GraphMaker&)> build;
  const char* expected;  // dump_text after simplify and DCE
};

TEST(DefnPasses, SimplifyRules) {
  const TensorType v4 = f32t({4});
  std::vector<SimplifyCase> cases = {
      {"x + 0",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         m.output({m.prim(Prim::add, {x, splat(m, 0.0, v4)})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"0 + x (scalar zero)",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         m.output({m.prim(Prim::add, {m.constant(nx::scalar(-0.0, f32)), x})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"scalar x + zeros[4] broadcasts x",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({}));
         m.output({m.prim(Prim::add, {x, m.constant(nx::zeros({4}))})});
       },
       "%0:f32 = param 0\n%1:f32[4] = broadcast_in_dim(%0) {shape=[4], axes=[]}\nreturn %1\n"},
      {"x - 0",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         m.output({m.prim(Prim::subtract, {x, splat(m, 0.0, v4)})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"x * 1, 1 * x, x / 1, x ** 1",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t a = m.prim(Prim::multiply, {x, splat(m, 1.0, v4)});
         int32_t b = m.prim(Prim::multiply, {splat(m, 1.0, v4), a});
         int32_t c = m.prim(Prim::divide, {b, splat(m, 1.0, v4)});
         m.output({m.prim(Prim::pow, {c, m.constant(nx::scalar(1.0, f32))})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"float x * 0 is kept (NaN, inf, -0)",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         m.output({m.prim(Prim::multiply, {x, splat(m, 0.0, v4)})});
       },
       "%0:f32[4] = param 0\n%1:f32 = constant 0\n"
       "%2:f32[4] = broadcast_in_dim(%1) {shape=[4], axes=[]}\n"
       "%3:f32[4] = multiply(%0, %2)\nreturn %3\n"},
      {"integer x * 0",
       [&](GraphMaker& m) {
         TensorType t{{4}, DType::S32};
         int32_t x = m.param(t);
         m.output({m.prim(Prim::multiply, {x, splat(m, 0.0, t)})});
       },
       "%0:s32[4] = param 0\n%1:s32 = constant 0\n"
       "%2:s32[4] = broadcast_in_dim(%1) {shape=[4], axes=[]}\nreturn %2\n"},
      {"-(-x)",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         m.output({m.prim(Prim::negate, {m.prim(Prim::negate, {x})})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"convert to the same dtype, through a wider one",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t a = m.prim(Prim::convert, {x}, ConvertParams{DType::F32});
         int32_t b = m.prim(Prim::convert, {a}, ConvertParams{DType::F64});
         m.output({m.prim(Prim::convert, {b}, ConvertParams{DType::F32})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"convert through a narrower dtype is kept",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t a = m.prim(Prim::convert, {x}, ConvertParams{DType::F16});
         m.output({m.prim(Prim::convert, {a}, ConvertParams{DType::F32})});
       },
       "%0:f32[4] = param 0\n%1:f16[4] = convert(%0) {dtype=f16}\n"
       "%2:f32[4] = convert(%1) {dtype=f32}\nreturn %2\n"},
      {"convert chains through an exact dtype",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t a = m.prim(Prim::convert, {x}, ConvertParams{DType::F64});
         m.output({m.prim(Prim::convert, {a}, ConvertParams{DType::S32})});
       },
       "%0:f32[4] = param 0\n%1:s32[4] = convert(%0) {dtype=s32}\nreturn %1\n"},
      {"bitcast chains",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t a = m.prim(Prim::bitcast, {x}, ConvertParams{DType::S32});
         int32_t b = m.prim(Prim::bitcast, {a}, ConvertParams{DType::U32});
         m.output({m.prim(Prim::bitcast, {b}, ConvertParams{DType::F32})});
       },
       "%0:f32[4] = param 0\nreturn %0\n"},
      {"reshape chains",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({2, 3}));
         int32_t a = m.prim(Prim::reshape, {x}, ReshapeParams{{2, 3}});
         int32_t b = m.prim(Prim::reshape, {a}, ReshapeParams{{6}});
         m.output({m.prim(Prim::reshape, {b}, ReshapeParams{{3, 2}})});
       },
       "%0:f32[2][3] = param 0\n%1:f32[3][2] = reshape(%0) {shape=[3, 2]}\nreturn %1\n"},
      {"transpose chains compose",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({2, 3, 4}));
         int32_t a = m.prim(Prim::transpose, {x}, AxesParams{{0, 1, 2}});
         int32_t b = m.prim(Prim::transpose, {a}, AxesParams{{1, 2, 0}});
         m.output({m.prim(Prim::transpose, {b}, AxesParams{{1, 2, 0}})});
       },
       "%0:f32[2][3][4] = param 0\n%1:f32[4][2][3] = transpose(%0) {axes=[2, 0, 1]}\n"
       "return %1\n"},
      {"transpose and its inverse",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({2, 3, 4}));
         int32_t a = m.prim(Prim::transpose, {x}, AxesParams{{1, 2, 0}});
         m.output({m.prim(Prim::transpose, {a}, AxesParams{{2, 0, 1}})});
       },
       "%0:f32[2][3][4] = param 0\nreturn %0\n"},
      {"dot_general of transposed matrices reads the matrices",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({3, 2}));  // used as transpose: [2, 3]
         int32_t w = m.param(f32t({4, 3}));  // used as transpose: [3, 4]
         int32_t xt = m.prim(Prim::transpose, {x}, AxesParams{{1, 0}});
         int32_t wt = m.prim(Prim::transpose, {w}, AxesParams{{1, 0}});
         m.output({m.prim(Prim::dot_general, {xt, wt}, DotParams{{1}, {}, {0}, {}})});
       },
       "%0:f32[3][2] = param 0\n%1:f32[4][3] = param 1\n"
       "%2:f32[2][4] = dot_general(%0, %1) {contract_a=[0], batch_a=[], contract_b=[1], "
       "batch_b=[]}\nreturn %2\n"},
      {"transpose of a matrix product swaps its operands",
       [&](GraphMaker& m) {
         int32_t dy = m.param(f32t({5, 4}));
         int32_t x = m.param(f32t({5, 3}));
         int32_t d = m.prim(Prim::dot_general, {dy, x}, DotParams{{0}, {}, {0}, {}});
         m.output({m.prim(Prim::transpose, {d}, AxesParams{{1, 0}})});
       },
       "%0:f32[5][4] = param 0\n%1:f32[5][3] = param 1\n"
       "%2:f32[3][4] = dot_general(%1, %0) {contract_a=[0], batch_a=[], contract_b=[0], "
       "batch_b=[]}\nreturn %2\n"},
      {"transpose of a matrix product read elsewhere stays",
       [&](GraphMaker& m) {
         int32_t a = m.param(f32t({2, 3}));
         int32_t b = m.param(f32t({3, 4}));
         int32_t d = m.prim(Prim::dot_general, {a, b}, DotParams{{1}, {}, {0}, {}});
         m.output({m.prim(Prim::transpose, {d}, AxesParams{{1, 0}}), d});
       },
       "%0:f32[2][3] = param 0\n%1:f32[3][4] = param 1\n"
       "%2:f32[2][4] = dot_general(%0, %1) {contract_a=[1], batch_a=[], contract_b=[0], "
       "batch_b=[]}\n%3:f32[4][2] = transpose(%2) {axes=[1, 0]}\nreturn %3, %2\n"},
      {"dot_general keeps transposes of batched or higher-rank operands",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({3, 2, 5}));
         int32_t w = m.param(f32t({2, 5, 4}));
         int32_t xt = m.prim(Prim::transpose, {x}, AxesParams{{1, 0, 2}});
         m.output({m.prim(Prim::dot_general, {xt, w}, DotParams{{2}, {0}, {1}, {0}})});
       },
       "%0:f32[3][2][5] = param 0\n%1:f32[2][5][4] = param 1\n"
       "%2:f32[2][3][5] = transpose(%0) {axes=[1, 0, 2]}\n"
       "%3:f32[2][3][4] = dot_general(%2, %1) {contract_a=[2], batch_a=[0], contract_b=[1], "
       "batch_b=[0]}\nreturn %3\n"},
      {"broadcast chains",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({3}));
         int32_t a = m.prim(Prim::broadcast_in_dim, {x}, BroadcastParams{{3}, {0}});
         int32_t b = m.prim(Prim::broadcast_in_dim, {a}, BroadcastParams{{2, 3}, {1}});
         m.output({m.prim(Prim::broadcast_in_dim, {b}, BroadcastParams{{4, 2, 3}, {1, 2}})});
       },
       "%0:f32[3] = param 0\n"
       "%1:f32[4][2][3] = broadcast_in_dim(%0) {shape=[4, 2, 3], axes=[2]}\nreturn %1\n"},
      {"slice of everything, slice of a slice",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({10}));
         int32_t a = m.prim(Prim::slice, {x}, SliceParams{{0}, {10}, {1}});
         int32_t b = m.prim(Prim::slice, {a}, SliceParams{{1}, {9}, {2}});
         m.output({m.prim(Prim::slice, {b}, SliceParams{{1}, {4}, {2}})});
       },
       "%0:f32[10] = param 0\n%1:f32[2] = slice(%0) {start=[3], limit=[8], strides=[4]}\n"
       "return %1\n"},
      {"reverse of unit axes, reverse twice",
       [&](GraphMaker& m) {
         int32_t x = m.param(f32t({1, 4}));
         int32_t a = m.prim(Prim::reverse, {x}, AxesParams{{0}});
         int32_t b = m.prim(Prim::reverse, {a}, AxesParams{{1}});
         m.output({m.prim(Prim::reverse, {b}, AxesParams{{1}})});
       },
       "%0:f32[1][4] = param 0\nreturn %0\n"},
      {"select on a constant predicate",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t y = m.param(v4);
         int32_t t = splat(m, 1.0, TensorType{{4}, DType::Pred});
         int32_t f = m.constant(nx::scalar(0.0, pred));
         int32_t a = m.prim(Prim::select, {t, x, y});
         m.output({a, m.prim(Prim::select, {f, x, y})});
       },
       "%0:f32[4] = param 0\n%1:f32[4] = param 1\nreturn %0, %1\n"},
      {"select between equal operands, max(x, x)",
       [&](GraphMaker& m) {
         int32_t p = m.param(TensorType{{4}, DType::Pred});
         int32_t x = m.param(v4);
         int32_t a = m.prim(Prim::select, {p, x, x});
         m.output({m.prim(Prim::max, {a, a})});
       },
       "%0:pred[4] = param 0\n%1:f32[4] = param 1\nreturn %1\n"},
      {"no-op pad, concatenate, reduce, dynamic slices",
       [&](GraphMaker& m) {
         int32_t x = m.param(v4);
         int32_t u = m.param(v4);
         int32_t zero = m.constant(nx::scalar(0.0, f32));
         int32_t a = m.prim(Prim::pad, {x, zero}, PadParams{{0}, {0}, {0}});
         int32_t b = m.prim(Prim::concatenate, {a}, ConcatParams{0});
         int32_t c = m.prim(Prim::reduce_sum, {b}, AxesParams{{}});
         int32_t i = m.constant(nx::scalar_int(2, s32));
         int32_t d = m.prim(Prim::dynamic_slice, {c, i}, DynamicSliceParams{{4}});
         m.output({d, m.prim(Prim::dynamic_update_slice, {d, u, i})});
       },
       "%0:f32[4] = param 0\n%1:f32[4] = param 1\nreturn %0, %1\n"},
      {"a large splat constant becomes a broadcast scalar",
       [&](GraphMaker& m) {
         m.output({m.constant(nx::full({100, 100}, 2.0))});
       },
       "%0:f32 = constant 2\n"
       "%1:f32[100][100] = broadcast_in_dim(%0) {shape=[100, 100], axes=[]}\nreturn %1\n"},
      {"movement of a large splat",
       [&](GraphMaker& m) {
         int32_t b = splat(m, 3.0, f32t({50, 100}));
         m.output({m.prim(Prim::reshape, {b}, ReshapeParams{{5000}})});
       },
       "%0:f32 = constant 3\n"
       "%1:f32[5000] = broadcast_in_dim(%0) {shape=[5000], axes=[]}\nreturn %1\n"},
      {"cond with equal branches",
       [&](GraphMaker& m) {
         auto branch = [] {
           GraphMaker b;
           b.output({b.prim(Prim::negate, {b.param(f32t({4}))})});
           return shared(b);
         };
         int32_t p = m.param(TensorType{{}, DType::Pred});
         int32_t x = m.param(f32t({4}));
         Node c;
         c.kind = NodeKind::Cond;
         c.in = {p, x};
         c.subgraphs = {branch(), branch()};
         m.output({m.node(c, {f32t({4})})[0]});
       },
       "%0:pred = param 0\n%1:f32[4] = param 1\n%2:f32[4] = negate(%1)\nreturn %2\n"},
  };
  for (const SimplifyCase& c : cases) {
    SCOPED_TRACE(c.name);
    GraphMaker m;
    c.build(m);
    Graph r = checked(m.g, &simplify_dce);
    EXPECT_EQ(dump_text(r), c.expected);
  }
}

TEST(DefnPasses, SimplifyWorksInsideControlFlow) {
  GraphMaker body;
  int32_t c = body.param(f32t({}));
  int32_t x = body.param(f32t({}));
  int32_t s = body.prim(Prim::add,
                        {c, body.prim(Prim::multiply, {x, body.constant(nx::scalar(1.0, f32))})});
  body.output({s, body.prim(Prim::negate, {body.prim(Prim::negate, {s})})});
  GraphMaker m;
  int32_t c0 = m.param(f32t({}));
  int32_t xs = m.param(f32t({6}));
  Node n;
  n.kind = NodeKind::Scan;
  n.in = {c0, xs};
  n.scan = ScanInfo{1, 1, 1, 6, true};
  n.subgraphs = {shared(body)};
  auto outs = m.node(n, {f32t({}), f32t({6})});
  m.output(outs);
  Graph r = checked(m.g, &simplify_dce);
  EXPECT_EQ(dump_text(*r.nodes.back().subgraphs[0]),
            "%0:f32 = param 0\n"
            "%1:f32 = param 1\n"
            "%2:f32 = add(%0, %1)\n"
            "return %2, %2\n");
}

}  // namespace
}  // namespace nx::detail
