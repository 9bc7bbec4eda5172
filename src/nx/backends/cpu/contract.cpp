// dot_general on the CPU: brings any contraction to one batched matrix product.
//
// The batch axes of each operand flatten to one batch index, the free axes to rows (a) or
// columns (b), the contracting axes to k. When each group of axes is laid out as a single
// stride in the operand's row-major buffer (which covers plain, transposed and batched
// layouts), the product reads the operand in place through those strides; otherwise the operand
// is first gathered into [batch, free, contract] order. The result, [batch, free a, free b], is
// exactly the row-major C of the product. Numerics are those of `gemm` (contract_gemm.hpp):
// floats accumulate in f32 (f64 for f64), integers wrap.
#include <optional>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "contract_gemm.hpp"
#include "contract_pack.hpp"
#include "dnnl_common.hpp"

namespace nx::cpu {

namespace {

// The stride of a group of axes walked as one row-major index (last axis fastest), if the
// buffer allows it: each axis's stride must be the next one's stride times its size (size-1
// axes skipped). A group whose size is 1 gets stride 0 (gemm replaces it with a plain one).
std::optional<int64_t> group_stride(const Shape& dims, const std::vector<int64_t>& strides,
                                    const Axes& axes) {
  std::optional<int64_t> stride;
  int64_t extent = 0;
  for (size_t i = axes.size(); i-- > 0;) {
    size_t ax = static_cast<size_t>(axes[i]);
    if (dims[ax] == 1) continue;
    if (!stride) {
      stride = strides[ax];
    } else if (strides[ax] != extent) {
      return std::nullopt;
    }
    extent = strides[ax] * dims[ax];
  }
  return stride.value_or(0);
}

int64_t product(const Shape& dims, const Axes& axes) {
  int64_t p = 1;
  for (int64_t ax : axes) p *= dims[static_cast<size_t>(ax)];
  return p;
}

Axes free_axes(int64_t rank, const Axes& contract, const Axes& batch) {
  std::vector<bool> used(static_cast<size_t>(rank), false);
  for (int64_t ax : contract) used[static_cast<size_t>(ax)] = true;
  for (int64_t ax : batch) used[static_cast<size_t>(ax)] = true;
  Axes out;
  for (int64_t i = 0; i < rank; ++i)
    if (!used[static_cast<size_t>(i)]) out.push_back(i);
  return out;
}

// One operand as three strided groups (batch, outer, inner), gathered into that order when
// its layout does not allow direct strides. For a, outer = free and inner = contracting; for b,
// outer = contracting and inner = free.
struct OperandView {
  const void* data;
  int64_t s_batch, s_outer, s_inner;
};

OperandView view_operand(const Tensor& t, const Axes& batch, const Axes& outer, const Axes& inner,
                         dnnl_util::Scratch& scratch) {
  const Shape& dims = t.shape();
  std::vector<int64_t> strides = strides_of(dims);
  auto sb = group_stride(dims, strides, batch);
  auto so = group_stride(dims, strides, outer);
  auto si = group_stride(dims, strides, inner);
  if (sb && so && si) return {t.raw_data(), *sb, *so, *si};
  Shape order_dims;
  std::vector<int64_t> order_strides;
  for (const Axes* group : {&batch, &outer, &inner}) {
    for (int64_t ax : *group) {
      order_dims.push_back(dims[static_cast<size_t>(ax)]);
      order_strides.push_back(strides[static_cast<size_t>(ax)]);
    }
  }
  void* packed = scratch.take(static_cast<size_t>(t.byte_size()));
  strided_copy(t.dtype(), t.dtype(), t.raw_data(), order_dims, order_strides, packed);
  int64_t no = product(dims, outer), ni = product(dims, inner);
  return {packed, no * ni, ni, 1};
}

}  // namespace

void kernel_dot_general(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::DotParams>(params);
  const Tensor& a = in[0];
  const Tensor& b = in[1];
  if (out[0].size() == 0) return;
  Axes free_a = free_axes(a.rank(), p.contract_a, p.batch_a);
  Axes free_b = free_axes(b.rank(), p.contract_b, p.batch_b);
  GemmView g;
  g.batch = product(a.shape(), p.batch_a);
  g.m = product(a.shape(), free_a);
  g.n = product(b.shape(), free_b);
  g.k = product(a.shape(), p.contract_a);
  dnnl_util::Scratch scratch;
  OperandView va{}, vb{};
  if (g.k > 0) {  // with k == 0 the operands are empty and the result is zeros
    va = view_operand(a, p.batch_a, free_a, p.contract_a, scratch);
    vb = view_operand(b, p.batch_b, p.contract_b, free_b, scratch);
  }
  g.a_sb = va.s_batch, g.a_sm = va.s_outer, g.a_sk = va.s_inner;
  g.b_sb = vb.s_batch, g.b_sk = vb.s_outer, g.b_sn = vb.s_inner;
  g.contiguous_c();
  gemm(a.dtype(), g, va.data, vb.data, detail::mutable_data(out[0]));
}

}  // namespace nx::cpu
