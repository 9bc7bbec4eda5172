// What training and evaluation loops read: passes (epochs) over batches of inputs and targets.
//
// axon::data::Loader (axon/data/loader.hpp) is the implementation most code uses; any class
// that implements BatchSource can feed a loop (a generator, a network stream, a custom reader).
#pragma once

#include <cstdint>
#include <optional>

#include "nx/tree.hpp"

namespace axon::data {

/// One batch: the model's inputs (a tensor, or a map by input name) and the targets.
struct Batch {
  nx::Tree inputs;
  nx::Tree targets;
};

/// A source of batches that can be read several times, once per epoch.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /// Begins pass `epoch` (0-based). A source that shuffles draws a new order per epoch.
  virtual void start(int64_t epoch) = 0;
  /// The next batch of the current pass, or nullopt at its end.
  virtual std::optional<Batch> next() = 0;
  /// Batches per pass, when known (progress bars show an ETA then).
  virtual std::optional<int64_t> size() const { return std::nullopt; }
};

}  // namespace axon::data
