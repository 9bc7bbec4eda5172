// Graph passes: each test shows what a pass removes, merges, folds or rewrites (dump_text), that
// the result still verifies, and that it computes what the input graph computed (interpret on
// random inputs).
#include "nx/defn/passes.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/defn/trace.hpp"

namespace nx::detail {
namespace {

using nx::testing::count_kind;
using nx::testing::count_prim;
using nx::testing::count_prim_deep;
using nx::testing::expect_same_results;
using nx::testing::f32t;
using nx::testing::GraphMaker;
using nx::testing::random_inputs;
using nx::testing::shared;
using nx::testing::splat;

const TensorType kS32{{}, DType::S32};

// Runs `pass`, verifies its result and checks it computes what `g` does.
Graph checked(const Graph& g, Graph (*pass)(const Graph&), uint32_t seed = 1) {
  nx::testing::expect_pass_preserves(g, pass, seed);
  return pass(g);
}

Graph fold_dce(const Graph& g) {
  return eliminate_dead_code(fold_constants(g));
}
Graph cse_dce(const Graph& g) {
  return eliminate_dead_code(eliminate_common_subexpressions(g));
}
Graph optimize_plain(const Graph& g) {
  return optimize(g);
}

// ---- dead code ----------------------------------------------------------------------------------

TEST(DefnPasses, DceRemovesUnusedNodes) {
  GraphMaker m;
  int32_t x = m.param(f32t({4}));
  int32_t e = m.prim(Prim::exp, {x});
  m.prim(Prim::log, {x});
  m.constant(nx::scalar(3.0, f32));
  m.output({e});
  Graph r = checked(m.g, &eliminate_dead_code);
  EXPECT_EQ(dump_text(r),
            "%0:f32[4] = param 0\n"
            "%1:f32[4] = exp(%0)\n"
            "return %1\n");
}

TEST(DefnPasses, DceKeepsParamsAndHooks) {
  GraphMaker m;
  int32_t x = m.param(f32t({4}));
  m.param(f32t({4}));
  int calls = 0;
  m.hook(m.prim(Prim::negate, {x}), "h", [&](const Tensor&) { ++calls; });
  m.prim(Prim::sqrt, {x});
  m.output({m.prim(Prim::exp, {x})});
  Graph r = checked(m.g, &eliminate_dead_code);
  EXPECT_EQ(dump_text(r),
            "%0:f32[4] = param 0\n"
            "%1:f32[4] = param 1\n"
            "%2:f32[4] = negate(%0)\n"
            "%3:f32[4] = hook(%2) {name=\"h\"}\n"
            "%4:f32[4] = exp(%0)\n"
            "return %4\n");
  calls = 0;
  interpret(r, random_inputs(r));
  EXPECT_EQ(calls, 1);
}

TEST(DefnPasses, DceNarrowsCondToTheResultsRead) {
  GraphMaker t, f;
  for (GraphMaker* b : {&t, &f}) {
    b->param(f32t({2}));
    b->param(f32t({2}));
  }
  t.output({t.prim(Prim::negate, {0}), t.prim(Prim::exp, {1})});
  f.output({0, f.prim(Prim::log, {1})});
  GraphMaker m;
  int32_t p = m.param(TensorType{{}, DType::Pred});
  int32_t a = m.param(f32t({2}));
  int32_t b = m.param(f32t({2}));
  Node c;
  c.kind = NodeKind::Cond;
  c.in = {p, a, b};
  c.subgraphs = {shared(t), shared(f)};
  m.output({m.node(c, {f32t({2}), f32t({2})})[0]});
  Graph r = checked(m.g, &eliminate_dead_code);
  EXPECT_EQ(dump_text(r),
            "%0:pred = param 0\n"
            "%1:f32[2] = param 1\n"
            "%2:f32[2] = param 2\n"
            "%3:f32[2] = cond(%0, %1) {\n"
            "  true {\n"
            "    %0:f32[2] = param 0\n"
            "    %1:f32[2] = negate(%0)\n"
            "    return %1\n"
            "  }\n"
            "  false {\n"
            "    %0:f32[2] = param 0\n"
            "    return %0\n"
            "  }\n"
            "}\n"
            "return %3\n");
  // Both branches taken.
  std::vector<Tensor> in = random_inputs(m.g);
  in[0] = nx::scalar(0.0, pred);
  expect_same_results(m.g, r, in);
}

TEST(DefnPasses, DceNarrowsScanAndWhile) {
  // Scan body (c, x1, x2, k) -> (c + x1, ys: x2 * k, c + x1); only the carry and last ys are read.
  GraphMaker body;
  int32_t c = body.param(f32t({}));
  int32_t x1 = body.param(f32t({}));
  int32_t x2 = body.param(f32t({}));
  int32_t k = body.param(f32t({}));
  int32_t s = body.prim(Prim::add, {c, x1});
  body.output({s, body.prim(Prim::multiply, {x2, k}), s});
  GraphMaker m;
  int32_t c0 = m.param(f32t({}));
  int32_t xs1 = m.param(f32t({5}));
  int32_t xs2 = m.param(f32t({5}));
  int32_t kk = m.param(f32t({}));
  Node n;
  n.kind = NodeKind::Scan;
  n.in = {c0, xs1, xs2, kk};
  n.scan = ScanInfo{1, 2, 2, 5, false};
  n.subgraphs = {shared(body)};
  auto outs = m.node(n, {f32t({}), f32t({5}), f32t({5})});
  m.output({outs[0], outs[2]});
  Graph r = checked(m.g, &eliminate_dead_code);
  const Node& scan = r.nodes.back();
  ASSERT_EQ(scan.kind, NodeKind::Scan);
  EXPECT_EQ(scan.scan, (ScanInfo{1, 1, 1, 5, false}));
  EXPECT_EQ(scan.in, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(scan.subgraphs[0]->inputs.size(), 2u);

  // While with an unused capture.
  GraphMaker cg, bg;
  for (GraphMaker* g : {&cg, &bg}) {
    g->param(kS32);
    g->param(kS32);
    g->param(f32t({3}));
  }
  cg.output({cg.prim(Prim::less, {0, cg.constant(nx::scalar_int(10, s32))})});
  bg.output({bg.prim(Prim::add, {0, 1})});
  GraphMaker w;
  int32_t start = w.param(kS32);
  int32_t step = w.constant(nx::scalar_int(3, s32));
  int32_t unused = w.param(f32t({3}));
  Node wn;
  wn.kind = NodeKind::While;
  wn.in = {start, step, unused};
  wn.scan.num_carry = 1;
  wn.subgraphs = {shared(cg), shared(bg)};
  w.output({w.node(wn, {kS32})[0]});
  Graph wr = checked(w.g, &eliminate_dead_code);
  const Node& loop = wr.nodes.back();
  ASSERT_EQ(loop.kind, NodeKind::While);
  EXPECT_EQ(loop.in.size(), 2u);
  EXPECT_EQ(loop.subgraphs[0]->inputs.size(), 2u);
  EXPECT_EQ(loop.subgraphs[1]->inputs.size(), 2u);
}

// ---- common subexpressions ----------------------------------------------------------------------

TEST(DefnPasses, CseMergesEqualNodesAndConstants) {
  GraphMaker m;
  int32_t x = m.param(f32t({3}));
  int32_t y = m.param(f32t({3}));
  int32_t a = m.prim(Prim::add, {x, y});
  int32_t b = m.prim(Prim::add, {y, x});  // commutative
  int32_t s1 = m.prim(Prim::subtract, {x, y});
  int32_t s2 = m.prim(Prim::subtract, {y, x});  // not commutative
  int32_t c1 = m.constant(nx::scalar(2.0, f32));
  int32_t c2 = m.constant(nx::scalar(2.0, f32));  // another tensor, same data
  int32_t c3 = m.constant(nx::scalar(3.0, f32));
  int32_t c4 = m.constant(nx::scalar(2.0, f64));  // same value, another dtype
  m.output({a, b, s1, s2, c1, c2, c3, c4});
  Graph r = checked(m.g, &eliminate_common_subexpressions);
  EXPECT_EQ(dump_text(r),
            "%0:f32[3] = param 0\n"
            "%1:f32[3] = param 1\n"
            "%2:f32[3] = add(%0, %1)\n"
            "%3:f32[3] = subtract(%0, %1)\n"
            "%4:f32[3] = subtract(%1, %0)\n"
            "%5:f32 = constant 2\n"
            "%6:f32 = constant 3\n"
            "%7:f64 = constant 2\n"
            "return %2, %2, %3, %4, %5, %5, %6, %7\n");
}

TEST(DefnPasses, CseMergesChainsAndRandomBits) {
  GraphMaker m;
  int32_t key = m.constant(nx::tensor({1u, 2u}));
  int32_t c0 = m.param(TensorType{{4}, DType::U32});
  int32_t c1 = m.param(TensorType{{4}, DType::U32});
  auto r1 = m.prims(Prim::threefry2x32, {key, c0, c1});
  auto r2 = m.prims(Prim::threefry2x32, {key, c0, c1});
  // A chain that is duplicated as a whole merges step by step.
  int32_t e1 = m.prim(Prim::bitwise_xor, {r1[0], r1[1]});
  int32_t e2 = m.prim(Prim::bitwise_xor, {r2[0], r2[1]});
  m.output({e1, e2});
  Graph r = checked(m.g, &cse_dce);
  EXPECT_EQ(count_prim(r, Prim::threefry2x32), 1);
  EXPECT_EQ(count_prim(r, Prim::bitwise_xor), 1);
  EXPECT_EQ(r.outputs[0], r.outputs[1]);
}

TEST(DefnPasses, CseNeverMergesHooksOrCustomGradients) {
  GraphMaker m;
  int32_t x = m.param(f32t({3}));
  int calls = 0;
  auto fn = [&](const Tensor&) { ++calls; };
  int32_t h1 = m.hook(x, "h", fn);
  int32_t h2 = m.hook(x, "h", fn);
  auto vjp =
      std::make_shared<const CustomVjp>([](const Tensor& g) { return std::vector<Tensor>{g}; });
  Node cg;
  cg.kind = NodeKind::CustomGrad;
  cg.in = {x, x};
  cg.vjp = vjp;
  int32_t g1 = m.node(cg, {f32t({3})})[0];
  int32_t g2 = m.node(cg, {f32t({3})})[0];
  m.output({h1, h2, g1, g2});
  Graph r = checked(m.g, &eliminate_common_subexpressions);
  EXPECT_EQ(count_kind(r, NodeKind::Hook), 2);
  EXPECT_EQ(count_kind(r, NodeKind::CustomGrad), 2);
  calls = 0;
  interpret(r, random_inputs(r));
  EXPECT_EQ(calls, 2);
}

TEST(DefnPasses, CseMergesEqualControlFlowAndWorksInsideBodies) {
  auto body = [] {
    GraphMaker b;
    int32_t c = b.param(kS32);
    int32_t s = b.param(kS32);
    int32_t a1 = b.prim(Prim::add, {c, s});
    int32_t a2 = b.prim(Prim::add, {c, s});
    b.output({b.prim(Prim::max, {a1, a2})});
    return shared(b);
  };
  auto cond = [] {
    GraphMaker b;
    int32_t c = b.param(kS32);
    b.param(kS32);
    b.output({b.prim(Prim::less, {c, b.constant(nx::scalar_int(20, s32))})});
    return shared(b);
  };
  GraphMaker m;
  int32_t k = m.param(kS32);
  int32_t s = m.param(kS32);
  Node w;
  w.kind = NodeKind::While;
  w.in = {k, s};
  w.scan.num_carry = 1;
  w.subgraphs = {cond(), body()};
  int32_t w1 = m.node(w, {kS32})[0];
  w.subgraphs = {cond(), body()};  // built again: equal, not shared
  int32_t w2 = m.node(w, {kS32})[0];
  m.output({w1, w2});
  std::vector<Tensor> in = {nx::scalar_int(0, s32), nx::scalar_int(3, s32)};
  Graph r = cse_dce(m.g);
  verify(r);
  expect_same_results(m.g, r, in);
  ASSERT_EQ(count_kind(r, NodeKind::While), 1);
  EXPECT_EQ(count_prim(*r.nodes.back().subgraphs[1], Prim::add), 1);
}

TEST(DefnPasses, CseMergesDuplicateControlFlowOperands) {
  // Scan body (c, x1, x2, k1, k2) -> (c + x1 * k1, x2 * k2); the node passes xs twice and k twice.
  GraphMaker body;
  int32_t c = body.param(f32t({}));
  int32_t x1 = body.param(f32t({}));
  int32_t x2 = body.param(f32t({}));
  int32_t k1 = body.param(f32t({}));
  int32_t k2 = body.param(f32t({}));
  body.output({body.prim(Prim::add, {c, body.prim(Prim::multiply, {x1, k1})}),
               body.prim(Prim::multiply, {x2, k2})});
  GraphMaker m;
  int32_t c0 = m.param(f32t({}));
  int32_t xs = m.param(f32t({4}));
  int32_t k = m.param(f32t({}));
  Node n;
  n.kind = NodeKind::Scan;
  n.in = {c0, xs, xs, k, k};
  n.scan = ScanInfo{1, 2, 1, 4, false};
  n.subgraphs = {shared(body)};
  m.output(m.node(n, {f32t({}), f32t({4})}));
  Graph r = checked(m.g, &cse_dce);
  const Node& scan = r.nodes.back();
  EXPECT_EQ(scan.in, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(scan.scan, (ScanInfo{1, 1, 1, 4, false}));
  // Inside, x1 * k1 and x2 * k2 are now the same product.
  EXPECT_EQ(count_prim(*scan.subgraphs[0], Prim::multiply), 1) << dump_text(r);
}

// ---- constant folding ---------------------------------------------------------------------------

TEST(DefnPasses, FoldEvaluatesSmallConstantExpressions) {
  GraphMaker m;
  int32_t x = m.param(f32t({3}));
  int32_t c1 = m.constant(nx::tensor({1.0f, 2.0f, 3.0f}));
  int32_t c2 = m.constant(nx::tensor({4.0f, 5.0f, 6.0f}));
  int32_t s = m.prim(Prim::add, {c1, c2});
  int32_t i = m.prim(Prim::iota, {}, IotaParams{{3}, DType::F32, -1});
  m.output({m.prim(Prim::multiply, {x, m.prim(Prim::add, {s, i})})});
  Graph r = checked(m.g, &fold_dce);
  EXPECT_EQ(dump_text(r),
            "%0:f32[3] = param 0\n"
            "%1:f32[3] = constant [5, 8, 11]\n"
            "%2:f32[3] = multiply(%0, %1)\n"
            "return %2\n");
}

TEST(DefnPasses, FoldKeepsLargeBroadcastsAndFoldsTheirScalars) {
  GraphMaker m;
  TensorType big = f32t({100, 100});
  int32_t x = m.param(big);
  int32_t e = m.prim(Prim::exp, {splat(m, 1.0, big)});
  int32_t small = m.prim(Prim::negate, {splat(m, 1.0, f32t({4}))});
  int32_t i = m.prim(Prim::iota, {}, IotaParams{{100, 100}, DType::F32, 0});
  m.output({m.prim(Prim::add, {m.prim(Prim::add, {x, e}), i}), small});
  Graph r = checked(m.g, &fold_dce);
  EXPECT_EQ(count_prim(r, Prim::exp), 0);
  EXPECT_EQ(count_prim(r, Prim::broadcast_in_dim), 1);
  EXPECT_EQ(count_prim(r, Prim::iota), 1);  // 10000 elements: cheaper to make than to store
  std::string text = dump_text(r);
  GraphMaker e1;
  e1.output({e1.constant(nx::exp(nx::scalar(1.0, f32)))});
  std::string e1_text = dump_text(e1.g);  // "%0:f32 = constant 2.71...\n..."
  std::string e1_line = "%1" + e1_text.substr(2, e1_text.find('\n') - 2);
  EXPECT_NE(text.find(e1_line), std::string::npos) << text;
  EXPECT_NE(text.find("%2:f32[100][100] = broadcast_in_dim(%1) {shape=[100, 100], axes=[]}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("constant [-1, -1, -1, -1]"), std::string::npos) << text;
}

TEST(DefnPasses, FoldTakesTheBranchOfAConstantPredicate) {
  GraphMaker t, f;
  t.param(f32t({2}));
  t.output({t.prim(Prim::exp, {0})});
  f.param(f32t({2}));
  f.output({f.prim(Prim::negate, {0})});
  GraphMaker m;
  int32_t x = m.param(f32t({2}));
  int32_t p = m.constant(nx::scalar(0.0, pred));
  Node c;
  c.kind = NodeKind::Cond;
  c.in = {p, x};
  c.subgraphs = {shared(t), shared(f)};
  m.output({m.node(c, {f32t({2})})[0]});
  Graph r = checked(m.g, &fold_dce);
  EXPECT_EQ(dump_text(r),
            "%0:f32[2] = param 0\n"
            "%1:f32[2] = negate(%0)\n"
            "return %1\n");
}

TEST(DefnPasses, FoldMovesConstantCapturesIntoLoops) {
  GraphMaker cg, bg;
  for (GraphMaker* g : {&cg, &bg}) {
    g->param(kS32);
    g->param(kS32);
  }
  cg.output({cg.prim(Prim::less, {0, cg.constant(nx::scalar_int(10, s32))})});
  // step * 2 is loop-invariant and constant once step is known: folded inside the body.
  bg.output(
      {bg.prim(Prim::add, {0, bg.prim(Prim::multiply, {1, bg.constant(nx::scalar_int(2, s32))})})});
  GraphMaker m;
  int32_t k = m.param(kS32);
  int32_t step = m.constant(nx::scalar_int(3, s32));
  Node w;
  w.kind = NodeKind::While;
  w.in = {k, step};
  w.scan.num_carry = 1;
  w.subgraphs = {shared(cg), shared(bg)};
  m.output({m.node(w, {kS32})[0]});
  Graph r = checked(m.g, &fold_dce);
  const Node& loop = r.nodes.back();
  ASSERT_EQ(loop.kind, NodeKind::While);
  EXPECT_EQ(loop.in.size(), 1u);
  EXPECT_EQ(dump_text(*loop.subgraphs[1]),
            "%0:s32 = param 0\n"
            "%1:s32 = constant 6\n"
            "%2:s32 = add(%0, %1)\n"
            "return %2\n");
}

// ---- the pipeline -------------------------------------------------------------------------------

Traced trace_of(std::vector<TensorType> types,
                std::function<std::vector<Tensor>(std::span<const Tensor>)> f) {
  return trace_function(types, f);
}

TEST(DefnPasses, OptimizeReportsEveryPass) {
  GraphMaker m;
  int32_t x = m.param(f32t({4}));
  m.output({m.prim(Prim::add, {x, splat(m, 0.0, f32t({4}))})});
  std::vector<std::string> names;
  Graph r = optimize(m.g, [&](std::string_view pass, const Graph& g) {
    names.emplace_back(pass);
    verify(g);
  });
  ASSERT_GE(names.size(), 6u);
  EXPECT_EQ(names[0], "simplify");
  EXPECT_EQ(names[1], "fold_constants");
  EXPECT_EQ(names[2], "cse");
  EXPECT_EQ(names[3], "dce");
  EXPECT_EQ(names[names.size() - 3], "to_channels_last");
  EXPECT_EQ(names[names.size() - 2], "fuse");
  EXPECT_EQ(names.back(), "dce");
  EXPECT_EQ((names.size() - 3) % 4, 0u);
  EXPECT_EQ(dump_text(r), "%0:f32[4] = param 0\nreturn %0\n");
}

TEST(DefnPasses, OptimizeCleansUpATracedFunction) {
  TensorType t = f32t({2, 3});
  Traced tr = trace_of({t, t}, [](std::span<const Tensor> p) {
    Tensor a = nx::exp(p[0]) * 1.0;
    Tensor b = nx::exp(p[0]) + 0.0;
    (void)nx::log(p[1]);
    Tensor c = nx::reshape(nx::reshape(a + b, {6}), {2, 3});
    Tensor d = nx::transpose(nx::transpose(p[1]));
    Tensor k = nx::tensor({1.0f, 2.0f, 3.0f}) * 2.0 + 1.0;  // all constant
    return std::vector<Tensor>{c * d + k};
  });
  const Graph& g = *tr.graph;
  Graph r = checked(g, &optimize_plain);
  EXPECT_EQ(count_prim_deep(r, Prim::exp), 1) << dump_text(r);
  EXPECT_EQ(count_prim_deep(r, Prim::log), 0) << dump_text(r);
  EXPECT_EQ(count_prim_deep(r, Prim::reshape), 0) << dump_text(r);
  EXPECT_EQ(count_prim_deep(r, Prim::transpose), 0) << dump_text(r);
  EXPECT_EQ(count_prim_deep(r, Prim::multiply), 1) << dump_text(r);  // c * d only
  EXPECT_NE(dump_text(r).find("constant [3, 5, 7]"), std::string::npos) << dump_text(r);
  // A second run finds nothing more to do.
  EXPECT_EQ(dump_text(optimize(r)), dump_text(r));
}

TEST(DefnPasses, OptimizePreservesTracedControlFlow) {
  TensorType t = f32t({3});
  Traced tr = trace_of({t}, [](std::span<const Tensor> p) {
    Tensor scale = nx::scalar(0.5, f32) * 2.0;  // constant: folds into the loop body
    Tree r = nx::while_loop(
        Tree::list({Tree(p[0]), Tree(nx::scalar_int(0, s32))}),
        [](const Tree& s) { return nx::less(s[1].leaf(), 4); },
        [&](const Tree& s) {
          Tensor unused = nx::exp(s[0].leaf());
          (void)unused;
          return Tree::list({Tree(s[0].leaf() * scale + 0.0), Tree(s[1].leaf() + 1)});
        });
    Tree c = nx::cond(
        nx::greater(nx::sum(p[0]), 0.0), [&] { return Tree(p[0] * 1.0); },
        [&] { return Tree(-(-p[0])); });
    ScanResult sr =
        nx::scan(Tree(nx::scalar(0.0, f32)), Tree(p[0]), [](const Tree& carry, const Tree& x) {
          Tensor s = carry.leaf() + x.leaf();
          return std::pair<Tree, Tree>{Tree(s), Tree(s * s)};
        });
    return std::vector<Tensor>{r[0].leaf(), c.leaf(), sr.ys.leaf(), sr.carry.leaf()};
  });
  Graph r = checked(*tr.graph, &optimize_plain);
  // The cond's branches both simplify to x: it disappears.
  EXPECT_EQ(count_kind(r, NodeKind::Cond), 0) << dump_text(r);
  for (uint32_t seed = 2; seed < 6; ++seed) {
    expect_same_results(*tr.graph, r, random_inputs(*tr.graph, seed));
  }
}

TEST(DefnPasses, OptimizeKeepsHooksOnDeadValues) {
  int calls = 0;
  TensorType t = f32t({3});
  Traced tr = trace_of({t}, [&](std::span<const Tensor> p) {
    (void)nx::hook(nx::exp(p[0]), "seen", [&](const Tensor&) { ++calls; });
    return std::vector<Tensor>{p[0] + 1.0};
  });
  Graph r = optimize(*tr.graph);
  verify(r);
  EXPECT_EQ(count_kind(r, NodeKind::Hook), 1);
  EXPECT_EQ(count_prim(r, Prim::exp), 1);
  calls = 0;
  interpret(r, random_inputs(r));
  EXPECT_EQ(calls, 1);
}

// Random graphs of elementwise and movement ops over a few values, with constants (0, 1 and
// others, often broadcast) and repeated subexpressions: optimize must keep every result.
Graph random_graph(std::mt19937& rng) {
  const TensorType t = f32t({2, 3});
  GraphMaker m;
  std::vector<int32_t> pool = {m.param(t), m.param(t)};
  auto pick = [&] { return pool[rng() % pool.size()]; };
  const double consts[] = {0.0, 1.0, 2.0, -0.5};
  for (int step = 0; step < 14; ++step) {
    int32_t a = pick(), b = pick();
    int32_t v;
    switch (rng() % 11) {
      case 0:
        v = splat(m, consts[rng() % 4], t);
        break;
      case 1:
        v = m.prim(Prim::add, {a, b});
        break;
      case 2:
        v = m.prim(Prim::multiply, {a, b});
        break;
      case 3:
        v = m.prim(Prim::subtract, {a, b});
        break;
      case 4:
        v = m.prim(Prim::negate, {a});
        break;
      case 5:
        v = m.prim(Prim::tanh, {a});
        break;
      case 6:
        v = m.prim(Prim::convert, {m.prim(Prim::convert, {a}, ConvertParams{DType::F64})},
                   ConvertParams{DType::F32});
        break;
      case 7:
        v = m.prim(Prim::reshape, {m.prim(Prim::reshape, {a}, ReshapeParams{{6}})},
                   ReshapeParams{{2, 3}});
        break;
      case 8: {
        int32_t tr = m.prim(Prim::transpose, {a}, AxesParams{{1, 0}});
        v = m.prim(Prim::transpose, {m.prim(Prim::negate, {tr})}, AxesParams{{1, 0}});
        break;
      }
      case 9:
        v = m.prim(Prim::select, {m.prim(Prim::greater, {a, b}), a, b});
        break;
      default:
        v = m.prim(Prim::max, {a, m.prim(Prim::add, {b, splat(m, consts[rng() % 4], t)})});
    }
    pool.push_back(v);
  }
  m.output({pool.back(), pick()});
  return m.g;
}

TEST(DefnPasses, OptimizeRandomGraphsKeepTheirResults) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 60; ++i) {
    SCOPED_TRACE("graph " + std::to_string(i));
    Graph g = random_graph(rng);
    Graph r = optimize(g, [](std::string_view, const Graph& stage) { verify(stage); });
    expect_same_results(g, r, random_inputs(g, static_cast<uint32_t>(i) + 1));
    EXPECT_LE(r.nodes.size(), g.nodes.size());
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << dump_text(g) << "\n->\n" << dump_text(r);
      break;
    }
  }
}

}  // namespace
}  // namespace nx::detail
