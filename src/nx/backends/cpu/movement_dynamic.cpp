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
#include "prepared.hpp"

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

// The copy of a window of `window` elements per axis between an array of shape `shape` and a
// contiguous one, planned once; where the window starts is known only when it runs.
struct WindowPlan {
  CopyPlan copy;
  Shape shape, window;
  std::vector<int64_t> strides;  ///< of `shape`
};

WindowPlan plan_window(DType t, const Shape& shape, const Shape& window, bool into_window) {
  WindowPlan p{{}, shape, window, strides_of(shape)};
  std::vector<int64_t> wst = strides_of(window);
  std::vector<CopyDim> dims(shape.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    dims[i] = into_window ? CopyDim{window[i], p.strides[i], wst[i]}
                          : CopyDim{window[i], wst[i], p.strides[i]};
  }
  p.copy = plan_copy(byte_size(t), dims);
  return p;
}

// Clamped element offset of the window [start, start + size) per axis.
int64_t clamped_offset(const WindowPlan& p, std::span<const Tensor> starts) {
  int64_t offset = 0;
  for (size_t i = 0; i < p.shape.size(); ++i) {
    int64_t s = std::clamp<int64_t>(start_value(starts[i]), 0, p.shape[i] - p.window[i]);
    offset += s * p.strides[i];
  }
  return offset;
}

void run_dynamic_slice(const WindowPlan& p, std::span<const Tensor> in, const Tensor& out) {
  if (p.copy.kind == CopyPlan::Kind::Empty) return;
  const int eb = p.copy.elem_bytes;
  run_copy(p.copy,
           static_cast<const std::byte*>(in[0].raw_data()) + clamped_offset(p, in.subspan(1)) * eb,
           detail::mutable_data(out));
}

// dynamic_update_slice: the operand copied whole, then the update over its window.
struct UpdatePlan {
  CopyPlan operand;
  WindowPlan update;
};

UpdatePlan plan_update(const TensorType& x, const TensorType& upd) {
  const CopyDim whole{num_elements(x.shape), 1, 1};
  return {plan_copy(byte_size(x.dtype), {&whole, 1}),
          plan_window(x.dtype, x.shape, upd.shape, false)};
}

void run_update(const UpdatePlan& p, std::span<const Tensor> in, const Tensor& out) {
  auto* dst = static_cast<std::byte*>(detail::mutable_data(out));
  run_copy(p.operand, in[0].raw_data(), dst);
  if (p.update.copy.kind == CopyPlan::Kind::Empty) return;
  const int64_t offset = clamped_offset(p.update, in.subspan(2));
  run_copy(p.update.copy, in[1].raw_data(), dst + offset * p.update.copy.elem_bytes);
}

class PreparedDynamicSlice final : public PreparedKernel {
 public:
  explicit PreparedDynamicSlice(WindowPlan p) : p_(std::move(p)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    run_dynamic_slice(p_, in, out[0]);
  }

 private:
  WindowPlan p_;
};

class PreparedUpdate final : public PreparedKernel {
 public:
  explicit PreparedUpdate(UpdatePlan p) : p_(std::move(p)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    run_update(p_, in, out[0]);
  }

 private:
  UpdatePlan p_;
};

}  // namespace

void kernel_dynamic_slice(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const Shape& sizes = std::get<detail::DynamicSliceParams>(params).sizes;
  run_dynamic_slice(plan_window(in[0].dtype(), in[0].shape(), sizes, true), in, out[0]);
}

void kernel_dynamic_update_slice(const Params&, std::span<const Tensor> in, std::span<Tensor> out) {
  run_update(plan_update(in[0].type(), in[1].type()), in, out[0]);
}

std::unique_ptr<PreparedKernel> prepare_dynamic_slice(const detail::DynamicSliceParams& params,
                                                      std::span<const TensorType> in) {
  return std::make_unique<PreparedDynamicSlice>(
      plan_window(in[0].dtype, in[0].shape, params.sizes, true));
}

std::unique_ptr<PreparedKernel> prepare_dynamic_update_slice(std::span<const TensorType> in) {
  return std::make_unique<PreparedUpdate>(plan_update(in[0], in[1]));
}

}  // namespace nx::cpu
