// Normalisation layer builders: per-channel parameters sized from the input's channel axis; the
// computation (and the running-statistics update of batch and instance norm) is axon::fn's.
#include "axon/layers/normalization.hpp"

#include <utility>
#include <vector>

#include "spatial_options.hpp"

namespace axon {

namespace {

using layers_detail::fail;
using layers_detail::number_str;

using Options = std::vector<std::pair<std::string, std::string>>;

// {C}: the size of axis channel_index of input 0, which needs rank >= min_rank.
ShapeRule channel_vector(std::string op, int64_t channel_index, int64_t min_rank) {
  return [op = std::move(op), channel_index, min_rank](const std::vector<nx::Shape>& s) {
    const nx::Shape& in = s.at(0);
    const auto rank = static_cast<int64_t>(in.size());
    if (rank < min_rank) {
      fail(op, "input must have rank >= " + std::to_string(min_rank) + ", got shape " +
                   nx::shape_repr(in));
    }
    if (channel_index < -rank || channel_index >= rank) {
      fail(op, "channel_index " + std::to_string(channel_index) +
                   " is out of range for an input of shape " + nx::shape_repr(in));
    }
    return nx::Shape{
        in[static_cast<size_t>(channel_index < 0 ? channel_index + rank : channel_index)]};
  };
}

Options stat_options(const BatchNormOptions& o) {
  return {{"channel_index", std::to_string(o.channel_index)},
          {"epsilon", number_str(o.epsilon)},
          {"momentum", number_str(o.momentum)}};
}

// batch_norm and instance_norm: gamma, beta and the running statistics of kind State.
using StatNorm = fn::StatefulOutput (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                        const Tensor&, const fn::BatchNormOptions&);

Model stat_norm(const Model& x, const std::string& op, int64_t min_rank, BatchNormOptions opts,
                StatNorm norm, SourceLocation where) {
  ShapeRule c = channel_vector(op, opts.channel_index, min_rank);
  std::vector<Param> params{
      param("gamma", c, {.initializer = opts.gamma_initializer}),
      param("beta", c, {.initializer = opts.beta_initializer}),
      param("mean", c, {.initializer = fn::init::zeros(), .kind = ParamKind::State}),
      param("var", c, {.initializer = fn::init::ones(), .kind = ParamKind::State})};
  const fn::BatchNormOptions fo{
      .epsilon = opts.epsilon, .channel_index = opts.channel_index, .momentum = opts.momentum};
  Options shown = stat_options(opts);
  return layer(
      [fo, norm](const LayerCall& call) {
        fn::BatchNormOptions o = fo;
        o.mode = call.mode;
        fn::StatefulOutput r = norm(call.input(0), call.param("gamma"), call.param("beta"),
                                    call.param("mean"), call.param("var"), o);
        return LayerResult{r.output, call.mode == Mode::Train ? r.state : Tree()};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = op,
       .params = std::move(params),
       .options = std::move(shown)},
      where);
}

}  // namespace

Model batch_norm(const Model& x, BatchNormOptions opts, SourceLocation where) {
  return stat_norm(x, "batch_norm", 2, std::move(opts), &fn::batch_norm, where);
}

Model instance_norm(const Model& x, InstanceNormOptions opts, SourceLocation where) {
  return stat_norm(x, "instance_norm", 3, std::move(opts), &fn::instance_norm, where);
}

Model layer_norm(const Model& x, LayerNormOptions opts, SourceLocation where) {
  ShapeRule c = channel_vector("layer_norm", opts.channel_index, 1);
  const fn::LayerNormOptions fo{.epsilon = opts.epsilon, .channel_index = opts.channel_index};
  return layer(
      [fo](const LayerCall& call) {
        return LayerResult{
            fn::layer_norm(call.input(0), call.param("gamma"), call.param("beta"), fo)};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "layer_norm",
       .params = {param("gamma", c, {.initializer = opts.gamma_initializer}),
                  param("beta", c, {.initializer = opts.beta_initializer})},
       .options = {{"channel_index", std::to_string(opts.channel_index)},
                   {"epsilon", number_str(opts.epsilon)}}},
      where);
}

Model group_norm(const Model& x, int64_t num_groups, GroupNormOptions opts,
                 SourceLocation where) {
  if (num_groups <= 0) {
    fail("group_norm", "num_groups must be positive, got " + std::to_string(num_groups));
  }
  ShapeRule channels = channel_vector("group_norm", opts.channel_index, 2);
  // The channel count must split into the groups; checked where the shape is known.
  ShapeRule c = [channels, num_groups](const std::vector<nx::Shape>& s) {
    nx::Shape shape = channels(s);
    if (shape[0] % num_groups != 0) {
      fail("group_norm", "the channel count (" + std::to_string(shape[0]) +
                             ") must be divisible by num_groups (" + std::to_string(num_groups) +
                             ")");
    }
    return shape;
  };
  const fn::GroupNormOptions fo{
      .num_groups = num_groups, .epsilon = opts.epsilon, .channel_index = opts.channel_index};
  return layer(
      [fo](const LayerCall& call) {
        return LayerResult{
            fn::group_norm(call.input(0), call.param("gamma"), call.param("beta"), fo)};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "group_norm",
       .params = {param("gamma", c, {.initializer = opts.gamma_initializer}),
                  param("beta", c, {.initializer = opts.beta_initializer})},
       .options = {{"num_groups", std::to_string(num_groups)},
                   {"channel_index", std::to_string(opts.channel_index)},
                   {"epsilon", number_str(opts.epsilon)}}},
      where);
}

Model rms_norm(const Model& x, RmsNormOptions opts, SourceLocation where) {
  ShapeRule c = channel_vector("rms_norm", opts.channel_index, 1);
  const fn::RmsNormOptions fo{.epsilon = opts.epsilon,
                              .channel_index = opts.channel_index,
                              .shift = opts.shift,
                              .upcast = opts.upcast};
  return layer(
      [fo](const LayerCall& call) {
        return LayerResult{fn::rms_norm(call.input(0), call.param("gamma"), fo)};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "rms_norm",
       .params = {param("gamma", c, {.initializer = opts.gamma_initializer})},
       .options = {{"channel_index", std::to_string(opts.channel_index)},
                   {"epsilon", number_str(opts.epsilon)},
                   {"shift", number_str(opts.shift)},
                   {"upcast", opts.upcast == fn::RmsUpcast::All ? "all" : "normalization"}}},
      where);
}

}  // namespace axon
