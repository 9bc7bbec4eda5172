#include <gtest/gtest.h>

#include <cmath>

#include "nx/nx.hpp"

namespace {

TEST(Creation, FullZerosOnes) {
  EXPECT_EQ(nx::full({2, 2}, 3.5).to_vector<float>(), (std::vector<float>{3.5, 3.5, 3.5, 3.5}));
  EXPECT_EQ(nx::zeros({3}, nx::s8).to_vector<int>(), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(nx::ones({2}, nx::bf16).to_vector<float>(), (std::vector<float>{1, 1}));
  nx::Tensor like = nx::ones_like(nx::zeros({2, 1}, nx::u16));
  EXPECT_EQ(like.dtype(), nx::u16);
  EXPECT_EQ(like.shape(), (nx::Shape{2, 1}));
  EXPECT_THROW(nx::full({2}, 300, nx::u8), nx::Error);
  EXPECT_THROW(nx::zeros({-1}), nx::Error);
  EXPECT_EQ(nx::zeros({0, 3}).size(), 0);
}

TEST(Creation, ScalarsOfExplicitType) {
  nx::Tensor s = nx::scalar(2, nx::f64);
  EXPECT_FALSE(s.is_weak());
  EXPECT_EQ(s.dtype(), nx::f64);
  EXPECT_EQ(nx::scalar_int(-1, nx::u64).item<uint64_t>(), ~uint64_t{0});
  EXPECT_EQ(nx::scalar_int(int64_t{1} << 62, nx::s64).item<int64_t>(), int64_t{1} << 62);
}

TEST(Creation, Linspace) {
  // numpy.linspace(0, 1, 5) and numpy.linspace(0, 1, 4, endpoint=False)
  EXPECT_EQ(nx::linspace(0, 1, 5).to_vector<float>(), (std::vector<float>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(nx::linspace(0, 1, 4, false).to_vector<float>(),
            (std::vector<float>{0, 0.25, 0.5, 0.75}));
  EXPECT_EQ(nx::linspace(0, 1, 0).size(), 0);
}

TEST(Creation, Arange) {
  // numpy.arange(1, 2, 0.25) and numpy.arange(5, 0, -2)
  EXPECT_EQ(nx::arange(1, 2, 0.25).to_vector<float>(), (std::vector<float>{1, 1.25, 1.5, 1.75}));
  EXPECT_EQ(nx::arange(5, 0, -2, nx::s32).to_vector<int>(), (std::vector<int>{5, 3, 1}));
  EXPECT_EQ(nx::arange(0, -1).size(), 0);
  EXPECT_THROW(nx::arange(0, 1, 0), nx::Error);
}

}  // namespace
