// Thunks of primitives, hooks and fused clusters.
//
//   Prim          the CPU kernel, called on the bound tensors (the same kernel eager code runs)
//   dot_general   a DotPlan made at compile time: layout analysis and the oneDNN primitive are
//   conv_general  done once, and packing buffers and scratchpads live in the arena
//   Hook          copies the value into a fresh tensor (arena memory is reused, and the hook may
//                 keep what it is given) and calls the hook on every run
//   Fused         the kernel prepare_fused made at compile time
#include <cstring>
#include <string>

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

class DotThunk final : public Thunk {
 public:
  explicit DotThunk(cpu::DotPlan plan) : plan_(std::move(plan)) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  void run(const Frame& f) const override {
    cpu::run_dot(plan_, data_of(f.in[0]), data_of(f.in[1]), data_of(f.out[0]), f.scratch);
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

class ConvThunk final : public Thunk {
 public:
  explicit ConvThunk(cpu::ConvPlan plan) : plan_(std::move(plan)) {}
  size_t scratch_bytes() const override { return plan_.scratch_bytes; }
  void run(const Frame& f) const override {
    cpu::run_conv(plan_, data_of(f.in[0]), data_of(f.in[1]), data_of(f.out[0]), f.scratch);
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

class FusedThunk final : public Thunk {
 public:
  FusedThunk(std::unique_ptr<FusedKernel> kernel, std::string kind)
      : kernel_(std::move(kernel)), kind_(std::move(kind)) {}
  void run(const Frame& f) const override { kernel_->run(f.in, f.out); }
  std::string describe() const override { return "fused " + kind_; }

 private:
  std::unique_ptr<FusedKernel> kernel_;
  std::string kind_;
};

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
