// The strided copy engine (see movement_copy.hpp).
#include "movement_copy.hpp"

#include <algorithm>
#include <cstring>

#include "parallel.hpp"

namespace nx::cpu {

namespace {

// Elements are moved as unsigned integers of their width: movement never looks at values.
template <class T>
void copy_run(const T* s, int64_t ss, T* d, int64_t ds, int64_t n) {
  if (ss == 1 && ds == 1) {
    std::memcpy(d, s, static_cast<size_t>(n) * sizeof(T));
  } else if (ss == 0 && ds == 1) {
    std::fill_n(d, n, *s);
  } else if (ss == -1 && ds == 1) {  // reverse: a constant step lets the loop vectorize
    for (int64_t i = 0; i < n; ++i) d[i] = s[-i];
  } else if (ds == 1) {
    for (int64_t i = 0; i < n; ++i) d[i] = s[i * ss];
  } else {
    for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
  }
}

// Rows of the innermost loop, each handled by copy_run; the outer loops split across threads.
template <class T>
void copy_rows(const std::vector<CopyDim>& dims, const T* src, T* dst) {
  if (dims.empty()) {
    *dst = *src;
    return;
  }
  const CopyDim inner = dims.back();
  std::vector<CopyDim> outer(dims.begin(), dims.end() - 1);
  int64_t rows = 1;
  for (const CopyDim& d : outer) rows *= d.size;
  int64_t grain = std::max<int64_t>(1, kParallelGrain / inner.size);
  parallel_for(rows, grain, [&](int64_t b, int64_t e) {
    Odometer od(outer, b);
    for (int64_t r = b; r < e; ++r, od.next()) {
      copy_run(src + od.src(), inner.src_stride, dst + od.dst(), inner.dst_stride, inner.size);
    }
  });
}

template <class T>
void copy_typed(std::vector<CopyDim> dims, const T* src, T* dst) {
  if (!collapse_copy_dims(dims)) return;
  if (dims.size() >= 2 && dims.back().dst_stride == 1 && dims.back().src_stride != 1 &&
      dims.back().src_stride != 0) {
    for (size_t k = 0; k + 1 < dims.size(); ++k) {
      if (dims[k].src_stride == 1) return transposed_copy(sizeof(T), dims, k, src, dst);
    }
  }
  copy_rows(dims, src, dst);
}

}  // namespace

void strided_copy(int elem_bytes, std::vector<CopyDim> dims, const void* src, void* dst) {
  switch (elem_bytes) {
    case 1:
      return copy_typed(std::move(dims), static_cast<const uint8_t*>(src),
                        static_cast<uint8_t*>(dst));
    case 2:
      return copy_typed(std::move(dims), static_cast<const uint16_t*>(src),
                        static_cast<uint16_t*>(dst));
    case 4:
      return copy_typed(std::move(dims), static_cast<const uint32_t*>(src),
                        static_cast<uint32_t*>(dst));
    default:
      return copy_typed(std::move(dims), static_cast<const uint64_t*>(src),
                        static_cast<uint64_t*>(dst));
  }
}

namespace {
template <class T>
void fill_typed(T* dst, int64_t n, const void* value) {
  T v;
  std::memcpy(&v, value, sizeof(T));
  parallel_for(n, 4 * kParallelGrain,
               [&](int64_t b, int64_t e) { std::fill(dst + b, dst + e, v); });
}
}  // namespace

void fill_elements(int elem_bytes, void* dst, int64_t n, const void* value) {
  switch (elem_bytes) {
    case 1:
      return fill_typed(static_cast<uint8_t*>(dst), n, value);
    case 2:
      return fill_typed(static_cast<uint16_t*>(dst), n, value);
    case 4:
      return fill_typed(static_cast<uint32_t*>(dst), n, value);
    default:
      return fill_typed(static_cast<uint64_t*>(dst), n, value);
  }
}

}  // namespace nx::cpu
