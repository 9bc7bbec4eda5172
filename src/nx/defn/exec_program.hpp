// A lowered graph: a flat schedule of thunks over planned storage (exec_plan.hpp), and the
// per-caller state it runs on.
//
// A Program is immutable and shared by every caller. What one run needs besides it lives in an
// Instance: the arena, one Buffer object per storage, and one Tensor per value that a thunk reads
// or writes, all created once when the instance is made. Tensors of arena values wrap arena
// memory; Input and Output storages have a Buffer that each run re-points at the caller's memory
// (rebind), so a run makes no tensor and allocates nothing. An instance serves one run at a time;
// concurrent callers take different instances (compile.cpp keeps a pool).
//
// Programs run in two ways: the top-level executable binds Output storages to fresh (or donated)
// buffers that become the result tensors; control flow runs subgraph programs "into" buffers the
// caller owns (a carry slot, a slice of a stacked output), copying graph outputs that are not
// computed in place there (an input passed through, a constant, a second output of one storage).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "../core/tensor_impl.hpp"
#include "compile.hpp"
#include "exec_plan.hpp"
#include "graph.hpp"

namespace nx::detail::exec {

struct Instance;

/// What a thunk keeps per instance (sub-instances of control flow); most keep nothing.
struct ThunkState {
  virtual ~ThunkState() = default;
};

/// What a thunk sees when it runs.
struct Frame {
  std::span<const Tensor> in;  ///< the node's inputs
  std::span<Tensor> out;       ///< the node's outputs, buffers bound
  std::byte* scratch;          ///< the node's scratch request (null when none)
  ThunkState* state;           ///< from make_state
};

/// One step of the schedule, bound to its node at compile time.
class Thunk {
 public:
  virtual ~Thunk() = default;
  /// Scratch bytes each run needs (planned into the arena, live during this node only).
  virtual size_t scratch_bytes() const { return 0; }
  /// Per-instance state; `scratch` is this thunk's region of the instance's arena.
  virtual std::unique_ptr<ThunkState> make_state(std::byte* scratch) const { return nullptr; }
  virtual void run(const Frame& f) const = 0;
  /// What runs, for the schedule dump ("dot_general [onednn]").
  virtual std::string describe() const = 0;
  /// The schedules of subprograms (control flow), one line each, for the dump.
  virtual std::string nested(const std::string& indent) const { return {}; }
};

/// A compiled graph.
class Program {
 public:
  /// Lowers `g`. `donated` (top level only) marks inputs whose buffers may hold outputs.
  Program(std::shared_ptr<const Graph> g, const std::vector<bool>& donated);

  const Graph& graph() const { return *graph_; }
  const StoragePlan& plan() const { return plan_; }
  size_t num_thunks() const { return steps_.size(); }
  size_t num_in_place() const;
  /// The arena one instance needs.
  size_t arena_bytes() const { return plan_.arena_bytes; }
  /// One line per thunk: what runs and where its operands live.
  std::string schedule(const std::string& indent = "") const;

  /// A new instance over `arena` (arena_bytes() bytes, 64-byte aligned, owned by the caller and
  /// alive as long as the instance).
  std::unique_ptr<Instance> make_instance(std::byte* arena) const;

  /// Runs the schedule. `in[i]` is graph input i's data; `out[k]` the buffer of graph output k
  /// for each Output storage's first output (other entries are ignored). `in_ids[i]`, when
  /// given, is the content id (Buffer::id) of input i's memory, which stays unchanged during the
  /// run; kernels see it on the input's tensor and may skip work derived from the same contents
  /// last run. Without it (control flow rebinding inputs per iteration) inputs have id 0.
  void run(Instance& inst, std::span<const void* const> in, std::span<void* const> out,
           std::span<const uint64_t> in_ids = {}) const;
  /// After run in "into" mode: copies the graph outputs that are not computed in their buffer.
  void copy_outputs(Instance& inst, std::span<void* const> out) const;

  /// The storage holding graph output k.
  const Storage& output_storage(size_t k) const;
  /// The data of storage `s` in an instance (after run has bound it).
  static const void* data(const Instance& inst, int32_t s);

 private:
  struct Step {
    std::unique_ptr<Thunk> thunk;
    int32_t node = -1;
    size_t args = 0;  ///< index of the node's first input in Instance::args; outputs follow
    size_t num_in = 0, num_out = 0;
    int32_t scratch = -1;  ///< storage
  };
  std::shared_ptr<const Graph> graph_;
  StoragePlan plan_;
  std::vector<Step> steps_;
  size_t num_args_ = 0;
  std::vector<int32_t> bound_inputs_;   ///< Input storages
  std::vector<int32_t> bound_outputs_;  ///< Output storages
  std::vector<int32_t> copies_;         ///< per graph output: storage to copy from, or -1
};

/// Per-caller state of a Program.
struct Instance {
  std::byte* arena = nullptr;
  std::vector<std::shared_ptr<Buffer>> buffers;  ///< per storage
  std::vector<Tensor> args;                      ///< per step: its inputs, then its outputs
  std::vector<std::unique_ptr<ThunkState>> states;
};

/// Re-points a Buffer that wraps external memory at other memory. The Buffer object is replaced
/// in place (same type, same address), so every tensor holding it sees the new memory.
inline void rebind(Buffer& b, void* data, size_t bytes, uint64_t content_id = 0) {
  std::destroy_at(&b);
  std::construct_at(&b, data, bytes, content_id);
}

/// Lowers one node to its thunk (exec_thunks.cpp); `g` is the graph holding it.
std::unique_ptr<Thunk> lower_node(const Graph& g, const Node& n);
/// Control-flow nodes (exec_control.cpp).
std::unique_ptr<Thunk> lower_control(const Graph& g, const Node& n);

/// How many instances a compiled executable has made so far: one per caller that found every
/// instance busy (tests check that sequential calls reuse one). 0 for other executables.
size_t instance_count(const Executable& e);

}  // namespace nx::detail::exec
