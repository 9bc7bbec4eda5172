// oneDNN matmul over strided views, with primitives cached per problem signature.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "contract_gemm.hpp"

namespace nx::cpu {

/// A created oneDNN matmul primitive with its memory descriptors (defined in dnnl_matmul.cpp).
struct DnnlMatmul;

/// Computes the product through a cached oneDNN matmul primitive; returns false (computing
/// nothing) when oneDNN has no optimized kernel for this dtype and layout, so that the caller
/// can repack the operands or take another path. Requires batch, m, n, k >= 1.
bool dnnl_matmul(DType dtype, const GemmView& g, const void* a, const void* b, void* c);

/// The primitive dnnl_matmul would run for this problem (from the same cache), or null when
/// oneDNN has no optimized kernel for it. For callers that create primitives once and run them
/// many times (compiled functions).
std::shared_ptr<const DnnlMatmul> dnnl_matmul_prepare(DType dtype, const GemmView& g);
/// Bytes of scratchpad one execution of `m` needs.
size_t dnnl_matmul_scratchpad_bytes(const DnnlMatmul& m);
/// Runs a prepared primitive; `scratchpad` holds dnnl_matmul_scratchpad_bytes(m) bytes, 64-byte
/// aligned, private to this call. Thread-safe.
void dnnl_matmul_execute(const DnnlMatmul& m, const void* a, const void* b, void* c,
                         void* scratchpad);

/// The arguments of a prepared primitive bound once: oneDNN memory objects whose data handles
/// dnnl_matmul_run re-points per run, and the scratchpad fixed at `scratchpad`
/// (dnnl_matmul_scratchpad_bytes(m) bytes, 64-byte aligned). A caller that runs one primitive
/// many times from one thread at a time (an instance of a compiled function) keeps one, so
/// that a run creates no oneDNN objects.
struct DnnlMatmulArgs;
std::shared_ptr<DnnlMatmulArgs> dnnl_matmul_bind(const DnnlMatmul& m, void* scratchpad);
/// Runs `m` over bound arguments. Not thread-safe for one `args`. `b_id`: the weights' content
/// id (Buffer::id; 0: none). A single product whose weights carry the same id as in the
/// previous run (a compiled function's parameters and constants keep theirs across calls) runs
/// over weights in oneDNN's preferred layout, reordered into memory of `args` once per id.
void dnnl_matmul_run(const DnnlMatmul& m, DnnlMatmulArgs& args, const void* a, const void* b,
                     void* c, uint64_t b_id = 0);

/// Number of cached matmul primitives (for tests of the cache).
size_t dnnl_matmul_cache_size();

}  // namespace nx::cpu
