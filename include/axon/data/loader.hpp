// axon::data::Loader: batches of a Dataset, shuffled per epoch, optionally mapped and prepared
// ahead on a background thread. It is the BatchSource most training loops read.
//
//   auto [train, test] = axon::data::fashion_mnist();
//   axon::data::Loader loader(train, {
//       .batch_size = 128,
//       .shuffle = true,
//       .seed = 42,
//       .prefetch = 2,
//       .map = [](axon::data::Batch b) {          // runs on the prefetch thread
//         return axon::data::Batch{nx::divide(nx::as_type(b.inputs.leaf(), nx::f32), 255.0),
//                                  nx::one_hot(b.targets.leaf(), 10)};
//       }});
//   for (int64_t epoch = 0; epoch < 10; ++epoch) {
//     loader.start(epoch);
//     while (auto batch = loader.next()) { /* train on batch->inputs, batch->targets */ }
//   }
//
// Shuffling: the order of epoch e is nx::random::permutation(fold_in(key, e), n), so it depends
// only on the key and the epoch: a run resumed at epoch e sees the same batches it would have.
// Without shuffling batches are contiguous slices, in order.
//
// Prefetching: with prefetch = k > 0, a background thread gathers (and maps) up to k batches
// ahead of the consumer. An exception thrown while making a batch (by `map`, say) is rethrown by
// the next() that would have returned that batch, and ends the pass. Calling start() again
// mid-pass, or destroying the loader, stops the thread and discards what it prepared.
//
// A Loader is used by one consumer thread at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "axon/data/dataset.hpp"
#include "axon/data/source.hpp"
#include "nx/tensor.hpp"

namespace axon::data {

/// Options of Loader.
struct LoaderOptions {
  int64_t batch_size = 32;            ///< examples per batch (> 0)
  bool shuffle = false;               ///< a new random order every epoch
  std::optional<nx::Tensor> key{};    ///< the shuffling key (default nx::random::key(seed))
  int64_t seed = 0;                   ///< the seed of the key when `key` is unset
  bool drop_remainder = false;        ///< drop the last batch when it is smaller than batch_size
  int64_t prefetch = 0;               ///< batches prepared ahead on a background thread (0: none)
  std::function<Batch(Batch)> map{};  ///< applied to each batch (e.g. dtype conversion, one-hot)
};

/// Batches of a dataset, one pass per epoch (see the file comment).
class Loader : public BatchSource {
 public:
  /// A loader over `data`; throws nx::Error for batch_size <= 0, prefetch < 0 or a bad key.
  explicit Loader(Dataset data, LoaderOptions opts = {});
  /// Stops the prefetch thread, if any.
  ~Loader() override;
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Begins pass `epoch` (>= 0), abandoning the current one.
  void start(int64_t epoch) override;
  /// The next batch of the pass, or nullopt at its end; rethrows an error raised making it.
  /// Throws nx::Error when start() has not been called.
  std::optional<Batch> next() override;
  /// Batches per pass: ceil(n / batch_size), or floor with drop_remainder.
  std::optional<int64_t> size() const override;

  /// The dataset read.
  const Dataset& dataset() const { return data_; }
  /// The options.
  const LoaderOptions& options() const { return opts_; }
  /// The example order of pass `epoch`: an s32[n] permutation (iota when not shuffling).
  nx::Tensor order(int64_t epoch) const;

 private:
  Batch make_batch(int64_t index) const;
  void stop_worker();
  void worker(int64_t batches);

  Dataset data_;
  LoaderOptions opts_;
  nx::Tensor key_;
  int64_t num_batches_ = 0;

  // The current pass.
  bool started_ = false;
  nx::Tensor order_;  // empty when not shuffling
  int64_t next_index_ = 0;

  // The prefetch queue: batches (or the error that replaced one) in order, filled by worker_.
  struct Item {
    std::optional<Batch> batch;
    std::exception_ptr error;
  };
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  bool worker_done_ = false;
};

}  // namespace axon::data
