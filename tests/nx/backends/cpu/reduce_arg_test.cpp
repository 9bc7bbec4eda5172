// argmax and argmin: PyTorch references (gen_reduce_scan_sort_refs.py), hand-derived ties and
// NaN cases, and random shapes for every numeric dtype against a naive scan.
#include <gtest/gtest.h>

#include "reduce_test_util.hpp"

namespace nx {
namespace {

using detail::ArgParams;
using detail::bind1;
using detail::Prim;
using namespace reduce_test;

struct ArgRef {
  Shape shape;
  int64_t axis;
  std::vector<double> x;
  std::vector<int64_t> argmax, argmin;
};
#include "reduce_arg_test_data.inc"

std::vector<int64_t> arg(Prim p, const Tensor& x, int64_t axis, bool high = false) {
  Tensor r = bind1(p, {x}, ArgParams{axis, high});
  EXPECT_EQ(r.dtype(), DType::S64);
  return r.to_vector<int64_t>();
}

TEST(ReduceArgKernels, MatchPyTorch) {
  for (const ArgRef& r : kArgRefs) {
    for (DType dt : {DType::F32, DType::F64, DType::F16, DType::BF16}) {
      Tensor x = typed(r.x, r.shape, dt);
      EXPECT_EQ(arg(Prim::argmax, x, r.axis), r.argmax) << shape_repr(r.shape) << " " << r.axis;
      EXPECT_EQ(arg(Prim::argmin, x, r.axis), r.argmin) << shape_repr(r.shape) << " " << r.axis;
    }
  }
}

TEST(ReduceArgKernels, TiesAndNaN) {
  Tensor t = tensor({1, 5, 5, 2});
  EXPECT_EQ(arg(Prim::argmax, t, 0), (std::vector<int64_t>{1}));
  EXPECT_EQ(arg(Prim::argmax, t, 0, true), (std::vector<int64_t>{2}));
  Tensor u = tensor({3, 1, 1, 2});
  EXPECT_EQ(arg(Prim::argmin, u, 0), (std::vector<int64_t>{1}));
  EXPECT_EQ(arg(Prim::argmin, u, 0, true), (std::vector<int64_t>{2}));
  // NaN is the extreme of both; NaNs tie, so the tie rule picks among them.
  Tensor n = tensor({1.0, kNaN, 3.0, kNaN, -kInf});
  EXPECT_EQ(arg(Prim::argmax, n, 0), (std::vector<int64_t>{1}));
  EXPECT_EQ(arg(Prim::argmax, n, 0, true), (std::vector<int64_t>{3}));
  EXPECT_EQ(arg(Prim::argmin, n, 0), (std::vector<int64_t>{1}));
  EXPECT_EQ(arg(Prim::argmin, n, 0, true), (std::vector<int64_t>{3}));
  Tensor z = tensor({-0.0, 0.0});
  EXPECT_EQ(arg(Prim::argmax, z, 0), (std::vector<int64_t>{0}));
  EXPECT_EQ(arg(Prim::argmax, z, 0, true), (std::vector<int64_t>{1}));
  // Columns (the tiled path) see the same rules.
  Tensor m = tensor({{1.0, kNaN, 2.0}, {1.0, 3.0, kNaN}, {0.0, kNaN, 2.0}});
  EXPECT_EQ(arg(Prim::argmax, m, 0), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(arg(Prim::argmax, m, 0, true), (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(arg(Prim::argmin, m, 0), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(arg(Prim::argmin, m, 1), (std::vector<int64_t>{1, 2, 1}));
}

TEST(ReduceArgKernels, IntegerExtremesAndShapes) {
  Tensor a = from_vector(std::vector<int64_t>{0, INT64_MIN, INT64_MAX, INT64_MAX, -1});
  EXPECT_EQ(arg(Prim::argmax, a, 0), (std::vector<int64_t>{2}));
  EXPECT_EQ(arg(Prim::argmin, a, 0, true), (std::vector<int64_t>{1}));
  Tensor b = from_vector(std::vector<uint64_t>{1, UINT64_MAX, 0});
  EXPECT_EQ(arg(Prim::argmax, b, 0), (std::vector<int64_t>{1}));
  EXPECT_EQ(arg(Prim::argmin, b, 0), (std::vector<int64_t>{2}));
  Tensor e = typed({}, {0, 3}, f32);
  EXPECT_EQ(bind1(Prim::argmax, {e}, ArgParams{1}).shape(), (Shape{0}));
  Tensor one = typed({4}, {1, 1}, s8);
  EXPECT_EQ(arg(Prim::argmin, one, 1), (std::vector<int64_t>{0}));
}

// The naive reference: first (or last) position holding the extreme, NaN above everything.
std::vector<int64_t> ref_arg(const std::vector<double>& x, const Shape& s, int64_t axis, bool max,
                             bool high) {
  int64_t outer = 1, n = s[axis], inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (int64_t i = axis + 1; i < static_cast<int64_t>(s.size()); ++i) inner *= s[i];
  auto rank = [&](double v) { return std::isnan(v) ? kInf : (max ? v : -v); };  // larger wins
  std::vector<int64_t> out;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      int64_t best = 0;
      for (int64_t i = 1; i < n; ++i) {
        double a = rank(x[(o * n + i) * inner + j]), b = rank(x[(o * n + best) * inner + j]);
        bool nan_a = std::isnan(x[(o * n + i) * inner + j]),
             nan_b = std::isnan(x[(o * n + best) * inner + j]);
        bool tie = (nan_a && nan_b) || (!nan_a && !nan_b && a == b);
        if ((!tie && (nan_a || (!nan_b && a > b))) || (tie && high)) best = i;
      }
      out.push_back(best);
    }
  }
  return out;
}

TEST(ReduceArgKernels, RandomAgainstReference) {
  std::mt19937_64 rng(21);
  for (int it = 0; it < 300; ++it) {
    Shape s = movement_test::random_shape(rng, 4, 6);
    if (s.empty()) s = {5};
    if (it % 50 == 0) s = {3, 2000, 300};  // parallel, several column tiles
    int64_t axis = static_cast<int64_t>(rng() % s.size());
    if (s[axis] == 0) s[axis] = 3;
    DType dt = kNumericDTypes[rng() % kNumericDTypes.size()];
    std::vector<double> v = small_values(num_elements(s), rng, dt);
    if (is_float(dt))
      for (double& d : v)
        if (rng() % 23 == 0) d = kNaN;
    Tensor x = typed(v, s, dt);
    for (bool high : {false, true}) {
      EXPECT_EQ(arg(Prim::argmax, x, axis, high), ref_arg(v, s, axis, true, high))
          << shape_repr(s) << " axis " << axis << " " << dtype_name(dt);
      EXPECT_EQ(arg(Prim::argmin, x, axis, high), ref_arg(v, s, axis, false, high))
          << shape_repr(s) << " axis " << axis << " " << dtype_name(dt);
    }
  }
}

TEST(ReduceArgKernels, BadParamsNameTheOpAndTheProblem) {
  Tensor x = tensor({{1, 2}, {3, 4}});
  movement_test::expect_error([&] { bind1(Prim::argmax, {x}, ArgParams{2}); },
                              {"nx::argmax", "axis 2 out of range", "s32[2][2]"});
  movement_test::expect_error(
      [&] {
        bind1(Prim::argmin, {typed({}, {2, 0}, f32)}, ArgParams{1});
      },
      {"nx::argmin", "empty axis", "f32[2][0]"});
  movement_test::expect_error([&] { bind1(Prim::argmax, {typed({1}, {1}, pred)}, ArgParams{0}); },
                              {"nx::argmax", "numeric", "pred[1]"});
}

}  // namespace
}  // namespace nx
