// Normalisation layers: batch, instance, layer, group and RMS normalisation as compositions of
// nx ops (Axon.Layers' normalisation section), with PyTorch's running-statistics update.
#include "axon/fn/normalization.hpp"

#include <string>
#include <string_view>

#include "axon/fn/check.hpp"
#include "nx/dtype.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn {
namespace {

using detail::describe;
using detail::fail;

// Where the channels of x are, and the shape that makes a per-channel vector broadcast over x.
struct ChannelLayout {
  int64_t axis = 0;
  int64_t channels = 0;
  nx::Shape param_shape;
};

ChannelLayout channel_layout(std::string_view fn, const Tensor& x, int64_t channel_index) {
  ChannelLayout c;
  c.axis = detail::normalize_axis(fn, "channel_index", channel_index, x.rank());
  c.channels = x.shape()[static_cast<size_t>(c.axis)];
  c.param_shape = nx::Shape(static_cast<size_t>(x.rank()), 1);
  c.param_shape[static_cast<size_t>(c.axis)] = c.channels;
  return c;
}

// Checks a per-channel parameter (a float vector of C values) and reshapes it to broadcast.
Tensor channel_param(std::string_view fn, std::string_view name, const Tensor& p,
                     const ChannelLayout& c) {
  detail::check_float(fn, name, p);
  if (p.rank() != 1 || p.shape()[0] != c.channels) {
    fail(fn, std::string(name) + " must be a vector of " + std::to_string(c.channels) +
                 " values (the size of channel axis " + std::to_string(c.axis) + "), got " +
                 describe(p));
  }
  return nx::reshape(p, c.param_shape);
}

// Every axis of a rank-`rank` tensor except those in `keep`.
nx::Axes axes_except(int64_t rank, std::initializer_list<int64_t> keep) {
  nx::Axes axes;
  for (int64_t a = 0; a < rank; ++a) {
    if (std::find(keep.begin(), keep.end(), a) == keep.end()) axes.push_back(a);
  }
  return axes;
}

// The elements each statistic over `axes` of x averages.
int64_t count_over(const Tensor& x, const nx::Axes& axes) {
  int64_t n = 1;
  for (int64_t a : axes) n *= x.shape()[static_cast<size_t>(a)];
  return n;
}

// Mean and biased variance over `axes`, kept as size-1 axes (Axon.Shared.mean_and_variance).
struct Moments {
  Tensor mean;
  Tensor var;
};

Moments moments(const Tensor& x, const nx::Axes& axes) {
  Tensor mu = nx::mean(x, {.axes = axes, .keep_axes = true});
  Tensor centered = x - mu;
  return {mu, nx::mean(centered * centered, {.axes = axes, .keep_axes = true})};
}

// gamma * (x - mean) / sqrt(var + epsilon) + beta (Axon.Shared.normalize).
Tensor normalize(const Tensor& x, const Tensor& mean, const Tensor& var, const Tensor& gamma,
                 const Tensor& beta, double epsilon) {
  Tensor scale = gamma * nx::rsqrt(var + epsilon);
  return (x - mean) * scale + beta;
}

// The same for statistics per channel (or per sample and channel), folded as PyTorch's CPU batch
// norm does: x * scale + (beta - mean * scale), with scale and shift computed once per channel. The
// output then reads x alone, and the backward pass sums fewer full-size values (see the bench notes
// in docs/axon-fn-normalization.md).
Tensor normalize_per_channel(const Tensor& x, const Tensor& mean, const Tensor& var,
                             const Tensor& gamma, const Tensor& beta, double epsilon) {
  Tensor scale = gamma * nx::rsqrt(var + epsilon);
  return x * scale + (beta - mean * scale);
}

// PyTorch's running average: (1 - momentum) * old + momentum * batch.
Tensor running_average(const Tensor& old, const Tensor& batch, double momentum) {
  return old * (1.0 - momentum) + batch * momentum;
}

struct StatefulArgs {
  std::string_view fn;
  ChannelLayout layout;
  Tensor gamma, beta, mean, var;
};

StatefulArgs stateful_args(std::string_view fn, const Tensor& x, const Tensor& gamma,
                           const Tensor& beta, const Tensor& mean, const Tensor& var,
                           const BatchNormOptions& opts, int64_t min_rank) {
  detail::check_float(fn, "input", x);
  detail::check_min_rank(fn, "input", x, min_rank);
  StatefulArgs a{fn, channel_layout(fn, x, opts.channel_index), {}, {}, {}, {}};
  a.gamma = channel_param(fn, "gamma", gamma, a.layout);
  a.beta = channel_param(fn, "beta", beta, a.layout);
  a.mean = channel_param(fn, "mean", mean, a.layout);
  a.var = channel_param(fn, "var", var, a.layout);
  return a;
}

void check_training_count(std::string_view fn, const Tensor& x, int64_t n) {
  // The running variance uses the unbiased batch variance, which needs two values or more.
  if (n < 2) {
    fail(fn,
         "Train mode needs more than 1 value per channel to compute the unbiased batch "
         "variance, got input " +
             describe(x));
  }
}

}  // namespace

StatefulOutput batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                          const Tensor& mean, const Tensor& var, const BatchNormOptions& opts) {
  StatefulArgs a = stateful_args("batch_norm", x, gamma, beta, mean, var, opts, 2);
  if (opts.mode == Mode::Inference) {
    return {normalize_per_channel(x, a.mean, a.var, a.gamma, a.beta, opts.epsilon), nx::Tree()};
  }
  const nx::Axes axes = axes_except(x.rank(), {a.layout.axis});
  const int64_t n = count_over(x, axes);
  check_training_count(a.fn, x, n);
  Moments m = moments(x, axes);
  Tensor out = normalize_per_channel(x, m.mean, m.var, a.gamma, a.beta, opts.epsilon);
  const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
  Tensor batch_mean = nx::reshape(m.mean, mean.shape());
  Tensor batch_var = nx::reshape(m.var, var.shape()) * unbias;
  return {out, nx::Tree{{"mean", running_average(mean, batch_mean, opts.momentum)},
                        {"var", running_average(var, batch_var, opts.momentum)}}};
}

StatefulOutput instance_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                             const Tensor& mean, const Tensor& var,
                             const InstanceNormOptions& opts) {
  StatefulArgs a = stateful_args("instance_norm", x, gamma, beta, mean, var, opts, 3);
  if (a.layout.axis == 0) fail(a.fn, "channel_index must not be the batch axis 0");
  if (opts.mode == Mode::Inference) {
    return {normalize_per_channel(x, a.mean, a.var, a.gamma, a.beta, opts.epsilon), nx::Tree()};
  }
  const nx::Axes axes = axes_except(x.rank(), {0, a.layout.axis});
  const int64_t n = count_over(x, axes);
  check_training_count(a.fn, x, n);
  Moments m = moments(x, axes);
  Tensor out = normalize_per_channel(x, m.mean, m.var, a.gamma, a.beta, opts.epsilon);
  // PyTorch averages the per-instance statistics over the batch before the running update.
  const double unbias = static_cast<double>(n) / static_cast<double>(n - 1);
  Tensor batch_mean =
      nx::reshape(nx::mean(m.mean, {.axes = axes_except(x.rank(), {a.layout.axis})}), mean.shape());
  Tensor batch_var =
      nx::reshape(nx::mean(m.var, {.axes = axes_except(x.rank(), {a.layout.axis})}), var.shape()) *
      unbias;
  return {out, nx::Tree{{"mean", running_average(mean, batch_mean, opts.momentum)},
                        {"var", running_average(var, batch_var, opts.momentum)}}};
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const LayerNormOptions& opts) {
  constexpr std::string_view fn = "layer_norm";
  detail::check_float(fn, "input", x);
  detail::check_min_rank(fn, "input", x, 1);
  ChannelLayout c = channel_layout(fn, x, opts.channel_index);
  Tensor g = channel_param(fn, "gamma", gamma, c);
  Tensor b = channel_param(fn, "beta", beta, c);
  Moments m = moments(x, {c.axis});
  return normalize(x, m.mean, m.var, g, b, opts.epsilon);
}

Tensor group_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  const GroupNormOptions& opts) {
  constexpr std::string_view fn = "group_norm";
  detail::check_float(fn, "input", x);
  detail::check_min_rank(fn, "input", x, 2);
  ChannelLayout c = channel_layout(fn, x, opts.channel_index);
  if (c.axis == 0) fail(fn, "channel_index must not be the batch axis 0");
  if (opts.num_groups <= 0 || c.channels % opts.num_groups != 0) {
    fail(fn, "num_groups must be positive and divide the " + std::to_string(c.channels) +
                 " channels, got " + std::to_string(opts.num_groups));
  }
  Tensor g = channel_param(fn, "gamma", gamma, c);
  Tensor b = channel_param(fn, "beta", beta, c);
  // [..., C, ...] -> [..., G, C/G, ...]; each (sample, group) is normalised over the rest.
  nx::Shape grouped = x.shape();
  grouped[static_cast<size_t>(c.axis)] = opts.num_groups;
  grouped.insert(grouped.begin() + c.axis + 1, c.channels / opts.num_groups);
  Tensor xg = nx::reshape(x, grouped);
  Moments m = moments(xg, axes_except(xg.rank(), {0, c.axis}));
  Tensor normed = nx::reshape((xg - m.mean) * nx::rsqrt(m.var + opts.epsilon), x.shape());
  return normed * g + b;
}

Tensor rms_norm(const Tensor& x, const Tensor& gamma, const RmsNormOptions& opts) {
  constexpr std::string_view fn = "rms_norm";
  detail::check_float(fn, "input", x);
  detail::check_min_rank(fn, "input", x, 1);
  ChannelLayout c = channel_layout(fn, x, opts.channel_index);
  Tensor g = channel_param(fn, "gamma", gamma, c);
  auto rms_normalize = [&](const Tensor& v) {
    Tensor ms = nx::mean(v * v, {.axes = nx::Axes{c.axis}, .keep_axes = true});
    return v * nx::rsqrt(ms + opts.epsilon);
  };
  if (opts.upcast == RmsUpcast::All) {
    return rms_normalize(nx::as_type(x, nx::f32)) * (nx::as_type(g, nx::f32) + opts.shift);
  }
  Tensor normed = nx::as_type(rms_normalize(nx::as_type(x, nx::f32)), x.dtype());
  return normed * (g + opts.shift);
}

}  // namespace axon::fn
