// The memcpy reference. Both buffers are allocated and written once at setup, so that the timed
// copies measure the memory system and not page faults: this is the machine's limit that the
// issues compare elementwise kernels against.
#include "copy_reference.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

namespace nx_bench {
namespace {

struct AlignedFree {
  void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{64}); }
};
using Buffer = std::unique_ptr<std::byte[], AlignedFree>;

Buffer allocate(size_t bytes) {
  auto* p =
      static_cast<std::byte*>(::operator new[](std::max<size_t>(bytes, 1), std::align_val_t{64}));
  return Buffer(p);
}

}  // namespace

Reference copy_reference(size_t bytes) {
  std::string system = "memcpy of " + std::to_string(bytes >> 20) + " MiB (" +
                       std::to_string(omp_get_max_threads()) + " threads; 2x bytes counted)";
  Setup setup = [bytes]() -> RunOnce {
    auto src = std::make_shared<Buffer>(allocate(bytes));
    auto dst = std::make_shared<Buffer>(allocate(bytes));
    std::memset(src->get(), 0x3c, bytes);
    std::memset(dst->get(), 0, bytes);
    return [src, dst, bytes] {
      const std::byte* from = src->get();
      std::byte* to = dst->get();
#pragma omp parallel
      {
        // Contiguous shares on 64-byte boundaries, one per thread, as a static schedule would.
        const size_t threads = static_cast<size_t>(omp_get_num_threads());
        const size_t t = static_cast<size_t>(omp_get_thread_num());
        const size_t lines = (bytes + 63) / 64;
        const size_t begin = std::min(bytes, lines * t / threads * 64);
        const size_t end = std::min(bytes, lines * (t + 1) / threads * 64);
        if (end > begin) std::memcpy(to + begin, from + begin, end - begin);
      }
    };
  };
  return Reference{"memcpy", std::move(system), std::move(setup)};
}

}  // namespace nx_bench
