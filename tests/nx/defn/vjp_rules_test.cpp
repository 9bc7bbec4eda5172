// The VJP rules of src/nx/defn/vjp_rules.cpp, called directly on concrete float64 tensors and
// checked against central finite differences of sum(ct * f(x)) (f run through bind), plus
// hand-derived values at the non-smooth points where the rules follow a convention (ties,
// abs at 0, pow at 0) and checks that rules return exactly typed cotangents, skip inputs that
// are not wanted, and never read data (they trace).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/defn.hpp"
#include "nx/defn/trace.hpp"
#include "nx/defn/vjp.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/rule_test_util.hpp"

namespace nx::detail {
namespace {

using nx::testing::expect_error;

struct Case {
  std::string name;
  Prim prim;
  Params params;
  std::vector<Tensor> in;
};

std::mt19937_64& rng() {
  static std::mt19937_64 r(12345);
  return r;
}

/// Uniform f64 values in [lo, hi].
Tensor rnd(const Shape& s, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<double> v(static_cast<size_t>(num_elements(s)));
  for (double& x : v) x = d(rng());
  return from_vector(v, s);
}

/// Uniform f64 values in [lo, hi] with random signs: magnitudes stay away from 0.
Tensor rnd_signed(const Shape& s, double lo, double hi) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::bernoulli_distribution sign(0.5);
  std::vector<double> v(static_cast<size_t>(num_elements(s)));
  for (double& x : v) x = sign(rng()) ? d(rng()) : -d(rng());
  return from_vector(v, s);
}

Tensor f64s(const std::vector<double>& v, const Shape& s) {
  return from_vector(v, s);
}
Tensor s64s(const std::vector<int64_t>& v, const Shape& s) {
  return from_vector(v, s);
}
Tensor idx(int64_t v) {
  return scalar_int(v, DType::S64);
}

/// sum over outputs k of sum(ct[k] * out[k]).
double objective(const Case& c, const std::vector<Tensor>& in, const std::vector<Tensor>& ct) {
  std::vector<Tensor> out = bind(c.prim, in, c.params);
  double f = 0;
  for (size_t k = 0; k < out.size(); ++k) {
    if (!ct[k].defined()) continue;
    std::vector<double> o = out[k].to_vector<double>(), w = ct[k].to_vector<double>();
    for (size_t j = 0; j < o.size(); ++j) f += o[j] * w[j];
  }
  return f;
}

/// Runs the rule with all inputs wanted.
std::vector<Tensor> run_rule(const Case& c, const std::vector<Tensor>& out,
                             const std::vector<Tensor>& ct) {
  auto wanted = std::make_unique<bool[]>(c.in.size() + 1);
  for (size_t i = 0; i < c.in.size(); ++i) wanted[i] = true;
  VjpArgs a{c.prim, c.params, c.in, out, ct, std::span<const bool>(wanted.get(), c.in.size())};
  return vjp_rule(c.prim)(a);
}

/// Random cotangents for the float outputs (none for integer/pred outputs).
std::vector<Tensor> random_cts(const std::vector<Tensor>& out) {
  std::vector<Tensor> ct;
  for (const Tensor& o : out) ct.push_back(is_float(o.dtype()) ? rnd(o.shape()) : Tensor());
  return ct;
}

/// Compares the rule's cotangent of every float input with central differences.
void check_fd(const Case& c, double tol = 1e-6) {
  SCOPED_TRACE(c.name);
  std::vector<Tensor> out = bind(c.prim, c.in, c.params);
  std::vector<Tensor> ct = random_cts(out);
  std::vector<Tensor> got = run_rule(c, out, ct);
  ASSERT_EQ(got.size(), c.in.size());
  for (size_t i = 0; i < c.in.size(); ++i) {
    SCOPED_TRACE("input " + std::to_string(i));
    if (!is_float(c.in[i].dtype())) {
      EXPECT_FALSE(got[i].defined()) << "integer/pred inputs get no cotangent";
      continue;
    }
    ASSERT_EQ(c.in[i].dtype(), DType::F64) << "tests perturb f64 inputs";
    std::vector<double> g(static_cast<size_t>(c.in[i].size()), 0.0);
    if (got[i].defined()) {
      ASSERT_EQ(got[i].type(), c.in[i].type()) << "cotangent must have the input's type";
      g = got[i].to_vector<double>();
    }
    std::vector<double> x = c.in[i].to_vector<double>();
    for (size_t j = 0; j < x.size(); ++j) {
      double h = 1e-6 * std::max(1.0, std::abs(x[j]));
      std::vector<Tensor> in = c.in;
      std::vector<double> xp = x;
      xp[j] = x[j] + h;
      in[i] = f64s(xp, c.in[i].shape());
      double fp = objective(c, in, ct);
      xp[j] = x[j] - h;
      in[i] = f64s(xp, c.in[i].shape());
      double fm = objective(c, in, ct);
      double fd = (fp - fm) / (2 * h);
      EXPECT_NEAR(g[j], fd, tol * std::max(1.0, std::abs(fd))) << "element " << j;
    }
  }
}

void check_all(const std::vector<Case>& cases, double tol = 1e-6) {
  for (const Case& c : cases) check_fd(c, tol);
}

Case unary_case(const std::string& name, Prim p, const Tensor& x) {
  return {name, p, NoParams{}, {x}};
}

// ---- completeness ------------------------------------------------------------------------------

TEST(VjpRules, EveryPrimitiveHasARule) {
  for (int i = 0; i < kNumPrims; ++i) {
    EXPECT_NE(vjp_rule(static_cast<Prim>(i)), nullptr) << prim_name(static_cast<Prim>(i));
  }
}

// ---- elementwise -------------------------------------------------------------------------------

TEST(VjpRules, UnarySmooth) {
  Shape s{2, 3};
  check_all({
      unary_case("negate", Prim::negate, rnd(s)),
      unary_case("abs", Prim::abs, rnd_signed(s, 0.1, 2)),
      unary_case("exp", Prim::exp, rnd(s)),
      unary_case("expm1", Prim::expm1, rnd(s)),
      unary_case("log", Prim::log, rnd(s, 0.3, 3)),
      unary_case("log1p", Prim::log1p, rnd(s, -0.5, 2)),
      unary_case("sqrt", Prim::sqrt, rnd(s, 0.2, 3)),
      unary_case("rsqrt", Prim::rsqrt, rnd(s, 0.2, 3)),
      unary_case("cbrt", Prim::cbrt, rnd_signed(s, 0.2, 3)),
      unary_case("sin", Prim::sin, rnd(s, -3, 3)),
      unary_case("cos", Prim::cos, rnd(s, -3, 3)),
      unary_case("tan", Prim::tan, rnd(s, -1.2, 1.2)),
      unary_case("asin", Prim::asin, rnd(s, -0.8, 0.8)),
      unary_case("acos", Prim::acos, rnd(s, -0.8, 0.8)),
      unary_case("atan", Prim::atan, rnd(s, -3, 3)),
      unary_case("sinh", Prim::sinh, rnd(s, -2, 2)),
      unary_case("cosh", Prim::cosh, rnd(s, -2, 2)),
      unary_case("tanh", Prim::tanh, rnd(s, -2, 2)),
      unary_case("asinh", Prim::asinh, rnd(s, -3, 3)),
      unary_case("acosh", Prim::acosh, rnd(s, 1.3, 4)),
      unary_case("atanh", Prim::atanh, rnd(s, -0.8, 0.8)),
      unary_case("erf", Prim::erf, rnd(s, -2, 2)),
      unary_case("erfc", Prim::erfc, rnd(s, -2, 2)),
      unary_case("erf_inv", Prim::erf_inv, rnd(s, -0.9, 0.9)),
      unary_case("sigmoid", Prim::sigmoid, rnd(s, -4, 4)),
  });
}

TEST(VjpRules, PiecewiseConstantUnaryAreZero) {
  // Away from the jumps the finite differences are 0 as well.
  Tensor x = f64s({-2.3, -0.7, 0.2, 1.4, 2.6, 3.2}, {2, 3});
  for (Prim p : {Prim::sign, Prim::floor, Prim::ceil, Prim::round, Prim::round_even, Prim::trunc,
                 Prim::is_nan, Prim::is_infinity}) {
    Case c = unary_case(std::string(prim_name(p)), p, x);
    check_fd(c);
    std::vector<Tensor> out = bind(p, c.in, c.params);
    EXPECT_FALSE(run_rule(c, out, random_cts(out))[0].defined()) << prim_name(p);
  }
}

TEST(VjpRules, BinaryWithBroadcasting) {
  std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{}, {2, 3}}, {{4, 1, 3}, {2, 1}}};
  for (const auto& [sa, sb] : shapes) {
    std::string suffix = " " + shape_repr(sa) + " with " + shape_repr(sb);
    check_all({
        {"add" + suffix, Prim::add, NoParams{}, {rnd(sa), rnd(sb)}},
        {"subtract" + suffix, Prim::subtract, NoParams{}, {rnd(sa), rnd(sb)}},
        {"multiply" + suffix, Prim::multiply, NoParams{}, {rnd(sa), rnd(sb)}},
        {"divide" + suffix, Prim::divide, NoParams{}, {rnd(sa), rnd_signed(sb, 0.5, 2)}},
        {"remainder" + suffix,
         Prim::remainder,
         NoParams{},
         {rnd(sa, -5, 5), rnd_signed(sb, 0.7, 2)}},
        {"pow" + suffix, Prim::pow, NoParams{}, {rnd(sa, 0.3, 2), rnd(sb, -2, 2)}},
        {"max" + suffix, Prim::max, NoParams{}, {rnd(sa), rnd(sb)}},
        {"min" + suffix, Prim::min, NoParams{}, {rnd(sa), rnd(sb)}},
        {"atan2" + suffix,
         Prim::atan2,
         NoParams{},
         {rnd_signed(sa, 0.2, 2), rnd_signed(sb, 0.2, 2)}},
    });
  }
}

TEST(VjpRules, IntegerAndComparisonBinaryAreZero) {
  Tensor a = s64s({5, -7, 9}, {3}), b = s64s({2, 3, -4}, {3});
  for (Prim p : {Prim::add, Prim::multiply, Prim::quotient, Prim::remainder, Prim::pow, Prim::max,
                 Prim::bitwise_and, Prim::bitwise_or, Prim::bitwise_xor, Prim::left_shift,
                 Prim::right_shift}) {
    Case c{std::string(prim_name(p)), p, NoParams{}, {a, b}};
    std::vector<Tensor> out = bind(p, c.in, c.params);
    std::vector<Tensor> ct{nx::ones({3}, DType::S64)};
    std::vector<Tensor> got = run_rule(c, out, ct);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_FALSE(got[0].defined() || got[1].defined()) << prim_name(p);
  }
  Tensor x = rnd({2, 3}), y = rnd({3});
  for (Prim p : {Prim::equal, Prim::not_equal, Prim::less, Prim::less_equal, Prim::greater,
                 Prim::greater_equal}) {
    check_fd({std::string(prim_name(p)), p, NoParams{}, {x, y}});
  }
  Tensor u = nx::ones({3}, DType::S32);
  check_fd({"bitwise_not", Prim::bitwise_not, NoParams{}, {u}});
  check_fd({"population_count", Prim::population_count, NoParams{}, {u}});
  check_fd({"count_leading_zeros", Prim::count_leading_zeros, NoParams{}, {u}});
}

TEST(VjpRules, Select) {
  Tensor pred = from_vector(std::vector<bool>{true, false}, Shape{2, 1});
  Tensor pred_full =
      from_vector(std::vector<bool>{true, false, false, true, true, false}, Shape{2, 3});
  check_all({
      {"select same shapes", Prim::select, NoParams{}, {pred_full, rnd({2, 3}), rnd({2, 3})}},
      {"select broadcast", Prim::select, NoParams{}, {pred, rnd({3}), rnd({2, 3})}},
      {"select scalar branch", Prim::select, NoParams{}, {pred_full, rnd({2, 3}), rnd({})}},
  });
}

TEST(VjpRules, NonSmoothConventions) {
  auto ct1 = [](const std::vector<Tensor>& out) {
    return std::vector<Tensor>{nx::ones(out[0].shape(), DType::F64)};
  };
  // abs'(0) = 1 (JAX, Nx).
  {
    Case c{"abs", Prim::abs, NoParams{}, {f64s({0.0, -2.0}, {2})}};
    auto out = bind(c.prim, c.in, c.params);
    EXPECT_EQ(run_rule(c, out, ct1(out))[0].to_vector<double>(), (std::vector<double>{1, -1}));
  }
  // max/min ties split the cotangent evenly (JAX's _balanced_eq).
  for (Prim p : {Prim::max, Prim::min}) {
    Case c{"tie", p, NoParams{}, {f64s({1, 2, 5}, {3}), f64s({1, 3, 0}, {3})}};
    auto out = bind(c.prim, c.in, c.params);
    auto got = run_rule(c, out, ct1(out));
    std::vector<double> ga = got[0].to_vector<double>(), gb = got[1].to_vector<double>();
    EXPECT_EQ(ga[0], 0.5);
    EXPECT_EQ(gb[0], 0.5);
    EXPECT_EQ(ga[1] + gb[1], 1.0);
    EXPECT_EQ(ga[2] + gb[2], 1.0);
  }
  // relu as max(x, 0): 0.5 at 0, with the zero broadcast from a scalar.
  {
    Case c{"relu", Prim::max, NoParams{}, {f64s({-1, 0, 2}, {3}), f64s({0}, {})}};
    auto out = bind(c.prim, c.in, c.params);
    auto got = run_rule(c, out, ct1(out));
    EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{0, 0.5, 1}));
    EXPECT_EQ(got[1].shape(), Shape{});
    EXPECT_EQ(got[1].item<double>(), 1.5);
  }
  // pow: d/dx x^0 = 0 at x = 0; d/dy 0^y = 0.
  {
    Case c{"pow", Prim::pow, NoParams{}, {f64s({0, 0, 2}, {3}), f64s({0, 2, 3}, {3})}};
    auto out = bind(c.prim, c.in, c.params);
    auto got = run_rule(c, out, ct1(out));
    EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{0, 0, 12}));
    std::vector<double> gy = got[1].to_vector<double>();
    EXPECT_EQ(gy[0], 0);
    EXPECT_EQ(gy[1], 0);
    EXPECT_NEAR(gy[2], 8 * std::log(2.0), 1e-12);
  }
  // reduce_max: ties share equally.
  {
    Case c{"reduce_max", Prim::reduce_max, AxesParams{{1}}, {f64s({1, 3, 3, 2, 4, 0}, {2, 3})}};
    auto out = bind(c.prim, c.in, c.params);
    auto got = run_rule(c, out, {f64s({2, 10}, {2})});
    EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{0, 1, 1, 0, 10, 0}));
  }
  // cumulative_max: each output's cotangent goes to the latest element holding the maximum.
  {
    Case c{"cummax", Prim::cumulative_max, ScanParams{0, false}, {f64s({1, 3, 3, 2}, {4})}};
    auto out = bind(c.prim, c.in, c.params);
    auto got = run_rule(c, out, {f64s({1, 10, 100, 1000}, {4})});
    EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{1, 10, 1100, 0}));
    Case r{"cummax reverse", Prim::cumulative_max, ScanParams{0, true}, {f64s({2, 3, 3, 1}, {4})}};
    out = bind(r.prim, r.in, r.params);
    got = run_rule(r, out, {f64s({1, 10, 100, 1000}, {4})});
    EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{0, 11, 100, 1000}));
  }
  // window_max: each window's cotangent goes to its first maximal element.
  {
    WindowParams p{{3}, {1}, {0}, {0}, {1}};
    Case c{"window_max tie", Prim::window_max, p, {f64s({5, 1, 5, 0}, {4})}};
    auto out = bind(c.prim, c.in, c.params);
    auto got = run_rule(c, out, {f64s({1, 10}, {2})});
    EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{1, 0, 10, 0}));
  }
}

// window_scatter_max's source: each window takes g at the position the primitive selects.
TEST(VjpRules, WindowScatterSourceFollowsTheSelection) {
  auto source_ct = [](const Tensor& operand, const WindowParams& p, const Tensor& g) {
    Shape out = bind(Prim::window_max, {operand}, p)[0].shape();
    Case c{"window_scatter_max",
           Prim::window_scatter_max,
           p,
           {operand, nx::ones(out, DType::F64), nx::zeros({}, DType::F64)}};
    auto res = bind(c.prim, c.in, c.params);
    return run_rule(c, res, {g})[1].to_vector<double>();
  };
  Tensor g = f64s({1, 10, 100, 1000}, {4});
  // Ties: the first maximum of each window.
  EXPECT_EQ(source_ct(f64s({5, 1, 5, 0}, {4}), WindowParams{{3}, {1}, {0}, {0}, {1}}, g),
            (std::vector<double>{1, 100}));
  // A -inf element beats the padding, which is never selected; a window of padding only
  // takes nothing.
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(
      source_ct(f64s({-inf, 2}, {2}), WindowParams{{2}, {1}, {1}, {3}, {1}}, f64s({1, 10}, {2})),
      (std::vector<double>{1, 10, 10, 0, 0}));
  // NaN counts as the maximum: the first NaN is selected.
  double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(source_ct(f64s({3, nan, nan, 1}, {4}), WindowParams{{4}, {1}, {0}, {0}, {1}}, g),
            (std::vector<double>{10}));
}

// Second order: grad of grad through the autodiff driver, whose backward pass is built from these
// rules, checked against finite differences of the first gradient. Shows that the cotangents
// the rules build are themselves differentiable.
TEST(VjpRules, SecondOrderThroughGrad) {
  struct Op {
    std::string name;
    std::function<Tensor(const Tensor&)> f;
    Tensor x;
  };
  Tensor w = rnd({3, 2, 2}), m = rnd({3, 4});
  std::vector<Op> ops = {
      {"exp", [](const Tensor& x) { return bind1(Prim::exp, {x}); }, rnd({2, 3})},
      {"tanh", [](const Tensor& x) { return bind1(Prim::tanh, {x}); }, rnd({2, 3})},
      {"pow",
       [](const Tensor& x) {
         return bind1(Prim::pow, {x, x});
       },
       rnd({2, 3}, 0.5, 2)},
      {"divide broadcast",
       [](const Tensor& x) {
         return bind1(Prim::divide, {x, bind1(Prim::reduce_sum, {x}, AxesParams{{0}})});
       },
       rnd({2, 3}, 0.5, 2)},
      {"reduce_prod with a zero",
       [](const Tensor& x) { return bind1(Prim::reduce_prod, {x}, AxesParams{{1}}); },
       f64s({0.5, 0, 1.5, -2, 0.7, 1.1}, {2, 3})},
      {"reduce_max",
       [](const Tensor& x) { return bind1(Prim::reduce_max, {x * x}, AxesParams{{1}}); },
       rnd({2, 3})},
      {"cumulative_product",
       [](const Tensor& x) {
         return bind1(Prim::cumulative_product, {x}, ScanParams{1, false});
       },
       f64s({0.5, 0, 1.5, -2, 0.7, 1.1, 0.9, 1.3}, {2, 4})},
      {"cumulative_max",
       [](const Tensor& x) {
         return bind1(Prim::cumulative_max, {x * x}, ScanParams{0, true});
       },
       rnd({5})},
      {"window_max",
       [](const Tensor& x) {
         return bind1(Prim::window_max, {x * x},
                      WindowParams{{2, 2}, {1, 2}, {1, 0}, {0, 1}, {1, 1}});
       },
       rnd({3, 4})},
      {"window_product",
       [](const Tensor& x) {
         return bind1(Prim::window_product, {x}, WindowParams{{2}, {2}, {1}, {1}, {1}});
       },
       rnd({5})},
      {"window_sum",
       [](const Tensor& x) {
         return bind1(Prim::window_sum, {x * x}, WindowParams{{3}, {2}, {1}, {2}, {2}});
       },
       rnd({6})},
      {"conv",
       [w](const Tensor& x) {
         return bind1(Prim::conv_general, {x * x, w * x.size()},
                      ConvParams{{2}, {1}, {0}, {1}, {2}, 1, 1});
       },
       rnd({2, 2, 5})},
      {"dot",
       [m](const Tensor& x) {
         return bind1(Prim::dot_general, {x * x, m}, DotParams{{1}, {}, {0}, {}});
       },
       rnd({2, 3})},
      {"gather and sort",
       [](const Tensor& x) {
         Tensor s = bind(Prim::sort, {x * x}, SortParams{0, false})[0];
         return bind1(Prim::gather, {s, s64s({1, 1, 3}, {3, 1})}, GatherParams{{0}});
       },
       rnd({4})},
      {"qr", [](const Tensor& x) { return bind(Prim::qr, {x}, QrParams{false})[0]; }, rnd({3, 2})},
  };
  for (const Op& op : ops) {
    SCOPED_TRACE(op.name);
    Tensor probe = op.f(op.x);
    Tensor c = rnd(probe.shape()), v = rnd(op.x.shape());
    auto first = [&](const Tensor& x) {
      return nx::grad(x, [&](const Tensor& t) {
        return bind1(Prim::reduce_sum, {op.f(t) * c}, AxesParams{all_axes(probe.rank())});
      });
    };
    auto along_v = [&](const Tensor& x) {
      return bind1(Prim::reduce_sum, {first(x) * v}, AxesParams{all_axes(x.rank())});
    };
    std::vector<double> hv = nx::grad(op.x, along_v).to_vector<double>();
    std::vector<double> x = op.x.to_vector<double>();
    for (size_t j = 0; j < x.size(); ++j) {
      double h = 1e-5;
      std::vector<double> xp = x, xm = x;
      xp[j] += h;
      xm[j] -= h;
      double fd = (along_v(f64s(xp, op.x.shape())).item<double>() -
                   along_v(f64s(xm, op.x.shape())).item<double>()) /
                  (2 * h);
      EXPECT_NEAR(hv[j], fd, 1e-5 * std::max(1.0, std::abs(fd))) << "element " << j;
    }
  }
}

// ---- conversion
// ----------------------------------------------------------------------------------

TEST(VjpRules, ConvertAndBitcast) {
  Tensor x32 = nx::ones({2}, DType::F32);
  Case c{"f32 to f64", Prim::convert, ConvertParams{DType::F64}, {x32}};
  auto out = bind(c.prim, c.in, c.params);
  auto got = run_rule(c, out, {f64s({0.25, -3}, {2})});
  ASSERT_EQ(got[0].type(), x32.type());
  EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{0.25, -3}));

  check_fd({"f64 to f64", Prim::convert, ConvertParams{DType::F64}, {rnd({3})}});
  check_fd({"f64 to s32", Prim::convert, ConvertParams{DType::S32}, {rnd({3}, 0.2, 0.8)}});
  check_fd({"s32 to f64", Prim::convert, ConvertParams{DType::F64}, {nx::ones({3}, DType::S32)}});
  Case b{"bitcast", Prim::bitcast, ConvertParams{DType::S64}, {rnd({3})}};
  out = bind(b.prim, b.in, b.params);
  EXPECT_FALSE(run_rule(b, out, {Tensor()})[0].defined());
}

// ---- movement
// ------------------------------------------------------------------------------------

TEST(VjpRules, Movement) {
  check_all({
      {"broadcast_in_dim",
       Prim::broadcast_in_dim,
       BroadcastParams{{2, 3, 4}, {1, 2}},
       {rnd({3, 1})}},
      {"broadcast_in_dim scalar", Prim::broadcast_in_dim, BroadcastParams{{2, 3}, {}}, {rnd({})}},
      {"broadcast_in_dim 1 to 1",
       Prim::broadcast_in_dim,
       BroadcastParams{{1, 3}, {0, 1}},
       {rnd({1, 3})}},
      {"reshape", Prim::reshape, ReshapeParams{{3, 2}}, {rnd({2, 3})}},
      {"transpose", Prim::transpose, AxesParams{{2, 0, 1}}, {rnd({2, 3, 4})}},
      {"slice strided", Prim::slice, SliceParams{{1, 0}, {5, 7}, {2, 3}}, {rnd({5, 7})}},
      {"slice", Prim::slice, SliceParams{{1, 2}, {3, 3}, {1, 1}}, {rnd({4, 4})}},
      {"dynamic_slice clamped",
       Prim::dynamic_slice,
       DynamicSliceParams{{3, 3}},
       {rnd({5, 6}), idx(2), idx(4)}},
      {"dynamic_slice negative start",
       Prim::dynamic_slice,
       DynamicSliceParams{{2, 3}},
       {rnd({5, 6}), idx(-1), idx(1)}},
      {"dynamic_update_slice clamped",
       Prim::dynamic_update_slice,
       NoParams{},
       {rnd({5, 6}), rnd({2, 3}), idx(4), idx(1)}},
      {"pad negative and interior",
       Prim::pad,
       PadParams{{1, -1}, {-1, 2}, {1, 2}},
       {rnd({3, 4}), rnd({})}},
      {"pad crop", Prim::pad, PadParams{{-2, 0}, {0, -1}, {0, 0}}, {rnd({4, 3}), rnd({})}},
      {"concatenate", Prim::concatenate, ConcatParams{1}, {rnd({2, 1}), rnd({2, 3}), rnd({2, 2})}},
      {"reverse", Prim::reverse, AxesParams{{0, 2}}, {rnd({2, 3, 2})}},
  });
  auto out = bind(Prim::iota, std::span<const Tensor>(), IotaParams{{3}, DType::F64, -1});
  Case c{"iota", Prim::iota, IotaParams{{3}, DType::F64, -1}, {}};
  EXPECT_TRUE(run_rule(c, out, {nx::ones({3}, DType::F64)}).empty());
}

// ---- reductions
// ----------------------------------------------------------------------------------

TEST(VjpRules, Reductions) {
  Tensor with_zeros = f64s({0.5, 0, 1.5, -2, 0, 0, 1.2, 0.7, -0.3, 2, 0, 1}, {2, 3, 2});
  check_all({
      {"reduce_sum", Prim::reduce_sum, AxesParams{{0, 2}}, {rnd({2, 3, 4})}},
      {"reduce_sum all", Prim::reduce_sum, AxesParams{{0, 1}}, {rnd({2, 3})}},
      {"reduce_prod", Prim::reduce_prod, AxesParams{{1}}, {rnd({2, 3, 4}, 0.5, 1.5)}},
      {"reduce_prod two axes",
       Prim::reduce_prod,
       AxesParams{{0, 2}},
       {rnd_signed({2, 3, 2}, 0.5, 1.5)}},
      {"reduce_prod with zeros", Prim::reduce_prod, AxesParams{{1, 2}}, {with_zeros}},
      {"reduce_prod no axes", Prim::reduce_prod, AxesParams{{}}, {rnd({2, 2})}},
      {"reduce_max", Prim::reduce_max, AxesParams{{1}}, {rnd({3, 4})}},
      {"reduce_min", Prim::reduce_min, AxesParams{{0, 2}}, {rnd({2, 3, 2})}},
      {"argmax", Prim::argmax, ArgParams{1}, {rnd({3, 4})}},
      {"argmin", Prim::argmin, ArgParams{0}, {rnd({3, 4})}},
  });
  Tensor b = from_vector(std::vector<bool>{true, false, true, true}, Shape{2, 2});
  check_fd({"reduce_and", Prim::reduce_and, AxesParams{{1}}, {b}});
  check_fd({"reduce_or", Prim::reduce_or, AxesParams{{1}}, {b}});
}

// ---- contractions ------------------------------------------------------------------------------

TEST(VjpRules, DotGeneral) {
  check_all({
      {"matmul", Prim::dot_general, DotParams{{1}, {}, {0}, {}}, {rnd({2, 3}), rnd({3, 4})}},
      {"batched, permuted",
       Prim::dot_general,
       DotParams{{2}, {0}, {0}, {2}},
       {rnd({3, 2, 4}), rnd({4, 5, 3})}},
      {"two contractions out of order",
       Prim::dot_general,
       DotParams{{2, 0}, {}, {0, 1}, {}},
       {rnd({2, 3, 4}), rnd({4, 2, 5})}},
      {"two batch axes",
       Prim::dot_general,
       DotParams{{1}, {3, 0}, {2}, {0, 1}},
       {rnd({2, 3, 2, 4}), rnd({4, 2, 3, 2})}},
      {"outer", Prim::dot_general, DotParams{{}, {}, {}, {}}, {rnd({2}), rnd({3})}},
      {"inner", Prim::dot_general, DotParams{{0}, {}, {0}, {}}, {rnd({4}), rnd({4})}},
  });
}

TEST(VjpRules, ConvGeneral) {
  auto conv = [](Ints strides, Ints lo, Ints hi, Ints ld, Ints rd, int64_t fg = 1, int64_t bg = 1) {
    return ConvParams{strides, lo, hi, ld, rd, fg, bg};
  };
  check_all({
      {"1d", Prim::conv_general, conv({1}, {0}, {0}, {1}, {1}), {rnd({2, 3, 7}), rnd({4, 3, 3})}},
      {"1d stride leaves a tail",
       Prim::conv_general,
       conv({2}, {0}, {0}, {1}, {1}),
       {rnd({1, 2, 6}), rnd({2, 2, 3})}},
      {"2d strides padding dilations",
       Prim::conv_general,
       conv({2, 1}, {1, 0}, {2, 1}, {1, 2}, {2, 1}),
       {rnd({2, 2, 6, 5}), rnd({3, 2, 2, 3})}},
      {"feature groups",
       Prim::conv_general,
       conv({2}, {1}, {1}, {1}, {1}, 2),
       {rnd({2, 4, 6}), rnd({6, 2, 3})}},
      {"depthwise 2d",
       Prim::conv_general,
       conv({2, 2}, {1, 1}, {1, 0}, {1, 1}, {2, 1}, 3),
       {rnd({1, 3, 6, 5}), rnd({3, 1, 2, 3})}},
      {"batch groups",
       Prim::conv_general,
       conv({1}, {0}, {1}, {1}, {1}, 1, 2),
       {rnd({4, 3, 5}), rnd({4, 3, 2})}},
      {"batch groups strided",
       Prim::conv_general,
       conv({2, 1}, {1, 0}, {0, 0}, {1, 1}, {1, 2}, 1, 3),
       {rnd({3, 2, 5, 6}), rnd({6, 2, 2, 2})}},
      {"negative padding, input dilation",
       Prim::conv_general,
       conv({1}, {-1}, {1}, {2}, {1}),
       {rnd({2, 2, 5}), rnd({3, 2, 3})}},
      {"all together",
       Prim::conv_general,
       conv({3}, {2}, {-1}, {2}, {2}, 2),
       {rnd({2, 4, 7}), rnd({4, 2, 2})}},
  });
}

// ---- windows -----------------------------------------------------------------------------------

TEST(VjpRules, Windows) {
  WindowParams pooled{{2, 3}, {2, 1}, {1, 0}, {0, 2}, {1, 2}};
  WindowParams overlap{{3}, {1}, {1}, {1}, {1}};
  Tensor with_zeros = f64s({0.5, 0, 1.5, -2, 0.9, 1.1, 1.2, 0.7, -0.3, 2, 0, 1}, {2, 6});
  check_all({
      {"window_sum", Prim::window_sum, pooled, {rnd({4, 6})}},
      {"window_sum overlap", Prim::window_sum, overlap, {rnd({5})}},
      {"window_sum stride > window",
       Prim::window_sum,
       WindowParams{{2}, {3}, {0}, {0}, {1}},
       {rnd({8})}},
      {"window_product", Prim::window_product, pooled, {rnd({4, 6}, 0.5, 1.5)}},
      {"window_product with zeros",
       Prim::window_product,
       WindowParams{{2, 2}, {1, 2}, {0, 1}, {1, 0}, {1, 1}},
       {with_zeros}},
      {"window_max", Prim::window_max, pooled, {rnd({4, 6})}},
      {"window_min", Prim::window_min, overlap, {rnd({5})}},
      {"window_scatter_max", Prim::window_scatter_max, pooled, {rnd({4, 6}), rnd({2, 4}), rnd({})}},
      {"window_scatter_min", Prim::window_scatter_min, overlap, {rnd({5}), rnd({5}), rnd({})}},
  });
}

// ---- indexing ----------------------------------------------------------------------------------

TEST(VjpRules, GatherScatter) {
  Tensor rows = s64s({1, 3, 1, 7}, {4, 1});                 // a repeat and a clamped index
  Tensor points = s64s({0, 1, 2, 4, 0, 1, -3, 9}, {4, 2});  // a repeat, clamped entries
  check_all({
      {"gather rows", Prim::gather, GatherParams{{0}}, {rnd({4, 5}), rows}},
      {"gather points", Prim::gather, GatherParams{{0, 1}}, {rnd({4, 5}), points}},
      {"gather columns", Prim::gather, GatherParams{{1}}, {rnd({4, 5}), rows}},
      {"scatter_add rows", Prim::scatter_add, GatherParams{{0}}, {rnd({4, 5}), rows, rnd({4, 5})}},
      {"scatter_add points",
       Prim::scatter_add,
       GatherParams{{1, 0}},
       {rnd({5, 4}), points, rnd({4})}},
      {"scatter_put rows", Prim::scatter_put, GatherParams{{0}}, {rnd({4, 5}), rows, rnd({4, 5})}},
      {"scatter_put points",
       Prim::scatter_put,
       GatherParams{{0, 1}},
       {rnd({4, 5}), points, rnd({4})}},
  });
  // The overwritten update of a repeated index gets nothing.
  Case c{"scatter_put winner",
         Prim::scatter_put,
         GatherParams{{0}},
         {rnd({3, 2}), s64s({1, 1}, {2, 1}), rnd({2, 2})}};
  auto out = bind(c.prim, c.in, c.params);
  auto got = run_rule(c, out, {nx::ones({3, 2}, DType::F64)});
  EXPECT_EQ(got[2].to_vector<double>(), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(got[0].to_vector<double>(), (std::vector<double>{1, 1, 0, 0, 1, 1}));
}

// ---- sort and scans
// ------------------------------------------------------------------------------

TEST(VjpRules, SortAndScans) {
  Tensor with_zeros = f64s({0.5, 0, 1.5, -2, 0, 0.9, 1.2, 0.7, -0.3, 2}, {2, 5});
  check_all({
      {"sort", Prim::sort, SortParams{1, false}, {rnd({3, 5})}},
      {"sort descending axis 0", Prim::sort, SortParams{0, true}, {rnd({4, 3})}},
      {"cumulative_sum", Prim::cumulative_sum, ScanParams{1, false}, {rnd({3, 5})}},
      {"cumulative_sum reverse", Prim::cumulative_sum, ScanParams{0, true}, {rnd({3, 5})}},
      {"cumulative_product",
       Prim::cumulative_product,
       ScanParams{1, false},
       {rnd_signed({3, 7}, 0.5, 1.5)}},
      {"cumulative_product reverse",
       Prim::cumulative_product,
       ScanParams{0, true},
       {rnd({5, 2}, 0.5, 1.5)}},
      {"cumulative_product with zeros",
       Prim::cumulative_product,
       ScanParams{1, false},
       {with_zeros}},
      {"cumulative_product with zeros reverse",
       Prim::cumulative_product,
       ScanParams{1, true},
       {with_zeros}},
      {"cumulative_max", Prim::cumulative_max, ScanParams{1, false}, {rnd({3, 6})}},
      {"cumulative_max reverse", Prim::cumulative_max, ScanParams{1, true}, {rnd({3, 6})}},
      {"cumulative_min", Prim::cumulative_min, ScanParams{0, false}, {rnd({6, 2})}},
      {"cumulative_min reverse", Prim::cumulative_min, ScanParams{0, true}, {rnd({6, 2})}},
  });
  // Only the indices output has a cotangent: zero.
  Case c{"sort indices only", Prim::sort, SortParams{0, false}, {rnd({4})}};
  auto out = bind(c.prim, c.in, c.params);
  EXPECT_FALSE(run_rule(c, out, {Tensor(), Tensor()})[0].defined());
}

// ---- random bits, linear algebra ---------------------------------------------------------------

TEST(VjpRules, Threefry) {
  Tensor key = from_vector(std::vector<uint32_t>{1, 2});
  Tensor x = from_vector(std::vector<uint32_t>{3, 4, 5});
  Case c{"threefry", Prim::threefry2x32, NoParams{}, {key, x, x}};
  auto out = bind(c.prim, c.in, c.params);
  auto got = run_rule(c, out, {Tensor(), Tensor()});
  ASSERT_EQ(got.size(), 3u);
  for (const Tensor& t : got) EXPECT_FALSE(t.defined());
}

TEST(VjpRules, Qr) {
  check_all(
      {
          {"tall", Prim::qr, QrParams{false}, {rnd({5, 3})}},
          {"square", Prim::qr, QrParams{false}, {rnd({3, 3})}},
          {"square complete", Prim::qr, QrParams{true}, {rnd({3, 3})}},
          {"wide", Prim::qr, QrParams{false}, {rnd({3, 5})}},
          {"wide complete", Prim::qr, QrParams{true}, {rnd({2, 4})}},
          {"batched", Prim::qr, QrParams{false}, {rnd({2, 4, 3})}},
          {"batched wide", Prim::qr, QrParams{false}, {rnd({2, 2, 3})}},
          {"one column", Prim::qr, QrParams{false}, {rnd({4, 1})}},
      },
      1e-5);
  // Only one output with a cotangent.
  Case c{"r only", Prim::qr, QrParams{false}, {rnd({4, 3})}};
  auto out = bind(c.prim, c.in, c.params);
  auto got = run_rule(c, out, {Tensor(), rnd({3, 3})});
  ASSERT_TRUE(got[0].defined());
  EXPECT_EQ(got[0].type(), c.in[0].type());

  Case full{"complete tall", Prim::qr, QrParams{true}, {rnd({4, 2})}};
  out = bind(full.prim, full.in, full.params);
  std::vector<Tensor> ct = random_cts(out);
  expect_error([&] { run_rule(full, out, ct); }, {"nx::qr", "complete", "f64[4][2]"});
}

// ---- rule mechanics
// ------------------------------------------------------------------------------

TEST(VjpRules, SkipsInputsThatAreNotWanted) {
  Case c{"multiply", Prim::multiply, NoParams{}, {rnd({2, 3}), rnd({3})}};
  auto out = bind(c.prim, c.in, c.params);
  std::vector<Tensor> ct{rnd({2, 3})};
  bool wanted[2] = {false, true};
  VjpArgs a{c.prim, c.params, c.in, out, ct, std::span<const bool>(wanted, 2)};
  auto got = vjp_rule(c.prim)(a);
  EXPECT_FALSE(got[0].defined());
  ASSERT_TRUE(got[1].defined());
  EXPECT_EQ(got[1].type(), c.in[1].type());
}

TEST(VjpRules, LowPrecisionCotangentsKeepTheirDtype) {
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    Tensor x = nx::full({2, 3}, 0.5, t), y = nx::full({3}, 2.0, t);
    for (Prim p : {Prim::multiply, Prim::divide, Prim::pow, Prim::max, Prim::atan2}) {
      Case c{std::string(prim_name(p)), p, NoParams{}, {x, y}};
      auto out = bind(c.prim, c.in, c.params);
      auto got = run_rule(c, out, {nx::ones({2, 3}, t)});
      EXPECT_EQ(got[0].type(), x.type()) << prim_name(p) << " " << dtype_name(t);
      EXPECT_EQ(got[1].type(), y.type()) << prim_name(p) << " " << dtype_name(t);
    }
  }
}

// Rules only build ops: under tracing they record nodes and never read data.
TEST(VjpRules, RulesTraceWithoutReadingData) {
  std::vector<Case> cases = {
      {"exp", Prim::exp, NoParams{}, {rnd({2, 3})}},
      {"pow", Prim::pow, NoParams{}, {rnd({2, 3}, 0.5, 1), rnd({3})}},
      {"max", Prim::max, NoParams{}, {rnd({2, 3}), rnd({})}},
      {"pad", Prim::pad, PadParams{{1, -1}, {-1, 2}, {1, 2}}, {rnd({3, 4}), rnd({})}},
      {"reduce_prod", Prim::reduce_prod, AxesParams{{1}}, {rnd({2, 3})}},
      {"reduce_max", Prim::reduce_max, AxesParams{{0}}, {rnd({2, 3})}},
      {"dot", Prim::dot_general, DotParams{{2}, {0}, {0}, {2}}, {rnd({3, 2, 4}), rnd({4, 5, 3})}},
      {"conv",
       Prim::conv_general,
       ConvParams{{2}, {1}, {1}, {1}, {1}, 2, 1},
       {rnd({2, 4, 6}), rnd({6, 2, 3})}},
      {"window_sum", Prim::window_sum, WindowParams{{2}, {2}, {1}, {0}, {1}}, {rnd({5})}},
      {"window_product", Prim::window_product, WindowParams{{2}, {1}, {0}, {0}, {1}}, {rnd({5})}},
      {"window_scatter_max",
       Prim::window_scatter_max,
       WindowParams{{2}, {1}, {0}, {0}, {1}},
       {rnd({5}), rnd({4}), rnd({})}},
      {"gather", Prim::gather, GatherParams{{0}}, {rnd({4, 2}), s64s({1, 3}, {2, 1})}},
      {"scatter_put",
       Prim::scatter_put,
       GatherParams{{0}},
       {rnd({4, 2}), s64s({1, 1}, {2, 1}), rnd({2, 2})}},
      {"dynamic_update_slice",
       Prim::dynamic_update_slice,
       NoParams{},
       {rnd({5, 6}), rnd({2, 3}), idx(4), idx(1)}},
      {"sort", Prim::sort, SortParams{0, false}, {rnd({4})}},
      {"cumulative_product", Prim::cumulative_product, ScanParams{0, true}, {rnd({5})}},
      {"cumulative_max", Prim::cumulative_max, ScanParams{0, false}, {rnd({5})}},
      {"qr", Prim::qr, QrParams{false}, {rnd({3, 4})}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Tensor> out = bind(c.prim, c.in, c.params);
    std::vector<TensorType> types;
    for (const Tensor& t : c.in) types.push_back(t.type());
    std::vector<size_t> float_outs;
    for (size_t k = 0; k < out.size(); ++k) {
      if (is_float(out[k].dtype())) {
        types.push_back(out[k].type());
        float_outs.push_back(k);
      }
    }
    Traced tr = trace_function(types, [&](std::span<const Tensor> params) {
      std::vector<Tensor> in(params.begin(), params.begin() + static_cast<long>(c.in.size()));
      std::vector<Tensor> traced_out = bind(c.prim, in, c.params);
      std::vector<Tensor> ct(traced_out.size());
      for (size_t j = 0; j < float_outs.size(); ++j) ct[float_outs[j]] = params[c.in.size() + j];
      Case traced = c;
      traced.in = in;
      std::vector<Tensor> got = run_rule(traced, traced_out, ct);
      std::vector<Tensor> results;
      for (size_t i = 0; i < got.size(); ++i) {
        if (got[i].defined()) {
          EXPECT_TRUE(got[i].is_traced());
          EXPECT_EQ(got[i].type(), c.in[i].type());
          results.push_back(got[i]);
        }
      }
      return results;
    });
    EXPECT_FALSE(tr.graph->nodes.empty());
  }
}

}  // namespace
}  // namespace nx::detail
