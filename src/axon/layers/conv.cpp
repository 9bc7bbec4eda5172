// Convolution layer builders: parameter shapes from the input shape and Axon's kernel layouts;
// the computation is axon::fn's.
#include "axon/layers/conv.hpp"

#include <optional>
#include <utility>
#include <vector>

#include "axon/fn/conv.hpp"
#include "axon/layers/activation.hpp"
#include "spatial_options.hpp"

namespace axon {

namespace {

using layers_detail::bool_str;
using layers_detail::channels_of;
using layers_detail::channels_str;
using layers_detail::check_positive;
using layers_detail::expand;
using layers_detail::fail;
using layers_detail::padding_str;
using layers_detail::sizes_str;
using layers_detail::spatial_rank;

using Options = std::vector<std::pair<std::string, std::string>>;

// A kernel {k.., in, out} (channels last) or {out, in, k..} (first).
nx::Shape kernel_shape(const fn::Sizes& k, int64_t in, int64_t out, fn::Channels channels) {
  nx::Shape s;
  if (channels == fn::Channels::First) s = {out, in};
  s.insert(s.end(), k.begin(), k.end());
  if (channels == fn::Channels::Last) {
    s.push_back(in);
    s.push_back(out);
  }
  return s;
}

std::optional<Tensor> maybe_param(const LayerCall& c, bool present, const std::string& name) {
  return present ? std::optional<Tensor>(c.param(name)) : std::nullopt;
}

void check_common(const std::string& layer, const fn::Sizes& kernel_size, const fn::Sizes& strides,
                  const fn::Sizes& kernel_dilation) {
  check_positive(layer, "kernel_size", kernel_size);
  check_positive(layer, "strides", strides);
  check_positive(layer, "kernel_dilation", kernel_dilation);
}

// The options every convolution shows in the summary table.
Options conv_options(const fn::Sizes& kernel_size, const fn::Sizes& strides,
                     const nx::Padding& padding, const fn::Sizes& kernel_dilation,
                     fn::Channels channels, bool use_bias) {
  return {{"kernel_size", sizes_str(kernel_size, "1")},
          {"strides", sizes_str(strides, "1")},
          {"padding", padding_str(padding)},
          {"kernel_dilation", sizes_str(kernel_dilation, "1")},
          {"channels", channels_str(channels)},
          {"use_bias", bool_str(use_bias)}};
}

// A depthwise-style layer: its op, the numbers of spatial axes it accepts, and the names of its
// kernels and biases (one of each per depthwise pass).
struct DepthwiseLayer {
  std::string op;
  int64_t min_rank, max_rank;  // spatial axes accepted
  std::vector<std::string> kernels, biases;
};

}  // namespace

Model conv(const Model& x, int64_t units, ConvOptions opts, SourceLocation where) {
  if (units <= 0) fail("conv", "units must be positive, got " + std::to_string(units));
  if (opts.feature_group_size <= 0) {
    fail("conv",
         "feature_group_size must be positive, got " + std::to_string(opts.feature_group_size));
  }
  check_common("conv", opts.kernel_size, opts.strides, opts.kernel_dilation);
  check_positive("conv", "input_dilation", opts.input_dilation);
  const int64_t groups = opts.feature_group_size;
  const fn::Channels channels = opts.channels;
  const fn::Sizes kernel_size = opts.kernel_size;
  ShapeRule kernel_rule = [=](const std::vector<nx::Shape>& s) {
    const int64_t n = spatial_rank("conv", s.at(0), 1, 3);
    const int64_t c = channels_of(s[0], channels);
    if (c % groups != 0) {
      fail("conv", "input channels (" + std::to_string(c) +
                       ") must be divisible by feature_group_size (" + std::to_string(groups) +
                       ")");
    }
    return kernel_shape(expand("conv", "kernel_size", kernel_size, n, 1), c / groups, units,
                        channels);
  };
  std::vector<Param> params{
      param("kernel", std::move(kernel_rule), {.initializer = opts.kernel_initializer})};
  if (opts.use_bias)
    params.push_back(param("bias", nx::Shape{units}, {.initializer = opts.bias_initializer}));
  Options shown = conv_options(opts.kernel_size, opts.strides, opts.padding, opts.kernel_dilation,
                               channels, opts.use_bias);
  shown.insert(shown.begin(), {"units", std::to_string(units)});
  shown.emplace_back("input_dilation", sizes_str(opts.input_dilation, "1"));
  shown.emplace_back("feature_group_size", std::to_string(groups));
  const fn::ConvOptions fo{.strides = opts.strides,
                           .padding = opts.padding,
                           .input_dilation = opts.input_dilation,
                           .kernel_dilation = opts.kernel_dilation,
                           .feature_group_size = groups,
                           .channels = channels};
  const bool use_bias = opts.use_bias;
  Model y = layer(
      [fo, use_bias](const LayerCall& c) {
        return LayerResult{
            fn::conv(c.input(0), c.param("kernel"), maybe_param(c, use_bias, "bias"), fo)};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "conv",
       .params = std::move(params),
       .options = std::move(shown)},
      where);
  return maybe_activation(y, opts.activation, where);
}

Model conv_transpose(const Model& x, int64_t units, ConvTransposeOptions opts,
                     SourceLocation where) {
  if (units <= 0) fail("conv_transpose", "units must be positive, got " + std::to_string(units));
  check_common("conv_transpose", opts.kernel_size, opts.strides, opts.kernel_dilation);
  const fn::Channels channels = opts.channels;
  const fn::Sizes kernel_size = opts.kernel_size;
  ShapeRule kernel_rule = [=](const std::vector<nx::Shape>& s) {
    const int64_t n = spatial_rank("conv_transpose", s.at(0), 1, 3);
    return kernel_shape(expand("conv_transpose", "kernel_size", kernel_size, n, 1),
                        channels_of(s[0], channels), units, channels);
  };
  std::vector<Param> params{
      param("kernel", std::move(kernel_rule), {.initializer = opts.kernel_initializer})};
  if (opts.use_bias)
    params.push_back(param("bias", nx::Shape{units}, {.initializer = opts.bias_initializer}));
  Options shown = conv_options(opts.kernel_size, opts.strides, opts.padding, opts.kernel_dilation,
                               channels, opts.use_bias);
  shown.insert(shown.begin(), {"units", std::to_string(units)});
  const fn::ConvTransposeOptions fo{.strides = opts.strides,
                                    .padding = opts.padding,
                                    .kernel_dilation = opts.kernel_dilation,
                                    .channels = channels};
  const bool use_bias = opts.use_bias;
  Model y = layer(
      [fo, use_bias](const LayerCall& c) {
        return LayerResult{fn::conv_transpose(c.input(0), c.param("kernel"),
                                              maybe_param(c, use_bias, "bias"), fo)};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "conv_transpose",
       .params = std::move(params),
       .options = std::move(shown)},
      where);
  return maybe_activation(y, opts.activation, where);
}

namespace {

// depthwise_conv (one kernel over every spatial axis) and the separable convolutions (one
// kernel per spatial axis, the others of size 1) share everything but their kernels' shapes.
Model depthwise_family(const Model& x, int64_t multiplier, DepthwiseConvOptions opts,
                       const DepthwiseLayer& spec, SourceLocation where) {
  const std::string& op = spec.op;
  if (multiplier <= 0) {
    fail(op, "channel_multiplier must be positive, got " + std::to_string(multiplier));
  }
  check_common(op, opts.kernel_size, opts.strides, opts.kernel_dilation);
  check_positive(op, "input_dilation", opts.input_dilation);
  const fn::Channels channels = opts.channels;
  const fn::Sizes kernel_size = opts.kernel_size;
  const bool separable = spec.kernels.size() > 1;
  std::vector<Param> params;
  for (size_t i = 0; i < spec.kernels.size(); ++i) {
    ShapeRule rule = [=](const std::vector<nx::Shape>& s) {
      const int64_t n = spatial_rank(op, s.at(0), spec.min_rank, spec.max_rank);
      fn::Sizes k = expand(op, "kernel_size", kernel_size, n, 1);
      if (separable) {
        // Kernel i spans spatial axis i only.
        for (int64_t a = 0; a < n; ++a)
          if (a != static_cast<int64_t>(i)) k[static_cast<size_t>(a)] = 1;
      }
      return kernel_shape(k, 1, channels_of(s[0], channels) * multiplier, channels);
    };
    params.push_back(
        param(spec.kernels[i], std::move(rule), {.initializer = opts.kernel_initializer}));
    if (opts.use_bias) {
      ShapeRule bias_rule = [=](const std::vector<nx::Shape>& s) {
        spatial_rank(op, s.at(0), spec.min_rank, spec.max_rank);
        return nx::Shape{channels_of(s[0], channels) * multiplier};
      };
      params.push_back(
          param(spec.biases[i], std::move(bias_rule), {.initializer = opts.bias_initializer}));
    }
  }
  Options shown = conv_options(opts.kernel_size, opts.strides, opts.padding, opts.kernel_dilation,
                               channels, opts.use_bias);
  shown.insert(shown.begin(), {"channel_multiplier", std::to_string(multiplier)});
  shown.emplace_back("input_dilation", sizes_str(opts.input_dilation, "1"));
  const fn::DepthwiseConvOptions fo{.strides = opts.strides,
                                    .padding = opts.padding,
                                    .input_dilation = opts.input_dilation,
                                    .kernel_dilation = opts.kernel_dilation,
                                    .channels = channels};
  const bool use_bias = opts.use_bias;
  LayerFn compute;
  if (spec.kernels.size() == 1) {
    compute = [fo, use_bias](const LayerCall& c) {
      return LayerResult{
          fn::depthwise_conv(c.input(0), c.param("kernel"), maybe_param(c, use_bias, "bias"), fo)};
    };
  } else if (spec.kernels.size() == 2) {
    compute = [fo, use_bias](const LayerCall& c) {
      return LayerResult{
          fn::separable_conv2d(c.input(0), c.param("kernel_1"), maybe_param(c, use_bias, "bias_1"),
                               c.param("kernel_2"), maybe_param(c, use_bias, "bias_2"), fo)};
    };
  } else {
    compute = [fo, use_bias](const LayerCall& c) {
      return LayerResult{
          fn::separable_conv3d(c.input(0), c.param("kernel_1"), maybe_param(c, use_bias, "bias_1"),
                               c.param("kernel_2"), maybe_param(c, use_bias, "bias_2"),
                               c.param("kernel_3"), maybe_param(c, use_bias, "bias_3"), fo)};
    };
  }
  Model y = layer(std::move(compute), {x},
                  {.name = std::move(opts.name),
                   .op_name = op,
                   .params = std::move(params),
                   .options = std::move(shown)},
                  where);
  return maybe_activation(y, opts.activation, where);
}

}  // namespace

Model depthwise_conv(const Model& x, int64_t channel_multiplier, DepthwiseConvOptions opts,
                     SourceLocation where) {
  static const DepthwiseLayer spec{"depthwise_conv", 1, 3, {"kernel"}, {"bias"}};
  return depthwise_family(x, channel_multiplier, std::move(opts), spec, where);
}

Model separable_conv2d(const Model& x, int64_t channel_multiplier, DepthwiseConvOptions opts,
                       SourceLocation where) {
  static const DepthwiseLayer spec{
      "separable_conv2d", 2, 2, {"kernel_1", "kernel_2"}, {"bias_1", "bias_2"}};
  return depthwise_family(x, channel_multiplier, std::move(opts), spec, where);
}

Model separable_conv3d(const Model& x, int64_t channel_multiplier, DepthwiseConvOptions opts,
                       SourceLocation where) {
  static const DepthwiseLayer spec{"separable_conv3d",
                                   3,
                                   3,
                                   {"kernel_1", "kernel_2", "kernel_3"},
                                   {"bias_1", "bias_2", "bias_3"}};
  return depthwise_family(x, channel_multiplier, std::move(opts), spec, where);
}

}  // namespace axon
