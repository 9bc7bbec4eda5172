#include "backend.hpp"

#include <array>

#include "../../core/tensor_impl.hpp"

namespace nx::cpu {

namespace {

// One entry per primitive, in table order; a missing kernel is a compile or link error.
constexpr std::array<Kernel, detail::kNumPrims> kKernels = {{
#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) &kernel_##name,
#include "../../core/primitives.def"
#undef NX_PRIM
}};

bool is_view(Prim p) {
  return p == Prim::reshape || p == Prim::bitcast;
}

}  // namespace

Kernel kernel_of(Prim p) {
  return kKernels[static_cast<size_t>(p)];
}

std::vector<Tensor> run(Prim p, std::span<const Tensor> in, const Params& params,
                        const std::vector<TensorType>& out_types) {
  std::vector<Tensor> out;
  out.reserve(out_types.size());
  if (is_view(p)) {
    out.resize(out_types.size());
  } else {
    for (const TensorType& t : out_types) out.push_back(detail::make_tensor(t));
  }
  kKernels[static_cast<size_t>(p)](params, in, out);
  return out;
}

}  // namespace nx::cpu
