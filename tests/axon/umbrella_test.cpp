// The umbrella header compiles on its own and its worked example builds and summarises a model.
#include "axon/axon.hpp"

#include <gtest/gtest.h>

namespace {

TEST(AxonUmbrella, WorkedExampleBuildsAndSummarises) {
  auto x = axon::input("image", {axon::kDynamic, 28, 28, 1});
  auto h = axon::conv(x, 32, {.kernel_size = {3}, .activation = "relu"});
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::dense(axon::flatten(h), 128, {.activation = "relu"});
  auto model = axon::dense(h, 10, {.activation = "softmax"});
  std::string table = axon::summary(model, nx::make_template({1, 28, 28, 1}, nx::f32));
  EXPECT_NE(table.find("conv_0"), std::string::npos) << table;
  EXPECT_NE(table.find("f32[1][10]"), std::string::npos) << table;
}

}  // namespace
