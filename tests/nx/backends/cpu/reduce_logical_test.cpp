// reduce_and and reduce_or: every dtype in, pred out; hand-derived truth values (signed zeros,
// NaN, identities) and random shapes against a naive reference.
#include <gtest/gtest.h>

#include "reduce_test_util.hpp"

namespace nx {
namespace {

using detail::AxesParams;
using detail::bind1;
using detail::Prim;
using namespace reduce_test;

std::vector<bool> logical(Prim p, const Tensor& x, Axes axes) {
  Tensor r = bind1(p, {x}, AxesParams{axes});
  EXPECT_EQ(r.dtype(), DType::Pred);
  return r.to_vector<bool>();
}

const std::vector<DType> kEveryDType = {DType::U8,  DType::S8,  DType::U16, DType::S16, DType::U32,
                                        DType::S32, DType::U64, DType::S64, DType::F16, DType::BF16,
                                        DType::F32, DType::F64, DType::Pred};

TEST(ReduceLogicalKernels, HandDerivedForEveryDtype) {
  for (DType dt : kEveryDType) {
    SCOPED_TRACE(std::string(dtype_name(dt)));
    Tensor x = typed({1, 0, 1, 1, 1, 1}, {2, 3}, dt);
    EXPECT_EQ(logical(Prim::reduce_and, x, {1}), (std::vector<bool>{false, true}));
    EXPECT_EQ(logical(Prim::reduce_and, x, {0}), (std::vector<bool>{true, false, true}));
    EXPECT_EQ(logical(Prim::reduce_or, x, {0, 1}), (std::vector<bool>{true}));
    Tensor z = typed({0, 0, 0, 0}, {4}, dt);
    EXPECT_EQ(logical(Prim::reduce_or, z, {0}), (std::vector<bool>{false}));
    EXPECT_EQ(logical(Prim::reduce_and, z, {}), (std::vector<bool>{false, false, false, false}));
    // Empty reductions: and is true, or is false.
    Tensor e = typed({}, {0, 2}, dt);
    EXPECT_EQ(logical(Prim::reduce_and, e, {0}), (std::vector<bool>{true, true}));
    EXPECT_EQ(logical(Prim::reduce_or, e, {0}), (std::vector<bool>{false, false}));
    EXPECT_EQ(logical(Prim::reduce_or, e, {1}), (std::vector<bool>{}));
  }
  // Integer values other than 0/1, including ones whose low byte is zero.
  Tensor big = from_vector(std::vector<int32_t>{256, -1, 65536}, Shape{3});
  EXPECT_EQ(logical(Prim::reduce_and, big, {0}), (std::vector<bool>{true}));
}

TEST(ReduceLogicalKernels, SignedZerosAreFalseAndNaNIsTrue) {
  for (DType dt : {DType::F16, DType::BF16, DType::F32, DType::F64}) {
    SCOPED_TRACE(std::string(dtype_name(dt)));
    Tensor negzero = typed({-0.0, -0.0}, {2}, dt);
    EXPECT_EQ(logical(Prim::reduce_or, negzero, {0}), (std::vector<bool>{false}));
    Tensor nan = typed({kNaN, 2.0, -kInf}, {3}, dt);
    EXPECT_EQ(logical(Prim::reduce_and, nan, {0}), (std::vector<bool>{true}));
    Tensor tiny = typed({1e-30, 0.0}, {2}, dt);  // subnormal or zero in f16/bf16: decided on bits
    bool tiny_nonzero = tiny.to_vector<double>()[0] != 0.0;
    EXPECT_EQ(logical(Prim::reduce_or, tiny, {0}), (std::vector<bool>{tiny_nonzero}));
  }
}

TEST(ReduceLogicalKernels, RandomAgainstReference) {
  std::mt19937_64 rng(51);
  for (int it = 0; it < 300; ++it) {
    Shape s = movement_test::random_shape(rng, 4, 5);
    if (it % 50 == 0) s = {70, 3000};  // large: parallel and split paths
    if (it % 50 == 1) s = {100000, 3};
    Axes axes;
    for (int64_t k = 0; k < static_cast<int64_t>(s.size()); ++k)
      if (rng() % 2) axes.push_back(k);
    DType dt = kEveryDType[rng() % kEveryDType.size()];
    // Mostly true values, so that "and" is not trivially false on larger reductions.
    std::vector<double> v(static_cast<size_t>(num_elements(s)));
    for (double& d : v) d = rng() % 4000 == 0 ? 0.0 : static_cast<double>(1 + rng() % 5);
    Tensor x = typed(v, s, dt);
    auto want_and = ref_reduce<double>(
        v, s, axes, 1.0, [](double a, double b) { return (a != 0 && b != 0) ? 1.0 : 0.0; });
    auto want_or = ref_reduce<double>(
        v, s, axes, 0.0, [](double a, double b) { return (a != 0 || b != 0) ? 1.0 : 0.0; });
    auto as_bool = [](const std::vector<double>& w) {
      return std::vector<bool>(w.begin(), w.end());
    };
    std::string what =
        shape_repr(s) + " axes " + shape_repr(axes) + " " + std::string(dtype_name(dt));
    EXPECT_EQ(logical(Prim::reduce_and, x, axes), as_bool(want_and)) << what;
    EXPECT_EQ(logical(Prim::reduce_or, x, axes), as_bool(want_or)) << what;
  }
}

TEST(ReduceLogicalKernels, BadAxesNameTheOp) {
  Tensor x = typed({1, 0}, {2}, pred);
  movement_test::expect_error([&] { bind1(Prim::reduce_and, {x}, AxesParams{{1}}); },
                              {"nx::reduce_and", "axis 1 out of range for rank 1"});
  movement_test::expect_error(
      [&] {
        bind1(Prim::reduce_or, {x}, AxesParams{{0, 0}});
      },
      {"nx::reduce_or", "strictly increasing"});
}

}  // namespace
}  // namespace nx
