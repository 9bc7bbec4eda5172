// The oneDNN path of conv_general: a forward convolution, or one of the two backward
// convolutions when the call is the gradient the VJP rule of conv_general emits.
//
// Every mapping below is exact for the geometries it accepts; which one runs is a speed choice.
// - Forward: y = conv(x, w). Negative padding crops the input: the source is described as a
//   strided window of the input buffer (oneDNN's reorder reads any strides), with the remaining
//   padding non-negative.
// - Backward data, for input dilation d with window stride 1 (the input gradient of a strided
//   convolution; vjp_conv_general's transposed convolution): XLA's
//   y[t] = sum_k x_dilated[t + k*rd - lo] w[k] is the input gradient of a forward convolution
//   with stride d, dilation rd, the kernel flipped and in/out features swapped
//   (w'[o][c][k'] = w[c][o][K-1-k']), PL = (K-1)*rd - lo and PR = (K-1)*rd - hi, where these
//   are >= 0: x is that convolution's output gradient, y its input gradient.
// - Backward weights, for the kernel gradient: vjp_conv_general convolves the input with batch
//   and features swapped ([C, N, sp]) with the output gradient as the kernel ([O, N, sp']), the
//   forward strides as kernel dilation, and feature groups as batch groups. Read back, that is
//   oneDNN's weight gradient of a forward convolution with x as its source (viewed as
//   [N, C, sp] through strides), w as its output gradient and y as its weight gradient, our
//   window strides as its dilation and our kernel dilation as its strides. Any call without
//   input dilation or feature groups maps so; it pays when the kernel has more positions than
//   the output (a weight gradient's "kernel" is the forward output), and always with batch
//   groups, which the forward mapping cannot take.
//
// Operands need not be row-major: ConvStrides gives each one's element strides (a transposed
// view: the conv_layout kernels of dnnl_conv_layout.cpp read NHWC data and the kernel gradient's
// batch/feature-swapped operands in place), and every mapping describes our buffers through them.
//
// The primitive is created with "any" layouts so that oneDNN picks its fast blocked formats
// (nChw16c and friends); our row-major tensors are reordered into them and the result back.
// Dense channels-last activations are the exception: they are given to oneDNN as they are, and
// its nxc kernels run on our buffers with no reorder.
// The backward primitives are created with the forward primitive descriptor of their problem
// as hint, as oneDNN requires. Creating the primitive and its three reorders is the expensive
// part, so all four are cached together per problem signature.
#include <algorithm>
#include <cstring>
#include <optional>
#include <tuple>

#include "../../core/tensor_impl.hpp"
#include "contract_conv.hpp"
#include "dnnl_common.hpp"
#include "prepared.hpp"

namespace nx::cpu {

using dnnl::memory;

namespace {

using Kind = DnnlConvKind;

// How a conv_general call maps onto a oneDNN primitive: the forward problem oneDNN sees (src
// [n, c, sp], weights [(groups,) o, i, sp], dst [n, o, sp]) and how our three buffers read as
// the operands of the primitive that runs.
struct Mapping {
  Kind kind = Kind::Forward;
  int64_t groups = 1;
  memory::dims src_dims, w_dims, dst_dims;
  memory::dims strides, dilates, pad_l, pad_r;
  // Our input, kernel and output as oneDNN memory: dims in the role each plays, and strides.
  memory::dims x_dims, x_strides, k_dims, k_strides, y_dims, y_strides;
  int64_t x_offset = 0;  ///< elements to skip in the input (cropping)
  int64_t y_offset = 0;  ///< elements to skip in the output (cropping)
  bool zero_y = false;   ///< the primitive writes only part of the output; the rest is zero
  bool flip = false;     ///< backward data: the kernel is flipped into scratch first
};

// Grouped weights get a leading group axis; `o` and `i` are per group.
memory::dims weight_dims(int64_t groups, int64_t o, int64_t i) {
  return groups > 1 ? memory::dims{groups, o, i} : memory::dims{o, i};
}

bool all_positive(const ConvGeometry& g) {
  if (g.n < 1 || g.c < 1 || g.o < 1 || g.i < 1) return false;
  for (int64_t a = 0; a < g.spatial(); ++a) {
    if (g.in[a] < 1 || g.k[a] < 1 || g.out[a] < 1) return false;
  }
  return true;
}

bool any_input_dilation(const ConvGeometry& g) {
  return std::any_of(g.lhs_dilation.begin(), g.lhs_dilation.end(),
                     [](int64_t v) { return v != 1; });
}

// Whether oneDNN's output size of an axis (input `size` padded by lo and hi, a window of
// extent `span` + 1, `stride`) is `out`. oneDNN rounds down like XLA, so a negative right
// padding smaller than the stride can often be 0 instead: the extra input positions are then
// never read (or, for the input gradient, written as zeros), and no cropping is needed, which
// keeps oneDNN on its specialised kernels (jit_1x1 for strided 1x1 convolutions).
bool output_size_is(int64_t size, int64_t lo, int64_t hi, int64_t span, int64_t stride,
                    int64_t out) {
  int64_t room = size + lo + hi - span - 1;
  return room >= 0 && room / stride + 1 == out;
}

std::optional<Mapping> map_forward(const ConvGeometry& g, const ConvStrides& st) {
  if (g.batch_groups != 1 || any_input_dilation(g)) return std::nullopt;
  Mapping m;
  m.groups = g.feature_groups;
  const Shape& xs = st.x;
  m.src_dims = {g.n, g.c};
  m.x_strides = {xs[0], xs[1]};
  m.dst_dims = {g.out_n, g.o};
  m.w_dims = weight_dims(m.groups, g.o / m.groups, g.i);
  m.k_strides = m.groups > 1 ? memory::dims{g.o / m.groups * st.k[0], st.k[0], st.k[1]}
                             : memory::dims{st.k[0], st.k[1]};
  m.y_strides = {st.y[0], st.y[1]};
  for (int64_t a = 0; a < g.spatial(); ++a) {
    int64_t lo = g.pad_lo[a], hi = g.pad_hi[a], size = g.in[a];
    if (lo < 0) m.x_offset += -lo * xs[2 + a], size += lo, lo = 0;
    int64_t span = (g.k[a] - 1) * g.rhs_dilation[a];
    if (hi < 0 && output_size_is(size, lo, 0, span, g.strides[a], g.out[a])) hi = 0;
    if (hi < 0) size += hi, hi = 0;
    if (size < 1) return std::nullopt;
    m.strides.push_back(g.strides[a]);
    m.pad_l.push_back(lo);
    m.pad_r.push_back(hi);
    m.src_dims.push_back(size);
    m.x_strides.push_back(xs[2 + a]);
    m.dst_dims.push_back(g.out[a]);
    m.w_dims.push_back(g.k[a]);
    m.k_strides.push_back(st.k[2 + a]);
    m.y_strides.push_back(st.y[2 + a]);
    m.dilates.push_back(g.rhs_dilation[a] - 1);  // oneDNN counts the skipped elements
  }
  m.x_dims = m.src_dims;
  m.k_dims = m.w_dims;
  m.y_dims = m.dst_dims;
  return m;
}

std::optional<Mapping> map_backward_data(const ConvGeometry& g, const ConvStrides& st) {
  if (g.batch_groups != 1 || !any_input_dilation(g)) return std::nullopt;
  Mapping m;
  m.kind = Kind::BackwardData;
  int64_t groups = m.groups = g.feature_groups;
  int64_t pk = num_elements(g.k);
  // A kernel of more than one position is flipped into scratch as a contiguous [o, i, k] block;
  // a 1x1 kernel is read where it is, through its strides.
  m.flip = pk > 1;
  if (m.flip && !st.contiguous_kernel) return std::nullopt;
  // The forward problem: our output is its source, our input its output.
  m.src_dims = {g.out_n, g.o};
  m.dst_dims = {g.n, g.c};
  // Its weights [groups, c/groups, o/groups, k] are our (flipped) kernel [o, c/groups, k] with
  // the two feature axes swapped within each group.
  m.w_dims = weight_dims(groups, g.i, g.o / groups);
  const int64_t ko = m.flip ? g.i * pk : st.k[0], ki = m.flip ? pk : st.k[1];
  m.k_strides = groups > 1 ? memory::dims{g.o / groups * ko, ki, ko} : memory::dims{ki, ko};
  Shape k_spatial = strides_of(g.k);
  if (!m.flip) k_spatial.assign(st.k.begin() + 2, st.k.end());
  const Shape& out_strides = st.y;
  m.y_strides = {out_strides[0], out_strides[1]};
  m.x_strides = {st.x[0], st.x[1]};
  for (int64_t a = 0; a < g.spatial(); ++a) {
    if (g.strides[a] != 1) return std::nullopt;
    int64_t span = (g.k[a] - 1) * g.rhs_dilation[a];
    int64_t pl = span - g.pad_lo[a], pr = span - g.pad_hi[a], size = g.out[a];
    // Negative padding of the forward problem: it never reads the first -pl or last -pr
    // positions of its input, whose gradient (our output) is zero there.
    if (pl < 0) m.y_offset += -pl * out_strides[2 + a], size += pl, pl = 0, m.zero_y = true;
    if (pr < 0 && output_size_is(size, pl, 0, span, g.lhs_dilation[a], g.in[a])) pr = 0;
    if (pr < 0) size += pr, pr = 0, m.zero_y = true;
    if (size < 1) return std::nullopt;
    m.strides.push_back(g.lhs_dilation[a]);
    m.dilates.push_back(g.rhs_dilation[a] - 1);
    m.pad_l.push_back(pl);
    m.pad_r.push_back(pr);
    m.src_dims.push_back(size);
    m.dst_dims.push_back(g.in[a]);
    m.w_dims.push_back(g.k[a]);
    m.k_strides.push_back(k_spatial[a]);
    m.y_strides.push_back(out_strides[2 + a]);
    m.x_strides.push_back(st.x[2 + a]);
  }
  m.x_dims = m.dst_dims;
  m.k_dims = m.w_dims;
  m.y_dims = m.src_dims;
  return m;
}

std::optional<Mapping> map_backward_weights(const ConvGeometry& g, const ConvStrides& st) {
  if (g.feature_groups != 1 || any_input_dilation(g)) return std::nullopt;
  Mapping m;
  m.kind = Kind::BackwardWeights;
  int64_t groups = m.groups = g.batch_groups;
  const Shape &xs = st.x, &ks = st.k, &ys = st.y;
  // The forward problem: batch g.c, g.n input and g.o output channels, in `groups` groups.
  m.src_dims = {g.c, g.n};
  m.x_strides = {xs[1], xs[0]};
  m.dst_dims = {g.c, g.o};
  m.k_strides = {ks[1], ks[0]};
  // Its weight gradient [groups, o/groups, n/groups, out] is our output [n/groups, o, out].
  m.w_dims = weight_dims(groups, g.o / groups, g.out_n);
  m.y_strides =
      groups > 1 ? memory::dims{g.o / groups * ys[1], ys[1], ys[0]} : memory::dims{ys[1], ys[0]};
  for (int64_t a = 0; a < g.spatial(); ++a) {
    // Forward stride S = our kernel dilation, forward dilation D = our stride. The positions
    // read are k*D + t*S - lo for kernel position k < g.out and output position t < g.k; the
    // input is padded on the right to end exactly after the last one, or cropped there when it
    // extends by as much as a stride past it.
    int64_t lo = g.pad_lo[a], size = g.in[a];
    if (lo < 0) m.x_offset += -lo * xs[2 + a], size += lo, lo = 0;
    int64_t hi = (g.k[a] - 1) * g.rhs_dilation[a] + (g.out[a] - 1) * g.strides[a] + 1 - size - lo;
    int64_t span = (g.out[a] - 1) * g.strides[a];
    if (hi < 0 && output_size_is(size, lo, 0, span, g.rhs_dilation[a], g.k[a])) hi = 0;
    if (hi < 0) size += hi, hi = 0;
    if (size < 1) return std::nullopt;
    m.strides.push_back(g.rhs_dilation[a]);
    m.dilates.push_back(g.strides[a] - 1);
    m.pad_l.push_back(lo);
    m.pad_r.push_back(hi);
    m.src_dims.push_back(size);
    m.x_strides.push_back(xs[2 + a]);
    m.dst_dims.push_back(g.k[a]);
    m.k_strides.push_back(ks[2 + a]);
    m.w_dims.push_back(g.out[a]);
    m.y_strides.push_back(ys[2 + a]);
  }
  m.x_dims = m.src_dims;
  m.k_dims = m.dst_dims;
  m.y_dims = m.w_dims;
  return m;
}

// The mappings worth trying for this call, best first.
std::vector<Mapping> candidates(const ConvGeometry& g, const ConvStrides& st) {
  std::vector<Mapping> out;
  int64_t d = g.spatial();
  if (d < 1 || d > 3 || !all_positive(g)) return out;
  if (auto m = map_backward_data(g, st)) out.push_back(std::move(*m));
  if (dnnl_conv_prefers_backward_weights(g)) {
    if (auto m = map_backward_weights(g, st)) out.push_back(std::move(*m));
  }
  if (auto m = map_forward(g, st)) out.push_back(std::move(*m));
  return out;
}

// A layout oneDNN computes in, with a reorder from/to ours when they differ.
struct Reordered {
  memory::desc plain, native;
  std::optional<dnnl::reorder> reorder;
  memory::desc reorder_scratchpad;
};

}  // namespace

// The primitive, its reorders and where each piece of scratch memory goes: everything a call
// needs but the data.
struct DnnlConv {
  Mapping m;
  dnnl::primitive primitive;
  memory::desc scratchpad;
  Reordered x, k, y;  ///< our input, kernel and output in the roles of the mapping
  int x_arg = 0, k_arg = 0, y_arg = 0;
  // Offsets into the scratch of one call (see dnnl_conv_execute).
  size_t flipped = 0, x_native = 0, x_pad = 0, k_native = 0, k_pad = 0, y_native = 0, y_pad = 0,
         pad = 0, bytes = 0;
};

namespace {

dnnl_util::PrimitiveCache<DnnlConv>& cache() {
  static dnnl_util::PrimitiveCache<DnnlConv> c(256);
  return c;
}

Reordered make_reordered(const memory::desc& plain, const memory::desc& native, bool to_native) {
  Reordered r{plain, native, std::nullopt, memory::desc()};
  if (plain == native) return r;
  const memory::desc& from = to_native ? plain : native;
  const memory::desc& to = to_native ? native : plain;
  dnnl::reorder::primitive_desc pd(dnnl_util::engine(), from, dnnl_util::engine(), to,
                                   dnnl_util::default_attr());
  r.reorder = dnnl::reorder(pd);
  r.reorder_scratchpad = pd.scratchpad_desc();
  return r;
}

// Lays out the scratch of one call: the flipped kernel (backward data), the reordered operands
// and result, and every scratchpad.
void layout_scratch(DnnlConv& e, int64_t flipped_bytes) {
  size_t used = 0;
  auto take = [&](size_t& offset, size_t bytes) {
    offset = used;
    used += scratch_round(bytes);
  };
  take(e.flipped, static_cast<size_t>(flipped_bytes));
  for (auto [r, native, pad] :
       {std::tuple{&e.x, &e.x_native, &e.x_pad}, std::tuple{&e.k, &e.k_native, &e.k_pad},
        std::tuple{&e.y, &e.y_native, &e.y_pad}}) {
    if (!r->reorder) continue;
    take(*native, r->native.get_size());
    take(*pad, r->reorder_scratchpad.get_size());
  }
  take(e.pad, e.scratchpad.get_size());
  e.bytes = used;
}

// Whether `md` is a dense channels-last layout ([n, c, sp..] stored as n, sp.., c).
bool is_nxc(const memory::desc& md) {
  const memory::dims dims = md.dims();
  using tag = memory::format_tag;
  const tag t = dims.size() == 3 ? tag::nwc : dims.size() == 4 ? tag::nhwc : tag::ndhwc;
  return dims.size() >= 3 && dims.size() <= 5 && md == memory::desc(dims, md.data_type(), t);
}

std::shared_ptr<const DnnlConv> make_entry(memory::data_type dt, const Mapping& m,
                                           int64_t flipped_bytes, bool use_nxc) {
  auto any = [&](const memory::dims& dims) {
    return memory::desc(dims, dt, memory::format_tag::any);
  };
  auto attr = dnnl_util::default_attr();
  const auto& eng = dnnl_util::engine();
  const auto algo = dnnl::algorithm::convolution_direct;
  // Same result as forward_inference (no bias, no workspace), but oneDNN 2.6 then picks its
  // nChw16c kernels, whose reorders from our NCHW are cheaper than those to the NHWC of the
  // kernels it picks for inference; measured faster overall on AVX-512 for f32 and bf16. The
  // backward primitives need a training forward as hint anyway.
  const auto prop = dnnl::prop_kind::forward_training;
  auto e = std::make_shared<DnnlConv>();
  e->m = m;
  // The native layouts of our input, kernel and output, in that order.
  memory::desc x_native, k_native, y_native;
  // The buffers that play the problem's source and destination (its activations).
  const memory::desc x_plain(m.x_dims, dt, m.x_strides), k_plain(m.k_dims, dt, m.k_strides),
      y_plain(m.y_dims, dt, m.y_strides);
  const memory::desc& src_plain = m.kind == Kind::BackwardData ? y_plain : x_plain;
  const memory::desc& dst_plain = m.kind == Kind::Forward        ? y_plain
                                  : m.kind == Kind::BackwardData ? x_plain
                                                                 : k_plain;
  // Channels-last activations (NHWC data read through strides) are given to oneDNN as they are:
  // its nxc kernels then run on our buffers with no reorder, as they do for PyTorch's
  // channels_last tensors. Anything else lets oneDNN choose (blocked layouts, reordered).
  const bool nxc = use_nxc && is_nxc(src_plain) && is_nxc(dst_plain);
  auto src_md = [&] { return nxc ? src_plain : any(m.src_dims); };
  auto dst_md = [&] { return nxc ? dst_plain : any(m.dst_dims); };
  try {
    dnnl::convolution_forward::desc fwd(prop, algo, src_md(), any(m.w_dims), dst_md(), m.strides,
                                        m.dilates, m.pad_l, m.pad_r);
    dnnl::convolution_forward::primitive_desc fwd_pd(fwd, attr, eng);
    switch (m.kind) {
      case Kind::Forward: {
        if (!dnnl_util::is_optimized(fwd_pd)) return nullptr;
        e->primitive = dnnl::convolution_forward(fwd_pd);
        e->scratchpad = fwd_pd.scratchpad_desc();
        x_native = fwd_pd.src_desc(), k_native = fwd_pd.weights_desc();
        y_native = fwd_pd.dst_desc();
        e->x_arg = DNNL_ARG_SRC, e->k_arg = DNNL_ARG_WEIGHTS, e->y_arg = DNNL_ARG_DST;
        break;
      }
      case Kind::BackwardData: {
        dnnl::convolution_backward_data::desc desc(algo, src_md(), any(m.w_dims), dst_md(),
                                                   m.strides, m.dilates, m.pad_l, m.pad_r);
        dnnl::convolution_backward_data::primitive_desc pd(desc, attr, eng, fwd_pd);
        if (!dnnl_util::is_optimized(pd)) return nullptr;
        e->primitive = dnnl::convolution_backward_data(pd);
        e->scratchpad = pd.scratchpad_desc();
        x_native = pd.diff_dst_desc(), k_native = pd.weights_desc();
        y_native = pd.diff_src_desc();
        e->x_arg = DNNL_ARG_DIFF_DST, e->k_arg = DNNL_ARG_WEIGHTS, e->y_arg = DNNL_ARG_DIFF_SRC;
        break;
      }
      case Kind::BackwardWeights: {
        dnnl::convolution_backward_weights::desc desc(algo, src_md(), any(m.w_dims), dst_md(),
                                                      m.strides, m.dilates, m.pad_l, m.pad_r);
        dnnl::convolution_backward_weights::primitive_desc pd(desc, attr, eng, fwd_pd);
        if (!dnnl_util::is_optimized(pd)) return nullptr;
        e->primitive = dnnl::convolution_backward_weights(pd);
        e->scratchpad = pd.scratchpad_desc();
        x_native = pd.src_desc(), k_native = pd.diff_dst_desc();
        y_native = pd.diff_weights_desc();
        e->x_arg = DNNL_ARG_SRC, e->k_arg = DNNL_ARG_DIFF_DST, e->y_arg = DNNL_ARG_DIFF_WEIGHTS;
        break;
      }
    }
    e->x = make_reordered(x_plain, x_native, true);
    e->k = make_reordered(k_plain, k_native, true);
    e->y = make_reordered(y_plain, y_native, false);
  } catch (const dnnl::error&) {
    return nullptr;  // oneDNN rejects this geometry; another mapping or the reference takes it
  }
  layout_scratch(*e, flipped_bytes);
  return e;
}

// The memory the primitive reads for `r`: the user's buffer, or a reordered copy of it.
memory stage_in(const Reordered& r, const void* data, std::byte* native, std::byte* pad) {
  memory user = dnnl_util::wrap(r.plain, data);
  if (!r.reorder) return user;
  memory staged = dnnl_util::wrap(r.native, native);
  r.reorder->execute(dnnl_util::stream(),
                     {{DNNL_ARG_FROM, user},
                      {DNNL_ARG_TO, staged},
                      {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(r.reorder_scratchpad, pad)}});
  return staged;
}

// The kernel with every spatial block reversed (all spatial axes flipped at once), for
// elements of type T (f32 or bf16 bits).
template <class T>
void flip_blocks(const T* in, int64_t blocks, int64_t block, T* out) {
  for (int64_t b = 0; b < blocks; ++b) {
    std::reverse_copy(in + b * block, in + (b + 1) * block, out + b * block);
  }
}

const void* flipped_kernel(const ConvGeometry& g, int64_t esize, const void* w, std::byte* out) {
  int64_t block = num_elements(g.k), blocks = g.o * g.i;
  if (esize == 4) {
    flip_blocks(static_cast<const uint32_t*>(w), blocks, block, reinterpret_cast<uint32_t*>(out));
  } else {
    flip_blocks(static_cast<const uint16_t*>(w), blocks, block, reinterpret_cast<uint16_t*>(out));
  }
  return out;
}

}  // namespace

bool dnnl_conv_prefers_backward_weights(const ConvGeometry& g) {
  if (g.batch_groups > 1) return true;  // the forward mapping cannot take it
  // A kernel gradient convolves over the forward output, so its kernel has more positions
  // than its output; its batch is the forward's channels and its channels the forward's batch.
  // A forward convolution of a small feature map can have that shape too, but with a small
  // batch and many channels, where oneDNN's backward-weights kernels were measured 2-7x slower
  // than its forward ones; a kernel of 32x32 positions or more is a gradient whatever the
  // channels (a network's stem: 3 channels, the image's size).
  int64_t positions = num_elements(g.k);
  return positions > num_elements(g.out) && (4 * g.n >= g.c || positions >= 1024);
}

ConvStrides ConvStrides::contiguous(const ConvGeometry& g) {
  auto row_major = [](Shape dims) { return strides_of(dims); };
  Shape x{g.n, g.c}, k{g.o, g.i}, y{g.out_n, g.o};
  x.insert(x.end(), g.in.begin(), g.in.end());
  k.insert(k.end(), g.k.begin(), g.k.end());
  y.insert(y.end(), g.out.begin(), g.out.end());
  return {row_major(x), row_major(k), row_major(y), true};
}

std::shared_ptr<const DnnlConv> dnnl_conv_prepare(DType dtype, const ConvGeometry& g) {
  return dnnl_conv_prepare(dtype, g, ConvStrides::contiguous(g));
}

std::shared_ptr<const DnnlConv> dnnl_conv_prepare(DType dtype, const ConvGeometry& g,
                                                  const ConvStrides& strides) {
  memory::data_type dt = dnnl_util::to_dnnl(dtype);
  if (dt != memory::data_type::f32 && dt != memory::data_type::bf16) return nullptr;
  const auto rank = static_cast<size_t>(g.spatial() + 2);
  if (strides.x.size() != rank || strides.k.size() != rank || strides.y.size() != rank)
    return nullptr;
  for (const Mapping& m : candidates(g, strides)) {
    dnnl_util::Signature sig{static_cast<int64_t>(dtype), static_cast<int64_t>(m.kind), m.groups};
    sig.push_back(m.x_offset), sig.push_back(m.y_offset), sig.push_back(m.zero_y);
    sig.push_back(m.flip);
    for (const memory::dims* v :
         {&m.src_dims, &m.w_dims, &m.dst_dims, &m.strides, &m.dilates, &m.pad_l, &m.pad_r,
          &m.x_dims, &m.x_strides, &m.k_dims, &m.k_strides, &m.y_dims, &m.y_strides}) {
      sig.push_back(static_cast<int64_t>(v->size()));
      sig.insert(sig.end(), v->begin(), v->end());
    }
    // The flipped kernel has o*i*prod(k) elements, which the weight dims fix.
    int64_t flipped = m.flip ? g.o * g.i * num_elements(g.k) * byte_size(dtype) : 0;
    auto entry = cache().get(sig, [&] {
      auto e = make_entry(dt, m, flipped, true);
      return e ? e : make_entry(dt, m, flipped, false);
    });
    if (entry) return entry;
  }
  return nullptr;
}

size_t dnnl_conv_scratch_bytes(const DnnlConv& c) {
  return c.bytes;
}

void dnnl_conv_execute(const DnnlConv& c, DType dtype, const ConvGeometry& g, const void* x,
                       const void* w, void* y, void* scratch) {
  auto* s = static_cast<std::byte*>(scratch);
  dnnl::stream& st = dnnl_util::stream();
  int64_t esize = byte_size(dtype);
  const void* x_data = static_cast<const std::byte*>(x) + c.m.x_offset * esize;
  const void* k_data = c.m.flip ? flipped_kernel(g, esize, w, s + c.flipped) : w;
  memory xm = stage_in(c.x, x_data, s + c.x_native, s + c.x_pad);
  memory km = stage_in(c.k, k_data, s + c.k_native, s + c.k_pad);
  if (c.m.zero_y)
    std::memset(y, 0, static_cast<size_t>(g.out_n * g.o * num_elements(g.out) * esize));
  memory user_y = dnnl_util::wrap(c.y.plain, static_cast<std::byte*>(y) + c.m.y_offset * esize);
  memory ym = c.y.reorder ? dnnl_util::wrap(c.y.native, s + c.y_native) : user_y;
  c.primitive.execute(st, {{c.x_arg, xm},
                           {c.k_arg, km},
                           {c.y_arg, ym},
                           {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(c.scratchpad, s + c.pad)}});
  if (c.y.reorder) {
    c.y.reorder->execute(
        st, {{DNNL_ARG_FROM, ym},
             {DNNL_ARG_TO, user_y},
             {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(c.y.reorder_scratchpad, s + c.y_pad)}});
  }
  st.wait();
}

// The arguments of the (up to) four primitives one execution submits, bound to one scratch.
// Everything in the scratch is fixed; the caller's input, kernel and output are set per run.
// A reordered kernel lives in memory of its own, not the scratch, so that it outlives the run:
// weights are mostly a compiled function's parameters or constants, the same from call to call
// (k_from), and their reorder (a fifth of ResNet-18's time at batch 1) is then done once.
struct DnnlConvArgs {
  dnnl_util::BoundArgs x_reorder, k_reorder, primitive, y_reorder;
  std::unique_ptr<detail::Buffer> k_native;  ///< when the weights need a reorder
  dnnl_util::DerivedFrom k_from;  ///< the contents the kernel in k_native was reordered from
  // Indices into `primitive` of the operands it reads or writes in the caller's memory
  // directly (no reorder); unused otherwise.
  size_t x_at = 0, k_at = 0, y_at = 0;
};

std::shared_ptr<DnnlConvArgs> dnnl_conv_bind(const DnnlConv& c, void* scratch) {
  auto* s = static_cast<std::byte*>(scratch);
  auto b = std::make_shared<DnnlConvArgs>();
  auto bind_in = [&](const Reordered& r, int arg, void* native, size_t pad,
                     dnnl_util::BoundArgs& reorder) -> size_t {
    if (!r.reorder) return b->primitive.add(arg, r.plain);
    reorder.add(DNNL_ARG_FROM, r.plain);  // index 0: the caller's operand
    reorder.add(DNNL_ARG_TO, r.native, native);
    reorder.add(DNNL_ARG_SCRATCHPAD, r.reorder_scratchpad, s + pad);
    return b->primitive.add(arg, r.native, native);
  };
  b->x_at = bind_in(c.x, c.x_arg, s + c.x_native, c.x_pad, b->x_reorder);
  // A kernel gradient's "k" is the output gradient (activation-sized, new every call): it
  // stays in the scratch.
  if (c.k.reorder && c.m.kind != DnnlConvKind::BackwardWeights)
    b->k_native = std::make_unique<detail::Buffer>(c.k.native.get_size());
  b->k_at = bind_in(c.k, c.k_arg, b->k_native ? b->k_native->data() : s + c.k_native, c.k_pad,
                    b->k_reorder);
  if (c.y.reorder) {
    b->primitive.add(c.y_arg, c.y.native, s + c.y_native);
    b->y_reorder.add(DNNL_ARG_FROM, c.y.native, s + c.y_native);
    b->y_reorder.add(DNNL_ARG_TO, c.y.plain);  // index 1: the caller's output
    b->y_reorder.add(DNNL_ARG_SCRATCHPAD, c.y.reorder_scratchpad, s + c.y_pad);
  } else {
    b->y_at = b->primitive.add(c.y_arg, c.y.plain);
  }
  b->primitive.add(DNNL_ARG_SCRATCHPAD, c.scratchpad, s + c.pad);
  return b;
}

void dnnl_conv_run(const DnnlConv& c, DnnlConvArgs& b, DType dtype, const ConvGeometry& g,
                   const void* x, const void* w, void* y, void* scratch, uint64_t w_id) {
  auto* s = static_cast<std::byte*>(scratch);
  int64_t esize = byte_size(dtype);
  const void* x_data = static_cast<const std::byte*>(x) + c.m.x_offset * esize;
  // The same submissions as dnnl_conv_execute, in the same order, on the same stream (but the
  // kernel's flip and reorder when k_native already holds them).
  if (c.x.reorder) {
    b.x_reorder.set(0, x_data);
    b.x_reorder.execute(*c.x.reorder);
  } else {
    b.primitive.set(b.x_at, x_data);
  }
  auto k_data = [&] { return c.m.flip ? flipped_kernel(g, esize, w, s + c.flipped) : w; };
  if (c.k.reorder) {
    b.k_from.refresh(b.k_native ? w_id : 0, [&] {
      b.k_reorder.set(0, k_data());
      b.k_reorder.execute(*c.k.reorder);
    });
  } else {
    b.primitive.set(b.k_at, k_data());
  }
  if (c.m.zero_y)
    std::memset(y, 0, static_cast<size_t>(g.out_n * g.o * num_elements(g.out) * esize));
  void* user_y = static_cast<std::byte*>(y) + c.m.y_offset * esize;
  if (c.y.reorder) {
    b.y_reorder.set(1, user_y);
  } else {
    b.primitive.set(b.y_at, user_y);
  }
  b.primitive.execute(c.primitive);
  if (c.y.reorder) b.y_reorder.execute(*c.y.reorder);
  dnnl_util::stream().wait();
}

DnnlConvKind dnnl_conv_kind(const DnnlConv& c) {
  return c.m.kind;
}

bool dnnl_conv(DType dtype, const ConvGeometry& g, const void* x, const void* w, void* y) {
  std::shared_ptr<const DnnlConv> c = dnnl_conv_prepare(dtype, g);
  if (!c) return false;
  dnnl_util::Scratch scratch;
  dnnl_conv_execute(*c, dtype, g, x, w, y, scratch.take(c->bytes));
  return true;
}

size_t dnnl_conv_cache_size() {
  return cache().size();
}

}  // namespace nx::cpu
