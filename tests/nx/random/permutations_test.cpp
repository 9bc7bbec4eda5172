// shuffle, permutation and choice: Nx doctest values (Nx.Random.shuffle and choice without
// replacement follow JAX's permutation) and the properties of permutations and draws.
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "nx/ops/elementwise.hpp"
#include "random_test_util.hpp"

namespace {

using namespace nx_random_test;
namespace random = nx::random;

std::vector<int32_t> s32s(const Tensor& t) {
  return t.to_vector<int32_t>();
}

TEST(RandomPermutations, ShuffleMatchesNx) {
  // Nx doctest: Nx.Random.shuffle(key(42), Nx.iota({3, 4}, axis: 0)) moves whole rows.
  Tensor rows = random::shuffle(random::key(42), nx::iota({3, 4}, 0));
  EXPECT_EQ(s32s(rows), (std::vector<int32_t>{2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1}));
  // Nx doctest: shuffle(key(10), Nx.iota({3, 4}, axis: 1), independent: true, axis: 1).
  Tensor each =
      random::shuffle(random::key(10), nx::iota({3, 4}, 1), {.axis = 1, .independent = true});
  EXPECT_EQ(s32s(each), (std::vector<int32_t>{2, 1, 3, 0, 3, 0, 1, 2, 2, 3, 0, 1}));
}

TEST(RandomPermutations, ChoiceWithoutReplacementMatchesNx) {
  // Nx doctest: choice(key(1), Nx.iota({4, 3}), samples: 4, axis: 0, replace: false).
  Tensor c = random::choice(random::key(1), nx::iota({4, 3}), {4}, {.replace = false});
  EXPECT_EQ(c.shape(), (nx::Shape{4, 3}));
  EXPECT_EQ(s32s(c), (std::vector<int32_t>{3, 4, 5, 9, 10, 11, 6, 7, 8, 0, 1, 2}));
  // Nx doctest: choice(key(2), Nx.iota({3, 2}), samples: 6, replace: false) on the flattened
  // tensor.
  EXPECT_EQ(s32s(random::choice(random::key(2), nx::iota({6}), {6}, {.replace = false})),
            (std::vector<int32_t>{2, 0, 4, 5, 1, 3}));
}

void expect_permutation_of(std::vector<int32_t> v, int32_t n) {
  std::sort(v.begin(), v.end());
  std::vector<int32_t> want(static_cast<size_t>(n));
  std::iota(want.begin(), want.end(), 0);
  EXPECT_EQ(v, want);
}

TEST(RandomPermutations, PermutationsArePermutations) {
  Tensor k = random::key(123);
  for (int32_t n : {0, 1, 2, 7, 100, 3000}) {  // 3000 takes two sorting rounds
    Tensor p = random::permutation(k, n);
    ASSERT_EQ(p.dtype(), nx::s32);
    expect_permutation_of(s32s(p), n);
  }
  EXPECT_NE(s32s(random::permutation(k, 50)), s32s(random::permutation(random::key(124), 50)));
  // One element: no rounds, nothing moves.
  EXPECT_EQ(s32s(random::shuffle(k, nx::iota({1, 3}))), (std::vector<int32_t>{0, 1, 2}));
  // shuffle of a 1-D tensor permutes its values like permutation permutes indices.
  Tensor x = nx::iota({40}, nx::s64);
  EXPECT_EQ(random::shuffle(k, x).to_vector<int64_t>(),
            nx::as_type(random::permutation(k, 40), nx::s64).to_vector<int64_t>());
  // Along axis 1, columns move as a whole.
  Tensor cols = random::shuffle(k, nx::iota({3, 5}, 1), {.axis = -1});
  std::vector<int32_t> v = s32s(cols);
  for (int r = 1; r < 3; ++r) {
    for (int c = 0; c < 5; ++c)
      EXPECT_EQ(v[static_cast<size_t>(r * 5 + c)], v[static_cast<size_t>(c)]);
  }
  EXPECT_THROW(random::shuffle(k, nx::scalar(1.0, nx::f32)), nx::Error);
  EXPECT_THROW(random::shuffle(k, nx::iota({3}), {.axis = 1}), nx::Error);
  EXPECT_THROW(random::permutation(k, -1), nx::Error);
}

TEST(RandomPermutations, ChoiceShapesAndErrors) {
  Tensor k = random::key(77);
  Tensor x = nx::iota({4, 3});
  EXPECT_EQ(random::choice(k, x, {2, 5}).shape(), (nx::Shape{2, 5, 3}));
  EXPECT_EQ(random::choice(k, x, {2}, {.axis = 1}).shape(), (nx::Shape{4, 2}));
  EXPECT_EQ(random::choice(k, x, {0}).shape(), (nx::Shape{0, 3}));
  // With replacement and no p the indices are randint's.
  EXPECT_EQ(s32s(random::choice(k, 10, {6})), s32s(random::randint(k, {6}, 0, 10)));
  std::vector<int32_t> no_rep = s32s(random::choice(k, 10, {10}, {.replace = false}));
  expect_permutation_of(no_rep, 10);
  EXPECT_THROW(random::choice(k, 3, {4}, {.replace = false}), nx::Error);
  EXPECT_THROW(random::choice(k, 0, {1}), nx::Error);
  EXPECT_THROW(random::choice(k, nx::scalar(1.0, nx::f32), {1}), nx::Error);
  EXPECT_THROW(random::choice(k, 3, {1}, {.p = nx::from_vector(std::vector<float>{0.5f, 0.5f})}),
               nx::Error);
}

TEST(RandomPermutations, ChoiceWithProbabilities) {
  Tensor k = random::key(2024);
  Tensor p = nx::from_vector(std::vector<float>{0.1f, 0.0f, 0.6f, 0.3f});
  std::vector<int32_t> draws = s32s(random::choice(k, 4, {4000}, {.p = p}));
  std::map<int32_t, int> counts;
  for (int32_t d : draws) counts[d]++;
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / 4000.0, 0.1, 0.03);
  EXPECT_NEAR(counts[2] / 4000.0, 0.6, 0.03);
  EXPECT_NEAR(counts[3] / 4000.0, 0.3, 0.03);
  // Without replacement: distinct entries, never the zero-probability one while others remain.
  std::vector<int32_t> three = s32s(random::choice(k, 4, {3}, {.replace = false, .p = p}));
  EXPECT_EQ(std::set<int32_t>(three.begin(), three.end()), (std::set<int32_t>{0, 2, 3}));
  // From rows of a matrix, with p over the rows.
  Tensor rows = random::choice(k, nx::iota({4, 2}, 0), {5}, {.p = p});
  EXPECT_EQ(rows.shape(), (nx::Shape{5, 2}));
  for (int32_t v : s32s(rows)) EXPECT_NE(v, 1);
}

}  // namespace
