// Axon.Initializers: constant, random and variance-scaling initializers, orthogonal, and lookup
// by Axon's atom names.
#include "axon/fn/initializers.hpp"

#include <array>
#include <cmath>
#include <string>

#include "axon/fn/check.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace axon::fn::init {

namespace {

/// The standard deviation of a standard normal truncated to [-2, 2].
constexpr double kTruncatedStd = 0.87962566103423978;

void check_random_dtype(std::string_view fn, nx::DType dtype) {
  if (!nx::is_float(dtype)) {
    detail::fail(fn, "dtype must be floating point, got " + std::string(nx::dtype_name(dtype)));
  }
}

void check_key(std::string_view fn, const Tensor& key) {
  if (!key.defined()) detail::fail(fn, "a random key is required, got an empty tensor");
  if (key.dtype() != nx::u32 || key.shape() != nx::Shape{2}) {
    detail::fail(fn, "key must be u32[2] (nx::random::key), got " + detail::describe(key));
  }
}

int64_t product(const nx::Shape& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= shape[i];
  return p;
}

}  // namespace

std::pair<double, double> fans(const nx::Shape& shape) {
  const size_t rank = shape.size();
  if (rank == 0) return {1.0, 1.0};
  if (rank == 1) return {double(shape[0]), double(shape[0])};
  if (rank == 2) return {double(shape[0]), double(shape[1])};
  // Axon's size / in / out, computed without dividing (so zero-sized axes are fine).
  const double rf = double(product(shape, 0, rank - 2));
  return {double(shape[rank - 2]) * rf, double(shape[rank - 1]) * rf};
}

Initializer zeros() {
  return [](const nx::Shape& shape, nx::DType dtype, const Tensor&) {
    return nx::zeros(shape, dtype);
  };
}

Initializer ones() {
  return
      [](const nx::Shape& shape, nx::DType dtype, const Tensor&) { return nx::ones(shape, dtype); };
}

Initializer full(double value) {
  return [value](const nx::Shape& shape, nx::DType dtype, const Tensor&) {
    return nx::full(shape, value, dtype);
  };
}

Initializer identity() {
  return [](const nx::Shape& shape, nx::DType dtype, const Tensor&) {
    if (shape.size() != 2 || shape[0] != shape[1]) {
      detail::fail("init::identity",
                   "shape must be square and rank 2, got " + nx::shape_repr(shape));
    }
    return nx::eye(shape[0], dtype);
  };
}

Initializer uniform(const UniformOptions& opts) {
  return [opts](const nx::Shape& shape, nx::DType dtype, const Tensor& key) {
    check_random_dtype("init::uniform", dtype);
    check_key("init::uniform", key);
    return nx::random::uniform(key, shape, {.min = -opts.scale, .max = opts.scale, .dtype = dtype});
  };
}

Initializer normal(const NormalOptions& opts) {
  return [opts](const nx::Shape& shape, nx::DType dtype, const Tensor& key) {
    check_random_dtype("init::normal", dtype);
    check_key("init::normal", key);
    return nx::random::normal(key, shape, {.mean = opts.mean, .std = opts.scale, .dtype = dtype});
  };
}

Initializer variance_scaling(const VarianceScalingOptions& opts) {
  return [opts](const nx::Shape& shape, nx::DType dtype, const Tensor& key) {
    check_random_dtype("init::variance_scaling", dtype);
    check_key("init::variance_scaling", key);
    auto [fan_in, fan_out] = fans(shape);
    double denominator = opts.mode == FanMode::FanIn    ? fan_in
                         : opts.mode == FanMode::FanOut ? fan_out
                                                        : (fan_in + fan_out) / 2.0;
    const double var = opts.scale / std::max(denominator, 1.0);
    switch (opts.distribution) {
      case Distribution::Normal:
        return nx::random::normal(key, shape, {.mean = 0.0, .std = std::sqrt(var), .dtype = dtype});
      case Distribution::Uniform: {
        const double limit = std::sqrt(3.0 * var);
        return nx::random::uniform(key, shape, {.min = -limit, .max = limit, .dtype = dtype});
      }
      case Distribution::TruncatedNormal:
        break;
    }
    const double sigma = std::sqrt(var) / kTruncatedStd;
    return nx::multiply(nx::random::truncated_normal(key, -2.0, 2.0, shape, dtype),
                        nx::scalar(sigma, dtype));
  };
}

Initializer lecun_uniform(const ScaleOptions& opts) {
  return variance_scaling({opts.scale, FanMode::FanIn, Distribution::Uniform});
}

Initializer lecun_normal(const ScaleOptions& opts) {
  return variance_scaling({opts.scale, FanMode::FanIn, Distribution::TruncatedNormal});
}

Initializer glorot_uniform(const ScaleOptions& opts) {
  return variance_scaling({opts.scale, FanMode::FanAvg, Distribution::Uniform});
}

Initializer glorot_normal(const ScaleOptions& opts) {
  return variance_scaling({opts.scale, FanMode::FanAvg, Distribution::TruncatedNormal});
}

Initializer he_uniform(const HeOptions& opts) {
  return variance_scaling({opts.scale, FanMode::FanIn, Distribution::Uniform});
}

Initializer he_normal(const HeOptions& opts) {
  return variance_scaling({opts.scale, FanMode::FanIn, Distribution::TruncatedNormal});
}

Initializer orthogonal(const OrthogonalOptions& opts) {
  if (opts.distribution == Distribution::TruncatedNormal) {
    detail::fail("init::orthogonal", "distribution must be Normal or Uniform, got TruncatedNormal");
  }
  return [opts](const nx::Shape& shape, nx::DType dtype, const Tensor& key) {
    check_random_dtype("init::orthogonal", dtype);
    check_key("init::orthogonal", key);
    if (shape.size() < 2) {
      detail::fail("init::orthogonal", "shape must have rank >= 2, got " + nx::shape_repr(shape));
    }
    const int64_t m = product(shape, 0, shape.size() - 1), n = shape.back();
    // Tall (or square) as Axon; wide by transposing a tall draw, where Axon's slice fails.
    const bool wide = m < n;
    const nx::Shape flat = wide ? nx::Shape{n, m} : nx::Shape{m, n};
    Tensor a = opts.distribution == Distribution::Normal
                   ? nx::random::normal(key, flat, {.mean = 0.0, .std = 1.0, .dtype = dtype})
                   : nx::random::uniform(key, flat, {.min = 0.0, .max = 1.0, .dtype = dtype});
    // QR in at least single precision.
    const bool narrow = dtype != nx::f32 && dtype != nx::f64;
    if (narrow) a = nx::as_type(a, nx::f32);
    Tensor q = nx::qr(a, /*complete=*/true).first;
    q = nx::slice(q, {0, 0}, {flat[0], flat[1]});
    if (wide) q = nx::transpose(q);
    if (narrow) q = nx::as_type(q, dtype);
    return nx::reshape(q, shape);
  };
}

namespace {

struct Named {
  std::string_view name;
  Initializer (*make)();
};

constexpr std::array<Named, 12> kInitializers{{
    {"zeros", [] { return zeros(); }},
    {"ones", [] { return ones(); }},
    {"uniform", [] { return uniform(); }},
    {"normal", [] { return normal(); }},
    {"identity", [] { return identity(); }},
    {"lecun_uniform", [] { return lecun_uniform(); }},
    {"lecun_normal", [] { return lecun_normal(); }},
    {"glorot_uniform", [] { return glorot_uniform(); }},
    {"glorot_normal", [] { return glorot_normal(); }},
    {"he_uniform", [] { return he_uniform(); }},
    {"he_normal", [] { return he_normal(); }},
    {"variance_scaling", [] { return variance_scaling(); }},
}};

}  // namespace

Initializer initializer(std::string_view name) {
  for (const Named& i : kInitializers) {
    if (i.name == name) return i.make();
  }
  std::string valid;
  for (const Named& i : kInitializers) valid += (valid.empty() ? "" : ", ") + std::string(i.name);
  detail::fail("init::initializer",
               "unknown initializer \"" + std::string(name) + "\", expected one of: " + valid);
}

}  // namespace axon::fn::init
