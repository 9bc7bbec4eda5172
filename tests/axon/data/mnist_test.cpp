// Fashion-MNIST from Debian's dataset-fashion-mnist package, and the speed of one epoch.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>

#include "axon/data/loader.hpp"
#include "axon/data/readers.hpp"
#include "data_test_helpers.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"

namespace {

const char* kDir = "/usr/share/datasets/fashion-mnist";

TEST(DataMnist, FashionMnistSizesAndLabels) {
  if (!std::filesystem::exists(kDir)) GTEST_SKIP() << kDir << " is absent";
  auto [train, test] = axon::data::fashion_mnist();
  EXPECT_EQ(nx::type_string(train.inputs().leaf().type()), "u8[60000][28][28]");
  EXPECT_EQ(nx::type_string(train.targets().leaf().type()), "u8[60000]");
  EXPECT_EQ(test.size(), 10000);
  for (const auto* d : {&train, &test}) {
    std::vector<int64_t> labels = d->targets().leaf().to_vector<int64_t>();
    std::vector<int64_t> counts(10, 0);
    for (int64_t l : labels) {
      ASSERT_TRUE(l >= 0 && l < 10) << l;
      ++counts[static_cast<size_t>(l)];
    }
    for (int64_t c : counts) EXPECT_EQ(c, d->size() / 10);  // Fashion-MNIST is balanced
  }
  auto [ntrain, ntest] = axon::data::fashion_mnist(kDir, {.normalize = true, .one_hot = true});
  EXPECT_EQ(nx::type_string(ntest.inputs().leaf().type()), "f32[10000][28][28]");
  EXPECT_EQ(nx::type_string(ntest.targets().leaf().type()), "f32[10000][10]");
  EXPECT_LE(nx::reduce_max(ntest.inputs().leaf()).item<float>(), 1.0f);
}

TEST(DataMnist, MissingDirectoryNamesTheFiles) {
  data_test::expect_error(
      [] { axon::data::mnist("/nonexistent/mnist"); },
      {"axon::data::mnist", "/nonexistent/mnist/train-images-idx3-ubyte", ".gz\" exists"});
}

TEST(DataMnist, OneShuffledEpochTiming) {
  if (!std::filesystem::exists(kDir)) GTEST_SKIP() << kDir << " is absent";
  auto [train, test] = axon::data::fashion_mnist();
  auto map = [](axon::data::Batch b) {
    return axon::data::Batch{nx::divide(nx::as_type(b.inputs.leaf(), nx::f32), 255.0f),
                             nx::one_hot(b.targets.leaf(), 10)};
  };
  for (int64_t prefetch : {0, 2}) {
    axon::data::Loader loader(
        train, {.batch_size = 128, .shuffle = true, .seed = 0, .prefetch = prefetch, .map = map});
    auto t0 = std::chrono::steady_clock::now();
    std::clock_t c0 = std::clock();
    loader.start(0);
    int64_t batches = 0, examples = 0;
    while (auto b = loader.next()) {
      ++batches;
      examples += b->inputs.leaf().axis_size(0);
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf(
        "[ timing ] Fashion-MNIST epoch, batch 128, shuffled, f32/255 + one-hot, "
        "prefetch %lld: %.3f s wall, %.3f s CPU (all threads)\n",
        static_cast<long long>(prefetch), s, cpu);
    EXPECT_EQ(batches, 469);
    EXPECT_EQ(examples, 60000);
    // The time is printed, not asserted: a timing is never a pass/fail unit test (sanitizer
    // builds and loaded machines are many times slower). About 0.02-0.07 s of wall time on a
    // quiet 2-core machine; bench/ measures the loop's data cost against a bare loop.
  }
}

}  // namespace
