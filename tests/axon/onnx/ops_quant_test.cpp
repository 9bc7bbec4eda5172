// The ONNX quantization converters (src/axon/onnx/ops_quant.cpp) against NumPy and PyTorch.
//
// Every case of data/ops_quant.npz (written by data/gen_ops_quant.py: round half to even and
// saturation in NumPy, int32 matmuls, convolutions in float64 torch, which is exact for these
// integers) runs through its converter and as a compiled one-node model. Integer outputs compare
// exactly; the long-k and deep-kernel cases have sums beyond 2^24, where a float32 accumulation
// would round. Then: the opset rules and the errors.
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

const onnx_case::Tolerance kTol{.f32_rtol = 1e-6, .f32_atol = 1e-6};

TEST(OnnxQuantOps, ConvertersMatchNumpy) {
  EXPECT_GE(op_test::run_cases("ops_quant.npz", false, kTol), 33);
}

TEST(OnnxQuantOps, ImportedModelsMatchNumpy) {
  EXPECT_GE(op_test::run_cases("ops_quant.npz", true, kTol), 33);
}

TEST(OnnxQuantOps, FamilyIsRegistered) {
  for (const char* op : {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
                         "MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv"}) {
    const auto* entry = axon::onnx_import::find_op(op);
    ASSERT_NE(entry, nullptr) << op;
    EXPECT_LE(entry->since_opset, 11) << op;
  }
}

TEST(OnnxQuantOps, ErrorsNameTheNodeAndSayWhatWasExpected) {
  const Tensor x = nx::zeros({2, 3});
  const Tensor per_channel = nx::ones({3});
  // Per-axis parameters arrived with opset 13.
  std::string e = error_of("QuantizeLinear", {x, per_channel}, {}, 10);
  EXPECT_NE(e.find("QuantizeLinear node n1: y_scale must be a scalar, got"), std::string::npos)
      << e;
  EXPECT_EQ(error_of("QuantizeLinear", {x, per_channel}, {}, 13), "");
  e = error_of("QuantizeLinear", {x, nx::ones({2})});
  EXPECT_NE(e.find("does not match axis 1"), std::string::npos) << e;
  e = error_of("QuantizeLinear", {nx::zeros({2}, nx::f64), nx::scalar(1.0, nx::f32)});
  EXPECT_NE(e.find("x must be float or int32"), std::string::npos) << e;
  e = error_of("QuantizeLinear", {x, nx::scalar(1.0, nx::f32), nx::scalar_int(0, nx::s32)});
  EXPECT_NE(e.find("y_zero_point must be uint8 or int8"), std::string::npos) << e;
  e = error_of("DequantizeLinear",
               {nx::zeros({2}, nx::u8), nx::scalar(1.0, nx::f32), nx::scalar_int(0, nx::s8)});
  EXPECT_NE(e.find("x_zero_point must have x's type"), std::string::npos) << e;
  e = error_of("DequantizeLinear", {nx::zeros({2}, nx::u8), nx::scalar(1.0, nx::f64)});
  EXPECT_NE(e.find("x_scale must be float"), std::string::npos) << e;
  e = error_of("MatMulInteger", {nx::zeros({2, 3}), nx::zeros({3, 2}, nx::u8)});
  EXPECT_NE(e.find("A must be uint8 or int8"), std::string::npos) << e;
  e = error_of("MatMulInteger",
               {nx::zeros({2, 3}, nx::u8), nx::zeros({3, 2}, nx::u8), nx::zeros({3}, nx::u8)});
  EXPECT_NE(e.find("one element per row of A"), std::string::npos) << e;
  e = error_of("ConvInteger", {nx::zeros({1, 2, 4, 4}, nx::u8), nx::zeros({3, 2, 2, 2}, nx::u8),
                               nx::zeros({2}, nx::u8)});
  EXPECT_NE(e.find("x_zero_point must be a scalar"), std::string::npos) << e;
  e = error_of("ConvInteger", {nx::zeros({1, 2, 4, 4}, nx::u8), nx::zeros({3, 2, 2, 2}, nx::u8),
                               Tensor(), nx::zeros({2}, nx::u8)});
  EXPECT_NE(e.find("w_zero_point must be a scalar or have one element per output channel (3)"),
            std::string::npos)
      << e;
  e = error_of("ConvInteger", {nx::zeros({1, 2, 4, 4}, nx::u8), nx::zeros({3, 2, 2, 2}, nx::u8)},
               {int_attr("group", 2)});
  EXPECT_NE(e.find("ConvInteger node n1"), std::string::npos) << e;
  EXPECT_NE(e.find("group 2"), std::string::npos) << e;
  const Tensor s = nx::scalar(0.1, nx::f32);
  const Tensor z = nx::scalar_int(0, nx::u8);
  e = error_of("QLinearConv", {nx::zeros({1, 2, 4, 4}, nx::u8), s, z,
                               nx::zeros({3, 2, 2, 2}, nx::u8), s, z, s, z, nx::zeros({3})});
  EXPECT_NE(e.find("B must be int32 with one element per output channel (3)"), std::string::npos)
      << e;
}

// The integer paths are exact where float32 would not be: 4096 products of 255 * 255.
TEST(OnnxQuantOps, IntegerAccumulationIsExact) {
  const Tensor a = nx::full({1, 4096}, 255, nx::u8);
  const Tensor b = nx::full({4096, 1}, 255, nx::u8);
  // 4096 * 65025 = 266342400, then + 1 from a single 1 * 1 term: odd, beyond 2^24.
  const Tensor a2 = nx::concatenate({a, nx::full({1, 1}, 1, nx::u8)}, 1);
  const Tensor b2 = nx::concatenate({b, nx::full({1, 1}, 1, nx::u8)}, 0);
  const Tensor y = run_op("MatMulInteger", {a2, b2})[0];
  EXPECT_EQ(y.dtype(), nx::s32);
  EXPECT_EQ(y.item<int64_t>(), 266342401);
  const Tensor cx = nx::reshape(a2, {1, 1, 1, 4097});
  const Tensor cw = nx::reshape(nx::transpose(b2), {1, 1, 1, 4097});
  const Tensor yc = run_op("ConvInteger", {cx, cw})[0];
  EXPECT_EQ(yc.dtype(), nx::s32);
  EXPECT_EQ(yc.item<int64_t>(), 266342401);
}

}  // namespace
