// conv_general on the CPU: the problem description shared by the oneDNN path and our own
// reference path (see rules_contract.cpp for the semantics).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../../core/params.hpp"
#include "nx/dtype.hpp"
#include "nx/shape.hpp"

namespace nx::cpu {

/// One convolution: input [n, c, in...], kernel [o, i, k...], output [out_n, o, out...], all
/// contiguous row-major.
struct ConvGeometry {
  int64_t n = 0, c = 0, o = 0, i = 0, out_n = 0;
  Shape in, k, out;  ///< spatial sizes
  std::vector<int64_t> strides, pad_lo, pad_hi, lhs_dilation, rhs_dilation;
  int64_t feature_groups = 1, batch_groups = 1;

  int64_t spatial() const { return static_cast<int64_t>(in.size()); }
  /// Groups of output channels: feature_groups * batch_groups (at most one exceeds 1).
  int64_t groups() const { return feature_groups * batch_groups; }
  /// Multiply-adds of the whole convolution.
  double macs() const;
};

/// The geometry of a validated conv_general call.
ConvGeometry conv_geometry(const detail::ConvParams& p, const Shape& input, const Shape& kernel,
                           const Shape& output);

/// Our own convolution for every geometry: im2col (with dilation, padding and cropping folded
/// into the gather) and a matrix product per (output batch, group), through `gemm`. Any float
/// dtype; accumulation as in gemm (f32, f64 for f64).
/// Plans once and runs on the calling thread's scratch (reference_conv_prepare/_run).
void reference_conv(DType dtype, const ConvGeometry& g, const void* x, const void* w, void* y);

/// The reference convolution planned for one problem (dtype, g): gather tables, input offsets,
/// the split into tasks (contract_conv_ref.cpp). For callers that plan once and run many times.
struct ConvRef;
std::shared_ptr<const ConvRef> reference_conv_prepare(DType dtype, const ConvGeometry& g);
/// Bytes of scratch one run of `r` needs (the im2col buffers of its parallel chunks).
size_t reference_conv_scratch_bytes(const ConvRef& r);
/// Runs `r` on the problem (dtype, g) it was planned for; `scratch` holds
/// reference_conv_scratch_bytes(r) bytes, 64-byte aligned, private to this call. Allocates
/// nothing itself (the products run through `gemm`).
void reference_conv_run(const ConvRef& r, DType dtype, const ConvGeometry& g, const void* x,
                        const void* w, void* y, void* scratch);

/// The convolution through a cached oneDNN primitive: f32 or bf16, 1 to 3 spatial axes. A
/// forward convolution without input dilation or batch groups; a backward-data convolution for
/// input dilation with window stride 1 (a transposed convolution); a backward-weights
/// convolution for batch groups, and for kernels with more positions than the output (the
/// kernel gradient vjp_conv_general emits). Returns false, computing nothing, when oneDNN
/// cannot take this problem.
bool dnnl_conv(DType dtype, const ConvGeometry& g, const void* x, const void* w, void* y);

/// Whether dnnl_conv runs this problem as a weight gradient (oneDNN's backward-weights
/// convolution) when oneDNN takes it so: with batch groups, or with the shape of the kernel
/// gradient vjp_conv_general emits (a kernel of more positions than the output: the forward
/// output; see dnnl_conv.cpp). A forward primitive (such as an epilogue's) is slow there.
bool dnnl_conv_prefers_backward_weights(const ConvGeometry& g);

/// A created oneDNN convolution with its reorders and scratch layout (dnnl_conv.cpp).
struct DnnlConv;
/// The primitive dnnl_conv would run for this problem (from the same cache), or null when
/// oneDNN cannot take it. For callers that create primitives once and run them many times.
std::shared_ptr<const DnnlConv> dnnl_conv_prepare(DType dtype, const ConvGeometry& g);

/// Element strides of the operands of a convolution whose operands are not row-major: per axis
/// of input [n, c, in...], kernel [o, i, k...] and output [out_n, o, out...] (a transposed view
/// of a row-major buffer, such as NHWC data, which oneDNN then reads and writes directly).
struct ConvStrides {
  Shape x, k, y;
  bool contiguous_kernel = false;  ///< k is row-major (backward data flips it in scratch)
  /// The row-major strides of g's operands.
  static ConvStrides contiguous(const ConvGeometry& g);
};
/// dnnl_conv_prepare for operands laid out with `strides`; null when oneDNN cannot take it so.
std::shared_ptr<const DnnlConv> dnnl_conv_prepare(DType dtype, const ConvGeometry& g,
                                                  const ConvStrides& strides);
/// The oneDNN primitive a prepared convolution runs.
enum class DnnlConvKind : uint8_t { Forward, BackwardData, BackwardWeights };
DnnlConvKind dnnl_conv_kind(const DnnlConv& c);
/// Bytes of scratch one execution of `c` needs.
size_t dnnl_conv_scratch_bytes(const DnnlConv& c);
/// Runs a prepared convolution of the problem (dtype, g) it was prepared for; `scratch` holds
/// dnnl_conv_scratch_bytes(c) bytes, 64-byte aligned, private to this call. Thread-safe.
void dnnl_conv_execute(const DnnlConv& c, DType dtype, const ConvGeometry& g, const void* x,
                       const void* w, void* y, void* scratch);

/// The arguments of a prepared convolution bound once to one scratch (dnnl_conv_bind), for a
/// caller that runs it many times there (an instance of a compiled function).
struct DnnlConvArgs;
std::shared_ptr<DnnlConvArgs> dnnl_conv_bind(const DnnlConv& c, void* scratch);
/// dnnl_conv_execute over bound arguments, on the scratch they were bound to: creates no oneDNN
/// objects and allocates nothing. Not thread-safe for one `args`. `w_id` is the content id
/// (Buffer::id) of the kernel's memory, or 0: a kernel that needs a reorder is reordered into
/// memory `args` owns, and a run whose kernel has the nonzero id of the last reorder skips it.
void dnnl_conv_run(const DnnlConv& c, DnnlConvArgs& args, DType dtype, const ConvGeometry& g,
                   const void* x, const void* w, void* y, void* scratch, uint64_t w_id = 0);

/// Number of cached convolution primitives (for tests of the cache).
size_t dnnl_conv_cache_size();

}  // namespace nx::cpu
