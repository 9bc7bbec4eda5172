#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "nx/core/allocator.hpp"

namespace {

using nx::detail::allocate;
using nx::detail::cached_bytes;
using nx::detail::deallocate;
using nx::detail::release_cached_memory;

TEST(Allocator, SmallBlocksAreAlignedAndUsable) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{63}, size_t{4096}, size_t{100000}}) {
    void* p = allocate(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    std::memset(p, 1, n);
    deallocate(p, n);
  }
}

TEST(Allocator, LargeBlocksAreReused) {
  release_cached_memory();
  size_t n = size_t{3} << 20;
  void* a = allocate(n);
  std::memset(a, 7, n);
  deallocate(a, n);
  EXPECT_GE(cached_bytes(), n);
  void* b = allocate(n);  // same rounded size: the cached block comes back
  EXPECT_EQ(a, b);
  EXPECT_EQ(cached_bytes(), 0u);
  deallocate(b, n);
  release_cached_memory();
  EXPECT_EQ(cached_bytes(), 0u);
}

TEST(Allocator, MediumBlocksAreReusedWithinTheirSizeClass) {
  release_cached_memory();
  const size_t n = 784 * 128 * 4;  // a dense layer's weight gradient
  void* a = allocate(n);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  std::memset(a, 7, n);
  deallocate(a, n);
  EXPECT_GE(cached_bytes(), n);
  void* b = allocate(n - 1000);  // rounds to the same 64 KiB class
  EXPECT_EQ(a, b);
  EXPECT_EQ(cached_bytes(), 0u);
  void* c = allocate(n + (size_t{64} << 10));  // the next class: a fresh block
  EXPECT_NE(c, b);
  std::memset(c, 1, n + (size_t{64} << 10));
  deallocate(b, n - 1000);
  deallocate(c, n + (size_t{64} << 10));
  release_cached_memory();
  EXPECT_EQ(cached_bytes(), 0u);
}

}  // namespace
