// gemm: chooses between oneDNN and our own loops for one batched product.
#include <algorithm>
#include <array>
#include <cstring>

#include "contract_gemm.hpp"
#include "contract_pack.hpp"
#include "dnnl_common.hpp"
#include "dnnl_matmul.hpp"
#include "nx/half.hpp"

namespace nx::cpu {

namespace {

// Below this many multiply-adds a oneDNN call (a few microseconds of fixed cost) loses to our
// own loops.
constexpr double kDnnlMacs = 36.0 * 36.0 * 36.0;  // measured crossover, f32 and bf16

// Gives size-1 dimensions the strides of a plain layout. Their strides address nothing, but
// oneDNN classifies layouts (and we key its cache) by them.
GemmView canonical(GemmView g) {
  if (g.m == 1) g.a_sm = g.a_sk == 1 ? g.k : 1;
  if (g.k == 1) {
    g.a_sk = g.a_sm == 1 ? g.m : 1;
    g.b_sk = g.b_sn == 1 ? g.n : 1;
  }
  if (g.n == 1) g.b_sn = g.b_sk == 1 ? g.k : 1;
  if (g.m == 1) g.c_sm = g.n;
  if (g.batch == 1) {
    g.a_sb = g.m * g.k;
    g.b_sb = g.k * g.n;
    g.c_sb = g.m * g.c_sm;
  }
  return g;
}

// Row-major [batch, rows, cols] copies of A and B, converting dtype on the way.
struct Packed {
  GemmView view;
  const void* a;
  const void* b;
};

bool has_unit_inner(int64_t s_row, int64_t s_col) {
  return s_row == 1 || s_col == 1;
}

Packed pack(const GemmView& g, DType from, DType to, const void* a, const void* b,
            dnnl_util::Scratch& scratch) {
  Packed p{g, a, b};
  int64_t esize = byte_size(to);
  {
    void* dst = scratch.take(static_cast<size_t>(g.batch * g.m * g.k * esize));
    std::array<int64_t, 3> dims{g.batch, g.m, g.k}, strides{g.a_sb, g.a_sm, g.a_sk};
    strided_copy(from, to, a, dims, strides, dst);
    p.a = dst;
    p.view.a_sb = g.m * g.k, p.view.a_sm = g.k, p.view.a_sk = 1;
  }
  {
    void* dst = scratch.take(static_cast<size_t>(g.batch * g.k * g.n * esize));
    std::array<int64_t, 3> dims{g.batch, g.k, g.n}, strides{g.b_sb, g.b_sk, g.b_sn};
    strided_copy(from, to, b, dims, strides, dst);
    p.b = dst;
    p.view.b_sb = g.k * g.n, p.view.b_sk = g.n, p.view.b_sn = 1;
  }
  p.view = canonical(p.view);
  return p;
}

// f16 without native oneDNN kernels: widen both operands to f32, multiply, round back.
bool f16_through_f32(const GemmView& g, const void* a, const void* b, void* c) {
  if (!dnnl_matmul_supports(DType::F32)) return false;
  dnnl_util::Scratch scratch;
  Packed p = pack(g, DType::F16, DType::F32, a, b, scratch);
  auto* out = scratch.take<float>(g.batch * g.m * g.n);
  if (!dnnl_matmul(DType::F32, p.view.contiguous_c(), p.a, p.b, out)) return false;
  // Round back row by row into C's layout.
  std::array<int64_t, 3> dims{g.batch, g.m, g.n}, strides{g.m * g.n, g.n, 1};
  if (g.c_sb == g.m * g.n && g.c_sm == g.n) {
    strided_copy(DType::F32, DType::F16, out, dims, strides, c);
  } else {
    for (int64_t bi = 0; bi < g.batch; ++bi) {
      for (int64_t i = 0; i < g.m; ++i) {
        convert_copy(DType::F32, DType::F16, out + (bi * g.m + i) * g.n, g.n,
                     static_cast<half*>(c) + bi * g.c_sb + i * g.c_sm);
      }
    }
  }
  return true;
}

bool try_dnnl(DType dtype, const GemmView& g, const void* a, const void* b, void* c) {
  if (dtype == DType::F16 && !dnnl_matmul_supports(DType::F16)) {
    return f16_through_f32(g, a, b, c);
  }
  if (!dnnl_matmul_supports(dtype)) return false;
  if (has_unit_inner(g.a_sm, g.a_sk) && has_unit_inner(g.b_sk, g.b_sn) &&
      dnnl_matmul(dtype, g, a, b, c)) {
    return true;
  }
  // Some strided layouts (e.g. batch stride smaller than a matrix) have no fast kernel; a
  // packed copy always does.
  dnnl_util::Scratch scratch;
  Packed p = pack(g, dtype, dtype, a, b, scratch);
  return dnnl_matmul(dtype, p.view, p.a, p.b, c);
}

}  // namespace

void gemm(DType dtype, const GemmView& view, const void* a, const void* b, void* c) {
  int64_t count = view.batch * view.m * view.n;
  if (count == 0) return;
  GemmView g = canonical(view);
  if (g.k == 0) {  // zero bits are zero in every dtype
    size_t row = static_cast<size_t>(g.n * byte_size(dtype));
    for (int64_t bi = 0; bi < g.batch; ++bi) {
      for (int64_t i = 0; i < g.m; ++i) {
        std::memset(static_cast<char*>(c) + (bi * g.c_sb + i * g.c_sm) * byte_size(dtype), 0, row);
      }
    }
    return;
  }
  bool is_half_or_single = dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
  if (is_half_or_single && g.macs() >= kDnnlMacs && try_dnnl(dtype, g, a, b, c)) return;
  own_gemm(dtype, g, a, b, c);
}

}  // namespace nx::cpu
