// Batched matrix products, the engine under dot_general and the convolution fallback.
//
// Every contraction is first brought to the form C[b] = A[b] x B[b] over strided views, with C
// contiguous. `gemm` then picks the path: oneDNN matmul for f32/bf16 (and f16 through f32 when
// oneDNN has no f16 kernel for this CPU) once the product is large enough to repay a library
// call, and our own blocked loops for everything else (f64, integers, small products).
#pragma once

#include <cstdint>

#include "nx/dtype.hpp"

namespace nx::cpu {

/// C[b] = A[b] x B[b] for b < batch: A[b] is m x k with element strides (a_sb, a_sm, a_sk), B[b]
/// is k x n with (b_sb, b_sk, b_sn), and C[b] is m x n with strides (c_sb, c_sm, 1). Operand
/// strides may be anything (including 0) as long as every addressed element lies inside the
/// operand; C's rows must not overlap.
struct GemmView {
  int64_t batch = 1, m = 1, n = 1, k = 1;
  int64_t a_sb = 0, a_sm = 0, a_sk = 0;
  int64_t b_sb = 0, b_sk = 0, b_sn = 0;
  int64_t c_sb = 0, c_sm = 0;

  /// Sets C's strides for a contiguous [batch, m, n] result.
  GemmView& contiguous_c() {
    c_sb = m * n;
    c_sm = n;
    return *this;
  }

  /// Multiply-adds in the product.
  double macs() const {
    return static_cast<double>(batch) * static_cast<double>(m) * static_cast<double>(n) *
           static_cast<double>(k);
  }
};

/// Computes the product for any numeric dtype (operands and result all of `dtype`). Floats
/// accumulate in f32 (f64 for f64); integers accumulate in the dtype and wrap on overflow (two's
/// complement). k == 0 gives zeros.
void gemm(DType dtype, const GemmView& g, const void* a, const void* b, void* c);

/// The same product through our own blocked loops only (no oneDNN); gemm's fallback, exposed so
/// tests can check that both paths agree.
void own_gemm(DType dtype, const GemmView& g, const void* a, const void* b, void* c);

/// Whether oneDNN computes this dtype's products on this CPU (f32, bf16; f16 where the CPU has
/// native f16 arithmetic).
bool dnnl_matmul_supports(DType dtype);

}  // namespace nx::cpu
