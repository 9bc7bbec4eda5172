// Element-level helpers for loaders.
#include "array_layout.hpp"

#include <cstring>
#include <vector>

#include "../core/tensor_impl.hpp"
#include "byte_io.hpp"

namespace nx::io::detail {

int64_t checked_num_elements(const Shape& shape, const std::string& where) {
  // The product of the non-zero dimensions must fit even when a zero makes the array empty:
  // strides and the rest of nx multiply dimensions without expecting overflow.
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) fail(where, "negative dimension in shape " + shape_repr(shape));
    if (d == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(n, d, &n)) {
      fail(where, "the shape " + shape_repr(shape) + " has more elements than fit in 64 bits");
    }
  }
  return empty ? 0 : n;
}

uint64_t checked_byte_size(int64_t count, DType dtype, const std::string& where) {
  int64_t bytes = 0;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(byte_size(dtype)), &bytes)) {
    fail(where, "an array of " + std::to_string(count) + " " + std::string(dtype_name(dtype)) +
                    " elements does not fit in 64-bit byte offsets");
  }
  return static_cast<uint64_t>(bytes);
}

void fix_elements(const Tensor& fresh, bool big_endian) {
  const int64_t n = fresh.size();
  void* data = nx::detail::mutable_data(fresh);
  if (fresh.dtype() == DType::Pred) {
    auto* p = static_cast<uint8_t*>(data);
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] != 0;
    return;
  }
  if (!big_endian) return;
  switch (byte_size(fresh.dtype())) {
    case 2: {
      auto* p = static_cast<uint16_t*>(data);
      for (int64_t i = 0; i < n; ++i) p[i] = __builtin_bswap16(p[i]);
      break;
    }
    case 4: {
      auto* p = static_cast<uint32_t*>(data);
      for (int64_t i = 0; i < n; ++i) p[i] = __builtin_bswap32(p[i]);
      break;
    }
    case 8: {
      auto* p = static_cast<uint64_t*>(data);
      for (int64_t i = 0; i < n; ++i) p[i] = __builtin_bswap64(p[i]);
      break;
    }
    default:
      break;
  }
}

namespace {

template <class E>
void reverse_copy(const E* src, E* dst, const Shape& out_shape) {
  const size_t rank = out_shape.size();
  // Output axis k walks input axis rank-1-k, whose stride is the input's row-major stride.
  std::vector<int64_t> in_shape(out_shape.rbegin(), out_shape.rend());
  std::vector<int64_t> in_strides = strides_of(in_shape);
  std::vector<int64_t> step(rank);
  for (size_t k = 0; k < rank; ++k) step[k] = in_strides[rank - 1 - k];
  std::vector<int64_t> idx(rank, 0);
  const int64_t inner = out_shape[rank - 1], inner_step = step[rank - 1];
  const int64_t outer = num_elements(out_shape) / inner;
  int64_t base = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) *dst++ = src[base + j * inner_step];
    for (size_t k = rank - 1; k-- > 0;) {  // odometer over the outer axes
      base += step[k];
      if (++idx[k] < out_shape[k]) break;
      base -= step[k] * out_shape[k];
      idx[k] = 0;
    }
  }
}

}  // namespace

Tensor reverse_axes(const Tensor& t) {
  Shape out_shape(t.shape().rbegin(), t.shape().rend());
  Tensor out = nx::detail::make_tensor(TensorType{out_shape, t.dtype()});
  if (t.size() == 0) return out;
  const void* src = t.raw_data();
  void* dst = nx::detail::mutable_data(out);
  switch (byte_size(t.dtype())) {
    case 1:
      reverse_copy(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), out_shape);
      break;
    case 2:
      reverse_copy(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst), out_shape);
      break;
    case 4:
      reverse_copy(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst), out_shape);
      break;
    default:
      reverse_copy(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst), out_shape);
      break;
  }
  return out;
}

}  // namespace nx::io::detail
