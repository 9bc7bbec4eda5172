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
//
// plan_work fixes all of that for one Op, including where partial results and each thread's
// accumulator tiles go in the scratch; reduce_with then allocates nothing. Eager kernels plan
// per call; compiled code plans once (PreparedReduction).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "../../core/tensor_impl.hpp"
#include "dnnl_common.hpp"
#include "parallel.hpp"
#include "prepared.hpp"
#include "reduce_plan.hpp"
#include "scratch_plan.hpp"
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

// acc[0] = the lanes acc[0..2W) in a tree: halves combined lane by lane, W, W/2, ... 1 wide.
// Each width a constant, so every step is whole vectors or a few unrolled operations: with the
// width a loop variable the narrow steps ran as scalar loops through memory, most of the time of
// a max over short rows (softmax over 128 attention scores).
template <class Op, int64_t W>
void fold_lanes(Acc<Op>* acc) {
  for (int64_t j = 0; j < W; ++j) acc[j] = Op::combine(acc[j], acc[j + W]);
  if constexpr (W > 1) fold_lanes<Op, W / 2>(acc);
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
    fold_lanes<Op, L / 2>(acc);
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

// How many rows dense_column_reduce folds into one wide row when rows are narrow.
template <class Op>
int64_t dense_fold(int64_t w) {
  return w < kLanes<Op> ? 4 * kLanes<Op> / w : 1;
}

// Scratch (accumulators) dense_column_reduce needs for at most `rows` rows of width w.
template <class Op>
int64_t dense_scratch(int64_t rows, int64_t w) {
  return pairwise_depth(rows) * dense_fold<Op>(w) * w;
}

// column_reduce over rows that follow each other in memory (stride == w). Narrow rows are
// reduced k at a time as one wide row, then the k partial rows fold together. `scratch` holds
// dense_scratch<Op>(rows, w) accumulators.
template <class Op>
void dense_column_reduce(const In<Op>* p, int64_t rows, int64_t w, Acc<Op>* acc, Acc<Op>* scratch) {
  const int64_t k = dense_fold<Op>(w);
  const int64_t wide_rows = rows / k;
  if (k == 1 || wide_rows == 0) {
    column_reduce<Op>(p, w, rows, w, acc, scratch);
    return;
  }
  const int64_t kw = k * w;
  Acc<Op>* wide = scratch;
  column_reduce<Op>(p, kw, wide_rows, kw, wide, wide + kw);
  for (int64_t j = 0; j < w; ++j) {
    tree_combine<Op>(wide + j, k, w);
    acc[j] = wide[j];
  }
  for (int64_t r = wide_rows * k; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) acc[j] = Op::combine(acc[j], Op::load(p[r * w + j]));
}

// ---- the work of one reduction
// -------------------------------------------------------------------

/// How a planned reduction runs for one Op (its accumulator's size sets tiles and lanes), and
/// where the parts of its scratch lie: made once by plan_work, run by reduce_with.
struct ReduceWork {
  enum class Mode : uint8_t {
    Nothing,     ///< no outputs
    Identity,    ///< nothing to reduce: every output is the identity
    Map,         ///< only axes of size 1: an element-wise map
    InnerRows,   ///< [outputs, n] with n short: a plain loop per output
    Inner,       ///< contiguous runs per output, outputs split over threads
    InnerSplit,  ///< few outputs with long ranges: each range split into fixed chunks
    Outer,       ///< rows accumulated element-wise, in column tiles
  };
  Mode mode = Mode::Nothing;
  std::vector<CopyDim> runs;  ///< inner: the outer reduced loops; outer: the same ("groups")
  std::vector<CopyDim> outs;  ///< inner: the kept loops; outer: all but the innermost kept loop
  int64_t grain = 1;
  // Inner*: runs of n contiguous inputs, nruns per output.
  int64_t n = 0, nruns = 0;
  int64_t per = 0;    ///< InnerSplit: runs (or, with one run, elements) per chunk; Outer: rows
  int64_t parts = 0;  ///< InnerSplit: chunks per output
  // Outer: each output row of m elements accumulates `rows` rows (stride m), in `ngroups`
  // groups, over nouter rows of outputs, in ntiles column tiles of `tile`, rows split nsplit ways.
  int64_t m = 0, rows = 0, ngroups = 0, nouter = 0, tile = 0, ntiles = 0, nsplit = 1, tasks = 0;
  int64_t chunks = 1;  ///< Outer: the most chunks its parallel loop makes
  size_t part_offset = 0, chunk_offset = 0, chunk_bytes = 0;
  size_t scratch_bytes = 0;
};

template <class Op>
ReduceWork plan_work(const ReducePlan& plan) {
  using M = ReduceWork::Mode;
  ReduceWork w;
  if (plan.out_size == 0) return w;
  if (plan.reduce_count == 0) {
    w.mode = M::Identity;
    return w;
  }
  if (plan.reduced.empty()) {
    w.mode = M::Map;
    return w;
  }
  check_loops(plan.reduced.size() + plan.kept.size(), "reduction");
  ScratchLayout layout;
  if (plan.inner_reduced) {
    w.n = plan.reduced.back().size;  // stride 1
    for (size_t i = 0; i + 1 < plan.reduced.size(); ++i)
      w.runs.push_back({plan.reduced[i].size, plan.reduced[i].stride, 0});
    for (const ReduceLoop& l : plan.kept) w.outs.push_back({l.size, l.stride, 0});
    w.nruns = plan.reduce_count / w.n;
    if (plan.out_size >= 4 || plan.reduce_count < 2 * kChunk) {
      w.grain = std::max<int64_t>(1, kParallelGrain / plan.reduce_count);
      w.mode = w.runs.empty() && w.n < kLanes<Op> && w.outs.size() == 1 ? M::InnerRows : M::Inner;
      return w;
    }
    w.mode = M::InnerSplit;
    if (w.nruns > 1) {
      w.per = std::max<int64_t>(1, kChunk / w.n);
      w.parts = (w.nruns + w.per - 1) / w.per;
    } else {
      w.per = kChunk;
      w.parts = (w.n + kChunk - 1) / kChunk;
    }
    w.part_offset = layout.add(static_cast<size_t>(w.parts) * sizeof(Acc<Op>));
    w.scratch_bytes = layout.bytes();
    return w;
  }
  w.mode = M::Outer;
  w.m = plan.kept.back().size;        // stride 1
  w.rows = plan.reduced.back().size;  // stride m: it sits just outside the kept row
  for (size_t i = 0; i + 1 < plan.reduced.size(); ++i)
    w.runs.push_back({plan.reduced[i].size, plan.reduced[i].stride, 0});
  for (size_t i = 0; i + 1 < plan.kept.size(); ++i)
    w.outs.push_back({plan.kept[i].size, plan.kept[i].stride, 0});
  w.ngroups = plan.reduce_count / w.rows;
  w.nouter = plan.out_size / w.m;
  w.tile = std::min(w.m, kTileWidth<Op>);
  w.ntiles = (w.m + w.tile - 1) / w.tile;
  // Split the rows too when outputs alone cannot keep the threads busy.
  w.per = w.rows;
  if (w.nouter * w.ntiles < 8) w.per = std::max(kRowBlock, kChunk / w.tile);
  w.nsplit = (w.rows + w.per - 1) / w.per;
  w.tasks = w.nouter * w.ntiles * w.nsplit;
  const int64_t work = w.ngroups * std::min(w.per, w.rows) * w.tile;
  w.grain = std::max<int64_t>(1, kParallelGrain / work);
  w.chunks = chunk_count(w.tasks, w.grain);
  if (w.nsplit > 1) {
    w.part_offset = layout.add(static_cast<size_t>(w.tasks * w.tile) * sizeof(Acc<Op>));
  }
  // Per chunk: acc and tmp rows of a tile, then column_reduce's or dense_column_reduce's
  // scratch (a tile uses one of the two).
  const int64_t nr = std::min(w.per, w.rows);
  const int64_t accs =
      2 * w.tile + std::max(pairwise_depth(nr) * w.tile, dense_scratch<Op>(nr, w.m));
  w.chunk_bytes = scratch_round(static_cast<size_t>(accs) * sizeof(Acc<Op>));
  w.chunk_offset = layout.add(w.chunk_bytes * static_cast<size_t>(w.chunks));
  w.scratch_bytes = layout.bytes();
  return w;
}

// ---- inner: the innermost loop is reduced ------------------------------------------------------

template <class Op>
void run_inner(const ReducePlan& plan, const ReduceWork& w, const In<Op>* x, typename Op::Out* out,
               std::byte* scratch) {
  const int64_t n = w.n, nruns = w.nruns;
  const std::span<const CopyDim> runs = w.runs, outs = w.outs;
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
  if (w.mode == ReduceWork::Mode::InnerRows) {
    // Many short contiguous rows ([outputs, n], n small): a plain loop per output.
    const int64_t stride = outs[0].src_stride;
    parallel_for(plan.out_size, w.grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const In<Op>* p = x + o * stride;
        Acc<Op> a = Op::load(p[0]);
        for (int64_t i = 1; i < n; ++i) a = Op::combine(a, Op::load(p[i]));
        out[o] = Op::store(a);
      }
    });
    return;
  }
  if (w.mode == ReduceWork::Mode::Inner) {
    parallel_for(plan.out_size, w.grain, [&](int64_t b, int64_t e) {
      Odometer od(outs, b);
      for (int64_t o = b; o < e; ++o, od.next()) out[o] = Op::store(runs_of(od.src(), 0, nruns));
    });
    return;
  }
  // Few outputs, much work each: split each output's range into fixed chunks.
  auto* part = reinterpret_cast<Acc<Op>*>(scratch + w.part_offset);
  const int64_t per = w.per;
  Odometer od(outs, 0);
  for (int64_t o = 0; o < plan.out_size; ++o, od.next()) {
    const int64_t base = od.src();
    if (nruns > 1) {
      parallel_for(w.parts, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          part[c] = runs_of(base, c * per, std::min(nruns, (c + 1) * per));
      });
    } else {
      parallel_for(w.parts, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c)
          part[c] = reduce_run<Op>(x + base + c * kChunk, std::min(kChunk, n - c * kChunk));
      });
    }
    tree_combine<Op>(part, w.parts);
    out[o] = Op::store(part[0]);
  }
}

// ---- outer: the innermost loop is kept ---------------------------------------------------------

template <class Op>
void run_outer(const ReduceWork& w, const In<Op>* x, typename Op::Out* out, std::byte* scratch) {
  const int64_t m = w.m, rows = w.rows, ngroups = w.ngroups, tile = w.tile, ntiles = w.ntiles;
  const int64_t per = w.per, nsplit = w.nsplit;
  const std::span<const CopyDim> groups = w.runs, outs = w.outs;
  auto* part = reinterpret_cast<Acc<Op>*>(scratch + w.part_offset);
  parallel_chunks(w.tasks, w.grain, w.chunks, [&](int64_t chunk, int64_t b, int64_t e) {
    auto* acc = reinterpret_cast<Acc<Op>*>(scratch + w.chunk_offset + chunk * w.chunk_bytes);
    Acc<Op>* tmp = acc + tile;
    Acc<Op>* col = tmp + tile;  // column_reduce's scratch, then dense_column_reduce's
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / (ntiles * nsplit), c = t / nsplit % ntiles, s = t % nsplit;
      const int64_t c0 = c * tile, cw = std::min(tile, m - c0);
      const int64_t r0 = s * per, nr = std::min(per, rows - r0);
      const In<Op>* base = x + offsets_at(outs, o).first + r0 * m + c0;
      Odometer g(groups, 0);
      for (int64_t gi = 0; gi < ngroups; ++gi, g.next()) {
        Acc<Op>* dst = gi == 0 ? acc : tmp;
        if (cw == m)
          dense_column_reduce<Op>(base + g.src(), nr, cw, dst, col);
        else
          column_reduce<Op>(base + g.src(), m, nr, cw, dst, col);
        if (gi > 0)
          for (int64_t j = 0; j < cw; ++j) acc[j] = Op::combine(acc[j], tmp[j]);
      }
      if (nsplit == 1) {
        for (int64_t j = 0; j < cw; ++j) out[o * m + c0 + j] = Op::store(acc[j]);
      } else {
        std::copy_n(acc, cw, part + t * tile);
      }
    }
  });
  if (nsplit == 1) return;
  for (int64_t oc = 0; oc < w.nouter * ntiles; ++oc) {
    const int64_t o = oc / ntiles, c0 = oc % ntiles * tile, cw = std::min(tile, m - c0);
    Acc<Op>* rows_of = part + oc * nsplit * tile;
    for (int64_t step = 1; step < nsplit; step *= 2) {  // a tree over rows, a row at a time
      for (int64_t i = 0; i + step < nsplit; i += 2 * step) {
        Acc<Op>* a = rows_of + i * tile;
        const Acc<Op>* b = rows_of + (i + step) * tile;
        for (int64_t j = 0; j < cw; ++j) a[j] = Op::combine(a[j], b[j]);
      }
    }
    for (int64_t j = 0; j < cw; ++j) out[o * m + c0 + j] = Op::store(rows_of[j]);
  }
}

// ---- entry -------------------------------------------------------------------------------------

/// Runs the reduction `Op` of the plan from `in` (contiguous In) into `out` (contiguous Out);
/// `work` is plan_work<Op>(plan) and `scratch` holds work.scratch_bytes bytes. Allocates
/// nothing.
template <class Op>
void reduce_with(const ReducePlan& plan, const ReduceWork& work, const void* in, void* out_raw,
                 void* scratch) {
  using M = ReduceWork::Mode;
  const auto* x = static_cast<const In<Op>*>(in);
  auto* out = static_cast<typename Op::Out*>(out_raw);
  auto* s = static_cast<std::byte*>(scratch);
  switch (work.mode) {
    case M::Nothing:
      return;
    case M::Identity:
      std::fill_n(out, plan.out_size, Op::store(Op::identity()));
      return;
    case M::Map:
      parallel_for(plan.out_size, kParallelGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) out[i] = Op::store(Op::load(x[i]));
      });
      return;
    case M::InnerRows:
    case M::Inner:
    case M::InnerSplit:
      return run_inner<Op>(plan, work, x, out, s);
    case M::Outer:
      return run_outer<Op>(work, x, out, s);
  }
}

/// plan_work and reduce_with in one call, on the calling thread's scratch.
template <class Op>
void reduce_with(const ReducePlan& plan, const void* in, void* out) {
  const ReduceWork work = plan_work<Op>(plan);
  dnnl_util::Scratch scratch;
  reduce_with<Op>(plan, work, in, out,
                  work.scratch_bytes > 0 ? scratch.take(work.scratch_bytes) : nullptr);
}

/// A reduction prepared for one operand type (prepared.hpp). `visit(f)` calls f with
/// std::type_identity<Op> for the Op of the primitive and dtype it was made for.
template <class Visit>
class PreparedReduction final : public PreparedKernel {
 public:
  PreparedReduction(Visit visit, ReducePlan plan) : visit_(visit), plan_(std::move(plan)) {
    visit_([&](auto op) { work_ = plan_work<typename decltype(op)::type>(plan_); });
  }
  size_t scratch_bytes() const override { return work_.scratch_bytes; }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    visit_([&](auto op) {
      reduce_with<typename decltype(op)::type>(plan_, work_, in[0].raw_data(),
                                               detail::mutable_data(out[0]), scratch);
    });
  }

 private:
  Visit visit_;
  ReducePlan plan_;
  ReduceWork work_;
};

template <class Visit>
std::unique_ptr<PreparedKernel> prepare_reduction(Visit visit, ReducePlan plan) {
  return std::make_unique<PreparedReduction<Visit>>(visit, std::move(plan));
}

}  // namespace nx::cpu::reduce_engine
