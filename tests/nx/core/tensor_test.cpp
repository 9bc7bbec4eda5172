#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>

#include "nx/nx.hpp"

namespace {

TEST(Tensor, NestedListsAndHelpers) {
  nx::Tensor t = nx::tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
  EXPECT_EQ(t.dtype(), nx::f32);
  EXPECT_EQ(t.shape(), (nx::Shape{2, 3}));
  EXPECT_EQ(t.rank(), 2);
  EXPECT_EQ(t.size(), 6);
  EXPECT_EQ(t.axis_size(-1), 3);
  EXPECT_EQ(t.byte_size(), 24);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(nx::tensor({1, 2, 3}).dtype(), nx::s32);
  EXPECT_EQ(nx::tensor({1, 2}, nx::f64).dtype(), nx::f64);
  EXPECT_EQ(nx::tensor({{{1}, {2}}}).shape(), (nx::Shape{1, 2, 1}));
  EXPECT_THROW(nx::tensor({{1, 2}, {3}}), nx::Error);
  EXPECT_THROW(t.axis_size(2), nx::Error);
}

TEST(Tensor, ScalarsAreWeaklyTyped) {
  nx::Tensor two = 2;
  EXPECT_TRUE(two.is_weak());
  EXPECT_EQ(two.dtype(), nx::s32);
  nx::Tensor half = 0.5;
  EXPECT_EQ(half.dtype(), nx::f32);
  EXPECT_EQ(nx::Tensor(int64_t{1} << 40).dtype(), nx::s64);
  EXPECT_EQ(nx::Tensor(true).dtype(), nx::pred);
  EXPECT_DOUBLE_EQ(half.item<double>(), 0.5);
}

TEST(Tensor, DataAccessChecksTypes) {
  nx::Tensor t = nx::from_vector(std::vector<int16_t>{1, -2, 3});
  EXPECT_EQ(t.data<int16_t>()[1], -2);
  EXPECT_THROW(t.data<float>(), nx::Error);
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, -2, 3}));
  EXPECT_THROW(t.item<int>(), nx::Error);
  EXPECT_THROW(nx::from_vector(std::vector<float>{1, 2, 3}, nx::Shape{2, 2}), nx::Error);
  nx::Tensor empty;
  EXPECT_FALSE(empty.defined());
  EXPECT_THROW(empty.shape(), nx::Error);
}

TEST(Tensor, FloatToIntegerReadsSaturate) {
  nx::Tensor t = nx::tensor({std::nan(""), 1e30, -1e30, -2.7});
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{0, INT64_MAX, INT64_MIN, -2}));
  EXPECT_EQ(t.to_vector<uint64_t>(), (std::vector<uint64_t>{0, UINT64_MAX, 0, 0}));
}

TEST(Tensor, TemplatesHaveNoData) {
  nx::Tensor t = nx::make_template({2, 3}, nx::bf16);
  EXPECT_TRUE(t.is_template());
  EXPECT_EQ(t.type(), (nx::TensorType{{2, 3}, nx::bf16}));
  EXPECT_THROW(t.raw_data(), nx::Error);
  EXPECT_THROW(nx::exp(t), nx::Error);
  EXPECT_NE(t.to_string().find("template"), std::string::npos);
}

TEST(Tensor, PrintsLikeNx) {
  nx::Tensor t = nx::tensor({{1.0, 2.5}, {-3.0, 4.0}});
  EXPECT_EQ(t.to_string(),
            "nx::Tensor<\n  f32[2][2]\n  [\n    [1.0, 2.5],\n    [-3.0, 4.0]\n  ]\n>");
  EXPECT_EQ(nx::scalar_int(7, nx::u8).to_string(), "nx::Tensor<\n  u8\n  7\n>");
  std::ostringstream os;
  os << nx::from_vector(std::vector<bool>{true, false});
  EXPECT_EQ(os.str(), "nx::Tensor<\n  pred[2]\n  [true, false]\n>");
}

TEST(Tensor, PrintingElidesLargeAxes) {
  std::vector<float> v(100, 1.0f);
  std::string s = nx::from_vector(v).to_string({.limit = 3});
  EXPECT_EQ(s, "nx::Tensor<\n  f32[100]\n  [1.0, 1.0, 1.0, ...]\n>");
}

}  // namespace
