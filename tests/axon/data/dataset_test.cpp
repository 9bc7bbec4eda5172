// Dataset: construction checks, slicing, reordering and splitting.
#include "axon/data/dataset.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "data_test_helpers.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace {

using axon::data::Dataset;
using data_test::expect_error;

// Example i has inputs {"x": [i, 10 i], "id": i} and target 100 + i.
Dataset numbered(int64_t n) {
  nx::Tensor ids = nx::iota({n}, nx::s64);
  nx::Tensor x = nx::stack({ids, nx::multiply(ids, 10)}, 1);
  return Dataset::from_tensors(nx::Tree{{"x", x}, {"id", ids}}, nx::add(ids, 100));
}

std::vector<int64_t> ids(const Dataset& d) {
  return d.inputs()["id"].leaf().to_vector<int64_t>();
}

TEST(DataDataset, FromTensorsChecksTheExampleAxis) {
  Dataset d = numbered(5);
  EXPECT_EQ(d.size(), 5);
  EXPECT_EQ(Dataset::from_tensors(nx::iota({3, 2})).size(), 3);  // no targets
  expect_error(
      [] {
        Dataset::from_tensors(nx::iota({3, 2}), nx::iota({4}));
      },
      {"axon::data::Dataset::from_tensors", "inputs has 3", "targets has 4"});
  expect_error(
      [] {
        Dataset::from_tensors(nx::Tree{{"a", nx::iota({3})}, {"b", nx::iota({2, 3})}});
      },
      {"inputs.a has 3", "inputs.b has 2"});
  expect_error([] { Dataset::from_tensors(nx::Tensor(1.0f), nx::iota({1})); },
               {"inputs must have an example axis", "scalar"});
  expect_error([] { Dataset::from_tensors(nx::Tree{}, nx::iota({1})); },
               {"inputs must hold at least one tensor"});
}

TEST(DataDataset, TakeSkipSliceSplit) {
  Dataset d = numbered(10);
  EXPECT_EQ(ids(d.take(3)), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(d.take(30).size(), 10);
  EXPECT_EQ(ids(d.skip(7)), (std::vector<int64_t>{7, 8, 9}));
  EXPECT_EQ(d.skip(30).size(), 0);
  Dataset s = d.slice(4, 2);
  EXPECT_EQ(ids(s), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(s.targets().leaf().to_vector<int64_t>(), (std::vector<int64_t>{104, 105}));
  EXPECT_EQ(s.inputs()["x"].leaf().to_vector<int64_t>(), (std::vector<int64_t>{4, 40, 5, 50}));
  auto [train, validation] = d.split(0.8);
  EXPECT_EQ(ids(train), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(ids(validation), (std::vector<int64_t>{8, 9}));
  EXPECT_EQ(d.split(0.0).first.size(), 0);
  EXPECT_EQ(d.split(1.0).second.size(), 0);
  expect_error([&] { d.slice(8, 3); }, {"axon::data::Dataset::slice", "not inside", "10 examples"});
  expect_error([&] { d.take(-1); }, {"axon::data::Dataset::take", "got -1"});
  expect_error([&] { d.skip(-2); }, {"axon::data::Dataset::skip"});
  expect_error([&] { d.split(1.5); }, {"axon::data::Dataset::split", "[0, 1]"});
}

TEST(DataDataset, GatherShuffleBatchMapAll) {
  Dataset d = numbered(6);
  Dataset g = d.gather(nx::tensor({5, 0, 5}));
  EXPECT_EQ(ids(g), (std::vector<int64_t>{5, 0, 5}));
  EXPECT_EQ(g.targets().leaf().to_vector<int64_t>(), (std::vector<int64_t>{105, 100, 105}));
  expect_error([&] { d.gather(nx::tensor({6})); }, {"axon::data::Dataset::gather", "index 6"});
  expect_error([&] { d.gather(nx::tensor({-1})); }, {"index -1"});
  expect_error([&] { d.gather(nx::tensor({1.0f})); }, {"rank-1 integer tensor"});

  nx::Tensor key = nx::random::key(3);
  Dataset s = d.shuffle(key);
  EXPECT_EQ(ids(s), nx::random::permutation(key, 6).to_vector<int64_t>());
  std::vector<int64_t> sorted = ids(s);
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, ids(d));

  axon::data::Batch b = d.batch(4, 10);  // clamped to the end
  EXPECT_EQ(b.inputs["id"].leaf().to_vector<int64_t>(), (std::vector<int64_t>{4, 5}));

  Dataset m = d.map_all([](axon::data::Batch in) {
    return axon::data::Batch{nx::as_type(in.inputs["x"].leaf(), nx::f32), in.targets};
  });
  EXPECT_EQ(m.inputs().leaf().dtype(), nx::f32);
  EXPECT_EQ(m.size(), 6);
}

}  // namespace
