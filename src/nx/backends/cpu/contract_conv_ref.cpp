// The reference convolution: correct for every geometry conv_general accepts (any number of
// spatial axes, strides, negative padding, both dilations, feature and batch groups) and any
// float dtype.
//
// Per (output batch, group) the output block [og, positions] is a matrix product
// W_group [og, i * kernel positions] x col [i * kernel positions, positions], where col gathers
// the input value each kernel tap sees at each output position (zero in padding and between
// dilated input elements). Per spatial axis a table maps (tap, output index) to the input index
// or -1, so the gather does no division. Output positions are processed in chunks of whole
// output rows so that col stays a few MB however large the image; a 1x1 kernel that reads the
// input unchanged skips the gather and multiplies the input in place.
#include <algorithm>
#include <vector>

#include "contract_conv.hpp"
#include "contract_gemm.hpp"
#include "dnnl_common.hpp"
#include "parallel.hpp"
#include "scratch_plan.hpp"

namespace nx::cpu {

namespace {

// col chunks are sized to stay near this many bytes.
constexpr int64_t kColBytes = int64_t{4} << 20;

// Along the last axis without input dilation, the output positions a tap reads form one
// interval [begin, end) reading input src0 + step * (position - begin): a copy, not a gather.
struct Run {
  int64_t begin, end, src0, step;
};

}  // namespace

/// The reference path planned for one problem: the gather tables, the input offsets of every
/// output row (line_offsets), the split into tasks and the scratch of each parallel chunk.
struct ConvRef {
  int64_t spatial, kpos, kdim, positions, width, lines, in_size;
  std::vector<std::vector<int64_t>> taps;  ///< per axis: [k][out] -> input index or -1
  std::vector<Run> runs;                   ///< per tap of the last axis, when it has no dilation
  std::vector<int64_t> in_strides;         ///< element strides of the spatial axes
  bool direct;                             ///< col would equal the input itself
  /// offsets[t * lines + line]: where output row `line` of lead tap t starts in an input
  /// channel, or -1 when that tap reads padding there (line_offsets).
  std::vector<int64_t> offsets;
  int64_t chunk = 1, col_chunks = 1, tasks = 0;
  bool parallel = false;
  int64_t workers = 1;   ///< parallel chunks, each with its own col
  size_t col_bytes = 0;  ///< one worker's col
  size_t scratch_bytes = 0;
};

namespace {

using Plan = ConvRef;

void make_plan(const ConvGeometry& g, Plan& p) {
  p.spatial = g.spatial();
  p.kpos = num_elements(g.k);
  p.kdim = g.i * p.kpos;
  p.positions = num_elements(g.out);
  p.width = g.out.back();
  p.lines = p.width == 0 ? 0 : p.positions / p.width;
  p.in_size = num_elements(g.in);
  p.in_strides = strides_of(g.in);
  p.direct = p.kpos == 1;
  for (int64_t d = 0; d < p.spatial; ++d) {
    int64_t ld = g.lhs_dilation[d], rd = g.rhs_dilation[d], s = g.strides[d];
    int64_t dilated = g.in[d] == 0 ? 0 : (g.in[d] - 1) * ld + 1;
    std::vector<int64_t> t(static_cast<size_t>(g.k[d] * g.out[d]));
    for (int64_t kk = 0; kk < g.k[d]; ++kk) {
      for (int64_t o = 0; o < g.out[d]; ++o) {
        int64_t pos = o * s + kk * rd - g.pad_lo[d];  // in the padded, dilated input
        bool hit = pos >= 0 && pos < dilated && pos % ld == 0;
        t[static_cast<size_t>(kk * g.out[d] + o)] = hit ? pos / ld : -1;
      }
    }
    p.direct = p.direct && g.out[d] == g.in[d] && s == 1 && ld == 1 && g.pad_lo[d] == 0;
    p.taps.push_back(std::move(t));
  }
  int64_t last = p.spatial - 1;
  if (g.lhs_dilation[last] == 1) {
    const std::vector<int64_t>& t = p.taps[last];
    for (int64_t kk = 0; kk < g.k[last]; ++kk) {
      const int64_t* row = t.data() + kk * p.width;
      Run r{0, 0, 0, g.strides[last]};
      while (r.begin < p.width && row[r.begin] < 0) ++r.begin;
      r.end = r.begin;
      while (r.end < p.width && row[r.end] >= 0) ++r.end;
      if (r.begin < r.end) r.src0 = row[r.begin];
      p.runs.push_back(r);
    }
  }
}

// Input offsets of every output row for each tap of the leading (all but last) spatial axes:
// offsets[t * lines + line] is where row `line` of tap t starts in an input channel, or -1 when
// that tap reads padding there. The same for every channel and image.
void line_offsets(Plan& p, const ConvGeometry& g) {
  int64_t d_last = p.spatial - 1;
  int64_t lead_taps = p.kpos / g.k[d_last], rows = p.lines;
  p.offsets.assign(static_cast<size_t>(lead_taps * rows), 0);
  std::vector<int64_t> kv(static_cast<size_t>(p.spatial));
  for (int64_t t = 0; t < lead_taps; ++t) {
    for (int64_t d = d_last - 1, rem = t; d >= 0; --d) {
      kv[d] = rem % g.k[d];
      rem /= g.k[d];
    }
    for (int64_t line = 0; line < rows; ++line) {
      int64_t offset = 0;
      for (int64_t d = d_last - 1, rem = line; d >= 0 && offset >= 0; --d) {
        int64_t src = p.taps[d][kv[d] * g.out[d] + rem % g.out[d]];
        rem /= g.out[d];
        offset = src < 0 ? -1 : offset + src * p.in_strides[d];
      }
      p.offsets[static_cast<size_t>(t * rows + line)] = offset;
    }
  }
}

// One output row of one tap: the input row `src` as the last-axis tap `k` sees it.
template <class E>
void fill_row(const Plan& p, int64_t k, const E* src, E* dst) {
  if (p.runs.empty()) {
    const int64_t* taps = p.taps.back().data() + k * p.width;
    for (int64_t ow = 0; ow < p.width; ++ow) dst[ow] = taps[ow] >= 0 ? src[taps[ow]] : E{};
    return;
  }
  const Run& r = p.runs[static_cast<size_t>(k)];
  int64_t n = r.end - r.begin;
  std::fill_n(dst, r.begin, E{});
  const E* s0 = src + r.src0;
  E* d0 = dst + r.begin;
  if (r.step == 1) {
    for (int64_t j = 0; j < n; ++j) d0[j] = s0[j];
  } else {
    for (int64_t j = 0; j < n; ++j) d0[j] = s0[j * r.step];
  }
  std::fill(d0 + n, dst + p.width, E{});
}

// Fills col [kdim, (l1 - l0) * width] for output rows [l0, l1) of one input image slice
// `x` ([i, in...]).
template <class E>
void im2col(const Plan& p, const ConvGeometry& g, const E* x, int64_t l0, int64_t l1, E* col) {
  int64_t k_last = g.k[p.spatial - 1], rows = l1 - l0, cols = rows * p.width;
  int64_t lead_taps = p.kpos / k_last;
  for (int64_t ci = 0; ci < g.i; ++ci) {
    const E* xc = x + ci * p.in_size;
    for (int64_t t = 0; t < lead_taps; ++t) {
      const int64_t* off = p.offsets.data() + t * p.lines + l0;
      for (int64_t k = 0; k < k_last; ++k) {
        E* row = col + (ci * p.kpos + t * k_last + k) * cols;
        for (int64_t r = 0; r < rows; ++r) {
          E* dst = row + r * p.width;
          if (off[r] < 0) {
            std::fill_n(dst, p.width, E{});
          } else {
            fill_row(p, k, xc + off[r], dst);
          }
        }
      }
    }
  }
}

template <class E>
void run(const Plan& p, DType dtype, const ConvGeometry& g, const E* x, const E* w, E* y,
         std::byte* scratch) {
  int64_t groups = g.groups(), og = g.o / groups;
  if (p.kdim == 0) {  // no input channels or an empty window: every output is an empty sum
    std::fill_n(y, g.out_n * g.o * p.positions, E{});
    return;
  }
  const int64_t chunk = p.chunk, chunks = p.col_chunks;
  auto task = [&](int64_t t, E* col) {
    int64_t c_idx = t % chunks, grp = t / chunks % groups, n_out = t / chunks / groups;
    int64_t in_batch = g.batch_groups > 1 ? grp * g.out_n + n_out : n_out;
    int64_t chan0 = g.feature_groups > 1 ? grp * g.i : 0;
    const E* xb = x + (in_batch * g.c + chan0) * p.in_size;
    int64_t l0 = c_idx * chunk, l1 = std::min(p.lines, l0 + chunk);
    int64_t cols = (l1 - l0) * p.width;
    GemmView v;
    v.m = og, v.n = cols, v.k = p.kdim;
    v.a_sm = p.kdim, v.a_sk = 1;
    v.c_sm = p.positions;
    E* out = y + (n_out * g.o + grp * og) * p.positions + l0 * p.width;
    const E* wg = w + grp * og * p.kdim;
    if (p.direct) {
      v.b_sk = p.in_size, v.b_sn = 1;
      gemm(dtype, v, wg, xb + l0 * p.width, out);
      return;
    }
    im2col(p, g, xb, l0, l1, col);
    v.b_sk = cols, v.b_sn = 1;
    gemm(dtype, v, wg, col, out);
  };
  // Enough independent tasks keep both cores busy with single-threaded products; otherwise
  // each product runs threaded itself.
  parallel_chunks(p.tasks, 1, p.workers, [&](int64_t worker, int64_t begin, int64_t end) {
    E* col = reinterpret_cast<E*>(scratch + static_cast<size_t>(worker) * p.col_bytes);
    for (int64_t t = begin; t < end; ++t) task(t, col);
  });
}

}  // namespace

std::shared_ptr<const ConvRef> reference_conv_prepare(DType dtype, const ConvGeometry& g) {
  auto plan = std::make_shared<ConvRef>();
  Plan& p = *plan;
  make_plan(g, p);
  if (p.kdim == 0) return plan;
  line_offsets(p, g);
  const int64_t esize = static_cast<int64_t>(byte_size(dtype));
  const int64_t row_bytes = std::max<int64_t>(1, p.kdim * p.width * esize);
  p.chunk = p.direct ? p.lines
                     : std::clamp<int64_t>(kColBytes / row_bytes, 1, std::max<int64_t>(1, p.lines));
  p.col_chunks = p.chunk == 0 ? 0 : (p.lines + p.chunk - 1) / p.chunk;
  p.tasks = g.out_n * g.groups() * p.col_chunks;
  p.parallel = p.tasks >= 4 * max_threads() && g.macs() >= 1e6;
  p.workers = p.parallel ? chunk_count(p.tasks, 1) : 1;
  if (!p.direct) {
    p.col_bytes = scratch_round(static_cast<size_t>(p.kdim * p.chunk * p.width * esize));
  }
  p.scratch_bytes = p.col_bytes * static_cast<size_t>(p.workers);
  return plan;
}

size_t reference_conv_scratch_bytes(const ConvRef& r) {
  return r.scratch_bytes;
}

void reference_conv_run(const ConvRef& r, DType dtype, const ConvGeometry& g, const void* x,
                        const void* w, void* y, void* scratch) {
  auto* s = static_cast<std::byte*>(scratch);
  switch (byte_size(dtype)) {
    case 2:
      return run(r, dtype, g, static_cast<const uint16_t*>(x), static_cast<const uint16_t*>(w),
                 static_cast<uint16_t*>(y), s);
    case 4:
      return run(r, dtype, g, static_cast<const uint32_t*>(x), static_cast<const uint32_t*>(w),
                 static_cast<uint32_t*>(y), s);
    default:
      return run(r, dtype, g, static_cast<const uint64_t*>(x), static_cast<const uint64_t*>(w),
                 static_cast<uint64_t*>(y), s);
  }
}

void reference_conv(DType dtype, const ConvGeometry& g, const void* x, const void* w, void* y) {
  const std::shared_ptr<const ConvRef> plan = reference_conv_prepare(dtype, g);
  dnnl_util::Scratch scratch;
  reference_conv_run(*plan, dtype, g, x, w, y,
                     plan->scratch_bytes > 0 ? scratch.take(plan->scratch_bytes) : nullptr);
}

}  // namespace nx::cpu
