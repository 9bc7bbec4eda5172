// CPU kernels of dynamic_slice and dynamic_update_slice: slices whose start indices are tensors
// (integer scalars of any integer dtype), known only when the kernel runs.
//
// Edge cases:
// - Start indices are clamped, per axis, to [0, dim - size] so the slice always lies inside the
//   operand (XLA and Nx semantics): a negative start acts as 0, a start past the end as the
//   last start that fits. u64 starts above the s64 range count as "past the end".
// - An empty slice or update copies nothing (dynamic_update_slice then returns the operand).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "movement_copy.hpp"

namespace nx::cpu {

namespace {

// The value of an integer scalar, saturated into int64 (only u64 can exceed it).
int64_t start_value(const Tensor& t) {
  if (t.dtype() == DType::U64) {
    uint64_t v = detail::element_as_uint64(t, 0);
    return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
               ? std::numeric_limits<int64_t>::max()
               : static_cast<int64_t>(v);
  }
  return detail::element_as_int64(t, 0);
}

// Clamped element offset of the window [start, start + size) per axis of `shape`.
int64_t clamped_offset(const Shape& shape, const Shape& sizes, std::span<const Tensor> starts) {
  std::vector<int64_t> st = strides_of(shape);
  int64_t offset = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t s = std::clamp<int64_t>(start_value(starts[i]), 0, shape[i] - sizes[i]);
    offset += s * st[i];
  }
  return offset;
}

}  // namespace

void kernel_dynamic_slice(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  const Shape& sizes = std::get<detail::DynamicSliceParams>(params).sizes;
  if (out[0].size() == 0) return;
  const int eb = byte_size(x.dtype());
  int64_t offset = clamped_offset(x.shape(), sizes, in.subspan(1));
  std::vector<int64_t> st = strides_of(x.shape()), ost = strides_of(sizes);
  std::vector<CopyDim> dims(st.size());
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = {sizes[i], st[i], ost[i]};
  strided_copy(eb, std::move(dims), static_cast<const std::byte*>(x.raw_data()) + offset * eb,
               detail::mutable_data(out[0]));
}

void kernel_dynamic_update_slice(const Params&, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  const Tensor& upd = in[1];
  const int eb = byte_size(x.dtype());
  auto* dst = static_cast<std::byte*>(detail::mutable_data(out[0]));
  strided_copy(eb, {{x.size(), 1, 1}}, x.raw_data(), dst);
  if (upd.size() == 0) return;
  int64_t offset = clamped_offset(x.shape(), upd.shape(), in.subspan(2));
  std::vector<int64_t> st = strides_of(upd.shape()), ost = strides_of(x.shape());
  std::vector<CopyDim> dims(st.size());
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = {upd.shape()[i], st[i], ost[i]};
  strided_copy(eb, std::move(dims), upd.raw_data(), dst + offset * eb);
}

}  // namespace nx::cpu
