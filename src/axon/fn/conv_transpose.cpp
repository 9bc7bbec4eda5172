// Transposed convolution (Axon's convention) and the conversions that reproduce PyTorch's
// ConvTranspose with it.
//
// Axon computes conv_transpose as a convolution with strides 1 of the input dilated by the
// strides, with the kernel as given (not flipped) and padding computed from :valid/:same. A
// PyTorch ConvTranspose (weight w {in, out, k..}, stride s, padding p, output_padding op,
// dilation d) is the input gradient of a convolution, i.e. the same dilated-input convolution
// with the kernel spatially reversed and in/out swapped, and padding
// {d(k-1) - p, d(k-1) - p + op} per axis. So the two conventions differ only in the kernel's
// orientation and in how padding is named; the helpers below translate both.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "axon/fn/conv.hpp"
#include "check.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn {

namespace {

std::string str(int64_t v) {
  return std::to_string(v);
}

}  // namespace

Tensor conv_transpose(const Tensor& input, const Tensor& kernel, const std::optional<Tensor>& bias,
                      const ConvTransposeOptions& opts) {
  constexpr std::string_view fn = "conv_transpose";
  const int64_t r = input.rank();
  if (r < 3 || r > 5) {
    detail::fail(fn, "input must have rank 3 to 5, got " + detail::describe(input));
  }
  if (kernel.rank() != r) {
    detail::fail(fn, "kernel must have the input's rank (" + str(r) + "), got " +
                         detail::describe(kernel) + " for input " + detail::describe(input));
  }
  const bool first = opts.channels == Channels::First;
  const int64_t c = input.axis_size(detail::channel_axis(opts.channels, r));
  const int64_t kin = kernel.axis_size(first ? 1 : r - 2);
  if (kin != c) {
    detail::fail(fn, "channel mismatch: the input has " + str(c) + " channels, the kernel " +
                         detail::describe(kernel) + " expects " + str(kin));
  }
  const int64_t ns = r - 2;
  const Sizes strides = detail::expand_sizes(fn, "strides", opts.strides, ns, 1);
  const Sizes dil = detail::expand_sizes(fn, "kernel_dilation", opts.kernel_dilation, ns, 1);
  for (int64_t v : strides) {
    if (v < 1) detail::fail(fn, "strides must be >= 1, got " + str(v));
  }
  for (int64_t v : dil) {
    if (v < 1) detail::fail(fn, "kernel_dilation must be >= 1, got " + str(v));
  }

  nx::Padding padding = opts.padding;
  if (padding.kind != nx::Padding::Kind::Explicit) {
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (int64_t i = 0; i < ns; ++i) {
      const auto u = static_cast<size_t>(i);
      const int64_t k = kernel.axis_size(first ? 2 + i : i);
      const int64_t kd = (k - 1) * dil[u] + 1, s = strides[u];
      if (opts.padding.kind == nx::Padding::Kind::Valid) {
        // Output in*s + max(kd - s, 0).
        const int64_t lo = kd - 1;
        pairs.emplace_back(lo, kd + s - 2 + std::max(kd - s, int64_t{0}) - lo);
      } else {
        // Output in*s.
        const int64_t len = kd + s - 2;
        const int64_t lo = s > kd - 1 ? kd - 1 : (len + 1) / 2;
        pairs.emplace_back(lo, len - lo);
      }
    }
    padding = nx::Padding::explicit_pairs(std::move(pairs));
  }
  try {
    return conv(input, kernel, bias,
                {.padding = padding,
                 .input_dilation = strides,
                 .kernel_dilation = dil,
                 .channels = opts.channels});
  } catch (const nx::Error& e) {
    // Name the function the caller called; conv's message says what is wrong.
    std::string what = e.what();
    const std::string prefix = "axon::fn::conv: ";
    if (what.rfind(prefix, 0) == 0) detail::fail(fn, what.substr(prefix.size()));
    throw;
  }
}

Tensor conv_transpose_kernel_from_torch(const Tensor& weight, Channels channels) {
  constexpr std::string_view fn = "conv_transpose_kernel_from_torch";
  const int64_t r = weight.rank();
  if (r < 3 || r > 5) {
    detail::fail(
        fn, "weight must have rank 3 to 5 ([in, out, k1..kn]), got " + detail::describe(weight));
  }
  nx::Axes spatial;
  for (int64_t a = 2; a < r; ++a) spatial.push_back(a);
  Tensor flipped = nx::reverse(weight, spatial);
  nx::Axes perm;
  if (channels == Channels::First) {
    perm = {1, 0};
    perm.insert(perm.end(), spatial.begin(), spatial.end());
  } else {
    perm = spatial;
    perm.push_back(0);
    perm.push_back(1);
  }
  return nx::transpose(flipped, perm);
}

nx::Padding conv_transpose_padding_from_torch(const Sizes& kernel_size, const Sizes& padding,
                                              const Sizes& output_padding, const Sizes& dilation) {
  constexpr std::string_view fn = "conv_transpose_padding_from_torch";
  const auto ns = static_cast<int64_t>(kernel_size.size());
  if (ns < 1 || ns > 3) {
    detail::fail(fn, "kernel_size needs 1 to 3 values (one per spatial axis), got " + str(ns));
  }
  const Sizes p = detail::expand_sizes(fn, "padding", padding, ns, 0);
  const Sizes op = detail::expand_sizes(fn, "output_padding", output_padding, ns, 0);
  const Sizes d = detail::expand_sizes(fn, "dilation", dilation, ns, 1);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t i = 0; i < kernel_size.size(); ++i) {
    const int64_t lo = d[i] * (kernel_size[i] - 1) - p[i];
    pairs.emplace_back(lo, lo + op[i]);
  }
  return nx::Padding::explicit_pairs(std::move(pairs));
}

}  // namespace axon::fn
