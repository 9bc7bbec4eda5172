// The ONNX signal converters (src/axon/onnx/ops_signal.cpp) against NumPy.
//
// Every case of data/ops_signal.npz (written by data/gen_ops_signal.py: the window formulas,
// numpy.fft for DFT and STFT, the ONNX reference loop for MelWeightMatrix) runs through its
// converter and as a compiled one-node model. Then: DFT and STFT gradients against finite
// differences, and the errors.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nx/nx.hpp"
#include "op_test_util.hpp"

namespace {

using nx::Tensor;
using op_test::error_of;
using op_test::int_attr;
using op_test::run_op;

const onnx_case::Tolerance kTol{
    .f32_rtol = 1e-4, .f32_atol = 2e-5, .f64_rtol = 1e-10, .f64_atol = 1e-11};

TEST(OnnxSignalOps, ConvertersMatchNumpy) {
  EXPECT_GE(op_test::run_cases("ops_signal.npz", false, kTol), 38);
}

TEST(OnnxSignalOps, ImportedModelsMatchNumpy) {
  EXPECT_GE(op_test::run_cases("ops_signal.npz", true, kTol), 38);
}

TEST(OnnxSignalOps, FamilyIsRegisteredForOpset17) {
  for (const char* op :
       {"HannWindow", "HammingWindow", "BlackmanWindow", "DFT", "STFT", "MelWeightMatrix"}) {
    const auto* entry = axon::onnx_import::find_op(op);
    ASSERT_NE(entry, nullptr) << op;
    EXPECT_EQ(entry->since_opset, 17) << op;
  }
}

// DFT and STFT are matrix products: their gradients are the adjoint transforms.
TEST(OnnxSignalOps, GradientsMatchFiniteDifferences) {
  const Tensor x = nx::as_type(nx::random::normal(nx::random::key(1), {2, 7, 3, 2}), nx::f64);
  op_test::expect_gradient_matches(x, [](const Tensor& v) {
    return run_op("DFT", {v}, {int_attr("axis", 2), int_attr("inverse", 1)})[0];
  });
  const Tensor real = nx::as_type(nx::random::normal(nx::random::key(2), {2, 9, 1}), nx::f64);
  op_test::expect_gradient_matches(real, [](const Tensor& v) {
    return run_op("DFT", {v, nx::scalar_int(12, nx::s64)}, {int_attr("onesided", 1)})[0];
  });
  const Tensor signal = nx::as_type(nx::random::normal(nx::random::key(3), {1, 20, 1}), nx::f64);
  const Tensor window = nx::as_type(nx::random::uniform(nx::random::key(4), {6}), nx::f64);
  op_test::expect_gradient_matches(signal, [&](const Tensor& v) {
    return run_op("STFT", {v, nx::scalar_int(3, nx::s64), window})[0];
  });
}

TEST(OnnxSignalOps, ErrorsNameTheNodeAndSayWhatWasExpected) {
  const Tensor x = nx::zeros({2, 8, 1});
  std::string e = error_of("DFT", {x}, {int_attr("axis", 2)});
  EXPECT_NE(e.find("DFT node n1: axis 2 must name a signal axis"), std::string::npos) << e;
  e = error_of("DFT", {nx::zeros({2, 8, 3})});
  EXPECT_NE(e.find("must be 1 (real) or 2 (complex)"), std::string::npos) << e;
  e = error_of("DFT", {nx::zeros({2, 8, 2})}, {int_attr("onesided", 1)});
  EXPECT_NE(e.find("onesided=1 needs a real input"), std::string::npos) << e;
  e = error_of("DFT", {nx::zeros({2, 8, 1}, nx::s32)});
  EXPECT_NE(e.find("input must be floating"), std::string::npos) << e;
  e = error_of("DFT", {x, nx::scalar_int(0, nx::s64)});
  EXPECT_NE(e.find("dft_length must be >= 1"), std::string::npos) << e;
  e = error_of("STFT", {x, nx::scalar_int(2, nx::s64), nx::ones({4}), nx::scalar_int(5, nx::s64)});
  EXPECT_NE(e.find("frame_length 5 differs from the window's length 4"), std::string::npos) << e;
  e = error_of("STFT", {x, nx::scalar_int(2, nx::s64)});
  EXPECT_NE(e.find("needs a window or a frame_length"), std::string::npos) << e;
  e = error_of("STFT", {x, nx::scalar_int(2, nx::s64), Tensor(), nx::scalar_int(9, nx::s64)});
  EXPECT_NE(e.find("frame_length 9 must be in [1, signal length 8]"), std::string::npos) << e;
  e = error_of("HannWindow", {nx::scalar(4.0, nx::f32)});
  EXPECT_NE(e.find("size (input 0) must be an integer scalar"), std::string::npos) << e;
  e = error_of("MelWeightMatrix", {nx::scalar_int(8, nx::s64), nx::scalar_int(16, nx::s64),
                                   nx::scalar_int(8000, nx::s64), nx::scalar(0.0, nx::f32),
                                   nx::scalar(8000.0, nx::f32)});
  EXPECT_NE(e.find("edges must lie within [0, sample_rate / 2]"), std::string::npos) << e;
}

}  // namespace
