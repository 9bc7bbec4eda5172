// axon::fn::init: exact equality with the documented nx::random draws, statistics on large
// shapes, orthogonality, fans against a NumPy transcription of Axon's (gen_initializers.py),
// determinism, tracing, lookup by name and bad input.
#include "axon/fn/initializers.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace {

namespace init = axon::fn::init;
using nx::Tensor;

constexpr double kTruncatedStd = 0.87962566103423978;

Tensor key42() {
  return nx::random::key(42);
}

/// Bit-for-bit equality (same dtype, shape and values).
void expect_identical(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(fn_test::values(a), fn_test::values(b)) << what;
}

template <class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing " << needle;
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

struct Stats {
  double mean, std, min, max;
};

Stats stats(const Tensor& t) {
  std::vector<double> v = fn_test::values(t);
  double sum = 0, sq = 0, lo = INFINITY, hi = -INFINITY;
  for (double x : v) {
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = sum / double(v.size());
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / double(v.size())), lo, hi};
}

TEST(AxonFnInitializers, ConstantInitializers) {
  expect_identical(init::zeros()({2, 3}, nx::f32, Tensor()), nx::zeros({2, 3}, nx::f32), "zeros");
  expect_identical(init::ones()({4}, nx::s32, Tensor()), nx::ones({4}, nx::s32), "ones");
  expect_identical(init::full(2.5)({2, 2}, nx::f64, Tensor()), nx::full({2, 2}, 2.5, nx::f64),
                   "full");
  expect_identical(init::identity()({3, 3}, nx::f32, Tensor()), nx::eye(3, nx::f32), "identity");
}

TEST(AxonFnInitializers, RandomEqualsDocumentedDraw) {
  const nx::Shape shape = {3, 4, 5};  // fan_in 12, fan_out 15, fan_avg 13.5
  Tensor k = key42();
  for (nx::DType dt : {nx::f32, nx::f64, nx::bf16}) {
    const std::string d(nx::dtype_name(dt));
    auto uniform = [&](double limit) {
      return nx::random::uniform(k, shape, {.min = -limit, .max = limit, .dtype = dt});
    };
    auto normal = [&](double mean, double std) {
      return nx::random::normal(k, shape, {.mean = mean, .std = std, .dtype = dt});
    };
    auto truncated = [&](double var) {
      return nx::multiply(nx::random::truncated_normal(k, -2.0, 2.0, shape, dt),
                          nx::scalar(std::sqrt(var) / kTruncatedStd, dt));
    };
    expect_identical(init::uniform()(shape, dt, k), uniform(0.01), "uniform " + d);
    expect_identical(init::uniform({.scale = 0.3})(shape, dt, k), uniform(0.3), "uniform " + d);
    expect_identical(init::normal()(shape, dt, k), normal(0.0, 0.01), "normal " + d);
    expect_identical(init::normal({.mean = 1.0, .scale = 2.0})(shape, dt, k), normal(1.0, 2.0),
                     "normal " + d);
    expect_identical(init::lecun_uniform()(shape, dt, k), uniform(std::sqrt(3.0 / 12)),
                     "lecun_uniform " + d);
    expect_identical(init::lecun_normal({.scale = 3.0})(shape, dt, k), truncated(3.0 / 12),
                     "lecun_normal " + d);
    expect_identical(init::glorot_uniform()(shape, dt, k), uniform(std::sqrt(3.0 / 13.5)),
                     "glorot_uniform " + d);
    expect_identical(init::glorot_normal()(shape, dt, k), truncated(1.0 / 13.5),
                     "glorot_normal " + d);
    expect_identical(init::he_uniform()(shape, dt, k), uniform(std::sqrt(3.0 * 2.0 / 12)),
                     "he_uniform " + d);
    expect_identical(init::he_normal()(shape, dt, k), truncated(2.0 / 12), "he_normal " + d);
    expect_identical(init::variance_scaling()(shape, dt, k), normal(0.0, std::sqrt(1.0 / 12)),
                     "variance_scaling " + d);
    expect_identical(
        init::variance_scaling({.scale = 0.5,
                                .mode = init::FanMode::FanOut,
                                .distribution = init::Distribution::Normal})(shape, dt, k),
        normal(0.0, std::sqrt(0.5 / 15)), "variance_scaling fan_out " + d);
    expect_identical(
        init::variance_scaling({.scale = 2.0,
                                .mode = init::FanMode::FanAvg,
                                .distribution = init::Distribution::TruncatedNormal})(shape, dt, k),
        truncated(2.0 / 13.5), "variance_scaling fan_avg truncated " + d);
  }
}

TEST(AxonFnInitializers, StatisticsOnLargeShapes) {
  const nx::Shape shape = {128, 256};  // 32768 samples; fan_in 128, fan_out 256, fan_avg 192
  const double n = 128.0 * 256.0;
  Tensor k = nx::random::key(7);
  struct Expect {
    std::string name;
    init::Initializer f;
    double std;    // the distribution's standard deviation
    double bound;  // |x| <= bound (inf: unbounded)
  };
  const std::vector<Expect> cases = {
      {"uniform", init::uniform({.scale = 0.5}), 0.5 / std::sqrt(3.0), 0.5},
      {"normal", init::normal({.scale = 0.2}), 0.2, INFINITY},
      {"lecun_uniform", init::lecun_uniform(), std::sqrt(1.0 / 128), std::sqrt(3.0 / 128)},
      {"lecun_normal", init::lecun_normal(), std::sqrt(1.0 / 128),
       2 * std::sqrt(1.0 / 128) / kTruncatedStd},
      {"glorot_uniform", init::glorot_uniform(), std::sqrt(1.0 / 192), std::sqrt(3.0 / 192)},
      {"glorot_normal", init::glorot_normal(), std::sqrt(1.0 / 192),
       2 * std::sqrt(1.0 / 192) / kTruncatedStd},
      {"he_uniform", init::he_uniform(), std::sqrt(2.0 / 128), std::sqrt(6.0 / 128)},
      {"he_normal", init::he_normal(), std::sqrt(2.0 / 128),
       2 * std::sqrt(2.0 / 128) / kTruncatedStd},
      {"variance_scaling", init::variance_scaling({.mode = init::FanMode::FanOut}),
       std::sqrt(1.0 / 256), INFINITY},
  };
  for (const Expect& e : cases) {
    Stats s = stats(e.f(shape, nx::f32, k));
    // Mean within 5 standard errors; std within 2% (its standard error is ~0.4%).
    EXPECT_NEAR(s.mean, 0.0, 5 * e.std / std::sqrt(n)) << e.name;
    EXPECT_NEAR(s.std, e.std, 0.02 * e.std) << e.name;
    EXPECT_LE(s.max, e.bound) << e.name;
    EXPECT_GE(s.min, -e.bound) << e.name;
    if (std::isfinite(e.bound)) {  // the samples reach close to the bounds
      EXPECT_GT(s.max, 0.97 * e.bound) << e.name;
      EXPECT_LT(s.min, -0.97 * e.bound) << e.name;
    }
  }
  Stats mean1 = stats(init::normal({.mean = 1.0, .scale = 0.1})(shape, nx::f32, k));
  EXPECT_NEAR(mean1.mean, 1.0, 5 * 0.1 / std::sqrt(n));
}

TEST(AxonFnInitializers, OrthogonalIsOrthonormal) {
  const std::vector<nx::Shape> shapes = {{8, 8}, {16, 8}, {8, 16}, {2, 3, 4}, {2, 2, 8}, {1, 5}};
  for (auto dist : {init::Distribution::Normal, init::Distribution::Uniform}) {
    for (nx::DType dt : {nx::f32, nx::f64}) {
      for (const nx::Shape& shape : shapes) {
        const std::string what = nx::shape_repr(shape) + " " + std::string(nx::dtype_name(dt)) +
                                 (dist == init::Distribution::Normal ? " normal" : " uniform");
        Tensor q = init::orthogonal({.distribution = dist})(shape, dt, key42());
        ASSERT_EQ(q.shape(), shape) << what;
        ASSERT_EQ(q.dtype(), dt) << what;
        const int64_t n = shape.back(), m = q.size() / n;
        Tensor flat = nx::reshape(q, {m, n});
        // Tall or square: Q^T Q = I_n; wide: Q Q^T = I_m.
        Tensor gram =
            m >= n ? nx::dot(nx::transpose(flat), flat) : nx::dot(flat, nx::transpose(flat));
        const int64_t r = std::min(m, n);
        const double tol = dt == nx::f32 ? 2e-6 : 1e-13;
        fn_test::expect_close(gram, nx::eye(r, dt), 0, tol, "orthogonal " + what);
      }
    }
  }
}

TEST(AxonFnInitializers, OrthogonalTallEqualsQrOfDraw) {
  // Axon's construction for m >= n: Q of the complete QR of the {m, n} draw, first n columns.
  Tensor k = key42();
  Tensor a = nx::random::normal(k, {6, 4}, {.dtype = nx::f64});
  Tensor q = nx::slice(nx::qr(a, true).first, {0, 0}, {6, 4});
  expect_identical(init::orthogonal()({2, 3, 4}, nx::f64, k), nx::reshape(q, {2, 3, 4}),
                   "orthogonal {2,3,4}");
  Tensor u = nx::random::uniform(k, {4, 3}, {.dtype = nx::f64});
  Tensor qu = nx::slice(nx::qr(u, true).first, {0, 0}, {4, 3});
  // Wide: the transpose of the tall construction.
  expect_identical(
      init::orthogonal({.distribution = init::Distribution::Uniform})({3, 4}, nx::f64, k),
      nx::transpose(qu), "orthogonal wide {3,4}");
}

TEST(AxonFnInitializers, FansMatchAxon) {
  const auto& count = fn_test::ref("initializers", "count");
  for (int64_t i = 0; i < count.item<int64_t>(); ++i) {
    const std::string s = std::to_string(i);
    nx::Shape shape;
    for (double d : fn_test::values(fn_test::ref("initializers", "shape_" + s))) {
      shape.push_back(int64_t(d));
    }
    std::vector<double> fans = fn_test::values(fn_test::ref("initializers", "fans_" + s));
    auto [fan_in, fan_out] = init::fans(shape);
    EXPECT_EQ(fan_in, fans[0]) << nx::shape_repr(shape);
    EXPECT_EQ(fan_out, fans[1]) << nx::shape_repr(shape);
    // The variance variance_scaling uses, through the limit of its uniform draw.
    std::vector<double> var = fn_test::values(fn_test::ref("initializers", "var_" + s));
    const init::FanMode modes[] = {init::FanMode::FanIn, init::FanMode::FanOut,
                                   init::FanMode::FanAvg};
    for (int j = 0; j < 3; ++j) {
      Tensor got = init::variance_scaling(
          {.scale = 1.7, .mode = modes[j], .distribution = init::Distribution::Uniform})(
          shape, nx::f64, key42());
      const double limit = std::sqrt(3.0 * var[size_t(j)]);
      expect_identical(
          got, nx::random::uniform(key42(), shape, {.min = -limit, .max = limit, .dtype = nx::f64}),
          "variance " + nx::shape_repr(shape) + " mode " + std::to_string(j));
    }
  }
}

TEST(AxonFnInitializers, Deterministic) {
  for (const char* name : {"uniform", "normal", "lecun_normal", "glorot_uniform", "he_normal"}) {
    init::Initializer f = init::initializer(name);
    Tensor a = f({10, 10}, nx::f32, nx::random::key(1));
    expect_identical(a, f({10, 10}, nx::f32, nx::random::key(1)), name);
    EXPECT_NE(fn_test::values(a), fn_test::values(f({10, 10}, nx::f32, nx::random::key(2))))
        << name;
  }
  Tensor o = init::orthogonal()({5, 5}, nx::f32, nx::random::key(3));
  expect_identical(o, init::orthogonal()({5, 5}, nx::f32, nx::random::key(3)), "orthogonal");
}

TEST(AxonFnInitializers, TracesUnderJit) {
  auto compiled = nx::jit([](const Tensor& key) {
    return nx::add(init::glorot_normal()({4, 6}, nx::f32, key),
                   init::orthogonal()({4, 6}, nx::f32, key));
  });
  Tensor k = key42();
  fn_test::expect_close(
      compiled(k),
      nx::add(init::glorot_normal()({4, 6}, nx::f32, k), init::orthogonal()({4, 6}, nx::f32, k)),
      1e-5, 1e-6, "jit");
}

TEST(AxonFnInitializers, ByName) {
  const nx::Shape shape = {4, 4};
  Tensor k = key42();
  const std::vector<std::pair<std::string, init::Initializer>> expected = {
      {"zeros", init::zeros()},
      {"ones", init::ones()},
      {"uniform", init::uniform()},
      {"normal", init::normal()},
      {"identity", init::identity()},
      {"lecun_uniform", init::lecun_uniform()},
      {"lecun_normal", init::lecun_normal()},
      {"glorot_uniform", init::glorot_uniform()},
      {"glorot_normal", init::glorot_normal()},
      {"he_uniform", init::he_uniform()},
      {"he_normal", init::he_normal()},
      {"variance_scaling", init::variance_scaling()},
  };
  for (const auto& [name, f] : expected) {
    expect_identical(init::initializer(name)(shape, nx::f32, k), f(shape, nx::f32, k), name);
  }
  expect_error([] { init::initializer("orthogonal"); },
               "axon::fn::init::initializer: unknown initializer \"orthogonal\"");
  expect_error([] { init::initializer("xavier"); }, "glorot_uniform");
}

TEST(AxonFnInitializers, BadInputThrows) {
  Tensor k = key42();
  expect_error([&] { init::orthogonal()({5}, nx::f32, k); },
               "axon::fn::init::orthogonal: shape must have rank >= 2, got {5}");
  expect_error([&] { init::orthogonal({.distribution = init::Distribution::TruncatedNormal}); },
               "axon::fn::init::orthogonal: distribution must be Normal or Uniform");
  expect_error(
      [&] {
        init::identity()({2, 3}, nx::f32, k);
      },
      "axon::fn::init::identity: shape must be square and rank 2, got {2, 3}");
  expect_error([&] { init::identity()({2, 2, 2}, nx::f32, k); }, "axon::fn::init::identity");
  expect_error([&] { init::uniform()({2}, nx::s32, k); },
               "axon::fn::init::uniform: dtype must be floating point, got s32");
  expect_error(
      [&] {
        init::he_normal()({2, 2}, nx::u8, k);
      },
      "axon::fn::init::variance_scaling: dtype must be floating point");
  expect_error([&] { init::orthogonal()({2, 2}, nx::s64, k); }, "axon::fn::init::orthogonal");
  expect_error([&] { init::normal()({2}, nx::f32, Tensor()); },
               "axon::fn::init::normal: a random key is required");
  expect_error([&] { init::normal()({2}, nx::f32, nx::zeros({3}, nx::u32)); },
               "key must be u32[2]");
}

}  // namespace
