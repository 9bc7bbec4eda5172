// run_program: executes a compiled elementwise program tile by tile (see fused_program.hpp), and
// the reduction routines it uses.
#include <algorithm>
#include <cstring>

#include "../../core/tensor_impl.hpp"
#include "dnnl_common.hpp"
#include "fused_program.hpp"
#include "parallel.hpp"
#include "reduce_engine.hpp"
#include "reduce_ops.hpp"
#include "scratch_plan.hpp"

namespace nx::cpu::fused {

namespace {

/// Bytes of one uniform slot (the widest dtype, rounded up for alignment).
constexpr int64_t kUniBytes = 16;
/// Elements of one parallel work item when many tiles share a reduction's row.
constexpr int64_t kChunkElems = 65536;
/// Most axes a gather walks (after collapsing); compile_program never makes more.
constexpr size_t kMaxGatherRank = 32;

/// The buffers of one call (arrays in the call's scratch).
struct Frame {
  const std::byte** leaf = nullptr;
  std::byte** out = nullptr;
  std::byte* uni = nullptr;
};

std::byte* resolve(const Program& p, const Frame& f, std::byte* regs, const Ref& r, int64_t t0) {
  switch (r.kind) {
    case Ref::Kind::Reg:
      return regs + r.index * p.slot_bytes;
    case Ref::Kind::Leaf:
      return const_cast<std::byte*>(f.leaf[static_cast<size_t>(r.index)]) +
             t0 * p.leaf_esize[static_cast<size_t>(r.index)];
    case Ref::Kind::Out:
      return f.out[static_cast<size_t>(r.index)] + t0 * p.out_esize[static_cast<size_t>(r.index)];
    case Ref::Kind::Uni:
      return f.uni + r.index * kUniBytes;
    case Ref::Kind::None:
      break;
  }
  return nullptr;
}

// dst[i] = leaf element at flat domain position t0 + i, for i < n.
template <class W>
void gather_run(const GatherPlan& g, const std::byte* base, int64_t t0, int64_t n, std::byte* dst) {
  const W* src = reinterpret_cast<const W*>(base);
  W* o = reinterpret_cast<W*>(dst);
  const size_t r = g.dims.size();
  if (r == 0) {
    std::fill_n(o, n, src[0]);
    return;
  }
  int64_t idx[kMaxGatherRank];
  int64_t rem = t0, offset = 0;
  for (size_t k = r; k-- > 0;) {
    idx[k] = rem % g.dims[k];
    rem /= g.dims[k];
    offset += idx[k] * g.strides[k];
  }
  const int64_t inner = g.dims[r - 1], s = g.strides[r - 1];
  for (int64_t done = 0; done < n;) {
    const int64_t run = std::min(inner - idx[r - 1], n - done);
    const W* p = src + offset;
    if (s == 1) {
      std::memcpy(o + done, p, static_cast<size_t>(run) * sizeof(W));
    } else if (s == 0) {
      std::fill_n(o + done, run, p[0]);
    } else {
      for (int64_t i = 0; i < run; ++i) o[done + i] = p[i * s];
    }
    done += run;
    offset += run * s;
    idx[r - 1] += run;
    for (size_t k = r - 1; k > 0 && idx[k] == g.dims[k]; --k) {
      offset -= idx[k] * g.strides[k];
      idx[k] = 0;
      ++idx[k - 1];
      offset += g.strides[k - 1];
    }
  }
}

template <class W>
void fill_run(const std::byte* value, std::byte* dst, int64_t n) {
  W v;
  std::memcpy(&v, value, sizeof(W));
  std::fill_n(reinterpret_cast<W*>(dst), n, v);
}

void fill(int32_t esize, const std::byte* value, std::byte* dst, int64_t n) {
  switch (esize) {
    case 1:
      return fill_run<uint8_t>(value, dst, n);
    case 2:
      return fill_run<uint16_t>(value, dst, n);
    case 4:
      return fill_run<uint32_t>(value, dst, n);
    default:
      return fill_run<uint64_t>(value, dst, n);
  }
}

void exec(const Program& p, const std::vector<Instr>& list, const Frame& f, std::byte* regs,
          int64_t t0, int64_t n) {
  for (const Instr& ins : list) {
    std::byte* d = resolve(p, f, regs, ins.dst, t0);
    const std::byte* a = resolve(p, f, regs, ins.src[0], t0);
    switch (ins.op) {
      case Instr::Op::Unary:
        ins.unary(a, d, n);
        break;
      case Instr::Op::Binary:
        ins.binary(a, resolve(p, f, regs, ins.src[1], t0), d, n);
        break;
      case Instr::Op::Select:
        ins.select(a, resolve(p, f, regs, ins.src[1], t0), resolve(p, f, regs, ins.src[2], t0), d,
                   n);
        break;
      case Instr::Op::Gather: {
        const GatherPlan& g = p.gathers[static_cast<size_t>(ins.gather)];
        const std::byte* base = f.leaf[static_cast<size_t>(g.leaf)];
        switch (g.esize) {
          case 1:
            gather_run<uint8_t>(g, base, t0, n, d);
            break;
          case 2:
            gather_run<uint16_t>(g, base, t0, n, d);
            break;
          case 4:
            gather_run<uint32_t>(g, base, t0, n, d);
            break;
          default:
            gather_run<uint64_t>(g, base, t0, n, d);
            break;
        }
        break;
      }
      case Instr::Op::Fill:
        fill(ins.esize, a, d, n);
        break;
      case Instr::Op::Copy:
        std::memcpy(d, a, static_cast<size_t>(n * ins.esize));
        break;
    }
  }
}

bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return an > 0 && bn > 0 && x < y + bn && y < x + an;
}

/// Everything one run needs besides the program.
struct Run {
  const Program& p;
  const RunLayout& l;
  const std::vector<Instr>& list;
  const std::vector<Ref>& red_src;
  Frame f;
  std::byte* scratch;
  NativeFn native = nullptr;  ///< plain(): the body as machine code, when it may run

  std::byte* out_at(const Reduction& r, int64_t i) const {
    return f.out[static_cast<size_t>(r.out)] + i * r.out_esize;
  }
  std::byte* chunk(int64_t c) const {
    return scratch + l.chunk_offset + static_cast<size_t>(c) * l.chunk_bytes;
  }
  std::byte* part(size_t j) const { return scratch + l.part_offset[j]; }

  void plain() const {
    const int64_t t = p.tile;
    if (native != nullptr) {
      parallel_chunks(l.tasks, l.grain, l.chunks, [&](int64_t, int64_t b, int64_t e) {
        native(f.leaf, f.out, f.uni, b * t, std::min(e * t, p.n));
      });
      return;
    }
    parallel_chunks(l.tasks, l.grain, l.chunks, [&](int64_t c, int64_t b, int64_t e) {
      std::byte* regs = chunk(c);
      for (int64_t i = b; i < e; ++i) exec(p, list, f, regs, i * t, std::min(t, p.n - i * t));
    });
  }

  // R rows of K contiguous elements, each reduced to one output element.
  void trailing() const {
    const int64_t rows = p.red_rows, k = p.red_len;
    if (k <= p.tile) {
      const int64_t h = l.h;
      parallel_chunks(l.tasks, l.grain, l.chunks, [&](int64_t ci, int64_t b, int64_t e) {
        std::byte* regs = chunk(ci);
        std::byte* acc = regs + l.acc_offset;
        for (int64_t i = b; i < e; ++i) {
          const int64_t r0 = i * h, nr = std::min(h, rows - r0);
          exec(p, list, f, regs, r0 * k, nr * k);
          for (size_t j = 0; j < p.reductions.size(); ++j) {
            const Reduction& red = p.reductions[j];
            red.fns.rows(resolve(p, f, regs, red_src[j], r0 * k), nr, k, acc);
            red.fns.store(acc, out_at(red, r0), nr);
          }
        }
      });
      return;
    }
    // Long rows: fixed chunks per row, combined in a tree per row.
    const int64_t c = l.row_chunks, len = (k + c - 1) / c;
    parallel_chunks(l.tasks, l.grain, l.chunks, [&](int64_t ci, int64_t b, int64_t e) {
      std::byte* regs = chunk(ci);
      for (int64_t i = b; i < e; ++i) {
        const int64_t r = i / c, cc = i % c, t0 = r * k + cc * len;
        const int64_t n = std::min(len, k - cc * len);
        exec(p, list, f, regs, t0, n);
        for (size_t j = 0; j < p.reductions.size(); ++j) {
          const Reduction& red = p.reductions[j];
          red.fns.rows(resolve(p, f, regs, red_src[j], t0), 1, n, part(j) + i * red.fns.acc_size);
        }
      }
    });
    for (size_t j = 0; j < p.reductions.size(); ++j) {
      const Reduction& red = p.reductions[j];
      const size_t as = red.fns.acc_size;
      for (int64_t r = 0; r < rows; ++r) {
        std::byte* row = part(j) + static_cast<size_t>(r * c) * as;
        for (int64_t step = 1; step < c; step *= 2)
          for (int64_t i = 0; i + step < c; i += 2 * step)
            red.fns.combine(row + i * as, row + (i + step) * as, 1);
        red.fns.store(row, out_at(red, r), 1);
      }
    }
  }

  // K rows of R elements, reduced over the rows.
  void leading() const {
    const int64_t k = p.red_rows, rows_w = p.red_len;
    const int64_t h = l.h, nb = l.nb, w = l.w, per = l.per, q = l.q, depth = l.depth;
    const int64_t groups = (k + h - 1) / h;
    const size_t nlevels = p.reductions.size() * static_cast<size_t>(depth);
    parallel_chunks(l.tasks, 1, l.chunks, [&](int64_t ci, int64_t b, int64_t e) {
      std::byte* regs = chunk(ci);
      std::byte* tile_acc = regs + l.acc_offset;
      std::byte* col = regs + l.col_offset;
      std::byte* level_data = regs + l.levels_offset;
      auto* has = reinterpret_cast<char*>(regs + l.has_offset);
      const size_t acc_bytes = l.acc_bytes;
      auto level = [&](size_t i) { return level_data + i * acc_bytes; };
      for (int64_t task = b; task < e; ++task) {
        const int64_t cb = task % nb, qi = task / nb, c0 = cb * w, wc = std::min(w, rows_w - c0);
        std::fill_n(has, nlevels, char{0});
        for (int64_t g = qi * per; g < std::min(groups, (qi + 1) * per); ++g) {
          const int64_t r0 = g * h, hh = std::min(h, k - r0), t0 = r0 * rows_w + c0;
          exec(p, list, f, regs, t0, nb == 1 ? hh * rows_w : wc);
          for (size_t j = 0; j < p.reductions.size(); ++j) {
            const Reduction& red = p.reductions[j];
            red.fns.columns(resolve(p, f, regs, red_src[j], t0), hh, wc, tile_acc, col);
            // Pairwise across row groups: a binary counter of partial results.
            std::byte* cur = tile_acc;
            size_t lv = 0;
            const size_t base = j * static_cast<size_t>(depth);
            while (has[base + lv]) {
              red.fns.combine(level(base + lv), cur, wc);
              cur = level(base + lv);
              has[base + lv] = 0;
              ++lv;
            }
            std::memcpy(level(base + lv), cur, static_cast<size_t>(wc) * red.fns.acc_size);
            has[base + lv] = 1;
          }
        }
        for (size_t j = 0; j < p.reductions.size(); ++j) {
          const Reduction& red = p.reductions[j];
          const size_t base = j * static_cast<size_t>(depth);
          std::byte* res = nullptr;
          for (size_t lv = 0; lv < static_cast<size_t>(depth); ++lv) {
            if (!has[base + lv]) continue;
            if (res != nullptr) red.fns.combine(level(base + lv), res, wc);
            res = level(base + lv);
          }
          std::memcpy(part(j) + static_cast<size_t>(qi * rows_w + c0) * red.fns.acc_size, res,
                      static_cast<size_t>(wc) * red.fns.acc_size);
        }
      }
    });
    for (size_t j = 0; j < p.reductions.size(); ++j) {
      const Reduction& red = p.reductions[j];
      const size_t row = static_cast<size_t>(rows_w) * red.fns.acc_size;
      for (int64_t step = 1; step < q; step *= 2)
        for (int64_t i = 0; i + step < q; i += 2 * step)
          red.fns.combine(part(j) + i * row, part(j) + (i + step) * row, rows_w);
      red.fns.store(part(j), out_at(red, 0), rows_w);
    }
  }

  void identities() const {
    for (size_t j = 0; j < p.reductions.size(); ++j) {
      const Reduction& red = p.reductions[j];
      const int64_t size = p.out_size[static_cast<size_t>(red.out)];
      red.fns.identity(part(j), size);
      red.fns.store(part(j), out_at(red, 0), size);
    }
  }
};

}  // namespace

RunLayout plan_run(const Program& p) {
  RunLayout l;
  ScratchLayout layout;
  const size_t leaves = static_cast<size_t>(p.num_inputs) + p.constants.size();
  l.leaf_offset = layout.add(leaves * sizeof(const std::byte*));
  l.out_offset = layout.add(p.out_esize.size() * sizeof(std::byte*));
  l.uni_offset = layout.add(p.uni_leaf.size() * kUniBytes);
  const size_t reg_bytes = static_cast<size_t>(p.slots * p.slot_bytes);
  size_t chunk_bytes = scratch_round(reg_bytes);
  // Per reduction: its partial results across chunks (or its identities when the domain is
  // empty), `part_elems` accumulators.
  int64_t part_elems = 0;
  if (p.n == 0) {
    l.mode = RunLayout::Mode::Identities;
  } else if (p.layout == ReduceLayout::None) {
    l.mode = RunLayout::Mode::Plain;
    const int64_t t = p.tile;
    l.tasks = (p.n + t - 1) / t;
    const int64_t work = std::max<int64_t>(1, static_cast<int64_t>(p.body.size()));
    l.grain = std::max<int64_t>(1, std::max<int64_t>(4096, kParallelGrain / work) / t);
  } else if (p.layout == ReduceLayout::Trailing) {
    l.mode = RunLayout::Mode::Trailing;
    const int64_t rows = p.red_rows, k = p.red_len;
    if (k <= p.tile) {
      l.h = std::max<int64_t>(1, p.tile / k);
      l.tasks = (rows + l.h - 1) / l.h;
      l.grain = std::max<int64_t>(1, kParallelGrain / (l.h * k));
      l.acc_offset = chunk_bytes;
      chunk_bytes += scratch_round(static_cast<size_t>(l.h) * 16);
    } else {
      l.row_chunks = (k + p.tile - 1) / p.tile;
      const int64_t len = (k + l.row_chunks - 1) / l.row_chunks;
      l.tasks = rows * l.row_chunks;
      l.grain = std::max<int64_t>(1, kParallelGrain / len);
      part_elems = rows * l.row_chunks;
    }
  } else {
    l.mode = RunLayout::Mode::Leading;
    const int64_t k = p.red_rows, rows_w = p.red_len;
    l.h = 1, l.nb = 1, l.w = rows_w;
    if (rows_w <= p.tile) {
      l.h = std::max<int64_t>(1, p.tile / rows_w);
    } else {
      l.nb = (rows_w + p.tile - 1) / p.tile;
      l.w = (rows_w + l.nb - 1) / l.nb;
    }
    const int64_t groups = (k + l.h - 1) / l.h;
    l.per = std::max<int64_t>(1, kChunkElems / (l.h * l.w));
    l.q = (groups + l.per - 1) / l.per;
    l.depth = 1;
    while ((int64_t{1} << (l.depth - 1)) < l.per) ++l.depth;
    ++l.depth;
    l.tasks = l.nb * l.q;
    l.grain = 1;
    l.acc_bytes = static_cast<size_t>(l.w) * 16;
    const size_t nlevels = p.reductions.size() * static_cast<size_t>(l.depth);
    l.acc_offset = chunk_bytes;
    chunk_bytes += scratch_round(l.acc_bytes);
    l.col_offset = chunk_bytes;
    chunk_bytes +=
        scratch_round(static_cast<size_t>(std::max<int64_t>(1, column_scratch(l.h, l.w))) * 16);
    l.levels_offset = chunk_bytes;
    chunk_bytes += scratch_round(nlevels * l.acc_bytes);
    l.has_offset = chunk_bytes;
    chunk_bytes += scratch_round(nlevels);
    part_elems = l.q * rows_w;
  }
  if (l.mode == RunLayout::Mode::Identities) {
    for (const Reduction& red : p.reductions) {
      const int64_t size = p.out_size[static_cast<size_t>(red.out)];
      l.part_offset.push_back(
          layout.add(static_cast<size_t>(std::max<int64_t>(size, 1)) * red.fns.acc_size));
    }
    l.scratch_bytes = layout.bytes();
    return l;
  }
  for (const Reduction& red : p.reductions)
    l.part_offset.push_back(layout.add(static_cast<size_t>(part_elems) * red.fns.acc_size));
  l.chunks = chunk_count(l.tasks, l.grain);
  l.chunk_bytes = chunk_bytes;
  l.chunk_offset = layout.add(chunk_bytes * static_cast<size_t>(l.chunks));
  l.scratch_bytes = layout.bytes();
  return l;
}

void run_program(const Program& p, const RunLayout& l, std::span<const Tensor> in,
                 std::span<Tensor> out, void* scratch) {
  auto* s = static_cast<std::byte*>(scratch);
  Frame f;
  f.leaf = reinterpret_cast<const std::byte**>(s + l.leaf_offset);
  f.out = reinterpret_cast<std::byte**>(s + l.out_offset);
  f.uni = s + l.uni_offset;
  bool aliased = false;
  // The native kernel takes an output that is exactly an input's buffer, no other overlap.
  bool exact = true;
  for (size_t j = 0; j < out.size(); ++j) {
    f.out[j] = static_cast<std::byte*>(detail::mutable_data(out[j]));
    const auto bytes = static_cast<size_t>(out[j].byte_size());
    for (const Tensor& t : in) {
      const auto t_bytes = static_cast<size_t>(t.byte_size());
      if (!overlaps(f.out[j], bytes, t.raw_data(), t_bytes)) continue;
      aliased = true;
      exact = exact && f.out[j] == t.raw_data() && bytes == t_bytes;
    }
  }
  size_t nleaf = 0;
  for (const Tensor& t : in) f.leaf[nleaf++] = static_cast<const std::byte*>(t.raw_data());
  for (const Tensor& t : p.constants) f.leaf[nleaf++] = static_cast<const std::byte*>(t.raw_data());
  for (size_t u = 0; u < p.uni_leaf.size(); ++u) {
    if (p.uni_leaf[u] >= 0) {
      std::memcpy(f.uni + u * kUniBytes, f.leaf[static_cast<size_t>(p.uni_leaf[u])],
                  static_cast<size_t>(p.uni_esize[u]));
    }
  }
  exec(p, p.prologue, f, nullptr, 0, 1);
  for (const auto& [j, u] : p.once) {
    fill(p.out_esize[static_cast<size_t>(j)], f.uni + u * kUniBytes, f.out[static_cast<size_t>(j)],
         p.out_size[static_cast<size_t>(j)]);
  }
  const bool native = p.native.fn != nullptr && exact && native_code();
  const Run run{p, l, aliased ? p.body_safe : p.body, aliased ? p.safe_red_src : p.red_src,
                f, s, native ? p.native.fn : nullptr};
  switch (l.mode) {
    case RunLayout::Mode::Identities:
      return run.identities();
    case RunLayout::Mode::Plain:
      return run.plain();
    case RunLayout::Mode::Trailing:
      return run.trailing();
    case RunLayout::Mode::Leading:
      return run.leading();
  }
}

void run_program(const Program& p, std::span<const Tensor> in, std::span<Tensor> out) {
  const RunLayout l = plan_run(p);
  dnnl_util::Scratch scratch;
  run_program(p, l, in, out, scratch.take(l.scratch_bytes));
}

// ---- reduction routines ------------------------------------------------------------------------

namespace {

template <class Op>
ReduceFns fns_of() {
  using Acc = typename Op::Acc;
  using In = typename Op::In;
  using Out = typename Op::Out;
  static_assert(sizeof(Acc) <= 16);
  ReduceFns f;
  f.acc_size = sizeof(Acc);
  f.identity = [](void* acc, int64_t n) { std::fill_n(static_cast<Acc*>(acc), n, Op::identity()); };
  f.rows = [](const void* x, int64_t rows, int64_t k, void* acc) {
    const In* p = static_cast<const In*>(x);
    Acc* a = static_cast<Acc*>(acc);
    for (int64_t r = 0; r < rows; ++r) a[r] = reduce_engine::reduce_run<Op>(p + r * k, k);
  };
  f.columns = [](const void* x, int64_t rows, int64_t w, void* acc, void* scratch) {
    reduce_engine::column_reduce<Op>(static_cast<const In*>(x), w, rows, w, static_cast<Acc*>(acc),
                                     static_cast<Acc*>(scratch));
  };
  f.combine = [](void* acc, const void* other, int64_t n) {
    Acc* a = static_cast<Acc*>(acc);
    const Acc* b = static_cast<const Acc*>(other);
    for (int64_t i = 0; i < n; ++i) a[i] = Op::combine(a[i], b[i]);
  };
  f.store = [](const void* acc, void* out, int64_t n) {
    const Acc* a = static_cast<const Acc*>(acc);
    Out* o = static_cast<Out*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = Op::store(a[i]);
  };
  return f;
}

}  // namespace

ReduceFns reduce_fns(detail::Prim p, DType t) {
  ReduceFns f;
  if (t == DType::Pred) return f;
  switch (p) {
    case detail::Prim::reduce_sum:
      detail::visit_wrapping_dtype(
          t, [&](auto tag) { f = fns_of<SumOp<typename decltype(tag)::type>>(); });
      break;
    case detail::Prim::reduce_prod:
      detail::visit_wrapping_dtype(
          t, [&](auto tag) { f = fns_of<ProdOp<typename decltype(tag)::type>>(); });
      break;
    case detail::Prim::reduce_max:
    case detail::Prim::reduce_min: {
      const bool is_max = p == detail::Prim::reduce_max;
      detail::visit_dtype(t, [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (!std::is_same_v<T, bool>) {
          f = is_max ? fns_of<ExtremeOp<T, true>>() : fns_of<ExtremeOp<T, false>>();
        }
      });
      break;
    }
    default:
      break;
  }
  return f;
}

int64_t column_scratch(int64_t rows, int64_t w) {
  return (reduce_engine::pairwise_depth(rows) - 1) * w;
}

}  // namespace nx::cpu::fused
