// Thunks of primitives, hooks and fused clusters.
//
//   Prim          the kernel prepared at compile time (prepare_kernel: the plan the eager kernel
//                 makes per call, made once, its scratch in the arena), or the plain CPU kernel
//                 for primitives that plan nothing (the same code eager calls run)
//   dot_general   a DotPlan made at compile time: layout analysis and the oneDNN primitive are
//   conv_general  done once, and packing buffers and scratchpads live in the arena; each
//                 instance binds its oneDNN arguments once (conv_general's reference path,
//                 taken for f64 and for problems oneDNN refuses, still plans per call)
//   Hook          copies the value into a fresh tensor (arena memory is reused, and the hook may
//                 keep what it is given) and calls the hook on every run
//   Fused         the kernel prepare_fused made at compile time, run on its scratch in the arena
//                 with its per-instance state (FusedKernel::run_with)
//
// So a thunk allocates nothing when it runs, hooks aside, as long as its kernel plans its memory
// (prepare_kernel, the dot and conv plans, FusedKernel::run_with); the plain kernels used for
// the primitives prepare_kernel leaves out allocate nothing to begin with.
#include <cstring>
#include <string>
#include <vector>

#include "../backends/cpu/backend.hpp"
#include "../backends/cpu/prepared.hpp"
#include "exec_program.hpp"
#include "fused_kernel.hpp"

namespace nx::detail::exec {

namespace {

void* data_of(const Tensor& t) {
  return t.impl()->buffer->data();
}

class PrimThunk final : public Thunk {
 public:
  PrimThunk(Prim p, Params params)
      : prim_(p), params_(std::move(params)), kernel_(cpu::kernel_of(p)) {}
  void run(const Frame& f) const override { kernel_(params_, f.in, f.out); }
  std::string describe() const override { return std::string(prim_name(prim_)); }

 private:
  Prim prim_;
  Params params_;
  cpu::Kernel kernel_;
};

struct PreparedThunkState final : ThunkState {
  std::unique_ptr<cpu::PreparedState> kernel;
};

class PreparedThunk final : public Thunk {
 public:
  PreparedThunk(Prim p, std::unique_ptr<cpu::PreparedKernel> kernel)
      : prim_(p), kernel_(std::move(kernel)) {}
  size_t scratch_bytes() const override { return kernel_->scratch_bytes(); }
  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto state = kernel_->make_state(scratch);
    if (!state) return nullptr;
    auto s = std::make_unique<PreparedThunkState>();
    s->kernel = std::move(state);
    return s;
  }
  void run(const Frame& f) const override {
    auto* s = static_cast<PreparedThunkState*>(f.state);
    kernel_->run_with(f.in, f.out, f.scratch, s != nullptr ? s->kernel.get() : nullptr);
  }
  std::string describe() const override { return std::string(prim_name(prim_)) + " [planned]"; }

 private:
  Prim prim_;
  std::unique_ptr<cpu::PreparedKernel> kernel_;
};

struct DotState final : ThunkState {
  cpu::GemmState gemm;
};

class DotThunk final : public Thunk {
 public:
  explicit DotThunk(cpu::DotPlan plan) : plan_(std::move(plan)) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto s = std::make_unique<DotState>();
    s->gemm = cpu::bind_dot(plan_, scratch);
    return s;
  }
  void run(const Frame& f) const override {
    cpu::run_dot(plan_, data_of(f.in[0]), data_of(f.in[1]), data_of(f.out[0]), f.scratch,
                 static_cast<DotState*>(f.state)->gemm, f.in[1].impl()->buffer->id());
  }
  std::string describe() const override {
    std::string d = "dot_general [";
    if (plan_.a.gather) d += "gather a, ";
    if (plan_.b.gather) d += "gather b, ";
    return d + cpu::describe(plan_.gemm) + "]";
  }

 private:
  cpu::DotPlan plan_;
};

struct ConvState final : ThunkState {
  cpu::ConvState conv;
};

class ConvThunk final : public Thunk {
 public:
  explicit ConvThunk(cpu::ConvPlan plan) : plan_(std::move(plan)) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto s = std::make_unique<ConvState>();
    s->conv = cpu::bind_conv(plan_, scratch);
    return s;
  }
  void run(const Frame& f) const override {
    cpu::run_conv(plan_, data_of(f.in[0]), data_of(f.in[1]), data_of(f.out[0]), f.scratch,
                  static_cast<ConvState*>(f.state)->conv, f.in[1].impl()->buffer->id());
  }
  std::string describe() const override {
    return std::string("conv_general [") + cpu::describe(plan_) + "]";
  }

 private:
  cpu::ConvPlan plan_;
};

class HookThunk final : public Thunk {
 public:
  HookThunk(std::shared_ptr<const HookFn> fn, std::string name)
      : fn_(std::move(fn)), name_(std::move(name)) {}
  void run(const Frame& f) const override {
    const Tensor& x = f.in[0];
    Tensor copy = make_tensor(x.type());
    std::memcpy(mutable_data(copy), data_of(x), static_cast<size_t>(x.byte_size()));
    (*fn_)(copy);
  }
  std::string describe() const override { return "hook \"" + name_ + "\""; }

 private:
  std::shared_ptr<const HookFn> fn_;
  std::string name_;
};

struct FusedThunkState final : ThunkState {
  std::unique_ptr<FusedState> kernel;
};

class FusedThunk final : public Thunk {
 public:
  FusedThunk(std::unique_ptr<FusedKernel> kernel, std::string kind)
      : kernel_(std::move(kernel)), kind_(std::move(kind)) {}
  size_t scratch_bytes() const override { return kernel_->scratch_bytes(); }
  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto s = std::make_unique<FusedThunkState>();
    s->kernel = kernel_->make_state(scratch);
    return s;
  }
  void run(const Frame& f) const override {
    kernel_->run_with(f.in, f.out, f.scratch, static_cast<FusedThunkState*>(f.state)->kernel.get());
  }
  std::string describe() const override { return "fused " + kind_; }

 private:
  std::unique_ptr<FusedKernel> kernel_;
  std::string kind_;
};

std::vector<TensorType> types_of(const Graph& g, const std::vector<int32_t>& values) {
  std::vector<TensorType> types;
  types.reserve(values.size());
  for (int32_t v : values) types.push_back(g.type(v));
  return types;
}

}  // namespace

std::unique_ptr<Thunk> lower_node(const Graph& g, const Node& n) {
  switch (n.kind) {
    case NodeKind::Prim:
      if (n.prim == Prim::dot_general) {
        return std::make_unique<DotThunk>(
            cpu::plan_dot(std::get<DotParams>(n.params), g.type(n.in[0]), g.type(n.in[1])));
      }
      if (n.prim == Prim::conv_general) {
        return std::make_unique<ConvThunk>(cpu::plan_conv(
            std::get<ConvParams>(n.params), g.type(n.in[0]), g.type(n.in[1]), g.type(n.out[0])));
      }
      if (auto k = cpu::prepare_kernel(n.prim, n.params, types_of(g, n.in), types_of(g, n.out)))
        return std::make_unique<PreparedThunk>(n.prim, std::move(k));
      return std::make_unique<PrimThunk>(n.prim, n.params);
    case NodeKind::Hook:
      return std::make_unique<HookThunk>(n.hook, n.name);
    case NodeKind::Fused:
      return std::make_unique<FusedThunk>(prepare_fused(n, g), n.name);
    case NodeKind::While:
    case NodeKind::Cond:
    case NodeKind::Scan:
      return lower_control(g, n);
    default:
      throw Error("nx: compile: internal error: a " + std::string(node_kind_name(n.kind)) +
                  " node is a binding, not a step");
  }
}

}  // namespace nx::detail::exec
