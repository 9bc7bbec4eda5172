// fuse() and the kernels of Fused nodes: which clusters the pass forms (dump_text and node
// counts), and that running the fused graph through prepare_fused's kernels computes what
// interpreting the unfused graph computes (exactly for elementwise chains, which run the eager
// kernels' arithmetic; within a few ulp for reductions and oneDNN epilogues).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "graph_build_util.hpp"
#include "nx/backends/cpu/fused_dnnl.hpp"
#include "nx/backends/cpu/fused_program.hpp"
#include "nx/core/tensor_impl.hpp"
#include "nx/defn.hpp"
#include "nx/defn/fused_kernel.hpp"
#include "nx/defn/passes.hpp"
#include "nx/defn/trace.hpp"

// The tests are compiled without OpenMP flags; the library links the runtime.
extern "C" int omp_get_max_threads();
extern "C" void omp_set_num_threads(int);

namespace nx::detail {
namespace {

using nx::testing::count_kind;
using nx::testing::count_prim;
using nx::testing::expect_same_tensor;
using nx::testing::f32t;
using nx::testing::GraphMaker;
using nx::testing::random_inputs;
using nx::testing::random_tensor;

Graph trace(const std::vector<TensorType>& types, const TraceFn& f) {
  Traced t = trace_function(types, f);
  EXPECT_EQ(t.captures.size(), 0u);
  return *t.graph;
}

/// Runs a graph node by node: Fused nodes through their prepared kernels (on fresh output
/// buffers), everything else through the interpreter.
std::vector<Tensor> run_fused(const Graph& g, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> env(g.num_values());
  for (const Node& n : g.nodes) {
    if (n.kind == NodeKind::Param) {
      env[static_cast<size_t>(n.out[0])] = inputs[static_cast<size_t>(n.index)];
      continue;
    }
    std::vector<Tensor> in;
    for (int32_t v : n.in) in.push_back(env[static_cast<size_t>(v)]);
    std::vector<Tensor> out;
    if (n.kind == NodeKind::Fused) {
      // The pass only makes clusters its kernels take (no silent fallback to interpretation).
      if (n.name == "elementwise")
        EXPECT_NE(cpu::fused::compile_program(*n.subgraphs[0]), nullptr) << dump_text(g);
      else
        EXPECT_NE(cpu::fused::prepare_epilogue(*n.subgraphs[0]), nullptr) << dump_text(g);
      for (int32_t v : n.out) out.push_back(make_tensor(g.type(v)));
      prepare_fused(n, g)->run(in, out);
    } else {
      out = interpret_node(n, in, g);
    }
    for (size_t i = 0; i < n.out.size(); ++i) env[static_cast<size_t>(n.out[i])] = out[i];
  }
  std::vector<Tensor> res;
  for (int32_t v : g.outputs) res.push_back(env[static_cast<size_t>(v)]);
  return res;
}

/// Expects |a - b| <= tol * max(1, |b|) elementwise (NaN matching NaN).
void expect_close(const Tensor& a, const Tensor& b, double tol, const std::string& what) {
  ASSERT_EQ(a.type(), b.type()) << what;
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) && std::isnan(vb[i])) continue;
    ASSERT_LE(std::fabs(va[i] - vb[i]), tol * std::max(1.0, std::fabs(vb[i])))
        << what << ", element " << i << ": " << va[i] << " vs " << vb[i];
  }
}

/// Fuses g, verifies the result, and compares the fused run with interpreting g: exactly when
/// tol is 0.
Graph fuse_and_check(const Graph& g, double tol = 0, uint32_t seed = 1) {
  verify(g);
  Graph f = fuse(g);
  verify(f);
  std::vector<Tensor> in = random_inputs(g, seed);
  std::vector<Tensor> want = interpret(g, in);
  std::vector<Tensor> got = run_fused(f, in);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    if (tol == 0)
      expect_same_tensor(got[i], want[i], "output " + std::to_string(i));
    else
      expect_close(got[i], want[i], tol, "output " + std::to_string(i));
  }
  return f;
}

const Node* first_fused(const Graph& g) {
  for (const Node& n : g.nodes)
    if (n.kind == NodeKind::Fused) return &n;
  return nullptr;
}

int count_elementwise(const Graph& g) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.kind == NodeKind::Prim && is_elementwise(n.prim);
  return c;
}

// ---- elementwise clusters ----------------------------------------------------------------------

std::vector<Tensor> adam(std::span<const Tensor> p) {
  const double b1 = 0.9, b2 = 0.999, lr = 1e-3, eps = 1e-8;
  Tensor m = b1 * p[1] + (1 - b1) * p[3];
  Tensor v = b2 * p[2] + (1 - b2) * p[3] * p[3];
  Tensor w = p[0] - lr * m / (nx::sqrt(v) + eps);
  return {w, m, v};
}

TEST(DefnFuse, AdamUpdateIsOneClusterWithThreeOutputs) {
  // 10007 elements: not a multiple of any tile size.
  const TensorType t = f32t({10007});
  Graph g = trace({t, t, t, t}, adam);
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
  EXPECT_EQ(count_elementwise(f), 0) << dump_text(f);
  const Node* n = first_fused(f);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->name, "elementwise");
  EXPECT_EQ(n->out.size(), 3u);
  EXPECT_EQ(n->in.size(), 4u);  // the scalars are copied into the program
  EXPECT_NE(dump_text(f).find("elementwise"), std::string::npos) << dump_text(f);
}

TEST(DefnFuse, BroadcastInputsAreReadNotMaterialized) {
  // x [37, 53] with a row vector (implicit broadcasting), a column vector (broadcast_in_dim on
  // axis 0) and a scalar.
  Graph g = trace({f32t({37, 53}), f32t({53}), f32t({37}), f32t({})},
                  [](std::span<const Tensor> p) -> std::vector<Tensor> {
                    Tensor col = nx::reshape(p[2], {37, 1});
                    return {nx::exp(p[0] * p[1] - col) + p[3]};
                  });
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
  EXPECT_EQ(count_prim(f, Prim::broadcast_in_dim), 0) << dump_text(f);
  EXPECT_EQ(count_elementwise(f), 0) << dump_text(f);
}

TEST(DefnFuse, IntermediatesReadOutsideBecomeOutputs) {
  const TensorType t = f32t({300, 7});
  Graph g = trace({t, t}, [](std::span<const Tensor> p) -> std::vector<Tensor> {
    Tensor a = nx::tanh(p[0]) * p[1];
    Tensor b = nx::sigmoid(a) - 0.5;
    Tensor s = nx::sort(a, {.axis = 1});  // not fusible: reads `a` from outside
    return {b * 2.0, s};
  });
  Graph f = fuse_and_check(g);
  const Node* n = first_fused(f);
  ASSERT_NE(n, nullptr) << dump_text(f);
  EXPECT_EQ(n->out.size(), 2u) << dump_text(f);  // a (for sort) and the result
}

TEST(DefnFuse, ClustersStayAcyclic) {
  // a = x * y feeds a cumulative sum c; r = a + c must not join a's cluster (the cluster would
  // need c before it runs, and c needs the cluster), so r runs after c.
  const TensorType t = f32t({1000});
  Graph g = trace({t, t}, [](std::span<const Tensor> p) -> std::vector<Tensor> {
    Tensor a = nx::exp(p[0] * p[1]);
    Tensor c = nx::cumulative_sum(a);
    return {nx::log1p(a + c) * 3.0};
  });
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_prim(f, Prim::cumulative_sum), 1);
  EXPECT_GE(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
}

TEST(DefnFuse, SingleOperationsAreLeftAlone) {
  const TensorType t = f32t({64});
  Graph g = trace({t, t}, [](std::span<const Tensor> p) -> std::vector<Tensor> {
    return {p[0] + p[1], nx::cumulative_sum(p[0] * p[1])};
  });
  Graph f = fuse(g);
  EXPECT_EQ(count_kind(f, NodeKind::Fused), 0) << dump_text(f);
}

TEST(DefnFuse, Float64AndPredicates) {
  const TensorType t{{513, 3}, DType::F64};
  Graph g = trace({t, t}, [](std::span<const Tensor> p) -> std::vector<Tensor> {
    Tensor relu_grad = nx::select(nx::greater(p[0], 0.0), p[1], nx::zeros_like(p[1]));
    return {nx::exp(relu_grad) * nx::log1p(nx::abs(p[0])), nx::less(p[0], p[1])};
  });
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
}

TEST(DefnFuse, MixedPrecisionConverts) {
  const TensorType h{{2000}, DType::BF16};
  Graph g = trace({h, h, f32t({2000})}, [](std::span<const Tensor> p) -> std::vector<Tensor> {
    Tensor a = nx::as_type(p[0], DType::F32) * nx::as_type(p[1], DType::F32) + p[2];
    return {nx::as_type(nx::tanh(a), DType::BF16), nx::as_type(p[0] + p[1], DType::F16)};
  });
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_elementwise(f), 0) << dump_text(f);
}

TEST(DefnFuse, IntegerChains) {
  // Random bits to floats, as nx::random does: shifts, ors and a bitcast on u32.
  const TensorType u{{5000}, DType::U32};
  Graph g = trace({u, u}, [](std::span<const Tensor> p) -> std::vector<Tensor> {
    Tensor bits =
        nx::bitwise_or(nx::right_shift(nx::bitwise_xor(p[0], p[1]), nx::scalar_int(9, DType::U32)),
                       nx::scalar_int(0x3f800000, DType::U32));
    return {nx::bitcast(bits, DType::F32) - 1.0};
  });
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
}

TEST(DefnFuse, FusingTwiceChangesNothing) {
  const TensorType t = f32t({4096});
  Graph f = fuse(trace({t, t, t, t}, adam));
  EXPECT_TRUE(graphs_equal(fuse(f), f)) << dump_text(fuse(f));
}

TEST(DefnFuse, ControlFlowBodiesAreFused) {
  const TensorType t = f32t({1000});
  Graph g = trace({t}, [](std::span<const Tensor> p) {
    Tree out = nx::while_loop(
        Tree::list({Tree(p[0]), Tree(nx::scalar_int(0, DType::S32))}),
        [](const Tree& s) { return nx::less(s[1].leaf(), 3); },
        [](const Tree& s) {
          Tensor x = s[0].leaf();
          return Tree::list({Tree(nx::tanh(x * 0.5 + 1.0) - x), Tree(s[1].leaf() + 1)});
        });
    return std::vector<Tensor>{out[0].leaf()};
  });
  Graph f = fuse_and_check(g);
  const Node* loop = nullptr;
  for (const Node& n : f.nodes)
    if (n.kind == NodeKind::While) loop = &n;
  ASSERT_NE(loop, nullptr) << dump_text(f);
  EXPECT_EQ(count_kind(*loop->subgraphs[1], NodeKind::Fused), 1) << dump_text(f);
}

TEST(DefnFuse, SoftmaxPieces) {
  // max, then exp(x - max) summed, then a division: the reductions end clusters, and nothing
  // reads a reduction inside the cluster that computes it.
  Graph g = trace({f32t({64, 1000})},
                  [](std::span<const Tensor> p) { return std::vector<Tensor>{nx::softmax(p[0])}; });
  Graph f = fuse_and_check(g, 1e-6);
  EXPECT_GE(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
}

// ---- reductions --------------------------------------------------------------------------------

TEST(DefnFuse, TrailingSumShortRows) {
  Graph g = trace({f32t({67, 1031}), f32t({1031})}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::sum(nx::exp(p[0] - 1.0) * p[1], {.axes = Axes{1}})};
  });
  Graph f = fuse_and_check(g, 1e-5);
  ASSERT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
  EXPECT_EQ(first_fused(f)->prim, Prim::reduce_sum);
  EXPECT_EQ(count_prim(f, Prim::reduce_sum), 0);
}

TEST(DefnFuse, TrailingSumLongRowsAndTotal) {
  Graph g = trace({f32t({3, 100003})}, [](std::span<const Tensor> p) {
    Tensor sq = p[0] * p[0];
    return std::vector<Tensor>{nx::sum(sq, {.axes = Axes{1}}), nx::sum(nx::abs(p[0]) + 1.0)};
  });
  // Two clusters (one per reduction: their layouts differ) or one: either way both fused.
  Graph f = fuse_and_check(g, 1e-5);
  EXPECT_EQ(count_prim(f, Prim::reduce_sum), 0) << dump_text(f);
}

TEST(DefnFuse, LeadingReductions) {
  for (Shape s : {Shape{1003, 37}, Shape{5, 9000}, Shape{4099, 1}}) {
    Graph g = trace({f32t(s), f32t({s[1]})}, [](std::span<const Tensor> p) {
      Tensor y = nx::max(p[0] * p[1], 0.0);
      return std::vector<Tensor>{nx::sum(y, {.axes = Axes{0}}),
                                 nx::reduce_max(y - 1.0, {.axes = Axes{0}})};
    });
    Graph f = fuse_and_check(g, 1e-5);
    EXPECT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
  }
}

// Counts the full-size passes of a fused graph: Fused or reduce nodes reading a value of at
// least `n` elements.
int count_passes(const Graph& g, int64_t n) {
  int c = 0;
  for (const Node& node : g.nodes) {
    if (node.kind != NodeKind::Fused &&
        !(node.kind == NodeKind::Prim && info(node.prim).group == PrimGroup::Reduce))
      continue;
    bool big = false;
    for (int32_t v : node.in) big = big || num_elements(g.type(v).shape) >= n;
    c += big;
  }
  return c;
}

TEST(DefnFuse, MiddleAxisStatisticsAreSplitAndFused) {
  // NCHW statistics: sums over N, H, W of x - m and its square, m per channel. The sums over
  // {0, 2, 3} become sums over {2, 3} (fused into the cluster) and small sums over {0}.
  Graph g = trace({f32t({4, 8, 30, 30}), f32t({8})}, [](std::span<const Tensor> p) {
    Tensor c = p[0] - nx::reshape(p[1], {1, 8, 1, 1});
    return std::vector<Tensor>{nx::sum(c * c, {.axes = Axes{0, 2, 3}}),
                               nx::reduce_max(nx::exp(c), {.axes = Axes{0, 2, 3}})};
  });
  Graph f = fuse_and_check(g, 1e-5);
  EXPECT_EQ(count_passes(f, 4 * 8 * 30 * 30), 1) << dump_text(f);
}

TEST(DefnFuse, SumsFactorThroughConstantWeights) {
  // sum(-(2 (w * c))) over N, H, W with w per channel: -2 w sum(c), so the large sum of c joins
  // the cluster that reads x once, and no full-size weighted value is reduced.
  Graph g = trace({f32t({4, 8, 30, 30}), f32t({8}), f32t({8})}, [](std::span<const Tensor> p) {
    Tensor c = p[0] - nx::reshape(p[1], {1, 8, 1, 1});
    Tensor wc = nx::broadcast(p[2], {4, 8, 30, 30}, {1}) * c;
    return std::vector<Tensor>{nx::sum(-(wc + wc), {.axes = Axes{0, 2, 3}}),
                               nx::sum(c * c, {.axes = Axes{0, 2, 3}})};
  });
  Graph f = fuse_and_check(g, 1e-4);
  EXPECT_EQ(count_passes(f, 4 * 8 * 30 * 30), 1) << dump_text(f);
}

TEST(DefnFuse, CheapSharedValuesAreRecomputedNotStored) {
  // c = x - m is read by a reduction and by an elementwise result: each computes it from x,
  // so c is never written; the two readers of x merge into one pass when they can.
  Graph g =
      trace({f32t({64, 1000}), f32t({1000}), f32t({64, 1000})}, [](std::span<const Tensor> p) {
        Tensor c = p[0] - p[1];
        return std::vector<Tensor>{nx::sum(c * c, {.axes = Axes{0}}), nx::exp(c) * p[2],
                                   nx::sum(p[2], {.axes = Axes{0}})};
      });
  Graph f = fuse_and_check(g, 1e-5);
  EXPECT_EQ(count_passes(f, 64 * 1000), 1) << dump_text(f);
  for (const Node& n : f.nodes) {
    if (n.kind == NodeKind::Fused) {
      EXPECT_EQ(n.out.size(), 3u) << dump_text(f);
    }
  }
}

TEST(DefnFuse, ReductionsDoNotDependOnThreadCount) {
  Graph g = trace({f32t({17, 300001})}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::sum(nx::sin(p[0]), {.axes = Axes{1}}),
                               nx::sum(nx::cos(p[0]), {.axes = Axes{0}})};
  });
  Graph f = fuse(g);
  std::vector<Tensor> in = random_inputs(g, 3);
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<Tensor> one = run_fused(f, in);
  omp_set_num_threads(std::max(2, threads));
  std::vector<Tensor> many = run_fused(f, in);
  omp_set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) expect_same_tensor(one[i], many[i], "output");
}

// ---- kernels on their own ----------------------------------------------------------------------

/// A Fused node whose program is the whole graph g.
Node as_fused(const Graph& g, const std::string& kind = "elementwise") {
  Node n;
  n.kind = NodeKind::Fused;
  n.name = kind;
  n.subgraphs = {std::make_shared<const Graph>(g)};
  return n;
}

std::vector<Tensor> run_kernel(const Graph& g, const std::vector<Tensor>& in,
                               bool compiled = true) {
  EXPECT_EQ(cpu::fused::compile_program(g) != nullptr, compiled) << dump_text(g);
  std::vector<Tensor> out;
  for (int32_t v : g.outputs) out.push_back(make_tensor(g.type(v)));
  Node n = as_fused(g);
  prepare_fused(n, g)->run(in, out);
  return out;
}

/// Edge values for a dtype: specials for floats, extremes for integers, plus random ones.
Tensor edge_values(DType t, int64_t n, uint32_t seed) {
  std::vector<double> v;
  if (is_float(t)) {
    const double inf = std::numeric_limits<double>::infinity();
    v = {0.0,    -0.0, 1.0, -1.0, 0.5,          -2.5, 3.0,  1e-30, -1e-39, 88.0,
         -104.0, 1e10, inf, -inf, std::nan(""), 0.75, -0.3, 1.5,   2.5,    100.0};
  } else if (t == DType::Pred) {
    v = {0, 1, 1, 0};
  } else {
    v = {0, 1, 2, 3, 7, 31, 32, 33, 63, 64, 100, 127, 255};
    if (is_signed_int(t)) v.insert(v.end(), {-1, -2, -3, -31, -64, -128});
  }
  std::mt19937 rng(seed);
  while (static_cast<int64_t>(v.size()) < n) v.push_back(v[rng() % v.size()]);
  std::shuffle(v.begin(), v.end(), rng);
  v.resize(static_cast<size_t>(n));
  return nx::as_type(from_vector(v, Shape{n}), t);
}

TEST(DefnFuseKernel, EveryElementwisePrimitiveMatchesTheEagerKernel) {
  // Each primitive alone, on every dtype its rule admits, with one operand also a single value
  // (the loops' broadcast forms): the program's result must equal the eager kernel's bit for bit.
  const int64_t n = 1500;
  int checked = 0;
  for (int pi = 0; pi < kNumPrims; ++pi) {
    const Prim p = static_cast<Prim>(pi);
    const PrimGroup grp = info(p).group;
    if (grp != PrimGroup::Unary && grp != PrimGroup::Binary && grp != PrimGroup::Compare) continue;
    if (p == Prim::erf_inv) continue;  // not fused: stays an eager kernel
    for (int di = 0; di <= static_cast<int>(DType::Pred); ++di) {
      const DType t = static_cast<DType>(di);
      Tensor a = edge_values(t, n, 1), b = edge_values(t, n, 2), b1 = edge_values(t, 1, 3);
      try {
        bind(p, grp == PrimGroup::Unary ? std::vector<Tensor>{a} : std::vector<Tensor>{a, b});
      } catch (const Error&) {
        continue;  // the rule rejects this dtype
      }
      const int arity = grp == PrimGroup::Unary ? 1 : 2;
      for (int form = 0; form < arity; ++form) {
        std::vector<Tensor> ins = arity == 1  ? std::vector<Tensor>{a}
                                  : form == 0 ? std::vector<Tensor>{a, b}
                                              : std::vector<Tensor>{a, b1};
        std::vector<TensorType> types;
        for (const Tensor& x : ins) types.push_back(x.type());
        Graph g = trace(types, [&](std::span<const Tensor> q) { return bind(p, q); });
        std::vector<Tensor> want = interpret(g, ins);
        std::vector<Tensor> got = run_kernel(g, ins);
        ASSERT_EQ(std::memcmp(got[0].raw_data(), want[0].raw_data(),
                              static_cast<size_t>(want[0].byte_size())),
                  0)
            << prim_name(p) << " on " << dtype_name(t) << " form " << form;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 300);
}

TEST(DefnFuseKernel, ConvertBetweenAllDtypes) {
  for (int from = 0; from <= static_cast<int>(DType::Pred); ++from) {
    for (int to = 0; to <= static_cast<int>(DType::Pred); ++to) {
      Tensor x = edge_values(static_cast<DType>(from), 777, 5);
      Graph g = trace({x.type()}, [&](std::span<const Tensor> q) {
        return std::vector<Tensor>{nx::as_type(q[0], static_cast<DType>(to))};
      });
      std::vector<Tensor> want = interpret(g, std::vector<Tensor>{x});
      std::vector<Tensor> got = run_kernel(g, {x});
      ASSERT_EQ(std::memcmp(got[0].raw_data(), want[0].raw_data(),
                            static_cast<size_t>(want[0].byte_size())),
                0)
          << dtype_name(static_cast<DType>(from)) << " -> " << dtype_name(static_cast<DType>(to));
    }
  }
}

TEST(DefnFuseKernel, OutputsMayOverwriteTheirInputs) {
  // The Adam step with w, m, v written over their own inputs (donated buffers).
  const TensorType t = f32t({20011});
  Graph g = fuse(trace({t, t, t, t}, adam));
  const Node* n = first_fused(g);
  ASSERT_NE(n, nullptr);
  std::vector<Tensor> in = random_inputs(g, 7);
  for (int k = 0; k < 3; ++k) in[static_cast<size_t>(k)] = nx::abs(in[static_cast<size_t>(k)]);
  std::vector<Tensor> want = interpret(*n->subgraphs[0], in);
  // Which program input is which graph input: the Fused node's inputs are graph values.
  std::vector<Tensor> node_in;
  for (int32_t v : n->in) {
    auto it = std::find(g.inputs.begin(), g.inputs.end(), v);
    ASSERT_NE(it, g.inputs.end());
    node_in.push_back(in[static_cast<size_t>(it - g.inputs.begin())]);
  }
  want = interpret(*n->subgraphs[0], node_in);
  std::vector<Tensor> out;
  for (size_t j = 0; j < n->out.size(); ++j) {
    // Output j over the input of the same shape that it replaces (w over w, m over m, ...).
    const int32_t src = g.inputs[j];
    const size_t pos =
        static_cast<size_t>(std::find(n->in.begin(), n->in.end(), src) - n->in.begin());
    EXPECT_TRUE(fused_may_write_in_place(*n, j, pos));
    Tensor copy = make_tensor(t);
    std::memcpy(mutable_data(copy), node_in[pos].raw_data(), static_cast<size_t>(copy.byte_size()));
    node_in[pos] = copy;
    out.push_back(copy);
  }
  prepare_fused(*n, g)->run(node_in, out);
  for (size_t j = 0; j < out.size(); ++j) expect_same_tensor(out[j], want[j], "output");
}

TEST(DefnFuseKernel, OnlyElementwiseReadsMayBeOverwritten) {
  // out = x * row + sum... : x is read in place, row through a broadcast.
  Graph g = trace({f32t({100, 30}), f32t({30})}, [](std::span<const Tensor> q) {
    return std::vector<Tensor>{nx::exp(q[0]) * q[1]};
  });
  Node n = as_fused(g);
  EXPECT_TRUE(fused_may_write_in_place(n, 0, 0));
  EXPECT_FALSE(fused_may_write_in_place(n, 0, 1));
  Graph r = trace({f32t({100, 30})}, [](std::span<const Tensor> q) {
    return std::vector<Tensor>{nx::sum(q[0], {.axes = Axes{1}})};
  });
  EXPECT_FALSE(fused_may_write_in_place(as_fused(r), 0, 0));
}

/// Runs g as one Fused node and expects the interpreter's results (within tol; exact when 0).
void expect_kernel_matches(const Graph& g, double tol, const std::string& what) {
  std::vector<Tensor> in = random_inputs(g, 11);
  std::vector<Tensor> want = interpret(g, in);
  std::vector<Tensor> got = run_kernel(g, in);
  for (size_t i = 0; i < want.size(); ++i) {
    if (tol == 0)
      expect_same_tensor(got[i], want[i], what + " output " + std::to_string(i));
    else
      expect_close(got[i], want[i], tol, what + " output " + std::to_string(i));
  }
}

TEST(DefnFuseKernel, ViewsUniformsAndPassThroughs) {
  // A rank-4 broadcast with two broadcast axes, a reshaped operand, a broadcast scalar as an
  // output, an input returned as it is, and an output computed twice over.
  Graph g = trace({f32t({2, 3, 4, 5}), f32t({3, 1, 5}), f32t({}), f32t({6, 20})},
                  [](std::span<const Tensor> q) -> std::vector<Tensor> {
                    Tensor a = q[0] * q[1] + nx::reshape(q[3], {2, 3, 4, 5});
                    Tensor filled = nx::broadcast(q[2] * 2.0, {2, 3, 4, 5});
                    return {a, filled, q[0], a, nx::exp(q[2])};
                  });
  expect_kernel_matches(g, 0, "views");
}

TEST(DefnFuseKernel, EmptyDomains) {
  Graph g = trace({f32t({0, 7}), f32t({7})}, [](std::span<const Tensor> q) -> std::vector<Tensor> {
    Tensor a = q[0] * q[1];
    return {a, nx::sum(a, {.axes = Axes{0}})};
  });
  std::vector<Tensor> got = run_kernel(g, random_inputs(g, 1));
  EXPECT_EQ(got[1].to_vector<float>(), std::vector<float>(7, 0.0f));
}

TEST(DefnFuseKernel, ReductionKindsAndDtypes) {
  struct Case {
    DType t;
    Prim p;
  };
  for (Case c : {Case{DType::S32, Prim::reduce_sum}, Case{DType::F16, Prim::reduce_sum},
                 Case{DType::F64, Prim::reduce_prod}, Case{DType::F32, Prim::reduce_min},
                 Case{DType::U8, Prim::reduce_max}, Case{DType::BF16, Prim::reduce_max}}) {
    for (int axis = 0; axis < 2; ++axis) {
      const TensorType t{{301, 45}, c.t};
      Graph g = trace({t, t}, [&](std::span<const Tensor> q) {
        Tensor x = nx::add(q[0], q[1]);
        return bind(c.p, {x}, AxesParams{{axis}});
      });
      // Sums and products in other orders round differently; integers and extremes do not.
      const double tol = is_float(c.t) && c.p != Prim::reduce_min && c.p != Prim::reduce_max
                             ? (c.t == DType::F16 ? 2e-3 : 1e-12)
                             : 0;
      expect_kernel_matches(g, tol,
                            std::string(prim_name(c.p)) + " " + std::string(dtype_name(c.t)) +
                                " axis " + std::to_string(axis));
    }
  }
}

TEST(DefnFuseKernel, UnsupportedProgramsAreInterpreted) {
  // A sort inside a program: no tile program for it, so the kernel runs it node by node.
  Graph g = trace({f32t({50})}, [](std::span<const Tensor> q) {
    return std::vector<Tensor>{nx::sort(nx::exp(q[0])) * 2.0};
  });
  std::vector<Tensor> in = random_inputs(g, 2);
  expect_same_tensor(run_kernel(g, in, false)[0], interpret(g, in)[0], "sorted");
  Node bad = as_fused(g, "mystery");
  EXPECT_THROW(prepare_fused(bad, g), Error);
}

// ---- epilogues ---------------------------------------------------------------------------------

TEST(DefnFuse, MatmulBiasRelu) {
  Graph g = trace({f32t({64, 128}), f32t({128, 96}), f32t({96})}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::max(nx::dot(p[0], p[1]) + p[2], 0.0)};
  });
  Graph f = fuse_and_check(g, 1e-5);
  const Node* n = first_fused(f);
  ASSERT_NE(n, nullptr) << dump_text(f);
  EXPECT_EQ(n->name, "matmul_epilogue") << dump_text(f);
  EXPECT_EQ(count_kind(f, NodeKind::Fused), 1) << dump_text(f);
  EXPECT_EQ(count_prim(f, Prim::dot_general), 0) << dump_text(f);
}

TEST(DefnFuse, MatmulEpilogueChains) {
  // Transposed and batched operands; a per-row bias (a binary post-op: oneDNN's matmul bias
  // is fast only per column); scalar and tensor post-ops.
  Graph g = trace({f32t({4, 80, 48}), f32t({4, 64, 80}), f32t({48, 1}), f32t({4, 48, 64})},
                  [](std::span<const Tensor> p) {
                    Tensor y = nx::dot(p[0], {1}, {0}, p[1], {2}, {0});  // [4, 48, 64]
                    Tensor z = nx::sigmoid((y + p[2]) * 0.5) - 1.0;
                    return std::vector<Tensor>{nx::tanh(z * p[3] + p[3])};
                  });
  Graph f = fuse_and_check(g, 1e-5);
  const Node* n = first_fused(f);
  ASSERT_NE(n, nullptr) << dump_text(f);
  EXPECT_EQ(n->name, "matmul_epilogue") << dump_text(f);
}

TEST(DefnFuse, SmallMatmulsKeepThePlainProduct) {
  Graph g = trace({f32t({4, 8}), f32t({8, 3}), f32t({3})}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::max(nx::dot(p[0], p[1]) + p[2], 0.0)};
  });
  Graph f = fuse_and_check(g);
  EXPECT_EQ(count_prim(f, Prim::dot_general), 1) << dump_text(f);
}

TEST(DefnFuse, ConvBiasRelu) {
  Graph g =
      trace({f32t({2, 8, 16, 16}), f32t({16, 8, 3, 3}), f32t({16})}, [](std::span<const Tensor> p) {
        Tensor y = nx::conv(p[0], p[1], {.padding = Padding::explicit_pairs({{1, 1}, {1, 1}})});
        Tensor b = nx::reshape(p[2], {1, 16, 1, 1});
        return std::vector<Tensor>{nx::max(y + b, 0.0)};
      });
  Graph f = fuse_and_check(g, 1e-4);
  const Node* n = first_fused(f);
  ASSERT_NE(n, nullptr) << dump_text(f);
  EXPECT_EQ(n->name, "conv_epilogue") << dump_text(f);
  EXPECT_EQ(count_prim(f, Prim::conv_general), 0) << dump_text(f);
}

TEST(DefnFuse, ConvResidualChains) {
  // Bias, a residual tensor and relu: whatever prefix oneDNN takes, the result is the same.
  Graph g = trace({f32t({2, 8, 12, 12}), f32t({8, 8, 3, 3}), f32t({8}), f32t({2, 8, 12, 12})},
                  [](std::span<const Tensor> p) {
                    Tensor y = nx::conv(p[0], p[1], {.padding = Padding::same()});
                    Tensor b = nx::reshape(p[2], {1, 8, 1, 1});
                    return std::vector<Tensor>{nx::max((y + b) * 0.5 + p[3], 0.0)};
                  });
  Graph f = fuse_and_check(g, 1e-4);
  EXPECT_EQ(count_elementwise(f), 0) << dump_text(f);
}

TEST(DefnFuse, Bf16MatmulEpilogue) {
  const TensorType a{{64, 96}, DType::BF16}, b{{96, 80}, DType::BF16}, c{{80}, DType::BF16};
  Graph g = trace({a, b, c}, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::tanh(nx::dot(p[0], p[1]) + p[2])};
  });
  // oneDNN rounds to bf16 once, after bias and tanh; the eager ops round after each.
  fuse_and_check(g, 2e-2);
}

// ---- through the pipeline ----------------------------------------------------------------------

TEST(DefnFuse, JitOfAFusedFunctionMatchesEager) {
  auto f = [](const Tensor& x, const Tensor& y) {
    return nx::sum(nx::exp(x * y - 1.0) / (1.0 + nx::abs(x)), {.axes = Axes{1}});
  };
  Tensor x = random_tensor(f32t({33, 777}), 1), y = random_tensor(f32t({777}), 2);
  Tensor want = f(x, y);
  auto jf = nx::jit([&](const Tensor& a, const Tensor& b) { return f(a, b); });
  expect_close(jf(x, y), want, 1e-5, "jit");
}

}  // namespace
}  // namespace nx::detail
