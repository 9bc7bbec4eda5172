// threefry2x32 primitive: known-answer vectors of the reference implementation.
#include <gtest/gtest.h>

#include "nx/core/dispatch.hpp"
#include "nx/ops/creation.hpp"

namespace {

using nx::Tensor;
using nx::detail::bind;
using nx::detail::Prim;

Tensor u32(std::vector<uint32_t> v, nx::Shape s) {
  return nx::from_vector(v, s);
}

std::pair<std::vector<uint32_t>, std::vector<uint32_t>> run(std::vector<uint32_t> key,
                                                            std::vector<uint32_t> x0,
                                                            std::vector<uint32_t> x1) {
  nx::Shape s{static_cast<int64_t>(x0.size())};
  auto out = bind(Prim::threefry2x32, {u32(key, {2}), u32(x0, s), u32(x1, s)});
  return {out[0].to_vector<uint32_t>(), out[1].to_vector<uint32_t>()};
}

// Known-answer vectors of Threefry-2x32-20 from Random123's own test
// (Random123-Boost libs/random/test/test_threefry.cpp lines 30-32), the same three that JAX
// checks in tests/random_test.py::testThreefry2x32: key (k0, k1), counter (x0, x1) -> (y0, y1).
TEST(CpuThreefry2x32, Random123KnownAnswers) {
  auto [a0, a1] = run({0, 0}, {0}, {0});
  EXPECT_EQ(a0[0], 0x6b200159u);
  EXPECT_EQ(a1[0], 0x99ba4efeu);
  auto [b0, b1] = run({0xffffffffu, 0xffffffffu}, {0xffffffffu}, {0xffffffffu});
  EXPECT_EQ(b0[0], 0x1cb996fcu);
  EXPECT_EQ(b1[0], 0xbb002be7u);
  auto [c0, c1] = run({0x13198a2eu, 0x03707344u}, {0x243f6a88u}, {0x85a308d3u});
  EXPECT_EQ(c0[0], 0xc4923a9cu);
  EXPECT_EQ(c1[0], 0x483df7a0u);
}

// Large inputs take the threaded path; every pair is independent (JAX's
// testThreefry2x32Large uses the same constant-counter construction).
TEST(CpuThreefry2x32, LargeConstantCountersAreIndependentOfPosition) {
  const size_t n = 100003;
  auto [y0, y1] = run({0x13198a2eu, 0x03707344u}, std::vector<uint32_t>(n, 0x243f6a88u),
                      std::vector<uint32_t>(n, 0x85a308d3u));
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(y0[i], 0xc4923a9cu) << i;
    ASSERT_EQ(y1[i], 0x483df7a0u) << i;
  }
}

TEST(CpuThreefry2x32, ShapesEmptyAndRankZero) {
  auto out = bind(Prim::threefry2x32, {u32({0, 0}, {2}), u32({}, {10, 0}), u32({}, {10, 0})});
  EXPECT_EQ(out[0].shape(), (nx::Shape{10, 0}));
  EXPECT_EQ(out[1].dtype(), nx::u32);
  auto s = bind(Prim::threefry2x32, {u32({0, 0}, {2}), u32({0}, {}), u32({0}, {})});
  EXPECT_EQ(s[0].shape(), nx::Shape{});
  EXPECT_EQ(s[0].item<uint32_t>(), 0x6b200159u);
  // A 2-D counter gives the same values as the flat one, element by element.
  auto m = bind(Prim::threefry2x32, {u32({0x13198a2eu, 0x03707344u}, {2}),
                                     u32({0x243f6a88u, 0, 0x243f6a88u, 0}, {2, 2}),
                                     u32({0x85a308d3u, 0, 0x85a308d3u, 0}, {2, 2})});
  EXPECT_EQ(m[0].to_vector<uint32_t>()[2], 0xc4923a9cu);
  EXPECT_EQ(m[1].to_vector<uint32_t>()[2], 0x483df7a0u);
}

void expect_error(std::initializer_list<Tensor> in, const std::string& fragment) {
  try {
    bind(Prim::threefry2x32, in);
    FAIL() << "expected nx::Error containing " << fragment;
  } catch (const nx::Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("nx::threefry2x32"), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
  }
}

TEST(CpuThreefry2x32, RuleRejectsBadInputs) {
  Tensor k = u32({0, 0}, {2});
  Tensor x = u32({1, 2}, {2});
  expect_error({nx::from_vector(std::vector<int32_t>{0, 0}), x, x},
               "the key must be u32, got s32[2]");
  expect_error({u32({0, 0, 0}, {3}), x, x}, "the key must have shape {2}, got u32[3]");
  expect_error({u32({0, 0}, {1, 2}), x, x}, "the key must have shape {2}");
  expect_error({k, nx::from_vector(std::vector<uint64_t>{1, 2}), x}, "x0 must be u32, got u64[2]");
  expect_error({k, x, nx::from_vector(std::vector<float>{1, 2})}, "x1 must be u32, got f32[2]");
  expect_error({k, x, u32({1, 2}, {1, 2})},
               "x0 and x1 must have one shape, got u32[2] and u32[1][2]");
}

}  // namespace
