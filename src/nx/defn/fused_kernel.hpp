// Kernels of Fused nodes (see fuse() in passes.hpp). The executor prepares one kernel per Fused
// node at compile time and runs it per call on pre-allocated buffers.
//
// A Fused node's name says which kind of cluster it holds:
//   "elementwise"      elementwise/broadcast/convert/select chains, optionally ending in one
//                      reduce_sum/reduce_max/reduce_min; run as a small register program
//                      evaluated tile by tile over all threads.
//   "matmul_epilogue"  a dot_general followed by bias and/or activation, run as one oneDNN matmul
//                      primitive with bias and post-ops.
//   "conv_epilogue"    the same for conv_general.
//   "conv_layout"      a conv_general over transposed operands and/or with a transposed result,
//                      run as one oneDNN convolution over strided views (dnnl_conv_layout.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "graph.hpp"

namespace nx::detail {

/// What compiled code keeps per instance for one kernel (see FusedKernel::make_state).
struct FusedState {
  virtual ~FusedState() = default;
};

/// The compiled kernel of one Fused node.
class FusedKernel {
 public:
  virtual ~FusedKernel() = default;
  /// in: the Fused node's inputs; out: its outputs, buffers pre-allocated by the caller
  /// (contiguous, of the node's output types). Thread-safe (const).
  virtual void run(std::span<const Tensor> in, std::span<Tensor> out) const = 0;

  // How compiled code runs a kernel, so that a call allocates nothing: the executor places
  // scratch_bytes() in its arena, makes one state per instance over that scratch, and calls
  // run_with. Kernels that plan their memory override all three; the defaults run run().
  /// Bytes of scratch run_with needs.
  virtual size_t scratch_bytes() const { return 0; }
  /// State kept between runs on one scratch (e.g. oneDNN arguments bound to it); may be null.
  virtual std::unique_ptr<FusedState> make_state(void* scratch) const { return nullptr; }
  /// run() on `scratch` (scratch_bytes() bytes, 64-byte aligned) with make_state(scratch)'s
  /// state. One instance's scratch and state serve one call at a time.
  virtual void run_with(std::span<const Tensor> in, std::span<Tensor> out, void* scratch,
                        FusedState* state) const {
    run(in, out);
  }
};

/// Prepares (at compile time) the kernel of a Fused node (node.subgraphs[0] is its program: a
/// closed graph whose inputs are the node's inputs and outputs its outputs). Throws nx::Error when
/// the node is not a Fused node of a known kind.
std::unique_ptr<FusedKernel> prepare_fused(const Node& fused, const Graph& parent);

/// Whether the kernel of `fused` stays correct when output `out` is given the buffer of input
/// `in` (of the same byte size; a donated parameter updated in place): true when an elementwise
/// program reads that input only at the positions it writes (no broadcast, not reduced).
/// run() notices such aliasing and then writes each tile's outputs after reading its inputs.
bool fused_may_write_in_place(const Node& fused, size_t out, size_t in);

}  // namespace nx::detail
