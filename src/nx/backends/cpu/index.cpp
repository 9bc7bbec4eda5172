// gather, scatter_add and scatter_put (Nx.gather / Nx.indexed_add / Nx.indexed_put with :axes).
//
// The last axis of `indices` holds one index per axis in GatherParams::axes; each index row
// addresses the full slice of the operand over the other axes.
// - Out-of-range indices are clamped into [0, size - 1] of their axis, for gather and for both
//   scatters (so an out-of-range update lands on the nearest edge rather than being dropped).
// - scatter_put with repeated positions: the update of the last index row (in row-major order
//   of the indices) wins.
// - scatter_add accumulates repeated positions in index-row order (deterministic); integer
//   sums wrap around modulo 2^bits; f16/bf16 accumulate in float and round once at the end.
//
// gather and scatter_put only move bits, so they run on unsigned words of the element's size.
// Scatters run in parallel over the slice elements: two index rows can only collide on the same
// slice element, so every thread owns a disjoint set of output positions and visits the rows in
// order, which keeps "last wins" and the summation order exact.
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "index_plan.hpp"
#include "parallel.hpp"

namespace nx::cpu {

namespace {

using detail::GatherParams;

/// Calls f with a null pointer of the unsigned word type of `bytes` (1, 2, 4 or 8).
template <class F>
void visit_word(int bytes, F&& f) {
  switch (bytes) {
    case 1:
      f(static_cast<uint8_t*>(nullptr));
      break;
    case 2:
      f(static_cast<uint16_t*>(nullptr));
      break;
    case 4:
      f(static_cast<uint32_t*>(nullptr));
      break;
    default:
      f(static_cast<uint64_t*>(nullptr));
      break;
  }
}

template <class U>
void gather_rows(const IndexPlan& p, const U* x, U* y) {
  // Locals, not members: stores through y could alias p's vectors as far as the compiler
  // knows, which would reload them (and serialize the loads) on every element.
  const int64_t slice = p.slice(), inner = p.inner;
  const int64_t* base = p.base.data();
  const int64_t* outer = p.outer.data();
  const int64_t runs = static_cast<int64_t>(p.outer.size());
  parallel_for(p.rows, std::max<int64_t>(1, kParallelGrain / slice), [=](int64_t b, int64_t e) {
    if (slice == 1) {  // scalar slices: a plain indexed load
      const U* src = x + outer[0];
      for (int64_t r = b; r < e; ++r) y[r] = src[base[r]];
      return;
    }
    for (int64_t r = b; r < e; ++r) {
      U* dst = y + r * slice;
      const U* row = x + base[r];
      for (int64_t j = 0; j < runs; ++j) {
        const U* src = row + outer[j];
        if (inner == 1) {
          dst[j] = *src;
        } else {
          std::memcpy(dst + j * inner, src, static_cast<size_t>(inner) * sizeof(U));
        }
      }
    }
  });
}

/// For every index row in order, calls combine(y[position], updates[element]) on the slice
/// elements [e0, e1) that this thread owns.
template <class B, class T, class F>
void scatter_rows(const IndexPlan& p, const T* updates, B* y, F combine) {
  const int64_t slice = p.slice(), inner = p.inner, rows = p.rows;
  const int64_t* base = p.base.data();  // locals: see gather_rows
  const int64_t* outer = p.outer.data();
  if (slice == 1) {  // scalar slices: one sequential pass (positions may repeat)
    B* dst = y + outer[0];
    for (int64_t r = 0; r < rows; ++r) combine(dst[base[r]], updates[r]);
    return;
  }
  parallel_for(slice, std::max<int64_t>(1, kParallelGrain / rows), [=](int64_t e0, int64_t e1) {
    const int64_t j0 = e0 / inner;
    for (int64_t r = 0; r < rows; ++r) {
      const T* u = updates + r * slice;
      B* row = y + base[r];
      int64_t i0 = e0 - j0 * inner;
      for (int64_t j = j0, e = e0; e < e1; ++j) {
        const int64_t i1 = std::min(inner, i0 + (e1 - e));
        B* dst = row + outer[j];
        const T* src = u + j * inner;
        for (int64_t i = i0; i < i1; ++i) combine(dst[i], src[i]);
        e += i1 - i0;
        i0 = 0;
      }
    }
  });
}

IndexPlan plan_of(const Params& params, std::span<const Tensor> in) {
  return make_index_plan(in[0].shape(), in[1], std::get<GatherParams>(params).axes);
}

/// out = a copy of the operand (the starting point of both scatters).
void copy_operand(const Tensor& x, const Tensor& out) {
  if (x.byte_size() > 0)
    std::memcpy(detail::mutable_data(out), x.raw_data(), static_cast<size_t>(x.byte_size()));
}

}  // namespace

void kernel_gather(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  IndexPlan p = plan_of(params, in);
  visit_word(byte_size(in[0].dtype()), [&](auto* tag) {
    using U = std::remove_pointer_t<decltype(tag)>;
    gather_rows(p, static_cast<const U*>(in[0].raw_data()), detail::mutable_data<U>(out[0]));
  });
}

void kernel_scatter_put(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  copy_operand(in[0], out[0]);
  if (in[2].size() == 0) return;
  IndexPlan p = plan_of(params, in);
  visit_word(byte_size(in[0].dtype()), [&](auto* tag) {
    using U = std::remove_pointer_t<decltype(tag)>;
    scatter_rows(p, static_cast<const U*>(in[2].raw_data()), detail::mutable_data<U>(out[0]),
                 [](U& dst, U src) { dst = src; });
  });
}

void kernel_scatter_add(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  copy_operand(in[0], out[0]);
  if (in[2].size() == 0) return;
  IndexPlan p = plan_of(params, in);
  DType dt = in[0].dtype();
  if (is_integer(dt)) {
    // Two's complement addition is the same on signed and unsigned words; unsigned wraps.
    visit_word(byte_size(dt), [&](auto* tag) {
      using U = std::remove_pointer_t<decltype(tag)>;
      scatter_rows(p, static_cast<const U*>(in[2].raw_data()), detail::mutable_data<U>(out[0]),
                   [](U& dst, U src) { dst = static_cast<U>(dst + src); });
    });
    return;
  }
  detail::visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (detail::is_half_v<T>) {
      const int64_t n = out[0].size();
      T* y = detail::mutable_data<T>(out[0]);
      std::vector<float> wide(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) wide[static_cast<size_t>(i)] = static_cast<float>(y[i]);
      scatter_rows(p, in[2].data<T>(), wide.data(),
                   [](float& dst, T src) { dst += static_cast<float>(src); });
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(wide[static_cast<size_t>(i)]);
    } else if constexpr (std::is_floating_point_v<T>) {
      scatter_rows(p, in[2].data<T>(), detail::mutable_data<T>(out[0]),
                   [](T& dst, T src) { dst += src; });
    }
  });
}

}  // namespace nx::cpu
