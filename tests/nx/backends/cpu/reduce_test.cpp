// reduce_sum, reduce_prod, reduce_max, reduce_min: hand-derived cases (identities, wrapping,
// NaN, f16 accumulation), exact comparison with naive references over random shapes, axes and
// every numeric dtype, large shapes that take each path of the engine (inner and outer
// reductions, split ranges, packed narrow rows), and f32 accuracy against a float64 sum.
#include <gtest/gtest.h>

#include "nx/backends/cpu/reduce_ops.hpp"
#include "reduce_test_util.hpp"

namespace nx {
namespace {

using detail::AxesParams;
using detail::bind1;
using detail::Prim;
using namespace reduce_test;

Tensor reduce(Prim p, const Tensor& x, Axes axes) {
  return bind1(p, {x}, AxesParams{axes});
}
std::vector<double> dbl(const Tensor& t) {
  return t.to_vector<double>();
}

struct ReduceRef {
  DType dtype;
  Shape shape;
  Axes axes;
  std::vector<double> x, sum, prod, max, min;
};
#include "reduce_test_data.inc"

TEST(ReduceKernels, MatchNumPy) {
  for (const ReduceRef& r : kReduceRefs) {
    Tensor x = typed(r.x, r.shape, r.dtype);
    const std::string what = std::string(dtype_name(r.dtype)) + " axes " + shape_repr(r.axes);
    EXPECT_EQ(dbl(reduce(Prim::reduce_sum, x, r.axes)), r.sum) << what;
    EXPECT_EQ(dbl(reduce(Prim::reduce_max, x, r.axes)), r.max) << what;
    EXPECT_EQ(dbl(reduce(Prim::reduce_min, x, r.axes)), r.min) << what;
    auto prod = dbl(reduce(Prim::reduce_prod, x, r.axes));
    ASSERT_EQ(prod.size(), r.prod.size());
    for (size_t i = 0; i < prod.size(); ++i)
      EXPECT_NEAR(prod[i], r.prod[i], std::abs(r.prod[i]) * 1e-12) << what << " at " << i;
  }
}

TEST(ReduceKernels, HandDerived) {
  Tensor x = tensor({{1, -2, 3}, {4, 5, -6}});
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, x, {})), (std::vector<double>{1, -2, 3, 4, 5, -6}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, x, {0})), (std::vector<double>{5, 3, -3}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, x, {1})), (std::vector<double>{2, 3}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, x, {0, 1})), (std::vector<double>{5}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_prod, x, {0})), (std::vector<double>{4, -10, -18}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_prod, x, {0, 1})), (std::vector<double>{720}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_max, x, {1})), (std::vector<double>{3, 5}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_min, x, {0})), (std::vector<double>{1, -2, -6}));
  Tensor r = reduce(Prim::reduce_sum, x, {0, 1});
  EXPECT_EQ(r.rank(), 0);
  EXPECT_EQ(r.dtype(), DType::S32);
  Tensor f = tensor({{0.5, 0.25}, {2.0, -1.0}});
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, f, {1})), (std::vector<double>{0.75, 1.0}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_prod, f, {0})), (std::vector<double>{1.0, -0.25}));
  Tensor s = from_vector(std::vector<double>{2.5}, Shape{});
  EXPECT_EQ(reduce(Prim::reduce_max, s, {}).item<double>(), 2.5);
  Tensor ones = from_vector(std::vector<float>{7}, Shape{1, 1, 1});
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, ones, {0, 2})), (std::vector<double>{7}));
}

TEST(ReduceKernels, EmptyReductionsGiveTheIdentity) {
  for (DType dt : kNumericDTypes) {
    Tensor e = typed({}, {0, 3}, dt);
    SCOPED_TRACE(std::string(dtype_name(dt)));
    EXPECT_EQ(dbl(reduce(Prim::reduce_sum, e, {0})), (std::vector<double>{0, 0, 0}));
    EXPECT_EQ(dbl(reduce(Prim::reduce_prod, e, {0})), (std::vector<double>{1, 1, 1}));
    EXPECT_EQ(reduce(Prim::reduce_sum, e, {1}).shape(), (Shape{0}));
    Tensor mx = reduce(Prim::reduce_max, e, {0, 1}), mn = reduce(Prim::reduce_min, e, {0, 1});
    detail::visit_dtype(dt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) {
        EXPECT_EQ(mx.item<T>(), std::numeric_limits<T>::lowest());
        EXPECT_EQ(mn.item<T>(), std::numeric_limits<T>::max());
      } else {
        EXPECT_EQ(mx.item<double>(), -kInf);
        EXPECT_EQ(mn.item<double>(), kInf);
      }
    });
  }
}

TEST(ReduceKernels, IntegersWrapInTheirDtype) {
  EXPECT_EQ(reduce(Prim::reduce_sum, typed({100, 100}, {2}, s8), {0}).item<int64_t>(), -56);
  EXPECT_EQ(reduce(Prim::reduce_sum, typed({200, 100}, {2}, u8), {0}).item<int64_t>(), 44);
  Tensor big = from_vector(std::vector<int32_t>{std::numeric_limits<int32_t>::max(), 1});
  EXPECT_EQ(reduce(Prim::reduce_sum, big, {0}).item<int32_t>(),
            std::numeric_limits<int32_t>::min());
  EXPECT_EQ(reduce(Prim::reduce_prod, typed({256, 256}, {2}, u16), {0}).item<int64_t>(), 0);
  EXPECT_EQ(reduce(Prim::reduce_prod, typed({255, 255}, {2}, u16), {0}).item<int64_t>(), 65025);
  EXPECT_EQ(reduce(Prim::reduce_prod, typed({300, 300}, {2}, u16), {0}).item<int64_t>(),
            90000 % 65536);
  EXPECT_EQ(reduce(Prim::reduce_prod, typed({-32768, -1}, {2}, s16), {0}).item<int64_t>(), -32768);
  Tensor u64s = from_vector(std::vector<uint64_t>{uint64_t{1} << 63, 2, 3});
  EXPECT_EQ(reduce(Prim::reduce_prod, u64s, {0}).item<uint64_t>(), 0u);
  EXPECT_EQ(reduce(Prim::reduce_sum, u64s, {0}).item<uint64_t>(), (uint64_t{1} << 63) + 5);
  // 1000 elements of 7 in s8: 7000 mod 256 = 88, through the packed narrow-row path too.
  Tensor sevens = full({1000, 3}, 7, s8);
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, sevens, {0})), (std::vector<double>{88, 88, 88}));
  EXPECT_EQ(dbl(reduce(Prim::reduce_sum, sevens, {0, 1})),
            (std::vector<double>{8}));  // 21000 mod 256
}

TEST(ReduceKernels, MaxAndMinPropagateNaN) {
  Tensor x = tensor({{1.0, kNaN, 3.0}, {4.0, 5.0, -kInf}});
  for (DType dt : {DType::F16, DType::BF16, DType::F32, DType::F64}) {
    Tensor t = typed(dbl(x), {2, 3}, dt);
    expect_close(dbl(reduce(Prim::reduce_max, t, {0})), {4, kNaN, 3}, 0, "max axis 0");
    expect_close(dbl(reduce(Prim::reduce_max, t, {1})), {kNaN, 5}, 0, "max axis 1");
    expect_close(dbl(reduce(Prim::reduce_min, t, {1})), {kNaN, -kInf}, 0, "min axis 1");
    expect_close(dbl(reduce(Prim::reduce_min, t, {0, 1})), {kNaN}, 0, "min all");
    expect_close(dbl(reduce(Prim::reduce_sum, t, {1})), {kNaN, -kInf}, 0, "sum axis 1");
  }
  // A single NaN among many, wherever the lanes and chunks put it.
  for (int64_t at : {0, 5, 63, 64, 100000, 199999}) {
    std::vector<float> v(200000, 1.0f);
    v[at] = std::nanf("");
    Tensor t = from_vector(v);
    EXPECT_TRUE(std::isnan(reduce(Prim::reduce_max, t, {0}).item<float>())) << at;
    EXPECT_TRUE(std::isnan(reduce(Prim::reduce_min, t, {0}).item<float>())) << at;
    Tensor m = from_vector(v, Shape{50000, 4});
    auto col = dbl(reduce(Prim::reduce_max, m, {0}));
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(std::isnan(col[j]), j == at % 4) << at;
  }
}

TEST(ReduceKernels, HalfFloatsAccumulateInF32) {
  // 4096 ones: an f16 accumulator would stop at 2048 (2048 + 1 rounds back to 2048).
  EXPECT_EQ(reduce(Prim::reduce_sum, full({4096}, 1, f16), {0}).item<float>(), 4096.0f);
  EXPECT_EQ(reduce(Prim::reduce_sum, full({64, 4096}, 1, f16), {1}).to_vector<float>(),
            std::vector<float>(64, 4096.0f));
  EXPECT_EQ(reduce(Prim::reduce_sum, full({4096, 3}, 1, f16), {0}).to_vector<float>(),
            std::vector<float>(3, 4096.0f));
  // bf16 holds 256 + 1 = 257 as 256; 1000 is exact.
  EXPECT_EQ(reduce(Prim::reduce_sum, full({1000}, 1, bf16), {0}).item<float>(), 1000.0f);
  // 300 * 300 = 90000 overflows f16 but not the f32 accumulator: 90000 / 256 = 351.5625,
  // which rounds to 351.5 in f16.
  Tensor p = from_vector(std::vector<half>{half(300.0f), half(300.0f), half(1.0f / 256)});
  EXPECT_EQ(reduce(Prim::reduce_prod, p, {0}).item<float>(), 351.5f);  // 90000 overflows f16
}

TEST(ReduceKernels, F32SumsArePairwiseAccurate) {
  // Sequential f32 summation of 4M copies of 0.1f is off by about 2%; pairwise by ~1e-7.
  const int64_t n = int64_t{1} << 22;
  Tensor x = full({n}, 0.1, f32);
  const double exact = static_cast<double>(0.1f) * static_cast<double>(n);
  EXPECT_NEAR(reduce(Prim::reduce_sum, x, {0}).item<float>(), exact, exact * 1e-6);
  Tensor rows = bind1(Prim::reshape, {x}, detail::ReshapeParams{{n / 4, 4}});
  for (double v : dbl(reduce(Prim::reduce_sum, rows, {0}))) EXPECT_NEAR(v, exact / 4, exact * 1e-6);
  Tensor wide = bind1(Prim::reshape, {x}, detail::ReshapeParams{{n / 1024, 1024}});
  for (double v : dbl(reduce(Prim::reduce_sum, wide, {0})))
    EXPECT_NEAR(v, exact / 1024, exact * 1e-6);
  Tensor mid = bind1(Prim::reshape, {x}, detail::ReshapeParams{{64, n / 256, 4}});
  for (double v : dbl(reduce(Prim::reduce_sum, mid, {0, 1})))
    EXPECT_NEAR(v, exact / 4, exact * 1e-6);
}

TEST(ReduceKernels, WidenMatchesTheHalfConversions) {
  for (uint32_t b = 0; b < 65536; ++b) {
    half h = half::from_bits(static_cast<uint16_t>(b));
    bfloat16 g = bfloat16::from_bits(static_cast<uint16_t>(b));
    float a = cpu::widen(h), w = static_cast<float>(h);
    EXPECT_EQ(std::bit_cast<uint32_t>(a), std::bit_cast<uint32_t>(w)) << b;
    EXPECT_EQ(std::bit_cast<uint32_t>(cpu::widen(g)),
              std::bit_cast<uint32_t>(static_cast<float>(g)));
  }
}

// Random shapes, axes and dtypes, every op, compared exactly with the naive reference: the
// values are small integers, so sums are exact in every dtype and only the final rounding to
// f16/bf16 applies, and products use {-2, -1, 1, 2} with few factors.
void check_random(Prim p, const Shape& shape, const Axes& axes, DType dt, std::mt19937_64& rng) {
  std::vector<double> v = small_values(num_elements(shape), rng, dt);
  if (p == Prim::reduce_prod)
    for (double& d : v)
      d = is_unsigned_int(dt) ? static_cast<double>(1 + rng() % 2)
                              : std::vector<double>{-2, -1, 1, 2}[rng() % 4];
  Tensor x = typed(v, shape, dt);
  Tensor r = reduce(p, x, axes);
  ASSERT_EQ(r.shape(), drop_axes(shape, axes));
  const std::string what = std::string(prim_name(p)) + " " + shape_repr(shape) + " axes " +
                           shape_repr(axes) + " " + std::string(dtype_name(dt));
  if (is_integer(dt) && (p == Prim::reduce_sum || p == Prim::reduce_prod)) {
    std::vector<uint64_t> u;
    for (double d : v) u.push_back(static_cast<uint64_t>(static_cast<int64_t>(d)));
    auto want = ref_reduce<uint64_t>(
        u, shape, axes, p == Prim::reduce_sum ? 0 : 1,
        [&](uint64_t a, uint64_t b) { return p == Prim::reduce_sum ? a + b : a * b; });
    for (auto& w : want) w = wrap_to(w, dt);
    EXPECT_EQ(int_bits(r), want) << what;
    return;
  }
  std::vector<double> want;
  if (p == Prim::reduce_sum)
    want = ref_reduce<double>(v, shape, axes, 0.0, [](double a, double b) { return a + b; });
  if (p == Prim::reduce_prod)
    want = ref_reduce<double>(v, shape, axes, 1.0, [](double a, double b) { return a * b; });
  if (p == Prim::reduce_max) want = ref_reduce<double>(v, shape, axes, -kInf, ref_max);
  if (p == Prim::reduce_min) want = ref_reduce<double>(v, shape, axes, kInf, ref_min);
  if (is_integer(dt)) {  // the integer identities of max and min
    detail::visit_dtype(dt, [&](auto tag) {
      using T = typename decltype(tag)::type;
      for (double& w : want)
        if (std::isinf(w))
          w = static_cast<double>(w > 0 ? std::numeric_limits<T>::max()
                                        : std::numeric_limits<T>::lowest());
    });
  } else {
    want = dbl(typed(want, {static_cast<int64_t>(want.size())}, dt));  // round once to dt
  }
  EXPECT_EQ(dbl(r), want) << what;
}

TEST(ReduceKernels, RandomAgainstReference) {
  std::mt19937_64 rng(11);
  for (int it = 0; it < 400; ++it) {
    Shape shape = movement_test::random_shape(rng, 4, 5);
    Axes axes;
    for (int64_t k = 0; k < static_cast<int64_t>(shape.size()); ++k)
      if (rng() % 2) axes.push_back(k);
    DType dt = kNumericDTypes[rng() % kNumericDTypes.size()];
    Prim p = std::vector<Prim>{Prim::reduce_sum, Prim::reduce_prod, Prim::reduce_max,
                               Prim::reduce_min}[rng() % 4];
    check_random(p, shape, axes, dt, rng);
  }
}

// Shapes that take each path of the engine: outputs in parallel, one output split into chunks
// (contiguous or over several runs), rows split across tasks, narrow rows packed, wide rows in
// column tiles, and several reduced groups.
TEST(ReduceKernels, LargeShapesTakeEveryPath) {
  struct Case {
    Shape shape;
    Axes axes;
  };
  std::vector<Case> cases = {{{140000}, {0}},         {{3, 70000}, {1}},
                             {{2, 40000, 2}, {0, 1}}, {{4000, 2, 20}, {0, 2}},
                             {{70000, 3}, {0}},       {{10000, 70}, {0}},
                             {{30, 5000}, {0}},       {{3, 5000, 7}, {1}},
                             {{60, 50, 70}, {0, 2}},  {{7, 300, 11, 40}, {1, 3}},
                             {{9000, 20}, {1}},       {{50, 3, 40, 5}, {0, 2}}};
  std::mt19937_64 rng(12);
  for (const Case& c : cases) {
    for (DType dt : {DType::F32, DType::S32, DType::F16, DType::U8, DType::F64}) {
      for (Prim p : {Prim::reduce_sum, Prim::reduce_max, Prim::reduce_min}) {
        check_random(p, c.shape, c.axes, dt, rng);
      }
    }
    check_random(Prim::reduce_prod, c.shape, c.axes, DType::S64, rng);
  }
}

TEST(ReduceKernels, BadParamsNameTheOpAndTheProblem) {
  Tensor x = tensor({{1, 2}, {3, 4}});
  movement_test::expect_error(
      [&] {
        reduce(Prim::reduce_sum, x, {1, 0});
      },
      {"nx::reduce_sum", "strictly increasing", "{1, 0}"});
  movement_test::expect_error([&] { reduce(Prim::reduce_max, x, {2}); },
                              {"nx::reduce_max", "axis 2 out of range for rank 2"});
  movement_test::expect_error([&] { reduce(Prim::reduce_prod, typed({1}, {1}, pred), {0}); },
                              {"nx::reduce_prod", "numeric", "pred[1]"});
}

}  // namespace
}  // namespace nx
