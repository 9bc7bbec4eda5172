// grad, value_and_grad, stop_grad, custom_grad, hook, print_value.
#include <iostream>
#include <memory>
#include <mutex>
#include <string>

#include "autodiff.hpp"
#include "custom.hpp"
#include "interpret.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "trace.hpp"

namespace nx {

namespace detail {

CustomGradFn substituting_vjp(const CustomGradFn& vjp, uint64_t trace,
                              std::shared_ptr<const std::vector<Tensor>> env) {
  if (!env || trace == 0) return vjp;
  return [vjp, trace, env](const Tensor& g) {
    Substitution s(trace, env);
    std::vector<Tensor> r = vjp(g);
    // Results may be the closure's own tensors: hand back what they stand for here.
    for (Tensor& t : r) {
      if (t.defined()) t = resolve(t);
    }
    return r;
  };
}

namespace {

ValueAndGrad differentiate(const Tree& x,
                           const std::function<std::pair<Tensor, Tree>(const Tree&)>& f,
                           const GradOptions& opts, const char* who) {
  std::vector<PathLeaf> paths = tree_flatten_with_paths(x);
  TreeDef def = tree_structure(x);
  std::vector<Tensor> leaves;
  std::vector<TensorType> types;
  std::unique_ptr<bool[]> weak(new bool[paths.size() + 1]);
  std::vector<char> selected(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    Tensor t = tracing_active() ? resolve(paths[i].tensor) : paths[i].tensor;
    leaves.push_back(t);
    types.push_back(t.type());
    weak[i] = t.is_weak();
    selected[i] = !opts.wrt || opts.wrt(paths[i].path);
    if (selected[i] && !is_float(t.dtype())) {
      std::string where = paths[i].path.empty() ? "the argument" : "leaf '" + paths[i].path + "'";
      throw Error(std::string(who) + ": " + where + " is " + type_string(t.type()) +
                  "; gradients are taken with respect to floating-point tensors only");
    }
  }

  TreeDef aux_def;
  Traced tr = trace_function(
      types,
      [&](std::span<const Tensor> params) {
        Tree px = tree_unflatten(def, params);
        auto [value, aux] = f(px);
        if (!value.defined())
          throw Error(std::string(who) + ": the function returned an empty tensor");
        if (value.rank() != 0 || !is_float(value.dtype())) {
          throw Error(std::string(who) +
                      ": the function must return a floating-point scalar, got " +
                      type_string(value.type()));
        }
        aux_def = tree_structure(aux);
        std::vector<Tensor> outs = {value};
        for (const Tensor& a : tree_leaves(aux)) outs.push_back(a);
        return outs;
      },
      std::span<const bool>(weak.get(), paths.size()));

  std::vector<Tensor> inputs = leaves;
  for (const Tensor& c : tr.captures) inputs.push_back(c);
  std::vector<Tensor> env;
  std::vector<Tensor> outs = interpret(*tr.graph, inputs, &env);

  std::vector<Tensor> cts(outs.size());
  cts[0] = nx::full({}, 1.0, outs[0].dtype());
  std::unique_ptr<bool[]> wanted(new bool[inputs.size() + 1]);
  for (size_t i = 0; i < inputs.size(); ++i) wanted[i] = i < leaves.size() && selected[i];
  std::vector<Tensor> grads =
      backward(*tr.graph, env, cts, std::span<const bool>(wanted.get(), inputs.size()));

  std::vector<Tensor> grad_leaves;
  for (size_t i = 0; i < leaves.size(); ++i) {
    grad_leaves.push_back(grads[i].defined() ? grads[i] : nx::zeros_like(leaves[i]));
  }
  ValueAndGrad r;
  r.value = outs[0];
  r.grad = tree_unflatten(def, grad_leaves);
  r.aux = tree_unflatten(aux_def, std::span<const Tensor>(outs).subspan(1));
  return r;
}

}  // namespace

}  // namespace detail

ValueAndGrad value_and_grad_aux(const Tree& x,
                                const std::function<std::pair<Tensor, Tree>(const Tree&)>& f,
                                const GradOptions& opts) {
  return detail::differentiate(x, f, opts, "nx::value_and_grad");
}

ValueAndGrad value_and_grad(const Tree& x, const std::function<Tensor(const Tree&)>& f,
                            const GradOptions& opts) {
  return detail::differentiate(
      x, [&](const Tree& t) { return std::pair<Tensor, Tree>(f(t), Tree::list({})); }, opts,
      "nx::value_and_grad");
}

Tree grad(const Tree& x, const std::function<Tensor(const Tree&)>& f, const GradOptions& opts) {
  return detail::differentiate(
             x, [&](const Tree& t) { return std::pair<Tensor, Tree>(f(t), Tree::list({})); }, opts,
             "nx::grad")
      .grad;
}

Tensor grad(const Tensor& x, const std::function<Tensor(const Tensor&)>& f) {
  return grad(Tree(x), [&](const Tree& t) { return f(t.leaf()); }).leaf();
}

Tensor stop_grad(const Tensor& x) {
  if (!x.defined()) throw Error("nx::stop_grad: argument x is an empty tensor");
  if (!detail::recording()) return detail::tracing_active() ? detail::resolve(x) : x;
  detail::Node n;
  n.kind = detail::NodeKind::StopGrad;
  TensorType t = x.type();
  return detail::record_node(std::move(n), {&x, 1}, {&t, 1})[0];
}

Tensor custom_grad(const Tensor& value, const std::vector<Tensor>& inputs, CustomGradFn vjp) {
  if (!value.defined()) throw Error("nx::custom_grad: argument value is an empty tensor");
  if (!vjp) throw Error("nx::custom_grad: the gradient function is empty");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      throw Error("nx::custom_grad: input " + std::to_string(i) + " is an empty tensor");
    }
  }
  if (!detail::recording()) return detail::tracing_active() ? detail::resolve(value) : value;
  detail::Node n;
  n.kind = detail::NodeKind::CustomGrad;
  n.vjp = std::make_shared<const CustomGradFn>(std::move(vjp));
  std::vector<Tensor> in = {value};
  in.insert(in.end(), inputs.begin(), inputs.end());
  TensorType t = value.type();
  return detail::record_node(std::move(n), in, {&t, 1})[0];
}

Tensor hook(const Tensor& x, const std::string& name, std::function<void(const Tensor&)> fn) {
  if (!x.defined()) throw Error("nx::hook: argument x is an empty tensor");
  if (!fn) throw Error("nx::hook: the hook function is empty");
  if (!detail::recording()) {
    Tensor v = detail::resolve_concrete(x, "nx::hook");
    fn(v);
    return v;
  }
  detail::Node n;
  n.kind = detail::NodeKind::Hook;
  n.name = name;
  n.hook = std::make_shared<const detail::HookFn>(std::move(fn));
  TensorType t = x.type();
  return detail::record_node(std::move(n), {&x, 1}, {&t, 1})[0];
}

Tensor print_value(const Tensor& x, const std::string& label) {
  return hook(x, label.empty() ? "print_value" : label, [label](const Tensor& v) {
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    if (!label.empty()) std::cerr << label << ": ";
    std::cerr << v << "\n";
  });
}

}  // namespace nx
