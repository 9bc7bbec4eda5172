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
// threads, a batch splits its matrices.
#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "parallel.hpp"

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

/// One block of reflectors: V holds rows [row0, m) x jb (row-major, zero above each
/// reflector's leading 1), T the jb x jb upper triangular factor.
template <class C>
struct Block {
  int64_t row0 = 0, jb = 0;
  std::vector<C> v, t;
};

/// T of the compact WY form from V and the taus (LAPACK's larft, forward, columnwise).
template <class C>
void form_t(Block<C>& b, const C* tau) {
  const int64_t jb = b.jb, rows = static_cast<int64_t>(b.v.size()) / std::max<int64_t>(jb, 1);
  b.t.assign(static_cast<size_t>(jb * jb), C(0));
  std::vector<C> z(static_cast<size_t>(jb));
  for (int64_t i = 0; i < jb; ++i) {
    // z = V[:, 0:i]^T v_i, over the rows where v_i is non-zero.
    std::fill(z.begin(), z.end(), C(0));
    for (int64_t r = i; r < rows; ++r) {
      const C* vr = b.v.data() + r * jb;
      for (int64_t q = 0; q < i; ++q) z[static_cast<size_t>(q)] += vr[q] * vr[i];
    }
    // T[0:i, i] = -tau_i T[0:i, 0:i] z.
    for (int64_t q = 0; q < i; ++q) {
      C acc = 0;
      for (int64_t l = q; l < i; ++l)
        acc += b.t[static_cast<size_t>(q * jb + l)] * z[static_cast<size_t>(l)];
      b.t[static_cast<size_t>(q * jb + i)] = -tau[i] * acc;
    }
    b.t[static_cast<size_t>(i * jb + i)] = tau[i];
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
        const C* vr = b.v.data() + r * jb;
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
        const C tpp = b.t[static_cast<size_t>(p * jb + p)];
        for (int64_t c = 0; c < nc; ++c) wp[c] *= tpp;
        const int64_t q0 = transpose ? 0 : p + 1, q1 = transpose ? p : jb;
        for (int64_t q = q0; q < q1; ++q) {
          const C f = transpose ? b.t[static_cast<size_t>(q * jb + p)]
                                : b.t[static_cast<size_t>(p * jb + q)];
          const C* wq = w + q * nc;
          for (int64_t c = 0; c < nc; ++c) wp[c] += f * wq[c];
        }
      }
      for (int64_t r = 0; r < rows; ++r) {  // A -= V W
        const C* vr = b.v.data() + r * jb;
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

/// Scratch of one factorization, reused across the matrices a thread handles.
template <class C>
struct QrWork {
  std::vector<C> r, q, v, tau, w;
  std::vector<Block<C>> blocks;
};

/// Factors one m x n matrix `x` into q (m x qcols) and r (rrows x n).
template <class T, class C>
void qr_matrix(const T* x, int64_t m, int64_t n, bool complete, T* q_out, T* r_out, QrWork<C>& s,
               bool parallel) {
  const int64_t k = std::min(m, n);
  const int64_t qcols = complete ? m : k;
  const int64_t rrows = complete ? m : k;
  s.r.resize(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m * n; ++i) s.r[static_cast<size_t>(i)] = static_cast<C>(x[i]);
  s.v.assign(static_cast<size_t>(m), C(0));
  s.tau.assign(static_cast<size_t>(k), C(0));
  s.w.assign(static_cast<size_t>(std::max(n, m)), C(0));
  s.blocks.resize(static_cast<size_t>((k + kBlock - 1) / kBlock));
  C* r = s.r.data();

  for (int64_t j0 = 0, bi = 0; j0 < k; j0 += kBlock, ++bi) {
    Block<C>& blk = s.blocks[static_cast<size_t>(bi)];
    blk.row0 = j0;
    blk.jb = std::min(kBlock, k - j0);
    blk.v.assign(static_cast<size_t>((m - j0) * blk.jb), C(0));
    // Panel: reflectors of columns [j0, j0 + jb), applied within the panel only.
    for (int64_t j = j0; j < j0 + blk.jb; ++j) {
      // Reflector that zeroes r[j+1.., j] (LAPACK's larfg): beta = -sign(alpha) * ||x||.
      C* v = s.v.data();
      C alpha = r[j * n + j];
      C xnorm = scaled_norm(r + (j + 1) * n + j, m - j - 1, n);
      if (xnorm == 0) continue;  // nothing below the diagonal: no reflector (tau = 0, v = 0)
      C beta = -std::copysign(std::hypot(alpha, xnorm), alpha);
      C tau = (beta - alpha) / beta;
      C scale = C(1) / (alpha - beta);
      v[j] = 1;
      for (int64_t i = j + 1; i < m; ++i) {
        v[i] = r[i * n + j] * scale;
        r[i * n + j] = 0;
      }
      r[j * n + j] = beta;
      s.tau[static_cast<size_t>(j)] = tau;
      apply_reflector(r, n, j, m, v, tau, j + 1, j0 + blk.jb, s.w.data());
      for (int64_t i = j; i < m; ++i)
        blk.v[static_cast<size_t>((i - j0) * blk.jb + (j - j0))] = v[i];
    }
    form_t(blk, s.tau.data() + j0);
    apply_block(blk, r, n, m, j0 + blk.jb, n, true, parallel);
  }

  // Q = H_0 H_1 ... H_{k-1} applied to the first qcols columns of I, accumulated backwards so
  // that block b only touches rows and columns >= its first row.
  s.q.assign(static_cast<size_t>(m * qcols), C(0));
  C* q = s.q.data();
  for (int64_t i = 0; i < std::min(m, qcols); ++i) q[i * qcols + i] = 1;
  for (size_t bi = s.blocks.size(); bi-- > 0;) {
    const Block<C>& blk = s.blocks[bi];
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
void run_qr(const Tensor& x, bool complete, const Tensor& q_t, const Tensor& r_t) {
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const Shape& s = x.shape();
  const int64_t m = s[s.size() - 2], n = s[s.size() - 1];
  const int64_t batch = num_elements(Shape(s.begin(), s.end() - 2));
  const int64_t qsize = q_t.shape().back() * m, rsize = r_t.shape()[s.size() - 2] * n;
  const T* a = x.data<T>();
  T* q = detail::mutable_data<T>(q_t);
  T* r = detail::mutable_data<T>(r_t);
  if (batch == 0) return;
  // Work per matrix ~ m * n * min(m, n): split the batch when it has enough matrices,
  // otherwise split each matrix's column updates.
  const int64_t k = std::min(m, n);
  const int64_t flops = std::max<int64_t>(1, m * n * std::max<int64_t>(k, 1));
  const bool split_batch = batch > 1;
  parallel_for(batch, split_batch ? std::max<int64_t>(1, kParallelGrain / flops) : batch + 1,
               [&](int64_t b, int64_t e) {
                 QrWork<C> work;
                 for (int64_t i = b; i < e; ++i) {
                   qr_matrix<T, C>(a + i * m * n, m, n, complete, q + i * qsize, r + i * rsize,
                                   work, !split_batch);
                 }
               });
}

}  // namespace

void kernel_qr(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  bool complete = std::get<detail::QrParams>(params).complete;
  detail::visit_dtype(in[0].dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (detail::is_float_v<T>) run_qr<T>(in[0], complete, out[0], out[1]);
  });
}

}  // namespace nx::cpu
