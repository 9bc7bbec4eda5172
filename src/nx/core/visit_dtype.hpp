// Calls a generic lambda with the C++ storage type of a runtime dtype.
//
//   visit_dtype(t.dtype(), [&](auto tag) { using T = typename decltype(tag)::type; ... });
#pragma once

#include <cstdint>
#include <type_traits>

#include "nx/dtype.hpp"

namespace nx::detail {

template <class T>
struct TypeTag {
  using type = T;
};

template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::U8:
      return f(TypeTag<uint8_t>{});
    case DType::U16:
      return f(TypeTag<uint16_t>{});
    case DType::U32:
      return f(TypeTag<uint32_t>{});
    case DType::U64:
      return f(TypeTag<uint64_t>{});
    case DType::S8:
      return f(TypeTag<int8_t>{});
    case DType::S16:
      return f(TypeTag<int16_t>{});
    case DType::S32:
      return f(TypeTag<int32_t>{});
    case DType::S64:
      return f(TypeTag<int64_t>{});
    case DType::F16:
      return f(TypeTag<half>{});
    case DType::BF16:
      return f(TypeTag<bfloat16>{});
    case DType::F32:
      return f(TypeTag<float>{});
    case DType::F64:
      return f(TypeTag<double>{});
    case DType::Pred:
      return f(TypeTag<bool>{});
  }
  return f(TypeTag<float>{});  // unreachable: every enumerator is handled above
}

/// Calls f(TypeTag<S>{}) with the storage type of a numeric dtype, except that signed integers
/// come as their unsigned twins: for wrapping sums and products the bits are the same, and each
/// width is then compiled once. Pred is not numeric and is not visited.
template <class F>
void visit_wrapping_dtype(DType t, F&& f) {
  switch (t) {
    case DType::U8:
    case DType::S8:
      return f(TypeTag<uint8_t>{});
    case DType::U16:
    case DType::S16:
      return f(TypeTag<uint16_t>{});
    case DType::U32:
    case DType::S32:
      return f(TypeTag<uint32_t>{});
    case DType::U64:
    case DType::S64:
      return f(TypeTag<uint64_t>{});
    case DType::F16:
      return f(TypeTag<half>{});
    case DType::BF16:
      return f(TypeTag<bfloat16>{});
    case DType::F32:
      return f(TypeTag<float>{});
    case DType::F64:
      return f(TypeTag<double>{});
    case DType::Pred:
      return;
  }
}

/// The type arithmetic on T happens in: float for the 16-bit floats, T otherwise.
template <class T>
struct ComputeType {
  using type = T;
};
template <>
struct ComputeType<half> {
  using type = float;
};
template <>
struct ComputeType<bfloat16> {
  using type = float;
};
template <class T>
using compute_t = typename ComputeType<T>::type;

template <class T>
constexpr bool is_half_v = std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;
template <class T>
constexpr bool is_float_v = std::is_floating_point_v<T> || is_half_v<T>;

}  // namespace nx::detail
