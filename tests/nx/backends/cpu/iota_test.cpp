// iota: counts over all elements (axis -1) or along one axis, converted to the dtype with the
// rules of convert. Expected values are written out by hand or from the definition.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "elementwise_test_util.hpp"

namespace nx::ew_test {
namespace {

Tensor iota(const Shape& shape, DType dt, int64_t axis) {
  return detail::bind1(Prim::iota, {}, detail::IotaParams{shape, dt, axis});
}

TEST(IotaKernels, AllElementsAndAlongAnAxis) {
  EXPECT_EQ(iota({2, 3}, DType::S32, -1).to_vector<int32_t>(),
            (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(iota({2, 3}, DType::S32, 0).to_vector<int32_t>(),
            (std::vector<int32_t>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(iota({2, 3}, DType::F64, 1).to_vector<double>(),
            (std::vector<double>{0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(iota({2, 2, 2}, DType::U8, 1).to_vector<uint8_t>(),
            (std::vector<uint8_t>{0, 0, 1, 1, 0, 0, 1, 1}));
  EXPECT_EQ(iota({}, DType::F32, -1).to_vector<float>(), (std::vector<float>{0}));
  EXPECT_EQ(iota({0, 4}, DType::S64, 1).size(), 0);
}

TEST(IotaKernels, ConvertsLikeConvert) {
  auto u8 = iota({300}, DType::U8, -1).to_vector<uint8_t>();
  EXPECT_EQ(u8[255], 255);
  EXPECT_EQ(u8[256], 0);  // wraps
  EXPECT_EQ(u8[299], 43);
  EXPECT_EQ(to_bits(iota({3}, DType::Pred, -1)), (std::vector<uint64_t>{0, 1, 1}));
  auto h = iota({2051}, DType::F16, 0).to_vector<float>();
  EXPECT_EQ(h[2049], 2048.0f);  // 2049 ties to even in f16
  EXPECT_EQ(h[2050], 2050.0f);
  auto b = iota({300}, DType::BF16, -1).to_vector<float>();
  EXPECT_EQ(b[257], 256.0f);
  EXPECT_EQ(b[259], 260.0f);
}

TEST(IotaKernels, LargeParallel) {
  const int64_t rows = 1201, cols = 997;
  Tensor a = iota({rows, cols}, DType::S32, -1), r = iota({rows, cols}, DType::S64, 0);
  Tensor c = iota({rows, cols}, DType::F32, 1);
  const int32_t* pa = a.data<int32_t>();
  const int64_t* pr = r.data<int64_t>();
  const float* pc = c.data<float>();
  for (int64_t i = 0; i < rows * cols; ++i) {
    ASSERT_EQ(pa[i], i);
    ASSERT_EQ(pr[i], i / cols);
    ASSERT_EQ(pc[i], static_cast<float>(i % cols));
  }
}

TEST(IotaKernels, RuleRejectsBadAxis) {
  try {
    iota({2, 3}, DType::S32, 2);
    ADD_FAILURE() << "expected an error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nx::iota"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nx::ew_test
