// bind: the one entry point through which every primitive runs. It validates the inputs with
// the primitive's shape rule and runs the backend kernel; under tracing (src/nx/defn/trace.hpp)
// it records a graph node instead. The op library above does not know the difference.
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

/// bind without the tracing check: validates and runs the CPU kernel on concrete inputs.
std::vector<Tensor> bind_concrete(Prim p, std::span<const Tensor> in, const Params& params);
/// The input count, parameter kind and definedness checks bind makes before the shape rule.
void check_bind(Prim p, std::span<const Tensor> in, const Params& params);

/// How many times each primitive has run in this process (for coverage and profiling).
const std::array<std::atomic<uint64_t>, kNumPrims>& prim_call_counts();

/// "nx::<prim name>", the prefix of error messages from shape rules.
std::string op_label(int prim);

}  // namespace nx::detail
