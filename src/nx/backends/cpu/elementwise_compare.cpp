// CPU kernels of the comparisons and of select.
//
// Semantics:
//   equal, not_equal, less, less_equal, greater, greater_equal: operands of one dtype (any,
//     pred included, where false < true), numpy broadcasting, pred result. Floats compare as
//     IEEE: NaN is unequal to everything (not_equal is true, every ordered comparison false)
//     and -0 == +0. f16/bf16 compare exactly (through float, which holds them exactly).
//   select(pred, on_true, on_false): three-way numpy broadcasting; a pred byte other than 0
//     counts as true. Values are copied bit for bit, so NaN payloads and -0 survive (pred
//     values are written as 0/1).
#include <cstring>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "elementwise.hpp"
#include "fused_functors.hpp"

namespace nx::cpu {

namespace {

using detail::DTypeClass;

// The comparison functors are shared with the fused programs.
using namespace fused::op;

/// select over elements of one width: only the bits matter, so four loops serve every dtype.
template <class W>
void select_row(const void*, const char* const* in, const int64_t* steps, char* out, int64_t n) {
  const uint8_t* __restrict c = reinterpret_cast<const uint8_t*>(in[0]);
  const W* __restrict a = reinterpret_cast<const W*>(in[1]);
  const W* __restrict b = reinterpret_cast<const W*>(in[2]);
  W* __restrict o = reinterpret_cast<W*>(out);
  if (steps[0] == 1 && steps[1] == 1 && steps[2] == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = c[i] != 0 ? a[i] : b[i];
  } else if (steps[0] == 0) {
    const W* src = c[0] != 0 ? a : b;
    const int64_t step = c[0] != 0 ? steps[1] : steps[2];
    if (step == 1)
      std::memcpy(o, src, static_cast<size_t>(n) * sizeof(W));
    else
      for (int64_t i = 0; i < n; ++i) o[i] = src[0];
  } else {
    const int64_t sa = steps[1], sb = steps[2];
    for (int64_t i = 0; i < n; ++i) o[i] = c[i] != 0 ? a[i * sa] : b[i * sb];
  }
}

/// select on pred: also writes 0/1 when an operand byte is some other nonzero value.
void select_row_pred(const void*, const char* const* in, const int64_t* steps, char* out,
                     int64_t n) {
  const uint8_t* c = reinterpret_cast<const uint8_t*>(in[0]);
  const uint8_t* a = reinterpret_cast<const uint8_t*>(in[1]);
  const uint8_t* b = reinterpret_cast<const uint8_t*>(in[2]);
  uint8_t* o = reinterpret_cast<uint8_t*>(out);
  const int64_t sc = steps[0], sa = steps[1], sb = steps[2];
  for (int64_t i = 0; i < n; ++i) o[i] = (c[i * sc] != 0 ? a[i * sa] : b[i * sb]) != 0;
}

}  // namespace

ew::RowFn ew::select_row_of(DType dt) {
  if (dt == DType::Pred) return &select_row_pred;
  switch (byte_size(dt)) {
    case 1:
      return &select_row<uint8_t>;
    case 2:
      return &select_row<uint16_t>;
    case 4:
      return &select_row<uint32_t>;
    default:
      return &select_row<uint64_t>;
  }
}

#define NX_COMPARE_OPS(X)  \
  X(equal, Equal)          \
  X(not_equal, NotEqual)   \
  X(less, Less)            \
  X(less_equal, LessEqual) \
  X(greater, Greater)      \
  X(greater_equal, GreaterEqual)

#define NX_COMPARE_KERNEL(name, Op)                                                      \
  void kernel_##name(const Params&, std::span<const Tensor> in, std::span<Tensor> out) { \
    ew::binary_kernel<DTypeClass::Any, Op>(#name, in, out, ew::kGrainCheap);             \
  }
NX_COMPARE_OPS(NX_COMPARE_KERNEL)
#undef NX_COMPARE_KERNEL

ew::BinaryOp ew::compare_op(detail::Prim p, DType t) {
  switch (p) {
#define NX_COMPARE_CASE(name, Op) \
  case detail::Prim::name:        \
    return {ew::loops_of<DTypeClass::Any, Op>(t), ew::kGrainCheap};
    NX_COMPARE_OPS(NX_COMPARE_CASE)
#undef NX_COMPARE_CASE
    default:
      return {};
  }
}

#undef NX_COMPARE_OPS

void kernel_select(const Params&, std::span<const Tensor> in, std::span<Tensor> out) {
  const int64_t n = out[0].size();
  ew::RowFn row = ew::select_row_of(out[0].dtype());
  if (in[0].size() == n && in[1].size() == n && in[2].size() == n) {
    const char* p[3] = {static_cast<const char*>(in[0].raw_data()),
                        static_cast<const char*>(in[1].raw_data()),
                        static_cast<const char*>(in[2].raw_data())};
    static constexpr int64_t kSteps[3] = {1, 1, 1};
    const int64_t e = byte_size(out[0].dtype());
    char* o = static_cast<char*>(detail::mutable_data(out[0]));
    parallel_for(n, ew::kGrainCheap, [&](int64_t s, int64_t t) {
      const char* q[3] = {p[0] + s, p[1] + s * e, p[2] + s * e};
      row(nullptr, q, kSteps, o + s * e, t - s);
    });
    return;
  }
  ew::run_broadcast(in, out[0], row, nullptr, ew::kGrainCheap);
}

}  // namespace nx::cpu
