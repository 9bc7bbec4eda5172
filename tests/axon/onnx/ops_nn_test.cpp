// The ONNX nn family's converters (src/axon/onnx/ops_nn*.cpp) against PyTorch and NumPy.
//
// Every case of data/ops_nn.npz (written by data/gen_ops_nn.py) is one ONNX node with its
// inputs and the expected outputs. Each case runs twice: its converter called directly with a
// hand-filled OpCall (eagerly), and as a one-node model through the importer, built and
// predicted (compiled with nx::jit, constant inputs as initializers). Then: gradients through
// Conv/ConvTranspose/pools/norms, the random generators' determinism and moments, and errors.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/io.hpp"
#include "nx/nx.hpp"
#include "onnx_case.hpp"
#include "op_test_util.hpp"

namespace {

using axon::onnx_import::OpCall;
using nx::Tensor;

// ---- The cases (tests/axon/onnx/onnx_case.hpp) ---------------------------------------------

using onnx_case::call_converter;
using onnx_case::Case;

const nx::Tree& reference() {
  return onnx_case::reference("ops_nn.npz");
}
Case load_case(const std::string& name) {
  return onnx_case::load_case(reference(), name);
}
std::vector<std::string> case_names() {
  return onnx_case::case_names(reference());
}

// Same dtype and shape; integers exactly, floats within a tolerance of their type.
void expect_matches(const Tensor& actual, const Tensor& expected, const std::string& what) {
  onnx_case::expect_matches(
      actual, expected, what,
      {.f32_rtol = 1e-4, .f32_atol = 1e-5, .f64_rtol = 1e-10, .f64_atol = 1e-12});
}

TEST(OnnxNnOps, ConvertersMatchTorchAndNumpy) {
  ASSERT_GE(case_names().size(), 50u);
  onnx_case::for_each_result(reference(), false,
                             [](const Case& c, const std::vector<Tensor>& outs) {
                               ASSERT_GE(outs.size(), c.outputs.size()) << c.name;
                               for (size_t i = 0; i < c.outputs.size(); ++i)
                                 expect_matches(outs[i], c.outputs[i], c.name);
                             });
}

// ---- Through the importer (compiled) ----------------------------------------------------------

TEST(OnnxNnOps, ImportedModelsMatchTorchAndNumpy) {
  const int ran = onnx_case::for_each_result(reference(), true,
                                             [](const Case& c, const std::vector<Tensor>& outs) {
                                               ASSERT_EQ(outs.size(), c.outputs.size()) << c.name;
                                               for (size_t i = 0; i < outs.size(); ++i)
                                                 expect_matches(outs[i], c.outputs[i], c.name);
                                             });
  EXPECT_GE(ran, 50);
}

TEST(OnnxNnOps, FamilyIsRegistered) {
  for (const char* op : {"Conv",
                         "ConvTranspose",
                         "MaxPool",
                         "AveragePool",
                         "LpPool",
                         "GlobalAveragePool",
                         "GlobalMaxPool",
                         "GlobalLpPool",
                         "BatchNormalization",
                         "InstanceNormalization",
                         "LayerNormalization",
                         "LpNormalization",
                         "MeanVarianceNormalization",
                         "LRN",
                         "Gemm",
                         "MatMul",
                         "Softmax",
                         "LogSoftmax",
                         "Hardmax",
                         "RandomNormal",
                         "RandomUniform",
                         "RandomNormalLike",
                         "RandomUniformLike",
                         "Bernoulli",
                         "NegativeLogLikelihoodLoss",
                         "SoftmaxCrossEntropyLoss"}) {
    EXPECT_NE(axon::onnx_import::find_op(op), nullptr) << op;
  }
}

// ---- Gradients ----------------------------------------------------------------------------------

// Converters are nx compositions: the gradient of sum(out * cot) with respect to the first
// input, eager and compiled, agrees with central differences (in f64).
TEST(OnnxNnOps, GradientsMatchFiniteDifferences) {
  for (const char* name :
       {"conv2d_pads_group", "convtranspose2d_all", "maxpool3d", "avgpool2d_ceil_exclude_pad",
        "lppool2d_p3", "batchnorm_training14", "instance_norm", "lrn_size4", "sce_weight_ii_sum",
        "softmax_opset11_coerced"}) {
    SCOPED_TRACE(name);
    Case c = load_case(name);
    for (auto& t : c.inputs) {
      if (t.defined() && nx::is_float(t.dtype())) t = nx::as_type(t, nx::f64);
    }
    op_test::expect_gradient_matches(c.inputs[0], [&](const Tensor& v) {
      Case d = c;
      d.inputs[0] = v;
      return call_converter(d)[0];
    });
  }
}

// ---- Random generators --------------------------------------------------------------------------

::onnx::AttributeProto int_attr(const std::string& name, int64_t v) {
  ::onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

::onnx::AttributeProto float_attr(const std::string& name, float v) {
  ::onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::FLOAT);
  a.set_f(v);
  return a;
}

::onnx::AttributeProto ints_attr(const std::string& name, const std::vector<int64_t>& v) {
  ::onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}

std::vector<Tensor> run_op(const std::string& op, const std::vector<Tensor>& inputs,
                           const std::vector<::onnx::AttributeProto>& attrs, int64_t opset = 17,
                           const std::string& name = "n1", size_t outputs = 1) {
  OpCall call;
  call.op_type_ = op;
  call.name_ = name;
  call.opset_ = opset;
  call.inputs_ = inputs;
  call.num_outputs_ = outputs;
  for (const auto& a : attrs) call.attrs_.push_back(&a);
  return axon::onnx_import::find_op(op)->convert(call);
}

TEST(OnnxNnOps, RandomGeneratorsAreDeterministicWithTheRightMoments) {
  const auto shape = ints_attr("shape", {200, 100});
  const Tensor n1 = run_op(
      "RandomNormal", {},
      {shape, float_attr("seed", 3.0f), float_attr("mean", 2.0f), float_attr("scale", 0.5f)})[0];
  const Tensor n2 = run_op(
      "RandomNormal", {},
      {shape, float_attr("seed", 3.0f), float_attr("mean", 2.0f), float_attr("scale", 0.5f)})[0];
  const Tensor n3 = run_op("RandomNormal", {}, {shape, float_attr("seed", 4.0f)})[0];
  EXPECT_EQ(n1.shape(), (nx::Shape{200, 100}));
  EXPECT_EQ(n1.dtype(), nx::f32);
  EXPECT_EQ(n1.to_vector<float>(), n2.to_vector<float>());
  EXPECT_NE(n1.to_vector<float>(), n3.to_vector<float>());
  EXPECT_NEAR(nx::mean(n1).item<double>(), 2.0, 0.02);
  EXPECT_NEAR(nx::standard_deviation(n1).item<double>(), 0.5, 0.02);

  const Tensor u =
      run_op("RandomUniform", {},
             {shape, int_attr("dtype", 11), float_attr("low", -1.0f), float_attr("high", 3.0f)})[0];
  EXPECT_EQ(u.dtype(), nx::f64);
  EXPECT_GE(nx::reduce_min(u).item<double>(), -1.0);
  EXPECT_LT(nx::reduce_max(u).item<double>(), 3.0);
  EXPECT_NEAR(nx::mean(u).item<double>(), 1.0, 0.05);
  // Without a seed, the key comes from the node's name: same name, same numbers.
  const Tensor ua = run_op("RandomUniform", {}, {shape}, 17, "a")[0];
  const Tensor ua2 = run_op("RandomUniform", {}, {shape}, 17, "a")[0];
  const Tensor ub = run_op("RandomUniform", {}, {shape}, 17, "b")[0];
  EXPECT_EQ(ua.to_vector<float>(), ua2.to_vector<float>());
  EXPECT_NE(ua.to_vector<float>(), ub.to_vector<float>());

  const Tensor like = nx::zeros({50, 40}, nx::f64);
  const Tensor nl = run_op("RandomNormalLike", {like}, {float_attr("seed", 1.0f)})[0];
  EXPECT_EQ(nl.type(), like.type());
  const Tensor ul = run_op("RandomUniformLike", {like}, {int_attr("dtype", 1)})[0];
  EXPECT_EQ(ul.dtype(), nx::f32);
  EXPECT_EQ(ul.shape(), like.shape());

  const Tensor p = nx::broadcast(nx::tensor<float>({0.0f, 0.25f, 1.0f}), {4000, 3});
  const Tensor b = run_op("Bernoulli", {p}, {float_attr("seed", 5.0f)}, 15)[0];
  EXPECT_EQ(b.type(), p.type());
  const std::vector<float> col = nx::mean(b, {nx::Axes{0}}).to_vector<float>();
  EXPECT_EQ(col[0], 0.0f);
  EXPECT_NEAR(col[1], 0.25f, 0.03f);
  EXPECT_EQ(col[2], 1.0f);
  const Tensor bi = run_op("Bernoulli", {p}, {int_attr("dtype", 9)}, 15)[0];
  EXPECT_EQ(bi.dtype(), nx::pred);
}

// ---- Errors -------------------------------------------------------------------------------------

std::string error_of(const std::string& op, const std::vector<Tensor>& inputs,
                     const std::vector<::onnx::AttributeProto>& attrs = {}, int64_t opset = 17) {
  try {
    run_op(op, inputs, attrs, opset);
  } catch (const nx::Error& e) {
    return e.what();
  }
  return "";
}

::onnx::AttributeProto string_attr(const std::string& name, const std::string& v) {
  ::onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(::onnx::AttributeProto::STRING);
  a.set_s(v);
  return a;
}

TEST(OnnxNnOps, ErrorsNameTheNodeAndSayWhatWasExpected) {
  const Tensor x = nx::zeros({1, 4, 5, 5});
  std::string e = error_of("Conv", {x, nx::zeros({2, 3, 3, 3})}, {int_attr("group", 2)});
  EXPECT_NE(e.find("Conv node n1"), std::string::npos) << e;
  EXPECT_NE(e.find("group 2"), std::string::npos) << e;
  e = error_of("Conv", {x, nx::zeros({2, 4, 3})});
  EXPECT_NE(e.find("weight rank must equal input rank"), std::string::npos) << e;
  e = error_of("Conv", {x, nx::zeros({2, 4, 3, 3})}, {string_attr("auto_pad", "FULL")});
  EXPECT_NE(e.find("auto_pad must be"), std::string::npos) << e;
  e = error_of("Conv", {x, nx::zeros({2, 4, 3, 3})}, {ints_attr("pads", {1, 1})});
  EXPECT_NE(e.find("pads needs 4 values"), std::string::npos) << e;
  e = error_of("MaxPool", {x}, {ints_attr("kernel_shape", {2})});
  EXPECT_NE(e.find("MaxPool node n1: kernel_shape needs 2 values, got 1"), std::string::npos) << e;
  e = error_of("AveragePool", {nx::zeros({4, 5})}, {ints_attr("kernel_shape", {2})});
  EXPECT_NE(e.find("rank >= 3"), std::string::npos) << e;
  e = error_of("Gemm", {nx::zeros({2, 3}), nx::zeros({4, 5})});
  EXPECT_NE(e.find("Gemm node n1: inner dimensions differ"), std::string::npos) << e;
  e = error_of("LpNormalization", {nx::zeros({2, 3})}, {int_attr("p", 3)});
  EXPECT_NE(e.find("p must be 1 or 2, got 3"), std::string::npos) << e;
  e = error_of("Softmax", {nx::zeros({2, 3})}, {int_attr("axis", 2)});
  EXPECT_NE(e.find("axis 2 is out of range for rank 2"), std::string::npos) << e;
  e = error_of("NegativeLogLikelihoodLoss", {nx::zeros({2, 3}), nx::zeros({2}, nx::f32)});
  EXPECT_NE(e.find("target must be integer"), std::string::npos) << e;
  e = error_of("RandomNormal", {});
  EXPECT_NE(e.find("shape attribute is required"), std::string::npos) << e;
  e = error_of("BatchNormalization",
               {x, nx::ones({3}), nx::ones({3}), nx::ones({3}), nx::ones({3})});
  EXPECT_NE(e.find("must have 4 channel values"), std::string::npos) << e;
}

}  // namespace
