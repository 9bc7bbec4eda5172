// CPU kernels of reduce_max and reduce_min (the loops live in reduce_engine.hpp).
//
// Semantics at the edges:
// - An empty reduction gives the identity: -inf (max) / +inf (min) for floats, the lowest /
//   highest value of integer dtypes.
// - NaN propagates: any NaN among the reduced elements makes the result NaN.
// - -0.0 and 0.0 compare equal; which of the two a max or min of both returns is unspecified.
#include "../../core/tensor_impl.hpp"
#include "../../core/visit_dtype.hpp"
#include "backend.hpp"
#include "reduce_engine.hpp"
#include "reduce_ops.hpp"

namespace nx::cpu {

namespace {

template <bool kMax>
void run_extreme(const Params& params, const Tensor& x, const Tensor& out) {
  ReducePlan plan = make_reduce_plan(x.shape(), std::get<detail::AxesParams>(params).axes);
  detail::visit_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (!std::is_same_v<T, bool>) {
      reduce_engine::reduce_with<ExtremeOp<T, kMax>>(plan, x.raw_data(), detail::mutable_data(out));
    }
  });
}

}  // namespace

std::unique_ptr<PreparedKernel> prepare_extreme(bool is_max, DType t, ReducePlan plan) {
  if (t == DType::Pred) return nullptr;  // the kernel reports it
  auto visit = [t, is_max](auto&& f) {
    detail::visit_dtype(t, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (!std::is_same_v<T, bool>) {
        if (is_max)
          f(std::type_identity<ExtremeOp<T, true>>{});
        else
          f(std::type_identity<ExtremeOp<T, false>>{});
      }
    });
  };
  return reduce_engine::prepare_reduction(visit, std::move(plan));
}

void kernel_reduce_max(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_extreme<true>(params, in[0], out[0]);
}

void kernel_reduce_min(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_extreme<false>(params, in[0], out[0]);
}

}  // namespace nx::cpu
