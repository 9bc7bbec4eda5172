// "Prepare once, run many": the contraction kernels split into a plan and its execution.
//
// A plan holds everything that depends only on shapes, dtypes and parameters: the layout
// analysis, the choice between oneDNN and our own loops, and the created oneDNN primitives. Its
// execution reads operands and writes the result, with scratch memory the caller provides (so
// a compiled function can place it in its arena). The eager kernels are plan + execute on the
// calling thread's scratch, so eager and compiled code take exactly the same path and give the
// same bits. A plan is immutable; executing one from several threads at once is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "../../core/params.hpp"
#include "../../core/primitive.hpp"
#include "contract_conv.hpp"
#include "contract_gemm.hpp"
#include "movement_copy.hpp"
#include "nx/tensor.hpp"
#include "scratch_plan.hpp"

namespace nx::cpu {

struct DnnlMatmul;
struct DnnlConv;
struct DnnlConvArgs;

/// How `gemm` computes one product.
struct GemmPlan {
  enum class Path : uint8_t {
    Empty,       ///< no output elements
    Zero,        ///< k == 0: the result is zeros
    Own,         ///< our blocked loops
    Dnnl,        ///< a oneDNN primitive over the operands in place
    DnnlPacked,  ///< operands packed row-major first (layouts oneDNN has no kernel for)
    F16ViaF32,   ///< f16 widened to f32, multiplied by oneDNN, rounded back
  };
  Path path = Path::Empty;
  DType dtype = DType::F32;
  GemmView g;       ///< the canonical problem
  GemmView packed;  ///< DnnlPacked / F16ViaF32: the problem over the packed operands
  std::shared_ptr<const DnnlMatmul> matmul;
  size_t scratch_bytes = 0;
};
GemmPlan plan_gemm(DType dtype, const GemmView& g);
/// `scratch` holds plan.scratch_bytes bytes (64-byte aligned).
void run_gemm(const GemmPlan& plan, const void* a, const void* b, void* c, void* scratch);

struct DnnlMatmulArgs;
/// What a caller that runs one plan many times on the same scratch (an instance of a compiled
/// function) keeps between runs: the oneDNN arguments bound once (dnnl_matmul_bind).
struct GemmState {
  std::shared_ptr<DnnlMatmulArgs> args;  ///< null when the plan runs no oneDNN primitive
};
GemmState bind_gemm(const GemmPlan& plan, void* scratch);
/// run_gemm on the scratch `state` was bound to; creates no oneDNN objects. `b_id`: b's content
/// id (Buffer::id), which lets a oneDNN product keep its weights reordered into its preferred
/// layout while they stay the same (dnnl_matmul_run).
void run_gemm(const GemmPlan& plan, const void* a, const void* b, void* c, void* scratch,
              GemmState& state, uint64_t b_id = 0);

/// How dot_general reads one operand: in place through group strides, or gathered first into
/// [batch, outer, inner] order (order_dims / order_strides) at `offset` of the scratch.
struct DotOperandPlan {
  bool gather = false;
  std::vector<int64_t> order_dims, order_strides;
  CopyPlan copy;  ///< the gather
  size_t offset = 0;
  int64_t s_batch = 0, s_outer = 0, s_inner = 0;
};

/// dot_general of one problem (contract.cpp).
struct DotPlan {
  DType dtype = DType::F32;
  bool empty = false;   ///< no output elements
  bool zero_k = false;  ///< nothing to contract: the operands are never read
  DotOperandPlan a, b;
  GemmPlan gemm;
  size_t gemm_offset = 0;
  size_t scratch_bytes = 0;
};
DotPlan plan_dot(const detail::DotParams& p, const TensorType& a, const TensorType& b);
void run_dot(const DotPlan& plan, const void* a, const void* b, void* c, void* scratch);
/// As bind_gemm and run_gemm with state.
GemmState bind_dot(const DotPlan& plan, void* scratch);
void run_dot(const DotPlan& plan, const void* a, const void* b, void* c, void* scratch,
             GemmState& state, uint64_t b_id = 0);

/// conv_general of one problem (contract_conv.cpp).
struct ConvPlan {
  DType dtype = DType::F32;
  bool empty = false;
  ConvGeometry g;
  std::shared_ptr<const DnnlConv> dnnl;          ///< null: the reference path
  std::shared_ptr<const ConvRef> ref;            ///< the reference path's plan
  size_t x_elems = 0, w_elems = 0, y_elems = 0;  ///< f16: the f32 copies in the scratch
  size_t dnnl_offset = 0;                        ///< also the reference path's scratch
  size_t scratch_bytes = 0;
};
ConvPlan plan_conv(const detail::ConvParams& p, const TensorType& x, const TensorType& w,
                   const TensorType& y);
void run_conv(const ConvPlan& plan, const void* x, const void* w, void* y, void* scratch);
/// What an instance of a compiled function keeps for one ConvPlan: its oneDNN arguments bound
/// to the instance's scratch (as GemmState for products).
struct ConvState {
  std::shared_ptr<DnnlConvArgs> args;  ///< null when the plan runs no oneDNN primitive
};
ConvState bind_conv(const ConvPlan& plan, void* scratch);
/// run_conv on the scratch `state` was bound to; creates no oneDNN objects. `w_id`: the
/// kernel's content id (Buffer::id), which lets a run skip reordering unchanged weights.
void run_conv(const ConvPlan& plan, const void* x, const void* w, void* y, void* scratch,
              ConvState& state, uint64_t w_id = 0);

// ---- every other primitive ------------------------------------------------------------------

/// What compiled code keeps per instance for one prepared kernel (see make_state).
struct PreparedState {
  virtual ~PreparedState() = default;
};

/// A primitive's kernel prepared for fixed operand types: the plan its eager kernel makes on
/// every call, made once. run() allocates nothing and gives the eager kernel's bits.
class PreparedKernel {
 public:
  virtual ~PreparedKernel() = default;
  /// Bytes of scratch run() needs (0: none).
  virtual size_t scratch_bytes() const { return 0; }
  /// in/out as for Kernel (backend.hpp); `scratch` holds scratch_bytes() bytes, 64-byte
  /// aligned, private to this call.
  virtual void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const = 0;
  /// State kept between runs on one scratch, made once per instance of a compiled function
  /// (e.g. oneDNN arguments bound to that scratch with dnnl_util::BoundArgs); null: none.
  virtual std::unique_ptr<PreparedState> make_state(void* scratch) const { return nullptr; }
  /// run() with make_state(scratch)'s state: what compiled code calls. One instance's scratch
  /// and state serve one call at a time.
  virtual void run_with(std::span<const Tensor> in, std::span<Tensor> out, void* scratch,
                        PreparedState* state) const {
    run(in, out, scratch);
  }
};

/// The prepared kernel of primitive p for operands `in` and results `out`; null when p's plain
/// kernel (backend.hpp's kernel_of) allocates nothing per call anyway. dot_general and
/// conv_general have plans of their own (plan_dot, plan_conv): null for them too.
std::unique_ptr<PreparedKernel> prepare_kernel(detail::Prim p, const detail::Params& params,
                                               std::span<const TensorType> in,
                                               std::span<const TensorType> out);

// The families prepare_kernel dispatches to (null for primitives they do not plan).
std::unique_ptr<PreparedKernel> prepare_movement(detail::Prim p, const detail::Params& params,
                                                 std::span<const TensorType> in,
                                                 std::span<const TensorType> out);
std::unique_ptr<PreparedKernel> prepare_pad(const detail::PadParams& params,
                                            std::span<const TensorType> in,
                                            std::span<const TensorType> out);
std::unique_ptr<PreparedKernel> prepare_dynamic_slice(const detail::DynamicSliceParams& params,
                                                      std::span<const TensorType> in);
std::unique_ptr<PreparedKernel> prepare_dynamic_update_slice(std::span<const TensorType> in);
std::unique_ptr<PreparedKernel> prepare_elementwise(detail::Prim p, std::span<const TensorType> in,
                                                    std::span<const TensorType> out);
std::unique_ptr<PreparedKernel> prepare_reduce(detail::Prim p, const detail::Params& params,
                                               std::span<const TensorType> in);
std::unique_ptr<PreparedKernel> prepare_index(detail::Prim p, const detail::Params& params,
                                              std::span<const TensorType> in,
                                              std::span<const TensorType> out);
std::unique_ptr<PreparedKernel> prepare_sort(const detail::Params& params,
                                             std::span<const TensorType> in);
/// Every window primitive: window_max, window_sum and window_scatter_max through oneDNN when
/// they are poolings it takes (dnnl_pool.hpp), with our own loops planned beside for the values
/// oneDNN treats differently; the rest through our own loops (the two below).
std::unique_ptr<PreparedKernel> prepare_window(detail::Prim p, const detail::Params& params,
                                               std::span<const TensorType> in,
                                               std::span<const TensorType> out);
/// Our own loops of window_sum, window_product, window_max and window_min (window.cpp).
std::unique_ptr<PreparedKernel> prepare_window_reduce(detail::Prim p, const detail::Params& params,
                                                      std::span<const TensorType> in,
                                                      std::span<const TensorType> out);
/// Our own loops of window_scatter_max and window_scatter_min (window_scatter.cpp).
std::unique_ptr<PreparedKernel> prepare_window_scatter(detail::Prim p, const detail::Params& params,
                                                       std::span<const TensorType> in);
std::unique_ptr<PreparedKernel> prepare_qr(const detail::Params& params,
                                           std::span<const TensorType> in,
                                           std::span<const TensorType> out);

/// Short description of the path a plan takes ("onednn", "own", "packed+onednn", ...), for
/// schedule dumps.
const char* describe(const GemmPlan& plan);
const char* describe(const ConvPlan& plan);

}  // namespace nx::cpu
