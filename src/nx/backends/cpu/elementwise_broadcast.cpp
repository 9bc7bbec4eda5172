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

namespace nx::cpu::ew {

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

/// The collapsed iteration space of a broadcast: dims[k] and, per operand, strides[i][k] in
/// elements (0 on broadcast axes). Size-1 output axes are dropped and neighbouring axes merged
/// when every operand is broadcast on both or on neither.
struct Walk {
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides;
};

Walk collapse(std::span<const Tensor> in, const Shape& out) {
  const size_t r = out.size(), m = in.size();
  Walk w;
  w.strides.resize(m);
  std::vector<std::vector<int64_t>> full(m, std::vector<int64_t>(r, 0));
  for (size_t i = 0; i < m; ++i) {
    const Shape& s = in[i].shape();
    int64_t stride = 1;
    for (size_t k = r; k-- > 0;) {
      size_t lead = r - s.size();
      int64_t d = k < lead ? 1 : s[k - lead];
      full[i][k] = d == 1 ? 0 : stride;
      stride *= d;
    }
  }
  for (size_t k = 0; k < r; ++k) {
    if (out[k] == 1) continue;
    bool merge = !w.dims.empty();
    for (size_t i = 0; i < m && merge; ++i) {
      merge = (w.strides[i].back() == 0) == (full[i][k] == 0);
    }
    if (merge) {
      w.dims.back() *= out[k];
      for (size_t i = 0; i < m; ++i) w.strides[i].back() = full[i][k];
    } else {
      w.dims.push_back(out[k]);
      for (size_t i = 0; i < m; ++i) w.strides[i].push_back(full[i][k]);
    }
  }
  return w;
}

}  // namespace

void run_broadcast(std::span<const Tensor> in, const Tensor& out, RowFn row, const void* ctx,
                   int64_t grain) {
  const int64_t n = out.size();
  if (n == 0) return;
  const Walk w = collapse(in, out.shape());
  const size_t m = in.size(), nd = w.dims.size();
  std::vector<const char*> base(m);
  std::vector<int64_t> elem(m), steps(m, 1);
  for (size_t i = 0; i < m; ++i) {
    base[i] = bytes_of(in[i]);
    elem[i] = byte_size(in[i].dtype());
    if (nd > 0) steps[i] = w.strides[i][nd - 1];
  }
  const int64_t inner = nd > 0 ? w.dims[nd - 1] : 1;
  char* o = bytes_of_out(out);
  const int64_t eo = byte_size(out.dtype());

  parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    // Multi-index of `begin` over the outer axes, and each operand's element offset there.
    std::vector<int64_t> idx(nd, 0), off(m, 0);
    std::vector<const char*> ptr(m);
    int64_t rest = begin / inner, col = begin % inner;
    for (size_t k = nd > 0 ? nd - 1 : 0; k-- > 0;) {
      idx[k] = rest % w.dims[k];
      rest /= w.dims[k];
      for (size_t i = 0; i < m; ++i) off[i] += idx[k] * w.strides[i][k];
    }
    for (int64_t pos = begin; pos < end;) {
      int64_t len = std::min(inner - col, end - pos);
      for (size_t i = 0; i < m; ++i) ptr[i] = base[i] + (off[i] + col * steps[i]) * elem[i];
      row(ctx, ptr.data(), steps.data(), o + pos * eo, len);
      pos += len;
      col = 0;
      for (size_t k = nd > 0 ? nd - 1 : 0; k-- > 0;) {  // odometer over the outer axes
        for (size_t i = 0; i < m; ++i) off[i] += w.strides[i][k];
        if (++idx[k] < w.dims[k]) break;
        for (size_t i = 0; i < m; ++i) off[i] -= w.strides[i][k] * w.dims[k];
        idx[k] = 0;
      }
    }
  });
}

void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, const BinaryLoops& loops,
                int64_t grain) {
  const int64_t n = out.size(), na = a.size(), nb = b.size();
  if (n == 0) return;
  const char* pa = bytes_of(a);
  const char* pb = bytes_of(b);
  char* o = bytes_of_out(out);
  const int64_t e = byte_size(a.dtype()), eo = byte_size(out.dtype());
  // An operand with as many elements as the output has its layout (only size-1 axes differ).
  if (na == n && nb == n) {
    parallel_for(n, grain, [&](int64_t s, int64_t t) {
      loops.vv(pa + s * e, pb + s * e, o + s * eo, t - s);
    });
  } else if (na == n && nb == 1) {
    parallel_for(n, grain,
                 [&](int64_t s, int64_t t) { loops.vs(pa + s * e, pb, o + s * eo, t - s); });
  } else if (na == 1 && nb == n) {
    parallel_for(n, grain,
                 [&](int64_t s, int64_t t) { loops.sv(pa, pb + s * e, o + s * eo, t - s); });
  } else {
    const Tensor ops[2] = {a, b};
    run_broadcast(ops, out, &binary_row, &loops, grain);
  }
}

}  // namespace nx::cpu::ew
