// Keys and raw bits against published values of JAX (tests/random_test.py) and Nx (the
// doctests of nx/lib/nx/random.ex). JAX values hold with jax_threefry_partitionable=False, the
// algorithm nx follows.
#include "random_test_util.hpp"

namespace {

using namespace nx_random_test;
namespace random = nx::random;

TEST(RandomKeys, KeyFromSeed) {
  // Nx doctests of Nx.Random.key: key(12) and key(999999999999) (= 232 * 2^32 + 3567587327).
  EXPECT_EQ(u32s(random::key(12)), (std::vector<uint32_t>{0, 12}));
  EXPECT_EQ(u32s(random::key(999999999999)), (std::vector<uint32_t>{232, 3567587327u}));
  EXPECT_EQ(random::key(0).type(), (nx::TensorType{{2}, nx::u32}));
  // Two's complement of a negative 64-bit seed (Nx: s64 seeds are bitcast to u64).
  EXPECT_EQ(u32s(random::key(-1)), (std::vector<uint32_t>{0xFFFFFFFFu, 0xFFFFFFFFu}));
  EXPECT_EQ(u32s(random::key(INT64_MIN)), (std::vector<uint32_t>{0x80000000u, 0}));
  // 32-bit seeds: JAX's threefry_seed shifts a 32-bit seed right by 32 (giving 0) and masks it.
  EXPECT_EQ(u32s(random::key(nx::from_vector(std::vector<int32_t>{-1}, nx::Shape{}))),
            (std::vector<uint32_t>{0, 0xFFFFFFFFu}));
  EXPECT_EQ(u32s(random::key(nx::from_vector(std::vector<uint8_t>{7}, nx::Shape{}))),
            (std::vector<uint32_t>{0, 7}));
  EXPECT_EQ(u32s(random::key(nx::from_vector(std::vector<uint64_t>{0x123456789ull}, nx::Shape{}))),
            (std::vector<uint32_t>{1, 0x23456789u}));
  EXPECT_THROW(random::key(nx::from_vector(std::vector<float>{1}, nx::Shape{})), nx::Error);
  EXPECT_THROW(random::key(nx::from_vector(std::vector<int32_t>{1, 2})), nx::Error);
}

TEST(RandomKeys, SplitMatchesJaxAndNx) {
  // JAX tests/random_test.py PrngTest.testPRNGValues: split(PRNGKey(0), 4).
  EXPECT_EQ(u32s(random::split(random::key(0), 4)),
            (std::vector<uint32_t>{2285895361u, 1501764800u, 1518642379u, 4090693311u, 433833334u,
                                   4221794875u, 839183663u, 3740430601u}));
  // Nx doctests of Nx.Random.split: key(1701), 2 and 4 parts.
  Tensor two = random::split(random::key(1701));
  EXPECT_EQ(two.shape(), (nx::Shape{2, 2}));
  EXPECT_EQ(u32s(two), (std::vector<uint32_t>{56197195u, 1801093307u, 961309823u, 1704866707u}));
  EXPECT_EQ(u32s(random::split(random::key(1701), 4)),
            (std::vector<uint32_t>{4000152724u, 2030591747u, 2287976877u, 2598630646u, 2426625787u,
                                   580268518u, 3136765380u, 433355682u}));
  EXPECT_EQ(random::split(random::key(1), 0).shape(), (nx::Shape{0, 2}));
  EXPECT_EQ(random::split(random::key(1), 3).shape(), (nx::Shape{3, 2}));
}

TEST(RandomKeys, FoldInMatchesJaxAndNx) {
  // JAX testPRNGValues: fold_in(PRNGKey(0), 4).
  EXPECT_EQ(u32s(random::fold_in(random::key(0), 4)),
            (std::vector<uint32_t>{2285895361u, 433833334u}));
  // Nx doctests of Nx.Random.fold_in with key(42).
  EXPECT_EQ(u32s(random::fold_in(random::key(42), 99)),
            (std::vector<uint32_t>{2015327502u, 1351855566u}));
  EXPECT_EQ(u32s(random::fold_in(random::key(42), 1234)),
            (std::vector<uint32_t>{1356445167u, 2917756949u}));
  Tensor many = random::fold_in(
      random::key(42), nx::from_vector(std::vector<int32_t>{1, 99, 1234, 13}, nx::Shape{2, 2}));
  EXPECT_EQ(many.shape(), (nx::Shape{2, 2, 2}));
  EXPECT_EQ(u32s(many), (std::vector<uint32_t>{64467757u, 2916123636u, 2015327502u, 1351855566u,
                                               1356445167u, 2917756949u, 3514951389u, 229662949u}));
  EXPECT_THROW(random::fold_in(random::key(0), nx::from_vector(std::vector<float>{1})), nx::Error);
}

TEST(RandomKeys, RandomBitsMatchJax) {
  // JAX tests/random_test.py PrngTest.testRngRandomBits: bits(PRNGKey(1701), (3,), dtype).
  Tensor k = random::key(1701);
  EXPECT_EQ(random::random_bits(k, {3}, nx::u8).to_vector<uint8_t>(),
            (std::vector<uint8_t>{216, 115, 43}));
  EXPECT_EQ(random::random_bits(k, {3}, nx::u16).to_vector<uint16_t>(),
            (std::vector<uint16_t>{41682, 1300, 55017}));
  EXPECT_EQ(u32s(random::random_bits(k, {3})),
            (std::vector<uint32_t>{56197195u, 4200222568u, 961309823u}));
  EXPECT_EQ(random::random_bits(k, {3}, nx::u64).to_vector<uint64_t>(),
            (std::vector<uint64_t>{3982329540505020460ull, 16822122385914693683ull,
                                   7882654074788531506ull}));
  // JAX tests/random_test.py _RANDOM_VALUES_CASES "bits" (added in ea3389205f), shape (5,),
  // seed zlib.adler32(b"bitsthreefry2x32") = 942802475.
  Tensor k5 = random::key(942802475);
  EXPECT_EQ(random::random_bits(k5, {5}, nx::u8).to_vector<uint8_t>(),
            (std::vector<uint8_t>{10, 158, 82, 54, 158}));
  EXPECT_EQ(random::random_bits(k5, {5}, nx::u16).to_vector<uint16_t>(),
            (std::vector<uint16_t>{6738, 38161, 50695, 57337, 61600}));
  EXPECT_EQ(
      u32s(random::random_bits(k5, {5})),
      (std::vector<uint32_t>{1978747883u, 4134381225u, 3628107870u, 689687174u, 2788938207u}));
  EXPECT_EQ(random::random_bits(k5, {5}, nx::u64).to_vector<uint64_t>(),
            (std::vector<uint64_t>{17649965731882839947ull, 1415307058040849897ull,
                                   8282622628079774249ull, 14024425113645909402ull,
                                   2012979996110532418ull}));
}

TEST(RandomKeys, RandomBitsShapesAndViewProperty) {
  Tensor k = random::key(1701);
  EXPECT_EQ(random::random_bits(k, {2, 0, 3}).shape(), (nx::Shape{2, 0, 3}));
  EXPECT_EQ(random::random_bits(k, {}).shape(), nx::Shape{});
  EXPECT_EQ(random::random_bits(k, {2, 3}, nx::u16).shape(), (nx::Shape{2, 3}));
  // JAX testRngRandomBitsViewProperty: the narrow draws are the 32-bit words' bytes.
  std::vector<uint32_t> w = u32s(random::random_bits(k, {10}));
  std::vector<uint8_t> b = random::random_bits(k, {40}, nx::u8).to_vector<uint8_t>();
  std::vector<uint16_t> h = random::random_bits(k, {20}, nx::u16).to_vector<uint16_t>();
  for (size_t i = 0; i < 40; ++i)
    EXPECT_EQ(b[i], static_cast<uint8_t>(w[i / 4] >> (8 * (i % 4)))) << i;
  for (size_t i = 0; i < 20; ++i)
    EXPECT_EQ(h[i], static_cast<uint16_t>(w[i / 2] >> (16 * (i % 2)))) << i;
  EXPECT_THROW(random::random_bits(k, {3}, nx::s32), nx::Error);
  EXPECT_THROW(random::random_bits(k, {-1}), nx::Error);
  EXPECT_THROW(random::random_bits(k, {int64_t{1} << 33}), nx::Error);
  EXPECT_THROW(random::random_bits(k, {0, int64_t{1} << 40, int64_t{1} << 40}), nx::Error);
  EXPECT_THROW(random::random_bits(nx::from_vector(std::vector<int32_t>{0, 0}), {3}), nx::Error);
  EXPECT_THROW(random::random_bits(nx::from_vector(std::vector<uint32_t>{0, 0, 0}), {3}),
               nx::Error);
}

TEST(RandomKeys, Threefry2x32OfCounters) {
  // Random123's known answer (key 0x13198a2e 0x03707344, counter 0x243f6a88 0x85a308d3),
  // through the counter layout of JAX's threefry_2x32: the two halves of the flat counters.
  Tensor k = nx::from_vector(std::vector<uint32_t>{0x13198a2eu, 0x03707344u});
  Tensor out =
      random::threefry_2x32(k, nx::from_vector(std::vector<uint32_t>{0x243f6a88u, 0x85a308d3u}));
  EXPECT_EQ(u32s(out), (std::vector<uint32_t>{0xc4923a9cu, 0x483df7a0u}));
  // An odd count is padded with a zero counter that is then dropped.
  Tensor odd = random::threefry_2x32(random::key(1701), nx::iota({3}, nx::u32));
  EXPECT_EQ(u32s(odd), (std::vector<uint32_t>{56197195u, 4200222568u, 961309823u}));
  EXPECT_THROW(random::threefry_2x32(k, nx::iota({3}, nx::s32)), nx::Error);
}

}  // namespace
