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
#include "dnnl_pool.hpp"
#include "parallel.hpp"
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

template <class T, class Op>
void reduce_window(const WindowPlan& p, const T* x, T* y) {
  using A = typename Op::template acc<T>;
  const WindowAxis& last = p.last;
  const int64_t chunks = (last.out + kColumnChunk - 1) / kColumnChunk;
  const int64_t items = p.out_rows * chunks;
  const int64_t work = std::min(last.out, kColumnChunk) * p.rows_per_window * last.window + 1;
  const A id = Op::template identity<A>();
  const bool plain_last = last.window == 1 && last.stride == 1 && last.lo == 0;

  parallel_for(items, std::max<int64_t>(1, kParallelGrain / work), [&](int64_t b, int64_t e) {
    std::vector<int64_t> rows;
    RowScratch scratch(p.lead.size());
    std::vector<A> line;  // the combined input row segment
    std::vector<A> acc(static_cast<size_t>(std::min(last.out, kColumnChunk)));
    for (int64_t item = b; item < e; ++item) {
      int64_t row = item / chunks;
      int64_t c0 = (item % chunks) * kColumnChunk;
      int64_t c1 = std::min(last.out, c0 + kColumnChunk);
      T* dst = y + row * last.out;
      covered_rows(p, row, scratch, rows);
      // Operand columns the outputs [c0, c1) can read.
      int64_t in0 = std::max<int64_t>(0, last.start(c0));
      int64_t in1 = std::min(last.size, last.start(c1 - 1) + (last.window - 1) * last.dilation + 1);
      if (rows.empty() || in1 <= in0) {
        for (int64_t c = c0; c < c1; ++c) dst[c] = static_cast<T>(id);
        continue;
      }
      // Vertical pass: combine the covered rows elementwise.
      int64_t len = in1 - in0;
      line.resize(static_cast<size_t>(len));
      A* l = line.data();
      const T* first = x + rows[0] + in0;
      for (int64_t i = 0; i < len; ++i) l[i] = static_cast<A>(first[i]);
      for (size_t r = 1; r < rows.size(); ++r) {
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
      A* a = acc.data();  // a[c - c0] accumulates output c
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
void run_window(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  WindowPlan plan =
      make_window_plan(std::get<detail::WindowParams>(params), in[0].shape(), out[0].shape());
  detail::visit_dtype(in[0].dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      reduce_window<T, Op>(plan, in[0].data<T>(), detail::mutable_data<T>(out[0]));
    }
  });
}

}  // namespace

// Poolings go to oneDNN when it computes what our loops do (dnnl_pool.hpp); the rest stays here.
void kernel_window_sum(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  if (dnnl_pool(PoolOp::Sum, std::get<detail::WindowParams>(p), in, out[0])) return;
  run_window<SumOp>(p, in, out);
}
void kernel_window_product(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  run_window<ProductOp>(p, in, out);
}
void kernel_window_max(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  if (dnnl_pool(PoolOp::Max, std::get<detail::WindowParams>(p), in, out[0])) return;
  run_window<MaxOp>(p, in, out);
}
void kernel_window_min(const Params& p, std::span<const Tensor> in, std::span<Tensor> out) {
  run_window<MinOp>(p, in, out);
}

}  // namespace nx::cpu
