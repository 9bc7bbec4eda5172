// CPU kernels of the static movement primitives: broadcast_in_dim, reshape, transpose, slice,
// concatenate, reverse. Each one describes its output as a strided view of its input(s) and
// hands it to the copy engine (movement_copy.hpp); none looks at values, so every dtype of one
// byte width shares the same code (pred is one byte). The eager kernels plan their copies on
// every call; prepare_movement plans them once for compiled code (pad and the dynamic slices
// too), whose calls then allocate nothing.
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
#include "prepared.hpp"

namespace nx::cpu {

namespace {

using detail::Prim;

const std::byte* bytes_of(const Tensor& t) {
  return static_cast<const std::byte*>(t.raw_data());
}
std::byte* out_bytes(const Tensor& t) {
  return static_cast<std::byte*>(detail::mutable_data(t));
}

// A static movement primitive: one planned copy, read from a fixed element offset of the
// operand (where a slice starts, or the last element of a reversed axis).
struct MovePlan {
  CopyPlan copy;
  int64_t offset = 0;
};

MovePlan plan_broadcast_in_dim(const detail::BroadcastParams& p, const TensorType& x) {
  std::vector<int64_t> st = strides_of(x.shape), ost = strides_of(p.shape);
  std::vector<CopyDim> dims(p.shape.size());
  for (size_t k = 0; k < dims.size(); ++k) dims[k] = {p.shape[k], 0, ost[k]};
  for (size_t i = 0; i < p.axes.size(); ++i) {
    if (x.shape[i] != 1) dims[static_cast<size_t>(p.axes[i])].src_stride = st[i];
  }
  return {plan_copy(byte_size(x.dtype), dims), 0};
}

MovePlan plan_transpose(const Axes& perm, const TensorType& x, const Shape& out) {
  std::vector<int64_t> st = strides_of(x.shape), ost = strides_of(out);
  std::vector<CopyDim> dims(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    auto a = static_cast<size_t>(perm[i]);
    dims[i] = {x.shape[a], st[a], ost[i]};
  }
  return {plan_copy(byte_size(x.dtype), dims), 0};
}

MovePlan plan_slice(const detail::SliceParams& p, const TensorType& x, const Shape& out) {
  if (num_elements(out) == 0) return {};  // an Empty copy
  std::vector<int64_t> st = strides_of(x.shape), ost = strides_of(out);
  std::vector<CopyDim> dims(st.size());
  int64_t offset = 0;
  for (size_t i = 0; i < dims.size(); ++i) {
    dims[i] = {out[i], st[i] * p.strides[i], ost[i]};
    offset += p.start[i] * st[i];
  }
  return {plan_copy(byte_size(x.dtype), dims), offset};
}

MovePlan plan_reverse(const Axes& axes, const TensorType& x) {
  if (num_elements(x.shape) == 0) return {};
  std::vector<int64_t> st = strides_of(x.shape);
  std::vector<CopyDim> dims(st.size());
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = {x.shape[i], st[i], st[i]};
  int64_t offset = 0;
  for (int64_t a : axes) {
    auto i = static_cast<size_t>(a);
    offset += (x.shape[i] - 1) * st[i];
    dims[i].src_stride = -st[i];
  }
  return {plan_copy(byte_size(x.dtype), dims), offset};
}

void run_move(const MovePlan& plan, const Tensor& x, const Tensor& out) {
  run_copy(plan.copy, bytes_of(x) + plan.offset * plan.copy.elem_bytes, out_bytes(out));
}

// concatenate: each operand is copied into its band of every output row.
struct ConcatPlan {
  std::vector<CopyPlan> copies;  ///< per operand
  std::vector<int64_t> at;       ///< per operand: element offset of its band in an output row
};

// The copy of one operand with `extent` elements along the axis, `outer` rows of `out_run`
// elements in the output.
CopyPlan plan_band(int eb, int64_t outer, int64_t inner, int64_t extent, int64_t out_run) {
  const int64_t run = extent * inner;
  const CopyDim dims[2] = {{outer, run, out_run}, {run, 1, 1}};
  return plan_copy(eb, dims);
}

// Rows outside the axis, elements inside it, and the elements of an output row.
struct Bands {
  int64_t outer = 1, inner = 1, out_run = 0;
};

Bands bands_of(int64_t axis, const Shape& os) {
  Bands b;
  for (int64_t i = 0; i < static_cast<int64_t>(os.size()); ++i) {
    if (i < axis) b.outer *= os[i];
    if (i > axis) b.inner *= os[i];
  }
  b.out_run = os[axis] * b.inner;
  return b;
}

ConcatPlan plan_concatenate(int64_t axis, std::span<const TensorType> in, const TensorType& out) {
  const Bands b = bands_of(axis, out.shape);
  const int eb = byte_size(out.dtype);
  ConcatPlan plan;
  int64_t at = 0;  // elements from the start of an output row
  for (const TensorType& t : in) {
    plan.copies.push_back(plan_band(eb, b.outer, b.inner, t.shape[axis], b.out_run));
    plan.at.push_back(at);
    at += t.shape[axis] * b.inner;
  }
  return plan;
}

void run_concatenate(const ConcatPlan& plan, std::span<const Tensor> in, const Tensor& out) {
  std::byte* dst = out_bytes(out);
  for (size_t i = 0; i < plan.copies.size(); ++i) {
    const CopyPlan& c = plan.copies[i];
    run_copy(c, bytes_of(in[i]), dst + plan.at[i] * c.elem_bytes);
  }
}

class PreparedMove final : public PreparedKernel {
 public:
  explicit PreparedMove(MovePlan plan) : plan_(std::move(plan)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    run_move(plan_, in[0], out[0]);
  }

 private:
  MovePlan plan_;
};

class PreparedConcat final : public PreparedKernel {
 public:
  explicit PreparedConcat(ConcatPlan plan) : plan_(std::move(plan)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    run_concatenate(plan_, in, out[0]);
  }

 private:
  ConcatPlan plan_;
};

}  // namespace

void kernel_broadcast_in_dim(const Params& params, std::span<const Tensor> in,
                             std::span<Tensor> out) {
  run_move(plan_broadcast_in_dim(std::get<detail::BroadcastParams>(params), in[0].type()), in[0],
           out[0]);
}

void kernel_reshape(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::ReshapeParams>(params);
  out[0] = detail::make_tensor(TensorType{p.shape, in[0].dtype()}, in[0].impl()->buffer);
}

void kernel_transpose(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_move(plan_transpose(std::get<detail::AxesParams>(params).axes, in[0].type(), out[0].shape()),
           in[0], out[0]);
}

void kernel_slice(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_move(plan_slice(std::get<detail::SliceParams>(params), in[0].type(), out[0].shape()), in[0],
           out[0]);
}

void kernel_concatenate(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  // One band at a time, as run_concatenate does with the bands planned at once.
  const int64_t axis = std::get<detail::ConcatParams>(params).axis;
  const Bands b = bands_of(axis, out[0].shape());
  const int eb = byte_size(out[0].dtype());
  std::byte* dst = out_bytes(out[0]);
  int64_t at = 0;
  for (const Tensor& t : in) {
    const int64_t extent = t.shape()[axis];
    run_copy(plan_band(eb, b.outer, b.inner, extent, b.out_run), bytes_of(t), dst + at * eb);
    at += extent * b.inner;
  }
}

void kernel_reverse(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_move(plan_reverse(std::get<detail::AxesParams>(params).axes, in[0].type()), in[0], out[0]);
}

std::unique_ptr<PreparedKernel> prepare_movement(Prim p, const Params& params,
                                                 std::span<const TensorType> in,
                                                 std::span<const TensorType> out) {
  switch (p) {
    case Prim::broadcast_in_dim:
      return std::make_unique<PreparedMove>(
          plan_broadcast_in_dim(std::get<detail::BroadcastParams>(params), in[0]));
    case Prim::transpose:
      return std::make_unique<PreparedMove>(
          plan_transpose(std::get<detail::AxesParams>(params).axes, in[0], out[0].shape));
    case Prim::slice:
      return std::make_unique<PreparedMove>(
          plan_slice(std::get<detail::SliceParams>(params), in[0], out[0].shape));
    case Prim::reverse:
      return std::make_unique<PreparedMove>(
          plan_reverse(std::get<detail::AxesParams>(params).axes, in[0]));
    case Prim::concatenate:
      return std::make_unique<PreparedConcat>(
          plan_concatenate(std::get<detail::ConcatParams>(params).axis, in, out[0]));
    case Prim::pad:
      return prepare_pad(std::get<detail::PadParams>(params), in, out);
    case Prim::dynamic_slice:
      return prepare_dynamic_slice(std::get<detail::DynamicSliceParams>(params), in);
    case Prim::dynamic_update_slice:
      return prepare_dynamic_update_slice(in);
    default:  // reshape: a view, no copy
      return nullptr;
  }
}

}  // namespace nx::cpu
