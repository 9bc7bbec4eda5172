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
// The addressing depends only on shapes (IndexPlan, made once by compiled code); each call
// computes the index rows' bases into its scratch (and, for scatter_add on f16/bf16, float
// accumulators), so a compiled call allocates nothing.
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
#include "dnnl_common.hpp"
#include "index_plan.hpp"
#include "parallel.hpp"
#include "prepared.hpp"

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
void gather_rows(const IndexPlan& p, const int64_t* base, const U* x, U* y) {
  // Locals, not members: stores through y could alias p's vectors as far as the compiler
  // knows, which would reload them (and serialize the loads) on every element.
  const int64_t slice = p.slice(), inner = p.inner;
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
void scatter_rows(const IndexPlan& p, const int64_t* base, const T* updates, B* y, F combine) {
  const int64_t slice = p.slice(), inner = p.inner, rows = p.rows;  // locals: see gather_rows
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

/// An index primitive planned for its operand shapes: the addressing, and where the index
/// rows' bases (and, for scatter_add on f16/bf16, the float accumulators) go in the scratch.
struct IndexWork {
  IndexPlan plan;
  size_t wide_offset = 0;  ///< scatter_add of f16/bf16: one float per output element
  size_t scratch_bytes = 0;
};

IndexWork plan_index(detail::Prim p, const GatherParams& params, const Shape& x, DType dtype,
                     const Shape& indices) {
  IndexWork w{make_index_plan(x, indices, params.axes)};
  ScratchLayout layout;
  layout.add(static_cast<size_t>(w.plan.rows) * sizeof(int64_t));  // the bases, at 0
  if (p == detail::Prim::scatter_add && (dtype == DType::F16 || dtype == DType::BF16)) {
    w.wide_offset = layout.add(static_cast<size_t>(num_elements(x)) * sizeof(float));
  }
  w.scratch_bytes = layout.bytes();
  return w;
}

/// out = a copy of the operand (the starting point of both scatters).
void copy_operand(const Tensor& x, const Tensor& out) {
  if (x.byte_size() > 0)
    std::memcpy(detail::mutable_data(out), x.raw_data(), static_cast<size_t>(x.byte_size()));
}

void run_gather(const IndexWork& w, std::span<const Tensor> in, const Tensor& out,
                std::byte* scratch) {
  if (out.size() == 0) return;
  auto* base = reinterpret_cast<int64_t*>(scratch);
  index_bases(w.plan, in[1], base);
  visit_word(byte_size(in[0].dtype()), [&](auto* tag) {
    using U = std::remove_pointer_t<decltype(tag)>;
    gather_rows(w.plan, base, static_cast<const U*>(in[0].raw_data()),
                detail::mutable_data<U>(out));
  });
}

void run_scatter_put(const IndexWork& w, std::span<const Tensor> in, const Tensor& out,
                     std::byte* scratch) {
  copy_operand(in[0], out);
  if (in[2].size() == 0) return;
  auto* base = reinterpret_cast<int64_t*>(scratch);
  index_bases(w.plan, in[1], base);
  visit_word(byte_size(in[0].dtype()), [&](auto* tag) {
    using U = std::remove_pointer_t<decltype(tag)>;
    scatter_rows(w.plan, base, static_cast<const U*>(in[2].raw_data()),
                 detail::mutable_data<U>(out), [](U& dst, U src) { dst = src; });
  });
}

void run_scatter_add(const IndexWork& w, std::span<const Tensor> in, const Tensor& out,
                     std::byte* scratch) {
  copy_operand(in[0], out);
  if (in[2].size() == 0) return;
  auto* base = reinterpret_cast<int64_t*>(scratch);
  index_bases(w.plan, in[1], base);
  const IndexPlan& p = w.plan;
  DType dt = in[0].dtype();
  if (is_integer(dt)) {
    // Two's complement addition is the same on signed and unsigned words; unsigned wraps.
    visit_word(byte_size(dt), [&](auto* tag) {
      using U = std::remove_pointer_t<decltype(tag)>;
      scatter_rows(p, base, static_cast<const U*>(in[2].raw_data()), detail::mutable_data<U>(out),
                   [](U& dst, U src) { dst = static_cast<U>(dst + src); });
    });
    return;
  }
  detail::visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (detail::is_half_v<T>) {
      const int64_t n = out.size();
      T* y = detail::mutable_data<T>(out);
      auto* wide = reinterpret_cast<float*>(scratch + w.wide_offset);
      for (int64_t i = 0; i < n; ++i) wide[i] = static_cast<float>(y[i]);
      scatter_rows(p, base, in[2].data<T>(), wide,
                   [](float& dst, T src) { dst += static_cast<float>(src); });
      for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(wide[i]);
    } else if constexpr (std::is_floating_point_v<T>) {
      scatter_rows(p, base, in[2].data<T>(), detail::mutable_data<T>(out),
                   [](T& dst, T src) { dst += src; });
    }
  });
}

using RunIndex = void (*)(const IndexWork&, std::span<const Tensor>, const Tensor&, std::byte*);

RunIndex run_of(detail::Prim p) {
  switch (p) {
    case detail::Prim::gather:
      return &run_gather;
    case detail::Prim::scatter_put:
      return &run_scatter_put;
    default:
      return &run_scatter_add;
  }
}

// The eager kernels: plan and run on the calling thread's scratch.
void run_eager(detail::Prim p, const Params& params, std::span<const Tensor> in,
               const Tensor& out) {
  const IndexWork w =
      plan_index(p, std::get<GatherParams>(params), in[0].shape(), in[0].dtype(), in[1].shape());
  dnnl_util::Scratch scratch;
  run_of(p)(w, in, out, static_cast<std::byte*>(scratch.take(w.scratch_bytes)));
}

class PreparedIndex final : public PreparedKernel {
 public:
  PreparedIndex(RunIndex run, IndexWork w) : run_(run), w_(std::move(w)) {}
  size_t scratch_bytes() const override { return w_.scratch_bytes; }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    run_(w_, in, out[0], static_cast<std::byte*>(scratch));
  }

 private:
  RunIndex run_;
  IndexWork w_;
};

}  // namespace

void kernel_gather(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  run_eager(detail::Prim::gather, params, in, out[0]);
}

void kernel_scatter_put(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_eager(detail::Prim::scatter_put, params, in, out[0]);
}

void kernel_scatter_add(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_eager(detail::Prim::scatter_add, params, in, out[0]);
}

std::unique_ptr<PreparedKernel> prepare_index(detail::Prim p, const Params& params,
                                              std::span<const TensorType> in,
                                              std::span<const TensorType>) {
  return std::make_unique<PreparedIndex>(
      run_of(p),
      plan_index(p, std::get<GatherParams>(params), in[0].shape, in[0].dtype, in[1].shape));
}

}  // namespace nx::cpu
