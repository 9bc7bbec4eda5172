// The oneDNN path of conv_general: a forward convolution, or a deconvolution for input
// dilation.
//
// Two exact rewrites widen what oneDNN takes:
// - Negative padding crops the input: the source is described as a strided window of the input
//   buffer (oneDNN's reorder reads any strides), with the remaining padding non-negative.
// - Input dilation d with window stride 1 is a transposed convolution: XLA's
//   y[t] = sum_k x_dilated[t + k*rd - lo] w[k] equals oneDNN's deconvolution
//   dst[t] = sum_k' src[(t + PL - k'*rd) / d] w'[k'] with stride d, the kernel flipped
//   (w'[k'] = w[K-1-k']), PL = (K-1)*rd - lo and PR = (K-1)*rd - hi, where these are >= 0.
//
// The primitive is created with "any" layouts so that oneDNN picks its fast blocked formats
// (nChw16c and friends); our row-major tensors are reordered into them and the result back.
// Creating the primitive and its three reorders is the expensive part, so all four are cached
// together per problem signature.
#include <algorithm>
#include <cstring>
#include <optional>
#include <tuple>

#include "contract_conv.hpp"
#include "dnnl_common.hpp"
#include "prepared.hpp"

namespace nx::cpu {

using dnnl::memory;

namespace {

// How a conv_general call maps onto a oneDNN primitive.
struct Mapping {
  bool deconv = false;
  memory::dims src_dims, src_strides, w_dims, dst_dims;
  memory::dims strides, dilates, pad_l, pad_r;
  int64_t src_offset = 0;  ///< elements to skip in the input (cropping)
};

std::optional<Mapping> map_problem(const ConvGeometry& g) {
  int64_t d = g.spatial();
  if (d < 1 || d > 3 || g.batch_groups != 1) return std::nullopt;
  if (g.n < 1 || g.c < 1 || g.o < 1 || g.i < 1) return std::nullopt;
  for (int64_t a = 0; a < d; ++a) {
    if (g.in[a] < 1 || g.k[a] < 1 || g.out[a] < 1) return std::nullopt;
  }
  Mapping m;
  m.deconv =
      std::any_of(g.lhs_dilation.begin(), g.lhs_dilation.end(), [](int64_t v) { return v != 1; });
  Shape in_strides = strides_of(g.in);
  m.src_dims = {g.n, g.c};
  m.src_strides = {g.c * num_elements(g.in), num_elements(g.in)};
  m.dst_dims = {g.out_n, g.o};
  int64_t groups = g.feature_groups;
  m.w_dims = groups > 1 ? memory::dims{groups, g.o / groups, g.i} : memory::dims{g.o, g.i};
  for (int64_t a = 0; a < d; ++a) {
    int64_t lo = g.pad_lo[a], hi = g.pad_hi[a], rd = g.rhs_dilation[a];
    int64_t size = g.in[a];
    if (m.deconv) {
      int64_t span = (g.k[a] - 1) * rd;
      if (g.strides[a] != 1 || span - lo < 0 || span - hi < 0) return std::nullopt;
      m.strides.push_back(g.lhs_dilation[a]);
      m.pad_l.push_back(span - lo);
      m.pad_r.push_back(span - hi);
    } else {
      if (lo < 0) m.src_offset += -lo * in_strides[a], size += lo, lo = 0;
      if (hi < 0) size += hi, hi = 0;
      if (size < 1) return std::nullopt;
      m.strides.push_back(g.strides[a]);
      m.pad_l.push_back(lo);
      m.pad_r.push_back(hi);
    }
    m.src_dims.push_back(size);
    m.src_strides.push_back(in_strides[a]);
    m.dst_dims.push_back(g.out[a]);
    m.w_dims.push_back(g.k[a]);
    m.dilates.push_back(rd - 1);  // oneDNN counts the skipped elements
  }
  return m;
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
  Reordered src, weights, dst;
  // Offsets into the scratch of one call (see dnnl_conv_execute).
  size_t flipped = 0, src_native = 0, src_pad = 0, w_native = 0, w_pad = 0, dst_native = 0,
         dst_pad = 0, pad = 0, bytes = 0;
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

// Lays out the scratch of one call: the flipped kernel (deconvolution), the reordered operands
// and result, and every scratchpad.
void layout_scratch(DnnlConv& e, int64_t flipped_bytes) {
  size_t used = 0;
  auto take = [&](size_t& offset, size_t bytes) {
    offset = used;
    used += scratch_round(bytes);
  };
  take(e.flipped, static_cast<size_t>(flipped_bytes));
  for (auto [r, native, pad] : {std::tuple{&e.src, &e.src_native, &e.src_pad},
                                std::tuple{&e.weights, &e.w_native, &e.w_pad},
                                std::tuple{&e.dst, &e.dst_native, &e.dst_pad}}) {
    if (!r->reorder) continue;
    take(*native, r->native.get_size());
    take(*pad, r->reorder_scratchpad.get_size());
  }
  take(e.pad, e.scratchpad.get_size());
  e.bytes = used;
}

template <class PrimitiveDesc, class Primitive>
std::shared_ptr<const DnnlConv> finish(const PrimitiveDesc& pd, const Mapping& m,
                                       memory::data_type dt, int64_t flipped_bytes) {
  if (!dnnl_util::is_optimized(pd)) return nullptr;
  memory::desc src(m.src_dims, dt, m.src_strides);
  memory::desc weights(m.w_dims, dt, strides_of(m.w_dims));
  memory::desc dst(m.dst_dims, dt, strides_of(m.dst_dims));
  auto e = std::make_shared<DnnlConv>(DnnlConv{
      m, Primitive(pd), pd.scratchpad_desc(), make_reordered(src, pd.src_desc(), true),
      make_reordered(weights, pd.weights_desc(), true), make_reordered(dst, pd.dst_desc(), false)});
  layout_scratch(*e, flipped_bytes);
  return e;
}

std::shared_ptr<const DnnlConv> make_entry(memory::data_type dt, const Mapping& m,
                                           int64_t flipped_bytes) {
  auto any = [&](const memory::dims& dims) {
    return memory::desc(dims, dt, memory::format_tag::any);
  };
  auto attr = dnnl_util::default_attr();
  const auto& eng = dnnl_util::engine();
  // Same result as forward_inference (no bias, no workspace), but oneDNN 2.6 then picks its
  // nChw16c kernels, whose reorders from our NCHW are cheaper than those to the NHWC of the
  // kernels it picks for inference; measured faster overall on AVX-512 for f32 and bf16.
  const auto prop = dnnl::prop_kind::forward_training;
  try {
    if (m.deconv) {
      dnnl::deconvolution_forward::desc desc(prop, dnnl::algorithm::deconvolution_direct,
                                             any(m.src_dims), any(m.w_dims), any(m.dst_dims),
                                             m.strides, m.dilates, m.pad_l, m.pad_r);
      dnnl::deconvolution_forward::primitive_desc pd(desc, attr, eng);
      return finish<decltype(pd), dnnl::deconvolution_forward>(pd, m, dt, flipped_bytes);
    }
    dnnl::convolution_forward::desc desc(prop, dnnl::algorithm::convolution_direct, any(m.src_dims),
                                         any(m.w_dims), any(m.dst_dims), m.strides, m.dilates,
                                         m.pad_l, m.pad_r);
    dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
    return finish<decltype(pd), dnnl::convolution_forward>(pd, m, dt, flipped_bytes);
  } catch (const dnnl::error&) {
    return nullptr;  // oneDNN rejects this geometry; the reference path takes it
  }
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

// The kernel with every spatial block reversed (all spatial axes flipped at once).
const void* flipped_kernel(const ConvGeometry& g, int64_t esize, const void* w, std::byte* out) {
  int64_t block = num_elements(g.k), blocks = g.o * g.i;
  const auto* in = static_cast<const std::byte*>(w);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int64_t e = 0; e < block; ++e) {
      std::memcpy(out + (b * block + e) * esize, in + (b * block + block - 1 - e) * esize,
                  static_cast<size_t>(esize));
    }
  }
  return out;
}

}  // namespace

std::shared_ptr<const DnnlConv> dnnl_conv_prepare(DType dtype, const ConvGeometry& g) {
  memory::data_type dt = dnnl_util::to_dnnl(dtype);
  if (dt != memory::data_type::f32 && dt != memory::data_type::bf16) return nullptr;
  std::optional<Mapping> m = map_problem(g);
  if (!m) return nullptr;
  dnnl_util::Signature sig{static_cast<int64_t>(dtype), m->deconv, g.feature_groups};
  for (const memory::dims* v : {&m->src_dims, &m->src_strides, &m->w_dims, &m->dst_dims,
                                &m->strides, &m->dilates, &m->pad_l, &m->pad_r}) {
    sig.push_back(static_cast<int64_t>(v->size()));
    sig.insert(sig.end(), v->begin(), v->end());
  }
  // The kernel a deconvolution flips has o*i*prod(k) elements; the signature fixes all three.
  int64_t flipped = m->deconv ? g.o * g.i * num_elements(g.k) * byte_size(dtype) : 0;
  return cache().get(sig, [&] { return make_entry(dt, *m, flipped); });
}

size_t dnnl_conv_scratch_bytes(const DnnlConv& c) {
  return c.bytes;
}

void dnnl_conv_execute(const DnnlConv& c, DType dtype, const ConvGeometry& g, const void* x,
                       const void* w, void* y, void* scratch) {
  auto* s = static_cast<std::byte*>(scratch);
  dnnl::stream& st = dnnl_util::stream();
  int64_t esize = byte_size(dtype);
  const void* src_data = static_cast<const std::byte*>(x) + c.m.src_offset * esize;
  const void* w_data = c.m.deconv ? flipped_kernel(g, esize, w, s + c.flipped) : w;
  memory src = stage_in(c.src, src_data, s + c.src_native, s + c.src_pad);
  memory weights = stage_in(c.weights, w_data, s + c.w_native, s + c.w_pad);
  memory user_dst = dnnl_util::wrap(c.dst.plain, y);
  memory dst = c.dst.reorder ? dnnl_util::wrap(c.dst.native, s + c.dst_native) : user_dst;
  c.primitive.execute(st, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, weights},
                           {DNNL_ARG_DST, dst},
                           {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(c.scratchpad, s + c.pad)}});
  if (c.dst.reorder) {
    c.dst.reorder->execute(
        st, {{DNNL_ARG_FROM, dst},
             {DNNL_ARG_TO, user_dst},
             {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(c.dst.reorder_scratchpad, s + c.dst_pad)}});
  }
  st.wait();
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
