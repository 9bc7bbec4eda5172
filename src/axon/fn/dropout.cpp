// Dropout layers: a Bernoulli keep-mask drawn as Axon draws it (Nx.Random.uniform on the key)
// and the four ways Axon applies it.
#include "axon/fn/dropout.hpp"

#include <string>
#include <string_view>

#include "axon/fn/activations.hpp"
#include "axon/fn/check.hpp"
#include "nx/dtype.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace axon::fn {
namespace {

using detail::describe;
using detail::fail;

void check_common(std::string_view fn, const Tensor& x, double rate) {
  detail::check_float(fn, "input", x);
  if (!(rate >= 0.0 && rate < 1.0)) {
    fail(fn, "rate must be in [0, 1), got " + std::to_string(rate));
  }
}

void check_key(std::string_view fn, const Tensor& key) {
  if (key.dtype() != nx::u32 || key.shape() != nx::Shape{2}) {
    fail(fn, "key must be a u32[2] random key (nx::random::key), got " + describe(key));
  }
}

// noise_shape must broadcast to x's shape (aligned from the last axis, as Nx.broadcast).
void check_noise_shape(std::string_view fn, const Tensor& x, const nx::Shape& noise) {
  bool ok = noise.size() <= x.shape().size();
  for (size_t i = 0; ok && i < noise.size(); ++i) {
    const int64_t n = noise[noise.size() - 1 - i];
    const int64_t d = x.shape()[x.shape().size() - 1 - i];
    ok = n == d || n == 1;
  }
  if (!ok) {
    fail(fn,
         "noise_shape " + nx::shape_repr(noise) + " does not broadcast to input " + describe(x));
  }
}

// What every dropout draws: the keep-mask broadcast to x, 1 - rate in x's type, the new key.
struct Draw {
  Tensor keep;
  Tensor keep_prob;
  Tensor new_key;
};

// Nx.Random.uniform(key, 0, 1, shape: noise_shape, type: x's type): split the key, draw with
// the second half, return the first as the new key.
Draw draw(const Tensor& x, const Tensor& key, const nx::Shape& noise_shape, double rate) {
  Tensor keys = nx::random::split(key);
  Tensor u = nx::random::uniform(nx::take(keys, 1), noise_shape, {.dtype = x.dtype()});
  // 1 - rate in x's type, rounded as Axon rounds it (rate converted first).
  Tensor keep_prob = nx::scalar(1.0, x.dtype()) - nx::scalar(rate, x.dtype());
  return {nx::broadcast(nx::less(u, keep_prob), x.shape()), keep_prob, nx::take(keys, 0)};
}

// The noise shape of spatial and feature alpha dropout: batch and channel axes kept, the
// spatial axes 1, so that whole feature maps are dropped.
nx::Shape channel_noise_shape(const Tensor& x, Channels channels) {
  nx::Shape noise(x.shape().size(), 1);
  const size_t c = static_cast<size_t>(detail::channel_axis(channels, x.rank()));
  noise[0] = x.shape()[0];
  noise[c] = x.shape()[c];
  return noise;
}

StatefulOutput identity(const Tensor& x) {
  return {x, nx::Tree()};
}

}  // namespace

StatefulOutput dropout(const Tensor& x, const Tensor& key, const DropoutOptions& opts) {
  constexpr std::string_view fn = "dropout";
  check_common(fn, x, opts.rate);
  const nx::Shape noise = opts.noise_shape.value_or(x.shape());
  check_noise_shape(fn, x, noise);
  if (opts.mode == Mode::Inference) return identity(x);
  check_key(fn, key);
  Draw d = draw(x, key, noise, opts.rate);
  Tensor out = nx::select(d.keep, x / d.keep_prob, nx::scalar(0.0, x.dtype()));
  return {out, nx::Tree{{"key", d.new_key}}};
}

StatefulOutput spatial_dropout(const Tensor& x, const Tensor& key,
                               const SpatialDropoutOptions& opts) {
  constexpr std::string_view fn = "spatial_dropout";
  check_common(fn, x, opts.rate);
  detail::check_min_rank(fn, "input", x, 3);
  if (opts.mode == Mode::Inference) return identity(x);
  check_key(fn, key);
  return dropout(
      x, key,
      {.rate = opts.rate, .noise_shape = channel_noise_shape(x, opts.channels), .mode = opts.mode});
}

StatefulOutput alpha_dropout(const Tensor& x, const Tensor& key, const AlphaDropoutOptions& opts) {
  constexpr std::string_view fn = "alpha_dropout";
  check_common(fn, x, opts.rate);
  if (opts.mode == Mode::Inference) return identity(x);
  check_key(fn, key);
  Draw d = draw(x, key, x.shape(), opts.rate);
  const nx::DType t = x.dtype();
  Tensor alpha_p = -nx::scalar(1.6732632423543772848170429916717, t) *
                   nx::scalar(1.0507009873554804934193349852946, t);
  // Axon's a: 1 / sqrt(keep * alpha'^2), not the paper's 1 / sqrt(keep * (1 + rate * alpha'^2)).
  Tensor a = nx::rsqrt(d.keep_prob * (alpha_p * alpha_p));
  Tensor b = -a * alpha_p * nx::scalar(opts.rate, t);
  Tensor out = a * nx::select(d.keep, x, nx::broadcast(alpha_p, x.shape())) + b;
  return {out, nx::Tree{{"key", d.new_key}}};
}

StatefulOutput feature_alpha_dropout(const Tensor& x, const Tensor& key,
                                     const FeatureAlphaDropoutOptions& opts) {
  constexpr std::string_view fn = "feature_alpha_dropout";
  check_common(fn, x, opts.rate);
  detail::check_min_rank(fn, "input", x, 3);
  if (opts.mode == Mode::Inference) return identity(x);
  check_key(fn, key);
  Draw d = draw(x, key, channel_noise_shape(x, opts.channels), opts.rate);
  Tensor out = nx::select(d.keep, x / d.keep_prob, -selu(x));
  return {out, nx::Tree{{"key", d.new_key}}};
}

}  // namespace axon::fn
