// The graph IR's tools: verify (every invariant, each broken on purpose), dump_text, dump_dot
// and params_string.
#include "nx/defn/graph.hpp"

#include <gtest/gtest.h>

#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/defn/trace.hpp"
#include "nx/rule_test_util.hpp"

namespace nx::detail {
namespace {

using nx::testing::expect_error;
using nx::testing::f32t;
using nx::testing::GraphMaker;

const TensorType kS32{{}, DType::S32};
const TensorType kPred{{}, DType::Pred};

// cond: counter < 10; body: counter + step (a capture).
std::shared_ptr<const Graph> loop_cond() {
  GraphMaker m;
  int32_t c = m.param(kS32);
  m.param(kS32);
  m.output({m.prim(Prim::less, {c, m.constant(nx::scalar_int(10, s32))})});
  return std::make_shared<const Graph>(m.g);
}
std::shared_ptr<const Graph> loop_body() {
  GraphMaker m;
  int32_t c = m.param(kS32);
  int32_t step = m.param(kS32);
  m.output({m.prim(Prim::add, {c, step})});
  return std::make_shared<const Graph>(m.g);
}

Node while_node(std::vector<int32_t> in) {
  Node n;
  n.kind = NodeKind::While;
  n.in = std::move(in);
  n.subgraphs = {loop_cond(), loop_body()};
  n.scan.num_carry = 1;
  return n;
}

// One graph with a node of every kind but Fused.
Graph every_kind() {
  GraphMaker m;
  int32_t x = m.param(f32t({3}));
  int32_t k = m.param(kS32);
  int32_t two = m.constant(nx::scalar(2.0, f32));
  int32_t y =
      m.prim(Prim::multiply, {x, m.prim(Prim::broadcast_in_dim, {two}, BroadcastParams{{3}, {}})});
  Node sg;
  sg.kind = NodeKind::StopGrad;
  sg.in = {y};
  int32_t s = m.node(sg, {f32t({3})})[0];
  int32_t h = m.hook(s, "seen", [](const Tensor&) {});
  Node cg;
  cg.kind = NodeKind::CustomGrad;
  cg.in = {h, x};
  cg.vjp =
      std::make_shared<const CustomVjp>([](const Tensor& g) { return std::vector<Tensor>{g}; });
  int32_t c = m.node(cg, {f32t({3})})[0];
  int32_t w = m.node(while_node({k, k}), {kS32})[0];
  m.output({c, w});
  return m.g;
}

TEST(DefnGraph, NodeKindNames) {
  EXPECT_EQ(node_kind_name(NodeKind::Param), "param");
  EXPECT_EQ(node_kind_name(NodeKind::Constant), "constant");
  EXPECT_EQ(node_kind_name(NodeKind::StopGrad), "stop_grad");
  EXPECT_EQ(node_kind_name(NodeKind::CustomGrad), "custom_grad");
  EXPECT_EQ(node_kind_name(NodeKind::Hook), "hook");
  EXPECT_EQ(node_kind_name(NodeKind::While), "while");
  EXPECT_EQ(node_kind_name(NodeKind::Cond), "cond");
  EXPECT_EQ(node_kind_name(NodeKind::Scan), "scan");
  EXPECT_EQ(node_kind_name(NodeKind::Fused), "fused");
}

TEST(DefnGraph, ParamsStringRendersEveryAlternative) {
  EXPECT_EQ(params_string(NoParams{}), "");
  EXPECT_EQ(params_string(ConvertParams{DType::BF16}), "dtype=bf16");
  EXPECT_EQ(params_string(BroadcastParams{{2, 3}, {1}}), "shape=[2, 3], axes=[1]");
  EXPECT_EQ(params_string(ReshapeParams{{6}}), "shape=[6]");
  EXPECT_EQ(params_string(AxesParams{{1, 0}}), "axes=[1, 0]");
  EXPECT_EQ(params_string(SliceParams{{0}, {4}, {2}}), "start=[0], limit=[4], strides=[2]");
  EXPECT_EQ(params_string(DynamicSliceParams{{1, 2}}), "sizes=[1, 2]");
  EXPECT_EQ(params_string(PadParams{{-1}, {2}, {0}}), "lo=[-1], hi=[2], interior=[0]");
  EXPECT_EQ(params_string(ConcatParams{1}), "axis=1");
  EXPECT_EQ(params_string(IotaParams{{3}, DType::S64, -1}), "shape=[3], dtype=s64, axis=-1");
  EXPECT_EQ(params_string(ArgParams{2, true}), "axis=2, tie_high=true");
  EXPECT_EQ(params_string(DotParams{{1}, {0}, {1}, {0}}),
            "contract_a=[1], batch_a=[0], contract_b=[1], batch_b=[0]");
  EXPECT_EQ(params_string(ConvParams{{1, 1}, {0, 0}, {1, 1}, {1, 1}, {2, 2}, 2, 1}),
            "strides=[1, 1], pad_lo=[0, 0], pad_hi=[1, 1], lhs_dilation=[1, 1], "
            "rhs_dilation=[2, 2], feature_groups=2, batch_groups=1");
  EXPECT_EQ(params_string(WindowParams{{2}, {2}, {0}, {1}, {1}}),
            "window=[2], strides=[2], pad_lo=[0], pad_hi=[1], window_dilation=[1]");
  EXPECT_EQ(params_string(GatherParams{{0, 2}}), "axes=[0, 2]");
  EXPECT_EQ(params_string(SortParams{0, true}), "axis=0, descending=true");
  EXPECT_EQ(params_string(ScanParams{1, false}), "axis=1, reverse=false");
  EXPECT_EQ(params_string(QrParams{true}), "complete=true");
}

TEST(DefnGraph, DumpTextOneNodePerLine) {
  GraphMaker m;
  int32_t a = m.param(f32t({2, 3}));
  int32_t b = m.param(f32t({3, 4}));
  int32_t d = m.prim(Prim::dot_general, {a, b}, DotParams{{1}, {}, {0}, {}});
  int32_t c = m.constant(nx::scalar(2.5, f32));
  int32_t bc = m.prim(Prim::broadcast_in_dim, {c}, BroadcastParams{{2, 4}, {}});
  int32_t p = m.prim(Prim::multiply, {d, bc});
  int32_t k = m.constant(nx::tensor({1, 2, 3}));
  int32_t big = m.constant(nx::zeros({100}));
  std::vector<int32_t> sorted = m.prims(Prim::sort, {big}, SortParams{0, false});
  m.output({p, k, sorted[1], p});
  EXPECT_EQ(dump_text(m.g),
            "%0:f32[2][3] = param 0\n"
            "%1:f32[3][4] = param 1\n"
            "%2:f32[2][4] = dot_general(%0, %1) {contract_a=[1], batch_a=[], contract_b=[0], "
            "batch_b=[]}\n"
            "%3:f32 = constant 2.5\n"
            "%4:f32[2][4] = broadcast_in_dim(%3) {shape=[2, 4], axes=[]}\n"
            "%5:f32[2][4] = multiply(%2, %4)\n"
            "%6:s32[3] = constant [1, 2, 3]\n"
            "%7:f32[100] = constant {100 elements}\n"
            "%8:f32[100], %9:s64[100] = sort(%7) {axis=0, descending=false}\n"
            "return %5, %6, %9, %5\n");
}

TEST(DefnGraph, DumpTextConstantsOfEveryClass) {
  GraphMaker m;
  m.constant(nx::tensor({true, false}));
  m.constant(nx::scalar(-0.125, f64));
  m.constant(nx::scalar(1.5, bf16));
  m.constant(nx::scalar_int(-7, s8));
  m.constant(nx::scalar(std::nan(""), f32));
  m.output({});
  EXPECT_EQ(dump_text(m.g),
            "%0:pred[2] = constant [true, false]\n"
            "%1:f64 = constant -0.125\n"
            "%2:bf16 = constant 1.5\n"
            "%3:s8 = constant -7\n"
            "%4:f32 = constant nan\n"
            "return\n");
}

TEST(DefnGraph, DumpTextIndentsSubgraphs) {
  GraphMaker m;
  int32_t k = m.param(kS32);
  m.output({m.node(while_node({k, k}), {kS32})[0]});
  EXPECT_EQ(dump_text(m.g),
            "%0:s32 = param 0\n"
            "%1:s32 = while(%0, %0) {\n"
            "  cond {\n"
            "    %0:s32 = param 0\n"
            "    %1:s32 = param 1\n"
            "    %2:s32 = constant 10\n"
            "    %3:pred = less(%0, %2)\n"
            "    return %3\n"
            "  }\n"
            "  body {\n"
            "    %0:s32 = param 0\n"
            "    %1:s32 = param 1\n"
            "    %2:s32 = add(%0, %1)\n"
            "    return %2\n"
            "  }\n"
            "}\n"
            "return %1\n");
}

TEST(DefnGraph, DumpTextNamesHooksAndScanInfo) {
  Graph g = every_kind();
  std::string text = dump_text(g);
  EXPECT_NE(text.find("%5:f32[3] = stop_grad(%4)"), std::string::npos) << text;
  EXPECT_NE(text.find("%6:f32[3] = hook(%5) {name=\"seen\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("%7:f32[3] = custom_grad(%6, %0)"), std::string::npos) << text;

  GraphMaker m;
  int32_t c = m.param(f32t({}));
  int32_t xs = m.param(f32t({5}));
  GraphMaker body;
  int32_t bc = body.param(f32t({}));
  int32_t bx = body.param(f32t({}));
  int32_t s = body.prim(Prim::add, {bc, bx});
  body.output({s, s});
  Node n;
  n.kind = NodeKind::Scan;
  n.in = {c, xs};
  n.scan = ScanInfo{1, 1, 1, 5, true};
  n.subgraphs = {std::make_shared<const Graph>(body.g)};
  auto outs = m.node(n, {f32t({}), f32t({5})});
  m.output(outs);
  verify(m.g);
  EXPECT_NE(dump_text(m.g).find("%2:f32, %3:f32[5] = scan(%0, %1) {num_carry=1, num_xs=1, "
                                "num_ys=1, length=5, reverse=true} {\n  body {\n"),
            std::string::npos)
      << dump_text(m.g);
}

TEST(DefnGraph, DumpDotDrawsClustersAndMarksFusedNodes) {
  GraphMaker prog;
  int32_t a = prog.param(f32t({4}));
  prog.output({prog.prim(Prim::exp, {prog.prim(Prim::negate, {a})})});
  GraphMaker m;
  int32_t x = m.param(f32t({4}));
  Node f;
  f.kind = NodeKind::Fused;
  f.prim = Prim::add;
  f.name = "elementwise";
  f.in = {x};
  f.subgraphs = {std::make_shared<const Graph>(prog.g)};
  int32_t y = m.node(f, {f32t({4})})[0];
  int32_t k = m.param(kS32);
  int32_t w = m.node(while_node({k, k}), {kS32})[0];
  int32_t h = m.hook(y, "say \"hi\"", [](const Tensor&) {});
  m.output({h, w});
  verify(m.g);
  std::string dot = dump_dot(m.g, "step");
  EXPECT_EQ(dot.rfind("digraph \"step\" {", 0), 0u) << dot;
  EXPECT_EQ(dot.back(), '\n');
  EXPECT_NE(dot.find("subgraph cluster_n1s0_"), std::string::npos) << dot;  // the fused program
  EXPECT_NE(dot.find("box3d"), std::string::npos) << dot;                   // the fused node
  EXPECT_NE(dot.find("while %3: cond"), std::string::npos) << dot;
  EXPECT_NE(dot.find("while %3: body"), std::string::npos) << dot;
  EXPECT_NE(dot.find("say \\\\\\\"hi\\\\\\\""), std::string::npos) << dot;  // escaped twice
  EXPECT_NE(dot.find("n0 -> n1;"), std::string::npos) << dot;
  // Braces balance: every cluster is closed.
  EXPECT_EQ(std::count(dot.begin(), dot.end(), '{'), std::count(dot.begin(), dot.end(), '}'));
}

TEST(DefnGraph, VerifyAcceptsWellFormedGraphs) {
  EXPECT_NO_THROW(verify(every_kind()));
  EXPECT_NO_THROW(verify(Graph{}));
}

TEST(DefnGraph, VerifyAcceptsTracedFunctions) {
  TensorType t = f32t({2, 3});
  std::vector<TensorType> params = {t, t};
  Traced tr = trace_function(params, [](std::span<const Tensor> p) {
    Tensor y = nx::exp(p[0]) * 2.0 + nx::sum(p[1], {.axes = Axes{1}, .keep_axes = true});
    return std::vector<Tensor>{nx::transpose(y), nx::argmax(y, {.axis = 0})};
  });
  EXPECT_NO_THROW(verify(*tr.graph));
  std::string text = dump_text(*tr.graph);
  EXPECT_NE(text.find("exp(%0)"), std::string::npos) << text;
  EXPECT_NE(text.find("reduce_sum(%1) {axes=[1]}"), std::string::npos) << text;
}

TEST(DefnGraph, VerifyAcceptsTracedControlFlow) {
  TensorType t = f32t({3});
  Traced tr = trace_function({&t, 1}, [](std::span<const Tensor> p) {
    Tensor scale = p[0] * 0.5;
    Tree r = nx::while_loop(
        Tree::list({Tree(p[0]), Tree(nx::scalar_int(0, s32))}),
        [](const Tree& s) { return nx::less(s[1].leaf(), 3); },
        [&](const Tree& s) {
          return Tree::list({Tree(s[0].leaf() + scale), Tree(s[1].leaf() + 1)});
        });
    Tree c = nx::cond(
        nx::greater(nx::sum(p[0]), 0.0), [&] { return Tree(p[0] * 2.0); },
        [&] { return Tree(scale); });
    ScanResult sr =
        nx::scan(Tree(nx::scalar(0.0, f32)), Tree(p[0]), [](const Tree& carry, const Tree& x) {
          Tensor s = carry.leaf() + x.leaf();
          return std::pair<Tree, Tree>{Tree(s), Tree(s * s)};
        });
    return std::vector<Tensor>{r[0].leaf(), c.leaf(), sr.ys.leaf()};
  });
  EXPECT_NO_THROW(verify(*tr.graph)) << dump_text(*tr.graph);
}

// ---- verify rejects each broken invariant -------------------------------------------------------

Graph small_graph() {
  GraphMaker m;
  int32_t x = m.param(f32t({3}));
  int32_t y = m.prim(Prim::exp, {x});
  m.output({m.prim(Prim::add, {x, y})});
  return m.g;
}

TEST(DefnGraph, VerifyRejectsReadBeforeDefinition) {
  Graph g = small_graph();
  std::swap(g.nodes[1], g.nodes[2]);
  expect_error([&] { verify(g); }, {"nx::detail::verify", "node 1 (add)", "reads %1 before"});
}

TEST(DefnGraph, VerifyRejectsValuesDefinedTwiceOrNever) {
  Graph g = small_graph();
  g.nodes[2].out = {1};
  expect_error([&] { verify(g); }, {"node 2 (add)", "defines %1 twice"});
  Graph h = small_graph();
  h.add_value(f32t({}));
  expect_error([&] { verify(h); }, {"value %3 is never defined"});
  Graph k = small_graph();
  k.nodes[1].in = {7};
  expect_error([&] { verify(k); }, {"node 1 (exp)", "reads %7, which is not a value"});
  Graph o = small_graph();
  o.outputs = {9};
  expect_error([&] { verify(o); }, {"returns %9"});
}

TEST(DefnGraph, VerifyRejectsParamsThatDisagreeWithInputs) {
  Graph g = small_graph();
  g.inputs = {1};
  expect_error([&] { verify(g); }, {"input 0 (%1) is not defined by Param node"});
  Graph h = small_graph();
  h.nodes[0].index = 3;
  expect_error([&] { verify(h); }, {"node 0 (param)", "index 3 is not an input position"});
  Graph k = small_graph();
  k.inputs.push_back(0);
  Node extra;
  extra.kind = NodeKind::Param;
  extra.index = 0;
  extra.out = {k.add_value(f32t({3}))};
  k.nodes.insert(k.nodes.begin() + 1, extra);
  expect_error([&] { verify(k); }, {"a second Param node for input 0"});
}

TEST(DefnGraph, VerifyRejectsPrimitivesThatDisagreeWithTheirRule) {
  Graph g = small_graph();
  g.types[1] = f32t({4});  // exp's output recorded with the wrong shape
  expect_error([&] { verify(g); },
               {"node 1 (exp)", "output types: expected (f32[3]), got (f32[4])"});
  Graph h = small_graph();
  h.nodes[1].in = {0, 0};
  expect_error([&] { verify(h); }, {"node 1 (exp)", "shape rule rejects", "expected 1 inputs"});
  Graph k = small_graph();
  k.nodes[1].params = AxesParams{{0}};
  expect_error([&] { verify(k); }, {"node 1 (exp)", "params of kind"});
  Graph t = small_graph();
  t.types[0] = TensorType{{3}, DType::S32};  // exp of an integer
  t.types[1] = t.types[0];
  expect_error([&] { verify(t); }, {"node 1 (exp)", "shape rule rejects", "nx::exp"});
}

TEST(DefnGraph, VerifyRejectsBadConstantsAndIdentities) {
  GraphMaker m;
  int32_t c = m.constant(nx::tensor({1.0f, 2.0f}));
  m.output({c});
  m.g.types[0] = f32t({3});
  expect_error([&] { verify(m.g); }, {"node 0 (constant)", "expected (f32[2]), got (f32[3])"});
  Graph g = every_kind();
  for (Node& n : g.nodes) {
    if (n.kind == NodeKind::Hook) n.hook = nullptr;
  }
  expect_error([&] { verify(g); }, {"(hook)", "has no hook function"});
  Graph h = every_kind();
  for (Node& n : h.nodes) {
    if (n.kind == NodeKind::StopGrad) n.in = {1};
  }
  expect_error([&] { verify(h); }, {"(stop_grad)", "output type: expected (s32), got (f32[3])"});
}

TEST(DefnGraph, VerifyRejectsControlFlowWithMismatchedSubgraphs) {
  // A While whose body takes one input for a node with two.
  GraphMaker m;
  int32_t k = m.param(kS32);
  Node w = while_node({k});
  m.node(w, {kS32});
  expect_error([&] { verify(m.g); },
               {"node 1 (while): cond inputs: expected (s32), got (s32, s32)"});
  // The carry count must be the output count.
  GraphMaker m2;
  int32_t k2 = m2.param(kS32);
  Node w2 = while_node({k2, k2});
  w2.scan.num_carry = 2;
  m2.node(w2, {kS32});
  expect_error([&] { verify(m2.g); }, {"scan.num_carry is 2 for 1 outputs"});
  // Errors inside a subgraph name the path to it.
  GraphMaker m3;
  int32_t k3 = m3.param(kS32);
  Node w3 = while_node({k3, k3});
  Graph bad = *w3.subgraphs[1];
  bad.types[2] = f32t({});
  w3.subgraphs[1] = std::make_shared<const Graph>(bad);
  m3.node(w3, {kS32});
  expect_error([&] { verify(m3.g); },
               {"graph: node 1 (while), body: node 2 (add)", "output types"});
}

TEST(DefnGraph, VerifyRejectsBadCondScanAndFusedNodes) {
  GraphMaker br;
  int32_t a = br.param(f32t({2}));
  br.output({br.prim(Prim::negate, {a})});
  auto branch = std::make_shared<const Graph>(br.g);

  GraphMaker m;
  int32_t x = m.param(f32t({2}));
  int32_t p = m.param(f32t({}));
  Node c;
  c.kind = NodeKind::Cond;
  c.in = {p, x};
  c.subgraphs = {branch, branch};
  m.node(c, {f32t({2})});
  expect_error([&] { verify(m.g); }, {"(cond)", "expected a pred scalar as input 0"});

  GraphMaker m2;
  int32_t x2 = m2.param(f32t({2}));
  int32_t p2 = m2.param(kPred);
  Node c2;
  c2.kind = NodeKind::Cond;
  c2.in = {p2, x2};
  c2.subgraphs = {branch, branch};
  m2.node(c2, {f32t({3})});
  expect_error([&] { verify(m2.g); }, {"true branch outputs: expected (f32[3]), got (f32[2])"});

  GraphMaker m3;
  int32_t xs = m3.param(f32t({4, 2}));
  Node s;
  s.kind = NodeKind::Scan;
  s.in = {xs};
  s.scan = ScanInfo{0, 1, 1, 5, false};
  s.subgraphs = {branch};
  m3.node(s, {f32t({5, 2})});
  expect_error([&] { verify(m3.g); }, {"(scan)", "does not have leading axis 5"});

  GraphMaker m4;
  int32_t x4 = m4.param(f32t({2}));
  Node f;
  f.kind = NodeKind::Fused;
  f.in = {x4, x4};
  f.subgraphs = {branch};
  m4.node(f, {f32t({2})});
  expect_error([&] { verify(m4.g); }, {"(fused)", "program inputs: expected (f32[2], f32[2])"});
  f.in = {x4};
  f.subgraphs = {};
  GraphMaker m5;
  m5.param(f32t({2}));
  m5.node(f, {f32t({2})});
  expect_error([&] { verify(m5.g); }, {"expected 1 subgraphs, got 0"});
}

// ---- rewriting helpers (graph_rewrite.hpp) ------------------------------------------------------

TEST(DefnGraph, RestrictGraphFixesAndDropsInputs) {
  // Param nodes out of input order (as tracing makes them for captures).
  Graph g;
  int32_t b = g.add_value(f32t({2}));
  int32_t a = g.add_value(f32t({2}));
  int32_t u = g.add_value(f32t({2}));
  g.inputs = {a, b, u};
  for (auto [v, i] : {std::pair{b, 1}, std::pair{a, 0}, std::pair{u, 2}}) {
    Node p;
    p.kind = NodeKind::Param;
    p.index = i;
    p.out = {v};
    g.add_node(p);
  }
  Node sub;
  sub.kind = NodeKind::Prim;
  sub.prim = Prim::subtract;
  sub.in = {a, b};
  sub.out = {g.add_value(f32t({2}))};
  g.add_node(sub);
  g.outputs = {sub.out[0], b};
  verify(g);

  Graph r =
      restrict_graph(g, {true, false, false}, std::vector<Tensor>{{}, nx::tensor({1.f, 2.f}), {}});
  verify(r);
  EXPECT_EQ(dump_text(r),
            "%0:f32[2] = constant [1, 2]\n"
            "%1:f32[2] = param 0\n"
            "%2:f32[2] = subtract(%1, %0)\n"
            "return %2, %0\n");
  Graph o = restrict_graph(g, {true, true, false}, {}, {false, true});
  verify(o);
  EXPECT_EQ(o.inputs.size(), 2u);
  EXPECT_EQ(o.outputs.size(), 1u);
  // Dropping an input the graph reads is an internal error.
  expect_error([&] { restrict_graph(g, {true, false, true}); }, {"dropping input 1"});
  // b, a: b keeps index 1 after a, whatever the node order.
  std::vector<Tensor> in = {nx::tensor({5.f, 5.f}), nx::tensor({1.f, 2.f}), nx::tensor({0.f, 0.f})};
  std::vector<Tensor> want = interpret(g, in);
  std::vector<Tensor> got = interpret(o, std::span<const Tensor>(in).subspan(0, 2));
  EXPECT_EQ(got[0].to_vector<float>(), want[1].to_vector<float>());
}

TEST(DefnGraph, MergeInputsAliasesDuplicates) {
  GraphMaker m;
  int32_t a = m.param(f32t({2}));
  int32_t b = m.param(f32t({2}));
  int32_t c = m.param(f32t({2}));
  m.output({m.prim(Prim::subtract, {m.prim(Prim::add, {a, b}), c})});
  Graph r = merge_inputs(m.g, {0, 0, 2});
  verify(r);
  EXPECT_EQ(dump_text(r),
            "%0:f32[2] = param 0\n"
            "%1:f32[2] = param 1\n"
            "%2:f32[2] = add(%0, %0)\n"
            "%3:f32[2] = subtract(%2, %1)\n"
            "return %3\n");
}

TEST(DefnGraph, BuilderKeepsTheSignatureAndChecksReplacements) {
  GraphMaker m;
  int32_t x = m.param(f32t({2}));
  m.param(f32t({3}));  // unused
  int32_t e = m.prim(Prim::exp, {x});
  m.output({e});
  // A pass that copies only what it needs still gets every input back.
  GraphBuilder b(m.g);
  b.copy(m.g.nodes[0]);
  b.copy(m.g.nodes[2]);
  Graph r = b.finish();
  verify(r);
  EXPECT_EQ(dump_text(r),
            "%0:f32[2] = param 0\n"
            "%1:f32[2] = exp(%0)\n"
            "%2:f32[3] = param 1\n"
            "return %1\n");
  GraphBuilder c(m.g);
  c.copy(m.g.nodes[0]);
  int32_t k = c.emit_constant(nx::tensor({1.f, 2.f, 3.f}));
  expect_error([&] { c.set(e, k); }, {"replacing %2 (f32[2]) by a value of type f32[3]"});
  expect_error([&] { c.get(e); }, {"value %2 has no replacement"});
  // Values from splats.
  int32_t s = c.broadcast_to(c.emit_constant(nx::scalar(4.0, f32)), {2, 5});
  EXPECT_EQ(c.type(s), f32t({2, 5}));
  ASSERT_TRUE(splat_scalar(c, s).has_value());
  EXPECT_EQ(splat_scalar(c, s)->item<float>(), 4.0f);
  EXPECT_FALSE(splat_scalar(c, k).has_value());
  EXPECT_FALSE(splat_scalar(c, c.get(x)).has_value());
}

}  // namespace
}  // namespace nx::detail
