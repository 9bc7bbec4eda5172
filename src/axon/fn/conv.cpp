// Convolution: conv, depthwise_conv and the separable convolutions, all one call of nx::conv
// per convolution with the channel layout expressed as nx::conv permutations (as Axon does).
#include "axon/fn/conv.hpp"

#include <string>
#include <vector>

#include "check.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn {

namespace {

std::string str(int64_t v) {
  return std::to_string(v);
}

// The axes of a rank-r kernel: output features, input features per group, spatial.
struct KernelAxes {
  int64_t out, in;
  nx::Axes spatial;
};

KernelAxes kernel_axes(Channels channels, int64_t r) {
  KernelAxes k;
  if (channels == Channels::First) {
    k.out = 0;
    k.in = 1;
    for (int64_t a = 2; a < r; ++a) k.spatial.push_back(a);
  } else {
    k.out = r - 1;
    k.in = r - 2;
    for (int64_t a = 0; a < r - 2; ++a) k.spatial.push_back(a);
  }
  return k;
}

// The output size of one spatial axis, or -1 when the (dilated, padded) input is shorter than
// the dilated kernel.
int64_t output_size(int64_t in, int64_t k, int64_t stride, int64_t lhs_dil, int64_t rhs_dil,
                    int64_t lo, int64_t hi) {
  const int64_t dilated_in = in == 0 ? 0 : (in - 1) * lhs_dil + 1;
  const int64_t dilated_k = (k - 1) * rhs_dil + 1;
  const int64_t padded = dilated_in + lo + hi;
  if (padded < dilated_k) return -1;
  return (padded - dilated_k) / stride + 1;
}

// Checks every argument of a convolution and runs it; `fn` names the public function.
Tensor conv_checked(std::string_view fn, const Tensor& input, const Tensor& kernel,
                    const std::optional<Tensor>& bias, const ConvOptions& o) {
  const int64_t r = input.rank();
  if (r < 3 || r > 5) {
    detail::fail(fn,
                 "input must have rank 3 to 5 ([batch, channels, 1 to 3 spatial axes] in "
                 "some order), got " +
                     detail::describe(input));
  }
  if (kernel.rank() != r) {
    detail::fail(fn, "kernel must have the input's rank (" + str(r) + "), got " +
                         detail::describe(kernel) + " for input " + detail::describe(input));
  }
  const int64_t ns = r - 2;
  const int64_t c_axis = detail::channel_axis(o.channels, r);
  const nx::Axes sp = detail::spatial_axes(o.channels, r);
  const KernelAxes ka = kernel_axes(o.channels, r);
  const int64_t n = input.axis_size(0), c = input.axis_size(c_axis);
  const int64_t out = kernel.axis_size(ka.out), kin = kernel.axis_size(ka.in);
  const int64_t fg = o.feature_group_size, bg = o.batch_group_size;

  if (fg < 1 || bg < 1) {
    detail::fail(fn, "feature_group_size and batch_group_size must be >= 1, got " + str(fg) +
                         " and " + str(bg));
  }
  if (fg > 1 && bg > 1) {
    detail::fail(fn, "feature_group_size and batch_group_size cannot both exceed 1, got " +
                         str(fg) + " and " + str(bg));
  }
  if (c % fg != 0) {
    detail::fail(fn, "input channels (" + str(c) + ") must be divisible by feature_group_size (" +
                         str(fg) + ")");
  }
  if (kin * fg != c) {
    detail::fail(fn, "channel mismatch: the input has " + str(c) +
                         " channels, the kernel expects " + str(kin) + " per group x " + str(fg) +
                         " groups = " + str(kin * fg) + " (kernel " + detail::describe(kernel) +
                         ", input " + detail::describe(input) + ")");
  }
  if (n % bg != 0) {
    detail::fail(
        fn, "batch size (" + str(n) + ") must be divisible by batch_group_size (" + str(bg) + ")");
  }
  if (out % fg != 0 || out % bg != 0) {
    detail::fail(fn, "kernel output features (" + str(out) +
                         ") must be divisible by feature_group_size (" + str(fg) +
                         ") and batch_group_size (" + str(bg) + ")");
  }
  if (bias && !(bias->rank() == 0 || (bias->rank() == 1 && bias->axis_size(0) == out))) {
    detail::fail(fn, "bias must be a scalar or have shape [" + str(out) +
                         "] (the kernel's output features), got " + detail::describe(*bias));
  }

  nx::ConvOptions nc;
  nc.strides = detail::expand_sizes(fn, "strides", o.strides, ns, 1);
  nc.input_dilation = detail::expand_sizes(fn, "input_dilation", o.input_dilation, ns, 1);
  nc.kernel_dilation = detail::expand_sizes(fn, "kernel_dilation", o.kernel_dilation, ns, 1);
  for (const auto* sizes : {&nc.strides, &nc.input_dilation, &nc.kernel_dilation}) {
    for (int64_t v : *sizes) {
      if (v < 1) detail::fail(fn, "strides and dilations must be >= 1, got " + str(v));
    }
  }
  nc.padding = o.padding;
  nc.feature_group_size = fg;
  nc.batch_group_size = bg;
  if (o.padding.kind == nx::Padding::Kind::Explicit &&
      static_cast<int64_t>(o.padding.pairs.size()) != ns) {
    detail::fail(fn, "explicit padding needs one {lo, hi} pair per spatial axis (" + str(ns) +
                         "), got " + str(static_cast<int64_t>(o.padding.pairs.size())));
  }
  for (int64_t i = 0; i < ns; ++i) {
    const auto u = static_cast<size_t>(i);
    const int64_t in = input.axis_size(sp[u]), k = kernel.axis_size(ka.spatial[u]);
    const int64_t dilated_k = (k - 1) * nc.kernel_dilation[u] + 1;
    int64_t lo = 0, hi = 0;
    if (o.padding.kind == nx::Padding::Kind::Explicit) {
      lo = o.padding.pairs[u].first;
      hi = o.padding.pairs[u].second;
    } else if (o.padding.kind == nx::Padding::Kind::Same) {
      lo = (dilated_k - 1) / 2;
      hi = dilated_k - 1 - lo;
    }
    if (k < 1 || output_size(in, k, nc.strides[u], nc.input_dilation[u], nc.kernel_dilation[u], lo,
                             hi) < 0) {
      detail::fail(fn, "spatial axis " + str(i) + ": the kernel (" + str(k) + ", dilated " +
                           str(dilated_k) + ") is larger than the padded input (" + str(in) +
                           " with padding {" + str(lo) + ", " + str(hi) + "})");
    }
  }
  if (o.channels == Channels::Last) {
    // [N, s.., C] holds batch at 0 and channels at r-1; [k.., in, out] holds out at r-1 and in
    // at r-2; nx::conv's output permutation places [N, C, s..] back as [N, s.., C].
    nx::Axes io{0, r - 1}, k{r - 1, r - 2}, outp{0, r - 1};
    for (int64_t a = 1; a < r - 1; ++a) io.push_back(a);
    for (int64_t a = 0; a < r - 2; ++a) k.push_back(a);
    for (int64_t a = 1; a < r - 1; ++a) outp.push_back(a);
    nc.input_permutation = io;
    nc.kernel_permutation = k;
    nc.output_permutation = outp;
  }
  Tensor y = nx::conv(input, kernel, nc);
  if (!bias) return y;
  if (bias->rank() == 0 || o.channels == Channels::Last) return nx::add(y, *bias);
  nx::Shape b_shape(static_cast<size_t>(r - 1), 1);
  b_shape[0] = out;
  return nx::add(y, nx::reshape(*bias, b_shape));
}

Tensor depthwise_checked(std::string_view fn, const Tensor& input, const Tensor& kernel,
                         const std::optional<Tensor>& bias, const DepthwiseConvOptions& o) {
  if (input.rank() < 3 || input.rank() > 5) {
    detail::fail(fn, "input must have rank 3 to 5, got " + detail::describe(input));
  }
  const int64_t c = input.axis_size(detail::channel_axis(o.channels, input.rank()));
  return conv_checked(fn, input, kernel, bias,
                      {.strides = o.strides,
                       .padding = o.padding,
                       .input_dilation = o.input_dilation,
                       .kernel_dilation = o.kernel_dilation,
                       .feature_group_size = c,
                       .channels = o.channels});
}

}  // namespace

Tensor conv(const Tensor& input, const Tensor& kernel, const std::optional<Tensor>& bias,
            const ConvOptions& opts) {
  return conv_checked("conv", input, kernel, bias, opts);
}

Tensor depthwise_conv(const Tensor& input, const Tensor& kernel, const std::optional<Tensor>& bias,
                      const DepthwiseConvOptions& opts) {
  return depthwise_checked("depthwise_conv", input, kernel, bias, opts);
}

Tensor separable_conv2d(const Tensor& input, const Tensor& kernel1,
                        const std::optional<Tensor>& bias1, const Tensor& kernel2,
                        const std::optional<Tensor>& bias2, const DepthwiseConvOptions& opts) {
  constexpr std::string_view fn = "separable_conv2d";
  detail::check_rank(fn, "input", input, 4);
  Tensor y = depthwise_checked(fn, input, kernel1, bias1, opts);
  return depthwise_checked(fn, y, kernel2, bias2, opts);
}

Tensor separable_conv3d(const Tensor& input, const Tensor& kernel1,
                        const std::optional<Tensor>& bias1, const Tensor& kernel2,
                        const std::optional<Tensor>& bias2, const Tensor& kernel3,
                        const std::optional<Tensor>& bias3, const DepthwiseConvOptions& opts) {
  constexpr std::string_view fn = "separable_conv3d";
  detail::check_rank(fn, "input", input, 5);
  Tensor y = depthwise_checked(fn, input, kernel1, bias1, opts);
  y = depthwise_checked(fn, y, kernel2, bias2, opts);
  return depthwise_checked(fn, y, kernel3, bias3, opts);
}

}  // namespace axon::fn
