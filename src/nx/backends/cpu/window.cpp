// Window reductions (XLA ReduceWindow): window_sum, window_product, window_max, window_min.
//
// Semantics at the edges:
// - Padding holds the reduction's identity (0, 1, -inf or the type's lowest, +inf or the type's
//   highest), so padded positions are simply skipped; a window made only of padding yields
//   the identity.
// - window_max/window_min propagate NaN (a window holding a NaN reduces to NaN).
// - Integer sums and products wrap around modulo 2^bits (computed in unsigned arithmetic).
// - f16/bf16 accumulate in float and round once at the end.
//
// The operand is seen as rows of its last axis (see window_plan.hpp). For each output row the
// kernel first combines the input rows its window covers elementwise (a vertical pass that
// vectorizes), then slides the window of the last axis over that combined row (a horizontal
// pass). For NCHW pooling with a 1x1xKxK window this reads each input row K times from cache
// and never materializes padding.
#include <cmath>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "dnnl_common.hpp"
#include "dnnl_pool.hpp"
#include "parallel.hpp"
#include "prepared.hpp"
#include "scratch_plan.hpp"
#include "window_plan.hpp"

namespace nx::cpu {

namespace {

using detail::compute_t;
using detail::is_half_v;

/// Output columns processed per work item: keeps the combined row in L1/L2.
constexpr int64_t kColumnChunk = 2048;

// ---- the four reductions ------------------------------------------------------------------

/// The accumulator of sums and products: float for f16/bf16, unsigned (wrapping) integers of
/// at least 32 bits for integers, the type itself otherwise.
template <class T>
struct ArithAcc {
  using type = compute_t<T>;
};
template <class T>
requires std::is_integral_v<T>
struct ArithAcc<T> {
  using type = std::conditional_t<sizeof(T) <= 4, uint32_t, uint64_t>;
};

struct SumOp {
  template <class T>
  using acc = typename ArithAcc<T>::type;
  template <class A>
  static A identity() {
    return A(0);
  }
  template <class A>
  static A combine(A a, A b) {
    return a + b;
  }
};
struct ProductOp {
  template <class T>
  using acc = typename ArithAcc<T>::type;
  template <class A>
  static A identity() {
    return A(1);
  }
  template <class A>
  static A combine(A a, A b) {
    return a * b;
  }
};
struct MaxOp {
  template <class T>
  using acc = compute_t<T>;
  template <class A>
  static A identity() {
    if constexpr (std::is_floating_point_v<A>)
      return -std::numeric_limits<A>::infinity();
    else
      return std::numeric_limits<A>::lowest();
  }
  // b != b is true only for NaN, which then sticks: NaN > x and x > NaN are both false.
  template <class A>
  static A combine(A a, A b) {
    return (b > a || b != b) ? b : a;
  }
};
struct MinOp {
  template <class T>
  using acc = compute_t<T>;
  template <class A>
  static A identity() {
    if constexpr (std::is_floating_point_v<A>)
      return std::numeric_limits<A>::infinity();
    else
      return std::numeric_limits<A>::max();
  }
  template <class A>
  static A combine(A a, A b) {
    return (b < a || b != b) ? b : a;
  }
};

/// One window reduction planned for fixed shapes: the geometry, the work split, and the scratch
/// each parallel chunk gets (covered_rows' work and offsets, the combined row, accumulators).
struct ReducePlan {
  WindowPlan p;
  DType dtype = DType::F32;
  bool empty = false;
  int64_t column_chunks = 1, items = 0, grain = 1, chunks = 1;
  size_t work_at = 0, rows_at = 0, line_at = 0, acc_at = 0;
  size_t chunk_bytes = 0, scratch_bytes = 0;
};

ReducePlan plan_reduce(const detail::WindowParams& params, const TensorType& in, const Shape& out) {
  ReducePlan r;
  r.dtype = in.dtype;
  r.empty = num_elements(out) == 0;
  if (r.empty) return r;
  r.p = make_window_plan(params, in.shape, out);
  const WindowAxis& last = r.p.last;
  r.column_chunks = (last.out + kColumnChunk - 1) / kColumnChunk;
  r.items = r.p.out_rows * r.column_chunks;
  const int64_t cols = std::min(last.out, kColumnChunk);
  const int64_t work = cols * r.p.rows_per_window * last.window + 1;
  r.grain = std::max<int64_t>(1, kParallelGrain / work);
  r.chunks = chunk_count(r.items, r.grain);
  // Accumulators are at most 8 bytes; the combined row spans the operand columns the outputs
  // of one column chunk read.
  const int64_t line =
      std::min(last.size, (cols - 1) * last.stride + (last.window - 1) * last.dilation + 1);
  ScratchLayout l;
  r.work_at = l.add(covered_rows_work(r.p) * sizeof(int64_t));
  r.rows_at = l.add(static_cast<size_t>(r.p.rows_per_window) * sizeof(int64_t));
  r.line_at = l.add(static_cast<size_t>(std::max<int64_t>(line, 1)) * 8);
  r.acc_at = l.add(static_cast<size_t>(cols) * 8);
  r.chunk_bytes = l.bytes();
  r.scratch_bytes = r.chunk_bytes * static_cast<size_t>(r.chunks);
  return r;
}

template <class T, class Op>
void reduce_window(const ReducePlan& plan, const T* x, T* y, std::byte* scratch) {
  using A = typename Op::template acc<T>;
  const WindowPlan& p = plan.p;
  const WindowAxis& last = p.last;
  const int64_t chunks = plan.column_chunks;
  const A id = Op::template identity<A>();
  const bool plain_last = last.window == 1 && last.stride == 1 && last.lo == 0;

  parallel_chunks(plan.items, plan.grain, plan.chunks, [&](int64_t chunk, int64_t b, int64_t e) {
    std::byte* mine = scratch + static_cast<size_t>(chunk) * plan.chunk_bytes;
    auto* work = reinterpret_cast<int64_t*>(mine + plan.work_at);
    auto* rows = reinterpret_cast<int64_t*>(mine + plan.rows_at);
    A* l = reinterpret_cast<A*>(mine + plan.line_at);  // the combined input row segment
    A* a = reinterpret_cast<A*>(mine + plan.acc_at);   // a[c - c0] accumulates output c
    for (int64_t item = b; item < e; ++item) {
      int64_t row = item / chunks;
      int64_t c0 = (item % chunks) * kColumnChunk;
      int64_t c1 = std::min(last.out, c0 + kColumnChunk);
      T* dst = y + row * last.out;
      const int64_t nrows = covered_rows(p, row, work, rows);
      // Operand columns the outputs [c0, c1) can read.
      int64_t in0 = std::max<int64_t>(0, last.start(c0));
      int64_t in1 = std::min(last.size, last.start(c1 - 1) + (last.window - 1) * last.dilation + 1);
      if (nrows == 0 || in1 <= in0) {
        for (int64_t c = c0; c < c1; ++c) dst[c] = static_cast<T>(id);
        continue;
      }
      // Vertical pass: combine the covered rows elementwise.
      int64_t len = in1 - in0;
      const T* first = x + rows[0] + in0;
      for (int64_t i = 0; i < len; ++i) l[i] = static_cast<A>(first[i]);
      for (int64_t r = 1; r < nrows; ++r) {
        const T* src = x + rows[r] + in0;
        for (int64_t i = 0; i < len; ++i) l[i] = Op::combine(l[i], static_cast<A>(src[i]));
      }
      if (plain_last) {
        for (int64_t c = c0; c < c1; ++c) dst[c] = static_cast<T>(l[c - in0]);
        continue;
      }
      // Horizontal pass. Outputs whose whole window is inside the operand take the
      // vectorizable path (window position outer, output inner); the rest go one by one.
      const int64_t span = (last.window - 1) * last.dilation;
      int64_t full0 = (last.lo + last.stride - 1) / last.stride;
      int64_t full1 = last.size - 1 - span + last.lo < 0
                          ? 0
                          : (last.size - 1 - span + last.lo) / last.stride + 1;
      full0 = std::clamp(full0, c0, c1);
      full1 = std::clamp(full1, full0, c1);
      for (int64_t c = full0; c < full1; ++c) a[c - c0] = id;
      for (int64_t k = 0; k < last.window; ++k) {
        // Output c reads line[s * c + base] at window position k.
        const int64_t base = k * last.dilation - last.lo - in0;
        const int64_t s = last.stride;
        if (s == 1) {
          for (int64_t c = full0; c < full1; ++c) a[c - c0] = Op::combine(a[c - c0], l[c + base]);
        } else if (s == 2) {
          for (int64_t c = full0; c < full1; ++c)
            a[c - c0] = Op::combine(a[c - c0], l[2 * c + base]);
        } else {
          for (int64_t c = full0; c < full1; ++c)
            a[c - c0] = Op::combine(a[c - c0], l[s * c + base]);
        }
      }
      auto edge = [&](int64_t c) {
        int64_t k0, k1;
        last.valid(c, k0, k1);
        A v = id;
        for (int64_t k = k0; k < k1; ++k) {
          v = Op::combine(v, l[last.start(c) + k * last.dilation - in0]);
        }
        a[c - c0] = v;
      };
      for (int64_t c = c0; c < full0; ++c) edge(c);
      for (int64_t c = full1; c < c1; ++c) edge(c);
      for (int64_t c = c0; c < c1; ++c) dst[c] = static_cast<T>(a[c - c0]);
    }
  });
}

template <class Op>
void run_reduce_as(const ReducePlan& plan, const Tensor& x, Tensor& y, void* scratch) {
  detail::visit_dtype(plan.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      reduce_window<T, Op>(plan, x.data<T>(), detail::mutable_data<T>(y),
                           static_cast<std::byte*>(scratch));
    }
  });
}

void run_reduce(detail::Prim op, const ReducePlan& plan, const Tensor& x, Tensor& y,
                void* scratch) {
  if (plan.empty) return;
  switch (op) {
    case detail::Prim::window_sum:
      return run_reduce_as<SumOp>(plan, x, y, scratch);
    case detail::Prim::window_product:
      return run_reduce_as<ProductOp>(plan, x, y, scratch);
    case detail::Prim::window_max:
      return run_reduce_as<MaxOp>(plan, x, y, scratch);
    default:
      return run_reduce_as<MinOp>(plan, x, y, scratch);
  }
}

// Eager: plan, then run on the calling thread's scratch.
void eager_reduce(detail::Prim op, const Params& params, std::span<const Tensor> in,
                  std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  const ReducePlan plan =
      plan_reduce(std::get<detail::WindowParams>(params), in[0].type(), out[0].shape());
  dnnl_util::Scratch scratch;
  run_reduce(op, plan, in[0], out[0], scratch.take(plan.scratch_bytes));
}

class PreparedReduce final : public PreparedKernel {
 public:
  PreparedReduce(detail::Prim op, ReducePlan plan) : op_(op), plan_(std::move(plan)) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    run_reduce(op_, plan_, in[0], out[0], scratch);
  }

 private:
  detail::Prim op_;
  ReducePlan plan_;
};

}  // namespace

std::unique_ptr<PreparedKernel> prepare_window_reduce(detail::Prim p, const detail::Params& params,
                                                      std::span<const TensorType> in,
                                                      std::span<const TensorType> out) {
  return std::make_unique<PreparedReduce>(
      p, plan_reduce(std::get<detail::WindowParams>(params), in[0], out[0].shape));
}

// Poolings go to oneDNN when it computes what our loops do (dnnl_pool.hpp); the rest stays here.
void kernel_window_sum(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  if (dnnl_pool(PoolOp::Sum, std::get<detail::WindowParams>(p), in, out[0])) return;
  eager_reduce(detail::Prim::window_sum, p, in, out);
}
void kernel_window_product(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  eager_reduce(detail::Prim::window_product, p, in, out);
}
void kernel_window_max(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  if (dnnl_pool(PoolOp::Max, std::get<detail::WindowParams>(p), in, out[0])) return;
  eager_reduce(detail::Prim::window_max, p, in, out);
}
void kernel_window_min(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  eager_reduce(detail::Prim::window_min, p, in, out);
}

}  // namespace nx::cpu
