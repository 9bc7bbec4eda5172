// axon::data::Dataset: an in-memory table of examples, the input of axon::data::Loader.
//
//   auto [train, test] = axon::data::fashion_mnist();          // u8 images, u8 labels
//   auto [fit, validation] = train.shuffle(nx::random::key(0)).split(0.9);
//   axon::data::Dataset xy = axon::data::Dataset::from_tensors(x, y);   // x: f32[n][4], y: s32[n]
//   axon::data::Dataset first = xy.take(100);                  // examples 0 .. 99
//
// A dataset holds the model's inputs and the targets as two nx::Trees (a tensor, or maps and
// lists of tensors, e.g. one tensor per named model input) whose leaves all share axis 0: the
// example axis. Datasets are immutable values; copying one copies references to its tensors,
// and take, skip and slice cut each leaf with one contiguous copy.
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "axon/data/source.hpp"
#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace axon::data {

/// A table of examples: inputs and targets whose tensor leaves share their first axis.
class Dataset {
 public:
  /// An empty dataset (no leaves, no examples), for a variable that is assigned later.
  Dataset() = default;

  /// A dataset over `inputs` and `targets`: every leaf of both must be concrete, of rank >= 1,
  /// with the same size along axis 0. `targets` may be an empty tree (nx::Tree{}: no labels);
  /// `inputs` must have at least one leaf. Throws nx::Error naming the mismatching leaves.
  static Dataset from_tensors(nx::Tree inputs, nx::Tree targets = nx::Tree{});

  /// The inputs tree (all examples).
  const nx::Tree& inputs() const { return inputs_; }
  /// The targets tree (all examples; an empty map when there are none).
  const nx::Tree& targets() const { return targets_; }
  /// Number of examples.
  int64_t size() const { return size_; }

  /// Examples start .. start+length-1; throws nx::Error when that range is not inside the data.
  Dataset slice(int64_t start, int64_t length) const;
  /// The first min(n, size()) examples; throws nx::Error for n < 0.
  Dataset take(int64_t n) const;
  /// All but the first min(n, size()) examples; throws nx::Error for n < 0.
  Dataset skip(int64_t n) const;
  /// The examples at `indices` (an integer tensor of rank 1), in that order.
  Dataset gather(const nx::Tensor& indices) const;
  /// The examples in the order nx::random::permutation(key, size()) (jax.random.permutation).
  Dataset shuffle(const nx::Tensor& key) const;
  /// {first round(fraction * size()) examples, the rest}: a train / validation split. Shuffle
  /// first when the data is sorted. Throws nx::Error unless 0 <= fraction <= 1.
  std::pair<Dataset, Dataset> split(double fraction) const;
  /// Examples start .. start+length-1 as one batch (clamped to the data's end).
  Batch batch(int64_t start, int64_t length) const;
  /// A dataset made by applying `fn` once to all examples as one batch (e.g. convert u8 images
  /// to f32 once instead of per batch); the results must again share axis 0.
  Dataset map_all(const std::function<Batch(Batch)>& fn) const;

 private:
  Dataset(nx::Tree inputs, nx::Tree targets, int64_t size)
      : inputs_(std::move(inputs)), targets_(std::move(targets)), size_(size) {}
  Dataset cut(int64_t start, int64_t length) const;

  nx::Tree inputs_;
  nx::Tree targets_;
  int64_t size_ = 0;
};

}  // namespace axon::data
