// oneDNN pooling for window_max, window_sum and window_scatter_max (see dnnl_pool.hpp).
//
// Only oneDNN 2.6's JIT pooling (jit:avx512_core*) is taken, on our row-major layout (its
// "ncsp" path: each block of 16 channels is transposed into an f32 buffer, pooled there and
// transposed back). Everything below was checked against that kernel; any other
// implementation oneDNN may pick is refused, and our kernels run instead.
//
// Where its results and ours agree, and where they cannot:
// - Max pooling starts each window at the lowest finite float and replaces it when an element
//   compares strictly greater, visiting the window in row-major order and skipping padding.
//   On operands whose every element is greater than that lowest float, this is exactly our
//   window_max, and the position it records (the workspace) is exactly the one our
//   window_scatter_max selects: the first maximum in row-major window order, never padding
//   (every window holds an operand element: oneDNN refuses a window made only of padding).
//   NaN (never greater, so never propagated), -inf (a window of -inf yields the lowest float,
//   and a padded window's recorded position can be padding) and the lowest float itself are
//   the exceptions; execution scans the operand for them first and hands the call back to our
//   kernels when it finds one. Tied maxima of different sign (-0 and +0) may come out as
//   either zero from either kernel; they compare equal.
// - Max pooling backward adds each source value at its recorded position into a zeroed f32
//   buffer (bf16 is converted there) and rounds once at the end, as our kernel does. Where
//   windows overlap, the values reaching one position are added in another order than ours
//   (within a row of windows oneDNN goes right to left), so with three or more of them the f32
//   sum can differ by rounding. Our init is added first; only init +0 is taken, as the
//   gradient of window_max passes, for which +0 + s = s.
// - window_sum is average pooling including padding (the sum divided by the window size K),
//   times K by an eltwise post-op applied before the result is rounded to bf16. Both steps
//   are exact when K is a power of two, so only those windows are taken (for K = 7 already
//   31 / 7 * 7 != 31 in f32), with one exception: when sum / K falls below the smallest
//   normal float (|sum| < K * 2^-126), it is rounded to a multiple of 2^-149, so the result
//   can be off by K * 2^-150 at most. The sum itself is accumulated in row-major window order
//   (ours combines the rows first), which differs by rounding as any reordering does.
#include "dnnl_pool.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <optional>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "dnnl_common.hpp"
#include "parallel.hpp"
#include "prepared.hpp"

namespace nx::cpu {

using dnnl::memory;

namespace {

// The pooling problem as oneDNN sees it: [N, C, spatial...].
struct Geometry {
  memory::dims src, dst, kernel, strides, pad_l, pad_r;
  int64_t window_size = 1;  ///< K, the number of window positions
};

// Maps a window op onto a pooling, or nullopt when it is not one (see dnnl_pool.hpp).
std::optional<Geometry> map_window(const detail::WindowParams& p, const Shape& in,
                                   const Shape& out) {
  const size_t rank = in.size();
  if (rank == 0 || out.size() != rank) return std::nullopt;
  // The leading axes the window leaves alone.
  size_t lead = 0;
  while (lead < rank && p.window[lead] == 1 && p.strides[lead] == 1 && p.pad_lo[lead] == 0 &&
         p.pad_hi[lead] == 0) {
    ++lead;
  }
  const size_t spatial = rank - lead;
  if (spatial < 1 || spatial > 3) return std::nullopt;
  int64_t planes = 1;  // the product of the leading axes
  for (size_t a = 0; a < lead; ++a) planes *= in[a];
  // oneDNN's shapes are ints inside its kernels.
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  if (num_elements(in) < 1 || num_elements(out) < 1 || num_elements(in) > kIntMax ||
      num_elements(out) > kIntMax) {
    return std::nullopt;
  }
  // oneDNN's plain-layout kernel is taken only with more than 3 channels; fewer channels, or
  // a single spatial element, would make our layout also its channels-last one, whose bf16
  // backward rounds every addition to bf16.
  int64_t plane = 1;
  for (size_t a = lead; a < rank; ++a) plane *= in[a];
  if (planes < 4 || plane < 2) return std::nullopt;
  // Every (n, c) plane is pooled alone, so any split of the leading axes into N x C does:
  // whole blocks of 16 channels when possible (oneDNN's unit of work), else one image.
  Geometry g;
  const int64_t c = planes % 16 == 0 ? 16 : planes;
  g.src = {planes / c, c};
  g.dst = {planes / c, c};
  for (size_t a = lead; a < rank; ++a) {
    if (p.window[a] > 1 && p.window_dilation[a] != 1) return std::nullopt;
    // Padding of a window size or more is useless or makes windows of padding only (which
    // oneDNN refuses); below that, the sizes oneDNN adds stay within int.
    if (p.pad_lo[a] >= p.window[a] || p.pad_hi[a] >= p.window[a] || p.window[a] > kIntMax ||
        p.strides[a] > kIntMax || in[a] + 2 * p.window[a] + p.strides[a] > kIntMax) {
      return std::nullopt;
    }
    g.src.push_back(in[a]);
    g.dst.push_back(out[a]);
    g.kernel.push_back(p.window[a]);
    g.strides.push_back(p.strides[a]);
    g.pad_l.push_back(p.pad_lo[a]);
    g.pad_r.push_back(p.pad_hi[a]);
    g.window_size *= p.window[a];
  }
  return g;
}

bool is_power_of_two(int64_t v) {
  return v > 0 && (v & (v - 1)) == 0;
}

// Only the kernel dnnl_pool.cpp's header comment describes.
bool is_jit_pooling(const dnnl::primitive_desc_base& pd) {
  const char* impl = pd.impl_info_str();
  static constexpr char kJit[] = "jit:avx512_core";
  return impl != nullptr && std::strncmp(impl, kJit, sizeof(kJit) - 1) == 0;
}

}  // namespace

struct DnnlPool {
  PoolOp op = PoolOp::Max;
  DType dtype = DType::F32;
  int64_t in_elems = 0;
  memory::desc src, dst, workspace, fwd_pad, bwd_pad;
  dnnl::primitive fwd, bwd;  ///< bwd: ScatterMax only
  // Offsets into the scratch of one call: ScatterMax's forward output and workspace, and the
  // two scratchpads.
  size_t dst_at = 0, workspace_at = 0, fwd_pad_at = 0, bwd_pad_at = 0, bytes = 0;
};

namespace {

dnnl_util::PrimitiveCache<DnnlPool>& cache() {
  static dnnl_util::PrimitiveCache<DnnlPool> c(256);
  return c;
}

std::shared_ptr<const DnnlPool> make_pool(PoolOp op, DType dtype, const Geometry& g) {
  const memory::data_type dt = dnnl_util::to_dnnl(dtype);
  auto plain = [&](const memory::dims& dims) { return memory::desc(dims, dt, strides_of(dims)); };
  auto e = std::make_shared<DnnlPool>();
  e->op = op;
  e->dtype = dtype;
  e->in_elems = num_elements(g.src);
  e->src = plain(g.src);
  e->dst = plain(g.dst);
  const auto& eng = dnnl_util::engine();
  try {
    dnnl::primitive_attr attr = dnnl_util::default_attr();
    auto alg = dnnl::algorithm::pooling_max;
    auto prop = dnnl::prop_kind::forward_inference;
    if (op == PoolOp::Sum) {
      alg = dnnl::algorithm::pooling_avg_include_padding;
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, static_cast<float>(g.window_size),
                         0.0f);
      attr.set_post_ops(ops);
    } else if (op == PoolOp::ScatterMax) {
      prop = dnnl::prop_kind::forward_training;  // records the selected positions
    }
    dnnl::pooling_forward::desc fd(prop, alg, e->src, e->dst, g.strides, g.kernel, g.pad_l,
                                   g.pad_r);
    dnnl::pooling_forward::primitive_desc fpd(fd, attr, eng);
    if (!is_jit_pooling(fpd)) return nullptr;
    e->fwd = dnnl::pooling_forward(fpd);
    e->fwd_pad = fpd.scratchpad_desc();
    if (op == PoolOp::ScatterMax) {
      e->workspace = fpd.workspace_desc();
      dnnl::pooling_backward::desc bd(alg, e->src, e->dst, g.strides, g.kernel, g.pad_l, g.pad_r);
      dnnl::pooling_backward::primitive_desc bpd(bd, dnnl_util::default_attr(), eng, fpd);
      if (!is_jit_pooling(bpd)) return nullptr;
      e->bwd = dnnl::pooling_backward(bpd);
      e->bwd_pad = bpd.scratchpad_desc();
    }
  } catch (const dnnl::error&) {
    return nullptr;  // oneDNN rejects this geometry (a window made only of padding, ...)
  }
  size_t used = 0;
  auto take = [&](size_t& offset, size_t bytes) {
    offset = used;
    used += scratch_round(bytes);
  };
  if (op == PoolOp::ScatterMax) {
    take(e->dst_at, e->dst.get_size());
    take(e->workspace_at, e->workspace.get_size());
    take(e->bwd_pad_at, e->bwd_pad.get_size());
  }
  take(e->fwd_pad_at, e->fwd_pad.get_size());
  e->bytes = used;
  return e;
}

// Nonzero when some element is not greater than the lowest finite float (NaN, -inf, lowest).
uint32_t unordered_f32(const float* x, int64_t n) {
  const float lowest = std::numeric_limits<float>::lowest();
  uint32_t found = 0;
  for (int64_t i = 0; i < n; ++i) found |= static_cast<uint32_t>(!(x[i] > lowest));
  return found;
}

// The same for bf16 by its bits: NaN or -inf (bf16's lowest finite value is above f32's).
uint32_t unordered_bf16(const uint16_t* x, int64_t n) {
  uint32_t found = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t b = x[i];
    found |= static_cast<uint32_t>((b & 0x7fffu) > 0x7f80u) | static_cast<uint32_t>(b == 0xff80u);
  }
  return found;
}

// Whether oneDNN's max pooling treats every element of x as we do (the file comment).
bool max_pool_exact(DType dtype, const void* x, int64_t n) {
  constexpr int64_t kBlock = 4096;  // elements scanned between looks at the flag
  std::atomic<bool> found{false};
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  parallel_for(blocks, std::max<int64_t>(1, kParallelGrain / kBlock), [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e && !found.load(std::memory_order_relaxed); ++blk) {
      const int64_t i0 = blk * kBlock, len = std::min(n, i0 + kBlock) - i0;
      const uint32_t bad = dtype == DType::F32
                               ? unordered_f32(static_cast<const float*>(x) + i0, len)
                               : unordered_bf16(static_cast<const uint16_t*>(x) + i0, len);
      if (bad != 0) found.store(true, std::memory_order_relaxed);
    }
  });
  return !found.load();
}

// ScatterMax takes only init +0 (its bits, so not -0): oneDNN's result starts at +0.
bool init_is_positive_zero(const Tensor& init) {
  const auto* bits = static_cast<const std::byte*>(init.raw_data());
  return std::all_of(bits, bits + byte_size(init.dtype()),
                     [](std::byte v) { return v == std::byte{0}; });
}

}  // namespace

std::shared_ptr<const DnnlPool> dnnl_pool_prepare(PoolOp op, DType dtype,
                                                  const detail::WindowParams& p, const Shape& in,
                                                  const Shape& out) {
  if (dtype != DType::F32 && dtype != DType::BF16) return nullptr;
  std::optional<Geometry> g = map_window(p, in, out);
  if (!g) return nullptr;
  if (op == PoolOp::Sum && !is_power_of_two(g->window_size)) return nullptr;
  dnnl_util::Signature sig{static_cast<int64_t>(op), static_cast<int64_t>(dtype),
                           static_cast<int64_t>(g->src.size())};
  for (const memory::dims* v : {&g->src, &g->dst, &g->kernel, &g->strides, &g->pad_l, &g->pad_r}) {
    sig.insert(sig.end(), v->begin(), v->end());
  }
  return cache().get(sig, [&] { return make_pool(op, dtype, *g); });
}

size_t dnnl_pool_scratch_bytes(const DnnlPool& pool) {
  return pool.bytes;
}

bool dnnl_pool_execute(const DnnlPool& pool, const void* x, const void* source, void* y,
                       void* scratch) {
  if (pool.op != PoolOp::Sum && !max_pool_exact(pool.dtype, x, pool.in_elems)) return false;
  auto* s = static_cast<std::byte*>(scratch);
  dnnl::stream& st = dnnl_util::stream();
  memory fwd_pad = dnnl_util::wrap(pool.fwd_pad, s + pool.fwd_pad_at);
  if (pool.op != PoolOp::ScatterMax) {
    pool.fwd.execute(st, {{DNNL_ARG_SRC, dnnl_util::wrap(pool.src, x)},
                          {DNNL_ARG_DST, dnnl_util::wrap(pool.dst, y)},
                          {DNNL_ARG_SCRATCHPAD, fwd_pad}});
  } else {
    memory workspace = dnnl_util::wrap(pool.workspace, s + pool.workspace_at);
    pool.fwd.execute(st, {{DNNL_ARG_SRC, dnnl_util::wrap(pool.src, x)},
                          {DNNL_ARG_DST, dnnl_util::wrap(pool.dst, s + pool.dst_at)},
                          {DNNL_ARG_WORKSPACE, workspace},
                          {DNNL_ARG_SCRATCHPAD, fwd_pad}});
    pool.bwd.execute(st,
                     {{DNNL_ARG_DIFF_DST, dnnl_util::wrap(pool.dst, source)},
                      {DNNL_ARG_DIFF_SRC, dnnl_util::wrap(pool.src, y)},
                      {DNNL_ARG_WORKSPACE, workspace},
                      {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(pool.bwd_pad, s + pool.bwd_pad_at)}});
  }
  st.wait();
  return true;
}

bool dnnl_pool(PoolOp op, const detail::WindowParams& p, std::span<const Tensor> in, Tensor& out) {
  const Tensor& x = in[0];
  const Shape& windows = op == PoolOp::ScatterMax ? in[1].shape() : out.shape();
  const void* source = nullptr;
  if (op == PoolOp::ScatterMax) {
    // oneDNN's result starts at +0: take only that init (its bits, so not -0).
    if (!init_is_positive_zero(in[2])) return false;
    source = in[1].raw_data();
  }
  std::shared_ptr<const DnnlPool> pool = dnnl_pool_prepare(op, x.dtype(), p, x.shape(), windows);
  if (!pool) return false;
  dnnl_util::Scratch scratch;
  return dnnl_pool_execute(*pool, x.raw_data(), source, detail::mutable_data(out),
                           scratch.take(pool->bytes));
}

namespace {

// The arguments of a pooling's one or two primitives, bound once to one scratch. Index 0 of
// each is its input (fwd: the operand; bwd: the source) and index 1 its output (fwd: the result,
// or ScatterMax's forward output in the scratch; bwd: the result), set per run where they are
// the caller's memory.
struct PoolArgs {
  dnnl_util::BoundArgs fwd, bwd;
};

PoolArgs bind_pool(const DnnlPool& pool, void* scratch) {
  auto* s = static_cast<std::byte*>(scratch);
  PoolArgs b;
  b.fwd.add(DNNL_ARG_SRC, pool.src);
  if (pool.op != PoolOp::ScatterMax) {
    b.fwd.add(DNNL_ARG_DST, pool.dst);
  } else {
    b.fwd.add(DNNL_ARG_DST, pool.dst, s + pool.dst_at);
    b.fwd.add(DNNL_ARG_WORKSPACE, pool.workspace, s + pool.workspace_at);
    b.bwd.add(DNNL_ARG_DIFF_DST, pool.dst);
    b.bwd.add(DNNL_ARG_DIFF_SRC, pool.src);
    b.bwd.add(DNNL_ARG_WORKSPACE, pool.workspace, s + pool.workspace_at);
    b.bwd.add(DNNL_ARG_SCRATCHPAD, pool.bwd_pad, s + pool.bwd_pad_at);
  }
  b.fwd.add(DNNL_ARG_SCRATCHPAD, pool.fwd_pad, s + pool.fwd_pad_at);
  return b;
}

// dnnl_pool_execute over bound arguments: the same primitives in the same order.
bool run_pool(const DnnlPool& pool, PoolArgs& b, const void* x, const void* source, void* y) {
  if (pool.op != PoolOp::Sum && !max_pool_exact(pool.dtype, x, pool.in_elems)) return false;
  b.fwd.set(0, x);
  if (pool.op != PoolOp::ScatterMax) {
    b.fwd.set(1, y);
    b.fwd.execute(pool.fwd);
  } else {
    b.fwd.execute(pool.fwd);
    b.bwd.set(0, source);
    b.bwd.set(1, y);
    b.bwd.execute(pool.bwd);
  }
  dnnl_util::stream().wait();
  return true;
}

struct PreparedPoolState final : PreparedState {
  PoolArgs args;
};

// A window op that is a pooling oneDNN takes for its shapes: the primitives made once, their
// arguments bound once per instance. A call whose values oneDNN would treat differently (NaN,
// -inf, the lowest float; ScatterMax with an init other than +0) runs our own loops instead,
// planned with the pooling and on their own part of the scratch, exactly as an eager call
// would fall back to them.
class PreparedPool final : public PreparedKernel {
 public:
  PreparedPool(std::unique_ptr<PreparedKernel> own, std::shared_ptr<const DnnlPool> pool)
      : own_(std::move(own)), pool_(std::move(pool)), own_at_(scratch_round(pool_->bytes)) {}
  size_t scratch_bytes() const override { return own_at_ + own_->scratch_bytes(); }
  void run(std::span<const Tensor> in, std::span<Tensor> out, void* scratch) const override {
    PoolArgs args = bind_pool(*pool_, scratch);
    run_on(args, in, out, scratch);
  }
  std::unique_ptr<PreparedState> make_state(void* scratch) const override {
    auto s = std::make_unique<PreparedPoolState>();
    s->args = bind_pool(*pool_, scratch);
    return s;
  }
  void run_with(std::span<const Tensor> in, std::span<Tensor> out, void* scratch,
                PreparedState* state) const override {
    if (state == nullptr) {
      run(in, out, scratch);
      return;
    }
    run_on(static_cast<PreparedPoolState*>(state)->args, in, out, scratch);
  }

 private:
  void run_on(PoolArgs& args, std::span<const Tensor> in, std::span<Tensor> out,
              void* scratch) const {
    const bool scatter = pool_->op == PoolOp::ScatterMax;
    if ((scatter && !init_is_positive_zero(in[2])) ||
        !run_pool(*pool_, args, in[0].raw_data(), scatter ? in[1].raw_data() : nullptr,
                  detail::mutable_data(out[0]))) {
      own_->run(in, out, static_cast<std::byte*>(scratch) + own_at_);
    }
  }

  std::unique_ptr<PreparedKernel> own_;
  std::shared_ptr<const DnnlPool> pool_;
  size_t own_at_;
};

}  // namespace

std::unique_ptr<PreparedKernel> prepare_window(detail::Prim p, const detail::Params& params,
                                               std::span<const TensorType> in,
                                               std::span<const TensorType> out) {
  const bool scatter =
      p == detail::Prim::window_scatter_max || p == detail::Prim::window_scatter_min;
  std::unique_ptr<PreparedKernel> own =
      scatter ? prepare_window_scatter(p, params, in) : prepare_window_reduce(p, params, in, out);
  PoolOp op;
  switch (p) {
    case detail::Prim::window_max:
      op = PoolOp::Max;
      break;
    case detail::Prim::window_sum:
      op = PoolOp::Sum;
      break;
    case detail::Prim::window_scatter_max:
      op = PoolOp::ScatterMax;
      break;
    default:
      return own;
  }
  const Shape& windows = op == PoolOp::ScatterMax ? in[1].shape : out[0].shape;
  std::shared_ptr<const DnnlPool> pool = dnnl_pool_prepare(
      op, in[0].dtype, std::get<detail::WindowParams>(params), in[0].shape, windows);
  if (!pool) return own;
  return std::make_unique<PreparedPool>(std::move(own), std::move(pool));
}

size_t dnnl_pool_cache_size() {
  return cache().size();
}

}  // namespace nx::cpu
