// gemm: chooses between oneDNN and our own loops for one batched product.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <utility>

#include "contract_gemm.hpp"
#include "contract_pack.hpp"
#include "dnnl_common.hpp"
#include "dnnl_matmul.hpp"
#include "nx/half.hpp"
#include "prepared.hpp"

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

bool has_unit_inner(int64_t s_row, int64_t s_col) {
  return s_row == 1 || s_col == 1;
}

// The problem over row-major [batch, rows, cols] copies of A and B (C keeps its layout).
GemmView packed_view(const GemmView& g) {
  GemmView p = g;
  p.a_sb = g.m * g.k, p.a_sm = g.k, p.a_sk = 1;
  p.b_sb = g.k * g.n, p.b_sk = g.n, p.b_sn = 1;
  return canonical(p);
}

size_t a_bytes(const GemmView& g, DType t) {
  return scratch_round(static_cast<size_t>(g.batch * g.m * g.k * byte_size(t)));
}
size_t b_bytes(const GemmView& g, DType t) {
  return scratch_round(static_cast<size_t>(g.batch * g.k * g.n * byte_size(t)));
}

// Copies A and B row-major into the scratch, converting dtype on the way; returns the copies.
std::pair<const void*, const void*> pack(const GemmView& g, DType from, DType to, const void* a,
                                         const void* b, std::byte* scratch) {
  std::array<int64_t, 3> a_dims{g.batch, g.m, g.k}, a_strides{g.a_sb, g.a_sm, g.a_sk};
  strided_copy(from, to, a, a_dims, a_strides, scratch);
  std::byte* pb = scratch + a_bytes(g, to);
  std::array<int64_t, 3> b_dims{g.batch, g.k, g.n}, b_strides{g.b_sb, g.b_sk, g.b_sn};
  strided_copy(from, to, b, b_dims, b_strides, pb);
  return {scratch, pb};
}

// Where the oneDNN scratchpad of a plan's path lies in its scratch.
size_t scratchpad_offset(const GemmPlan& plan) {
  const GemmView& g = plan.g;
  switch (plan.path) {
    case GemmPlan::Path::DnnlPacked:
      return a_bytes(g, plan.dtype) + b_bytes(g, plan.dtype);
    case GemmPlan::Path::F16ViaF32:
      return a_bytes(g, DType::F32) + b_bytes(g, DType::F32) +
             scratch_round(static_cast<size_t>(g.batch * g.m * g.n) * sizeof(float));
    default:
      return 0;
  }
}

// Runs the plan's primitive: through bound arguments when the caller keeps some, else with
// arguments made for this run. `b_id`: b's content id when b is the caller's operand itself.
void matmul(const GemmPlan& plan, GemmState* state, const void* a, const void* b, void* c,
            std::byte* scratch, uint64_t b_id = 0) {
  if (state != nullptr) {
    dnnl_matmul_run(*plan.matmul, *state->args, a, b, c, b_id);
  } else {
    dnnl_matmul_execute(*plan.matmul, a, b, c, scratch + scratchpad_offset(plan));
  }
}

// f16 without native oneDNN kernels: widen both operands to f32, multiply, round back.
void f16_through_f32(const GemmPlan& plan, const void* a, const void* b, void* c,
                     std::byte* scratch, GemmState* state) {
  const GemmView& g = plan.g;
  auto [pa, pb] = pack(g, DType::F16, DType::F32, a, b, scratch);
  std::byte* tail = scratch + a_bytes(g, DType::F32) + b_bytes(g, DType::F32);
  auto* out = reinterpret_cast<float*>(tail);
  matmul(plan, state, pa, pb, out, scratch);
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
}

// The oneDNN path of a product, when there is one (see gemm's comment in contract_gemm.hpp).
bool plan_dnnl(GemmPlan& p) {
  const GemmView& g = p.g;
  if (p.dtype == DType::F16 && !dnnl_matmul_supports(DType::F16)) {
    if (!dnnl_matmul_supports(DType::F32)) return false;
    p.packed = packed_view(g);
    p.packed.contiguous_c();
    p.matmul = dnnl_matmul_prepare(DType::F32, p.packed);
    if (!p.matmul) return false;
    p.path = GemmPlan::Path::F16ViaF32;
    p.scratch_bytes = a_bytes(g, DType::F32) + b_bytes(g, DType::F32) +
                      scratch_round(static_cast<size_t>(g.batch * g.m * g.n) * sizeof(float)) +
                      scratch_round(dnnl_matmul_scratchpad_bytes(*p.matmul));
    return true;
  }
  if (!dnnl_matmul_supports(p.dtype)) return false;
  if (has_unit_inner(g.a_sm, g.a_sk) && has_unit_inner(g.b_sk, g.b_sn)) {
    p.matmul = dnnl_matmul_prepare(p.dtype, g);
    if (p.matmul) {
      p.path = GemmPlan::Path::Dnnl;
      p.scratch_bytes = scratch_round(dnnl_matmul_scratchpad_bytes(*p.matmul));
      return true;
    }
  }
  // Some strided layouts (e.g. batch stride smaller than a matrix) have no fast kernel; a
  // packed copy always does.
  p.packed = packed_view(g);
  p.matmul = dnnl_matmul_prepare(p.dtype, p.packed);
  if (!p.matmul) return false;
  p.path = GemmPlan::Path::DnnlPacked;
  p.scratch_bytes = a_bytes(g, p.dtype) + b_bytes(g, p.dtype) +
                    scratch_round(dnnl_matmul_scratchpad_bytes(*p.matmul));
  return true;
}

}  // namespace

GemmPlan plan_gemm(DType dtype, const GemmView& view) {
  GemmPlan p;
  p.dtype = dtype;
  if (view.batch * view.m * view.n == 0) return p;
  p.g = canonical(view);
  if (p.g.k == 0) {
    p.path = GemmPlan::Path::Zero;
    return p;
  }
  bool is_half_or_single = dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
  if (is_half_or_single && p.g.macs() >= kDnnlMacs && plan_dnnl(p)) return p;
  p.path = GemmPlan::Path::Own;
  p.matmul.reset();
  p.scratch_bytes = 0;
  return p;
}

namespace {

void run_path(const GemmPlan& plan, const void* a, const void* b, void* c, void* scratch,
              GemmState* state, uint64_t b_id) {
  const GemmView& g = plan.g;
  auto* s = static_cast<std::byte*>(scratch);
  switch (plan.path) {
    case GemmPlan::Path::Empty:
      return;
    case GemmPlan::Path::Zero: {  // zero bits are zero in every dtype
      int64_t esize = byte_size(plan.dtype);
      size_t row = static_cast<size_t>(g.n * esize);
      for (int64_t bi = 0; bi < g.batch; ++bi) {
        for (int64_t i = 0; i < g.m; ++i) {
          std::memset(static_cast<char*>(c) + (bi * g.c_sb + i * g.c_sm) * esize, 0, row);
        }
      }
      return;
    }
    case GemmPlan::Path::Own:
      own_gemm(plan.dtype, g, a, b, c);
      return;
    case GemmPlan::Path::Dnnl:
      matmul(plan, state, a, b, c, s, b_id);
      return;
    case GemmPlan::Path::DnnlPacked: {
      auto [pa, pb] = pack(g, plan.dtype, plan.dtype, a, b, s);
      matmul(plan, state, pa, pb, c, s);
      return;
    }
    case GemmPlan::Path::F16ViaF32:
      f16_through_f32(plan, a, b, c, s, state);
      return;
  }
}

}  // namespace

void run_gemm(const GemmPlan& plan, const void* a, const void* b, void* c, void* scratch) {
  run_path(plan, a, b, c, scratch, nullptr, 0);
}

GemmState bind_gemm(const GemmPlan& plan, void* scratch) {
  GemmState state;
  if (plan.matmul) {
    state.args =
        dnnl_matmul_bind(*plan.matmul, static_cast<std::byte*>(scratch) + scratchpad_offset(plan));
  }
  return state;
}

void run_gemm(const GemmPlan& plan, const void* a, const void* b, void* c, void* scratch,
              GemmState& state, uint64_t b_id) {
  run_path(plan, a, b, c, scratch, state.args ? &state : nullptr, b_id);
}

const char* describe(const GemmPlan& plan) {
  switch (plan.path) {
    case GemmPlan::Path::Empty:
      return "empty";
    case GemmPlan::Path::Zero:
      return "zeros";
    case GemmPlan::Path::Own:
      return "own";
    case GemmPlan::Path::Dnnl:
      return "onednn";
    case GemmPlan::Path::DnnlPacked:
      return "packed+onednn";
    case GemmPlan::Path::F16ViaF32:
      return "f32+onednn";
  }
  return "?";
}

void gemm(DType dtype, const GemmView& view, const void* a, const void* b, void* c) {
  if (view.batch * view.m * view.n == 0) return;
  GemmPlan plan = plan_gemm(dtype, view);
  dnnl_util::Scratch scratch;
  run_gemm(plan, a, b, c, plan.scratch_bytes > 0 ? scratch.take(plan.scratch_bytes) : nullptr);
}

}  // namespace nx::cpu
