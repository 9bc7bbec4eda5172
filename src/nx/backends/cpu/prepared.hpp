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
#include <vector>

#include "../../core/params.hpp"
#include "contract_conv.hpp"
#include "contract_gemm.hpp"
#include "nx/tensor.hpp"

namespace nx::cpu {

struct DnnlMatmul;
struct DnnlConv;

/// Scratch regions are carved at multiples of this.
inline constexpr size_t kScratchAlign = 64;
inline size_t scratch_round(size_t n) {
  return (n + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
}

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

/// How dot_general reads one operand: in place through group strides, or gathered first into
/// [batch, outer, inner] order (order_dims / order_strides) at `offset` of the scratch.
struct DotOperandPlan {
  bool gather = false;
  std::vector<int64_t> order_dims, order_strides;
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

/// conv_general of one problem (contract_conv.cpp).
struct ConvPlan {
  DType dtype = DType::F32;
  bool empty = false;
  ConvGeometry g;
  std::shared_ptr<const DnnlConv> dnnl;          ///< null: the reference path
  size_t x_elems = 0, w_elems = 0, y_elems = 0;  ///< f16: the f32 copies in the scratch
  size_t dnnl_offset = 0;
  size_t scratch_bytes = 0;
};
ConvPlan plan_conv(const detail::ConvParams& p, const TensorType& x, const TensorType& w,
                   const TensorType& y);
void run_conv(const ConvPlan& plan, const void* x, const void* w, void* y, void* scratch);

/// Short description of the path a plan takes ("onednn", "own", "packed+onednn", ...), for
/// schedule dumps.
const char* describe(const GemmPlan& plan);
const char* describe(const ConvPlan& plan);

}  // namespace nx::cpu
