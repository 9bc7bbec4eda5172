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
void copy_rows(const CopyPlan& plan, const T* src, T* dst) {
  const CopyDim inner = plan.dims[plan.nd - 1];
  const std::span<const CopyDim> outer = plan.outer_loops();
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
void copy_typed(const CopyPlan& plan, const T* src, T* dst) {
  switch (plan.kind) {
    case CopyPlan::Kind::Empty:
      return;
    case CopyPlan::Kind::One:
      *dst = *src;
      return;
    case CopyPlan::Kind::Rows:
      return copy_rows(plan, src, dst);
    case CopyPlan::Kind::Transpose:
      return transposed_copy(plan, src, dst);
  }
}

}  // namespace

CopyPlan plan_copy(int elem_bytes, std::span<const CopyDim> dims) {
  CopyPlan plan;
  plan.elem_bytes = elem_bytes;
  // collapse_copy_dims, into the plan's array.
  for (const CopyDim& d : dims) {
    if (d.size == 0) return plan;  // Empty
    if (d.size == 1) continue;
    if (plan.nd > 0) {
      CopyDim& prev = plan.dims[plan.nd - 1];
      if (prev.src_stride == d.src_stride * d.size && prev.dst_stride == d.dst_stride * d.size) {
        prev.size *= d.size;
        prev.src_stride = d.src_stride;
        prev.dst_stride = d.dst_stride;
        continue;
      }
    }
    check_loops(plan.nd + 1, "strided copy");
    plan.dims[plan.nd++] = d;
  }
  const size_t nd = plan.nd;
  const CopyDim* d = plan.dims;
  if (nd == 0) {
    plan.kind = CopyPlan::Kind::One;
    return plan;
  }
  if (nd >= 2 && d[nd - 1].dst_stride == 1 && d[nd - 1].src_stride != 1 &&
      d[nd - 1].src_stride != 0) {
    for (size_t k = 0; k + 1 < nd; ++k) {
      if (d[k].src_stride != 1) continue;
      plan.kind = CopyPlan::Kind::Transpose;
      plan.k = k;
      for (size_t i = 0; i + 1 < nd; ++i)
        if (i != k) plan.outer[plan.nouter++] = d[i];
      return plan;
    }
  }
  plan.kind = CopyPlan::Kind::Rows;
  return plan;
}

void run_copy(const CopyPlan& plan, const void* src, void* dst) {
  switch (plan.elem_bytes) {
    case 1:
      return copy_typed(plan, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case 2:
      return copy_typed(plan, static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst));
    case 4:
      return copy_typed(plan, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst));
    default:
      return copy_typed(plan, static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst));
  }
}

void strided_copy(int elem_bytes, std::span<const CopyDim> dims, const void* src, void* dst) {
  run_copy(plan_copy(elem_bytes, dims), src, dst);
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
