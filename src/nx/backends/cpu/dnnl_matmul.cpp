#include "dnnl_matmul.hpp"

#include "dnnl_common.hpp"

namespace nx::cpu {

using dnnl::memory;

struct DnnlMatmul {
  dnnl::matmul primitive;
  memory::desc a, b, c, scratchpad;
};

namespace {

// Enough for every distinct product of a large model; each entry holds JIT code (tens of KB).
dnnl_util::PrimitiveCache<DnnlMatmul>& cache() {
  static dnnl_util::PrimitiveCache<DnnlMatmul> c(1024);
  return c;
}

std::shared_ptr<const DnnlMatmul> make_entry(memory::data_type dt, const GemmView& g) {
  // A single product uses 2-D descriptors: oneDNN picks its plain-GEMM blocking for them.
  memory::desc a, b, c;
  if (g.batch == 1) {
    a = memory::desc({g.m, g.k}, dt, memory::dims{g.a_sm, g.a_sk});
    b = memory::desc({g.k, g.n}, dt, memory::dims{g.b_sk, g.b_sn});
    c = memory::desc({g.m, g.n}, dt, memory::dims{g.c_sm, 1});
  } else {
    a = memory::desc({g.batch, g.m, g.k}, dt, memory::dims{g.a_sb, g.a_sm, g.a_sk});
    b = memory::desc({g.batch, g.k, g.n}, dt, memory::dims{g.b_sb, g.b_sk, g.b_sn});
    c = memory::desc({g.batch, g.m, g.n}, dt, memory::dims{g.c_sb, g.c_sm, 1});
  }
  try {
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), dnnl_util::default_attr(),
                                    dnnl_util::engine());
    if (!dnnl_util::is_optimized(pd)) return nullptr;
    return std::make_shared<const DnnlMatmul>(
        DnnlMatmul{dnnl::matmul(pd), a, b, c, pd.scratchpad_desc()});
  } catch (const dnnl::error&) {
    return nullptr;  // no implementation for this layout
  }
}

}  // namespace

std::shared_ptr<const DnnlMatmul> dnnl_matmul_prepare(DType dtype, const GemmView& g) {
  memory::data_type dt = dnnl_util::to_dnnl(dtype);
  if (dt == memory::data_type::undef) return nullptr;
  dnnl_util::Signature sig{static_cast<int64_t>(dtype),
                           g.batch,
                           g.m,
                           g.n,
                           g.k,
                           g.a_sb,
                           g.a_sm,
                           g.a_sk,
                           g.b_sb,
                           g.b_sk,
                           g.b_sn,
                           g.c_sb,
                           g.c_sm};
  return cache().get(sig, [&] { return make_entry(dt, g); });
}

size_t dnnl_matmul_scratchpad_bytes(const DnnlMatmul& m) {
  return m.scratchpad.get_size();
}

void dnnl_matmul_execute(const DnnlMatmul& m, const void* a, const void* b, void* c,
                         void* scratchpad) {
  dnnl::stream& s = dnnl_util::stream();
  m.primitive.execute(s, {{DNNL_ARG_SRC, dnnl_util::wrap(m.a, a)},
                          {DNNL_ARG_WEIGHTS, dnnl_util::wrap(m.b, b)},
                          {DNNL_ARG_DST, dnnl_util::wrap(m.c, c)},
                          {DNNL_ARG_SCRATCHPAD, dnnl_util::wrap(m.scratchpad, scratchpad)}});
  s.wait();
}

struct DnnlMatmulArgs {
  dnnl_util::BoundArgs args;  ///< src, weights, dst, scratchpad
};

std::shared_ptr<DnnlMatmulArgs> dnnl_matmul_bind(const DnnlMatmul& m, void* scratchpad) {
  auto b = std::make_shared<DnnlMatmulArgs>();
  b->args.add(DNNL_ARG_SRC, m.a);
  b->args.add(DNNL_ARG_WEIGHTS, m.b);
  b->args.add(DNNL_ARG_DST, m.c);
  b->args.add(DNNL_ARG_SCRATCHPAD, m.scratchpad, scratchpad);
  return b;
}

void dnnl_matmul_run(const DnnlMatmul& m, DnnlMatmulArgs& b, const void* a, const void* w,
                     void* c) {
  b.args.set(0, a);
  b.args.set(1, w);
  b.args.set(2, c);
  b.args.execute(m.primitive);
  dnnl_util::stream().wait();
}

bool dnnl_matmul(DType dtype, const GemmView& g, const void* a, const void* b, void* c) {
  auto entry = dnnl_matmul_prepare(dtype, g);
  if (!entry) return false;
  dnnl_util::Scratch scratch;
  dnnl_matmul_execute(*entry, a, b, c, scratch.take(dnnl_matmul_scratchpad_bytes(*entry)));
  return true;
}

size_t dnnl_matmul_cache_size() {
  return cache().size();
}

bool dnnl_matmul_supports(DType dtype) {
  // Kernels exist per CPU feature (bf16 needs AVX-512 BF16 or emulation, f16 native f16
  // arithmetic); ask oneDNN once per dtype with a probe problem.
  auto probe = [](DType t) {
    GemmView g;
    g.m = g.n = g.k = 64;
    g.a_sm = g.b_sk = 64;
    g.a_sk = g.b_sn = 1;
    g.contiguous_c();
    return make_entry(dnnl_util::to_dnnl(t), g) != nullptr;
  };
  static const bool f32 = probe(DType::F32), bf16 = probe(DType::BF16), f16 = probe(DType::F16);
  switch (dtype) {
    case DType::F32:
      return f32;
    case DType::BF16:
      return bf16;
    case DType::F16:
      return f16;
    default:
      return false;
  }
}

}  // namespace nx::cpu
