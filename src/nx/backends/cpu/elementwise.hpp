// Shared machinery of the CPU elementwise kernels: loop signatures, the broadcasting drivers,
// dtype dispatch restricted to the classes an op accepts, and f16/bf16 handled through float.
//
// How the kernels are built. Each op is a small functor on the compute type (float for f16 and
// bf16, bool for pred, the type itself otherwise). From it, templates below make type-erased
// loops over contiguous runs: `vv` (both operands advance), `sv` (left operand is one value),
// `vs` (right operand is one value). The drivers in elementwise_broadcast.cpp pick the loop:
// same shapes run `vv` over the whole output, a one-element operand runs `sv`/`vs`, and general
// broadcasting collapses the shapes and calls a loop per row of the innermost collapsed axis
// (whose operand strides are always 0 or 1, so the same three loops serve every case). The
// loops are simple enough for -O3 -march=native to vectorize, and nothing here allocates;
// compiled code plans the general broadcast once (prepare_elementwise).
//
// f16/bf16 run in chunks: widen a chunk to float on the stack, run the float loop, round back
// to nearest even. Pred is stored as one byte, read as "byte != 0" and only ever written 0/1.
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "../../core/primitive.hpp"
#include "../../core/visit_dtype.hpp"
#include "parallel.hpp"
#include "scratch_plan.hpp"

namespace nx::cpu::ew {

using detail::compute_t;
using detail::is_float_v;
using detail::is_half_v;

/// Parallel grains (elements per chunk): memory-bound ops, vectorized polynomial math, and
/// per-element calls into libm.
inline constexpr int64_t kGrainCheap = kParallelGrain;
inline constexpr int64_t kGrainVmath = 8192;
inline constexpr int64_t kGrainLibm = 1024;

/// Stack chunk for f16/bf16 computed through float.
inline constexpr int64_t kChunk = 512;

/// The type a kernel reads and writes for T: pred is a byte (a bool with another bit pattern
/// would be undefined behaviour).
template <class T>
using storage_t = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;

using UnaryLoop = void (*)(const void* in, void* out, int64_t n);
using BinaryLoop = void (*)(const void* a, const void* b, void* out, int64_t n);
/// The three contiguous-run shapes a binary op needs (see the file comment).
struct BinaryLoops {
  BinaryLoop vv, sv, vs;
};
/// One row of an n-ary broadcast: operand pointers, their steps (0 or 1 element), output.
using RowFn = void (*)(const void* ctx, const char* const* in, const int64_t* steps, char* out,
                       int64_t n);

/// Widen f16/bf16 to float exactly; narrow float to f16/bf16 rounding to nearest even.
void widen(const half* in, float* out, int64_t n);
void widen(const bfloat16* in, float* out, int64_t n);
void narrow(const float* in, half* out, int64_t n);
void narrow(const float* in, bfloat16* out, int64_t n);

/// out[i] = loop(in[i]) over the whole tensor, in parallel chunks of at least `grain`.
void run_unary(const Tensor& in, const Tensor& out, UnaryLoop loop, int64_t grain);

/// Operands a broadcast walk takes at most (select has three).
inline constexpr size_t kMaxBroadcastOperands = 4;

/// The general n-ary broadcast of operands to an output shape, planned once: dims are the
/// collapsed loops (size-1 output axes dropped, neighbours merged when every operand is
/// broadcast on both or on neither), strides[k * m + i] operand i's stride in elements along
/// loop k (0 where it is broadcast). Fixed arrays (kMaxLoops, strided_index.hpp): planning
/// allocates nothing either.
struct BroadcastPlan {
  int64_t n = 0;  ///< output elements
  size_t m = 0;   ///< operands
  size_t nd = 0;  ///< loops
  int64_t dims[kMaxLoops];
  int64_t strides[kMaxLoops * kMaxBroadcastOperands];
  int64_t steps[kMaxBroadcastOperands];  ///< per operand: its stride along the innermost loop
  int64_t elem[kMaxBroadcastOperands];   ///< per operand: bytes per element
  int64_t inner = 1;                     ///< size of the innermost loop
  int64_t out_elem = 0;
};
/// Plans the broadcast of `m` operands of shapes *shapes[i] and dtypes dtypes[i] to `out`.
BroadcastPlan plan_broadcast(const Shape* const* shapes, const DType* dtypes, size_t m,
                             const Shape& out, DType out_dtype);
BroadcastPlan plan_broadcast(std::span<const TensorType> in, const TensorType& out);
/// Runs the walk: calls row(ctx, ...) on each run of the innermost collapsed loop, in parallel
/// over the output. Allocates nothing.
void run_broadcast(const BroadcastPlan& plan, std::span<const Tensor> in, const Tensor& out,
                   RowFn row, const void* ctx, int64_t grain);
/// plan_broadcast and run_broadcast in one call.
void run_broadcast(std::span<const Tensor> in, const Tensor& out, RowFn row, const void* ctx,
                   int64_t grain);

/// How a binary op walks its operands: in step (same element counts), one operand a single
/// value, or the general broadcast.
struct BinaryPlan {
  enum class Kind : uint8_t { Empty, VV, VS, SV, General } kind = Kind::Empty;
  BroadcastPlan walk;  ///< General only
};
BinaryPlan plan_binary(const TensorType& a, const TensorType& b, const TensorType& out);
/// out = a op b with numpy broadcasting as planned. Allocates nothing.
void run_binary(const BinaryPlan& plan, const Tensor& a, const Tensor& b, const Tensor& out,
                const BinaryLoops& loops, int64_t grain);
/// plan_binary and run_binary in one call (the shape rule computed out's shape).
void run_binary(const Tensor& a, const Tensor& b, const Tensor& out, const BinaryLoops& loops,
                int64_t grain);

/// A Binary- or Compare-group primitive on operands of one dtype: its loops and parallel grain
/// (all loops null when p is not such a primitive or rejects the dtype).
struct BinaryOp {
  BinaryLoops loops{};
  int64_t grain = kGrainCheap;
};
BinaryOp arith_op(detail::Prim p, DType t);    ///< elementwise_binary.cpp
BinaryOp compare_op(detail::Prim p, DType t);  ///< elementwise_compare.cpp
/// select's row function for values of dtype t (elementwise_compare.cpp).
RowFn select_row_of(DType t);

/// Raised only if a kernel meets a dtype its shape rule should have rejected.
[[noreturn]] void unsupported_dtype(const char* op, DType t);

/// Which dtypes a DTypeClass admits, at compile time (mirrors rules' check_dtype_class).
template <detail::DTypeClass C, class T>
constexpr bool admits() {
  using detail::DTypeClass;
  constexpr bool is_pred = std::is_same_v<T, bool>;
  constexpr bool is_int = std::is_integral_v<T> && !is_pred;
  if constexpr (C == DTypeClass::Any)
    return true;
  else if constexpr (C == DTypeClass::Numeric)
    return !is_pred;
  else if constexpr (C == DTypeClass::Float)
    return is_float_v<T>;
  else if constexpr (C == DTypeClass::Integer)
    return is_int;
  else
    return is_int || is_pred;
}

/// visit_dtype that instantiates f only for the dtypes of class C.
template <detail::DTypeClass C, class F>
void visit_class(const char* op, DType t, F&& f) {
  detail::visit_dtype(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (admits<C, T>())
      f(tag);
    else
      unsupported_dtype(op, t);
  });
}

// ---- loop templates -----------------------------------------------------------------------

/// The value type an op computes on for storage type T (float for f16/bf16, bool for pred).
template <class T>
using calc_t = compute_t<T>;

/// An op may also provide `static void array(const C*, C*, int64_t)` for a whole run, where the
/// compiler would not vectorize the per-element form.
template <class Op, class C>
concept HasArray = requires(const C* a, C* o, int64_t n) {
  Op::array(a, o, n);
};

template <class T, class Op>
void unary_loop(const void* in, void* out, int64_t n) {
  using C = calc_t<T>;
  using R = decltype(Op{}(C{}));
  if constexpr (HasArray<Op, C>) {
    if constexpr (is_half_v<T>) {
      const T* a = static_cast<const T*>(in);
      float buf[kChunk];
      for (int64_t i = 0; i < n; i += kChunk) {
        int64_t m = n - i < kChunk ? n - i : kChunk;
        widen(a + i, buf, m);
        Op::array(buf, buf, m);
        narrow(buf, static_cast<T*>(out) + i, m);
      }
    } else {
      Op::array(static_cast<const C*>(in), static_cast<C*>(out), n);
    }
  } else if constexpr (is_half_v<T>) {
    const T* a = static_cast<const T*>(in);
    float buf[kChunk];
    for (int64_t i = 0; i < n; i += kChunk) {
      int64_t m = n - i < kChunk ? n - i : kChunk;
      widen(a + i, buf, m);
      if constexpr (std::is_same_v<R, bool>) {
        uint8_t* o = static_cast<uint8_t*>(out) + i;
        for (int64_t j = 0; j < m; ++j) o[j] = Op{}(buf[j]);
      } else {
        for (int64_t j = 0; j < m; ++j) buf[j] = Op{}(buf[j]);
        narrow(buf, static_cast<T*>(out) + i, m);
      }
    }
  } else {
    using S = storage_t<T>;
    using O = std::conditional_t<std::is_same_v<R, bool>, uint8_t, S>;
    const S* __restrict a = static_cast<const S*>(in);
    O* __restrict o = static_cast<O*>(out);
    for (int64_t i = 0; i < n; ++i) o[i] = static_cast<O>(Op{}(static_cast<C>(a[i])));
  }
}

/// Mode of a binary loop: which operands are single values.
enum class Bcast { VV, SV, VS };

template <class T, class Op, Bcast M>
void binary_loop(const void* pa, const void* pb, void* out, int64_t n) {
  using C = calc_t<T>;
  using R = decltype(Op{}(C{}, C{}));
  if constexpr (is_half_v<T>) {
    const T* a = static_cast<const T*>(pa);
    const T* b = static_cast<const T*>(pb);
    float ba[kChunk], bb[kChunk];
    const float sa = static_cast<float>(a[0]), sb = static_cast<float>(b[0]);
    for (int64_t i = 0; i < n; i += kChunk) {
      int64_t m = n - i < kChunk ? n - i : kChunk;
      if constexpr (M != Bcast::SV) widen(a + i, ba, m);
      if constexpr (M != Bcast::VS) widen(b + i, bb, m);
      auto apply = [&](int64_t j) {
        float x = M == Bcast::SV ? sa : ba[j];
        float y = M == Bcast::VS ? sb : bb[j];
        return Op{}(x, y);
      };
      if constexpr (std::is_same_v<R, bool>) {
        uint8_t* o = static_cast<uint8_t*>(out) + i;
        for (int64_t j = 0; j < m; ++j) o[j] = apply(j);
      } else {
        for (int64_t j = 0; j < m; ++j) ba[j] = apply(j);
        narrow(ba, static_cast<T*>(out) + i, m);
      }
    }
  } else {
    using S = storage_t<T>;
    using O = std::conditional_t<std::is_same_v<R, bool>, uint8_t, S>;
    const S* __restrict a = static_cast<const S*>(pa);
    const S* __restrict b = static_cast<const S*>(pb);
    O* __restrict o = static_cast<O*>(out);
    if constexpr (M == Bcast::VV) {
      for (int64_t i = 0; i < n; ++i)
        o[i] = static_cast<O>(Op{}(static_cast<C>(a[i]), static_cast<C>(b[i])));
    } else if constexpr (M == Bcast::SV) {
      const C x = static_cast<C>(a[0]);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<O>(Op{}(x, static_cast<C>(b[i])));
    } else {
      const C y = static_cast<C>(b[0]);
      for (int64_t i = 0; i < n; ++i) o[i] = static_cast<O>(Op{}(static_cast<C>(a[i]), y));
    }
  }
}

template <class T, class Op>
constexpr BinaryLoops binary_loops() {
  return {&binary_loop<T, Op, Bcast::VV>, &binary_loop<T, Op, Bcast::SV>,
          &binary_loop<T, Op, Bcast::VS>};
}

/// Op's loops for dtype t; all null when class C does not admit t.
template <detail::DTypeClass C, class Op>
BinaryLoops loops_of(DType t) {
  BinaryLoops loops{};
  detail::visit_dtype(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (admits<C, T>()) loops = binary_loops<T, Op>();
  });
  return loops;
}

/// The body of a unary kernel: dispatch on the operand's dtype within class C.
template <detail::DTypeClass C, class Op>
void unary_kernel(const char* op, std::span<const Tensor> in, std::span<Tensor> out,
                  int64_t grain) {
  visit_class<C>(op, in[0].dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_unary(in[0], out[0], &unary_loop<T, Op>, grain);
  });
}

/// The body of a binary or compare kernel.
template <detail::DTypeClass C, class Op>
void binary_kernel(const char* op, std::span<const Tensor> in, std::span<Tensor> out,
                   int64_t grain) {
  visit_class<C>(op, in[0].dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    static constexpr BinaryLoops loops = binary_loops<T, Op>();
    run_binary(in[0], in[1], out[0], loops, grain);
  });
}

}  // namespace nx::cpu::ew
