// Loader: batching, shuffling per epoch, map, and the prefetch thread's lifecycle.
#include "axon/data/loader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>

#include "data_test_helpers.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace {

using axon::data::Batch;
using axon::data::Dataset;
using axon::data::Loader;
using axon::data::LoaderOptions;
using data_test::expect_error;

// Example i: inputs [i, 10 i] (s64), target i (s32).
Dataset numbered(int64_t n) {
  nx::Tensor ids = nx::iota({n}, nx::s64);
  return Dataset::from_tensors(nx::stack({ids, nx::multiply(ids, 10)}, 1),
                               nx::as_type(ids, nx::s32));
}

// The target ids of every batch of pass `epoch`, one vector per batch; checks that each input
// row belongs to its target.
std::vector<std::vector<int64_t>> read_pass(Loader& loader, int64_t epoch) {
  loader.start(epoch);
  std::vector<std::vector<int64_t>> out;
  while (auto b = loader.next()) {
    std::vector<int64_t> t = b->targets.leaf().to_vector<int64_t>();
    std::vector<int64_t> x = b->inputs.leaf().to_vector<int64_t>();
    EXPECT_EQ(x.size(), 2 * t.size());
    for (size_t i = 0; i < t.size() && 2 * i + 1 < x.size(); ++i) {
      EXPECT_EQ(x[2 * i], t[i]);
      EXPECT_EQ(x[2 * i + 1], 10 * t[i]);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<int64_t> joined(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const auto& b : batches) all.insert(all.end(), b.begin(), b.end());
  return all;
}

std::vector<size_t> sizes(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<size_t> s;
  for (const auto& b : batches) s.push_back(b.size());
  return s;
}

TEST(DataLoader, BatchSizesRemainderAndDropRemainder) {
  for (int64_t prefetch : {0, 2}) {
    Loader keep(numbered(10), {.batch_size = 4, .prefetch = prefetch});
    EXPECT_EQ(keep.size(), 3);
    auto pass = read_pass(keep, 0);
    EXPECT_EQ(sizes(pass), (std::vector<size_t>{4, 4, 2}));
    EXPECT_EQ(joined(pass), nx::iota({10}, nx::s64).to_vector<int64_t>());
    EXPECT_FALSE(keep.next().has_value());  // stays at the end

    Loader drop(numbered(10), {.batch_size = 4, .drop_remainder = true, .prefetch = prefetch});
    EXPECT_EQ(drop.size(), 2);
    EXPECT_EQ(sizes(read_pass(drop, 0)), (std::vector<size_t>{4, 4}));

    Loader exact(numbered(8), {.batch_size = 4, .drop_remainder = true, .prefetch = prefetch});
    EXPECT_EQ(sizes(read_pass(exact, 0)), (std::vector<size_t>{4, 4}));
    Loader big(numbered(3), {.batch_size = 4, .drop_remainder = true, .prefetch = prefetch});
    EXPECT_EQ(big.size(), 0);
    EXPECT_TRUE(read_pass(big, 0).empty());
    Loader empty(numbered(0), {.batch_size = 4, .prefetch = prefetch});
    EXPECT_TRUE(read_pass(empty, 0).empty());
  }
}

TEST(DataLoader, ShuffleIsAPermutationPerEpochDeterministicPerKey) {
  const int64_t n = 103;
  LoaderOptions opts{.batch_size = 10, .shuffle = true, .key = nx::random::key(42)};
  Loader a(numbered(n), opts), b(numbered(n), opts);
  std::vector<int64_t> identity = nx::iota({n}, nx::s64).to_vector<int64_t>();
  std::vector<std::vector<int64_t>> orders;
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    std::vector<int64_t> order = joined(read_pass(a, epoch));
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, identity);                            // a permutation
    EXPECT_NE(order, identity);                             // shuffled
    EXPECT_EQ(order, a.order(epoch).to_vector<int64_t>());  // as documented
    EXPECT_EQ(order, nx::random::permutation(nx::random::fold_in(nx::random::key(42), epoch), n)
                         .to_vector<int64_t>());
    orders.push_back(order);
  }
  EXPECT_NE(orders[0], orders[1]);
  EXPECT_NE(orders[1], orders[2]);
  // A loader started directly at epoch 2 (a resumed run) sees the same order.
  EXPECT_EQ(joined(read_pass(b, 2)), orders[2]);
  EXPECT_EQ(joined(read_pass(b, 0)), orders[0]);
  // Another key gives another order; seed = 42 equals key(42).
  Loader c(numbered(n), {.batch_size = 10, .shuffle = true, .key = nx::random::key(43)});
  EXPECT_NE(joined(read_pass(c, 0)), orders[0]);
  Loader d(numbered(n), {.batch_size = 10, .shuffle = true, .seed = 42});
  EXPECT_EQ(joined(read_pass(d, 1)), orders[1]);
}

TEST(DataLoader, PrefetchGivesTheSameBatchesAsNoPrefetch) {
  auto map = [](Batch b) {
    return Batch{nx::divide(nx::as_type(b.inputs.leaf(), nx::f32), 2.0f),
                 nx::one_hot(b.targets.leaf(), 50)};
  };
  auto all_batches = [&](int64_t prefetch) {
    Loader loader(numbered(47),
                  {.batch_size = 5, .shuffle = true, .seed = 1, .prefetch = prefetch, .map = map});
    std::vector<Batch> out;
    for (int64_t epoch = 0; epoch < 3; ++epoch) {
      loader.start(epoch);
      while (auto b = loader.next()) out.push_back(*b);
    }
    return out;
  };
  std::vector<Batch> base = all_batches(0);
  ASSERT_EQ(base.size(), 30u);
  EXPECT_EQ(base[0].inputs.leaf().dtype(), nx::f32);
  EXPECT_EQ(base[0].targets.leaf().shape(), (nx::Shape{5, 50}));
  for (int64_t prefetch : {1, 3, 100}) {
    std::vector<Batch> got = all_batches(prefetch);
    ASSERT_EQ(got.size(), base.size());
    for (size_t i = 0; i < got.size(); ++i) {
      data_test::expect_identical(got[i].inputs.leaf(), base[i].inputs.leaf());
      data_test::expect_identical(got[i].targets.leaf(), base[i].targets.leaf());
    }
  }
}

TEST(DataLoader, MapExceptionsReachTheConsumerAndEndThePass) {
  for (int64_t prefetch : {0, 1, 4}) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    Loader loader(numbered(20), {.batch_size = 4, .prefetch = prefetch, .map = [calls](Batch b) {
                                   if (++*calls == 3) throw std::runtime_error("bad batch 2");
                                   return b;
                                 }});
    loader.start(0);
    EXPECT_TRUE(loader.next().has_value());
    EXPECT_TRUE(loader.next().has_value());
    try {
      loader.next();
      ADD_FAILURE() << "expected the map's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "bad batch 2");
    }
    EXPECT_FALSE(loader.next().has_value());
    EXPECT_EQ(sizes(read_pass(loader, 1)), (std::vector<size_t>{4, 4, 4, 4, 4}));
  }
}

TEST(DataLoader, DestroyOrRestartMidPassDoesNotDeadlock) {
  auto slow = [](Batch b) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return b;
  };
  for (int round = 0; round < 20; ++round) {
    {  // destroyed while the worker waits for room in a full queue
      Loader loader(numbered(100), {.batch_size = 3, .shuffle = true, .prefetch = 2});
      loader.start(0);
      loader.next();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    {  // destroyed while the worker is inside map
      Loader loader(numbered(100), {.batch_size = 3, .prefetch = 4, .map = slow});
      loader.start(0);
    }
    {  // restarted mid-pass: the new pass starts from its beginning
      Loader loader(numbered(30), {.batch_size = 3, .prefetch = 2, .map = slow});
      loader.start(0);
      loader.next();
      loader.next();
      EXPECT_EQ(joined(read_pass(loader, 1)), nx::iota({30}, nx::s64).to_vector<int64_t>());
    }
  }
}

TEST(DataLoader, ArgumentErrors) {
  expect_error([] { Loader(numbered(4), {.batch_size = 0}); },
               {"axon::data::Loader", "batch_size must be > 0, got 0"});
  expect_error([] { Loader(numbered(4), {.prefetch = -1}); }, {"prefetch must be >= 0"});
  expect_error([] { Loader(numbered(4), {.key = nx::iota({3}, nx::u32)}); },
               {"key must be a concrete u32[2]", "u32[3]"});
  Loader loader(numbered(4));
  expect_error([&] { loader.next(); }, {"axon::data::Loader::next", "call start(epoch)"});
  expect_error([&] { loader.start(-1); }, {"axon::data::Loader::start", "epoch must be >= 0"});
}

}  // namespace
