// convert and bitcast: hand-derived edge cases (the 13 x 13 table is in the reference test),
// the single-rounding guarantee, the vectorized f32 <-> f16/bf16 paths against the scalar
// conversions of nx::half/nx::bfloat16, and bitcast as a view.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "elementwise_test_util.hpp"
#include "nx/core/tensor_impl.hpp"

namespace nx::ew_test {
namespace {

Tensor convert(const Tensor& t, DType to) {
  return run(Prim::convert, {t}, detail::ConvertParams{to});
}

TEST(ConvertKernels, FloatToIntegerSaturatesAndMapsNaNToZero) {
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = from_vector(std::vector<double>{std::nan(""), inf, -inf, -1.5, 300.7, -200.0, 1e30});
  EXPECT_EQ(convert(x, DType::U8).to_vector<uint8_t>(),
            (std::vector<uint8_t>{0, 255, 0, 0, 255, 0, 255}));
  EXPECT_EQ(convert(x, DType::S8).to_vector<int8_t>(),
            (std::vector<int8_t>{0, 127, -128, -1, 127, -128, 127}));
  EXPECT_EQ(convert(x, DType::U64).to_vector<uint64_t>(),
            (std::vector<uint64_t>{0, ~uint64_t{0}, 0, 0, 300, 0, ~uint64_t{0}}));
  const int64_t mx = std::numeric_limits<int64_t>::max(), mn = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(convert(from_vector(std::vector<float>{9.3e18f, -9.3e18f, -9.2233720e18f}), DType::S64)
                .to_vector<int64_t>(),
            (std::vector<int64_t>{mx, mn, mn}));
}

TEST(ConvertKernels, IntegersWrapAndPredIsZeroOrOne) {
  EXPECT_EQ(convert(from_vector(std::vector<int32_t>{300, -1, 128}), DType::S8).to_vector<int8_t>(),
            (std::vector<int8_t>{44, -1, -128}));
  EXPECT_EQ(convert(from_vector(std::vector<int8_t>{-1}), DType::U64).to_vector<uint64_t>(),
            (std::vector<uint64_t>{~uint64_t{0}}));
  Tensor p =
      convert(from_vector(std::vector<float>{0.0f, -0.0f, std::nanf(""), 0.1f}), DType::Pred);
  EXPECT_EQ(to_bits(p), (std::vector<uint64_t>{0, 0, 1, 1}));
  EXPECT_EQ(convert(from_vector(std::vector<bool>{true, false}), DType::BF16).to_vector<float>(),
            (std::vector<float>{1.0f, 0.0f}));
}

// f64 -> f16 and s64 -> bf16 round once; rounding through f32 would give the wrong neighbour
// for these values (the first rounding makes a tie that the second breaks to even).
TEST(ConvertKernels, NarrowingRoundsOnce) {
  const double x = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);  // just above a f16 tie
  EXPECT_EQ(convert(nx::scalar(x, DType::F64), DType::F16).item<float>(), 1.0f + 0x1p-10f);
  EXPECT_EQ(convert(nx::scalar(-x, DType::F64), DType::F16).item<float>(), -(1.0f + 0x1p-10f));
  const int64_t v = (int64_t{1} << 25) + (int64_t{1} << 17) + 1;  // just above a bf16 tie
  EXPECT_EQ(convert(nx::scalar_int(v, DType::S64), DType::BF16).item<float>(),
            std::ldexp(1.0f, 25) + std::ldexp(1.0f, 18));
  EXPECT_EQ(convert(nx::scalar_int(-v, DType::S64), DType::BF16).item<float>(),
            -(std::ldexp(1.0f, 25) + std::ldexp(1.0f, 18)));
  const uint64_t big = ~uint64_t{0};  // 2^64 - 1 rounds up to 2^64
  EXPECT_EQ(convert(from_vector(std::vector<uint64_t>{big}), DType::BF16).item<float>(), 0x1p64f);
  EXPECT_EQ(convert(from_vector(std::vector<uint64_t>{big}), DType::F16).item<float>(),
            std::numeric_limits<float>::infinity());
  // Above f16's largest finite value, halfway to the next binade: rounds to inf.
  EXPECT_TRUE(std::isinf(convert(nx::scalar(65520.0, DType::F64), DType::F16).item<float>()));
  EXPECT_EQ(convert(nx::scalar(65519.99, DType::F64), DType::F16).item<float>(), 65504.0f);
}

// The bulk f32 <-> f16/bf16 conversions (hardware or branch-free) agree with the scalar
// conversions in half.hpp on every pattern class: a spread of bit patterns, NaN included.
TEST(ConvertKernels, BulkHalfConversionsMatchScalar) {
  std::vector<float> f;
  for (uint64_t b = 0; b <= 0xffffffffull; b += 65521)
    f.push_back(std::bit_cast<float>(uint32_t(b)));
  for (float v : {0x1p-25f, 0x1.8p-25f, 0x1p-24f, 65504.0f, 65519.0f, 65520.0f, -0.0f})
    f.push_back(v);
  Tensor t = from_vector(f);
  const auto h = to_bits(convert(t, DType::F16));
  const auto b = to_bits(convert(t, DType::BF16));
  for (size_t i = 0; i < f.size(); ++i) {
    if (std::isnan(f[i])) {
      EXPECT_TRUE(split_float(h[i], DType::F16).nan) << i;
      EXPECT_TRUE(split_float(b[i], DType::BF16).nan) << i;
      continue;
    }
    ASSERT_EQ(h[i], half(f[i]).bits) << f[i];
    ASSERT_EQ(b[i], bfloat16(f[i]).bits) << f[i];
  }
  std::vector<uint64_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = i;
  for (DType dt : {DType::F16, DType::BF16}) {
    const auto wide = convert(from_bits(all, {65536}, dt), DType::F32).to_vector<float>();
    for (uint32_t i = 0; i < 65536; ++i) {
      const float want =
          dt == DType::F16 ? half::to_float(uint16_t(i)) : float(bfloat16::from_bits(uint16_t(i)));
      if (std::isnan(want))
        ASSERT_TRUE(std::isnan(wide[i]));
      else
        ASSERT_EQ(std::bit_cast<uint32_t>(wide[i]), std::bit_cast<uint32_t>(want)) << i;
    }
  }
}

TEST(ConvertKernels, SameTypeCopiesAndEmptyWorks) {
  Tensor a = from_vector(std::vector<int16_t>{1, -2});
  Tensor c = convert(a, DType::S16);
  EXPECT_EQ(c.to_vector<int16_t>(), (std::vector<int16_t>{1, -2}));
  EXPECT_EQ(convert(nx::zeros({0, 2}), DType::U8).shape(), (Shape{0, 2}));
}

TEST(BitcastKernels, IsAViewWithTheNewType) {
  Tensor a = from_vector(std::vector<float>{1.0f, -0.0f}, Shape{2, 1});
  Tensor b = run(Prim::bitcast, {a}, detail::ConvertParams{DType::U32});
  EXPECT_EQ(b.dtype(), DType::U32);
  EXPECT_EQ(b.shape(), (Shape{2, 1}));
  EXPECT_EQ(b.raw_data(), a.raw_data());  // no copy
  EXPECT_EQ(b.to_vector<uint32_t>(), (std::vector<uint32_t>{0x3f800000u, 0x80000000u}));
  Tensor h = run(Prim::bitcast, {from_vector(std::vector<int16_t>{0x3c00})},
                 detail::ConvertParams{DType::F16});
  EXPECT_EQ(h.item<float>(), 1.0f);
  Tensor d = run(Prim::bitcast, {nx::scalar(-1, DType::S64)}, detail::ConvertParams{DType::F64});
  EXPECT_TRUE(std::isnan(d.item<double>()));
}

TEST(BitcastKernels, RejectsOtherWidthsAndPred) {
  for (auto [from, to] : {std::pair{DType::F32, DType::S16}, std::pair{DType::Pred, DType::U8},
                          std::pair{DType::U8, DType::Pred}}) {
    try {
      run(Prim::bitcast, {nx::zeros({2}, from)}, detail::ConvertParams{to});
      ADD_FAILURE() << "expected an error";
    } catch (const nx::Error& e) {
      EXPECT_NE(std::string(e.what()).find("nx::bitcast"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nx::ew_test
