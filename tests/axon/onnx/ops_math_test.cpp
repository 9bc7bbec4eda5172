// The ONNX math family's converters (src/axon/onnx/ops_math*.cpp) against numpy.
//
// Every case of data/ops_math.npz (written by data/gen_ops_math.py) is one ONNX node with its
// inputs and numpy's expected outputs. Each case runs twice: its converter called directly
// with a hand-filled OpCall (eagerly, every opset, including 18 which the importer
// refuses), and as a one-node model through the importer, built and predicted (compiled with
// nx::jit, constant inputs as initializers).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/export_emit.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/io.hpp"
#include "nx/nx.hpp"
#include "onnx_case.hpp"

namespace {

using axon::onnx_import::OpCall;
using nx::Tensor;

// ---- The cases (tests/axon/onnx/onnx_case.hpp) ---------------------------------------------

using onnx_case::call_converter;
using onnx_case::Case;

const nx::Tree& reference() {
  return onnx_case::reference("ops_math.npz");
}
std::vector<std::string> case_names() {
  return onnx_case::case_names(reference());
}

// Same dtype and shape; integers and bools exactly, floats within a tolerance of their type.
void expect_matches(const Tensor& actual, const Tensor& expected, const std::string& what) {
  onnx_case::expect_matches(actual, expected, what,
                            {.f16_rtol = 2e-3,
                             .f16_atol = 1e-3,
                             .f32_rtol = 2e-5,
                             .f32_atol = 1e-6,
                             .f64_rtol = 1e-12,
                             .f64_atol = 1e-14});
}

// ---- Direct calls -------------------------------------------------------------------------------

TEST(OnnxMathOps, ConvertersMatchNumpy) {
  ASSERT_GT(case_names().size(), 200u);
  onnx_case::for_each_result(reference(), false,
                             [](const Case& c, const std::vector<Tensor>& outs) {
                               ASSERT_EQ(outs.size(), c.outputs.size()) << c.name;
                               for (size_t i = 0; i < outs.size(); ++i)
                                 expect_matches(outs[i], c.outputs[i], c.name);
                             });
}

// ---- Through the importer
// ------------------------------------------------------------------------

TEST(OnnxMathOps, ImportedModelsMatchNumpy) {
  const int ran = onnx_case::for_each_result(
      reference(), true,
      [](const Case& c, const std::vector<Tensor>& outs) {
        ASSERT_EQ(outs.size(), c.outputs.size()) << c.name;
        for (size_t i = 0; i < outs.size(); ++i) expect_matches(outs[i], c.outputs[i], c.name);
      },
      [](const Case& c) { return c.opset > 17; });  // the importer's range is 1..17
  EXPECT_GT(ran, 180);
}

// ---- A chain with a symbolic batch and a trainable weight ------------------------------------

::onnx::NodeProto make_node(const std::string& op, const std::vector<std::string>& in,
                            const std::string& out) {
  ::onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(out + "_node");
  for (const std::string& i : in) n.add_input(i);
  n.add_output(out);
  return n;
}

void add_initializer(::onnx::GraphProto* g, const std::string& name, const Tensor& t) {
  auto* init = g->add_initializer();
  init->set_name(name);
  init->set_data_type(axon::onnx::detail::onnx_dtype(t.dtype()));
  for (int64_t d : t.shape()) init->add_dims(d);
  init->set_raw_data(t.raw_data(), static_cast<size_t>(t.byte_size()));
}

// x[N, 4] -> PRelu(slope[4], a weight) -> Clip(-1, 2) -> CumSum(axis 1) -> ReduceSum(axes [1],
// keepdims 0) -> y[N]: settings (bounds, axes) are constants read at trace time, the batch
// is symbolic, and the slope is a trainable parameter whose gradient flows.
axon::onnx::Imported import_chain() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("chain");
  auto* x = g->add_input();
  x->set_name("x");
  auto* tt = x->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(4);
  add_initializer(g, "slope", nx::tensor<float>({0.5f, 0.25f, 2.0f, 1.0f}));
  add_initializer(g, "lo", nx::scalar(-1.0, nx::f32));
  add_initializer(g, "hi", nx::scalar(2.0, nx::f32));
  add_initializer(g, "axis", nx::scalar_int(1, nx::s64));
  add_initializer(g, "axes", nx::tensor<int64_t>({1}));
  *g->add_node() = make_node("PRelu", {"x", "slope"}, "p");
  *g->add_node() = make_node("Clip", {"p", "lo", "hi"}, "c");
  *g->add_node() = make_node("CumSum", {"c", "axis"}, "s");
  auto reduce = make_node("ReduceSum", {"s", "axes"}, "y");
  auto* keep = reduce.add_attribute();
  keep->set_name("keepdims");
  keep->set_type(::onnx::AttributeProto::INT);
  keep->set_i(0);
  *g->add_node() = reduce;
  auto* y = g->add_output();
  y->set_name("y");
  y->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::FLOAT);
  std::string bytes = m.SerializeAsString();
  return axon::onnx::import_bytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// The chain in plain arithmetic, for one row.
double chain_row(const std::vector<float>& row) {
  const double slope[4] = {0.5, 0.25, 2.0, 1.0};
  double running = 0, total = 0;
  for (size_t j = 0; j < 4; ++j) {
    double v = row[j] < 0 ? row[j] * slope[j] : row[j];
    running += std::min(std::max(v, -1.0), 2.0);
    total += running;
  }
  return total;
}

TEST(OnnxMathOps, SymbolicBatchChainPredictsAndTrains) {
  axon::onnx::Imported m = import_chain();
  auto built = axon::build(m.model);
  auto& predict_fn = built.second;
  for (int64_t batch : {1, 3, 6}) {
    Tensor x = nx::iota({batch, 4}, nx::f32) * 0.7 - 3.0;
    Tensor y = predict_fn(m.state, x).leaf();
    ASSERT_EQ(y.shape(), nx::Shape({batch}));
    std::vector<float> xv = x.to_vector<float>();
    std::vector<float> yv = y.to_vector<float>();
    for (int64_t i = 0; i < batch; ++i) {
      std::vector<float> row(xv.begin() + 4 * i, xv.begin() + 4 * i + 4);
      EXPECT_NEAR(yv[static_cast<size_t>(i)], chain_row(row), 1e-5) << "batch " << batch;
    }
  }
  // The slope is a trainable parameter; d(sum y)/d(slope) flows through the compiled chain.
  nx::Tree params = m.state.trainable_parameters();
  ASSERT_EQ(params.num_leaves(), 1) << params.to_string();
  Tensor x = nx::tensor<float>({{-0.5f, -1.0f, -0.2f, 0.3f}, {-1.5f, 0.4f, -0.1f, -6.0f}});
  nx::Tree g = nx::grad(
      params, [&](const nx::Tree& p) { return nx::sum(predict_fn(m.state.update(p), x).leaf()); });
  Tensor grad = nx::tree_leaves(g)[0];
  // By hand: slope j scales x[i][j] where x < 0 and the clip does not bind (only x[1][3] * 1 =
  // -6 is clipped); column j feeds 4 - j running sums.
  const std::vector<float> expected = {(-0.5f - 1.5f) * 4, -1.0f * 3, (-0.2f - 0.1f) * 2, 0.0f};
  std::vector<float> gv = grad.to_vector<float>();
  for (size_t j = 0; j < 4; ++j) EXPECT_NEAR(gv[j], expected[j], 1e-5) << "slope " << j;
}

// ---- Every op of the family is registered
// --------------------------------------------------------

TEST(OnnxMathOps, FamilyIsRegistered) {
  for (const char* op : {"Abs",
                         "Neg",
                         "Exp",
                         "Log",
                         "Sqrt",
                         "Reciprocal",
                         "Floor",
                         "Ceil",
                         "Round",
                         "Sign",
                         "Sin",
                         "Cos",
                         "Tan",
                         "Asin",
                         "Acos",
                         "Atan",
                         "Sinh",
                         "Cosh",
                         "Asinh",
                         "Acosh",
                         "Atanh",
                         "Erf",
                         "Not",
                         "IsNaN",
                         "IsInf",
                         "Add",
                         "Sub",
                         "Mul",
                         "Div",
                         "Pow",
                         "Mod",
                         "Max",
                         "Min",
                         "Sum",
                         "Mean",
                         "And",
                         "Or",
                         "Xor",
                         "Equal",
                         "Less",
                         "LessOrEqual",
                         "Greater",
                         "GreaterOrEqual",
                         "BitShift",
                         "Where",
                         "Clip",
                         "Cast",
                         "CastLike",
                         "Relu",
                         "LeakyRelu",
                         "PRelu",
                         "Elu",
                         "Selu",
                         "Celu",
                         "Sigmoid",
                         "HardSigmoid",
                         "HardSwish",
                         "Tanh",
                         "Softplus",
                         "Softsign",
                         "ThresholdedRelu",
                         "Shrink",
                         "ReduceSum",
                         "ReduceMean",
                         "ReduceMax",
                         "ReduceMin",
                         "ReduceProd",
                         "ReduceL1",
                         "ReduceL2",
                         "ReduceLogSum",
                         "ReduceLogSumExp",
                         "ReduceSumSquare",
                         "ArgMax",
                         "ArgMin",
                         "CumSum",
                         "Det"}) {
    EXPECT_NE(axon::onnx_import::find_op(op), nullptr) << op;
  }
}

// ---- Gradients
// ------------------------------------------------------------------------------------

// The converters are nx compositions, so they differentiate; exponentials only see min(x, 0),
// so large inputs give finite gradients. Checked against central differences in f64.
TEST(OnnxMathOps, ActivationGradientsAreFiniteAndCorrect) {
  const Tensor x = nx::tensor<double>({-30.0, -2.0, -0.3, 0.4, 1.7, 80.0, 800.0});
  for (const char* op : {"Elu", "Selu", "Celu", "Softplus", "Softsign", "HardSwish", "Sigmoid",
                         "LeakyRelu", "Tanh", "HardSigmoid"}) {
    SCOPED_TRACE(op);
    Case c;
    c.name = op;
    c.node.set_op_type(op);
    c.node.add_input("x");
    c.node.add_output("y");
    auto f = [&](const Tensor& v) {
      Case d = c;
      d.inputs = {v};
      return call_converter(d)[0];
    };
    Tensor g = nx::grad(x, [&](const Tensor& v) { return nx::sum(f(v)); });
    std::vector<double> gv = g.to_vector<double>();
    std::vector<double> xv = x.to_vector<double>();
    for (size_t i = 0; i < xv.size(); ++i) {
      const double h = 1e-6;
      std::vector<double> lo = xv, hi = xv;
      lo[i] -= h;
      hi[i] += h;
      double fd = (nx::sum(f(nx::from_vector(hi))).item<double>() -
                   nx::sum(f(nx::from_vector(lo))).item<double>()) /
                  (2 * h);
      ASSERT_TRUE(std::isfinite(gv[i])) << "x = " << xv[i];
      EXPECT_NEAR(gv[i], fd, 1e-5 * (1 + std::abs(fd))) << "x = " << xv[i];
    }
  }
}

// Det's gradient is det(A) * inverse(A)^T (Jacobi's formula); its LU elimination, pivoting
// included, differentiates to it.
TEST(OnnxMathOps, DetGradientIsJacobisFormula) {
  const Tensor a = nx::tensor<double>({{0.0, 2.0, 1.0}, {3.0, 1.0, 0.0}, {1.0, 1.0, 1.0}});
  Case c;
  c.name = "det";
  c.node.set_op_type("Det");
  c.node.add_input("x");
  c.node.add_output("y");
  Tensor g = nx::grad(a, [&](const Tensor& v) {
    Case d = c;
    d.inputs = {v};
    return call_converter(d)[0];
  });
  // det = 0*(1-0) - 2*(3-0) + 1*(3-1) = -4; cofactor matrix C, grad = C.
  const Tensor expected =
      nx::tensor<double>({{1.0, -3.0, 2.0}, {-1.0, -1.0, 2.0}, {-1.0, 3.0, -6.0}});
  expect_matches(g, expected, "grad of Det");
}

// ---- Errors -------------------------------------------------------------------------------------

::onnx::AttributeProto int_attr(const std::string& name, int64_t v) {
  ::onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

// Runs op on inputs with attributes and returns the nx::Error's message ("" if none).
std::string error_of(const std::string& op, const std::vector<Tensor>& inputs,
                     const std::vector<::onnx::AttributeProto>& attrs = {}, int64_t opset = 17) {
  OpCall call;
  call.op_type_ = op;
  call.name_ = "n1";
  call.opset_ = opset;
  call.inputs_ = inputs;
  for (const auto& a : attrs) call.attrs_.push_back(&a);
  try {
    axon::onnx_import::find_op(op)->convert(call);
  } catch (const nx::Error& e) {
    return e.what();
  }
  return "";
}

TEST(OnnxMathOps, ErrorsNameTheNodeAndSayWhatWasExpected) {
  const Tensor f = nx::tensor<float>({1.0f, 2.0f});
  const Tensor i = nx::tensor<int32_t>({1, 2});

  std::string e = error_of("Cast", {f}, {int_attr("to", ::onnx::TensorProto::STRING)});
  EXPECT_NE(e.find("Cast node n1: casting to STRING is not supported"), std::string::npos) << e;
  e = error_of("Cast", {f}, {int_attr("to", ::onnx::TensorProto::COMPLEX64)});
  EXPECT_NE(e.find("COMPLEX64"), std::string::npos) << e;
  e = error_of("Cast", {f});
  EXPECT_NE(e.find("attribute 'to' is required"), std::string::npos) << e;

  e = error_of("Add", {f, i});
  EXPECT_NE(e.find("Add node n1: inputs must have the same dtype, got f32 and s32"),
            std::string::npos)
      << e;
  e = error_of("BitShift", {i, i});
  EXPECT_NE(e.find("BitShift node n1: attribute direction must be"), std::string::npos) << e;
  e = error_of("Where", {f, f, f});
  EXPECT_NE(e.find("Where node n1: condition must be a bool tensor, got f32"), std::string::npos)
      << e;
  e = error_of("Clip", {f, f, f});
  EXPECT_NE(e.find("Clip node n1: min and max must be scalars, got shape {2}"), std::string::npos)
      << e;
  e = error_of("ReduceSum", {f, nx::tensor<int64_t>({3})});
  EXPECT_NE(e.find("ReduceSum node n1: axis 3 is out of range for an input of rank 1"),
            std::string::npos)
      << e;
  e = error_of("ArgMax", {f}, {int_attr("axis", -2)});
  EXPECT_NE(e.find("ArgMax node n1: axis -2 is out of range"), std::string::npos) << e;
  e = error_of("CumSum", {f, nx::tensor<int64_t>({0, 1})});
  EXPECT_NE(e.find("CumSum node n1: axis must be a scalar, got 2 values"), std::string::npos) << e;
  e = error_of("Elu", {i});
  EXPECT_NE(e.find("Elu node n1: input 0 must be a floating tensor"), std::string::npos) << e;
  e = error_of("PRelu", {f, nx::tensor<float>({1.0f, 2.0f, 3.0f})});
  EXPECT_NE(e.find("PRelu node n1: slope of shape {3} does not broadcast"), std::string::npos) << e;
  e = error_of("Det", {nx::zeros({2, 3})});
  EXPECT_NE(e.find("Det node n1: X must be square matrices [..., M, M], got shape {2, 3}"),
            std::string::npos)
      << e;
  e = error_of("Sum", {});
  EXPECT_NE(e.find("Sum node n1: expected at least one input"), std::string::npos) << e;
}

// A converter called while nx::jit traces gives the eager result (the importer's predict path
// covers this for every case; here a reduction whose axes are a concrete input).
TEST(OnnxMathOps, JitEqualsEager) {
  const Tensor x = nx::iota({2, 3}, nx::f32);
  auto run = [](const Tensor& v) {
    OpCall call;
    call.op_type_ = "ReduceLogSumExp";
    call.name_ = "r";
    call.inputs_ = {v, nx::tensor<int64_t>({1})};
    call.opset_ = 18;
    return axon::onnx_import::find_op("ReduceLogSumExp")->convert(call)[0];
  };
  Tensor eager = run(x);
  Tensor jitted = nx::jit(run)(x);
  expect_matches(jitted, eager, "jit");
}

}  // namespace
