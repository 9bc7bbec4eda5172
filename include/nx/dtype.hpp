// Element types of nx tensors and the rules that combine them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "nx/half.hpp"

namespace nx {

/// The element type of a tensor. `Pred` is a boolean stored as one byte (0 or 1).
enum class DType : uint8_t { U8, U16, U32, U64, S8, S16, S32, S64, F16, BF16, F32, F64, Pred };

/// Number of dtypes; tables indexed by DType check against it.
inline constexpr int kNumDTypes = 13;

/// Short names, as Nx writes them: `nx::f32`, `nx::s64`, `nx::pred`.
inline constexpr DType u8 = DType::U8, u16 = DType::U16, u32 = DType::U32, u64 = DType::U64;
inline constexpr DType s8 = DType::S8, s16 = DType::S16, s32 = DType::S32, s64 = DType::S64;
inline constexpr DType f16 = DType::F16, bf16 = DType::BF16, f32 = DType::F32, f64 = DType::F64;
inline constexpr DType pred = DType::Pred;

/// "f32", "s64", "pred", ...
std::string_view dtype_name(DType t);
/// Parses a name written by dtype_name; throws nx::Error on an unknown name.
DType parse_dtype(std::string_view name);
/// Bytes per element.
int byte_size(DType t);
/// Bits per element (8 for pred).
int bit_size(DType t);
/// Explicitly stored mantissa bits of a float dtype (f16 10, bf16 7, f32 23, f64 52); throws
/// nx::Error for other dtypes.
int mantissa_bits(DType t);

constexpr bool is_float(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64;
}
constexpr bool is_signed_int(DType t) {
  return t == DType::S8 || t == DType::S16 || t == DType::S32 || t == DType::S64;
}
constexpr bool is_unsigned_int(DType t) {
  return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64;
}
/// Signed or unsigned integer (pred excluded).
constexpr bool is_integer(DType t) {
  return is_signed_int(t) || is_unsigned_int(t);
}
/// Integer, float or pred: everything that has an order and arithmetic.
constexpr bool is_numeric(DType t) {
  return t != DType::Pred;
}

/// Nx's type promotion (Nx.Type.merge): float beats integer, wider beats narrower, signed and
/// unsigned integers meet in a signed type wide enough for both (capped at s64), f16 with bf16
/// gives f32, pred is the lowest type.
DType merge(DType a, DType b);
/// The floating type an op on `t` computes in: `t` itself if float, f32 otherwise.
DType to_floating(DType t);

/// The C++ element type stored for a dtype.
template <DType T>
struct cpp_type;
template <>
struct cpp_type<DType::U8> {
  using type = uint8_t;
};
template <>
struct cpp_type<DType::U16> {
  using type = uint16_t;
};
template <>
struct cpp_type<DType::U32> {
  using type = uint32_t;
};
template <>
struct cpp_type<DType::U64> {
  using type = uint64_t;
};
template <>
struct cpp_type<DType::S8> {
  using type = int8_t;
};
template <>
struct cpp_type<DType::S16> {
  using type = int16_t;
};
template <>
struct cpp_type<DType::S32> {
  using type = int32_t;
};
template <>
struct cpp_type<DType::S64> {
  using type = int64_t;
};
template <>
struct cpp_type<DType::F16> {
  using type = half;
};
template <>
struct cpp_type<DType::BF16> {
  using type = bfloat16;
};
template <>
struct cpp_type<DType::F32> {
  using type = float;
};
template <>
struct cpp_type<DType::F64> {
  using type = double;
};
template <>
struct cpp_type<DType::Pred> {
  using type = bool;
};
template <DType T>
using cpp_type_t = typename cpp_type<T>::type;

/// The dtype that stores a C++ type (bool -> pred, float -> f32, int64_t -> s64, ...).
template <class T>
constexpr DType dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>)
    return DType::Pred;
  else if constexpr (std::is_same_v<U, half>)
    return DType::F16;
  else if constexpr (std::is_same_v<U, bfloat16>)
    return DType::BF16;
  else if constexpr (std::is_same_v<U, float>)
    return DType::F32;
  else if constexpr (std::is_same_v<U, double>)
    return DType::F64;
  else if constexpr (std::is_integral_v<U> && std::is_signed_v<U>) {
    if constexpr (sizeof(U) == 1)
      return DType::S8;
    else if constexpr (sizeof(U) == 2)
      return DType::S16;
    else if constexpr (sizeof(U) == 4)
      return DType::S32;
    else
      return DType::S64;
  } else if constexpr (std::is_integral_v<U> && std::is_unsigned_v<U>) {
    if constexpr (sizeof(U) == 1)
      return DType::U8;
    else if constexpr (sizeof(U) == 2)
      return DType::U16;
    else if constexpr (sizeof(U) == 4)
      return DType::U32;
    else
      return DType::U64;
  } else {
    static_assert(sizeof(U) == 0, "nx: no dtype stores this C++ type");
  }
}

}  // namespace nx
