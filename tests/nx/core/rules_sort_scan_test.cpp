// Shape rules of sort and the cumulative primitives: output types, and the errors for bad
// operands and axes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/ops/creation.hpp"

namespace nx {
namespace {

using detail::Prim;

std::vector<TensorType> types(Prim p, const Tensor& x, const detail::Params& params) {
  std::vector<Tensor> in{x};
  return detail::info(p).rule(static_cast<int>(p), in, params);
}

void expect_error(Prim p, const Tensor& x, const detail::Params& params,
                  const std::vector<std::string>& parts) {
  try {
    types(p, x, params);
    ADD_FAILURE() << "expected nx::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& s : parts) EXPECT_NE(msg.find(s), std::string::npos) << msg << " lacks " << s;
  }
}

const std::vector<Prim> kScans = {Prim::cumulative_sum, Prim::cumulative_product,
                                  Prim::cumulative_max, Prim::cumulative_min};

TEST(RulesSortScan, OutputTypes) {
  for (DType dt : {DType::U8, DType::S16, DType::F16, DType::BF16, DType::F64}) {
    Tensor x = zeros({2, 0, 3}, dt);
    auto s = types(Prim::sort, x, detail::SortParams{2, true});
    ASSERT_EQ(s.size(), 2u);
    EXPECT_EQ(s[0], (TensorType{{2, 0, 3}, dt}));
    EXPECT_EQ(s[1], (TensorType{{2, 0, 3}, DType::S64}));
    for (Prim p : kScans) {
      auto c = types(p, x, detail::ScanParams{1, true});
      ASSERT_EQ(c.size(), 1u);
      EXPECT_EQ(c[0], x.type());
    }
  }
}

TEST(RulesSortScan, BadOperandsAndAxesNameTheOp) {
  Tensor m = zeros({2, 3}, f32);
  expect_error(Prim::sort, zeros({3}, pred), detail::SortParams{0},
               {"nx::sort", "the operand must have a numeric dtype", "pred[3]"});
  expect_error(Prim::sort, m, detail::SortParams{2},
               {"nx::sort", "axis 2 is out of range for f32[2][3]", "expected 0 to 1"});
  expect_error(Prim::sort, m, detail::SortParams{-1}, {"nx::sort", "axis -1"});
  expect_error(Prim::sort, zeros({}, s32), detail::SortParams{0},
               {"nx::sort", "axis 0", "s32", "a scalar has no axis"});
  for (Prim p : kScans) {
    std::string op = "nx::" + std::string(detail::prim_name(p));
    expect_error(p, zeros({4}, pred), detail::ScanParams{0},
                 {op, "the operand must have a numeric dtype", "pred[4]"});
    expect_error(p, m, detail::ScanParams{5, true}, {op, "axis 5 is out of range for f32[2][3]"});
    expect_error(p, zeros({}, f32), detail::ScanParams{0}, {op, "a scalar has no axis"});
  }
}

}  // namespace
}  // namespace nx
