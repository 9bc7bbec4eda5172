// qr: Householder QR of each matrix [m, n] in a batch [..., m, n].
//
// - Reduced mode returns Q [..., m, k] and R [..., k, n] with k = min(m, n); complete mode
//   returns Q [..., m, m] and R [..., m, n].
// - Sign convention: R's diagonal is non-negative (each reflector's sign is folded back into
//   the matching row of R and column of Q), so the factorization of a full-rank matrix is the
//   unique one. LAPACK (and numpy) leave the signs the reflectors produce instead; the two agree
//   up to the sign of each row of R / column of Q. In complete mode the extra columns of Q
//   (beyond k) are an orthonormal basis of the complement with no sign fixed.
// - Rank-deficient input is fine: a column with nothing left below the diagonal gets no
//   reflector, so R has (near-)zero diagonal entries there and Q stays orthonormal.
// - Entries below R's diagonal are exactly zero. NaN or infinite input gives NaN/inf output
//   (no error). f64 computes in double; f32, f16 and bf16 compute in float (as LAPACK's sgeqrf).
//
// Blocked as LAPACK's geqrf/orgqr: reflectors are computed on panels of 32 columns, then
// applied to the rest of the matrix at once as the block reflector I - V T V^T, so the trailing
// matrix is read once per panel rather than once per column. The updates run row by row over
// contiguous columns (they vectorize); a single large matrix splits its columns over the
// threads, a batch splits its matrices. Each parallel chunk factors in its part of the call's
// scratch, planned with the kernel (QrPlan), so a compiled qr allocates nothing.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <span>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "dnnl_common.hpp"
#include "parallel.hpp"
#include "prepared.hpp"

namespace nx::cpu {

namespace {

/// ||x|| over n elements `stride` apart, scaled so that it neither overflows nor underflows
/// (LAPACK's nrm2). NaN in x gives NaN.
template <class C>
C scaled_norm(const C* x, int64_t n, int64_t stride) {
  C scale = 0, ssq = 1;
  for (int64_t i = 0; i < n; ++i) {
    C v = x[i * stride];
    if (v == 0) continue;
    C a = std::abs(v);
    if (scale < a) {
      ssq = 1 + ssq * (scale / a) * (scale / a);
      scale = a;
    } else {
      ssq += (a / scale) * (a / scale);
    }
  }
  return scale * std::sqrt(ssq);
}

/// Applies H = I - tau v v^T (v over rows [j, m), v[j] = 1) to columns [c0, c1) of the
/// row-major matrix `a` (leading dimension ld); used inside a panel. `w` holds >= c1 entries.
template <class C>
void apply_reflector(C* a, int64_t ld, int64_t j, int64_t m, const C* v, C tau, int64_t c0,
                     int64_t c1, C* w) {
  if (tau == 0 || c1 <= c0) return;
  for (int64_t c = c0; c < c1; ++c) w[c] = 0;
  for (int64_t i = j; i < m; ++i) {
    const C vi = v[i];
    const C* row = a + i * ld;
    for (int64_t c = c0; c < c1; ++c) w[c] += vi * row[c];
  }
  for (int64_t i = j; i < m; ++i) {
    const C f = tau * v[i];
    C* row = a + i * ld;
    for (int64_t c = c0; c < c1; ++c) row[c] -= f * w[c];
  }
}

/// Reflectors per block: the trailing matrix is read once per block instead of once per
/// reflector (LAPACK's blocked geqrf with the compact WY form H_0 ... H_{nb-1} = I - V T V^T).
constexpr int64_t kBlock = 32;
/// Columns of the trailing matrix handled together, so that W (kBlock x kColumns) stays in L1.
constexpr int64_t kColumns = 128;

/// One block of reflectors: V holds rows [row0, row0 + rows) x jb (row-major, zero above each
/// reflector's leading 1), T the jb x jb upper triangular factor; both live in the scratch.
template <class C>
struct Block {
  int64_t row0 = 0, jb = 0, rows = 0;
  C* v = nullptr;
  C* t = nullptr;
};

/// T of the compact WY form from V and the taus (LAPACK's larft, forward, columnwise).
template <class C>
void form_t(Block<C>& b, const C* tau) {
  const int64_t jb = b.jb, rows = b.rows;
  std::fill_n(b.t, jb * jb, C(0));
  C z[kBlock];
  for (int64_t i = 0; i < jb; ++i) {
    // z = V[:, 0:i]^T v_i, over the rows where v_i is non-zero.
    std::fill_n(z, jb, C(0));
    for (int64_t r = i; r < rows; ++r) {
      const C* vr = b.v + r * jb;
      for (int64_t q = 0; q < i; ++q) z[q] += vr[q] * vr[i];
    }
    // T[0:i, i] = -tau_i T[0:i, 0:i] z.
    for (int64_t q = 0; q < i; ++q) {
      C acc = 0;
      for (int64_t l = q; l < i; ++l) acc += b.t[q * jb + l] * z[l];
      b.t[q * jb + i] = -tau[i] * acc;
    }
    b.t[i * jb + i] = tau[i];
  }
}

/// a[row0.., c0..c1) -= V op(T) V^T a[row0.., c0..c1), with op(T) = T^T when `transpose`
/// (applying H_{jb-1} ... H_0, the R update) or T (applying H_0 ... H_{jb-1}, building Q).
template <class C>
void apply_block(const Block<C>& b, C* a, int64_t ld, int64_t m, int64_t c0, int64_t c1,
                 bool transpose, bool parallel) {
  const int64_t jb = b.jb, rows = m - b.row0;
  if (jb == 0 || c1 <= c0 || rows <= 0) return;
  auto update = [&](int64_t cb, int64_t ce) {
    C w[kBlock * kColumns];
    for (int64_t s = cb; s < ce; s += kColumns) {
      const int64_t e = std::min(ce, s + kColumns), nc = e - s;
      std::fill(w, w + jb * nc, C(0));
      for (int64_t r = 0; r < rows; ++r) {  // W = V^T A
        const C* vr = b.v + r * jb;
        const C* ar = a + (b.row0 + r) * ld + s;
        for (int64_t q = 0; q < std::min(jb, r + 1); ++q) {
          const C f = vr[q];
          C* wq = w + q * nc;
          for (int64_t c = 0; c < nc; ++c) wq[c] += f * ar[c];
        }
      }
      // W = op(T) W in place: T^T W from the bottom row up, T W from the top down.
      for (int64_t step = 0; step < jb; ++step) {
        const int64_t p = transpose ? jb - 1 - step : step;
        C* wp = w + p * nc;
        const C tpp = b.t[p * jb + p];
        for (int64_t c = 0; c < nc; ++c) wp[c] *= tpp;
        const int64_t q0 = transpose ? 0 : p + 1, q1 = transpose ? p : jb;
        for (int64_t q = q0; q < q1; ++q) {
          const C f = transpose ? b.t[q * jb + p] : b.t[p * jb + q];
          const C* wq = w + q * nc;
          for (int64_t c = 0; c < nc; ++c) wp[c] += f * wq[c];
        }
      }
      for (int64_t r = 0; r < rows; ++r) {  // A -= V W
        const C* vr = b.v + r * jb;
        C* ar = a + (b.row0 + r) * ld + s;
        for (int64_t q = 0; q < std::min(jb, r + 1); ++q) {
          const C f = vr[q];
          const C* wq = w + q * nc;
          for (int64_t c = 0; c < nc; ++c) ar[c] -= f * wq[c];
        }
      }
    }
  };
  if (parallel) {
    parallel_for(c1 - c0, std::max<int64_t>(kColumns / 2, kParallelGrain / (rows * jb)),
                 [&](int64_t s, int64_t e) { update(c0 + s, c0 + e); });
  } else {
    update(c0, c1);
  }
}

/// A QR kernel planned for its operand type: the matrix sizes, how the batch splits, and the
/// scratch of one factorization (per parallel chunk, reused across the matrices it handles).
struct QrPlan {
  bool complete = false;
  int64_t m = 0, n = 0, k = 0, qcols = 0, rrows = 0, batch = 0;
  bool split_batch = false;
  int64_t grain = 1, chunks = 1;
  size_t r = 0, q = 0, v = 0, tau = 0, w = 0, blocks = 0, vt = 0;  ///< offsets in a chunk's part
  size_t chunk_bytes = 0, scratch_bytes = 0;
};

QrPlan plan_qr(bool complete, const TensorType& x) {
  QrPlan p;
  p.complete = complete;
  const Shape& s = x.shape;
  p.m = s[s.size() - 2];
  p.n = s[s.size() - 1];
  p.batch = num_elements(Shape(s.begin(), s.end() - 2));
  p.k = std::min(p.m, p.n);
  p.qcols = complete ? p.m : p.k;
  p.rrows = complete ? p.m : p.k;
  if (p.batch == 0) return p;
  // Work per matrix ~ m * n * min(m, n): split the batch when it has enough matrices,
  // otherwise split each matrix's column updates.
  const int64_t flops = std::max<int64_t>(1, p.m * p.n * std::max<int64_t>(p.k, 1));
  p.split_batch = p.batch > 1;
  p.grain = p.split_batch ? std::max<int64_t>(1, kParallelGrain / flops) : p.batch + 1;
  p.chunks = chunk_count(p.batch, p.grain);
  const size_t c = x.dtype == DType::F64 ? sizeof(double) : sizeof(float);
  const int64_t nblocks = (p.k + kBlock - 1) / kBlock;
  int64_t vt = 0;  // V and T of every block
  for (int64_t j0 = 0; j0 < p.k; j0 += kBlock) {
    const int64_t jb = std::min(kBlock, p.k - j0);
    vt += (p.m - j0) * jb + jb * jb;
  }
  ScratchLayout chunk;
  p.r = chunk.add(static_cast<size_t>(p.m * p.n) * c);
  p.q = chunk.add(static_cast<size_t>(p.m * p.qcols) * c);
  p.v = chunk.add(static_cast<size_t>(p.m) * c);
  p.tau = chunk.add(static_cast<size_t>(p.k) * c);
  p.w = chunk.add(static_cast<size_t>(std::max(p.n, p.m)) * c);
  p.blocks = chunk.add(static_cast<size_t>(nblocks) * sizeof(Block<double>));
  p.vt = chunk.add(static_cast<size_t>(vt) * c);
  p.chunk_bytes = chunk.bytes();
  p.scratch_bytes = p.chunk_bytes * static_cast<size_t>(p.chunks);
  return p;
}

/// Factors one m x n matrix `x` into q (m x qcols) and r (rrows x n), working in `work` (one
/// chunk's part of the scratch).
template <class T, class C>
void qr_matrix(const QrPlan& p, const T* x, T* q_out, T* r_out, std::byte* work, bool parallel) {
  const int64_t m = p.m, n = p.n, k = p.k, qcols = p.qcols, rrows = p.rrows;
  C* r = reinterpret_cast<C*>(work + p.r);
  C* v = reinterpret_cast<C*>(work + p.v);
  C* tau = reinterpret_cast<C*>(work + p.tau);
  C* w = reinterpret_cast<C*>(work + p.w);
  auto* blocks = reinterpret_cast<Block<C>*>(work + p.blocks);
  C* vt = reinterpret_cast<C*>(work + p.vt);
  for (int64_t i = 0; i < m * n; ++i) r[i] = static_cast<C>(x[i]);
  std::fill_n(v, m, C(0));
  std::fill_n(tau, k, C(0));
  std::fill_n(w, std::max(n, m), C(0));
  int64_t nblocks = 0;

  for (int64_t j0 = 0; j0 < k; j0 += kBlock) {
    Block<C>& blk = *std::construct_at(blocks + nblocks++);
    blk.row0 = j0;
    blk.jb = std::min(kBlock, k - j0);
    blk.rows = m - j0;
    blk.v = vt;
    blk.t = vt + blk.rows * blk.jb;
    vt = blk.t + blk.jb * blk.jb;
    std::fill_n(blk.v, blk.rows * blk.jb, C(0));
    // Panel: reflectors of columns [j0, j0 + jb), applied within the panel only.
    for (int64_t j = j0; j < j0 + blk.jb; ++j) {
      // Reflector that zeroes r[j+1.., j] (LAPACK's larfg): beta = -sign(alpha) * ||x||.
      C alpha = r[j * n + j];
      C xnorm = scaled_norm(r + (j + 1) * n + j, m - j - 1, n);
      if (xnorm == 0) continue;  // nothing below the diagonal: no reflector (tau = 0, v = 0)
      C beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
      C t = (beta - alpha) / beta;
      C scale = C(1) / (alpha - beta);
      v[j] = 1;
      for (int64_t i = j + 1; i < m; ++i) {
        v[i] = r[i * n + j] * scale;
        r[i * n + j] = 0;
      }
      r[j * n + j] = beta;
      tau[j] = t;
      apply_reflector(r, n, j, m, v, t, j + 1, j0 + blk.jb, w);
      for (int64_t i = j; i < m; ++i) blk.v[(i - j0) * blk.jb + (j - j0)] = v[i];
    }
    form_t(blk, tau + j0);
    apply_block(blk, r, n, m, j0 + blk.jb, n, true, parallel);
  }

  // Q = H_0 H_1 ... H_{k-1} applied to the first qcols columns of I, accumulated backwards so
  // that block b only touches rows and columns >= its first row.
  C* q = reinterpret_cast<C*>(work + p.q);
  std::fill_n(q, m * qcols, C(0));
  for (int64_t i = 0; i < std::min(m, qcols); ++i) q[i * qcols + i] = 1;
  for (int64_t bi = nblocks; bi-- > 0;) {
    const Block<C>& blk = blocks[bi];
    apply_block(blk, q, qcols, m, blk.row0, qcols, false, parallel);
  }

  // Non-negative diagonal: flip row j of R and column j of Q together (Q R is unchanged).
  for (int64_t j = 0; j < k; ++j) {
    if (!(r[j * n + j] < 0)) continue;
    for (int64_t c = j; c < n; ++c) r[j * n + c] = -r[j * n + c];
    for (int64_t i = 0; i < m; ++i) q[i * qcols + j] = -q[i * qcols + j];
  }

  for (int64_t i = 0; i < m * qcols; ++i) q_out[i] = static_cast<T>(q[i]);
  for (int64_t i = 0; i < rrows; ++i) {
    for (int64_t c = 0; c < n; ++c) {
      r_out[i * n + c] = static_cast<T>(c < i ? C(0) : r[i * n + c]);
    }
  }
}

template <class T>
void run_qr_typed(const QrPlan& p, const Tensor& x, const Tensor& q_t, const Tensor& r_t,
                  std::byte* scratch) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t m = p.m, n = p.n;
  const int64_t qsize = p.qcols * m, rsize = p.rrows * n;
  const T* a = x.data<T>();
  T* q = detail::mutable_data<T>(q_t);
  T* r = detail::mutable_data<T>(r_t);
  parallel_chunks(p.batch, p.grain, p.chunks, [&](int64_t chunk, int64_t b, int64_t e) {
    std::byte* work = scratch + static_cast<size_t>(chunk) * p.chunk_bytes;
    for (int64_t i = b; i < e; ++i) {
      qr_matrix<T, C>(p, a + i * m * n, q + i * qsize, r + i * rsize, work, !p.split_batch);
    }
  });
}

void run_qr(const QrPlan& p, const Tensor& x, std::span<Tensor> out, void* scratch) {
  if (p.batch == 0) return;
  detail::visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (detail::is_float_v<T>)
      run_qr_typed<T>(p, x, out[0], out[1], static_cast<std::byte*>(scratch));
  });
}

class PreparedQr final : public PreparedKernel {
 public:
  explicit PreparedQr(QrPlan p) : p_(p) {}
  size_t scratch_bytes() const override { return p_.scratch_bytes; }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    run_qr(p_, in[0], out, scratch);
  }

 private:
  QrPlan p_;
};

}  // namespace

void kernel_qr(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const QrPlan p = plan_qr(std::get<detail::QrParams>(params).complete, in[0].type());
  dnnl_util::Scratch scratch;
  run_qr(p, in[0], out, p.scratch_bytes > 0 ? scratch.take(p.scratch_bytes) : nullptr);
}

std::unique_ptr<PreparedKernel> prepare_qr(const Params& params, std::span<const TensorType> in,
                                           std::span<const TensorType>) {
  return std::make_unique<PreparedQr>(plan_qr(std::get<detail::QrParams>(params).complete, in[0]));
}

}  // namespace nx::cpu
