// Lowering for the CPU: a graph becomes a Program (exec_program.hpp) wrapped as an Executable.
//
// A call takes an instance from a pool (a new one only when every instance is busy, i.e. the
// first call on each concurrent thread), binds its inputs and output buffers, runs the schedule
// and wraps the output buffers as result tensors. Outputs are the only allocations of a call:
// a fresh buffer per Output storage, or the buffer of a donated input that the caller no longer
// references. Outputs that are inputs or constants (or views of them) share their buffers.
#include "compile.hpp"

#include <atomic>
#include <mutex>

#include "../core/allocator.hpp"
#include "../core/tensor_impl.hpp"
#include "exec_program.hpp"

namespace nx::detail {

namespace exec {

namespace {

// Donation needs the caller to hold the only handle to the tensor and the tensor the only
// reference to its buffer.
bool sole_owner(const Tensor& t) {
  return t.use_count() == 1 && t.impl()->buffer && t.impl()->buffer.use_count() == 1;
}

// Where a result tensor comes from.
struct Source {
  enum class Kind : uint8_t { Fresh, SameAs, Input, Constant } kind = Kind::Fresh;
  int32_t index = 0;   ///< SameAs: the output owning the buffer; Input: the input position
  bool exact = false;  ///< Input/Constant: the value itself (returned as is), not a view of it
  Tensor constant;
};

// An instance's arena: 64-byte aligned memory from the tensor allocator.
struct Arena {
  explicit Arena(size_t n)
      : bytes(std::max(n, kAlign)), data(static_cast<std::byte*>(allocate(bytes))) {}
  ~Arena() { deallocate(data, bytes); }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  size_t bytes;
  std::byte* data;
};

// The per-caller state of the top-level program.
struct TopInstance {
  explicit TopInstance(const Program& p)
      : arena(p.arena_bytes()),
        inst(p.make_instance(arena.data)),
        in(p.graph().inputs.size()),
        in_ids(p.graph().inputs.size()),
        out(p.graph().outputs.size()),
        buffers(p.graph().outputs.size()) {}

  Arena arena;  // declared first: outlives the instance whose tensors point into it
  std::unique_ptr<Instance> inst;
  std::vector<const void*> in;
  std::vector<uint64_t> in_ids;  ///< the inputs' content ids (Buffer::id)
  std::vector<void*> out;
  std::vector<std::shared_ptr<Buffer>> buffers;  ///< per output owning an Output storage
};

class CompiledExecutable final : public Executable {
 public:
  CompiledExecutable(std::shared_ptr<const Graph> g, const CompileOptions& opts)
      : name_(opts.name), program_(std::move(g), opts.donated) {
    const Graph& graph = program_.graph();
    const StoragePlan& plan = program_.plan();
    for (size_t k = 0; k < graph.outputs.size(); ++k) {
      int32_t v = graph.outputs[k];
      const Storage& st = program_.output_storage(k);
      Source s;
      switch (st.kind) {
        case StorageKind::Output:
          s.kind =
              st.output == static_cast<int32_t>(k) ? Source::Kind::Fresh : Source::Kind::SameAs;
          s.index = st.output;
          break;
        case StorageKind::Input:
          s.kind = Source::Kind::Input;
          s.index = st.input;
          s.exact = v == st.root;
          break;
        case StorageKind::Constant:
          s.kind = Source::Kind::Constant;
          s.exact = v == st.root;
          s.constant = st.constant;
          break;
        case StorageKind::Arena:
          throw Error("nx: compile: internal error: an output in the arena");
      }
      sources_.push_back(std::move(s));
    }
    info_.num_thunks = program_.num_thunks();
    info_.arena_bytes = plan.arena_bytes;
    info_.naive_bytes = plan.naive_bytes;
    info_.in_place = program_.num_in_place();
    info_.schedule = "# " + name_ + ": " + std::to_string(info_.num_thunks) + " thunks, arena " +
                     std::to_string(info_.arena_bytes) + " bytes (" +
                     std::to_string(info_.naive_bytes) + " without reuse), " +
                     std::to_string(info_.in_place) + " in place\n" + program_.schedule();
  }

  std::vector<Tensor> run(std::span<const Tensor> inputs) const override {
    check(inputs);
    Lease lease(*this);
    TopInstance& ti = *lease.instance;
    const Graph& g = program_.graph();
    for (size_t i = 0; i < inputs.size(); ++i) {
      ti.in[i] = inputs[i].impl()->buffer->data();
      ti.in_ids[i] = inputs[i].impl()->buffer->id();
    }
    for (size_t k = 0; k < sources_.size(); ++k) {
      if (sources_[k].kind != Source::Kind::Fresh) continue;
      const Storage& st = program_.output_storage(k);
      std::shared_ptr<Buffer>& buf = ti.buffers[k];
      if (st.donor >= 0 && sole_owner(inputs[static_cast<size_t>(st.donor)]) &&
          inputs[static_cast<size_t>(st.donor)].impl()->buffer->bytes() >= st.bytes) {
        buf = inputs[static_cast<size_t>(st.donor)].impl()->buffer;
        buf->renew_id();  // its bytes become the result's (the input keeps its id for this run)
      } else {
        buf = std::make_shared<Buffer>(st.bytes);
      }
      ti.out[k] = buf->data();
    }
    program_.run(*ti.inst, ti.in, ti.out, ti.in_ids);
    std::vector<Tensor> result;
    result.reserve(sources_.size());
    for (size_t k = 0; k < sources_.size(); ++k) {
      const Source& s = sources_[k];
      const TensorType& type = g.type(g.outputs[k]);
      switch (s.kind) {
        case Source::Kind::Fresh:
        case Source::Kind::SameAs:
          result.push_back(make_tensor(type, ti.buffers[static_cast<size_t>(s.index)]));
          break;
        case Source::Kind::Input: {
          const Tensor& in = inputs[static_cast<size_t>(s.index)];
          result.push_back(s.exact ? in : make_tensor(type, in.impl()->buffer));
          break;
        }
        case Source::Kind::Constant:
          result.push_back(s.exact ? s.constant : make_tensor(type, s.constant.impl()->buffer));
          break;
      }
    }
    for (auto& b : ti.buffers) b.reset();
    return result;
  }

  const ExecutableInfo& info() const override { return info_; }
  size_t instances() const { return made_.load(); }

 private:
  // Takes an instance from the pool for one call and gives it back afterwards.
  struct Lease {
    explicit Lease(const CompiledExecutable& e) : exe(e) {
      {
        std::lock_guard<std::mutex> lock(e.mutex_);
        if (!e.free_.empty()) {
          instance = std::move(e.free_.back());
          e.free_.pop_back();
        }
      }
      if (!instance) {
        instance = std::make_unique<TopInstance>(e.program_);
        e.made_.fetch_add(1);
      }
    }
    ~Lease() {
      for (auto& b : instance->buffers) b.reset();  // a call that threw
      std::lock_guard<std::mutex> lock(exe.mutex_);
      exe.free_.push_back(std::move(instance));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const CompiledExecutable& exe;
    std::unique_ptr<TopInstance> instance;
  };

  void check(std::span<const Tensor> inputs) const {
    const Graph& g = program_.graph();
    if (inputs.size() != g.inputs.size()) {
      throw Error("nx::jit(" + name_ + "): the compiled function takes " +
                  std::to_string(g.inputs.size()) + " tensors, got " +
                  std::to_string(inputs.size()));
    }
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorType& want = g.type(g.inputs[i]);
      const Tensor& t = inputs[i];
      if (!t.defined() || !t.impl()->buffer) {
        throw Error("nx::jit(" + name_ + "): input " + std::to_string(i) + " (" +
                    type_string(want) + " expected) is " +
                    (!t.defined() ? std::string("an empty tensor")
                                  : "a template or traced tensor with no data"));
      }
      if (t.dtype() != want.dtype || t.shape() != want.shape) {  // (no TensorType copy)
        throw Error("nx::jit(" + name_ + "): input " + std::to_string(i) + ": expected " +
                    type_string(want) + ", got " + type_string(t.type()));
      }
    }
  }

  std::string name_;
  Program program_;
  std::vector<Source> sources_;
  ExecutableInfo info_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<TopInstance>> free_;
  mutable std::atomic<size_t> made_{0};
};

}  // namespace

size_t instance_count(const Executable& e) {
  const auto* c = dynamic_cast<const CompiledExecutable*>(&e);
  return c == nullptr ? 0 : c->instances();
}

}  // namespace exec

std::unique_ptr<Executable> compile(std::shared_ptr<const Graph> g, const CompileOptions& opts) {
  return std::make_unique<exec::CompiledExecutable>(std::move(g), opts);
}

}  // namespace nx::detail
