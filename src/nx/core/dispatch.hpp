// bind: the one entry point through which every primitive runs. It validates the inputs with
// the primitive's shape rule and runs the backend kernel. (Under tracing, bind will record a
// graph node instead; the op library above does not change.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "primitive.hpp"

namespace nx::detail {

/// Runs primitive `p` on `in`; returns its outputs.
std::vector<Tensor> bind(Prim p, std::span<const Tensor> in, const Params& params = NoParams{});

/// bind for single-output primitives.
Tensor bind1(Prim p, std::span<const Tensor> in, const Params& params = NoParams{});
inline Tensor bind1(Prim p, std::initializer_list<Tensor> in, const Params& params = NoParams{}) {
  return bind1(p, std::span<const Tensor>(in.begin(), in.size()), params);
}
inline std::vector<Tensor> bind(Prim p, std::initializer_list<Tensor> in,
                                const Params& params = NoParams{}) {
  return bind(p, std::span<const Tensor>(in.begin(), in.size()), params);
}

/// How many times each primitive has run in this process (for coverage and profiling).
const std::array<std::atomic<uint64_t>, kNumPrims>& prim_call_counts();

/// "nx::<prim name>", the prefix of error messages from shape rules.
std::string op_label(int prim);

}  // namespace nx::detail
