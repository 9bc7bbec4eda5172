// CPU kernels of argmax and argmin: the s64 index of the extreme element along one axis.
//
// Semantics at the edges:
// - Ties pick the lowest index, or the highest with tie_high.
// - NaN counts as the extreme value (the largest for argmax, the smallest for argmin), as in
//   PyTorch and Nx; NaNs tie with each other, so the first NaN wins (the last with tie_high).
// - -0.0 and 0.0 tie.
// - The shape rule rejects an empty axis; other empty operands give empty outputs.
#include <algorithm>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "parallel.hpp"
#include "reduce_engine.hpp"
#include "reduce_ops.hpp"
#include "strided_index.hpp"

namespace nx::cpu {

namespace {

// Whether x replaces the current best b. Bitwise operators, not && and ||, so the column loop
// below stays branch-free and vectorizes.
template <class C, bool kMax, bool kHigh>
bool better(C x, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if constexpr (kHigh)
      return (kMax ? x >= b : x <= b) | (x != x);
    else
      return (kMax ? x > b : x < b) | ((x != x) & (b == b));
  } else {
    if constexpr (kHigh)
      return kMax ? x >= b : x <= b;
    else
      return kMax ? x > b : x < b;
  }
}

// Position of the first (last with kHigh) element of a row equal to m, or of a NaN when m is
// NaN. Blocks are tested with a branch-free (vectorized) "any" before they are searched.
template <class T, bool kHigh, class C>
int64_t find_value(const T* row, int64_t n, C m) {
  const bool nan = m != m;
  auto hit = [&](T v) {
    C c = widen(v);
    if constexpr (std::is_floating_point_v<C>)
      return (c == m) | (nan & (c != c));
    else
      return c == m;
  };
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t b0 = (kHigh ? blocks - 1 - k : k) * kBlock, b1 = std::min(n, b0 + kBlock);
    bool any = false;
    for (int64_t i = b0; i < b1; ++i) any |= hit(row[i]);
    if (!any) continue;
    if constexpr (kHigh) {
      for (int64_t i = b1 - 1; i >= b0; --i)
        if (hit(row[i])) return i;
    } else {
      for (int64_t i = b0; i < b1; ++i)
        if (hit(row[i])) return i;
    }
  }
  return 0;  // not reached: m is an element of the row
}

template <class T, bool kMax, bool kHigh>
void arg_typed(const T* x, AxisSplit s, int64_t* out) {
  using C = detail::compute_t<T>;
  if (s.inner == 1) {
    // Contiguous rows: the extreme value by the vectorized reduction, then its position.
    parallel_for(s.outer, std::max<int64_t>(1, kParallelGrain / s.n), [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* row = x + o * s.n;
        C m = reduce_engine::reduce_run<ExtremeOp<T, kMax>>(row, s.n);
        out[o] = find_value<T, kHigh>(row, s.n, m);
      }
    });
    return;
  }
  // Several columns: keep a best value and index per column of a tile, row after row. Tiles
  // are wide (rows of 4 KiB of f32) so that each strided row read is a long contiguous run.
  constexpr int64_t kTile = 1024;
  const int64_t tiles = (s.inner + kTile - 1) / kTile;
  const int64_t grain = std::max<int64_t>(1, kParallelGrain / (s.n * std::min(kTile, s.inner)));
  parallel_for(s.outer * tiles, grain, [&](int64_t b, int64_t e) {
    C best[kTile];
    int64_t at[kTile];
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / tiles, c0 = t % tiles * kTile, w = std::min(kTile, s.inner - c0);
      const T* base = x + o * s.n * s.inner + c0;
      for (int64_t j = 0; j < w; ++j) best[j] = widen(base[j]), at[j] = 0;
      for (int64_t i = 1; i < s.n; ++i) {
        const T* row = base + i * s.inner;
        for (int64_t j = 0; j < w; ++j) {
          const C v = widen(row[j]), cur = best[j];
          const bool take = better<C, kMax, kHigh>(v, cur);
          best[j] = take ? v : cur;
          at[j] = take ? i : at[j];
        }
      }
      std::copy_n(at, w, out + o * s.inner + c0);
    }
  });
}

template <bool kMax>
void run_arg(const Params& params, const Tensor& x, const Tensor& out) {
  const auto& p = std::get<detail::ArgParams>(params);
  if (out.size() == 0) return;
  AxisSplit s = split_at_axis(x.shape(), p.axis);
  auto* dst = detail::mutable_data<int64_t>(out);
  detail::visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      const T* src = static_cast<const T*>(x.raw_data());
      if (p.tie_high)
        arg_typed<T, kMax, true>(src, s, dst);
      else
        arg_typed<T, kMax, false>(src, s, dst);
    }
  });
}

}  // namespace

void kernel_argmax(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_arg<true>(params, in[0], out[0]);
}

void kernel_argmin(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_arg<false>(params, in[0], out[0]);
}

}  // namespace nx::cpu
