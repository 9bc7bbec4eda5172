// Select-and-scatter (XLA SelectAndScatter with select = ge or le): window_scatter_max and
// window_scatter_min, the gradients of max and min pooling.
//
// Inputs are the operand, the source (one value per window: the window-reduction output shape)
// and a scalar init value. The output has the operand's shape, starts as init everywhere, and
// each source value is added at the position its window selects:
// - window_scatter_max selects the first (row-major within the window) element that is >= all
//   others; window_scatter_min the first that is <= all others.
// - NaN counts as the extreme, as in window_max/window_min and argmax: a window holding a NaN
//   selects its first NaN.
// - Padding is never selected; the source value of a window made only of padding is dropped.
// - Integer additions wrap around modulo 2^bits; f16/bf16 accumulate in float and round once.
#include <algorithm>
#include <cmath>
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

/// a + b, wrapping for integers (signed overflow is undefined in C++; unsigned wraps).
template <class B>
B wrap_add(B a, B b) {
  if constexpr (std::is_integral_v<B>) {
    using U = std::conditional_t<sizeof(B) <= 4, uint32_t, uint64_t>;
    return static_cast<B>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

/// Whether v replaces the current selection `best`: strictly better, or the first NaN (NaN
/// counts as the extreme and the earliest one stays). Ties keep the earlier element.
/// Branch-free so that the interior loop below vectorizes.
template <bool kMax, class C>
bool better(C v, C best) {
  bool wins = kMax ? v > best : v < best;
  if constexpr (std::is_floating_point_v<C>)
    return wins || (v != v && best == best);
  else
    return wins;
}

/// One select-and-scatter planned for fixed shapes: the geometry, the split of its blocks
/// over threads, and each chunk's scratch (covered_rows' work and offsets, the selection per
/// column, and for f16/bf16 a float copy of one block).
struct ScatterPlan {
  WindowPlan p;
  DType dtype = DType::F32;
  bool empty = false;
  int64_t block_size = 0, grain = 1, chunks = 1;
  size_t work_at = 0, rows_at = 0, best_v_at = 0, best_at_at = 0, wide_at = 0;
  size_t chunk_bytes = 0, scratch_bytes = 0;
};

/// Scatters the source of output rows [r0, r1) into `acc`, the accumulators of the operand
/// elements from `acc_base` on.
/// Per row, the selection runs over all columns at once (window position outer, column
/// inner, so it vectorizes) for columns whose window lies inside the last axis, and column by
/// column at the edges; the additions then run in column order.
template <bool kMax, class T, class B>
void scatter_rows(const ScatterPlan& plan, int64_t r0, int64_t r1, const T* x, const T* src, B* acc,
                  int64_t acc_base, std::byte* mine) {
  const WindowPlan& p = plan.p;
  using C = compute_t<T>;
  const WindowAxis& last = p.last;
  const int64_t s = last.stride, dil = last.dilation;
  const int64_t span = (last.window - 1) * dil;
  // Columns [full0, full1) have their whole window inside the operand's last axis.
  const int64_t full0 = std::min(last.out, (last.lo + s - 1) / s);
  const int64_t full1 =
      std::clamp(last.size - 1 - span + last.lo < 0 ? 0 : (last.size - 1 - span + last.lo) / s + 1,
                 full0, last.out);
  auto* work = reinterpret_cast<int64_t*>(mine + plan.work_at);
  auto* rows = reinterpret_cast<int64_t*>(mine + plan.rows_at);
  C* bv = reinterpret_cast<C*>(mine + plan.best_v_at);
  auto* bo = reinterpret_cast<int64_t*>(mine + plan.best_at_at);
  for (int64_t row = r0; row < r1; ++row) {
    const int64_t nrows = covered_rows(p, row, work, rows);
    if (nrows == 0) continue;  // all padding: the whole row of sources is dropped
    // Window positions in row-major order: covered rows, then the last axis.
    for (int64_t c = full0; c < full1; ++c) {
      bo[c] = rows[0] + last.start(c);
      bv[c] = static_cast<C>(x[bo[c]]);
    }
    for (int64_t ri = 0; ri < nrows; ++ri) {
      const int64_t r = rows[ri];
      for (int64_t k = 0; k < last.window; ++k) {
        const int64_t base = r + k * dil - last.lo;
        for (int64_t c = full0; c < full1; ++c) {
          const int64_t off = base + s * c;
          const C v = static_cast<C>(x[off]);
          if (better<kMax>(v, bv[c])) {
            bv[c] = v;
            bo[c] = off;
          }
        }
      }
    }
    auto edge = [&](int64_t c) {
      int64_t k0, k1;
      last.valid(c, k0, k1);
      bo[c] = -1;
      if (k1 <= k0) return;  // all padding: dropped
      const int64_t first = last.start(c) + k0 * dil;
      int64_t best = rows[0] + first;
      C v_best = static_cast<C>(x[best]);
      for (int64_t ri = 0; ri < nrows; ++ri) {
        for (int64_t k = 0, off = rows[ri] + first; k < k1 - k0; ++k, off += dil) {
          C v = static_cast<C>(x[off]);
          if (better<kMax>(v, v_best)) best = off, v_best = v;
        }
      }
      bo[c] = best;
    };
    for (int64_t c = 0; c < full0; ++c) edge(c);
    for (int64_t c = full1; c < last.out; ++c) edge(c);
    const T* sr = src + row * last.out;
    for (int64_t c = 0; c < last.out; ++c) {
      if (bo[c] < 0) continue;
      B& a = acc[bo[c] - acc_base];
      a = wrap_add(a, static_cast<B>(sr[c]));
    }
  }
}

/// Output block `blk` (operand elements [blk * size, (blk + 1) * size)): filled with init just
/// before its scatter, while it is in cache. f16/bf16 accumulate in a float copy in `mine`.
template <bool kMax, class T, class B>
void scatter_block(const ScatterPlan& plan, int64_t blk, const T* x, const T* src, T init, T* y,
                   std::byte* mine) {
  const int64_t size = plan.block_size;
  B* acc = nullptr;
  if constexpr (is_half_v<T>) {
    acc = reinterpret_cast<B*>(mine + plan.wide_at);
  } else {
    acc = y + blk * size;
  }
  std::fill(acc, acc + size, static_cast<B>(init));
  const int64_t rows = plan.p.out_rows / plan.p.blocks;
  scatter_rows<kMax>(plan, blk * rows, (blk + 1) * rows, x, src, acc, blk * size, mine);
  if constexpr (is_half_v<T>) {
    for (int64_t i = 0; i < size; ++i) y[blk * size + i] = static_cast<T>(acc[i]);
  }
}

template <bool kMax, class T>
void select_and_scatter(const ScatterPlan& plan, const T* x, const T* src, T init, T* y,
                        std::byte* scratch) {
  // Windows of different blocks never overlap, so blocks run in parallel; within a block the
  // rows run in order.
  using B = std::conditional_t<is_half_v<T>, float, T>;
  parallel_chunks(plan.p.blocks, plan.grain, plan.chunks, [&](int64_t chunk, int64_t b, int64_t e) {
    std::byte* mine = scratch + static_cast<size_t>(chunk) * plan.chunk_bytes;
    for (int64_t blk = b; blk < e; ++blk) {
      scatter_block<kMax, T, B>(plan, blk, x, src, init, y, mine);
    }
  });
}

ScatterPlan plan_scatter(const detail::WindowParams& params, const TensorType& x,
                         const Shape& source) {
  ScatterPlan r;
  r.dtype = x.dtype;
  const int64_t total = num_elements(x.shape);
  r.empty = total == 0;
  if (r.empty) return r;
  r.p = make_window_plan(params, x.shape, source);
  const WindowPlan& p = r.p;
  r.block_size = total / p.blocks;
  const int64_t work =
      r.block_size + p.out_rows / p.blocks * p.last.out * p.rows_per_window * p.last.window;
  r.grain = std::max<int64_t>(1, kParallelGrain / (work + 1));
  r.chunks = chunk_count(p.blocks, r.grain);
  // Selected values are at most 8 bytes (compute_t); f16/bf16 blocks accumulate in floats.
  const bool half = x.dtype == DType::F16 || x.dtype == DType::BF16;
  ScratchLayout l;
  r.work_at = l.add(covered_rows_work(p) * sizeof(int64_t));
  r.rows_at = l.add(static_cast<size_t>(p.rows_per_window) * sizeof(int64_t));
  r.best_v_at = l.add(static_cast<size_t>(p.last.out) * 8);
  r.best_at_at = l.add(static_cast<size_t>(p.last.out) * sizeof(int64_t));
  r.wide_at = l.add(half ? static_cast<size_t>(r.block_size) * sizeof(float) : 0);
  r.chunk_bytes = l.bytes();
  r.scratch_bytes = r.chunk_bytes * static_cast<size_t>(r.chunks);
  return r;
}

void run_scatter(bool max, const ScatterPlan& plan, std::span<const Tensor> in, Tensor& out,
                 void* scratch) {
  if (plan.empty) return;
  auto* s = static_cast<std::byte*>(scratch);
  detail::visit_dtype(plan.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      const T* x = in[0].data<T>();
      const T* src = in[1].data<T>();
      const T init = in[2].data<T>()[0];
      T* y = detail::mutable_data<T>(out);
      if (max)
        select_and_scatter<true, T>(plan, x, src, init, y, s);
      else
        select_and_scatter<false, T>(plan, x, src, init, y, s);
    }
  });
}

// Eager: plan, then run on the calling thread's scratch.
void eager_scatter(bool max, const Params& params, std::span<const Tensor> in, Tensor& out) {
  if (out.size() == 0) return;
  const ScatterPlan plan =
      plan_scatter(std::get<detail::WindowParams>(params), in[0].type(), in[1].shape());
  dnnl_util::Scratch scratch;
  run_scatter(max, plan, in, out, scratch.take(plan.scratch_bytes));
}

class PreparedScatter final : public PreparedKernel {
 public:
  PreparedScatter(bool max, ScatterPlan plan) : max_(max), plan_(std::move(plan)) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    run_scatter(max_, plan_, in, out[0], scratch);
  }

 private:
  bool max_;
  ScatterPlan plan_;
};

}  // namespace

std::unique_ptr<PreparedKernel> prepare_window_scatter(detail::Prim p, const detail::Params& params,
                                                       std::span<const TensorType> in) {
  return std::make_unique<PreparedScatter>(
      p == detail::Prim::window_scatter_max,
      plan_scatter(std::get<detail::WindowParams>(params), in[0], in[1].shape));
}

// Max pooling backward goes to oneDNN when it selects exactly as we do (dnnl_pool.hpp).
void kernel_window_scatter_max(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  if (dnnl_pool(PoolOp::ScatterMax, std::get<detail::WindowParams>(p), in, out[0])) return;
  eager_scatter(true, p, in, out[0]);
}
void kernel_window_scatter_min(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  eager_scatter(false, p, in, out[0]);
}

}  // namespace nx::cpu
