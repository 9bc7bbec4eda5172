// What every oneDNN-backed kernel shares: the CPU engine, a stream per thread, dtype mapping,
// a bounded cache of primitives keyed on the problem, and per-thread scratch memory.
//
// Primitive creation costs tens to hundreds of microseconds (oneDNN JIT-compiles kernels), far
// more than a small matmul takes to run, so eager calls look primitives up by a signature of the
// problem (shapes, strides, dtype, attributes) and create each one once. Primitives are created
// with a user-managed scratchpad, which makes one primitive safe to execute from several threads
// at once: each execution passes its own thread's scratch memory.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nx/dtype.hpp"

namespace nx::cpu::dnnl_util {

/// The process-wide CPU engine.
const dnnl::engine& engine();
/// The calling thread's stream on engine().
dnnl::stream& stream();

/// The oneDNN type of an nx dtype; dnnl::memory::data_type::undef when oneDNN has none.
dnnl::memory::data_type to_dnnl(DType t);

/// Attributes every cached primitive is created with (user scratchpad, see the file comment).
dnnl::primitive_attr default_attr();

/// Whether a primitive descriptor found a real implementation rather than oneDNN's slow
/// reference loops (which our own kernels beat).
bool is_optimized(const dnnl::primitive_desc_base& pd);

/// A key for a cached primitive: the integers that describe the problem.
using Signature = std::vector<int64_t>;

struct SignatureHash {
  size_t operator()(const Signature& s) const noexcept;
};

/// A thread-safe least-recently-used map from Signature to an immutable shared value. `make`
/// runs outside the lock (creation is slow); when two threads race on one key both create and
/// the first stored value wins. A value made as null (unsupported problem) is cached too, so the
/// failed attempt is not repeated.
template <class Value>
class PrimitiveCache {
 public:
  explicit PrimitiveCache(size_t capacity) : capacity_(capacity) {}

  template <class Make>
  std::shared_ptr<const Value> get(const Signature& key, Make&& make) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
      }
    }
    std::shared_ptr<const Value> made = make();
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) return it->second->second;
    order_.emplace_front(key, made);
    index_.emplace(key, order_.begin());
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return made;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return order_.size();
  }

 private:
  using Entry = std::pair<Signature, std::shared_ptr<const Value>>;
  size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Entry> order_;  ///< most recently used first
  std::unordered_map<Signature, typename std::list<Entry>::iterator, SignatureHash> index_;
};

/// Per-thread scratch memory for one kernel call. `take(bytes)` hands out 64-byte aligned,
/// uninitialised regions of a per-thread arena that is kept for the thread's next call (fresh
/// large allocations would page-fault on every call). Scratches nest like a stack: regions stay
/// valid until their Scratch is destroyed, which releases them. When the arena is too small the
/// region comes from a separate allocation and the arena grows to fit once no Scratch is alive.
class Scratch {
 public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  /// A region of at least `bytes` bytes.
  void* take(size_t bytes);
  template <class T>
  T* take(int64_t count) {
    return static_cast<T*>(take(static_cast<size_t>(count) * sizeof(T)));
  }

 private:
  size_t mark_;
  std::vector<std::unique_ptr<std::byte[]>> overflow_;
};

/// A oneDNN memory object over existing data (no copy).
inline dnnl::memory wrap(const dnnl::memory::desc& md, const void* data) {
  return dnnl::memory(md, engine(), const_cast<void*>(data));
}

/// The arguments of one primitive, bound once: memory objects made over their descriptors, whose
/// data each run re-points (set), executed through oneDNN's C entry point. The C++ execute takes
/// a std::unordered_map and builds a vector from it, and wrap() creates a memory object: per
/// call, that is several allocations and oneDNN object creations, which a caller that runs one
/// primitive many times (an instance of a compiled function) does once instead. One BoundArgs
/// serves one run at a time.
class BoundArgs {
 public:
  /// Adds argument `arg` (DNNL_ARG_*) over memory described by `md` at `data` (null: none until
  /// set). Returns its index for set().
  size_t add(int arg, const dnnl::memory::desc& md, const void* data = nullptr);
  /// Points argument i at `data`.
  void set(size_t i, const void* data) { memory_[i].set_data_handle(const_cast<void*>(data)); }
  const dnnl::memory& memory(size_t i) const { return memory_[i]; }
  /// Submits `p` with these arguments to the calling thread's stream (stream().wait() waits for
  /// it). Creates no oneDNN objects.
  void execute(const dnnl::primitive& p) const;

 private:
  std::vector<dnnl::memory> memory_;
  std::vector<dnnl_exec_arg_t> args_;
};

/// What data derived from a tensor's contents (weights reordered into oneDNN's layout) was last
/// made from: its Buffer::id. Tensors are immutable and a buffer's id is renewed when donated
/// bytes change, so a run whose source carries the same nonzero id may skip remaking it.
class DerivedFrom {
 public:
  /// Calls make() unless `id` is nonzero and the id of the last make().
  template <class F>
  void refresh(uint64_t id, F&& make) {
    if (id != 0 && id == id_) return;
    id_ = 0;  // a make() that throws leaves no stale id
    make();
    id_ = id;
  }

 private:
  uint64_t id_ = 0;
};

}  // namespace nx::cpu::dnnl_util
