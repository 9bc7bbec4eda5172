// CPU kernel of pad: low, high and interior padding with a scalar value; negative low/high
// padding crops.
//
// Output position of operand element i along an axis: lo + i * (interior + 1). Elements whose
// position falls outside [0, out_dim) are dropped (that is what negative lo/hi mean); every other
// output element is the pad value. The kernel writes each output element exactly once, row by
// row of the innermost axis, so padding costs no more memory traffic than a copy.
//
// Edge cases: a rank-0 operand is copied; an empty operand gives all-pad output (or nothing
// when the output is empty too); interior padding of an axis of size 0 or 1 adds nothing.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "parallel.hpp"
#include "prepared.hpp"
#include "strided_index.hpp"

namespace nx::cpu {

namespace {

// Which operand elements of one axis land in the output, and where.
struct AxisMap {
  int64_t lo;     // output position of operand index 0 (may be negative)
  int64_t step;   // interior + 1
  int64_t first;  // first operand index inside the output
  int64_t count;  // how many operand indices are inside
};

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

AxisMap map_axis(int64_t dim, int64_t out_dim, int64_t lo, int64_t interior) {
  AxisMap m{lo, interior + 1, 0, 0};
  if (dim == 0 || out_dim == 0) return m;
  m.first = lo >= 0 ? 0 : (-lo + m.step - 1) / m.step;
  int64_t last = std::min(dim - 1, floor_div(out_dim - 1 - lo, m.step));
  m.count = std::max<int64_t>(0, last - m.first + 1);
  return m;
}

// Everything about a pad that depends only on shapes: the axis maps, the operand's strides, and
// the output rows (every axis but the last) walked with their size-1 axes left out (so at most
// kMaxLoops remain, in fixed arrays: planning allocates nothing but the operand's strides).
struct PadPlan {
  int elem_bytes = 1;
  enum class Kind : uint8_t { Empty, Scalar, Rows } kind = Kind::Empty;
  int64_t rows = 1, row_len = 0;
  AxisMap last{};  ///< the innermost axis
  size_t r = 0;    ///< outer axes of size > 1
  AxisMap maps[kMaxLoops];
  int64_t dims[kMaxLoops];     ///< their output sizes
  int64_t st[kMaxLoops];       ///< their operand strides
  int64_t in_dims[kMaxLoops];  ///< their operand sizes
  int64_t base = 0;            ///< operand offset of the row that size-1 output axes select
  bool none = false;           ///< some size-1 output axis shows padding only: every row is padding
};

PadPlan plan_pad(const detail::PadParams& p, const TensorType& x, const Shape& out) {
  PadPlan plan;
  plan.elem_bytes = byte_size(x.dtype);
  if (x.shape.empty()) {
    plan.kind = PadPlan::Kind::Scalar;
    return plan;
  }
  if (num_elements(out) == 0) return plan;
  plan.kind = PadPlan::Kind::Rows;
  const size_t r = out.size();
  std::vector<int64_t> st = strides_of(x.shape);
  plan.row_len = out[r - 1];
  plan.last = map_axis(x.shape[r - 1], out[r - 1], p.lo[r - 1], p.interior[r - 1]);
  for (size_t i = 0; i + 1 < r; ++i) {
    AxisMap m = map_axis(x.shape[i], out[i], p.lo[i], p.interior[i]);
    plan.rows *= out[i];
    if (out[i] == 1) {  // the single output row of this axis shows operand index -lo, if any
      int64_t rel = -m.lo;
      if (rel < 0 || rel % m.step != 0 || rel / m.step >= x.shape[i])
        plan.none = true;
      else
        plan.base += rel / m.step * st[i];
      continue;
    }
    check_loops(plan.r + 1, "pad");
    plan.maps[plan.r] = m;
    plan.dims[plan.r] = out[i];
    plan.st[plan.r] = st[i];
    plan.in_dims[plan.r] = x.shape[i];
    ++plan.r;
  }
  return plan;
}

template <class T>
void pad_typed(const PadPlan& plan, const T* src, T* dst, T value) {
  const int64_t row_len = plan.row_len;
  const AxisMap& lm = plan.last;
  const size_t r = plan.r;
  parallel_for(plan.rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_len, 1)),
               [&](int64_t b, int64_t e) {
                 int64_t idx[kMaxLoops];
                 for (int64_t flat = b, i = static_cast<int64_t>(r) - 1; i >= 0; --i) {
                   idx[i] = flat % plan.dims[i];
                   flat /= plan.dims[i];
                 }
                 for (int64_t row = b; row < e; ++row) {
                   T* d = dst + row * row_len;
                   // The operand row this output row shows, if any.
                   const T* s = plan.none ? nullptr : src + plan.base;
                   for (size_t i = 0; s && i < r; ++i) {
                     const AxisMap& m = plan.maps[i];
                     int64_t rel = idx[i] - m.lo;
                     if (rel < 0 || rel % m.step != 0 || rel / m.step >= plan.in_dims[i])
                       s = nullptr;
                     else
                       s += rel / m.step * plan.st[i];
                   }
                   if (!s || lm.count == 0) {
                     std::fill_n(d, row_len, value);
                   } else {
                     const int64_t p0 = lm.lo + lm.first * lm.step;
                     if (lm.step == 1) {
                       std::fill_n(d, p0, value);
                       std::memcpy(d + p0, s + lm.first, static_cast<size_t>(lm.count) * sizeof(T));
                       std::fill(d + p0 + lm.count, d + row_len, value);
                     } else {
                       std::fill_n(d, row_len, value);
                       for (int64_t k = 0; k < lm.count; ++k) d[p0 + k * lm.step] = s[lm.first + k];
                     }
                   }
                   for (int64_t i = static_cast<int64_t>(r) - 1; i >= 0; --i) {
                     if (++idx[i] < plan.dims[i]) break;
                     idx[i] = 0;
                   }
                 }
               });
}

template <class T>
void pad_dispatch(const PadPlan& plan, const Tensor& x, const Tensor& v, const Tensor& out) {
  T value;
  std::memcpy(&value, v.raw_data(), sizeof(T));
  pad_typed(plan, static_cast<const T*>(x.raw_data()), detail::mutable_data<T>(out), value);
}

void run_pad(const PadPlan& plan, std::span<const Tensor> in, const Tensor& out) {
  switch (plan.kind) {
    case PadPlan::Kind::Empty:
      return;
    case PadPlan::Kind::Scalar:
      std::memcpy(detail::mutable_data(out), in[0].raw_data(),
                  static_cast<size_t>(plan.elem_bytes));
      return;
    case PadPlan::Kind::Rows:
      break;
  }
  switch (plan.elem_bytes) {
    case 1:
      return pad_dispatch<uint8_t>(plan, in[0], in[1], out);
    case 2:
      return pad_dispatch<uint16_t>(plan, in[0], in[1], out);
    case 4:
      return pad_dispatch<uint32_t>(plan, in[0], in[1], out);
    default:
      return pad_dispatch<uint64_t>(plan, in[0], in[1], out);
  }
}

class PreparedPad final : public PreparedKernel {
 public:
  explicit PreparedPad(PadPlan p) : p_(std::move(p)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    run_pad(p_, in, out[0]);
  }

 private:
  PadPlan p_;
};

}  // namespace

void kernel_pad(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_pad(plan_pad(std::get<detail::PadParams>(params), in[0].type(), out[0].shape()), in, out[0]);
}

std::unique_ptr<PreparedKernel> prepare_pad(const detail::PadParams& params,
                                            std::span<const TensorType> in,
                                            std::span<const TensorType> out) {
  return std::make_unique<PreparedPad>(plan_pad(params, in[0], out[0].shape));
}

}  // namespace nx::cpu
