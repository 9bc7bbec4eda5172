// CPU kernels of the cumulative primitives: cumulative_sum, _product, _max and _min along one
// axis, from the end when reverse (out[i] combines x[i..n) instead of x[0..i]).
//
// Semantics at the edges:
// - Integer sums and products wrap modulo 2^bits of their dtype.
// - f16 and bf16 accumulate in f32; each output is the running f32 value rounded once, so the
//   rounding of earlier outputs does not feed into later ones. f32/f64 run in their own type,
//   sequentially along the axis (as NumPy and PyTorch do).
// - cumulative_max/min propagate NaN: from the first NaN on, every output is NaN.
// - Empty operands give empty outputs; an axis of size 1 copies.
#include <algorithm>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "parallel.hpp"
#include "reduce_ops.hpp"
#include "strided_index.hpp"

namespace nx::cpu {

namespace {

template <class Op>
void scan_typed(const typename Op::In* x, typename Op::Out* out, AxisSplit s, bool reverse) {
  using Acc = typename Op::Acc;
  // Position k of the scan order is element (reverse ? n-1-k : k) along the axis.
  const int64_t first = reverse ? s.n - 1 : 0, step = reverse ? -1 : 1;
  if (s.inner == 1) {
    parallel_for(s.outer, std::max<int64_t>(1, kParallelGrain / s.n), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const auto* row = x + o * s.n + first;
        auto* dst = out + o * s.n + first;
        Acc acc = Op::load(row[0]);
        dst[0] = Op::store(acc);
        for (int64_t k = 1; k < s.n; ++k) {
          acc = Op::combine(acc, Op::load(row[k * step]));
          dst[k * step] = Op::store(acc);
        }
      }
    });
    return;
  }
  // Several columns: a running accumulator per column of a tile, advanced row by row. Wide
  // tiles keep each strided row access a long contiguous run.
  constexpr int64_t kTile = 2048;
  const int64_t tiles = (s.inner + kTile - 1) / kTile;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / (s.n * std::min(kTile, s.inner)));
  parallel_for(s.outer * tiles, grain, [&](int64_t b, int64_t e) {
    Acc acc[kTile];
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / tiles, c0 = t % tiles * kTile, w = std::min(kTile, s.inner - c0);
      const int64_t base = (o * s.n + first) * s.inner + c0, row_step = step * s.inner;
      for (int64_t j = 0; j < w; ++j)
        acc[j] = Op::load(x[base + j]), out[base + j] = Op::store(acc[j]);
      for (int64_t k = 1; k < s.n; ++k) {
        const auto* row = x + base + k * row_step;
        auto* dst = out + base + k * row_step;
        for (int64_t j = 0; j < w; ++j) {
          acc[j] = Op::combine(acc[j], Op::load(row[j]));
          dst[j] = Op::store(acc[j]);
        }
      }
    }
  });
}

// Sums and products: signed integers run as their unsigned twins (wrapping, same bits).
template <template <class> class Op>
void run_wrapping(const Params& params, const Tensor& x, const Tensor& out) {
  const auto& p = std::get<detail::ScanParams>(params);
  if (x.size() == 0) return;
  AxisSplit s = split_at_axis(x.shape(), p.axis);
  detail::visit_wrapping_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    scan_typed<Op<T>>(static_cast<const T*>(x.raw_data()), detail::mutable_data<T>(out), s,
                      p.reverse);
  });
}

template <bool kMax>
void run_extreme(const Params& params, const Tensor& x, const Tensor& out) {
  const auto& p = std::get<detail::ScanParams>(params);
  if (x.size() == 0) return;
  AxisSplit s = split_at_axis(x.shape(), p.axis);
  detail::visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      scan_typed<ExtremeOp<T, kMax>>(static_cast<const T*>(x.raw_data()),
                                     detail::mutable_data<T>(out), s, p.reverse);
    }
  });
}

}  // namespace

void kernel_cumulative_sum(const Params& params, std::span<const Tensor> in,
                           std::span<Tensor> out) {
  run_wrapping<SumOp>(params, in[0], out[0]);
}

void kernel_cumulative_product(const Params& params, std::span<const Tensor> in,
                               std::span<Tensor> out) {
  run_wrapping<ProdOp>(params, in[0], out[0]);
}

void kernel_cumulative_max(const Params& params, std::span<const Tensor> in,
                           std::span<Tensor> out) {
  run_extreme<true>(params, in[0], out[0]);
}

void kernel_cumulative_min(const Params& params, std::span<const Tensor> in,
                           std::span<Tensor> out) {
  run_extreme<false>(params, in[0], out[0]);
}

}  // namespace nx::cpu
