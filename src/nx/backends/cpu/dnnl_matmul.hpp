// oneDNN matmul over strided views, with primitives cached per problem signature.
#pragma once

#include "contract_gemm.hpp"

namespace nx::cpu {

/// Computes the product through a cached oneDNN matmul primitive; returns false (computing
/// nothing) when oneDNN has no optimized kernel for this dtype and layout, so that the caller
/// can repack the operands or take another path. Requires batch, m, n, k >= 1.
bool dnnl_matmul(DType dtype, const GemmView& g, const void* a, const void* b, void* c);

/// Number of cached matmul primitives (for tests of the cache).
size_t dnnl_matmul_cache_size();

}  // namespace nx::cpu
