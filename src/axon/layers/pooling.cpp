// Pooling layer builders: parameterless nodes calling axon::fn's pools, which check the input.
#include "axon/layers/pooling.hpp"

#include <functional>
#include <utility>
#include <vector>

#include "axon/fn/pooling.hpp"
#include "spatial_options.hpp"

namespace axon {

namespace {

using layers_detail::bool_str;
using layers_detail::channels_str;
using layers_detail::check_positive;
using layers_detail::fail;
using layers_detail::number_str;
using layers_detail::padding_str;
using layers_detail::sizes_str;

using Options = std::vector<std::pair<std::string, std::string>>;

// A parameterless node applying `f` to its one input.
Model pool_layer(const Model& x, std::function<Tensor(const Tensor&)> f, std::string name,
                 std::string op, Options shown, SourceLocation where) {
  return layer([f = std::move(f)](const LayerCall& c) { return LayerResult{f(c.input(0))}; }, {x},
               {.name = std::move(name), .op_name = std::move(op), .options = std::move(shown)},
               where);
}

void check_norm(const std::string& op, double norm) {
  if (!(norm > 0)) fail(op, "norm must be positive, got " + number_str(norm));
}

Options window_options(const fn::Sizes& kernel_size, const fn::Sizes& strides,
                       const nx::Padding& padding, const fn::Sizes& dilations,
                       fn::Channels channels) {
  return {{"kernel_size", sizes_str(kernel_size, "1")},
          {"strides", sizes_str(strides, "kernel_size")},
          {"padding", padding_str(padding)},
          {"dilations", sizes_str(dilations, "1")},
          {"channels", channels_str(channels)}};
}

Model window_pool(const Model& x, const std::string& op, PoolOptions opts,
                  Tensor (*pool)(const Tensor&, const fn::PoolOptions&),
                  SourceLocation where) {
  check_positive(op, "kernel_size", opts.kernel_size);
  check_positive(op, "strides", opts.strides);
  check_positive(op, "dilations", opts.dilations);
  const fn::PoolOptions fo{.kernel_size = opts.kernel_size,
                           .strides = opts.strides,
                           .padding = opts.padding,
                           .window_dilations = opts.dilations,
                           .channels = opts.channels};
  return pool_layer(
      x, [fo, pool](const Tensor& t) { return pool(t, fo); }, std::move(opts.name), op,
      window_options(opts.kernel_size, opts.strides, opts.padding, opts.dilations, opts.channels),
      where);
}

Model adaptive_pool(const Model& x, const std::string& op, AdaptivePoolOptions opts,
                    Tensor (*pool)(const Tensor&, const fn::AdaptivePoolOptions&),
                    SourceLocation where) {
  check_positive(op, "output_size", opts.output_size);
  const fn::AdaptivePoolOptions fo{.output_size = opts.output_size, .channels = opts.channels};
  return pool_layer(
      x, [fo, pool](const Tensor& t) { return pool(t, fo); }, std::move(opts.name), op,
      {{"output_size", sizes_str(opts.output_size, "input")},
       {"channels", channels_str(opts.channels)}},
      where);
}

Model global_pool(const Model& x, const std::string& op, GlobalPoolOptions opts,
                  Tensor (*pool)(const Tensor&, const fn::GlobalPoolOptions&),
                  SourceLocation where) {
  const fn::GlobalPoolOptions fo{.keep_axes = opts.keep_axes, .channels = opts.channels};
  return pool_layer(
      x, [fo, pool](const Tensor& t) { return pool(t, fo); }, std::move(opts.name), op,
      {{"keep_axes", bool_str(opts.keep_axes)}, {"channels", channels_str(opts.channels)}}, where);
}

}  // namespace

Model max_pool(const Model& x, PoolOptions opts, SourceLocation where) {
  return window_pool(x, "max_pool", std::move(opts), &fn::max_pool, where);
}

Model avg_pool(const Model& x, PoolOptions opts, SourceLocation where) {
  return window_pool(x, "avg_pool", std::move(opts), &fn::avg_pool, where);
}

Model lp_pool(const Model& x, LpPoolOptions opts, SourceLocation where) {
  check_positive("lp_pool", "kernel_size", opts.kernel_size);
  check_positive("lp_pool", "strides", opts.strides);
  check_positive("lp_pool", "dilations", opts.dilations);
  check_norm("lp_pool", opts.norm);
  const fn::LpPoolOptions fo{.kernel_size = opts.kernel_size,
                             .strides = opts.strides,
                             .padding = opts.padding,
                             .window_dilations = opts.dilations,
                             .channels = opts.channels,
                             .norm = opts.norm};
  Options shown =
      window_options(opts.kernel_size, opts.strides, opts.padding, opts.dilations, opts.channels);
  shown.emplace_back("norm", number_str(opts.norm));
  return pool_layer(
      x, [fo](const Tensor& t) { return fn::lp_pool(t, fo); }, std::move(opts.name), "lp_pool",
      std::move(shown), where);
}

Model adaptive_avg_pool(const Model& x, AdaptivePoolOptions opts, SourceLocation where) {
  return adaptive_pool(x, "adaptive_avg_pool", std::move(opts), &fn::adaptive_avg_pool, where);
}

Model adaptive_max_pool(const Model& x, AdaptivePoolOptions opts, SourceLocation where) {
  return adaptive_pool(x, "adaptive_max_pool", std::move(opts), &fn::adaptive_max_pool, where);
}

Model adaptive_lp_pool(const Model& x, AdaptiveLpPoolOptions opts, SourceLocation where) {
  check_positive("adaptive_lp_pool", "output_size", opts.output_size);
  check_norm("adaptive_lp_pool", opts.norm);
  const fn::AdaptiveLpPoolOptions fo{
      .output_size = opts.output_size, .channels = opts.channels, .norm = opts.norm};
  return pool_layer(
      x, [fo](const Tensor& t) { return fn::adaptive_lp_pool(t, fo); }, std::move(opts.name),
      "adaptive_lp_pool",
      {{"output_size", sizes_str(opts.output_size, "input")},
       {"channels", channels_str(opts.channels)},
       {"norm", number_str(opts.norm)}},
      where);
}

Model global_avg_pool(const Model& x, GlobalPoolOptions opts, SourceLocation where) {
  return global_pool(x, "global_avg_pool", std::move(opts), &fn::global_avg_pool, where);
}

Model global_max_pool(const Model& x, GlobalPoolOptions opts, SourceLocation where) {
  return global_pool(x, "global_max_pool", std::move(opts), &fn::global_max_pool, where);
}

Model global_lp_pool(const Model& x, GlobalLpPoolOptions opts, SourceLocation where) {
  check_norm("global_lp_pool", opts.norm);
  const fn::GlobalLpPoolOptions fo{
      .keep_axes = opts.keep_axes, .channels = opts.channels, .norm = opts.norm};
  return pool_layer(
      x, [fo](const Tensor& t) { return fn::global_lp_pool(t, fo); }, std::move(opts.name),
      "global_lp_pool",
      {{"keep_axes", bool_str(opts.keep_axes)},
       {"channels", channels_str(opts.channels)},
       {"norm", number_str(opts.norm)}},
      where);
}

Model blur_pool(const Model& x, BlurPoolOptions opts, SourceLocation where) {
  const fn::BlurPoolOptions fo{.channels = opts.channels};
  return pool_layer(
      x, [fo](const Tensor& t) { return fn::blur_pool(t, fo); }, std::move(opts.name), "blur_pool",
      {{"channels", channels_str(opts.channels)}}, where);
}

}  // namespace axon
