#include "grad_check.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

#include "compare.hpp"
#include "grad_objective.hpp"
#include "nx/defn.hpp"
#include "nx/defn/trace.hpp"

namespace nx::conformance {

namespace {

// Central differences: h = cbrt(eps) balances the O(h^2) truncation error against the
// O(eps / h) rounding error of L, both about 1e-11 relative here; the tolerances leave room for
// third derivatives of a few hundred and for L's rounding over a hundred terms.
const double kStep = std::cbrt(std::numeric_limits<double>::epsilon());
constexpr double kFdRtol = 1e-5;
constexpr double kFdAtol = 1e-6;  // times max(1, the largest |difference quotient|)
// nx in float32 against torch in float64 rounded to float32: a few hundred ulp of float32
// (gradients are sums of products, and backward passes reassociate them).
constexpr double kTorchRtol = 1e-4;
constexpr double kTorchAtol = 1e-5;  // times max(1, the largest |torch gradient|)

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

std::string label(const GradCaseSpec& c, size_t k) {
  return "d/d(input " + std::to_string(c.wrt[k]) + ")";
}

// Central differences of L with respect to differentiated input k (float64 mode).
Tensor central_differences(const Objective& obj, size_t k, int64_t& evals) {
  Tensor x0 = obj.wrt_inputs()[k];
  std::vector<double> v = x0.to_vector<double>();
  std::vector<double> fd(v.size());
  for (size_t e = 0; e < v.size(); ++e) {
    std::vector<double> p = v;
    double h = kStep * std::max(1.0, std::fabs(v[e]));
    p[e] = v[e] + h;
    double xp = p[e], lp = obj.loss_at(k, p);
    p[e] = v[e] - h;
    double xm = p[e], lm = obj.loss_at(k, p);
    fd[e] = (lp - lm) / (xp - xm);  // the step actually taken, after rounding x +- h
    evals += 2;
  }
  return from_vector(fd, x0.shape());
}

// Empty when every element is exactly zero.
std::string check_zero(const Tensor& g) {
  std::vector<double> v = g.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0.0) return "element " + std::to_string(i) + " is " + preview(g) + ", not zero";
  }
  return {};
}

std::string check_case(const GradCaseSpec& c, DType mode, GradResult& r) {
  Objective obj(c, mode);
  std::vector<Tensor> x = obj.wrt_inputs();
  auto f = [&](const Tree& t) {
    std::vector<Tensor> v;
    for (const Tree& leaf : t.children()) v.push_back(leaf.leaf());
    return obj.loss(obj.outputs(v));
  };
  Tree args = Tree::list(Tree::List(x.begin(), x.end()));
  // Zero-gradient cases go through nx::grad, the others through nx::value_and_grad (L's value
  // is checked too): both entry points are exercised.
  ValueAndGrad vg;
  try {
    if (c.zero_grad) {
      vg.grad = grad(args, f);
    } else {
      vg = value_and_grad(args, f);
    }
  } catch (const Error& e) {
    return std::string(c.zero_grad ? "nx::grad" : "nx::value_and_grad") + " threw: " + e.what();
  }
  if (!vg.grad.is_list() || vg.grad.size() != x.size()) {
    return "the gradient tree does not have the argument's structure: " + vg.grad.to_string();
  }
  if (!c.zero_grad) {
    double want = grad_array(c, "L").item<double>();
    double got = vg.value.to_vector<double>().at(0);
    double tol = obj.loss_tolerance(obj.outputs(x));
    if (!(std::fabs(got - want) <= tol)) {
      std::ostringstream os;
      os.precision(12);
      os << "L = " << got << ", torch's L = " << want << " (tolerance " << tol
         << "): the op does not compute what the torch reference does";
      return os.str();
    }
  }
  for (size_t k = 0; k < x.size(); ++k) {
    const Tensor& g = vg.grad[k].leaf();
    if (!g.defined()) return label(c, k) + ": empty gradient";
    if (g.type() != x[k].type()) {
      return label(c, k) + " is " + type_string(g.type()) + ", the input is " +
             type_string(x[k].type());
    }
    std::string diff;
    if (c.zero_grad) {
      diff = check_zero(g);
    } else if (mode == DType::F64) {
      Tensor want = central_differences(obj, k, r.fd_evals);
      double scale = std::max(1.0, max_abs(want.to_vector<double>()));
      diff = compare(g, want, {kFdRtol * c.tol_scale, kFdAtol * c.tol_scale * scale}, false);
      if (!diff.empty()) diff = "against central differences: " + diff;
    } else {
      Tensor want = grad_array(c, "g" + std::to_string(c.wrt[k]));
      double scale = std::max(1.0, max_abs(want.to_vector<double>()));
      diff = compare(g, want, {kTorchRtol * c.tol_scale, kTorchAtol * c.tol_scale * scale}, false);
      if (!diff.empty()) diff = "against torch: " + diff;
    }
    if (!diff.empty()) return label(c, k) + " " + diff;
  }
  return {};
}

}  // namespace

GradResult run_grad_case(const GradCaseSpec& c, DType mode) {
  GradResult r;
  r.spec = &c;
  r.mode = mode;
  try {
    r.message = check_case(c, mode, r);
  } catch (const std::exception& e) {
    r.message = std::string("error: ") + e.what();
  }
  r.passed = r.message.empty();
  if (r.passed) r.prims = traced_prims(c, mode, !c.zero_grad);
  return r;
}

namespace {

void all_prims(const detail::Graph& g, std::set<int>& out) {
  for (const detail::Node& n : g.nodes) {
    if (n.kind == detail::NodeKind::Prim) out.insert(static_cast<int>(n.prim));
    for (const auto& sub : n.subgraphs) all_prims(*sub, out);
  }
}

}  // namespace

std::vector<int> traced_prims(const GradCaseSpec& c, DType mode, bool differentiable_only) {
  using detail::NodeKind;
  std::vector<TensorType> types;
  detail::Traced tr;
  try {
    Objective obj(c, mode);
    for (const Tensor& t : obj.wrt_inputs()) types.push_back(t.type());
    tr = detail::trace_function(types, [&](std::span<const Tensor> p) {
      std::vector<Tensor> outs = obj.outputs(std::vector<Tensor>(p.begin(), p.end()));
      std::vector<Tensor> used;
      for (int j : c.outputs) used.push_back(outs[static_cast<size_t>(j)]);
      return used;
    });
  } catch (const std::exception&) {
    return {};
  }
  const detail::Graph& g = *tr.graph;
  std::set<int> prims;
  if (!differentiable_only) {
    all_prims(g, prims);
    return {prims.begin(), prims.end()};
  }
  auto floating = [&](int32_t v) { return is_float(g.type(v).dtype); };
  // Values that depend on a differentiated input (forward) and that an output of L depends on
  // (backward), through floating values only: integer and pred values carry no gradient.
  std::vector<char> fwd(g.num_values(), 0), bwd(g.num_values(), 0);
  for (size_t i = 0; i < tr.num_params; ++i) fwd[static_cast<size_t>(g.inputs[i])] = 1;
  for (const detail::Node& n : g.nodes) {
    if (n.kind == NodeKind::StopGrad) continue;
    bool reached = std::any_of(n.in.begin(), n.in.end(), [&](int32_t v) {
      return fwd[static_cast<size_t>(v)] && floating(v);
    });
    for (int32_t v : n.out)
      if (reached && floating(v)) fwd[static_cast<size_t>(v)] = 1;
  }
  for (int32_t v : g.outputs)
    if (floating(v)) bwd[static_cast<size_t>(v)] = 1;
  for (auto it = g.nodes.rbegin(); it != g.nodes.rend(); ++it) {
    const detail::Node& n = *it;
    if (n.kind == NodeKind::StopGrad) continue;
    bool needed = std::any_of(n.out.begin(), n.out.end(),
                              [&](int32_t v) { return bwd[static_cast<size_t>(v)] != 0; });
    if (!needed) continue;
    bool on_path = false;
    for (int32_t v : n.in) {
      if (!floating(v)) continue;
      bwd[static_cast<size_t>(v)] = 1;
      on_path = on_path || fwd[static_cast<size_t>(v)];
    }
    if (!on_path) continue;
    if (n.kind == NodeKind::Prim) prims.insert(static_cast<int>(n.prim));
    for (const auto& sub : n.subgraphs) all_prims(*sub, prims);
  }
  return {prims.begin(), prims.end()};
}

}  // namespace nx::conformance
