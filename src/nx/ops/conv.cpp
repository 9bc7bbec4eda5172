#include "nx/ops/conv.hpp"

#include <algorithm>
#include <string>

#include "nx/ops/shape.hpp"
#include "promote.hpp"
#include "window_common.hpp"

namespace nx {

namespace {
Axes permutation_or_identity(const Axes& perm, int64_t rank, const char* what) {
  if (perm.empty()) return all_axes(rank);
  if (static_cast<int64_t>(perm.size()) != rank) {
    throw Error(std::string("nx::conv: ") + what + " needs " + std::to_string(rank) +
                " axes, got " + std::to_string(perm.size()));
  }
  return normalize_axes(perm, rank, "nx::conv");
}
}  // namespace

Tensor conv(const Tensor& input, const Tensor& kernel, const ConvOptions& opts) {
  detail::check_defined(input, "nx::conv", "input");
  detail::check_defined(kernel, "nx::conv", "kernel");
  if (input.rank() < 3 || input.rank() != kernel.rank()) {
    throw Error(
        "nx::conv: input and kernel need one rank >= 3 ([batch, channels, spatial...]), got " +
        type_string(input.type()) + " and " + type_string(kernel.type()));
  }
  auto [in0, k0] = detail::promote(input, kernel, true, "nx::conv");
  DType t = to_floating(in0.dtype());
  int64_t rank = input.rank();
  size_t ns = static_cast<size_t>(rank - 2);
  Tensor x = transpose(detail::cast(in0, t),
                       permutation_or_identity(opts.input_permutation, rank, "input_permutation"));
  Tensor k = transpose(detail::cast(k0, t), permutation_or_identity(opts.kernel_permutation, rank,
                                                                    "kernel_permutation"));
  Axes out_perm = permutation_or_identity(opts.output_permutation, rank, "output_permutation");

  detail::ConvParams p;
  p.strides = detail::per_axis_or_ones(opts.strides, ns, "nx::conv", "strides");
  p.lhs_dilation = detail::per_axis_or_ones(opts.input_dilation, ns, "nx::conv", "input_dilation");
  p.rhs_dilation =
      detail::per_axis_or_ones(opts.kernel_dilation, ns, "nx::conv", "kernel_dilation");
  p.feature_groups = opts.feature_group_size;
  p.batch_groups = opts.batch_group_size;
  if (p.feature_groups < 1 || p.batch_groups < 1) {
    throw Error("nx::conv: group sizes must be >= 1, got feature_group_size " +
                std::to_string(p.feature_groups) + " and batch_group_size " +
                std::to_string(p.batch_groups));
  }
  std::vector<int64_t> dilated_kernel(ns);
  for (size_t i = 0; i < ns; ++i) {
    int64_t kd = k.shape()[i + 2];
    dilated_kernel[i] = kd == 0 ? 0 : (kd - 1) * p.rhs_dilation[i] + 1;
  }
  detail::resolve_padding(opts.padding, dilated_kernel, "nx::conv", p.pad_lo, p.pad_hi);
  Tensor y = detail::bind1(detail::Prim::conv_general, {x, k}, p);
  // out_perm[i] is the output axis of canonical dim i; invert it to get the transpose.
  Axes inverse(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) inverse[static_cast<size_t>(out_perm[i])] = i;
  return transpose(y, inverse);
}

}  // namespace nx
