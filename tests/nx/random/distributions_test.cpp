// uniform, normal, truncated_normal and randint against published JAX and Nx values, and the
// float construction checked bit by bit against random_bits for every float dtype.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "random_test_util.hpp"

namespace {

using namespace nx_random_test;
namespace random = nx::random;

// JAX tests/random_test.py _RANDOM_VALUES_CASES (added in e68e87ac22, 2022): shape (5,),
// float32, key PRNGKey(zlib.adler32(name + "threefry2x32")); printed to 6 decimals.
TEST(RandomDistributions, UniformMatchesJax) {
  std::vector<float> got = random::uniform(random::key(1338574713), {5}).to_vector<float>();
  std::vector<float> want = {0.298671f, 0.073213f, 0.873356f, 0.260549f, 0.412797f};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(got[i], want[i], 5e-7) << i;
}

// Nx doctest of Nx.Random.uniform(key(1701)), which splits the key and draws with the second
// half; Nx prints the shortest decimal that reads back as the same f32, so this is exact.
TEST(RandomDistributions, UniformMatchesNxExactly) {
  Tensor k = row(random::split(random::key(1701)), 1);
  EXPECT_EQ(random::uniform(k, {}).item<float>(), 0.9728644f);
}

TEST(RandomDistributions, NormalMatchesJaxAndNx) {
  std::vector<float> got = random::normal(random::key(1193674498), {5}).to_vector<float>();
  std::vector<float> want = {-1.173234f, -1.511662f, 0.070593f, -0.099764f, 1.052845f};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
  // Nx doctest: Nx.Random.normal(key(42)) = 1.3694695 (Nx's BinaryBackend erf_inv; ours may
  // differ in the last ulp).
  float n = random::normal(row(random::split(random::key(42)), 1), {}).item<float>();
  EXPECT_NEAR(n, 1.3694695f, 2.5e-7f);
  // Nx doctest: normal(key(1337), 10, 5, shape: {1000}) has mean 9.700222 and standard
  // deviation 5.0514164 (statistics in f32; summation order may differ slightly).
  Tensor s =
      random::normal(row(random::split(random::key(1337)), 1), {1000}, {.mean = 10, .std = 5});
  EXPECT_NEAR(nx::mean(s).item<float>(), 9.700222f, 2e-5);
  EXPECT_NEAR(nx::standard_deviation(s).item<float>(), 5.0514164f, 2e-5);
}

TEST(RandomDistributions, TruncatedNormalMatchesJax) {
  // _RANDOM_VALUES_CASES "truncated_normal" with lower 0, upper 2; adler32 seed 2846034731.
  std::vector<float> got =
      random::truncated_normal(random::key(2846034731), 0.0, 2.0, {5}).to_vector<float>();
  std::vector<float> want = {0.582807f, 1.709771f, 0.159513f, 0.861376f, 0.36148f};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << i;
}

TEST(RandomDistributions, RandintMatchesJax) {
  // JAX tests/random_test.py PrngTest.testPRNGValues: randint(PRNGKey(0), (3, 3), 0, 8).
  EXPECT_EQ(random::randint(random::key(0), {3, 3}, 0, 8).to_vector<int32_t>(),
            (std::vector<int32_t>{2, 1, 3, 6, 1, 5, 6, 3, 4}));
  EXPECT_EQ(random::randint(random::key(0), {3, 3}, 0, 8, nx::s64).to_vector<int64_t>(),
            (std::vector<int64_t>{7, 2, 6, 2, 1, 0, 6, 7, 7}));
  // _RANDOM_VALUES_CASES "randint" 0..10 int32; adler32 seed 1319372649.
  EXPECT_EQ(random::randint(random::key(1319372649), {5}, 0, 10).to_vector<int32_t>(),
            (std::vector<int32_t>{0, 5, 7, 7, 5}));
}

// The float construction, recomputed from random_bits: mantissa bits under the exponent of 1.0,
// minus 1 (jax.random._uniform). bf16 draws 8 bits per value (7 mantissa bits < 8).
TEST(RandomDistributions, UniformIsBuiltFromTheBitsForEveryFloat) {
  Tensor k = random::key(7);
  std::vector<uint64_t> b64 = random::random_bits(k, {6}, nx::u64).to_vector<uint64_t>();
  std::vector<double> f64 = random::uniform(k, {6}, {.dtype = nx::f64}).to_vector<double>();
  std::vector<uint32_t> b32 = random::random_bits(k, {6}).to_vector<uint32_t>();
  std::vector<float> f32 = random::uniform(k, {6}).to_vector<float>();
  std::vector<uint16_t> b16 = random::random_bits(k, {6}, nx::u16).to_vector<uint16_t>();
  std::vector<nx::half> f16 = random::uniform(k, {6}, {.dtype = nx::f16}).to_vector<nx::half>();
  std::vector<uint8_t> b8 = random::random_bits(k, {6}, nx::u8).to_vector<uint8_t>();
  std::vector<nx::bfloat16> bf =
      random::uniform(k, {6}, {.dtype = nx::bf16}).to_vector<nx::bfloat16>();
  for (size_t i = 0; i < 6; ++i) {
    uint64_t d = (b64[i] >> 12) | 0x3FF0000000000000ull;
    double want64;
    std::memcpy(&want64, &d, 8);
    EXPECT_EQ(f64[i], want64 - 1.0) << i;
    EXPECT_EQ(f32[i], nx::detail::bits_float((b32[i] >> 9) | 0x3F800000u) - 1.0f) << i;
    EXPECT_EQ(
        static_cast<float>(f16[i]),
        static_cast<float>(nx::half::from_bits(static_cast<uint16_t>((b16[i] >> 6) | 0x3C00u))) -
            1.0f)
        << i;
    EXPECT_EQ(static_cast<float>(bf[i]),
              nx::detail::bits_float(static_cast<uint32_t>((b8[i] >> 1) | 0x3F80u) << 16) - 1.0f)
        << i;
  }
}

TEST(RandomDistributions, UniformBoundsAndShapes) {
  Tensor k = random::key(3);
  std::vector<double> u =
      random::uniform(k, {1000}, {.min = -2, .max = 3, .dtype = nx::f64}).to_vector<double>();
  for (double x : u) {
    EXPECT_GE(x, -2.0);
    EXPECT_LT(x, 3.0);
  }
  // Tensor bounds broadcast along the last axis.
  Tensor lo = nx::from_vector(std::vector<float>{0, 10});
  Tensor hi = nx::from_vector(std::vector<float>{1, 20});
  std::vector<float> v = random::uniform(k, lo, hi, {3, 2}).to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_GE(v[i], i % 2 ? 10.f : 0.f);
    EXPECT_LT(v[i], i % 2 ? 20.f : 1.f);
  }
  // min == max gives min.
  EXPECT_EQ(random::uniform(k, {4}, {.min = 2, .max = 2}).to_vector<float>(),
            (std::vector<float>(4, 2.f)));
  EXPECT_EQ(random::uniform(k, {0, 3}).shape(), (nx::Shape{0, 3}));
  EXPECT_THROW(random::uniform(k, {2}, {.dtype = nx::s32}), nx::Error);
  EXPECT_THROW(random::uniform(k, nx::zeros({3}), nx::ones({3}), {2}), nx::Error);
}

TEST(RandomDistributions, NormalDtypesAndOptions) {
  Tensor k = random::key(11);
  for (nx::DType d : {nx::f16, nx::bf16, nx::f32, nx::f64}) {
    Tensor x = random::normal(k, {2000}, {.dtype = d});
    ASSERT_EQ(x.dtype(), d);
    std::vector<double> v = x.to_vector<double>();
    double m = 0, s = 0;
    for (double y : v) {
      ASSERT_TRUE(std::isfinite(y));
      m += y;
    }
    m /= static_cast<double>(v.size());
    for (double y : v) s += (y - m) * (y - m);
    s = std::sqrt(s / static_cast<double>(v.size()));
    EXPECT_NEAR(m, 0.0, 0.08) << nx::dtype_name(d);
    EXPECT_NEAR(s, 1.0, 0.08) << nx::dtype_name(d);
  }
  // mean/std apply std * x + mean to the standard draw.
  std::vector<float> z = random::normal(k, {5}).to_vector<float>();
  std::vector<float> y = random::normal(k, {5}, {.mean = 1, .std = 2}).to_vector<float>();
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(y[i], 2.f * z[i] + 1.f);
  std::vector<float> t =
      random::normal(k, nx::scalar(1.0, nx::f32), nx::scalar(2.0, nx::f32), {5}).to_vector<float>();
  EXPECT_EQ(t, y);
  EXPECT_THROW(random::normal(k, {2}, {.dtype = nx::u8}), nx::Error);
}

TEST(RandomDistributions, TruncatedNormalStaysInsideOpenInterval) {
  Tensor k = random::key(5);
  for (nx::DType d : {nx::f16, nx::bf16, nx::f32, nx::f64}) {
    std::vector<double> v = random::truncated_normal(k, -0.5, 1.5, {3000}, d).to_vector<double>();
    for (double x : v) {
      ASSERT_GT(x, -0.5) << nx::dtype_name(d);
      ASSERT_LT(x, 1.5) << nx::dtype_name(d);
    }
  }
  // A degenerate interval clamps to the nearest representable values inside it.
  std::vector<float> tight = random::truncated_normal(k, 1.0, 1.0, {4}).to_vector<float>();
  for (float x : tight)
    EXPECT_TRUE(x == std::nextafter(1.0f, 2.0f) || x == std::nextafter(1.0f, 0.0f)) << x;
  // Tensor bounds per column.
  Tensor lo = nx::from_vector(std::vector<float>{-3, 2});
  Tensor hi = nx::from_vector(std::vector<float>{-2, 4});
  std::vector<float> c = random::truncated_normal(k, lo, hi, {100, 2}).to_vector<float>();
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_GT(c[i], i % 2 ? 2.f : -3.f);
    EXPECT_LT(c[i], i % 2 ? 4.f : -2.f);
  }
}

TEST(RandomDistributions, RandintRangesAndEdgeCases) {
  Tensor k = random::key(9);
  for (nx::DType d : {nx::u8, nx::u16, nx::u32, nx::u64, nx::s8, nx::s16, nx::s32, nx::s64}) {
    Tensor x = random::randint(k, {500}, 3, 100, d);
    ASSERT_EQ(x.dtype(), d);
    for (int64_t v : x.to_vector<int64_t>()) {
      ASSERT_GE(v, 3) << nx::dtype_name(d);
      ASSERT_LT(v, 100) << nx::dtype_name(d);
    }
  }
  // Narrow dtypes are the s32 draw with the bounds clipped, converted (JAX's randint).
  EXPECT_EQ(random::randint(k, {50}, -5, 300, nx::u8).to_vector<int64_t>(),
            nx::as_type(random::randint(k, {50}, 0, 256, nx::s32), nx::u8).to_vector<int64_t>());
  // max one past the dtype's range covers all of it; max <= min gives min.
  std::vector<int64_t> all = random::randint(k, {4000}, 0, 256, nx::u8).to_vector<int64_t>();
  EXPECT_EQ(*std::max_element(all.begin(), all.end()), 255);
  EXPECT_EQ(*std::min_element(all.begin(), all.end()), 0);
  EXPECT_EQ(random::randint(k, {3}, 7, 7).to_vector<int32_t>(), (std::vector<int32_t>{7, 7, 7}));
  EXPECT_EQ(random::randint(k, {3}, 7, 2).to_vector<int32_t>(), (std::vector<int32_t>{7, 7, 7}));
  // The full 64-bit range: the span wraps to 0 and every value is possible.
  Tensor full = random::randint(k, {8}, INT64_MIN, INT64_MAX, nx::s64);
  EXPECT_EQ(full.shape(), nx::Shape{8});
  // Bounds clipped to the dtype: [-1000, 1000) as s8 is [-128, 127].
  for (int64_t v : random::randint(k, {200}, -1000, 1000, nx::s8).to_vector<int64_t>()) {
    EXPECT_GE(v, -128);
    EXPECT_LE(v, 127);
  }
  // Tensor bounds per column.
  Tensor lo = nx::from_vector(std::vector<int64_t>{0, 100});
  Tensor hi = nx::from_vector(std::vector<int64_t>{2, 105});
  std::vector<int64_t> c = random::randint(k, {50, 2}, lo, hi, nx::s64).to_vector<int64_t>();
  for (size_t i = 0; i < c.size(); ++i) {
    EXPECT_GE(c[i], i % 2 ? 100 : 0);
    EXPECT_LT(c[i], i % 2 ? 105 : 2);
  }
  EXPECT_THROW(random::randint(k, {2}, 0, 5, nx::f32), nx::Error);
  EXPECT_THROW(random::randint(k, {2}, nx::scalar(0.0, nx::f32), nx::scalar(1.0, nx::f32)),
               nx::Error);
  EXPECT_THROW(random::randint(k, {3}, lo, hi), nx::Error);  // bounds of shape {2} vs shape {3}
}

}  // namespace
