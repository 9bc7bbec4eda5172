// dot_general on the CPU: brings any contraction to one batched matrix product.
//
// The batch axes of each operand flatten to one batch index, the free axes to rows (a) or
// columns (b), the contracting axes to k. When each group of axes is laid out as a single
// stride in the operand's row-major buffer (which covers plain, transposed and batched
// layouts), the product reads the operand in place through those strides; otherwise the operand
// is first gathered into [batch, free, contract] order. The result, [batch, free a, free b], is
// exactly the row-major C of the product. Numerics are those of `gemm` (contract_gemm.hpp):
// floats accumulate in f32 (f64 for f64), integers wrap.
#include <cstddef>
#include <optional>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "contract_axes.hpp"
#include "contract_gemm.hpp"
#include "dnnl_common.hpp"
#include "movement_copy.hpp"
#include "prepared.hpp"

namespace nx::cpu {

namespace {

// One operand as three strided groups (batch, outer, inner), gathered into that order when
// its layout does not allow direct strides. For a, outer = free and inner = contracting; for b,
// outer = contracting and inner = free.
DotOperandPlan plan_operand(const Shape& dims, int esize, const Axes& batch, const Axes& outer,
                            const Axes& inner) {
  DotOperandPlan p;
  std::vector<int64_t> strides = strides_of(dims);
  auto sb = group_stride(dims, strides, batch);
  auto so = group_stride(dims, strides, outer);
  auto si = group_stride(dims, strides, inner);
  if (sb && so && si) {
    p.s_batch = *sb, p.s_outer = *so, p.s_inner = *si;
    return p;
  }
  p.gather = true;
  for (const Axes* group : {&batch, &outer, &inner}) {
    for (int64_t ax : *group) {
      p.order_dims.push_back(dims[static_cast<size_t>(ax)]);
      p.order_strides.push_back(strides[static_cast<size_t>(ax)]);
    }
  }
  int64_t no = axes_product(dims, outer), ni = axes_product(dims, inner);
  p.s_batch = no * ni, p.s_outer = ni, p.s_inner = 1;
  // The gather: the operand's axes in [batch, outer, inner] order into a contiguous copy.
  std::vector<CopyDim> copy(p.order_dims.size());
  int64_t to = 1;
  for (size_t i = copy.size(); i-- > 0;) {
    copy[i] = {p.order_dims[i], p.order_strides[i], to};
    to *= p.order_dims[i];
  }
  p.copy = plan_copy(esize, copy);
  return p;
}

const void* operand_data(const DotOperandPlan& p, const void* data, std::byte* scratch) {
  if (!p.gather) return data;
  run_copy(p.copy, data, scratch + p.offset);
  return scratch + p.offset;
}

}  // namespace

DotPlan plan_dot(const detail::DotParams& p, const TensorType& a, const TensorType& b) {
  DotPlan plan;
  plan.dtype = a.dtype;
  Axes free_a = free_axes(static_cast<int64_t>(a.shape.size()), p.contract_a, p.batch_a);
  Axes free_b = free_axes(static_cast<int64_t>(b.shape.size()), p.contract_b, p.batch_b);
  GemmView g;
  g.batch = axes_product(a.shape, p.batch_a);
  g.m = axes_product(a.shape, free_a);
  g.n = axes_product(b.shape, free_b);
  g.k = axes_product(a.shape, p.contract_a);
  plan.empty = g.batch * g.m * g.n == 0;
  if (plan.empty) return plan;
  plan.zero_k = g.k == 0;  // the operands are empty and the result is zeros
  size_t used = 0;
  if (!plan.zero_k) {
    const int eb = byte_size(a.dtype);
    plan.a = plan_operand(a.shape, eb, p.batch_a, free_a, p.contract_a);
    plan.b = plan_operand(b.shape, eb, p.batch_b, p.contract_b, free_b);
    const auto esize = static_cast<size_t>(eb);
    for (DotOperandPlan* op : {&plan.a, &plan.b}) {
      if (!op->gather) continue;
      op->offset = used;
      used += scratch_round(static_cast<size_t>(num_elements(op->order_dims)) * esize);
    }
  }
  g.a_sb = plan.a.s_batch, g.a_sm = plan.a.s_outer, g.a_sk = plan.a.s_inner;
  g.b_sb = plan.b.s_batch, g.b_sk = plan.b.s_outer, g.b_sn = plan.b.s_inner;
  g.contiguous_c();
  plan.gemm = plan_gemm(a.dtype, g);
  plan.gemm_offset = used;
  plan.scratch_bytes = used + plan.gemm.scratch_bytes;
  return plan;
}

namespace {

void run_plan(const DotPlan& plan, const void* a, const void* b, void* c, void* scratch,
              GemmState* state, uint64_t b_id) {
  if (plan.empty) return;
  auto* s = static_cast<std::byte*>(scratch);
  const void* pa = plan.zero_k ? nullptr : operand_data(plan.a, a, s);
  const void* pb = plan.zero_k ? nullptr : operand_data(plan.b, b, s);
  if (state != nullptr)
    run_gemm(plan.gemm, pa, pb, c, s + plan.gemm_offset, *state, b_id);
  else
    run_gemm(plan.gemm, pa, pb, c, s + plan.gemm_offset);
}

}  // namespace

void run_dot(const DotPlan& plan, const void* a, const void* b, void* c, void* scratch) {
  run_plan(plan, a, b, c, scratch, nullptr, 0);
}

GemmState bind_dot(const DotPlan& plan, void* scratch) {
  if (plan.empty) return {};
  return bind_gemm(plan.gemm, static_cast<std::byte*>(scratch) + plan.gemm_offset);
}

void run_dot(const DotPlan& plan, const void* a, const void* b, void* c, void* scratch,
             GemmState& state, uint64_t b_id) {
  run_plan(plan, a, b, c, scratch, &state, b_id);
}

void kernel_dot_general(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  DotPlan plan = plan_dot(std::get<detail::DotParams>(params), in[0].type(), in[1].type());
  dnnl_util::Scratch scratch;
  run_dot(plan, in[0].raw_data(), in[1].raw_data(), detail::mutable_data(out[0]),
          plan.scratch_bytes > 0 ? scratch.take(plan.scratch_bytes) : nullptr);
}

}  // namespace nx::cpu
