// The ONNX region converters (src/axon/onnx/ops_nn_roi.cpp) against NumPy and PyTorch.
//
// Every case of data/ops_nn_roi.npz (written by data/gen_ops_nn_roi.py: MaxUnpool of torch's
// max_pool indices, loop transcriptions of ONNX Runtime's RoiAlign and Caffe's RoIPooling) runs
// through its converter and as a compiled one-node model. Then: gradients with respect to X,
// RoiAlign with rois computed from data, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nx/defn.hpp"
#include "nx/nx.hpp"
#include "op_test_util.hpp"

namespace {

using nx::Tensor;
using op_test::error_of;
using op_test::int_attr;
using op_test::ints_attr;
using op_test::run_op;
using op_test::string_attr;

const onnx_case::Tolerance kTol{
    .f32_rtol = 1e-5, .f32_atol = 1e-6, .f64_rtol = 1e-12, .f64_atol = 1e-12};

TEST(OnnxRoiOps, ConvertersMatchReference) {
  EXPECT_GE(op_test::run_cases("ops_nn_roi.npz", false, kTol), 17);
}

TEST(OnnxRoiOps, ImportedModelsMatchReference) {
  EXPECT_GE(op_test::run_cases("ops_nn_roi.npz", true, kTol), 17);
}

TEST(OnnxRoiOps, FamilyIsRegistered) {
  EXPECT_EQ(axon::onnx_import::find_op("MaxUnpool")->since_opset, 9);
  EXPECT_EQ(axon::onnx_import::find_op("RoiAlign")->since_opset, 10);
  EXPECT_EQ(axon::onnx_import::find_op("MaxRoiPool")->since_opset, 1);
}

const Tensor& rois() {
  static const Tensor r = nx::tensor<double>({{0.5, 0.5, 6.0, 5.0}, {2.0, 1.0, 7.5, 6.5}}, nx::f64);
  return r;
}

TEST(OnnxRoiOps, GradientsMatchFiniteDifferences) {
  const Tensor x = nx::as_type(nx::random::normal(nx::random::key(5), {2, 2, 7, 8}), nx::f64);
  const Tensor batch = nx::tensor<int64_t>({1, 0});
  op_test::expect_gradient_matches(x, [&](const Tensor& v) {
    return run_op("RoiAlign", {v, rois(), batch},
                  {int_attr("output_height", 3), int_attr("output_width", 2),
                   int_attr("sampling_ratio", 2)})[0];
  });
  const Tensor prois = nx::tensor<double>({{1, 0, 1, 5, 4}, {0, 2, 2, 7, 6}}, nx::f64);
  op_test::expect_gradient_matches(x, [&](const Tensor& v) {
    return run_op("MaxRoiPool", {v, prois}, {ints_attr("pooled_shape", {2, 3})})[0];
  });
  const Tensor vals = nx::as_type(nx::random::normal(nx::random::key(6), {1, 2, 2, 2}), nx::f64);
  const Tensor idx = nx::tensor<int64_t>({{{{0, 3}, {9, 14}}, {{16, 19}, {25, 30}}}});
  op_test::expect_gradient_matches(vals, [&](const Tensor& v) {
    return run_op("MaxUnpool", {v, idx},
                  {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})})[0];
  });
}

// Rois computed inside a compiled function (as detection heads do) give the eager result.
TEST(OnnxRoiOps, RoisFromDataTraceAndCompile) {
  const Tensor x = nx::random::normal(nx::random::key(8), {2, 3, 9, 9});
  const Tensor batch = nx::tensor<int64_t>({0, 1});
  const Tensor r = nx::as_type(rois(), nx::f32);
  auto run = [&](const Tensor& xv, const Tensor& rv) {
    return run_op("RoiAlign", {xv, nx::multiply(rv, 1.0), batch},
                  {int_attr("output_height", 2), int_attr("output_width", 2),
                   int_attr("sampling_ratio", 2), string_attr("mode", "max")})[0];
  };
  const Tensor eager = run(x, r);
  const Tensor compiled = nx::jit(run)(x, r);
  onnx_case::expect_matches(compiled, eager, "jit", kTol);
  // The adaptive grid needs rois known at compile time.
  auto adaptive = [&](const Tensor& xv, const Tensor& rv) {
    return run_op("RoiAlign", {xv, rv, batch}, {int_attr("sampling_ratio", 0)})[0];
  };
  EXPECT_NO_THROW(adaptive(x, r));
  try {
    nx::jit(adaptive)(x, r);
    ADD_FAILURE() << "expected an error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("RoiAlign node n1: sampling_ratio=0"), std::string::npos)
        << e.what();
  }
}

TEST(OnnxRoiOps, ErrorsNameTheNodeAndSayWhatWasExpected) {
  const Tensor x = nx::zeros({1, 2, 4, 4});
  const Tensor i = nx::zeros({1, 2, 2, 2}, nx::s64);
  std::string e = error_of("MaxUnpool", {nx::zeros({1, 2, 2, 2}), i});
  EXPECT_NE(e.find("MaxUnpool node n1: kernel_shape needs 2 values, got 0"), std::string::npos)
      << e;
  e = error_of("MaxUnpool", {nx::zeros({1, 2, 2, 2}), nx::zeros({1, 2, 2, 1}, nx::s64)},
               {ints_attr("kernel_shape", {2, 2})});
  EXPECT_NE(e.find("I must be an integer tensor of X's shape"), std::string::npos) << e;
  e = error_of("MaxUnpool", {nx::zeros({1, 2, 2, 2}), i, nx::tensor<int64_t>({1, 2, 3, 3})},
               {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2})});
  EXPECT_NE(e.find("at least the default shape"), std::string::npos) << e;
  const Tensor r = nx::zeros({3, 4});
  const Tensor b = nx::zeros({3}, nx::s64);
  e = error_of("RoiAlign", {x, r, b}, {string_attr("mode", "sum")});
  EXPECT_NE(e.find("RoiAlign node n1: mode must be \"avg\" or \"max\", got \"sum\""),
            std::string::npos)
      << e;
  e = error_of("RoiAlign", {x, r, b}, {string_attr("coordinate_transformation_mode", "asym")});
  EXPECT_NE(e.find("coordinate_transformation_mode must be"), std::string::npos) << e;
  e = error_of("RoiAlign", {x, nx::zeros({3, 5}), b});
  EXPECT_NE(e.find("rois must be [num_rois, 4]"), std::string::npos) << e;
  e = error_of("RoiAlign", {x, r, nx::zeros({2}, nx::s64)});
  EXPECT_NE(e.find("batch_indices must be integer [num_rois]"), std::string::npos) << e;
  e = error_of("MaxRoiPool", {x, nx::zeros({3, 5})});
  EXPECT_NE(e.find("MaxRoiPool node n1: pooled_shape needs 2 positive values"), std::string::npos)
      << e;
  e = error_of("MaxRoiPool", {x, r}, {ints_attr("pooled_shape", {2, 2})});
  EXPECT_NE(e.find("rois must be [num_rois, 5]"), std::string::npos) << e;
}

}  // namespace
