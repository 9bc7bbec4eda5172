// What planned kernels ("prepare once, run many", prepared.hpp) share: the layout of the scratch
// region a run gets from its caller, and a parallel loop whose chunks know their index.
//
// A planned kernel computes at plan time how much scratch one run needs, including state each
// parallel chunk keeps for itself (accumulator tiles, sort buffers, registers). Compiled code
// places that scratch in its arena; eager code takes it from the calling thread's
// dnnl_util::Scratch. So a run allocates nothing, whoever calls it.
//
// Per-chunk state is sized for chunk_count() chunks, which is fixed at plan time from the work
// size, its grain and the thread count then; parallel_chunks never makes more chunks than that.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nx::cpu {

/// Scratch regions are carved at multiples of this.
inline constexpr size_t kScratchAlign = 64;
inline size_t scratch_round(size_t n) {
  return (n + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
}

/// The parts of one scratch region, laid out at plan time: add() returns a part's offset.
class ScratchLayout {
 public:
  size_t add(size_t bytes) {
    const size_t at = bytes_;
    bytes_ += scratch_round(bytes);
    return at;
  }
  size_t bytes() const { return bytes_; }

 private:
  size_t bytes_ = 0;
};

/// Collapsed loops (strided_index.hpp, reduce_plan.hpp, broadcast walks) have sizes of at least
/// 2, so an element count that fits int64_t has fewer than 64 of them: an odometer over them
/// fits in a fixed array on the stack.
inline constexpr size_t kMaxLoops = 64;

/// Threads a parallel loop may use (1 without OpenMP).
inline int64_t max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

/// The chunks parallel_chunks(n, grain, ...) makes with the current thread count: 1 below
/// 2 * grain items, else min(threads, n / grain).
inline int64_t chunk_count(int64_t n, int64_t grain) {
  const int64_t threads = max_threads();
  if (n < 2 * grain || threads <= 1) return 1;
  return std::max<int64_t>(1, std::min(threads, n / grain));
}

/// parallel_for (parallel.hpp) that passes each chunk its index: f(chunk, begin, end) on
/// disjoint chunks covering [0, n), chunk < max_chunks. The chunks are parallel_for's, capped at
/// `max_chunks` (the count a plan sized its per-chunk scratch for).
template <class F>
void parallel_chunks(int64_t n, int64_t grain, int64_t max_chunks, F&& f) {
  if (n <= 0) return;
#ifdef _OPENMP
  if (!omp_in_parallel()) {
    const int64_t chunks = std::min(chunk_count(n, grain), std::max<int64_t>(1, max_chunks));
    if (chunks > 1) {
#pragma omp parallel for num_threads(static_cast <int>(chunks)) schedule(static, 1)
      for (int64_t c = 0; c < chunks; ++c) f(c, n * c / chunks, n * (c + 1) / chunks);
      return;
    }
  }
#endif
  (void)grain, (void)max_chunks;
  f(int64_t{0}, int64_t{0}, n);
}

}  // namespace nx::cpu
