// The loop engine shared by the reduce_* kernels. A reduction is described by an Op:
//
//   struct Op {
//     using In = ...; using Acc = ...; using Out = ...;
//     static constexpr bool kPairwise;  // combine in a pairwise tree (float sums, for accuracy)
//     static Acc identity();
//     static Acc load(In x);
//     static Acc combine(Acc a, Acc b);  // associative; lane order may differ from input order
//     static Out store(Acc a);
//   };
//
// and a ReducePlan. Two shapes of work cover every reduction:
// - inner: the innermost loop is reduced. Each output combines contiguous runs, in many
//   independent accumulator lanes (so the loop vectorizes without reassociating one sum), with
//   a pairwise tree over blocks for float sums: the error grows like log(n), as in NumPy.
// - outer: the innermost loop is kept. Each output row accumulates input rows element-wise
//   (vectorized along the row), in column tiles that stay in L1, again pairwise over row blocks
//   for float sums. Narrow rows are packed several to a vector row.
// Work splits across threads by outputs, or, when there are few outputs, by fixed chunks of the
// reduced range whose partial results combine in a tree. Chunk boundaries depend only on the
// shape, never on the thread count, so results are reproducible from run to run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "parallel.hpp"
#include "reduce_plan.hpp"
#include "strided_index.hpp"

namespace nx::cpu::reduce_engine {

/// Elements of one parallel work item when a single output's range is split.
inline constexpr int64_t kChunk = int64_t{1} << 15;
/// Pairwise leaves: contiguous elements summed in lanes, and rows accumulated in a tile.
inline constexpr int64_t kRunBlock = 2048;
inline constexpr int64_t kRowBlock = 16;

template <class Op>
inline constexpr int64_t kLanes = 256 / sizeof(typename Op::Acc);
template <class Op>
inline constexpr int64_t kTileWidth = 16384 / sizeof(typename Op::Acc);

template <class Op>
using In = typename Op::In;
template <class Op>
using Acc = typename Op::Acc;

// acc[j] = combination of p[b * kLanes + j] over blocks b < n / kLanes, for a multiple n of
// kLanes. The lanes are independent, so the loop vectorizes without reassociating any one
// lane; pairwise Ops split long runs in halves and add the halves' lanes, so every lane is a
// pairwise sum and no horizontal step interrupts the stream of loads.
template <class Op>
void reduce_lane_blocks(const In<Op>* p, int64_t n, Acc<Op>* acc) {
  constexpr int64_t L = kLanes<Op>;
  if constexpr (Op::kPairwise) {
    if (n > kRunBlock) {
      const int64_t h = n / 2 / L * L;
      Acc<Op> right[L];
      reduce_lane_blocks<Op>(p, h, acc);
      reduce_lane_blocks<Op>(p + h, n - h, right);
      for (int64_t j = 0; j < L; ++j) acc[j] = Op::combine(acc[j], right[j]);
      return;
    }
  }
  Acc<Op> a[L];  // local, so it lives in registers and cannot alias p
  for (int64_t j = 0; j < L; ++j) a[j] = Op::load(p[j]);
  for (int64_t b = 1; b < n / L; ++b) {
    const In<Op>* q = p + b * L;
    for (int64_t j = 0; j < L; ++j) a[j] = Op::combine(a[j], Op::load(q[j]));
  }
  for (int64_t j = 0; j < L; ++j) acc[j] = a[j];
}

// Combines n contiguous inputs: lanes over the whole blocks, then the lanes in a tree, then
// the tail.
template <class Op>
Acc<Op> reduce_run(const In<Op>* p, int64_t n) {
  constexpr int64_t L = kLanes<Op>;
  const int64_t whole = n / L * L;
  Acc<Op> r = Op::identity();
  if (whole > 0) {
    Acc<Op> acc[L];
    reduce_lane_blocks<Op>(p, whole, acc);
    for (int64_t w = L / 2; w >= 1; w /= 2)
      for (int64_t j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], acc[j + w]);
    r = acc[0];
  }
  for (int64_t i = whole; i < n; ++i) r = Op::combine(r, Op::load(p[i]));
  return r;
}

// Combines v[0], v[stride], ... v[(n-1)*stride] in a balanced tree (in place) into v[0].
template <class Op>
void tree_combine(Acc<Op>* v, int64_t n, int64_t stride = 1) {
  for (int64_t step = 1; step < n; step *= 2)
    for (int64_t i = 0; i + step < n; i += 2 * step)
      v[i * stride] = Op::combine(v[i * stride], v[(i + step) * stride]);
}

// Scratch rows needed by column_reduce for `rows` rows.
inline int64_t pairwise_depth(int64_t rows) {
  int64_t d = 1;
  for (; rows > kRowBlock; rows = (rows + 1) / 2) ++d;
  return d;
}

// acc[j] = combination over r < rows (rows >= 1) of p[r * stride + j], j < w. scratch holds
// (pairwise_depth(rows) - 1) * w values.
template <class Op>
void column_reduce(const In<Op>* p, int64_t stride, int64_t rows, int64_t w, Acc<Op>* acc,
                   Acc<Op>* scratch) {
  if constexpr (Op::kPairwise) {
    if (rows > kRowBlock) {
      int64_t h = rows / 2;
      column_reduce<Op>(p, stride, h, w, acc, scratch + w);
      column_reduce<Op>(p + h * stride, stride, rows - h, w, scratch, scratch + w);
      for (int64_t j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], scratch[j]);
      return;
    }
  }
  for (int64_t j = 0; j < w; ++j) acc[j] = Op::load(p[j]);
  for (int64_t r = 1; r < rows; ++r) {
    const In<Op>* q = p + r * stride;
    for (int64_t j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], Op::load(q[j]));
  }
}

// column_reduce over rows that follow each other in memory (stride == w). Narrow rows are
// reduced k at a time as one wide row, then the k partial rows fold together.
template <class Op>
void dense_column_reduce(const In<Op>* p, int64_t rows, int64_t w, Acc<Op>* acc) {
  const int64_t k = w < kLanes<Op> ? 4 * kLanes<Op> / w : 1;
  const int64_t wide_rows = rows / k;
  if (k == 1 || wide_rows == 0) {
    std::vector<Acc<Op>> scratch(static_cast<size_t>(pairwise_depth(rows) * w));
    column_reduce<Op>(p, w, rows, w, acc, scratch.data());
    return;
  }
  const int64_t kw = k * w;
  std::vector<Acc<Op>> wide(static_cast<size_t>(pairwise_depth(wide_rows) * kw));
  column_reduce<Op>(p, kw, wide_rows, kw, wide.data(), wide.data() + kw);
  for (int64_t j = 0; j < w; ++j) {
    tree_combine<Op>(wide.data() + j, k, w);
    acc[j] = wide[static_cast<size_t>(j)];
  }
  for (int64_t r = wide_rows * k; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], Op::load(p[r * w + j]));
}

// ---- inner: the innermost loop is reduced ------------------------------------------------------

template <class Op>
void run_inner(const ReducePlan& plan, const In<Op>* x, typename Op::Out* out) {
  const int64_t n = plan.reduced.back().size;  // stride 1
  std::vector<CopyDim> runs, outs;             // outer reduced loops; kept loops
  for (size_t i = 0; i + 1 < plan.reduced.size(); ++i)
    runs.push_back({plan.reduced[i].size, plan.reduced[i].stride, 0});
  for (const ReduceLoop& l : plan.kept) outs.push_back({l.size, l.stride, 0});
  const int64_t nruns = plan.reduce_count / n;
  // Combines runs [r0, r1) of the output whose input starts at x + base.
  auto runs_of = [&](int64_t base, int64_t r0, int64_t r1) {
    if (runs.empty()) return reduce_run<Op>(x + base, n);
    Odometer od(runs, r0);
    Acc<Op> a = reduce_run<Op>(x + base + od.src(), n);
    for (int64_t r = r0 + 1; r < r1; ++r) {
      od.next();
      a = Op::combine(a, reduce_run<Op>(x + base + od.src(), n));
    }
    return a;
  };
  if (plan.out_size >= 4 || plan.reduce_count < 2 * kChunk) {
    int64_t grain = std::max<int64_t>(1, kParallelGrain / plan.reduce_count);
    if (runs.empty() && n < kLanes<Op> && outs.size() == 1) {
      // Many short contiguous rows ([outputs, n], n small): a plain loop per output.
      const int64_t stride = outs[0].src_stride;
      parallel_for(plan.out_size, grain, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) {
          const In<Op>* p = x + o * stride;
          Acc<Op> a = Op::load(p[0]);
          for (int64_t i = 1; i < n; ++i) a = Op::combine(a, Op::load(p[i]));
          out[o] = Op::store(a);
        }
      });
      return;
    }
    parallel_for(plan.out_size, grain, [&](int64_t b, int64_t e) {
      Odometer od(outs, b);
      for (int64_t o = b; o < e; ++o, od.next()) out[o] = Op::store(runs_of(od.src(), 0, nruns));
    });
    return;
  }
  // Few outputs, much work each: split each output's range into fixed chunks.
  Odometer od(outs, 0);
  for (int64_t o = 0; o < plan.out_size; ++o, od.next()) {
    const int64_t base = od.src();
    std::vector<Acc<Op>> part;
    if (nruns > 1) {
      const int64_t per = std::max<int64_t>(1, kChunk / n);
      part.resize(static_cast<size_t>((nruns + per - 1) / per));
      parallel_for(static_cast<int64_t>(part.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          part[c] = runs_of(base, c * per, std::min(nruns, (c + 1) * per));
      });
    } else {
      part.resize(static_cast<size_t>((n + kChunk - 1) / kChunk));
      parallel_for(static_cast<int64_t>(part.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          part[c] = reduce_run<Op>(x + base + c * kChunk, std::min(kChunk, n - c * kChunk));
      });
    }
    tree_combine<Op>(part.data(), static_cast<int64_t>(part.size()));
    out[o] = Op::store(part[0]);
  }
}

// ---- outer: the innermost loop is kept ---------------------------------------------------------

template <class Op>
void run_outer(const ReducePlan& plan, const In<Op>* x, typename Op::Out* out) {
  const int64_t m = plan.kept.back().size;        // stride 1
  const int64_t rows = plan.reduced.back().size;  // stride m: it sits just outside the kept row
  std::vector<CopyDim> groups, outs;              // outer reduced loops; outer kept loops
  for (size_t i = 0; i + 1 < plan.reduced.size(); ++i)
    groups.push_back({plan.reduced[i].size, plan.reduced[i].stride, 0});
  for (size_t i = 0; i + 1 < plan.kept.size(); ++i)
    outs.push_back({plan.kept[i].size, plan.kept[i].stride, 0});
  const int64_t ngroups = plan.reduce_count / rows;
  const int64_t nouter = plan.out_size / m;
  const int64_t tile = std::min(m, kTileWidth<Op>);
  const int64_t ntiles = (m + tile - 1) / tile;
  // Split the rows too when outputs alone cannot keep the threads busy.
  int64_t per = rows;
  if (nouter * ntiles < 8) per = std::max(kRowBlock, kChunk / tile);
  const int64_t nsplit = (rows + per - 1) / per;
  const int64_t tasks = nouter * ntiles * nsplit;
  std::vector<Acc<Op>> part(nsplit > 1 ? static_cast<size_t>(tasks * tile) : 0);
  const int64_t work = ngroups * std::min(per, rows) * tile;
  parallel_for(tasks, std::max<int64_t>(1, kParallelGrain / work), [&](int64_t b, int64_t e) {
    std::vector<Acc<Op>> acc(static_cast<size_t>(tile)), tmp(static_cast<size_t>(tile));
    std::vector<Acc<Op>> scratch(static_cast<size_t>(pairwise_depth(per) * tile));
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / (ntiles * nsplit), c = t / nsplit % ntiles, s = t % nsplit;
      const int64_t c0 = c * tile, w = std::min(tile, m - c0);
      const int64_t r0 = s * per, nr = std::min(per, rows - r0);
      const In<Op>* base = x + Odometer(outs, o).src() + r0 * m + c0;
      Odometer g(groups, 0);
      for (int64_t gi = 0; gi < ngroups; ++gi, g.next()) {
        Acc<Op>* dst = gi == 0 ? acc.data() : tmp.data();
        if (w == m)
          dense_column_reduce<Op>(base + g.src(), nr, w, dst);
        else
          column_reduce<Op>(base + g.src(), m, nr, w, dst, scratch.data());
        if (gi > 0)
          for (int64_t j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], tmp[j]);
      }
      if (nsplit == 1) {
        for (int64_t j = 0; j < w; ++j) out[o * m + c0 + j] = Op::store(acc[j]);
      } else {
        std::copy_n(acc.data(), w, part.data() + t * tile);
      }
    }
  });
  if (nsplit == 1) return;
  for (int64_t oc = 0; oc < nouter * ntiles; ++oc) {
    const int64_t o = oc / ntiles, c0 = oc % ntiles * tile, w = std::min(tile, m - c0);
    Acc<Op>* rows_of = part.data() + oc * nsplit * tile;
    for (int64_t step = 1; step < nsplit; step *= 2) {  // a tree over rows, a row at a time
      for (int64_t i = 0; i + step < nsplit; i += 2 * step) {
        Acc<Op>* a = rows_of + i * tile;
        const Acc<Op>* b = rows_of + (i + step) * tile;
        for (int64_t j = 0; j < w; ++j) a[j] = Op::combine(a[j], b[j]);
      }
    }
    for (int64_t j = 0; j < w; ++j) out[o * m + c0 + j] = Op::store(rows_of[j]);
  }
}

// ---- entry -------------------------------------------------------------------------------------

/// Runs the reduction `Op` of the plan from `in` (contiguous In) into `out` (contiguous Out).
template <class Op>
void reduce_with(const ReducePlan& plan, const void* in, void* out_raw) {
  const auto* x = static_cast<const In<Op>*>(in);
  auto* out = static_cast<typename Op::Out*>(out_raw);
  if (plan.out_size == 0) return;
  if (plan.reduce_count == 0) {
    std::fill_n(out, plan.out_size, Op::store(Op::identity()));
  } else if (plan.reduced.empty()) {  // only axes of size 1: an element-wise map
    parallel_for(plan.out_size, kParallelGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = Op::store(Op::load(x[i]));
    });
  } else if (plan.inner_reduced) {
    run_inner<Op>(plan, x, out);
  } else {
    run_outer<Op>(plan, x, out);
  }
}

}  // namespace nx::cpu::reduce_engine
