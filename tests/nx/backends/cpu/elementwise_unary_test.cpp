// Hand-derived edge cases of the unary kernels, readable next to the semantics in
// elementwise_unary.cpp and elementwise_math.cpp (the full tables are in the reference test).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "elementwise_test_util.hpp"

namespace nx::ew_test {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();

template <class T>
std::vector<T> unary(Prim p, const std::vector<T>& x) {
  return run(p, {from_vector(x)}).template to_vector<T>();
}

TEST(ElementwiseUnaryKernels, IntegerNegateAndAbsWrap) {
  EXPECT_EQ(unary<int8_t>(Prim::negate, {-128, -1, 0, 127}),
            (std::vector<int8_t>{-128, 1, 0, -127}));
  EXPECT_EQ(unary<uint8_t>(Prim::negate, {0, 1, 255}), (std::vector<uint8_t>{0, 255, 1}));
  const int32_t mn = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(unary<int32_t>(Prim::abs, {mn, -5, 5}), (std::vector<int32_t>{mn, 5, 5}));
  EXPECT_EQ(unary<uint64_t>(Prim::abs, {~uint64_t{0}}), (std::vector<uint64_t>{~uint64_t{0}}));
  EXPECT_EQ(unary<int64_t>(Prim::sign, {-9, 0, 4}), (std::vector<int64_t>{-1, 0, 1}));
  EXPECT_EQ(unary<uint16_t>(Prim::sign, {0, 65535}), (std::vector<uint16_t>{0, 1}));
}

TEST(ElementwiseUnaryKernels, FloatSignKeepsZeroAndNaN) {
  auto y = unary<double>(Prim::sign, {-0.0, 0.0, kNaN, -kInf, 1e-310});
  EXPECT_TRUE(std::signbit(y[0]) && y[0] == 0);
  EXPECT_TRUE(!std::signbit(y[1]) && y[1] == 0);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], -1.0);
  EXPECT_EQ(y[4], 1.0);
  auto n = unary<float>(Prim::negate, {0.0f});
  EXPECT_TRUE(std::signbit(n[0]));
}

TEST(ElementwiseUnaryKernels, Rounding) {
  const std::vector<float> x = {2.5f, -2.5f, 0.5f, -0.5f, 1.5f, 0.49999997f, -0.4f, 8388609.0f};
  EXPECT_EQ(unary(Prim::round, x), (std::vector<float>{3, -3, 1, -1, 2, 0, -0.0f, 8388609}));
  EXPECT_EQ(unary(Prim::round_even, x),
            (std::vector<float>{2, -2, 0, -0.0f, 2, 0, -0.0f, 8388609}));
  EXPECT_EQ(unary(Prim::floor, x), (std::vector<float>{2, -3, 0, -1, 1, 0, -1, 8388609}));
  EXPECT_EQ(unary(Prim::ceil, x), (std::vector<float>{3, -2, 1, -0.0f, 2, 1, -0.0f, 8388609}));
  EXPECT_EQ(unary(Prim::trunc, x), (std::vector<float>{2, -2, 0, -0.0f, 1, 0, -0.0f, 8388609}));
  // The sign of a zero result follows the operand.
  EXPECT_TRUE(std::signbit(unary(Prim::round, x)[6]));
  EXPECT_TRUE(std::signbit(unary(Prim::ceil, std::vector<double>{-0.7})[0]));
  EXPECT_TRUE(std::signbit(unary(Prim::trunc, std::vector<double>{-0.7})[0]));
  auto inf = unary(Prim::floor, std::vector<double>{kInf, -kInf, kNaN});
  EXPECT_EQ(inf[0], kInf);
  EXPECT_EQ(inf[1], -kInf);
  EXPECT_TRUE(std::isnan(inf[2]));
}

TEST(ElementwiseUnaryKernels, Classification) {
  Tensor x = from_vector(std::vector<float>{kNaNF, kInfF, -kInfF, 0.0f, 1.0f});
  EXPECT_EQ(to_bits(run(Prim::is_nan, {x})), (std::vector<uint64_t>{1, 0, 0, 0, 0}));
  EXPECT_EQ(to_bits(run(Prim::is_infinity, {x})), (std::vector<uint64_t>{0, 1, 1, 0, 0}));
  EXPECT_EQ(run(Prim::is_nan, {x}).dtype(), DType::Pred);
}

TEST(ElementwiseUnaryKernels, BitCounts) {
  EXPECT_EQ(unary<int8_t>(Prim::population_count, {-1, 0, 5, -128}),
            (std::vector<int8_t>{8, 0, 2, 1}));
  EXPECT_EQ(unary<uint16_t>(Prim::count_leading_zeros, {0, 1, 0x8000}),
            (std::vector<uint16_t>{16, 15, 0}));
  EXPECT_EQ(unary<int64_t>(Prim::count_leading_zeros, {0, 1, -1}),
            (std::vector<int64_t>{64, 63, 0}));
  EXPECT_EQ(unary<uint32_t>(Prim::bitwise_not, {0, 0xf0f0f0f0u}),
            (std::vector<uint32_t>{0xffffffffu, 0x0f0f0f0fu}));
  EXPECT_EQ(to_bits(run(Prim::bitwise_not, {from_vector(std::vector<bool>{true, false})})),
            (std::vector<uint64_t>{0, 1}));
}

TEST(ElementwiseUnaryKernels, MathSpecialValues) {
  auto e = unary(Prim::exp, std::vector<float>{-kInfF, kInfF, 89.0f, -104.0f, 0.0f});
  EXPECT_EQ(e, (std::vector<float>{0, INFINITY, INFINITY, 0, 1}));
  auto l = unary(Prim::log, std::vector<float>{0.0f, -0.0f, -1.0f, kInfF, 1.0f});
  EXPECT_EQ(l[0], -INFINITY);
  EXPECT_EQ(l[1], -INFINITY);
  EXPECT_TRUE(std::isnan(l[2]));
  EXPECT_EQ(l[3], INFINITY);
  EXPECT_EQ(l[4], 0.0f);
  // Subnormal results of exp and subnormal operands of log.
  auto sub = unary(Prim::exp, std::vector<float>{-103.0f, -90.0f});
  EXPECT_EQ(sub[0], std::numeric_limits<float>::denorm_min());  // e^-103 = 1.3 * 2^-149
  EXPECT_NEAR(sub[1], std::exp(-90.0), 2 * std::numeric_limits<float>::denorm_min());
  EXPECT_NEAR(unary(Prim::log, std::vector<float>{1e-40f})[0], std::log(1e-40), 1e-5);
  auto s = unary(Prim::sigmoid, std::vector<float>{-kInfF, kInfF, -100.0f, 0.0f});
  EXPECT_EQ(s[0], 0.0f);
  EXPECT_EQ(s[1], 1.0f);
  EXPECT_GT(s[2], 0.0f);  // e^-100 ~ 3.7e-44, a subnormal, not 0
  EXPECT_EQ(s[3], 0.5f);
  auto t = unary(Prim::tanh, std::vector<double>{-0.0, kInf, -kInf});
  EXPECT_TRUE(std::signbit(t[0]));
  EXPECT_EQ(t[1], 1.0);
  EXPECT_EQ(t[2], -1.0);
  auto r = unary(Prim::rsqrt, std::vector<float>{0.0f, -0.0f, 4.0f, -1.0f});
  EXPECT_EQ(r[0], INFINITY);
  EXPECT_EQ(r[1], -INFINITY);
  EXPECT_EQ(r[2], 0.5f);
  EXPECT_TRUE(std::isnan(r[3]));
  auto q = unary(Prim::sqrt, std::vector<double>{-0.0, -1.0, 2.0});
  EXPECT_TRUE(std::signbit(q[0]));
  EXPECT_TRUE(std::isnan(q[1]));
  EXPECT_EQ(q[2], std::sqrt(2.0));
  EXPECT_EQ(unary(Prim::cbrt, std::vector<double>{-8.0})[0], -2.0);
}

TEST(ElementwiseUnaryKernels, ErfInv) {
  for (DType dt : {DType::F32, DType::F64}) {
    Tensor x = run(Prim::convert, {from_vector(std::vector<double>{1, -1, 1.5, -0.0, 0.5})},
                   detail::ConvertParams{dt});
    auto y = values(run(Prim::erf_inv, {x}));
    EXPECT_EQ(y[0], kInf);
    EXPECT_EQ(y[1], -kInf);
    EXPECT_TRUE(std::isnan(y[2]));
    EXPECT_TRUE(y[3] == 0 && std::signbit(y[3]));
    EXPECT_NEAR(y[4], 0.47693627620446987, dt == DType::F32 ? 3e-8 : 1e-16);
  }
  // In f64 near the ends, where the refinement runs on erfc: the true inverse lies within
  // 2 ulp of the result (erf is increasing, so bracketing x by erf of the neighbours shows it).
  for (double x : {0.999999, 1 - 1e-12, 0.9999999999999999, 1e-300, 0.3, 0.5, 0.75}) {
    const double y = values(run(Prim::erf_inv, {nx::scalar(x, DType::F64)}))[0];
    const double lo = std::nextafter(std::nextafter(y, 0.0), 0.0);
    const double hi = std::nextafter(std::nextafter(y, 9.0), 9.0);
    if (x > 0.5) {
      EXPECT_TRUE(std::erfc(hi) <= 1 - x && 1 - x <= std::erfc(lo)) << x;
    } else {
      EXPECT_TRUE(std::erf(lo) <= x && x <= std::erf(hi)) << x;
    }
  }
}

}  // namespace
}  // namespace nx::ew_test
