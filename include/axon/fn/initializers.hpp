// axon::fn::init: Axon.Initializers, functions that make a parameter's initial value from its
// shape, dtype and a random key.
//
//   namespace init = axon::fn::init;
//   nx::Tensor key = nx::random::key(42);
//   init::Initializer w_init = init::glorot_uniform();           // Axon's default kernel init
//   nx::Tensor w = w_init({784, 128}, nx::f32, key);              // U(-limit, limit)
//   nx::Tensor b = init::zeros()({128}, nx::f32, key);           // the key is not used
//   nx::Tensor k = init::he_normal({.scale = 2.0})({3, 3, 16, 32}, nx::f32, key);
//   nx::Tensor q = init::orthogonal()({64, 64}, nx::f32, key);   // q^T q = I
//   init::Initializer by_name = init::initializer("lecun_normal");
//
// Random initializers use the key exactly as stated on each one below and nothing else, so the
// same key gives the same values on every backend, and they equal Axon's (Nx.Random's *_split
// functions use the key directly, as these do). Being compositions of nx ops they also trace
// under nx::jit (with a traced key). Keys are u32[2] (nx::random::key). Non-random initializers
// ignore the key, which may then be an empty Tensor.
//
// Fans (fans()): for a kernel of shape [...receptive field..., in, out]: rank 0: (1, 1);
// rank 1: (n, n); rank 2: (s0, s1); rank >= 3: (s[-2] * rf, s[-1] * rf) where rf is the
// product of the leading axes. variance_scaling draws with variance
// var = scale / max(denominator, 1), denominator = fan_in, fan_out or (fan_in + fan_out) / 2.
//
// Bad input throws nx::Error naming the initializer: an integer (or pred) dtype for a random
// initializer, rank < 2 for orthogonal, anything but a square rank-2 shape for identity, an
// unknown name for initializer().
#pragma once

#include <functional>
#include <string_view>
#include <utility>

#include "axon/fn/common.hpp"
#include "nx/dtype.hpp"
#include "nx/shape.hpp"

namespace axon::fn::init {

/// An initializer: (shape, dtype, key) -> a tensor of that shape and dtype.
using Initializer =
    std::function<Tensor(const nx::Shape& shape, nx::DType dtype, const Tensor& key)>;

/// Options of uniform.
struct UniformOptions {
  double scale = 0.01;  ///< half-width: samples in [-scale, scale)
};
/// Options of normal.
struct NormalOptions {
  double mean = 0.0;    ///< the distribution's mean
  double scale = 0.01;  ///< its standard deviation
};
/// Options of the lecun_* and glorot_* initializers.
struct ScaleOptions {
  double scale = 1.0;  ///< the variance-scaling factor
};
/// Options of he_uniform and he_normal (Axon's default scale is 2).
struct HeOptions {
  double scale = 2.0;  ///< the variance-scaling factor
};

/// Which fan divides the variance in variance_scaling.
enum class FanMode { FanIn, FanOut, FanAvg };
/// The distribution of variance_scaling and orthogonal.
enum class Distribution { Normal, Uniform, TruncatedNormal };

/// Options of variance_scaling.
struct VarianceScalingOptions {
  double scale = 1.0;                                ///< variance = scale / max(fan, 1)
  FanMode mode = FanMode::FanIn;                     ///< fan_in, fan_out or their average
  Distribution distribution = Distribution::Normal;  ///< how values are drawn
};
/// Options of orthogonal.
struct OrthogonalOptions {
  Distribution distribution = Distribution::Normal;  ///< Normal or Uniform (of the matrix QR'd)
};

/// (fan_in, fan_out) of a kernel shape, by the rules in the header comment.
std::pair<double, double> fans(const nx::Shape& shape);

/// All zeros.
Initializer zeros();
/// All ones.
Initializer ones();
/// Every element `value` (converted to the dtype).
Initializer full(double value);
/// The identity matrix (nx::eye); the shape must be square and rank 2.
Initializer identity();

/// nx::random::uniform(key, shape, {-scale, scale, dtype}).
Initializer uniform(const UniformOptions& opts = {});
/// nx::random::normal(key, shape, {mean, scale, dtype}).
Initializer normal(const NormalOptions& opts = {});

/// By distribution, with var as in the header comment:
///  - Normal: nx::random::normal(key, shape, {0, sqrt(var), dtype});
///  - Uniform: nx::random::uniform(key, shape, {-sqrt(3 var), sqrt(3 var), dtype});
///  - TruncatedNormal: nx::random::truncated_normal(key, -2, 2, shape, dtype)
///    * (sqrt(var) / 0.87962566103423978), the constant being the standard deviation of a
///    standard normal truncated to [-2, 2], so the result has variance var.
Initializer variance_scaling(const VarianceScalingOptions& opts = {});

/// variance_scaling({scale, FanIn, Uniform}).
Initializer lecun_uniform(const ScaleOptions& opts = {});
/// variance_scaling({scale, FanIn, TruncatedNormal}).
Initializer lecun_normal(const ScaleOptions& opts = {});
/// variance_scaling({scale, FanAvg, Uniform}).
Initializer glorot_uniform(const ScaleOptions& opts = {});
/// variance_scaling({scale, FanAvg, TruncatedNormal}).
Initializer glorot_normal(const ScaleOptions& opts = {});
/// variance_scaling({scale, FanIn, Uniform}), scale 2 by default.
Initializer he_uniform(const HeOptions& opts = {});
/// variance_scaling({scale, FanIn, TruncatedNormal}), scale 2 by default.
Initializer he_normal(const HeOptions& opts = {});

/// A matrix with orthonormal columns (rows when wide), reshaped. With m = product of all axes
/// but the last and n = the last axis: when m >= n (Axon's), draws A = nx::random::normal(key,
/// {m, n}, {0, 1, dtype}) (Normal) or nx::random::uniform(key, {m, n}, {0, 1, dtype}) (Uniform)
/// and returns Q[0:m, 0:n] of nx::qr(A, complete = true), reshaped to the shape. When m < n
/// (where Axon's slice fails), draws A of shape {n, m} the same way and returns the transpose of
/// its Q[0:n, 0:m]. Requires rank >= 2.
Initializer orthogonal(const OrthogonalOptions& opts = {});

/// The initializer named by Axon's atom, with default options: zeros, ones, uniform, normal,
/// identity, lecun_uniform, lecun_normal, glorot_uniform, glorot_normal, he_uniform, he_normal,
/// variance_scaling. (Axon accepts neither orthogonal nor full by name; neither does this.)
Initializer initializer(std::string_view name);

}  // namespace axon::fn::init
