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

namespace nx::cpu::fused {

namespace {

/// Bytes of one uniform slot (the widest dtype, rounded up for alignment).
constexpr int64_t kUniBytes = 16;
/// Elements of one parallel work item when many tiles share a reduction's row.
constexpr int64_t kChunkElems = 65536;
/// Most axes a gather walks (after collapsing); compile_program never makes more.
constexpr size_t kMaxGatherRank = 32;

/// The buffers of one call.
struct Frame {
  std::vector<const std::byte*> leaf;
  std::vector<std::byte*> out;
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
  const std::vector<Instr>& list;
  const std::vector<Ref>& red_src;
  Frame f;

  size_t reg_bytes() const { return static_cast<size_t>(p.slots * p.slot_bytes); }
  std::byte* out_at(const Reduction& r, int64_t i) const {
    return f.out[static_cast<size_t>(r.out)] + i * r.out_esize;
  }

  void plain() const {
    const int64_t t = p.tile, tiles = (p.n + t - 1) / t;
    const int64_t work = std::max<int64_t>(1, static_cast<int64_t>(list.size()));
    const int64_t grain = std::max<int64_t>(1, std::max<int64_t>(4096, kParallelGrain / work) / t);
    parallel_for(tiles, grain, [&](int64_t b, int64_t e) {
      dnnl_util::Scratch scratch;
      auto* regs = static_cast<std::byte*>(scratch.take(reg_bytes()));
      for (int64_t i = b; i < e; ++i) exec(p, list, f, regs, i * t, std::min(t, p.n - i * t));
    });
  }

  // R rows of K contiguous elements, each reduced to one output element.
  void trailing() const {
    const int64_t rows = p.red_rows, k = p.red_len;
    if (k <= p.tile) {
      const int64_t h = std::max<int64_t>(1, p.tile / k), tiles = (rows + h - 1) / h;
      const int64_t grain = std::max<int64_t>(1, kParallelGrain / (h * k));
      parallel_for(tiles, grain, [&](int64_t b, int64_t e) {
        dnnl_util::Scratch scratch;
        auto* regs = static_cast<std::byte*>(scratch.take(reg_bytes()));
        auto* acc = static_cast<std::byte*>(scratch.take(static_cast<size_t>(h) * 16));
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
    const int64_t c = (k + p.tile - 1) / p.tile, len = (k + c - 1) / c;
    std::vector<std::vector<std::byte>> parts(p.reductions.size());
    for (size_t j = 0; j < parts.size(); ++j)
      parts[j].resize(static_cast<size_t>(rows * c) * p.reductions[j].fns.acc_size);
    parallel_for(rows * c, std::max<int64_t>(1, kParallelGrain / len), [&](int64_t b, int64_t e) {
      dnnl_util::Scratch scratch;
      auto* regs = static_cast<std::byte*>(scratch.take(reg_bytes()));
      for (int64_t i = b; i < e; ++i) {
        const int64_t r = i / c, ci = i % c, t0 = r * k + ci * len;
        const int64_t n = std::min(len, k - ci * len);
        exec(p, list, f, regs, t0, n);
        for (size_t j = 0; j < p.reductions.size(); ++j) {
          const Reduction& red = p.reductions[j];
          red.fns.rows(resolve(p, f, regs, red_src[j], t0), 1, n,
                       parts[j].data() + i * red.fns.acc_size);
        }
      }
    });
    for (size_t j = 0; j < p.reductions.size(); ++j) {
      const Reduction& red = p.reductions[j];
      const size_t as = red.fns.acc_size;
      for (int64_t r = 0; r < rows; ++r) {
        std::byte* row = parts[j].data() + static_cast<size_t>(r * c) * as;
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
    int64_t h = 1, nb = 1, w = rows_w;
    if (rows_w <= p.tile) {
      h = std::max<int64_t>(1, p.tile / rows_w);
    } else {
      nb = (rows_w + p.tile - 1) / p.tile;
      w = (rows_w + nb - 1) / nb;
    }
    const int64_t groups = (k + h - 1) / h;
    const int64_t per = std::max<int64_t>(1, kChunkElems / (h * w));
    const int64_t q = (groups + per - 1) / per;
    std::vector<std::vector<std::byte>> parts(p.reductions.size());
    for (size_t j = 0; j < parts.size(); ++j)
      parts[j].resize(static_cast<size_t>(q * rows_w) * p.reductions[j].fns.acc_size);
    int depth = 1;
    while ((int64_t{1} << (depth - 1)) < per) ++depth;
    ++depth;
    parallel_for(nb * q, 1, [&](int64_t b, int64_t e) {
      dnnl_util::Scratch scratch;
      auto* regs = static_cast<std::byte*>(scratch.take(reg_bytes()));
      const size_t acc_bytes = static_cast<size_t>(w) * 16;
      auto* tile_acc = static_cast<std::byte*>(scratch.take(acc_bytes));
      auto* col = static_cast<std::byte*>(
          scratch.take(static_cast<size_t>(std::max<int64_t>(1, column_scratch(h, w))) * 16));
      std::vector<std::byte*> levels(p.reductions.size() * static_cast<size_t>(depth));
      for (auto& l : levels) l = static_cast<std::byte*>(scratch.take(acc_bytes));
      std::vector<char> has(levels.size());
      for (int64_t task = b; task < e; ++task) {
        const int64_t cb = task % nb, qi = task / nb, c0 = cb * w, wc = std::min(w, rows_w - c0);
        std::fill(has.begin(), has.end(), 0);
        for (int64_t g = qi * per; g < std::min(groups, (qi + 1) * per); ++g) {
          const int64_t r0 = g * h, hh = std::min(h, k - r0), t0 = r0 * rows_w + c0;
          exec(p, list, f, regs, t0, nb == 1 ? hh * rows_w : wc);
          for (size_t j = 0; j < p.reductions.size(); ++j) {
            const Reduction& red = p.reductions[j];
            red.fns.columns(resolve(p, f, regs, red_src[j], t0), hh, wc, tile_acc, col);
            // Pairwise across row groups: a binary counter of partial results.
            std::byte* cur = tile_acc;
            size_t l = 0;
            const size_t base = j * static_cast<size_t>(depth);
            while (has[base + l]) {
              red.fns.combine(levels[base + l], cur, wc);
              cur = levels[base + l];
              has[base + l] = 0;
              ++l;
            }
            std::memcpy(levels[base + l], cur, static_cast<size_t>(wc) * red.fns.acc_size);
            has[base + l] = 1;
          }
        }
        for (size_t j = 0; j < p.reductions.size(); ++j) {
          const Reduction& red = p.reductions[j];
          const size_t base = j * static_cast<size_t>(depth);
          std::byte* res = nullptr;
          for (size_t l = 0; l < static_cast<size_t>(depth); ++l) {
            if (!has[base + l]) continue;
            if (res != nullptr) red.fns.combine(levels[base + l], res, wc);
            res = levels[base + l];
          }
          std::memcpy(parts[j].data() + static_cast<size_t>(qi * rows_w + c0) * red.fns.acc_size,
                      res, static_cast<size_t>(wc) * red.fns.acc_size);
        }
      }
    });
    for (size_t j = 0; j < p.reductions.size(); ++j) {
      const Reduction& red = p.reductions[j];
      const size_t row = static_cast<size_t>(rows_w) * red.fns.acc_size;
      for (int64_t step = 1; step < q; step *= 2)
        for (int64_t i = 0; i + step < q; i += 2 * step)
          red.fns.combine(parts[j].data() + i * row, parts[j].data() + (i + step) * row, rows_w);
      red.fns.store(parts[j].data(), out_at(red, 0), rows_w);
    }
  }

  void identities() const {
    for (const Reduction& red : p.reductions) {
      const int64_t size = p.out_size[static_cast<size_t>(red.out)];
      std::vector<std::byte> acc(static_cast<size_t>(std::max<int64_t>(size, 1)) *
                                 red.fns.acc_size);
      red.fns.identity(acc.data(), size);
      red.fns.store(acc.data(), out_at(red, 0), size);
    }
  }
};

}  // namespace

void run_program(const Program& p, std::span<const Tensor> in, std::span<Tensor> out) {
  Frame f;
  bool aliased = false;
  for (size_t j = 0; j < out.size(); ++j) {
    f.out.push_back(static_cast<std::byte*>(detail::mutable_data(out[j])));
    for (const Tensor& t : in) {
      aliased = aliased || overlaps(f.out.back(), static_cast<size_t>(out[j].byte_size()),
                                    t.raw_data(), static_cast<size_t>(t.byte_size()));
    }
  }
  for (const Tensor& t : in) f.leaf.push_back(static_cast<const std::byte*>(t.raw_data()));
  for (const Tensor& t : p.constants) f.leaf.push_back(static_cast<const std::byte*>(t.raw_data()));
  dnnl_util::Scratch scratch;
  f.uni = static_cast<std::byte*>(scratch.take(p.uni_leaf.size() * kUniBytes));
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
  const Run run{p, aliased ? p.body_safe : p.body, aliased ? p.safe_red_src : p.red_src, f};
  if (p.n == 0) {
    run.identities();
  } else if (p.layout == ReduceLayout::None) {
    run.plain();
  } else if (p.layout == ReduceLayout::Trailing) {
    run.trailing();
  } else {
    run.leading();
  }
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
