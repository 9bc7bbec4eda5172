// The combining operations shared by reductions (reduce_engine.hpp) and scans (scan.cpp):
// identity, load (storage to accumulator), combine, store (accumulator to storage).
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../../core/visit_dtype.hpp"

namespace nx::cpu {

// Sums and products of T run in detail::compute_t<T> (float for the 16-bit floats). Integer
// sums and products are meant to run on unsigned types (see detail::visit_wrapping_dtype), where
// overflow wraps instead of being undefined.

/// x widened to its compute type. The 16-bit floats convert without branches (half's own
/// conversion branches on the exponent), so loops over them vectorize; the results are exact
/// and equal to half's and bfloat16's conversions, NaN payloads included.
template <class T>
inline detail::compute_t<T> widen(T x) {
  if constexpr (std::is_same_v<T, half>) {
    // Integer selects through masks: compilers if-convert these, not float ternaries.
    const uint32_t em = x.bits & 0x7fffu;
    uint32_t bits = (em << 13) + 0x38000000u;                    // rebias the exponent 15 -> 127
    bits += static_cast<uint32_t>(em >= 0x7c00u) * 0x38000000u;  // inf and NaN: exponent 255
    const uint32_t sub = std::bit_cast<uint32_t>(                // zero and subnormals: em * 2^-24
        static_cast<float>(static_cast<int32_t>(em)) * 5.9604644775390625e-08f);
    const uint32_t is_sub = 0u - static_cast<uint32_t>(em < 0x0400u);
    bits = (sub & is_sub) | (bits & ~is_sub);
    return std::bit_cast<float>(bits | (uint32_t{x.bits & 0x8000u} << 16));
  } else if constexpr (std::is_same_v<T, bfloat16>) {
    return std::bit_cast<float>(uint32_t{x.bits} << 16);
  } else {
    return x;
  }
}

/// Integer arithmetic below 32 bits promotes to int, where a product may overflow (undefined):
/// widen to an unsigned type first so that every product wraps.
template <class A>
using WrapWide = std::conditional_t<(sizeof(A) < 4 && std::is_integral_v<A>), uint32_t, A>;

/// Sum; float sums ask the engine for pairwise combination.
template <class T>
struct SumOp {
  using In = T;
  using Acc = detail::compute_t<T>;
  using Out = T;
  static constexpr bool kPairwise = detail::is_float_v<T>;
  static Acc identity() { return Acc(0); }
  static Acc load(In x) { return static_cast<Acc>(widen(x)); }
  static Acc combine(Acc a, Acc b) { return static_cast<Acc>(WrapWide<Acc>(a) + WrapWide<Acc>(b)); }
  static Out store(Acc a) { return static_cast<Out>(a); }
};

/// Product.
template <class T>
struct ProdOp {
  using In = T;
  using Acc = detail::compute_t<T>;
  using Out = T;
  static constexpr bool kPairwise = false;
  static Acc identity() { return Acc(1); }
  static Acc load(In x) { return static_cast<Acc>(widen(x)); }
  static Acc combine(Acc a, Acc b) { return static_cast<Acc>(WrapWide<Acc>(a) * WrapWide<Acc>(b)); }
  static Out store(Acc a) { return static_cast<Out>(a); }
};

/// Maximum (kMax) or minimum; NaN wins and stays.
template <class T, bool kMax>
struct ExtremeOp {
  using In = T;
  using Acc = detail::compute_t<T>;
  using Out = T;
  static constexpr bool kPairwise = false;
  static Acc identity() {
    if constexpr (std::is_floating_point_v<Acc>) {
      return kMax ? -std::numeric_limits<Acc>::infinity() : std::numeric_limits<Acc>::infinity();
    } else {
      return kMax ? std::numeric_limits<Acc>::lowest() : std::numeric_limits<Acc>::max();
    }
  }
  static Acc load(In x) { return static_cast<Acc>(widen(x)); }
  // Branch-free selects, so lane loops vectorize; `b != b` makes NaN win and stay.
  static Acc combine(Acc a, Acc b) {
    if constexpr (std::is_floating_point_v<Acc>) {
      if constexpr (kMax)
        return (b > a || b != b) ? b : a;
      else
        return (b < a || b != b) ? b : a;
    } else {
      if constexpr (kMax)
        return b > a ? b : a;
      else
        return b < a ? b : a;
    }
  }
  static Out store(Acc a) { return static_cast<Out>(a); }
};

}  // namespace nx::cpu
