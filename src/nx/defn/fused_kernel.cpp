// prepare_fused: picks the kernel of a Fused node by its kind, falling back to running the
// program node by node where the specialised kernels cannot take it.
#include "fused_kernel.hpp"

#include <cstring>
#include <string>

#include "../backends/cpu/dnnl_conv_layout.hpp"
#include "../backends/cpu/fused_dnnl.hpp"
#include "../backends/cpu/fused_program.hpp"
#include "../core/tensor_impl.hpp"
#include "interpret.hpp"

namespace nx::detail {

namespace {

/// Runs the program through the eager kernels and copies the results out: correct for every
/// program, with none of fusion's gains.
class InterpretedKernel final : public FusedKernel {
 public:
  explicit InterpretedKernel(std::shared_ptr<const Graph> program) : g_(std::move(program)) {}
  void run(std::span<const Tensor> in, std::span<Tensor> out) const override {
    std::vector<Tensor> res = interpret(*g_, in);
    for (size_t i = 0; i < res.size(); ++i) {
      std::memcpy(mutable_data(out[i]), res[i].raw_data(), static_cast<size_t>(res[i].byte_size()));
    }
  }

 private:
  std::shared_ptr<const Graph> g_;
};

}  // namespace

std::unique_ptr<FusedKernel> prepare_fused(const Node& fused, const Graph& parent) {
  (void)parent;  // programs are closed: constants they need are nodes of their own
  if (fused.kind != NodeKind::Fused || fused.subgraphs.size() != 1 || !fused.subgraphs[0]) {
    throw Error("nx: prepare_fused: expected a Fused node with one program subgraph, got a " +
                std::string(node_kind_name(fused.kind)) + " node");
  }
  const auto& program = fused.subgraphs[0];
  if (fused.name == "elementwise") {
    if (auto p = cpu::fused::compile_program(*program))
      return std::make_unique<cpu::fused::ElementwiseKernel>(std::move(p));
  } else if (fused.name == "matmul_epilogue" || fused.name == "conv_epilogue") {
    if (auto k = cpu::fused::prepare_epilogue(*program)) return k;
  } else if (fused.name == "conv_layout") {
    if (auto k = cpu::fused::prepare_conv_layout(*program)) return k;
  } else {
    throw Error("nx: prepare_fused: unknown fused kind \"" + fused.name +
                "\" (expected elementwise, matmul_epilogue, conv_epilogue or conv_layout)");
  }
  return std::make_unique<InterpretedKernel>(program);
}

bool fused_may_write_in_place(const Node& fused, size_t out, size_t in) {
  if (fused.kind != NodeKind::Fused || fused.name != "elementwise" || fused.subgraphs.empty())
    return false;
  const Graph& g = *fused.subgraphs[0];
  if (out >= g.outputs.size() || in >= g.inputs.size()) return false;
  auto p = cpu::fused::compile_program(g, /*native=*/false);  // inspected, never run
  if (!p || p->out_size[out] != p->n) return false;
  const auto leaf = static_cast<int32_t>(in);
  for (const auto& gp : p->gathers)
    if (gp.leaf == leaf) return false;
  for (const auto& r : p->safe_red_src)
    if (r.kind == cpu::fused::Ref::Kind::Leaf && r.index == leaf) return false;
  return true;
}

}  // namespace nx::detail
