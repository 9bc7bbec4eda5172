// CPU kernels of reduce_sum and reduce_prod (the loops live in reduce_engine.hpp), and
// prepare_reduce, which plans every reduction for compiled code.
//
// Semantics at the edges:
// - Reducing no axes (or only axes of size 1) copies the operand; reducing an axis of size 0
//   gives the identity: 0 for sums, 1 for products.
// - Integer sums and products wrap modulo 2^bits of their dtype (two's complement for signed
//   dtypes).
// - f16 and bf16 accumulate in f32 and round once at the end; f32 and f64 accumulate in their
//   own type. Float sums are pairwise (error O(log n) ulps, like NumPy); float products are
//   plain products in lane order.
#include <type_traits>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "reduce_engine.hpp"
#include "reduce_ops.hpp"

namespace nx::cpu {

namespace {

template <template <class> class Op>
void run_arith(const Params& params, const Tensor& x, const Tensor& out) {
  ReducePlan plan = make_reduce_plan(x.shape(), std::get<detail::AxesParams>(params).axes);
  detail::visit_wrapping_dtype(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    reduce_engine::reduce_with<Op<T>>(plan, x.raw_data(), detail::mutable_data(out));
  });
}

// Calls f with std::type_identity<Op<T>> for operand dtype t.
template <template <class> class Op>
auto arith_visitor(DType t) {
  return [t](auto&& f) {
    detail::visit_wrapping_dtype(
        t, [&](auto tag) { f(std::type_identity<Op<typename decltype(tag)::type>>{}); });
  };
}

}  // namespace

std::unique_ptr<PreparedKernel> prepare_reduce(detail::Prim p, const Params& params,
                                               std::span<const TensorType> in) {
  using detail::Prim;
  const DType t = in[0].dtype;
  auto plan = [&] {
    return make_reduce_plan(in[0].shape, std::get<detail::AxesParams>(params).axes);
  };
  switch (p) {
    case Prim::reduce_sum:
      return reduce_engine::prepare_reduction(arith_visitor<SumOp>(t), plan());
    case Prim::reduce_prod:
      return reduce_engine::prepare_reduction(arith_visitor<ProdOp>(t), plan());
    case Prim::reduce_max:
    case Prim::reduce_min:
      return prepare_extreme(p == Prim::reduce_max, t, plan());
    case Prim::reduce_and:
    case Prim::reduce_or:
      return prepare_logical(p == Prim::reduce_and, t, plan());
    default:  // argmax, argmin: nothing to plan
      return nullptr;
  }
}

void kernel_reduce_sum(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_arith<SumOp>(params, in[0], out[0]);
}

void kernel_reduce_prod(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  run_arith<ProdOp>(params, in[0], out[0]);
}

}  // namespace nx::cpu
