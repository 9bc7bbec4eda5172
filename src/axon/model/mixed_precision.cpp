// Mixed precision policies: creating and printing them, casting trees, and apply_policy, which
// rewrites a model graph so that the chosen layer nodes carry a policy (the evaluator in
// program.cpp applies the casts).
#include "axon/mixed_precision.hpp"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <utility>

#include "axon/model/defs.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::mixed_precision {

namespace {

void check_float(const std::optional<nx::DType>& t, const char* which) {
  if (t && !nx::is_float(*t)) {
    throw nx::Error(std::string("axon::mixed_precision::create_policy: ") + which +
                    " must be a floating-point dtype (f16, bf16, f32, f64), got " +
                    std::string(nx::dtype_name(*t)));
  }
}

std::string name_of(const std::optional<nx::DType>& t) {
  return t ? std::string(nx::dtype_name(*t)) : std::string("none");
}

// Rewrites a graph bottom-up: a node is copied (with a fresh id) when it gets the policy or when
// one of its parents (or its block's inner graph) was copied; untouched sub-graphs are shared.
class Rewriter {
 public:
  Rewriter(const Policy& policy, const std::function<bool(const Node&)>& filter)
      : policy_(policy), filter_(filter) {}

  Model rewrite(const Model& m) {
    const Node& node = m.node();
    if (auto it = done_.find(&node); it != done_.end()) return it->second;
    bool changed = false;
    std::vector<Model> parents;
    parents.reserve(node.parents.size());
    for (const Model& p : node.parents) {
      parents.push_back(rewrite(p));
      changed = changed || parents.back().ptr() != p.ptr();
    }
    std::shared_ptr<const void> sub = node.sub;
    if (node.kind == NodeKind::Block) {
      sub = rewrite_block(node.sub);
      changed = changed || sub != node.sub;
    }
    const bool chosen = node.kind == NodeKind::Layer && filter_(node);
    Model out = m;
    if (changed || chosen) {
      auto copy = std::make_shared<Node>(node);
      copy->id = detail::next_node_id();
      copy->parents = std::move(parents);
      copy->sub = std::move(sub);
      if (chosen) copy->policy = policy_;
      out = Model(std::move(copy));
    }
    done_.emplace(&node, out);
    return out;
  }

 private:
  std::shared_ptr<const void> rewrite_block(const std::shared_ptr<const void>& sub) {
    if (auto it = blocks_.find(sub.get()); it != blocks_.end()) return it->second;
    const auto& def = *static_cast<const detail::BlockDef*>(sub.get());
    Model inner = rewrite(def.inner);
    std::shared_ptr<const void> out = sub;
    if (inner.ptr() != def.inner.ptr()) {
      auto copy = std::make_shared<detail::BlockDef>(def);
      copy->id = detail::next_node_id();
      copy->inner = std::move(inner);
      out = std::move(copy);
    }
    blocks_.emplace(sub.get(), out);
    return out;
  }

  const Policy& policy_;
  const std::function<bool(const Node&)>& filter_;
  std::unordered_map<const Node*, Model> done_;
  std::unordered_map<const void*, std::shared_ptr<const void>> blocks_;
};

}  // namespace

Policy create_policy(PolicyOptions opts) {
  check_float(opts.params, "params");
  check_float(opts.compute, "compute");
  check_float(opts.output, "output");
  return Policy{opts.params, opts.compute, opts.output};
}

std::string to_string(const Policy& policy) {
  return "p=" + name_of(policy.params) + " c=" + name_of(policy.compute) +
         " o=" + name_of(policy.output);
}

nx::Tree cast(const Policy& policy, const nx::Tree& tree, CastTo to) {
  std::optional<nx::DType> dtype = to == CastTo::Params    ? policy.params
                                   : to == CastTo::Compute ? policy.compute
                                                           : policy.output;
  if (!dtype || !nx::is_float(*dtype)) return tree;
  return nx::tree_map(tree, [&](const nx::Tensor& x) {
    return nx::is_float(x.dtype()) && x.dtype() != *dtype ? nx::as_type(x, *dtype) : x;
  });
}

Model apply_policy(const Model& model, const Policy& policy,
                   const std::function<bool(const Node&)>& filter) {
  if (!filter) throw nx::Error("axon::mixed_precision::apply_policy: the filter is empty");
  create_policy({policy.params, policy.compute, policy.output});  // checks the dtypes
  Rewriter r(policy, filter);
  return r.rewrite(model);
}

Model apply_policy(const Model& model, const Policy& policy, PolicyFilter filter) {
  if (!filter.only.empty() && !filter.except.empty()) {
    throw nx::Error(
        "axon::mixed_precision::apply_policy: give either only or except op names, not both");
  }
  auto has = [](const std::vector<std::string>& ops, const std::string& op) {
    return std::find(ops.begin(), ops.end(), op) != ops.end();
  };
  return apply_policy(model, policy, [&](const Node& node) {
    if (!filter.only.empty()) return has(filter.only, node.op_name);
    return !has(filter.except, node.op_name);
  });
}

}  // namespace axon::mixed_precision
