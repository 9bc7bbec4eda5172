// The transposing case of the copy engine: the source is contiguous along a loop other than the
// destination's innermost one (transposes, and copies whose loops have been permuted).
//
// The (source-contiguous, destination-contiguous) plane is cut into square tiles, one task each,
// for every index of the remaining (batch) loops. A tile is first copied row by row into a small
// contiguous buffer and then written out a destination row at a time, so each cache line is
// read whole and written whole even when the strides are powers of two (where direct tiling
// keeps evicting its own lines: every row of the tile maps to the same cache set). Full tiles
// are transposed in registers by 8x8 (4x4 for 8-byte elements) SIMD kernels where the compiler
// targets AVX2 / SSE2, and by plain loops otherwise; edge tiles use plain loops.
#include <algorithm>
#include <cstring>

#include "movement_copy.hpp"
#include "parallel.hpp"

#if defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace nx::cpu {

namespace {

// Tile edge in elements: 64 (32 for 8-byte elements), so a buffered tile is at most 16 KiB.
template <class T>
constexpr int kTile = sizeof(T) == 8 ? 32 : 64;

// d[r * ds + c] = s[c * ss + r] for an 8x8 (or 4x4) block. Returns false when no SIMD kernel
// exists for T on this target.
template <class T>
inline bool block_simd(const T* s, int64_t ss, T* d, int64_t ds) {
#if defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    const float* f = reinterpret_cast<const float*>(s);
    float* o = reinterpret_cast<float*>(d);
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(f + i * ss);
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
      u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
      u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
      u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
      _mm256_storeu_ps(o + i * ds, _mm256_permute2f128_ps(u[i], u[i + 4], 0x20));
      _mm256_storeu_ps(o + (i + 4) * ds, _mm256_permute2f128_ps(u[i], u[i + 4], 0x31));
    }
    return true;
  }
  if constexpr (sizeof(T) == 8) {
    const double* f = reinterpret_cast<const double*>(s);
    double* o = reinterpret_cast<double*>(d);
    __m256d r0 = _mm256_loadu_pd(f), r1 = _mm256_loadu_pd(f + ss);
    __m256d r2 = _mm256_loadu_pd(f + 2 * ss), r3 = _mm256_loadu_pd(f + 3 * ss);
    __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(o, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(o + ds, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(o + 2 * ds, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(o + 3 * ds, _mm256_permute2f128_pd(t1, t3, 0x31));
    return true;
  }
#endif
#if defined(__SSE2__)
  if constexpr (sizeof(T) == 2) {
    __m128i r[8], a[8], b[8];
    for (int i = 0; i < 8; ++i)
      r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i * ss));
    for (int i = 0; i < 4; ++i) {
      a[2 * i] = _mm_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
      a[2 * i + 1] = _mm_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; ++i) {
      b[4 * i + 0] = _mm_unpacklo_epi32(a[4 * i], a[4 * i + 2]);
      b[4 * i + 1] = _mm_unpackhi_epi32(a[4 * i], a[4 * i + 2]);
      b[4 * i + 2] = _mm_unpacklo_epi32(a[4 * i + 1], a[4 * i + 3]);
      b[4 * i + 3] = _mm_unpackhi_epi32(a[4 * i + 1], a[4 * i + 3]);
    }
    for (int i = 0; i < 4; ++i) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * i) * ds),
                       _mm_unpacklo_epi64(b[i], b[i + 4]));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(d + (2 * i + 1) * ds),
                       _mm_unpackhi_epi64(b[i], b[i + 4]));
    }
    return true;
  }
#endif
  (void)s, (void)ss, (void)d, (void)ds;
  return false;
}

template <class T>
constexpr int kBlock = sizeof(T) == 8 ? 4 : 8;

// One full tile: src rows (stride ss) of kTile contiguous elements become dst rows (stride ds).
template <class T>
void full_tile(const T* src, int64_t ss, T* dst, int64_t ds) {
  constexpr int n = kTile<T>, b = kBlock<T>;
  alignas(64) T buf[n * n];
  for (int c = 0; c < n; ++c) std::memcpy(buf + c * n, src + c * ss, n * sizeof(T));
  for (int r = 0; r < n; r += b) {
    for (int c = 0; c < n; c += b) {
      if (!block_simd<T>(buf + c * n + r, n, dst + r * ds + c, ds)) {
        for (int i = 0; i < b; ++i)
          for (int j = 0; j < b; ++j) dst[(r + i) * ds + c + j] = buf[(c + j) * n + r + i];
      }
    }
  }
}

template <class T>
void transpose_typed(const CopyPlan& plan, const T* src, T* dst) {
  const CopyDim rows = plan.dims[plan.k], cols = plan.dims[plan.nd - 1];  // src / dst stride 1
  const std::span<const CopyDim> batch = plan.outer_loops();
  int64_t nbatch = 1;
  for (const CopyDim& d : batch) nbatch *= d.size;
  constexpr int64_t tile = kTile<T>;
  const int64_t tr = (rows.size + tile - 1) / tile, tc = (cols.size + tile - 1) / tile;
  const int64_t ss = cols.src_stride, ds = rows.dst_stride;
  parallel_for(nbatch * tr * tc, std::max<int64_t>(1, kParallelGrain / (tile * tile)),
               [&](int64_t b, int64_t e) {
                 for (int64_t t = b; t < e; ++t) {
                   const int64_t bi = t / (tr * tc), r0 = (t / tc) % tr * tile, c0 = t % tc * tile;
                   const auto [so, dof] = offsets_at(batch, bi);
                   const T* s = src + so + c0 * ss + r0;
                   T* d = dst + dof + r0 * ds + c0;
                   const int64_t nr = std::min(tile, rows.size - r0),
                                 nc = std::min(tile, cols.size - c0);
                   if (nr == tile && nc == tile) {
                     full_tile<T>(s, ss, d, ds);
                   } else {
                     for (int64_t r = 0; r < nr; ++r)
                       for (int64_t c = 0; c < nc; ++c) d[r * ds + c] = s[c * ss + r];
                   }
                 }
               });
}

}  // namespace

void transposed_copy(const CopyPlan& plan, const void* src, void* dst) {
  switch (plan.elem_bytes) {
    case 1:
      return transpose_typed(plan, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case 2:
      return transpose_typed(plan, static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst));
    case 4:
      return transpose_typed(plan, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst));
    default:
      return transpose_typed(plan, static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst));
  }
}

}  // namespace nx::cpu
