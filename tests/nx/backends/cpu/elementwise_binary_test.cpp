// Hand-derived edge cases of the binary kernels, readable next to the semantics in
// elementwise_binary.cpp and elementwise_compare.cpp (the full tables are in the reference
// test).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "elementwise_test_util.hpp"

namespace nx::ew_test {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

template <class T>
std::vector<T> binary(Prim p, const std::vector<T>& a, const std::vector<T>& b) {
  return run(p, {from_vector(a), from_vector(b)}).template to_vector<T>();
}

TEST(ElementwiseBinaryKernels, IntegerArithmeticWraps) {
  EXPECT_EQ(binary<int8_t>(Prim::add, {127, -128}, {1, -1}), (std::vector<int8_t>{-128, 127}));
  EXPECT_EQ(binary<uint16_t>(Prim::multiply, {65535, 300}, {65535, 300}),
            (std::vector<uint16_t>{1, 24464}));  // 90000 mod 65536
  const int64_t mn = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(binary<int64_t>(Prim::subtract, {mn}, {1}),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::max()}));
}

TEST(ElementwiseBinaryKernels, QuotientAndRemainderNeverTrap) {
  const int32_t mn = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(binary<int32_t>(Prim::quotient, {7, -7, 7, mn, 5}, {2, 2, 0, -1, -1}),
            (std::vector<int32_t>{3, -3, 0, mn, -5}));
  EXPECT_EQ(binary<int32_t>(Prim::remainder, {7, -7, 7, mn, 5}, {2, 2, 0, -1, -3}),
            (std::vector<int32_t>{1, -1, 7, 0, 2}));
  EXPECT_EQ(binary<uint8_t>(Prim::quotient, {200, 9}, {0, 4}), (std::vector<uint8_t>{0, 2}));
  EXPECT_EQ(binary<uint8_t>(Prim::remainder, {200, 9}, {0, 4}), (std::vector<uint8_t>{200, 1}));
  auto f = binary<float>(Prim::remainder, {-7.5f, 7.5f, 1.0f, kInf}, {2.0f, -2.0f, 0.0f, 1.0f});
  EXPECT_EQ(f[0], -1.5f);
  EXPECT_EQ(f[1], 1.5f);
  EXPECT_TRUE(std::isnan(f[2]));
  EXPECT_TRUE(std::isnan(f[3]));
}

TEST(ElementwiseBinaryKernels, IntegerPow) {
  // 7^40 mod 2^32 = 0xf78771c1 (Python: pow(7, 40, 2**32)).
  EXPECT_EQ(binary<int32_t>(Prim::pow, {2, 3, 0, 1, -1, -1, 2, 7}, {10, 3, 0, -5, -3, -4, -1, 40}),
            (std::vector<int32_t>{1024, 27, 1, 1, -1, 1, 0, static_cast<int32_t>(0xf78771c1u)}));
  EXPECT_EQ(binary<uint8_t>(Prim::pow, {3, 2}, {5, 8}), (std::vector<uint8_t>{243, 0}));
  auto f = binary<float>(Prim::pow, {2.0f, kNaN, -8.0f, 0.0f}, {-1.0f, 0.0f, 1.0f / 3, -1.0f});
  EXPECT_EQ(f[0], 0.5f);
  EXPECT_EQ(f[1], 1.0f);
  EXPECT_TRUE(std::isnan(f[2]));
  EXPECT_EQ(f[3], kInf);
}

TEST(ElementwiseBinaryKernels, MaxMinPropagateNaNAndOrderZeros) {
  auto mx = binary<float>(Prim::max, {kNaN, 1.0f, -0.0f, 0.0f}, {1.0f, kNaN, 0.0f, -0.0f});
  EXPECT_TRUE(std::isnan(mx[0]) && std::isnan(mx[1]));
  EXPECT_FALSE(std::signbit(mx[2]));
  EXPECT_FALSE(std::signbit(mx[3]));
  auto mn = binary<double>(Prim::min, {-0.0, 0.0, 2.0}, {0.0, -0.0, kNaN});
  EXPECT_TRUE(std::signbit(mn[0]));
  EXPECT_TRUE(std::signbit(mn[1]));
  EXPECT_TRUE(std::isnan(mn[2]));
  EXPECT_EQ(binary<int8_t>(Prim::max, {-128, 5}, {127, 4}), (std::vector<int8_t>{127, 5}));
}

TEST(ElementwiseBinaryKernels, DivideAndAtan2AreIEEE) {
  auto d = binary<float>(Prim::divide, {1.0f, -1.0f, 0.0f}, {0.0f, 0.0f, 0.0f});
  EXPECT_EQ(d[0], kInf);
  EXPECT_EQ(d[1], -kInf);
  EXPECT_TRUE(std::isnan(d[2]));
  auto a = binary<double>(Prim::atan2, {0.0, -0.0, 1.0}, {-0.0, -0.0, 0.0});
  EXPECT_EQ(a[0], M_PI);
  EXPECT_EQ(a[1], -M_PI);
  EXPECT_EQ(a[2], M_PI / 2);
}

TEST(ElementwiseBinaryKernels, Shifts) {
  EXPECT_EQ(binary<int8_t>(Prim::left_shift, {1, 1, 1, 1, -1}, {0, 7, 8, -1, 3}),
            (std::vector<int8_t>{1, -128, 0, 0, -8}));
  EXPECT_EQ(binary<int8_t>(Prim::right_shift, {-128, -128, -128, 64, 64}, {1, 7, 8, 8, -1}),
            (std::vector<int8_t>{-64, -1, -1, 0, 0}));
  EXPECT_EQ(binary<uint8_t>(Prim::right_shift, {128, 128, 255}, {7, 8, 255}),
            (std::vector<uint8_t>{1, 0, 0}));
  EXPECT_EQ(binary<uint64_t>(Prim::left_shift, {1, 1}, {63, 64}),
            (std::vector<uint64_t>{uint64_t{1} << 63, 0}));
  EXPECT_EQ(binary<int32_t>(Prim::right_shift, {-5, 5}, {100, 100}), (std::vector<int32_t>{-1, 0}));
}

TEST(ElementwiseBinaryKernels, BitwiseOnIntegersAndPred) {
  EXPECT_EQ(binary<uint16_t>(Prim::bitwise_and, {0xff0f}, {0x0ff0}),
            (std::vector<uint16_t>{0x0f00}));
  EXPECT_EQ(binary<int32_t>(Prim::bitwise_or, {-256}, {255}), (std::vector<int32_t>{-1}));
  EXPECT_EQ(binary<int64_t>(Prim::bitwise_xor, {-1}, {1}), (std::vector<int64_t>{-2}));
  Tensor p = from_vector(std::vector<bool>{false, false, true, true});
  Tensor q = from_vector(std::vector<bool>{false, true, false, true});
  EXPECT_EQ(to_bits(run(Prim::bitwise_and, {p, q})), (std::vector<uint64_t>{0, 0, 0, 1}));
  EXPECT_EQ(to_bits(run(Prim::bitwise_or, {p, q})), (std::vector<uint64_t>{0, 1, 1, 1}));
  EXPECT_EQ(to_bits(run(Prim::bitwise_xor, {p, q})), (std::vector<uint64_t>{0, 1, 1, 0}));
}

TEST(ElementwiseBinaryKernels, ComparisonsAreIEEE) {
  Tensor a = from_vector(std::vector<float>{kNaN, 0.0f, 1.0f, -kInf});
  Tensor b = from_vector(std::vector<float>{kNaN, -0.0f, 2.0f, -kInf});
  EXPECT_EQ(to_bits(run(Prim::equal, {a, b})), (std::vector<uint64_t>{0, 1, 0, 1}));
  EXPECT_EQ(to_bits(run(Prim::not_equal, {a, b})), (std::vector<uint64_t>{1, 0, 1, 0}));
  EXPECT_EQ(to_bits(run(Prim::less, {a, b})), (std::vector<uint64_t>{0, 0, 1, 0}));
  EXPECT_EQ(to_bits(run(Prim::less_equal, {a, b})), (std::vector<uint64_t>{0, 1, 1, 1}));
  EXPECT_EQ(to_bits(run(Prim::greater, {a, b})), (std::vector<uint64_t>{0, 0, 0, 0}));
  EXPECT_EQ(to_bits(run(Prim::greater_equal, {a, b})), (std::vector<uint64_t>{0, 1, 0, 1}));
  Tensor u = from_vector(std::vector<uint64_t>{~uint64_t{0}, 0});
  Tensor s = from_vector(std::vector<uint64_t>{1, 1});
  EXPECT_EQ(to_bits(run(Prim::greater, {u, s})), (std::vector<uint64_t>{1, 0}));
  Tensor f = from_vector(std::vector<bool>{false, true});
  EXPECT_EQ(to_bits(run(Prim::less, {f, nx::scalar(1, DType::Pred)})),
            (std::vector<uint64_t>{1, 0}));
}

TEST(ElementwiseBinaryKernels, SelectCopiesBits) {
  Tensor p = from_vector(std::vector<bool>{true, false, true});
  Tensor a = from_vector(std::vector<float>{-0.0f, 1.0f, kNaN});
  Tensor b = from_vector(std::vector<float>{5.0f, 0.0f, 2.0f});
  const auto y = to_bits(run(Prim::select, {p, a, b}));
  EXPECT_EQ(y, (std::vector<uint64_t>{0x80000000u, 0, to_bits(a)[2]}));
}

}  // namespace
}  // namespace nx::ew_test
