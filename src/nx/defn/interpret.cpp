#include "interpret.hpp"

#include <memory>
#include <string>

#include "../core/dispatch.hpp"
#include "control_flow.hpp"
#include "custom.hpp"
#include "nx/defn.hpp"

namespace nx::detail {

std::vector<Tensor> interpret_node(const Node& n, std::span<const Tensor> in, const Graph& g,
                                   const std::shared_ptr<std::vector<Tensor>>& env) {
  switch (n.kind) {
    case NodeKind::Prim:
      return bind(n.prim, in, n.params);
    case NodeKind::Constant:
      return {n.constant};
    case NodeKind::Param:
      throw Error("nx: internal error: interpret_node on a Param node");
    case NodeKind::StopGrad:
      return {nx::stop_grad(in[0])};
    case NodeKind::CustomGrad: {
      // Re-emit with a vjp that sees this replay's values for the recording trace's tensors.
      CustomGradFn vjp = substituting_vjp(*n.vjp, n.trace, env);
      return {nx::custom_grad(in[0], std::vector<Tensor>(in.begin() + 1, in.end()), vjp)};
    }
    case NodeKind::Hook:
      return {nx::hook(in[0], n.name, *n.hook)};
    case NodeKind::While:
    case NodeKind::Cond:
    case NodeKind::Scan:
      return run_control(n, in);
    case NodeKind::Fused:
      return interpret(*n.subgraphs[0], in);
  }
  throw Error("nx: internal error: unknown node kind");
}

std::vector<Tensor> interpret_node(const Node& n, std::span<const Tensor> in, const Graph& g) {
  return interpret_node(n, in, g, nullptr);
}

std::vector<Tensor> interpret(const Graph& g, std::span<const Tensor> inputs,
                              std::vector<Tensor>* env_out) {
  if (inputs.size() != g.inputs.size()) {
    throw Error("nx: internal error: graph expects " + std::to_string(g.inputs.size()) +
                " inputs, got " + std::to_string(inputs.size()));
  }
  auto env = std::make_shared<std::vector<Tensor>>(g.num_values());
  std::vector<Tensor> args;
  for (const Node& n : g.nodes) {
    if (n.kind == NodeKind::Param) {
      (*env)[static_cast<size_t>(n.out[0])] = inputs[static_cast<size_t>(n.index)];
      continue;
    }
    args.clear();
    for (int32_t v : n.in) args.push_back((*env)[static_cast<size_t>(v)]);
    std::vector<Tensor> outs = interpret_node(n, args, g, env);
    for (size_t i = 0; i < n.out.size(); ++i) (*env)[static_cast<size_t>(n.out[i])] = outs[i];
  }
  std::vector<Tensor> result;
  result.reserve(g.outputs.size());
  for (int32_t v : g.outputs) result.push_back((*env)[static_cast<size_t>(v)]);
  if (env_out != nullptr) *env_out = *env;
  return result;
}

}  // namespace nx::detail
