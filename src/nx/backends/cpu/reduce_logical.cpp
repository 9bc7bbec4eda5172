// CPU kernels of reduce_and and reduce_or: any dtype in, pred out; an element counts as true
// when it is not zero.
//
// Semantics at the edges:
// - An empty reduction gives the identity: true for and, false for or.
// - For floats "not zero" is decided on the bits with the sign masked off, so -0.0 is false and
//   NaN is true (as `x != 0` in C++). Each dtype is read as the unsigned integer of its width,
//   so one loop serves every dtype of that width.
#include <limits>
#include <type_traits>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "reduce_engine.hpp"

namespace nx::cpu {

namespace {

template <class U, U kMask, bool kAnd>
struct LogicalOp {
  using In = U;
  using Acc = uint8_t;
  using Out = bool;
  static constexpr bool kPairwise = false;
  static Acc identity() { return kAnd ? 1 : 0; }
  static Acc load(In x) { return (x & kMask) != 0; }
  static Acc combine(Acc a, Acc b) { return kAnd ? (a & b) : (a | b); }
  static Out store(Acc a) { return a != 0; }
};

template <class U, bool kAnd>
void run_width(const ReducePlan& plan, bool is_float, const void* src, void* dst) {
  constexpr U kAll = std::numeric_limits<U>::max();
  constexpr U kNoSign = kAll >> 1;
  if constexpr (sizeof(U) > 1) {
    if (is_float) return reduce_engine::reduce_with<LogicalOp<U, kNoSign, kAnd>>(plan, src, dst);
  }
  reduce_engine::reduce_with<LogicalOp<U, kAll, kAnd>>(plan, src, dst);
}

template <bool kAnd>
void run_logical(const Params& params, const Tensor& x, const Tensor& out) {
  ReducePlan plan = make_reduce_plan(x.shape(), std::get<detail::AxesParams>(params).axes);
  const bool fl = is_float(x.dtype());
  void* dst = detail::mutable_data(out);
  switch (byte_size(x.dtype())) {
    case 1:
      return run_width<uint8_t, kAnd>(plan, false, x.raw_data(), dst);
    case 2:
      return run_width<uint16_t, kAnd>(plan, fl, x.raw_data(), dst);
    case 4:
      return run_width<uint32_t, kAnd>(plan, fl, x.raw_data(), dst);
    default:
      return run_width<uint64_t, kAnd>(plan, fl, x.raw_data(), dst);
  }
}

}  // namespace

std::unique_ptr<PreparedKernel> prepare_logical(bool is_and, DType t, ReducePlan plan) {
  const bool fl = is_float(t);
  const int width = byte_size(t);
  // The Op run_logical picks: by width, sign masked off for floats.
  auto visit = [fl, width, is_and](auto&& f) {
    auto pick = [&](auto word, auto and_tag) {
      using U = decltype(word);
      constexpr bool kAnd = decltype(and_tag)::value;
      constexpr U kAll = std::numeric_limits<U>::max();
      if constexpr (sizeof(U) > 1) {
        if (fl) return f(std::type_identity<LogicalOp<U, (kAll >> 1), kAnd>>{});
      }
      f(std::type_identity<LogicalOp<U, kAll, kAnd>>{});
    };
    auto with_width = [&](auto and_tag) {
      switch (width) {
        case 1:
          return pick(uint8_t{}, and_tag);
        case 2:
          return pick(uint16_t{}, and_tag);
        case 4:
          return pick(uint32_t{}, and_tag);
        default:
          return pick(uint64_t{}, and_tag);
      }
    };
    if (is_and)
      with_width(std::true_type{});
    else
      with_width(std::false_type{});
  };
  return reduce_engine::prepare_reduction(visit, std::move(plan));
}

void kernel_reduce_and(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_logical<true>(params, in[0], out[0]);
}

void kernel_reduce_or(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_logical<false>(params, in[0], out[0]);
}

}  // namespace nx::cpu
