// Accuracy of the float math kernels over dense sweeps, measured in the test against double
// precision libm: f32 (the vectorized polynomials of vmath.hpp) every 1021st bit pattern plus
// contiguous runs around the points where the algorithms switch branches, and f16/bf16
// exhaustively.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <vector>

#include "elementwise_test_util.hpp"

namespace nx::ew_test {
namespace {

using RefFn = std::function<double(double)>;

double ulp_of_float(double ref) {
  float r = static_cast<float>(ref);
  if (std::isinf(r)) return std::ldexp(1.0, 104);  // ulp of FLT_MAX
  int e = std::ilogb(r == 0 ? std::numeric_limits<float>::min() : r);
  return std::ldexp(1.0, std::max(e, -126) - 23);
}

/// Error of a float result against a double reference, in ulps of the float result type;
/// infinite when the special-value behaviour differs.
double ulp_error(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0 : INFINITY;
  if (std::isnan(got)) return INFINITY;
  float rounded = static_cast<float>(ref);
  if (std::isinf(got) || std::isinf(rounded)) {
    if (got == rounded) return 0;
    if (std::isinf(got) && !std::isinf(ref)) {
      return std::fabs(std::numeric_limits<float>::max() - ref) / ulp_of_float(ref) + 1;
    }
    return std::isinf(ref) ? INFINITY : std::fabs(got - ref) / ulp_of_float(ref);
  }
  if (ref == 0 && got == 0) return std::signbit(ref) == std::signbit(got) ? 0 : INFINITY;
  return std::fabs(static_cast<double>(got) - ref) / ulp_of_float(ref);
}

/// Float inputs: every `stride`-th bit pattern, plus `radius` patterns on each side of each
/// centre.
std::vector<float> sweep(uint32_t stride, const std::vector<float>& centres, int radius) {
  std::vector<float> v;
  for (uint64_t b = 0; b <= 0xffffffffull; b += stride) {
    v.push_back(std::bit_cast<float>(static_cast<uint32_t>(b)));
  }
  for (float c : centres) {
    uint32_t b = std::bit_cast<uint32_t>(c);
    for (int d = -radius; d <= radius; ++d) v.push_back(std::bit_cast<float>(b + d));
  }
  return v;
}

struct Worst {
  double ulps = 0;
  float at = 0;
};

Worst max_error(const char* op, const std::vector<float>& xs, const RefFn& ref) {
  Tensor out = run(prim_named(op), {from_vector(xs)});
  const float* y = out.data<float>();
  Worst w;
  for (size_t i = 0; i < xs.size(); ++i) {
    double e = ulp_error(y[i], ref(static_cast<double>(xs[i])));
    if (!(e <= w.ulps)) w = {e, xs[i]};
  }
  std::printf("[   INFO   ] %-8s f32 max error %.3f ulp at %.9g (%zu points)\n", op, w.ulps,
              static_cast<double>(w.at), xs.size());
  return w;
}

double sigmoid_ref(double x) {
  double e = std::exp(-std::fabs(x));
  return (x >= 0 ? 1.0 : e) / (1.0 + e);
}

struct SweepCase {
  const char* op;
  RefFn ref;
  std::vector<float> centres;  ///< branch switches, overflow and underflow thresholds
  double max_ulps;
};

TEST(ElementwiseMathKernels, F32PolynomialsWithinTwoUlpOverDenseSweep) {
  const std::vector<SweepCase> cases = {
      {"exp",
       [](double x) { return std::exp(x); },
       {0.0f, 88.72f, -87.33f, -103.28f, 0.3466f},
       2.0},
      {"expm1",
       [](double x) { return std::expm1(x); },
       {0.0f, 0.3466f, -0.3466f, 88.72f, 5.96e-8f},
       2.0},
      {"log",
       [](double x) { return std::log(x); },
       {1.0f, 0.70710677f, 1.17549435e-38f, 2.0f},
       2.0},
      {"log1p",
       [](double x) { return std::log1p(x); },
       {0.0f, -1.0f, 1.0f, 5.96e-8f, -0.29289f},
       2.0},
      {"tanh", [](double x) { return std::tanh(x); }, {0.0f, 0.625f, -0.625f, 9.0f}, 2.0},
      {"sigmoid", sigmoid_ref, {0.0f, -88.0f, -103.0f, 17.0f, -16.0f}, 2.0},
      {"erf", [](double x) { return std::erf(x); }, {0.0f, 0.9277f, -0.9277f, 3.95f}, 2.0},
  };
  for (const SweepCase& c : cases) {
    Worst w = max_error(c.op, sweep(1021, c.centres, 4096), c.ref);
    EXPECT_LE(w.ulps, c.max_ulps) << c.op << " at x = " << w.at;
  }
}

// The libm-backed ops (computed in double) are checked the same way, more sparsely: they are
// slower per element.
TEST(ElementwiseMathKernels, F32LibmOpsWithinOneUlp) {
  const std::vector<SweepCase> cases = {
      {"sqrt", [](double x) { return std::sqrt(x); }, {0.0f, 1.0f}, 0.5},
      // 1 / sqrt rounds twice.
      {"rsqrt", [](double x) { return 1.0 / std::sqrt(x); }, {0.0f, 1.0f}, 1.5},
      {"cbrt", [](double x) { return std::cbrt(x); }, {0.0f}, 1.0},
      {"sin", [](double x) { return std::sin(x); }, {0.0f, 3.1415927f}, 1.0},
      {"cos", [](double x) { return std::cos(x); }, {0.0f, 1.5707964f}, 1.0},
      {"tan", [](double x) { return std::tan(x); }, {0.0f}, 1.0},
      {"asin", [](double x) { return std::asin(x); }, {0.5f, 1.0f}, 1.0},
      {"acos", [](double x) { return std::acos(x); }, {0.5f, 1.0f}, 1.0},
      {"atan", [](double x) { return std::atan(x); }, {1.0f}, 1.0},
      {"sinh", [](double x) { return std::sinh(x); }, {0.0f, 89.4f}, 1.0},
      {"cosh", [](double x) { return std::cosh(x); }, {0.0f, 89.4f}, 1.0},
      {"asinh", [](double x) { return std::asinh(x); }, {0.0f}, 1.0},
      {"acosh", [](double x) { return std::acosh(x); }, {1.0f}, 1.0},
      {"atanh", [](double x) { return std::atanh(x); }, {0.0f, 1.0f}, 1.0},
      {"erfc", [](double x) { return std::erfc(x); }, {0.0f, 10.0f}, 1.0},
  };
  for (const SweepCase& c : cases) {
    Worst w = max_error(c.op, sweep(4099, c.centres, 256), c.ref);
    EXPECT_LE(w.ulps, c.max_ulps) << c.op << " at x = " << w.at;
  }
}

// erf_inv has no libm reference; y = erf_inv(x) is within one ulp of the true inverse exactly
// when x lies between erf of y's neighbours (erf is increasing). Near 1 the test uses erfc,
// where 1 - x is exact.
TEST(ElementwiseMathKernels, F32ErfInvWithinOneUlp) {
  std::vector<float> xs;
  for (uint32_t b = 0; b < 0x3f800000u; b += 1009) {
    xs.push_back(std::bit_cast<float>(b));
    xs.push_back(-std::bit_cast<float>(b));
  }
  for (int d = 1; d < 4096; ++d) xs.push_back(std::bit_cast<float>(0x3f800000u - d));
  Tensor out = run(Prim::erf_inv, {from_vector(xs)});
  const float* y = out.data<float>();
  int bad = 0;
  for (size_t i = 0; i < xs.size() && bad < 5; ++i) {
    const double x = std::fabs(xs[i]), v = std::fabs(y[i]);
    ASSERT_EQ(std::signbit(y[i]), std::signbit(xs[i])) << xs[i];
    const double lo = std::nextafter(static_cast<float>(v), 0.0f);
    const double hi = std::nextafter(static_cast<float>(v), INFINITY);
    const bool ok = x <= 0.5 ? std::erf(lo) <= x && x <= std::erf(hi)
                             : std::erfc(hi) <= 1.0 - x && 1.0 - x <= std::erfc(lo);
    if (!ok) {
      ++bad;
      ADD_FAILURE() << "erf_inv(" << xs[i] << ") = " << y[i] << " is not within 1 ulp";
    }
  }
}

// f16 and bf16 compute through float and round once more: every input, against double libm
// rounded to the type, within one ulp (exact ops: exactly).
TEST(ElementwiseMathKernels, HalfTypesExhaustive) {
  struct Op {
    const char* name;
    double (*ref)(double);
    int ulps;
  };
  const Op ops[] = {
      {"exp", [](double x) { return std::exp(x); }, 1},
      {"expm1", [](double x) { return std::expm1(x); }, 1},
      {"log", [](double x) { return std::log(x); }, 1},
      {"log1p", [](double x) { return std::log1p(x); }, 1},
      {"tanh", [](double x) { return std::tanh(x); }, 1},
      {"sigmoid", sigmoid_ref, 1},
      {"erf", [](double x) { return std::erf(x); }, 1},
      {"sin", [](double x) { return std::sin(x); }, 1},
      {"sqrt", [](double x) { return std::sqrt(x); }, 0},
      {"floor", [](double x) { return std::floor(x); }, 0},
      {"ceil", [](double x) { return std::ceil(x); }, 0},
      {"trunc", [](double x) { return std::trunc(x); }, 0},
      {"round", [](double x) { return std::round(x); }, 0},
      {"round_even", [](double x) { return std::nearbyint(x); }, 0},
  };
  for (DType dt : {DType::F16, DType::BF16}) {
    std::vector<uint64_t> bits(65536);
    for (uint32_t b = 0; b < 65536; ++b) bits[b] = b;
    Tensor x = from_bits(bits, {65536}, dt);
    const std::vector<double> xv = values(x);
    for (const Op& op : ops) {
      const std::vector<uint64_t> got = to_bits(run(prim_named(op.name), {x}));
      int bad = 0;
      for (size_t i = 0; i < got.size() && bad < 5; ++i) {
        // Rounding the double reference through float is exact enough here: the float
        // rounding of these results never creates a false tie at 11 or 8 bits (53 >= 2*24+2,
        // 24 >= 2*11+2).
        const float r = static_cast<float>(op.ref(xv[i]));
        const uint64_t want = dt == DType::F16 ? half(r).bits : bfloat16(r).bits;
        if (!bits_match(got[i], want, dt, static_cast<uint64_t>(op.ulps))) {
          ++bad;
          ADD_FAILURE() << op.name << " " << dtype_name(dt) << "(" << xv[i] << "): got "
                        << show_bits(got[i], dt) << ", want " << show_bits(want, dt);
        }
      }
    }
  }
}

}  // namespace
}  // namespace nx::ew_test
