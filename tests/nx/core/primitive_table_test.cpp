#include <gtest/gtest.h>

#include <set>
#include <string>

#include "nx/core/primitive.hpp"  // private: src/ is on the test include path

namespace {

using nx::detail::kNumPrims;
using nx::detail::kPrimInfo;

TEST(PrimitiveTable, NamesAreUniqueAndEveryRowHasARule) {
  std::set<std::string> names;
  for (const auto& p : kPrimInfo) {
    EXPECT_TRUE(names.insert(std::string(p.name)).second) << p.name;
    EXPECT_NE(p.rule, nullptr) << p.name;
    EXPECT_GE(p.outputs, 1) << p.name;
  }
  EXPECT_EQ(static_cast<int>(names.size()), kNumPrims);
}

}  // namespace
