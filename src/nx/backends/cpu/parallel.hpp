// parallel_for over an index range, on OpenMP's thread pool (shared with oneDNN, so the two
// never compete for the cores).
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace nx::cpu {

/// Below this many elements of simple work, a kernel runs on the calling thread.
inline constexpr int64_t kParallelGrain = 32768;

/// Calls f(begin, end) on disjoint chunks covering [0, n). Chunks are at least `grain` long;
/// with fewer than 2*grain items everything runs on the calling thread.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
#ifdef _OPENMP
  int threads = omp_get_max_threads();
  if (n >= 2 * grain && threads > 1 && !omp_in_parallel()) {
    int64_t chunks = std::min<int64_t>(threads, n / grain);
#pragma omp parallel for num_threads(static_cast <int>(chunks)) schedule(static, 1)
    for (int64_t c = 0; c < chunks; ++c) {
      int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
      f(b, e);
    }
    return;
  }
#endif
  (void)grain;
  f(int64_t{0}, n);
}

}  // namespace nx::cpu
