#include "autodiff.hpp"

#include <memory>
#include <string>

#include "control_flow.hpp"
#include "custom.hpp"
#include "interpret.hpp"
#include "nx/ops/elementwise.hpp"
#include "vjp.hpp"

namespace nx::detail {

namespace {

[[noreturn]] void bad_cotangent(const Node& n, size_t i, const Tensor& c, const TensorType& want) {
  std::string what = n.kind == NodeKind::Prim ? std::string(prim_name(n.prim))
                                              : std::string(node_kind_name(n.kind));
  throw Error("nx::grad: internal error: the rule of " + what + " gave input " + std::to_string(i) +
              " a cotangent of type " + type_string(c.type()) + ", expected " + type_string(want));
}

}  // namespace

std::vector<Tensor> backward(const Graph& g, const std::vector<Tensor>& env,
                             std::span<const Tensor> out_cts, std::span<const bool> wanted) {
  const size_t nv = g.num_values();
  // needs[v]: v depends on a wanted input through differentiable values.
  std::vector<char> needs(nv, 0);
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    int32_t v = g.inputs[i];
    if (i < wanted.size() && wanted[i] && differentiable_dtype(g.type(v).dtype)) needs[v] = 1;
  }
  for (const Node& n : g.nodes) {
    if (n.kind == NodeKind::Param || n.kind == NodeKind::Constant || n.kind == NodeKind::StopGrad) {
      continue;
    }
    bool any = false;
    size_t first = n.kind == NodeKind::CustomGrad ? 1 : 0;
    for (size_t i = first; i < n.in.size(); ++i) any = any || needs[n.in[i]];
    if (!any) continue;
    for (int32_t v : n.out) {
      if (differentiable_dtype(g.type(v).dtype)) needs[v] = 1;
    }
  }

  std::vector<Tensor> ct(nv);
  auto accumulate = [&](const Node* n, size_t i, int32_t v, const Tensor& c) {
    if (!c.defined() || !needs[v]) return;
    if (c.type() != g.type(v)) {
      if (n != nullptr) bad_cotangent(*n, i, c, g.type(v));
      throw Error("nx::grad: the cotangent of output " + std::to_string(i) + " has type " +
                  type_string(c.type()) + ", expected " + type_string(g.type(v)));
    }
    Tensor& slot = ct[static_cast<size_t>(v)];
    slot = slot.defined() ? nx::add(slot, c) : c;
  };
  for (size_t i = 0; i < g.outputs.size() && i < out_cts.size(); ++i) {
    accumulate(nullptr, i, g.outputs[i], out_cts[i]);
  }

  std::shared_ptr<const std::vector<Tensor>> shared_env;
  std::vector<Tensor> in, out, cts;
  std::vector<char> want_in;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    const Node& n = *it;
    if (n.kind == NodeKind::Param || n.kind == NodeKind::Constant || n.kind == NodeKind::StopGrad) {
      continue;
    }
    bool has_ct = false;
    for (int32_t v : n.out) has_ct = has_ct || ct[static_cast<size_t>(v)].defined();
    if (!has_ct) continue;
    bool any_need = false;
    for (int32_t v : n.in) any_need = any_need || needs[v];
    if (!any_need) continue;

    in.clear();
    out.clear();
    cts.clear();
    want_in.clear();
    for (int32_t v : n.in) {
      in.push_back(env[static_cast<size_t>(v)]);
      want_in.push_back(needs[v]);
    }
    for (int32_t v : n.out) {
      out.push_back(env[static_cast<size_t>(v)]);
      cts.push_back(ct[static_cast<size_t>(v)]);
    }
    std::unique_ptr<bool[]> want_arr(new bool[want_in.size() + 1]);
    for (size_t i = 0; i < want_in.size(); ++i) want_arr[i] = want_in[i] != 0;
    std::span<const bool> want_span(want_arr.get(), want_in.size());

    std::vector<Tensor> r;
    switch (n.kind) {
      case NodeKind::Prim:
        r = vjp_rule(n.prim)(VjpArgs{n.prim, n.params, in, out, cts, want_span});
        break;
      case NodeKind::Hook:
        r = {cts[0]};
        break;
      case NodeKind::CustomGrad: {
        if (!shared_env) shared_env = std::make_shared<const std::vector<Tensor>>(env);
        Tensor c = cts[0];
        CustomGradFn fn = substituting_vjp(*n.vjp, n.trace, shared_env);
        std::vector<Tensor> user = fn(c);
        if (user.size() != n.in.size() - 1) {
          throw Error("nx::custom_grad: the gradient function returned " +
                      std::to_string(user.size()) + " cotangents for " +
                      std::to_string(n.in.size() - 1) + " inputs");
        }
        r.push_back(Tensor());
        for (size_t i = 0; i < user.size(); ++i) {
          Tensor u = user[i];
          const TensorType& want = g.type(n.in[i + 1]);
          if (u.defined() && u.type() != want) {
            throw Error("nx::custom_grad: cotangent " + std::to_string(i) + " has type " +
                        type_string(u.type()) + ", expected the input's " + type_string(want));
          }
          r.push_back(u);
        }
        break;
      }
      case NodeKind::While:
      case NodeKind::Cond:
      case NodeKind::Scan:
        r = vjp_control(n, in, out, cts, want_span);
        break;
      case NodeKind::Fused: {
        std::vector<Tensor> sub_env;
        interpret(*n.subgraphs[0], in, &sub_env);
        r = backward(*n.subgraphs[0], sub_env, cts, want_span);
        break;
      }
      default:
        break;
    }
    for (size_t i = 0; i < r.size() && i < n.in.size(); ++i) {
      accumulate(&n, i, n.in[i], r[i]);
    }
  }

  std::vector<Tensor> result(g.inputs.size());
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    if (i < wanted.size() && wanted[i]) result[i] = ct[static_cast<size_t>(g.inputs[i])];
  }
  return result;
}

}  // namespace nx::detail
