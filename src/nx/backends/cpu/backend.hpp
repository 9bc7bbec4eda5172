// The CPU backend: one kernel per primitive, in a table checked against the primitive count.
#pragma once

#include <span>
#include <vector>

#include "../../core/primitive.hpp"

namespace nx::cpu {

using detail::Params;
using detail::Prim;

/// A kernel reads `in` and writes `out`, whose buffers the backend allocated from the shape
/// rule's types (for view primitives, reshape and bitcast, the kernel sets out[0] itself).
using Kernel = void (*)(const Params& params, std::span<const Tensor> in, std::span<Tensor> out);

#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) \
  void kernel_##name(const Params&, std::span<const Tensor>, std::span<Tensor>);
#include "../../core/primitives.def"
#undef NX_PRIM

/// The kernel of primitive p (compiled code calls it on buffers it planned itself).
Kernel kernel_of(Prim p);

/// Runs primitive p on the CPU.
std::vector<Tensor> run(Prim p, std::span<const Tensor> in, const Params& params,
                        const std::vector<TensorType>& out_types);

}  // namespace nx::cpu
