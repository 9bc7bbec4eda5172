// The primitive enum and its static facts, generated from primitives.def.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "nx/tensor.hpp"
#include "params.hpp"

namespace nx::detail {

enum class Prim : uint16_t {
#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) name,
#include "primitives.def"
#undef NX_PRIM
};

inline constexpr int kNumPrims = 0
#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) +1
#include "primitives.def"
#undef NX_PRIM
    ;

/// What passes and backends ask about a primitive.
enum class PrimGroup : uint8_t {
  Unary,
  Binary,
  Compare,
  Ternary,
  Convert,
  Movement,
  Creation,
  Reduce,
  Contract,
  Window,
  Index,
  Sort,
  Scan,
  Random,
  LinAlg
};
/// The dtypes an elementwise primitive accepts.
enum class DTypeClass : uint8_t { Any, Numeric, Float, Integer, IntPred };

/// Computes output types from inputs and params, validating both (throws nx::Error).
using ShapeRule = std::vector<TensorType> (*)(int prim, std::span<const Tensor> in,
                                              const Params& params);

struct PrimInfo {
  std::string_view name;
  PrimGroup group;
  int inputs;  ///< -1: variadic
  int outputs;
  DTypeClass dtypes;
  size_t params_index;  ///< index of the Params alternative
  ShapeRule rule;
};

#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) \
  std::vector<TensorType> rule(int, std::span<const Tensor>, const Params&);
#include "primitives.def"
#undef NX_PRIM

template <class T, class V>
struct VariantIndex;
template <class T, class... Ts>
struct VariantIndex<T, std::variant<Ts...>> {
  static constexpr size_t value = [] {
    constexpr bool same[] = {std::is_same_v<T, Ts>...};
    for (size_t i = 0; i < sizeof...(Ts); ++i)
      if (same[i]) return i;
    return sizeof...(Ts);
  }();
};
template <class P>
constexpr size_t params_index() {
  constexpr size_t i = VariantIndex<P, Params>::value;
  static_assert(i < std::variant_size_v<Params>, "nx: params type is not in Params");
  return i;
}

inline constexpr std::array<PrimInfo, kNumPrims> kPrimInfo = {{
#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule)                              \
  PrimInfo{#name, PrimGroup::group, inputs, outputs, DTypeClass::dtypes, params_index<params>(), \
           &rule},
#include "primitives.def"
#undef NX_PRIM
}};

inline const PrimInfo& info(Prim p) {
  return kPrimInfo[static_cast<size_t>(p)];
}
inline std::string_view prim_name(Prim p) {
  return info(p).name;
}
inline bool is_elementwise(Prim p) {
  auto g = info(p).group;
  return g == PrimGroup::Unary || g == PrimGroup::Binary || g == PrimGroup::Compare ||
         g == PrimGroup::Ternary || g == PrimGroup::Convert;
}

}  // namespace nx::detail
