// The oneDNN path of the window ops that are poolings: window_max (max pooling), window_sum
// (average pooling times the window size) and window_scatter_max (max pooling backward).
//
// A call qualifies when its window covers only trailing axes of an f32/bf16 operand (1 to 3
// of them, no window dilation) and leaves every leading axis alone (window and stride 1, no
// padding): the leading axes then merge into oneDNN's batch and channel axes, and the rest
// are its spatial axes, in our row-major layout (oneDNN's plain ncw/nchw/ncdhw). Everything
// else, and everything oneDNN has only a reference kernel for, stays on our own kernels; so do
// the inputs on which oneDNN's results would differ from ours (dnnl_pool.cpp says which).
//
// Eager calls find their primitives in a cache keyed by the problem's shape, like dnnl_matmul's;
// compiled code creates them once at compile time (prepare_window) and binds their arguments
// once per instance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "../../core/params.hpp"
#include "nx/tensor.hpp"

namespace nx::cpu {

/// The created oneDNN primitives of one pooling problem (defined in dnnl_pool.cpp).
struct DnnlPool;

/// The window op a pooling computes.
enum class PoolOp : uint8_t {
  Max,         ///< window_max: max pooling forward
  Sum,         ///< window_sum: average pooling (including padding) times the window size
  ScatterMax,  ///< window_scatter_max with init +0: max pooling forward, then backward
};

/// The primitives that compute `op` on an operand of shape `in` with window output shape
/// `out`, or null when this problem does not qualify or oneDNN has no optimized kernel for it.
std::shared_ptr<const DnnlPool> dnnl_pool_prepare(PoolOp op, DType dtype,
                                                  const detail::WindowParams& p, const Shape& in,
                                                  const Shape& out);
/// Bytes of scratch one execution of `pool` needs.
size_t dnnl_pool_scratch_bytes(const DnnlPool& pool);
/// Runs `pool` on x (and, for ScatterMax, the source), writing y; `scratch` holds
/// dnnl_pool_scratch_bytes(pool) bytes, 64-byte aligned, private to this call. Returns false,
/// writing nothing, when x holds a value oneDNN's max pooling treats differently from ours
/// (NaN, -inf or the lowest finite float): the caller then runs its own kernel. Thread-safe.
bool dnnl_pool_execute(const DnnlPool& pool, const void* x, const void* source, void* y,
                       void* scratch);

/// The eager entry: prepares (through the cache) and executes `op` on the kernel's inputs
/// (operand; for ScatterMax operand, source and init) into out. Returns false, computing
/// nothing, when the call does not qualify (for ScatterMax also: an init other than +0).
bool dnnl_pool(PoolOp op, const detail::WindowParams& p, std::span<const Tensor> in, Tensor& out);

/// Number of cached pooling problems (for tests of the cache).
size_t dnnl_pool_cache_size();

}  // namespace nx::cpu
