#include <gtest/gtest.h>

#include "nx/dtype.hpp"
#include "nx/error.hpp"

namespace {

using nx::DType;

TEST(DType, NamesRoundTrip) {
  for (int i = 0; i < nx::kNumDTypes; ++i) {
    auto t = static_cast<DType>(i);
    EXPECT_EQ(nx::parse_dtype(nx::dtype_name(t)), t);
  }
  EXPECT_THROW(nx::parse_dtype("f8"), nx::Error);
}

TEST(DType, Sizes) {
  EXPECT_EQ(nx::byte_size(nx::bf16), 2);
  EXPECT_EQ(nx::byte_size(nx::pred), 1);
  EXPECT_EQ(nx::bit_size(nx::u64), 64);
  EXPECT_EQ(nx::dtype_of<int16_t>(), nx::s16);
  EXPECT_EQ(nx::dtype_of<nx::bfloat16>(), nx::bf16);
  EXPECT_EQ(nx::dtype_of<bool>(), nx::pred);
}

// Expected values transcribed from Nx.Type.merge (nx/lib/nx/type.ex) and its doctests.
TEST(DType, MergeFollowsNx) {
  EXPECT_EQ(nx::merge(nx::s8, nx::s16), nx::s16);
  EXPECT_EQ(nx::merge(nx::u8, nx::u32), nx::u32);
  EXPECT_EQ(nx::merge(nx::u8, nx::s8), nx::s16);
  EXPECT_EQ(nx::merge(nx::u16, nx::s8), nx::s32);
  EXPECT_EQ(nx::merge(nx::u32, nx::s16), nx::s64);
  EXPECT_EQ(nx::merge(nx::u64, nx::s64), nx::s64);
  EXPECT_EQ(nx::merge(nx::u64, nx::s8), nx::s64);
  EXPECT_EQ(nx::merge(nx::s64, nx::f16), nx::f16);
  EXPECT_EQ(nx::merge(nx::u8, nx::bf16), nx::bf16);
  EXPECT_EQ(nx::merge(nx::f16, nx::bf16), nx::f32);
  EXPECT_EQ(nx::merge(nx::f16, nx::f32), nx::f32);
  EXPECT_EQ(nx::merge(nx::bf16, nx::f64), nx::f64);
  EXPECT_EQ(nx::merge(nx::pred, nx::u8), nx::u8);
  EXPECT_EQ(nx::merge(nx::pred, nx::pred), nx::pred);
  for (int i = 0; i < nx::kNumDTypes; ++i) {
    for (int j = 0; j < nx::kNumDTypes; ++j) {
      auto a = static_cast<DType>(i), b = static_cast<DType>(j);
      EXPECT_EQ(nx::merge(a, b), nx::merge(b, a)) << nx::dtype_name(a) << " " << nx::dtype_name(b);
    }
  }
}

TEST(DType, ToFloating) {
  EXPECT_EQ(nx::to_floating(nx::s64), nx::f32);
  EXPECT_EQ(nx::to_floating(nx::pred), nx::f32);
  EXPECT_EQ(nx::to_floating(nx::bf16), nx::bf16);
  EXPECT_EQ(nx::to_floating(nx::f64), nx::f64);
}

}  // namespace
