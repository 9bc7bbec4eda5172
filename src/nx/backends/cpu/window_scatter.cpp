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
#include "dnnl_pool.hpp"
#include "parallel.hpp"
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

/// Scatters the source of output rows [r0, r1) into `acc`, the accumulators of the operand
/// elements from `acc_base` on.
/// Per row, the selection runs over all columns at once (window position outer, column
/// inner, so it vectorizes) for columns whose window lies inside the last axis, and column by
/// column at the edges; the additions then run in column order.
template <bool kMax, class T, class B>
void scatter_rows(const WindowPlan& p, int64_t r0, int64_t r1, const T* x, const T* src, B* acc,
                  int64_t acc_base) {
  using C = compute_t<T>;
  const WindowAxis& last = p.last;
  const int64_t s = last.stride, dil = last.dilation;
  const int64_t span = (last.window - 1) * dil;
  // Columns [full0, full1) have their whole window inside the operand's last axis.
  const int64_t full0 = std::min(last.out, (last.lo + s - 1) / s);
  const int64_t full1 =
      std::clamp(last.size - 1 - span + last.lo < 0 ? 0 : (last.size - 1 - span + last.lo) / s + 1,
                 full0, last.out);
  RowScratch scratch(p.lead.size());
  std::vector<int64_t> rows;
  std::vector<C> best_v(static_cast<size_t>(last.out));
  std::vector<int64_t> best_at(static_cast<size_t>(last.out));
  C* bv = best_v.data();
  int64_t* bo = best_at.data();
  for (int64_t row = r0; row < r1; ++row) {
    covered_rows(p, row, scratch, rows);
    if (rows.empty()) continue;  // all padding: the whole row of sources is dropped
    // Window positions in row-major order: covered rows, then the last axis.
    for (int64_t c = full0; c < full1; ++c) {
      bo[c] = rows[0] + last.start(c);
      bv[c] = static_cast<C>(x[bo[c]]);
    }
    for (int64_t r : rows) {
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
      for (int64_t r : rows) {
        for (int64_t k = 0, off = r + first; k < k1 - k0; ++k, off += dil) {
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
/// before its scatter, while it is in cache. f16/bf16 accumulate in `wide`, a float copy.
template <bool kMax, class T, class B>
void scatter_block(const WindowPlan& p, int64_t blk, int64_t size, const T* x, const T* src, T init,
                   T* y, std::vector<B>& wide) {
  B* acc = nullptr;
  if constexpr (is_half_v<T>) {
    wide.resize(static_cast<size_t>(size));
    acc = wide.data();
  } else {
    acc = y + blk * size;
  }
  std::fill(acc, acc + size, static_cast<B>(init));
  const int64_t rows = p.out_rows / p.blocks;
  scatter_rows<kMax>(p, blk * rows, (blk + 1) * rows, x, src, acc, blk * size);
  if constexpr (is_half_v<T>) {
    for (int64_t i = 0; i < size; ++i) y[blk * size + i] = static_cast<T>(acc[i]);
  }
}

template <bool kMax, class T>
void select_and_scatter(const WindowPlan& p, int64_t total, const T* x, const T* src, T init,
                        T* y) {
  // Windows of different blocks never overlap, so blocks run in parallel; within a block the
  // rows run in order.
  using B = std::conditional_t<is_half_v<T>, float, T>;
  const int64_t size = total / p.blocks;
  const int64_t work =
      size + p.out_rows / p.blocks * p.last.out * p.rows_per_window * p.last.window;
  parallel_for(p.blocks, std::max<int64_t>(1, kParallelGrain / (work + 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<B> wide;
                 for (int64_t blk = b; blk < e; ++blk) {
                   scatter_block<kMax>(p, blk, size, x, src, init, y, wide);
                 }
               });
}

template <bool kMax>
void run_scatter(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  WindowPlan plan =
      make_window_plan(std::get<detail::WindowParams>(params), in[0].shape(), in[1].shape());
  detail::visit_dtype(in[0].dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      select_and_scatter<kMax, T>(plan, out[0].size(), in[0].data<T>(), in[1].data<T>(),
                                  in[2].data<T>()[0], detail::mutable_data<T>(out[0]));
    }
  });
}

}  // namespace

// Max pooling backward goes to oneDNN when it selects exactly as we do (dnnl_pool.hpp).
void kernel_window_scatter_max(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  if (dnnl_pool(PoolOp::ScatterMax, std::get<detail::WindowParams>(p), in, out[0])) return;
  run_scatter<true>(p, in, out);
}
void kernel_window_scatter_min(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  run_scatter<false>(p, in, out);
}

}  // namespace nx::cpu
