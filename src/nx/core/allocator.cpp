#include "allocator.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace nx::detail {

namespace {

// Blocks at or above this size are cached; below it malloc's own free lists do the job. Blocks
// of a few hundred KiB must be cached too: an eager step that frees several of them leaves
// more than malloc's trim threshold free at the top of its heap, which it gives back to the
// OS, and the next step's blocks then fault in every page again.
constexpr size_t kCacheThreshold = size_t{64} << 10;
// Cached blocks below kLargeAlign are rounded to this granularity.
constexpr size_t kMediumAlign = size_t{64} << 10;
// Larger cached blocks are rounded to (and aligned to) this granularity, for huge pages.
constexpr size_t kLargeAlign = size_t{2} << 20;
// The cache never holds more than this many idle bytes; beyond it blocks go back to the OS.
constexpr size_t kCacheLimit = size_t{1} << 30;

size_t round_up(size_t n, size_t a) {
  return (n + a - 1) / a * a;
}

// The size class of a cached block: what is allocated for it, and its alignment.
size_t cached_size(size_t bytes) {
  return bytes < kLargeAlign ? round_up(bytes, kMediumAlign) : round_up(bytes, kLargeAlign);
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: buffers may outlive static destruction
  return *c;
}

}  // namespace

void* allocate(size_t bytes) {
  if (bytes < kCacheThreshold) {
    void* p = std::aligned_alloc(64, round_up(bytes == 0 ? 1 : bytes, 64));
    if (!p) throw std::bad_alloc();
    return p;
  }
  size_t size = cached_size(bytes);
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.bytes -= size;
      return p;
    }
  }
  if (size < kLargeAlign) {
    void* p = std::aligned_alloc(64, size);
    if (!p) throw std::bad_alloc();
    return p;
  }
  void* p = std::aligned_alloc(kLargeAlign, size);
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);  // a hint only; fewer page faults where THP is enabled
#endif
  return p;
}

void deallocate(void* p, size_t bytes) {
  if (!p) return;
  if (bytes < kCacheThreshold) {
    std::free(p);
    return;
  }
  size_t size = cached_size(bytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.bytes + size <= kCacheLimit) {
      c.free_blocks[size].push_back(p);
      c.bytes += size;
      return;
    }
  }
  std::free(p);
}

void release_cached_memory() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, blocks] : c.free_blocks) {
    for (void* p : blocks) std::free(p);
  }
  c.free_blocks.clear();
  c.bytes = 0;
}

size_t cached_bytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.bytes;
}

}  // namespace nx::detail
