// The ONNX If, Loop and Scan converters: through a hand-filled OpCall whose graph attributes are
// C++ functions (so each path of the converters is checked on its own: constant and traced
// conditions, counted, eager and while loops, scan axes and directions, opset 8's batch axis),
// eagerly, under nx::jit and under nx::grad, against values computed here by plain loops; and
// end to end through the importer with real ONNX subgraphs.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/fn/fn_test_helpers.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "op_test_util.hpp"

namespace {

using axon::onnx_import::OpCall;
using axon::onnx_import::Subgraph;
using nx::Tensor;

// A node whose graph attributes run C++ functions.
struct Node : op_test::Attrs {
  explicit Node(std::string op_type) : op(std::move(op_type)) {}
  std::string op;
  std::map<std::string, Subgraph> graphs;
  int64_t opset = 17;

  Node& graph(const std::string& name, Subgraph f) {
    add(name, onnx::AttributeProto::GRAPH).mutable_g()->set_name(name);
    graphs[name] = std::move(f);
    return *this;
  }
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs, size_t outputs = 4) const {
    OpCall call;
    call.op_type_ = op;
    call.name_ = "n";
    call.opset_ = opset;
    call.inputs_ = inputs;
    call.num_outputs_ = outputs;
    attach(call);
    call.make_subgraph_ = [this](const onnx::GraphProto& g) { return graphs.at(g.name()); };
    return axon::onnx_import::find_op(op)->convert(call);
  }
};

Tensor f32(std::vector<float> v, nx::Shape shape) {
  return nx::from_vector(v, shape);
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "expected an error mentioning '" << part << "'";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// ---- If ---------------------------------------------------------------------------------------

Node if_node(const Tensor& x) {
  Node n{"If"};
  n.graph("then_branch", [x](const std::vector<Tensor>&) {
    return std::vector<Tensor>{x * 2.0, nx::sum(x)};
  });
  n.graph("else_branch", [x](const std::vector<Tensor>&) {
    return std::vector<Tensor>{x - 1.0, nx::reduce_max(x)};
  });
  return n;
}

TEST(OnnxControlOps, IfConstantConditionRunsOneBranch) {
  Tensor x = f32({1, 2, 3}, {3});
  int else_runs = 0;
  Node n = if_node(x);
  n.graphs["else_branch"] = [&](const std::vector<Tensor>&) {
    ++else_runs;
    return std::vector<Tensor>{x, x};
  };
  std::vector<Tensor> r = n({nx::tensor<bool>({true})});
  fn_test::expect_close(r[0], f32({2, 4, 6}, {3}), 0, 0, "then");
  fn_test::expect_close(r[1], nx::scalar(6, nx::f32), 0, 0, "then sum");
  EXPECT_EQ(else_runs, 0);
}

TEST(OnnxControlOps, IfTracedConditionCompilesBothBranches) {
  Tensor x = f32({1, 2, 3}, {3});
  auto f = nx::jit([&](const Tensor& c, const Tensor& v) {
    Node n = if_node(v);
    std::vector<Tensor> r = n({nx::greater(c, 0.0)});
    return r[0] + r[1];
  });
  fn_test::expect_close(f(nx::scalar(1, nx::f32), x), f32({8, 10, 12}, {3}), 0, 0, "true");
  fn_test::expect_close(f(nx::scalar(-1, nx::f32), x), f32({3, 4, 5}, {3}), 0, 0, "false");
  // Differentiable through the taken branch.
  Tensor g = nx::grad(x, [&](const Tensor& v) {
    Node n = if_node(v);
    std::vector<Tensor> r = n({nx::greater(nx::sum(v), 0.0)});
    return nx::sum(r[0] * f32({1, 2, 3}, {3})) + r[1];
  });
  fn_test::expect_close(g, f32({3, 5, 7}, {3}), 1e-6, 0, "grad");
}

TEST(OnnxControlOps, IfTracedBranchesMustAgree) {
  Tensor x = f32({1, 2, 3}, {3});
  Node n{"If"};
  n.graph("then_branch", [x](const std::vector<Tensor>&) { return std::vector<Tensor>{x}; });
  n.graph("else_branch", [x](const std::vector<Tensor>&) {
    return std::vector<Tensor>{nx::slice_along_axis(x, 0, 2, 0)};
  });
  expect_error(
      [&] { nx::jit([&](const Tensor& c) { return n({c})[0]; })(nx::tensor<bool>({true})); },
      "both branches are compiled and must give outputs of the same shapes");
  expect_error([&] { n({nx::tensor<bool>({true, false})}); }, "must have one element");
}

// ---- Loop -------------------------------------------------------------------------------------

// Body: (i, cond, x) -> (cond, x * 2 + i, scan output x + 1).
Node counted_loop(bool with_cond_output_data = false) {
  Node n{"Loop"};
  n.graph("body", [with_cond_output_data](const std::vector<Tensor>& a) {
    Tensor next = a[2] * 2.0 + nx::as_type(a[0], nx::f32);
    Tensor c = with_cond_output_data ? nx::less(nx::sum(next), 100.0) : a[1];
    return std::vector<Tensor>{c, next, a[2] + 1.0};
  });
  return n;
}

// The same loop by hand, for `steps` steps.
std::pair<Tensor, Tensor> counted_reference(const Tensor& x, int64_t steps) {
  Tensor v = x;
  std::vector<Tensor> ys;
  for (int64_t i = 0; i < steps; ++i) {
    ys.push_back(v + 1.0);
    v = v * 2.0 + static_cast<double>(i);
  }
  return {v, nx::stack(ys, 0)};
}

TEST(OnnxControlOps, LoopWithTripCountIsAScan) {
  Tensor x = f32({1, -2}, {2});
  auto [final_v, ys] = counted_reference(x, 4);
  Node n = counted_loop();
  Tensor m = nx::tensor<int64_t>({4});
  // Eager (every value concrete), compiled (traced x: nx::scan), and with a constant-true
  // condition input.
  std::vector<Tensor> r = n({m, Tensor(), x});
  fn_test::expect_close(r[0], final_v, 0, 0, "eager final");
  fn_test::expect_close(r[1], ys, 0, 0, "eager scan output");
  auto f = nx::jit([&](const Tensor& v) {
    std::vector<Tensor> o = n({m, nx::tensor<bool>({true}), v});
    return std::vector<Tensor>{o[0], o[1]};
  });
  std::vector<Tensor> j = f(x);
  fn_test::expect_close(j[0], final_v, 0, 0, "jit final");
  fn_test::expect_close(j[1], ys, 0, 0, "jit scan output");
  // d/dx of sum(final) + sum(ys): final = 16 x + c, ys_k = 2^k x + c -> 16 + 1 + 2 + 4 + 8.
  Tensor g = nx::grad(x, [&](const Tensor& v) {
    std::vector<Tensor> o = n({m, Tensor(), v});
    return nx::sum(o[0]) + nx::sum(o[1]);
  });
  fn_test::expect_close(g, f32({31, 31}, {2}), 0, 0, "grad");
}

TEST(OnnxControlOps, LoopZeroTripsGivesEmptyScanOutputs) {
  Tensor x = f32({1, -2}, {2});
  Node n = counted_loop();
  std::vector<Tensor> r = n({nx::tensor<int64_t>({0}), Tensor(), x});
  fn_test::expect_close(r[0], x, 0, 0, "final");
  EXPECT_EQ(r[1].shape(), (nx::Shape{0, 2}));
  auto f = nx::jit([&](const Tensor& v) { return n({nx::tensor<int64_t>({0}), Tensor(), v})[0]; });
  fn_test::expect_close(f(x), x, 0, 0, "jit final");
}

TEST(OnnxControlOps, LoopDataDependentConditionIsAWhileLoop) {
  Tensor x = f32({1, 2}, {2});
  // Runs while sum(next) < 100, at most 10 steps: sums 3 -> 7 -> 15 -> 33 -> 71 -> 151 stop.
  Node n{"Loop"};
  n.graph("body", [](const std::vector<Tensor>& a) {
    Tensor next = a[2] * 2.0 + 1.0;
    return std::vector<Tensor>{nx::less(nx::sum(next), 100.0), next};
  });
  auto f = nx::jit([&](const Tensor& v) {
    return n({nx::tensor<int64_t>({10}), nx::less(nx::sum(v), 100.0), v})[0];
  });
  fn_test::expect_close(f(x), f32({63, 95}, {2}), 0, 0, "while");
  auto g = nx::jit([&](const Tensor& v) {
    return n({nx::tensor<int64_t>({3}), nx::tensor<bool>({true}), v})[0];
  });
  fn_test::expect_close(g(x), f32({15, 23}, {2}), 0, 0, "trip count bound");
  // Without a trip count (a pure while loop), eagerly and compiled.
  auto h = nx::jit([&](const Tensor& v) { return n({Tensor(), nx::tensor<bool>({true}), v})[0]; });
  fn_test::expect_close(h(x), f32({63, 95}, {2}), 0, 0, "no trip count");
  fn_test::expect_close(n({Tensor(), nx::tensor<bool>({true}), x})[0], f32({63, 95}, {2}), 0, 0,
                        "eager");
  // Differentiable: five doublings, d/dx = 32.
  Tensor gw = nx::grad(x, [&](const Tensor& v) {
    return nx::sum(n({nx::tensor<int64_t>({10}), nx::less(nx::sum(v), 100.0), v})[0]);
  });
  fn_test::expect_close(gw, f32({32, 32}, {2}), 0, 0, "while grad");
}

TEST(OnnxControlOps, LoopDataDependentScanOutputs) {
  Tensor x = f32({1, 2}, {2});
  Node n = counted_loop(true);
  // Eagerly the steps are counted as they run: 3 steps (sums 3 -> 7 -> 17 -> 39... ).
  std::vector<Tensor> r = n({nx::tensor<int64_t>({10}), nx::tensor<bool>({true}), x});
  Tensor v = x;
  int64_t steps = 0;
  for (int64_t i = 0; i < 10; ++i) {
    v = v * 2.0 + static_cast<double>(i);
    ++steps;
    if (!(nx::sum(v).item<double>() < 100.0)) break;
  }
  auto [final_v, ys] = counted_reference(x, steps);
  fn_test::expect_close(r[0], final_v, 0, 0, "final");
  fn_test::expect_close(r[1], ys, 0, 0, "scan output");
  // Compiled, their length would depend on the data.
  expect_error(
      [&] {
        nx::jit([&](const Tensor& t) {
          return n({nx::tensor<int64_t>({10}), nx::tensor<bool>({true}), t})[0];
        })(x);
      },
      "scan output(s) cannot be stacked");
}

TEST(OnnxControlOps, LoopCarriedValuesMayChangeShape) {
  // The carried value grows by one element per step: run eagerly, or unrolled when traced.
  Node n{"Loop"};
  n.graph("body", [](const std::vector<Tensor>& a) {
    Tensor grown = nx::concatenate({a[2], nx::reshape(nx::as_type(a[0], nx::s64), {1})}, 0);
    return std::vector<Tensor>{a[1], grown, nx::sum(grown)};
  });
  std::vector<Tensor> r = n({nx::tensor<int64_t>({3}), Tensor(), nx::tensor<int64_t>({7})});
  EXPECT_EQ(r[0].to_vector<int64_t>(), (std::vector<int64_t>{7, 0, 1, 2}));
  EXPECT_EQ(r[1].to_vector<int64_t>(), (std::vector<int64_t>{7, 8, 10}));
  auto f = nx::jit([&](const Tensor& t) { return n({nx::tensor<int64_t>({3}), Tensor(), t})[0]; });
  EXPECT_EQ(f(nx::tensor<int64_t>({7})).to_vector<int64_t>(), (std::vector<int64_t>{7, 0, 1, 2}));
  expect_error([&] { n({Tensor(), Tensor(), nx::tensor<int64_t>({7})}); }, "never ends");
  // Too many steps to unroll.
  expect_error(
      [&] {
        nx::jit([&](const Tensor& t) {
          return n({nx::tensor<int64_t>({5000}), Tensor(), t})[0];
        })(nx::tensor<int64_t>({7}));
      },
      "too many to unroll");
}

// A body that needs its iteration number as a constant is unrolled.
TEST(OnnxControlOps, LoopIterationNumberAsConstantIsUnrolled) {
  Node n{"Loop"};
  n.graph("body", [](const std::vector<Tensor>& a) {
    if (a[0].is_traced()) {
      throw nx::Error("Slice node s: input 1 must be known when the model is compiled");
    }
    int64_t i = a[0].item<int64_t>();
    return std::vector<Tensor>{a[1], a[2] + static_cast<double>(i * i)};
  });
  auto f = nx::jit([&](const Tensor& t) { return n({nx::tensor<int64_t>({4}), Tensor(), t})[0]; });
  fn_test::expect_close(f(f32({1}, {1})), f32({15}, {1}), 0, 0, "unrolled");
}

// ---- Scan -------------------------------------------------------------------------------------

// Body: (sum, x) -> (sum + x, sum + x, x * 2): a running sum along the scanned axis.
Node running_sum() {
  Node n{"Scan"};
  n.graph("body", [](const std::vector<Tensor>& a) {
    Tensor s = a[0] + a[1];
    return std::vector<Tensor>{s, s, a[1] * 2.0};
  });
  return n;
}

TEST(OnnxControlOps, ScanAxesAndDirections) {
  // x {2, 3}: scan over axis 1 in reverse; outputs stacked on axis 1, the second reversed.
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3});
  Node n = running_sum();
  n.i("num_scan_inputs", 1)
      .ints("scan_input_axes", {1})
      .ints("scan_input_directions", {1})
      .ints("scan_output_axes", {1, -1})
      .ints("scan_output_directions", {0, 1});
  Tensor init = nx::zeros({2});
  std::vector<Tensor> r = n({init, x});
  fn_test::expect_close(r[0], f32({6, 15}, {2}), 0, 0, "final");
  // Steps visit columns 2, 1, 0: running sums {3, 5, 6} and {6, 11, 15}.
  fn_test::expect_close(r[1], f32({3, 5, 6, 6, 11, 15}, {2, 3}), 0, 0, "running sums");
  // Per-step x*2 in visit order (6, 4, 2), then reversed (prepended): {2, 4, 6}.
  fn_test::expect_close(r[2], f32({2, 4, 6, 8, 10, 12}, {2, 3}), 0, 0, "reversed output");
  auto f = nx::jit([&](const Tensor& v) { return n({init, v}); });
  std::vector<Tensor> j = f(x);
  fn_test::expect_close(j[1], r[1], 0, 0, "jit");
  Tensor g = nx::grad(x, [&](const Tensor& v) { return nx::sum(n({init, v})[1]); });
  // Column 2 enters every running sum (3 times), column 1 twice, column 0 once.
  fn_test::expect_close(g, f32({1, 2, 3, 1, 2, 3}, {2, 3}), 0, 0, "grad");
  Node bad = running_sum();
  bad.i("num_scan_inputs", 1).ints("scan_input_axes", {2});
  expect_error([&] { bad({init, x}); }, "scan_input_axes value 2 is out of range for rank 2");
  Node bad_count = running_sum();
  bad_count.i("num_scan_inputs", 3);
  expect_error([&] { bad_count({init, x}); }, "num_scan_inputs must be between 1 and");
  Node bad_state = running_sum();
  bad_state.i("num_scan_inputs", 1);
  expect_error(
      [&] {
        bad_state({nx::zeros({3}, nx::s32), x});
      },
      "must keep their shapes and types");
}

TEST(OnnxControlOps, ScanOpset8BatchAndLengths) {
  // x {batch 2, seq 3, 1}; the second example has length 2 (its third output is zero).
  Tensor x = f32({1, 2, 3, 4, 5, 6}, {2, 3, 1});
  Node n = running_sum();
  n.opset = 8;
  n.i("num_scan_inputs", 1).ints("directions", {0});
  std::vector<Tensor> r = n({nx::tensor<int64_t>({3, 2}), nx::zeros({2, 1}), x});
  fn_test::expect_close(r[0], f32({6, 9}, {2, 1}), 0, 0, "final");
  fn_test::expect_close(r[1], f32({1, 3, 6, 4, 9, 0}, {2, 3, 1}), 0, 0, "running sums");
  Node rev = running_sum();
  rev.opset = 8;
  rev.i("num_scan_inputs", 1).ints("directions", {1});
  std::vector<Tensor> q = rev({Tensor(), nx::zeros({2, 1}), x});
  fn_test::expect_close(q[1], f32({3, 5, 6, 6, 11, 15}, {2, 3, 1}), 0, 0, "reverse");
}

// ---- Through the importer, with real ONNX subgraphs ---------------------------------------------

void value_info(onnx::ValueInfoProto* v, const std::string& name, int elem,
                const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem);
  auto* s = t->mutable_shape();
  for (int64_t d : dims) s->add_dim()->set_dim_value(d);
}

onnx::NodeProto* node(onnx::GraphProto* g, const std::string& op,
                      const std::vector<std::string>& in, const std::vector<std::string>& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

// A model: x f32[2] -> Loop(M=3: x = x + w, scan y = x * x) -> If(sum > 0 ? final : -final)
// -> Scan running sum over the stacked squares.
std::string control_model() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(16);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("main");
  value_info(g->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  auto* trip = g->add_initializer();
  trip->set_name("M");
  trip->set_data_type(onnx::TensorProto::INT64);
  trip->add_int64_data(3);
  auto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->add_float_data(0.5f);
  w->add_float_data(-1.0f);

  onnx::NodeProto* loop = node(g, "Loop", {"M", "", "x"}, {"x_final", "squares"});
  loop->set_name("loop");
  auto* body_attr = loop->add_attribute();
  body_attr->set_name("body");
  body_attr->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto* body = body_attr->mutable_g();
  body->set_name("loop_body");
  value_info(body->add_input(), "i", onnx::TensorProto::INT64, {});
  value_info(body->add_input(), "c", onnx::TensorProto::BOOL, {});
  value_info(body->add_input(), "xb", onnx::TensorProto::FLOAT, {2});
  node(body, "Identity", {"c"}, {"c_out"});
  node(body, "Add", {"xb", "w"}, {"x_next"});  // w from the outer scope
  node(body, "Mul", {"x_next", "x_next"}, {"sq"});
  value_info(body->add_output(), "c_out", onnx::TensorProto::BOOL, {});
  value_info(body->add_output(), "x_next", onnx::TensorProto::FLOAT, {2});
  value_info(body->add_output(), "sq", onnx::TensorProto::FLOAT, {2});

  node(g, "ReduceSum", {"x_final"}, {"total"})->set_name("sum");
  auto* zero = g->add_initializer();
  zero->set_name("zero");
  zero->set_data_type(onnx::TensorProto::FLOAT);
  zero->add_float_data(0.0f);
  node(g, "Greater", {"total", "zero"}, {"positive"})->set_name("gt");
  onnx::NodeProto* iff = node(g, "If", {"positive"}, {"chosen"});
  iff->set_name("if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = iff->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    onnx::GraphProto* b = a->mutable_g();
    b->set_name(branch);
    node(b, std::string(branch) == "then_branch" ? "Identity" : "Neg", {"x_final"}, {"r"});
    value_info(b->add_output(), "r", onnx::TensorProto::FLOAT, {2});
  }

  onnx::NodeProto* scan = node(g, "Scan", {"chosen", "squares"}, {"acc", "partial"});
  scan->set_name("scan");
  auto* n_in = scan->add_attribute();
  n_in->set_name("num_scan_inputs");
  n_in->set_type(onnx::AttributeProto::INT);
  n_in->set_i(1);
  auto* sb = scan->add_attribute();
  sb->set_name("body");
  sb->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto* sbody = sb->mutable_g();
  sbody->set_name("scan_body");
  value_info(sbody->add_input(), "s", onnx::TensorProto::FLOAT, {2});
  value_info(sbody->add_input(), "e", onnx::TensorProto::FLOAT, {2});
  node(sbody, "Add", {"s", "e"}, {"s2"});
  node(sbody, "Identity", {"s2"}, {"p"});
  value_info(sbody->add_output(), "s2", onnx::TensorProto::FLOAT, {2});
  value_info(sbody->add_output(), "p", onnx::TensorProto::FLOAT, {2});

  value_info(g->add_output(), "acc", onnx::TensorProto::FLOAT, {2});
  value_info(g->add_output(), "partial", onnx::TensorProto::FLOAT, {3, 2});
  return m.SerializeAsString();
}

TEST(OnnxControlOps, ImportedSubgraphsRunAndTrain) {
  std::string bytes = control_model();
  axon::onnx::Imported m = axon::onnx::import_bytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  axon::PredictFn predict_fn = axon::build(m.model).second;
  auto expect_for = [&](std::vector<float> xv) {
    Tensor x = f32(xv, {2});
    std::vector<Tensor> sq;
    Tensor v = x;
    for (int k = 0; k < 3; ++k) {
      v = v + f32({0.5f, -1.0f}, {2});
      sq.push_back(v * v);
    }
    Tensor chosen = nx::sum(v).item<double>() > 0 ? v : -v;
    Tensor acc = chosen;
    std::vector<Tensor> partial;
    for (const Tensor& s : sq) {
      acc = acc + s;
      partial.push_back(acc);
    }
    nx::Tree out = predict_fn(m.state, x);
    fn_test::expect_close(out["acc"].leaf(), acc, 1e-6, 1e-6, "acc");
    fn_test::expect_close(out["partial"].leaf(), nx::stack(partial, 0), 1e-6, 1e-6, "partial");
  };
  expect_for({1.0f, 2.0f});    // then branch
  expect_for({-3.0f, -2.0f});  // else branch
}

}  // namespace
