// CPU kernels of reduce_and and reduce_or: any dtype in, pred out; an element counts as true
// when it is not zero.
//
// Semantics at the edges:
// - An empty reduction gives the identity: true for and, false for or.
// - For floats "not zero" is decided on the bits with the sign masked off, so -0.0 is false and
//   NaN is true (as `x != 0` in C++). Each dtype is read as the unsigned integer of its width,
//   so one loop serves every dtype of that width.
#include <limits>

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

void kernel_reduce_and(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_logical<true>(params, in[0], out[0]);
}

void kernel_reduce_or(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_logical<false>(params, in[0], out[0]);
}

}  // namespace nx::cpu
