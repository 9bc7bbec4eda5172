// Loader: per-epoch orders, batch gathering, and the bounded prefetch queue.
//
// The prefetch thread lives for one pass: start() joins the previous one before it touches the
// pass state (order_, the queue), so the worker reads that state without locking; only the
// queue and the two flags are shared under mu_.
#include "axon/data/loader.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace axon::data {

Loader::Loader(Dataset data, LoaderOptions opts) : data_(std::move(data)), opts_(std::move(opts)) {
  const std::string fn = "axon::data::Loader";
  if (opts_.batch_size <= 0) {
    throw nx::Error(fn + ": batch_size must be > 0, got " + std::to_string(opts_.batch_size));
  }
  if (opts_.prefetch < 0) {
    throw nx::Error(fn + ": prefetch must be >= 0 (0: no background thread), got " +
                    std::to_string(opts_.prefetch));
  }
  if (opts_.key) {
    const nx::Tensor& k = *opts_.key;
    if (!k.defined() || k.dtype() != nx::u32 || k.shape() != nx::Shape{2} || k.is_template() ||
        k.is_traced()) {
      throw nx::Error(fn + ": key must be a concrete u32[2] random key (nx::random::key), got " +
                      (k.defined() ? nx::type_string(k.type()) : "an empty tensor"));
    }
    key_ = k;
  } else {
    key_ = nx::random::key(opts_.seed);
  }
  int64_t n = data_.size();
  num_batches_ =
      opts_.drop_remainder ? n / opts_.batch_size : (n + opts_.batch_size - 1) / opts_.batch_size;
}

Loader::~Loader() {
  stop_worker();
}

std::optional<int64_t> Loader::size() const {
  return num_batches_;
}

nx::Tensor Loader::order(int64_t epoch) const {
  if (epoch < 0) {
    throw nx::Error("axon::data::Loader::order: epoch must be >= 0, got " + std::to_string(epoch));
  }
  if (!opts_.shuffle || data_.size() == 0) return nx::iota({data_.size()}, nx::s32);
  return nx::random::permutation(nx::random::fold_in(key_, static_cast<uint64_t>(epoch)),
                                 data_.size());
}

void Loader::start(int64_t epoch) {
  if (epoch < 0) {
    throw nx::Error("axon::data::Loader::start: epoch must be >= 0, got " + std::to_string(epoch));
  }
  stop_worker();
  order_ = opts_.shuffle ? order(epoch) : nx::Tensor();
  next_index_ = 0;
  started_ = true;
  if (opts_.prefetch > 0 && num_batches_ > 0) {
    stop_ = false;
    worker_done_ = false;
    worker_ = std::thread(&Loader::worker, this, num_batches_);
  }
}

Batch Loader::make_batch(int64_t index) const {
  int64_t start = index * opts_.batch_size;
  int64_t length = std::min(opts_.batch_size, data_.size() - start);
  Batch batch;
  if (order_.defined()) {
    nx::Tensor indices = nx::slice_along_axis(order_, start, length, 0);
    auto gather = [&](const nx::Tensor& t) { return nx::take(t, indices, 0); };
    batch.inputs = nx::tree_map(data_.inputs(), gather);
    batch.targets =
        data_.targets().num_leaves() == 0 ? data_.targets() : nx::tree_map(data_.targets(), gather);
  } else {
    batch = data_.batch(start, length);
  }
  if (opts_.map) batch = opts_.map(std::move(batch));
  return batch;
}

void Loader::worker(int64_t batches) {
  for (int64_t i = 0; i < batches; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || static_cast<int64_t>(queue_.size()) < opts_.prefetch; });
      if (stop_) return;
    }
    Item item;
    try {
      item.batch = make_batch(i);
    } catch (...) {
      item.error = std::current_exception();
    }
    bool failed = item.error != nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
      queue_.push_back(std::move(item));
      if (failed) worker_done_ = true;
    }
    cv_.notify_all();
    if (failed) return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker_done_ = true;
  }
  cv_.notify_all();
}

void Loader::stop_worker() {
  if (worker_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  queue_.clear();
}

std::optional<Batch> Loader::next() {
  if (!started_) {
    throw nx::Error("axon::data::Loader::next: call start(epoch) before reading batches");
  }
  if (next_index_ >= num_batches_) return std::nullopt;
  if (opts_.prefetch == 0) {
    try {
      return make_batch(next_index_++);
    } catch (...) {
      next_index_ = num_batches_;  // an error ends the pass, as with prefetching
      throw;
    }
  }
  Item item;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || worker_done_; });
    if (queue_.empty()) {
      next_index_ = num_batches_;
      return std::nullopt;
    }
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  cv_.notify_all();
  ++next_index_;
  if (item.error) {
    next_index_ = num_batches_;
    std::rethrow_exception(item.error);
  }
  return std::move(item.batch);
}

}  // namespace axon::data
