#include "dispatch.hpp"

#include <string>

#include "../backends/cpu/backend.hpp"
#include "../defn/trace.hpp"
#include "tensor_impl.hpp"

namespace nx::detail {

std::string op_label(int prim) {
  return "nx::" + std::string(kPrimInfo[static_cast<size_t>(prim)].name);
}

namespace {

std::array<std::atomic<uint64_t>, kNumPrims> g_call_counts{};

}  // namespace

void check_bind(Prim p, std::span<const Tensor> in, const Params& params) {
  const PrimInfo& pi = info(p);
  if (pi.inputs >= 0 && static_cast<int>(in.size()) != pi.inputs) {
    throw Error(op_label(static_cast<int>(p)) + ": expected " + std::to_string(pi.inputs) +
                " inputs, got " + std::to_string(in.size()));
  }
  if (params.index() != pi.params_index) {
    throw Error(op_label(static_cast<int>(p)) + ": internal error: wrong parameter kind");
  }
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].defined()) {
      throw Error(op_label(static_cast<int>(p)) + ": input " + std::to_string(i) +
                  " is an empty tensor");
    }
    if (in[i].is_template()) {
      throw Error(op_label(static_cast<int>(p)) + ": input " + std::to_string(i) + " (" +
                  type_string(in[i].type()) + ") is a template and has no data");
    }
  }
}

const std::array<std::atomic<uint64_t>, kNumPrims>& prim_call_counts() {
  return g_call_counts;
}

std::vector<Tensor> bind_concrete(Prim p, std::span<const Tensor> in, const Params& params) {
  const PrimInfo& pi = info(p);
  g_call_counts[static_cast<size_t>(p)].fetch_add(1, std::memory_order_relaxed);
  check_bind(p, in, params);
  std::vector<TensorType> out_types = pi.rule(static_cast<int>(p), in, params);
  return cpu::run(p, in, params, out_types);
}

std::vector<Tensor> bind(Prim p, std::span<const Tensor> in, const Params& params) {
  bool traced = tracing_active();
  for (size_t i = 0; i < in.size() && !traced; ++i) traced = in[i].defined() && in[i].is_traced();
  if (traced) return trace_bind(p, in, params);
  return bind_concrete(p, in, params);
}

Tensor bind1(Prim p, std::span<const Tensor> in, const Params& params) {
  return std::move(bind(p, in, params)[0]);
}

}  // namespace nx::detail
