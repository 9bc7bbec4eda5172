// Our own batched matrix product: the path for f64, the integers and products too small to be
// worth a oneDNN call.
//
// The classic Goto/BLIS structure: the product is cut into tiles of kMc rows by kNc columns
// (the parallel tasks), each tile walks k in blocks of kKc; per block A and B are copied into
// panels laid out for a register-blocked micro-kernel of kMr x kNr accumulators, converting to
// the accumulation type on the way. The micro-kernel uses GCC/clang vector types with
// compile-time bounds, so its accumulators live in vector registers on any target (about
// 90 GFLOP/s per core in f64 on AVX-512).
//
// Integers are computed in unsigned arithmetic (signed operands reinterpreted): two's
// complement products and sums modulo 2^bits are the same bits either way, and unsigned
// overflow is defined. 8- and 16-bit types accumulate in 32 bits and truncate at the end, which
// gives the same result as wrapping at every step.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "../../core/visit_dtype.hpp"
#include "contract_gemm.hpp"
#include "dnnl_common.hpp"
#include "nx/half.hpp"
#include "parallel.hpp"

namespace nx::cpu {

namespace {

// Accumulator of a product of T: compute_t<T>, widened to 32 bits for 8- and 16-bit integers
// (those wrap identically in the wider unsigned type and vectorize better).
template <class T>
using AccOf =
    std::conditional_t<std::is_integral_v<T> && (sizeof(T) < 4), uint32_t, detail::compute_t<T>>;

constexpr int64_t kKc = 256;
constexpr int64_t kMc = 96;
constexpr int64_t kNc = 384;

// Two 64-byte vectors of accumulators per row, six rows: twelve vector registers.
template <class Acc>
constexpr int kNr = static_cast<int>(128 / sizeof(Acc));
constexpr int kMr = 6;

// Products below this many multiply-adds run on the calling thread.
constexpr double kParallelMacs = 1 << 17;

int64_t max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// One 64-byte vector (GCC/clang vector extension): spelled out because the auto-vectorizer
// picks the wrong loop for 8-byte types.
template <class Acc>
using Vec [[gnu::vector_size(64)]] = Acc;
template <class Acc>
constexpr int kLanes = static_cast<int>(64 / sizeof(Acc));

template <class Acc>
void micro_kernel(int64_t kc, const Acc* __restrict ap, const Acc* __restrict bp,
                  Acc* __restrict out) {
  constexpr int nr = kNr<Acc>;
  constexpr int nv = nr / kLanes<Acc>;
  using V = Vec<Acc>;
  V acc[kMr][nv] = {};
  for (int64_t p = 0; p < kc; ++p) {
    V b[nv];
    std::memcpy(b, bp + p * nr, sizeof(b));
    const Acc* av = ap + p * kMr;
    for (int i = 0; i < kMr; ++i) {
      V x = V{} + av[i];
      for (int j = 0; j < nv; ++j) acc[i][j] += x * b[j];
    }
  }
  std::memcpy(out, acc, sizeof(acc));
}

// Panels of kMr rows: ap[panel][p][i] = A[row0 + panel*kMr + i][col0 + p], zero past the rows.
template <class T, class Acc>
void pack_a(const T* a, int64_t sm, int64_t sk, int64_t rows, int64_t kc, Acc* ap) {
  for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
    int64_t mr = std::min<int64_t>(kMr, rows - r0);
    for (int64_t p = 0; p < kc; ++p) {
      Acc* dst = ap + p * kMr;
      const T* src = a + r0 * sm + p * sk;
      for (int64_t i = 0; i < mr; ++i) dst[i] = static_cast<Acc>(src[i * sm]);
      for (int64_t i = mr; i < kMr; ++i) dst[i] = Acc{};
    }
    ap += kc * kMr;
  }
}

// Panels of kNr columns: bp[panel][p][j] = B[row0 + p][col0 + panel*kNr + j], zero past cols.
template <class T, class Acc>
void pack_b(const T* b, int64_t sk, int64_t sn, int64_t kc, int64_t cols, Acc* bp) {
  constexpr int nr = kNr<Acc>;
  for (int64_t c0 = 0; c0 < cols; c0 += nr) {
    int64_t w = std::min<int64_t>(nr, cols - c0);
    for (int64_t p = 0; p < kc; ++p) {
      Acc* dst = bp + p * nr;
      const T* src = b + p * sk + c0 * sn;
      if (sn == 1) {
        for (int64_t j = 0; j < w; ++j) dst[j] = static_cast<Acc>(src[j]);
      } else {
        for (int64_t j = 0; j < w; ++j) dst[j] = static_cast<Acc>(src[j * sn]);
      }
      for (int64_t j = w; j < nr; ++j) dst[j] = Acc{};
    }
    bp += kc * nr;
  }
}

// One tile: rows [i0, i0+mc) and columns [j0, j0+nc) of batch entry `bi`, all of k.
template <class T, class Acc>
void gemm_tile(const GemmView& g, const T* a, const T* b, Acc* c, int64_t c_sb, int64_t c_sm,
               int64_t bi, int64_t i0, int64_t mc, int64_t j0, int64_t nc, Acc* ap, Acc* bp) {
  constexpr int nr = kNr<Acc>;
  const T* ab = a + bi * g.a_sb + i0 * g.a_sm;
  const T* bb = b + bi * g.b_sb + j0 * g.b_sn;
  int64_t ldc = c_sm;
  Acc* cb = c + bi * c_sb + i0 * ldc + j0;
  alignas(64) Acc out[kMr * nr];
  for (int64_t p0 = 0; p0 < g.k; p0 += kKc) {
    int64_t kc = std::min(kKc, g.k - p0);
    pack_b(bb + p0 * g.b_sk, g.b_sk, g.b_sn, kc, nc, bp);
    pack_a(ab + p0 * g.a_sk, g.a_sm, g.a_sk, mc, kc, ap);
    bool first = p0 == 0;
    for (int64_t jr = 0; jr < nc; jr += nr) {
      int64_t w = std::min<int64_t>(nr, nc - jr);
      for (int64_t ir = 0; ir < mc; ir += kMr) {
        int64_t h = std::min<int64_t>(kMr, mc - ir);
        micro_kernel<Acc>(kc, ap + ir * kc, bp + jr * kc, out);
        for (int64_t i = 0; i < h; ++i) {
          Acc* crow = cb + (ir + i) * ldc + jr;
          const Acc* orow = out + i * nr;
          if (first) {
            for (int64_t j = 0; j < w; ++j) crow[j] = orow[j];
          } else {
            for (int64_t j = 0; j < w; ++j) crow[j] += orow[j];
          }
        }
      }
    }
  }
}

template <class T>
void own_gemm_typed(const GemmView& g, const T* a, const T* b, T* c) {
  using Acc = AccOf<T>;
  int64_t count = g.batch * g.m * g.n;
  if (count == 0) return;
  if (g.k == 0) {
    for (int64_t bi = 0; bi < g.batch; ++bi)
      for (int64_t i = 0; i < g.m; ++i) std::fill_n(c + bi * g.c_sb + i * g.c_sm, g.n, T{});
    return;
  }
  // Types narrower than their accumulator sum into a contiguous Acc copy of C, narrowed once
  // at the end (f16/bf16 must not round between k blocks).
  dnnl_util::Scratch scratch;
  Acc* cacc = nullptr;
  int64_t c_sb = g.c_sb, c_sm = g.c_sm;
  if constexpr (std::is_same_v<T, Acc>) {
    cacc = c;
  } else {
    cacc = scratch.take<Acc>(count);
    c_sb = g.m * g.n;
    c_sm = g.n;
  }
  bool parallel = g.macs() >= kParallelMacs;
  int64_t mblocks = (g.m + kMc - 1) / kMc;
  // Narrower column tiles when the full-width ones would leave a core idle.
  int64_t nc = kNc;
  if (parallel) {
    int64_t want = 2 * max_threads();
    int64_t per_row = (want + g.batch * mblocks - 1) / (g.batch * mblocks);
    int64_t cols = (g.n + per_row - 1) / per_row;
    nc = std::clamp<int64_t>((cols + kNr<Acc> - 1) / kNr<Acc> * kNr<Acc>, kNr<Acc>, kNc);
  }
  int64_t nblocks = (g.n + nc - 1) / nc;
  int64_t tasks = g.batch * mblocks * nblocks;
  auto run = [&](int64_t begin, int64_t end) {
    dnnl_util::Scratch local;
    int64_t kc = std::min(kKc, g.k);
    Acc* ap = local.take<Acc>(kc * (kMc + kMr));
    Acc* bp = local.take<Acc>(kc * (kNc + kNr<Acc>));
    for (int64_t t = begin; t < end; ++t) {
      int64_t bi = t / (mblocks * nblocks);
      int64_t rest = t % (mblocks * nblocks);
      int64_t i0 = rest / nblocks * kMc, j0 = rest % nblocks * nc;
      gemm_tile<T, Acc>(g, a, b, cacc, c_sb, c_sm, bi, i0, std::min(kMc, g.m - i0), j0,
                        std::min(nc, g.n - j0), ap, bp);
    }
  };
  if (parallel) {
    parallel_for(tasks, 1, run);
  } else {
    run(0, tasks);
  }
  if constexpr (!std::is_same_v<T, Acc>) {
    for (int64_t bi = 0; bi < g.batch; ++bi) {
      for (int64_t i = 0; i < g.m; ++i) {
        const Acc* src = cacc + (bi * g.m + i) * g.n;
        T* dst = c + bi * g.c_sb + i * g.c_sm;
        for (int64_t j = 0; j < g.n; ++j) dst[j] = static_cast<T>(src[j]);
      }
    }
  }
}

}  // namespace

void own_gemm(DType dtype, const GemmView& g, const void* a, const void* b, void* c) {
  auto run = [&](auto tag) {
    using T = typename decltype(tag)::type;
    own_gemm_typed<T>(g, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c));
  };
  // Signed integers run as their unsigned twins: wrapping products and sums have the same bits.
  // Pred never reaches here (dot_general's rule rejects it).
  detail::visit_wrapping_dtype(dtype, run);
}

}  // namespace nx::cpu
