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

template <class T>
void pad_typed(const T* src, const Shape& in_shape, T* dst, const Shape& out_shape,
               const std::vector<AxisMap>& maps, T value) {
  const size_t r = out_shape.size();
  const int64_t row_len = out_shape[r - 1];
  const AxisMap& lm = maps[r - 1];
  std::vector<int64_t> st = strides_of(in_shape);
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; ++i) rows *= out_shape[i];
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(row_len, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<int64_t> idx(r - 1);
                 for (int64_t flat = b, i = static_cast<int64_t>(r) - 2; i >= 0; --i) {
                   idx[i] = flat % out_shape[i];
                   flat /= out_shape[i];
                 }
                 for (int64_t row = b; row < e; ++row) {
                   T* d = dst + row * row_len;
                   // The operand row this output row shows, if any.
                   const T* s = src;
                   for (size_t i = 0; s && i + 1 < r; ++i) {
                     int64_t rel = idx[i] - maps[i].lo;
                     if (rel < 0 || rel % maps[i].step != 0 || rel / maps[i].step >= in_shape[i])
                       s = nullptr;
                     else
                       s += rel / maps[i].step * st[i];
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
                   for (int64_t i = static_cast<int64_t>(r) - 2; i >= 0; --i) {
                     if (++idx[i] < out_shape[i]) break;
                     idx[i] = 0;
                   }
                 }
               });
}

template <class T>
void pad_dispatch(const Tensor& x, const Tensor& v, const Tensor& out,
                  const std::vector<AxisMap>& maps) {
  T value;
  std::memcpy(&value, v.raw_data(), sizeof(T));
  pad_typed(static_cast<const T*>(x.raw_data()), x.shape(), detail::mutable_data<T>(out),
            out.shape(), maps, value);
}

}  // namespace

void kernel_pad(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::PadParams>(params);
  const Tensor& x = in[0];
  const int eb = byte_size(x.dtype());
  if (x.rank() == 0) {
    std::memcpy(detail::mutable_data(out[0]), x.raw_data(), static_cast<size_t>(eb));
    return;
  }
  if (out[0].size() == 0) return;
  std::vector<AxisMap> maps(static_cast<size_t>(x.rank()));
  for (size_t i = 0; i < maps.size(); ++i) {
    maps[i] = map_axis(x.shape()[i], out[0].shape()[i], p.lo[i], p.interior[i]);
  }
  switch (eb) {
    case 1:
      return pad_dispatch<uint8_t>(x, in[1], out[0], maps);
    case 2:
      return pad_dispatch<uint16_t>(x, in[1], out[0], maps);
    case 4:
      return pad_dispatch<uint32_t>(x, in[1], out[0], maps);
    default:
      return pad_dispatch<uint64_t>(x, in[1], out[0], maps);
  }
}

}  // namespace nx::cpu
