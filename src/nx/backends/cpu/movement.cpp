// CPU kernels of the static movement primitives: broadcast_in_dim, reshape, transpose, slice,
// concatenate, reverse. Each one describes its output as a strided view of its input(s) and
// hands it to the copy engine (movement_copy.hpp); none looks at values, so every dtype of one
// byte width shares the same code (pred is one byte).
//
// Edge cases (the shape rules in rules_movement.cpp have validated the params):
// - Empty outputs copy nothing; rank-0 tensors are one element.
// - reshape is a view: out[0] shares the input's buffer, no bytes move.
// - broadcast_in_dim repeats operand axes of size 1 (source stride 0).
// - reverse of an axis of size 0 or 1 is the identity.
#include <cstddef>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "movement_copy.hpp"

namespace nx::cpu {

namespace {

const std::byte* bytes_of(const Tensor& t) {
  return static_cast<const std::byte*>(t.raw_data());
}
std::byte* out_bytes(const Tensor& t) {
  return static_cast<std::byte*>(detail::mutable_data(t));
}
int elem_bytes(const Tensor& t) {
  return byte_size(t.dtype());
}

}  // namespace

void kernel_broadcast_in_dim(const Params& params, std::span<const Tensor> in,
                             std::span<Tensor> out) {
  const auto& p = std::get<detail::BroadcastParams>(params);
  const Tensor& x = in[0];
  std::vector<int64_t> st = strides_of(x.shape()), ost = strides_of(p.shape);
  std::vector<CopyDim> dims(p.shape.size());
  for (size_t k = 0; k < dims.size(); ++k) dims[k] = {p.shape[k], 0, ost[k]};
  for (size_t i = 0; i < p.axes.size(); ++i) {
    if (x.shape()[i] != 1) dims[static_cast<size_t>(p.axes[i])].src_stride = st[i];
  }
  strided_copy(elem_bytes(x), std::move(dims), bytes_of(x), out_bytes(out[0]));
}

void kernel_reshape(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::ReshapeParams>(params);
  out[0] = detail::make_tensor(TensorType{p.shape, in[0].dtype()}, in[0].impl()->buffer);
}

void kernel_transpose(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& perm = std::get<detail::AxesParams>(params).axes;
  const Tensor& x = in[0];
  std::vector<int64_t> st = strides_of(x.shape()), ost = strides_of(out[0].shape());
  std::vector<CopyDim> dims(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    auto a = static_cast<size_t>(perm[i]);
    dims[i] = {x.shape()[a], st[a], ost[i]};
  }
  strided_copy(elem_bytes(x), std::move(dims), bytes_of(x), out_bytes(out[0]));
}

void kernel_slice(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::SliceParams>(params);
  const Tensor& x = in[0];
  if (out[0].size() == 0) return;
  std::vector<int64_t> st = strides_of(x.shape()), ost = strides_of(out[0].shape());
  std::vector<CopyDim> dims(st.size());
  int64_t offset = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    dims[i] = {out[0].shape()[i], st[i] * p.strides[i], ost[i]};
    offset += p.start[i] * st[i];
  }
  strided_copy(elem_bytes(x), std::move(dims), bytes_of(x) + offset * elem_bytes(x),
               out_bytes(out[0]));
}

void kernel_concatenate(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const int64_t axis = std::get<detail::ConcatParams>(params).axis;
  const Shape& os = out[0].shape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(os.size()); ++i) {
    if (i < axis) outer *= os[i];
    if (i > axis) inner *= os[i];
  }
  const int64_t out_run = os[axis] * inner;
  const int eb = elem_bytes(out[0]);
  std::byte* dst = out_bytes(out[0]);
  int64_t at = 0;  // elements from the start of an output row
  for (const Tensor& t : in) {
    const int64_t run = t.shape()[axis] * inner;
    strided_copy(eb, {{outer, run, out_run}, {run, 1, 1}}, bytes_of(t), dst + at * eb);
    at += run;
  }
}

void kernel_reverse(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& axes = std::get<detail::AxesParams>(params).axes;
  const Tensor& x = in[0];
  if (x.size() == 0) return;
  std::vector<int64_t> st = strides_of(x.shape());
  std::vector<CopyDim> dims(st.size());
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = {x.shape()[i], st[i], st[i]};
  int64_t offset = 0;
  for (int64_t a : axes) {
    auto i = static_cast<size_t>(a);
    offset += (x.shape()[i] - 1) * st[i];
    dims[i].src_stride = -st[i];
  }
  strided_copy(elem_bytes(x), std::move(dims), bytes_of(x) + offset * elem_bytes(x),
               out_bytes(out[0]));
}

}  // namespace nx::cpu
