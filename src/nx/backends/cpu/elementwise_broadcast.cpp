// The drivers of the elementwise kernels: the same-shape and one-value fast paths, the general
// numpy-broadcasting walk, and bulk f16/bf16 <-> float conversion.
#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "../../core/tensor_impl.hpp"
#include "elementwise.hpp"
#include "prepared.hpp"
#include "strided_index.hpp"

namespace nx::cpu {
namespace ew {

namespace {

const char* bytes_of(const Tensor& t) {
  return static_cast<const char*>(t.impl()->buffer->data());
}
char* bytes_of_out(const Tensor& t) {
  return static_cast<char*>(detail::mutable_data(t));
}

}  // namespace

void unsupported_dtype(const char* op, DType t) {
  throw Error(std::string("nx::") + op + ": internal error: the CPU kernel got dtype " +
              std::string(dtype_name(t)) + ", which the shape rule should have rejected");
}

// ---- f16 / bf16 ---------------------------------------------------------------------------

void widen(const half* in, float* out, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
#endif
  for (; i < n; ++i) out[i] = half::to_float(in[i].bits);
}

void widen(const bfloat16* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    out[i] = std::bit_cast<float>(static_cast<uint32_t>(in[i].bits) << 16);
  }
}

void narrow(const float* in, half* out, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  // The hardware conversion rounds to nearest even, as half::from_float does.
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
#endif
  for (; i < n; ++i) out[i].bits = half::from_float(in[i]);
}

void narrow(const float* in, bfloat16* out, int64_t n) {
  // Branch-free form of bfloat16::from_float so that the loop vectorizes.
  for (int64_t i = 0; i < n; ++i) {
    uint32_t x = std::bit_cast<uint32_t>(in[i]);
    uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
    uint32_t quiet = (x >> 16) | 0x40u;
    out[i].bits = static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? quiet : rounded);
  }
}

// ---- drivers --------------------------------------------------------------------------------

void run_unary(const Tensor& in, const Tensor& out, UnaryLoop loop, int64_t grain) {
  const char* a = bytes_of(in);
  char* o = bytes_of_out(out);
  const int64_t ea = byte_size(in.dtype()), eo = byte_size(out.dtype());
  parallel_for(out.size(), grain,
               [&](int64_t b, int64_t e) { loop(a + b * ea, o + b * eo, e - b); });
}

namespace {

/// A binary op as an n-ary row: picks the loop from the operands' steps.
void binary_row(const void* ctx, const char* const* in, const int64_t* steps, char* out,
                int64_t n) {
  const auto* loops = static_cast<const BinaryLoops*>(ctx);
  BinaryLoop f = steps[0] == 0 ? loops->sv : steps[1] == 0 ? loops->vs : loops->vv;
  f(in[0], in[1], out, n);
}

}  // namespace

BroadcastPlan plan_broadcast(const Shape* const* shapes, const DType* dtypes, size_t m,
                             const Shape& out, DType out_dtype) {
  if (m > kMaxBroadcastOperands) {
    throw Error("nx: internal error: a broadcast of " + std::to_string(m) + " operands (at most " +
                std::to_string(kMaxBroadcastOperands) + ")");
  }
  BroadcastPlan p;
  p.m = m;
  p.n = num_elements(out);
  p.out_elem = byte_size(out_dtype);
  for (size_t i = 0; i < m; ++i) p.elem[i] = byte_size(dtypes[i]);
  if (p.n == 0) return p;
  // From the innermost axis out: each operand's stride there (0 where it is broadcast), and
  // axes merged into the loop outside them while every operand is broadcast on both or on
  // neither (a merged loop steps as its innermost axis does).
  int64_t run[kMaxBroadcastOperands];
  std::fill_n(run, m, int64_t{1});
  const size_t r = out.size();
  for (size_t k = r; k-- > 0;) {
    int64_t st[kMaxBroadcastOperands];
    for (size_t i = 0; i < m; ++i) {
      const Shape& s = *shapes[i];
      const size_t lead = r - s.size();
      const int64_t d = k < lead ? 1 : s[k - lead];
      st[i] = d == 1 ? 0 : run[i];
      run[i] *= d;
    }
    if (out[k] == 1) continue;
    bool merge = p.nd > 0;
    for (size_t i = 0; i < m && merge; ++i) {
      merge = (p.strides[(p.nd - 1) * m + i] == 0) == (st[i] == 0);
    }
    if (merge) {
      p.dims[p.nd - 1] *= out[k];
      continue;
    }
    check_loops(p.nd + 1, "broadcast");
    p.dims[p.nd] = out[k];
    std::copy_n(st, m, p.strides + p.nd * m);
    ++p.nd;
  }
  // Outer to inner.
  std::reverse(p.dims, p.dims + p.nd);
  for (size_t a = 0, b = p.nd; a + 1 < b; ++a, --b) {
    std::swap_ranges(p.strides + a * m, p.strides + (a + 1) * m, p.strides + (b - 1) * m);
  }
  for (size_t i = 0; i < m; ++i) p.steps[i] = p.nd > 0 ? p.strides[(p.nd - 1) * m + i] : 1;
  p.inner = p.nd > 0 ? p.dims[p.nd - 1] : 1;
  return p;
}

BroadcastPlan plan_broadcast(std::span<const TensorType> in, const TensorType& out) {
  const Shape* shapes[kMaxBroadcastOperands + 1] = {};
  DType dtypes[kMaxBroadcastOperands + 1] = {};
  const size_t m = std::min(in.size(), kMaxBroadcastOperands + 1);
  for (size_t i = 0; i < m; ++i) shapes[i] = &in[i].shape, dtypes[i] = in[i].dtype;
  return plan_broadcast(shapes, dtypes, in.size(), out.shape, out.dtype);
}

void run_broadcast(const BroadcastPlan& p, std::span<const Tensor> in, const Tensor& out, RowFn row,
                   const void* ctx, int64_t grain) {
  const int64_t n = p.n;
  if (n == 0) return;
  const size_t m = p.m, nd = p.nd;
  const char* base[kMaxBroadcastOperands];
  for (size_t i = 0; i < m; ++i) base[i] = bytes_of(in[i]);
  const int64_t inner = p.inner, eo = p.out_elem;
  char* o = bytes_of_out(out);

  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    // Multi-index of `begin` over the outer loops, and each operand's element offset there.
    int64_t idx[kMaxLoops], off[kMaxBroadcastOperands] = {};
    const char* ptr[kMaxBroadcastOperands];
    int64_t rest = begin / inner, col = begin % inner;
    for (size_t k = nd > 0 ? nd - 1 : 0; k-- > 0;) {
      idx[k] = rest % p.dims[k];
      rest /= p.dims[k];
      for (size_t i = 0; i < m; ++i) off[i] += idx[k] * p.strides[k * m + i];
    }
    for (int64_t pos = begin; pos < end;) {
      int64_t len = std::min(inner - col, end - pos);
      for (size_t i = 0; i < m; ++i) ptr[i] = base[i] + (off[i] + col * p.steps[i]) * p.elem[i];
      row(ctx, ptr, p.steps, o + pos * eo, len);
      pos += len;
      col = 0;
      for (size_t k = nd > 0 ? nd - 1 : 0; k-- > 0;) {  // odometer over the outer loops
        for (size_t i = 0; i < m; ++i) off[i] += p.strides[k * m + i];
        if (++idx[k] < p.dims[k]) break;
        for (size_t i = 0; i < m; ++i) off[i] -= p.strides[k * m + i] * p.dims[k];
        idx[k] = 0;
      }
    }
  });
}

void run_broadcast(std::span<const Tensor> in, const Tensor& out, RowFn row, const void* ctx,
                   int64_t grain) {
  const Shape* shapes[kMaxBroadcastOperands + 1] = {};
  DType dtypes[kMaxBroadcastOperands + 1] = {};
  const size_t m = std::min(in.size(), kMaxBroadcastOperands + 1);
  for (size_t i = 0; i < m; ++i) shapes[i] = &in[i].shape(), dtypes[i] = in[i].dtype();
  run_broadcast(plan_broadcast(shapes, dtypes, in.size(), out.shape(), out.dtype()), in, out, row,
                ctx, grain);
}

namespace {

// An operand with as many elements as the output has its layout (only size-1 axes differ).
BinaryPlan::Kind binary_kind(int64_t n, int64_t na, int64_t nb) {
  using K = BinaryPlan::Kind;
  if (n == 0) return K::Empty;
  if (na == n && nb == n) return K::VV;
  if (na == n && nb == 1) return K::VS;
  if (na == 1 && nb == n) return K::SV;
  return K::General;
}

}  // namespace

BinaryPlan plan_binary(const TensorType& a, const TensorType& b, const TensorType& out) {
  BinaryPlan p;
  p.kind = binary_kind(num_elements(out.shape), num_elements(a.shape), num_elements(b.shape));
  if (p.kind == BinaryPlan::Kind::General) {
    const Shape* shapes[2] = {&a.shape, &b.shape};
    const DType dtypes[2] = {a.dtype, b.dtype};
    p.walk = plan_broadcast(shapes, dtypes, 2, out.shape, out.dtype);
  }
  return p;
}

void run_binary(const BinaryPlan& plan, const Tensor& a, const Tensor& b, const Tensor& out,
                const BinaryLoops& loops, int64_t grain) {
  const int64_t n = out.size();
  const char* pa = bytes_of(a);
  const char* pb = bytes_of(b);
  char* o = bytes_of_out(out);
  const int64_t e = byte_size(a.dtype()), eo = byte_size(out.dtype());
  switch (plan.kind) {
    case BinaryPlan::Kind::Empty:
      return;
    case BinaryPlan::Kind::VV:
      parallel_for(n, grain, [&](int64_t s, int64_t t) {
        loops.vv(pa + s * e, pb + s * e, o + s * eo, t - s);
      });
      return;
    case BinaryPlan::Kind::VS:
      parallel_for(n, grain,
                   [&](int64_t s, int64_t t) { loops.vs(pa + s * e, pb, o + s * eo, t - s); });
      return;
    case BinaryPlan::Kind::SV:
      parallel_for(n, grain,
                   [&](int64_t s, int64_t t) { loops.sv(pa, pb + s * e, o + s * eo, t - s); });
      return;
    case BinaryPlan::Kind::General: {
      const Tensor ops[2] = {a, b};
      run_broadcast(plan.walk, ops, out, &binary_row, &loops, grain);
      return;
    }
  }
}

void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, const BinaryLoops& loops,
                int64_t grain) {
  BinaryPlan plan;
  plan.kind = binary_kind(out.size(), a.size(), b.size());
  if (plan.kind == BinaryPlan::Kind::General) {
    const Shape* shapes[2] = {&a.shape(), &b.shape()};
    const DType dtypes[2] = {a.dtype(), b.dtype()};
    plan.walk = plan_broadcast(shapes, dtypes, 2, out.shape(), out.dtype());
  }
  run_binary(plan, a, b, out, loops, grain);
}

}  // namespace ew

namespace {

class PreparedBinary final : public PreparedKernel {
 public:
  PreparedBinary(ew::BinaryPlan plan, ew::BinaryOp op) : plan_(std::move(plan)), op_(op) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    ew::run_binary(plan_, in[0], in[1], out[0], op_.loops, op_.grain);
  }

 private:
  ew::BinaryPlan plan_;
  ew::BinaryOp op_;
};

class PreparedSelect final : public PreparedKernel {
 public:
  PreparedSelect(ew::BroadcastPlan plan, ew::RowFn row) : plan_(std::move(plan)), row_(row) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out, void*) const override {
    ew::run_broadcast(plan_, in, out[0], row_, nullptr, ew::kGrainCheap);
  }

 private:
  ew::BroadcastPlan plan_;
  ew::RowFn row_;
};

}  // namespace

std::unique_ptr<PreparedKernel> prepare_elementwise(detail::Prim p, std::span<const TensorType> in,
                                                    std::span<const TensorType> out) {
  using detail::PrimGroup;
  const PrimGroup group = detail::info(p).group;
  if (group == PrimGroup::Binary || group == PrimGroup::Compare) {
    ew::BinaryOp op =
        group == PrimGroup::Binary ? ew::arith_op(p, in[0].dtype) : ew::compare_op(p, in[0].dtype);
    ew::BinaryPlan plan = ew::plan_binary(in[0], in[1], out[0]);
    // Operands in step or a single value: the kernel makes no plan. A dtype the op rejects: the
    // kernel reports it.
    if (plan.kind != ew::BinaryPlan::Kind::General || op.loops.vv == nullptr) return nullptr;
    return std::make_unique<PreparedBinary>(std::move(plan), op);
  }
  if (p == detail::Prim::select) {
    const int64_t n = num_elements(out[0].shape);
    bool in_step = true;
    for (const TensorType& t : in) in_step = in_step && num_elements(t.shape) == n;
    if (in_step) return nullptr;
    return std::make_unique<PreparedSelect>(ew::plan_broadcast(in, out[0]),
                                            ew::select_row_of(out[0].dtype));
  }
  return nullptr;
}

}  // namespace nx::cpu
