// prepare_kernel: which family plans a primitive for compiled code (prepared.hpp).
#include "prepared.hpp"

namespace nx::cpu {

std::unique_ptr<PreparedKernel> prepare_kernel(detail::Prim p, const detail::Params& params,
                                               std::span<const TensorType> in,
                                               std::span<const TensorType> out) {
  using detail::PrimGroup;
  switch (detail::info(p).group) {
    case PrimGroup::Binary:
    case PrimGroup::Compare:
    case PrimGroup::Ternary:
      return prepare_elementwise(p, in, out);
    case PrimGroup::Movement:
      return prepare_movement(p, params, in, out);
    case PrimGroup::Reduce:
      return prepare_reduce(p, params, in);
    case PrimGroup::Index:
      return prepare_index(p, params, in, out);
    case PrimGroup::Sort:
      return prepare_sort(params, in);
    case PrimGroup::LinAlg:
      return prepare_qr(params, in, out);
    case PrimGroup::Window:
      return prepare_window(p, params, in, out);
    // Loops over contiguous elements or rows that allocate nothing: unary ops, conversions,
    // iota, scans, random bits. Contractions have plans of their own.
    case PrimGroup::Unary:
    case PrimGroup::Convert:
    case PrimGroup::Creation:
    case PrimGroup::Scan:
    case PrimGroup::Random:
    case PrimGroup::Contract:
      return nullptr;
  }
  return nullptr;
}

}  // namespace nx::cpu
