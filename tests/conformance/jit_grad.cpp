// The gradient parts of the jit mode (jit_check.hpp): value_and_grad inside nx::jit against the
// eager call, and grad of grad inside nx::jit against central differences of the first gradient.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "compare.hpp"
#include "grad_objective.hpp"
#include "jit_check.hpp"
#include "nx/defn.hpp"

namespace nx::conformance {

namespace {

// Central differences of the first gradient in float64, with grad_check.cpp's step and tolerances
// (h = cbrt(eps) balances truncation against rounding); the first gradient's own rounding error
// is far below them in float64.
const double kStep = std::cbrt(std::numeric_limits<double>::epsilon());
constexpr double kFdRtol = 1e-5;
constexpr double kFdAtol = 1e-6;  // times max(1, the largest |difference quotient|)

std::string label(const GradCaseSpec& c, size_t k) {
  return "d/d(input " + std::to_string(c.wrt[k]) + ")";
}

std::string run_error(const std::exception& e) {
  return dynamic_cast<const Error*>(&e) ? std::string("nx::Error: ") + e.what()
                                        : std::string("non-nx::Error exception: ") + e.what();
}

// Compiled value and gradient against eager ones; empty when they agree.
std::string compare_vg(const GradCaseSpec& c, const ValueAndGrad& got, const ValueAndGrad& want) {
  if (want.value.defined()) {
    if (!got.value.defined()) return "jit returned no value";
    std::string diff = jit_compare(got.value, want.value, jit_tolerance(want.value.dtype(), true));
    if (!diff.empty()) return "L: " + diff;
  }
  if (!got.grad.is_list() || got.grad.size() != want.grad.size()) {
    return "the gradient tree differs: eager " + want.grad.to_string() + ", jit " +
           got.grad.to_string();
  }
  for (size_t k = 0; k < want.grad.size(); ++k) {
    const Tensor& w = want.grad[k].leaf();
    std::string diff = jit_compare(got.grad[k].leaf(), w, jit_tolerance(w.dtype(), true));
    if (!diff.empty()) return label(c, k) + ": " + diff;
  }
  return {};
}

// value_and_grad under jit, as {value, grad} (value absent for zero-gradient cases).
ValueAndGrad jit_value_and_grad(const JitFunction& f, const Tree& x) {
  Tree out = f(Tree::list({x}));
  ValueAndGrad r;
  if (out[0].is_leaf()) r.value = out[0].leaf();
  r.grad = out[1];
  return r;
}

bool has_fused_nodes(const JitFunction& f, const Tree& x) {
  return f.graph_text(Tree::list({x})).find(" = fused(") != std::string::npos;
}

Tree pack(const ValueAndGrad& vg) {
  return Tree::list({vg.value.defined() ? Tree(vg.value) : Tree::list({}), vg.grad});
}

// v_k of <v, dL/dx>: fixed weights of both signs, not all equal, so that every second
// derivative term enters.
Tensor direction(const Tensor& like, size_t k) {
  std::vector<double> v(static_cast<size_t>(like.size()));
  for (size_t i = 0; i < v.size(); ++i) {
    double m = 0.25 + 0.75 * static_cast<double>((i * 7 + k * 3) % 11) / 10.0;
    v[i] = (i + k) % 3 == 2 ? -m : m;
  }
  return from_vector(v, like.shape());
}

// <v, dL/dx>: the scalar whose gradient is the Hessian of L times v.
Tensor directional_grad(const Objective& obj, const Tree& x) {
  Tree g = grad(x, [&](const Tree& t) { return obj.loss(t); });
  Tensor s;
  for (size_t k = 0; k < g.size(); ++k) {
    Tensor term = sum(multiply(direction(x[k].leaf(), k), g[k].leaf()));
    s = s.defined() ? add(s, term) : term;
  }
  return s;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// `fused` is set when the compiled graph has fused nodes.
std::string check_grad_of_grad(const GradCaseSpec& c, bool& fused) {
  Objective obj(c, DType::F64);
  Tree x = obj.wrt();
  JitFunction f(
      [&](const Tree& args, const void*) {
        ValueAndGrad vg =
            value_and_grad(args[0], [&](const Tree& t) { return directional_grad(obj, t); });
        return Tree::list({Tree(vg.value), vg.grad});
      },
      JitOptions{.name = "conformance:" + c.name + ":grad_of_grad"});
  ValueAndGrad got;
  try {
    got = jit_value_and_grad(f, x);
  } catch (const std::exception& e) {
    return "jit(value_and_grad(<v, grad L>)) threw " + run_error(e);
  }
  Tensor want_value = directional_grad(obj, x);
  std::string diff = jit_compare(got.value, want_value, jit_tolerance(DType::F64, true));
  if (!diff.empty()) return "<v, grad L> against eager: " + diff;
  fused = has_fused_nodes(f, x);
  for (size_t k = 0; k < x.size(); ++k) {
    const Tensor& x0 = x[k].leaf();
    std::vector<double> v = x0.to_vector<double>();
    std::vector<double> fd(v.size());
    for (size_t e = 0; e < v.size(); ++e) {
      std::vector<double> p = v;
      double h = kStep * std::max(1.0, std::fabs(v[e]));
      auto at = [&](double xe) {
        p[e] = xe;
        return directional_grad(obj, x.set(k, Tree(from_vector(p, x0.shape())))).item<double>();
      };
      double xp = v[e] + h, xm = v[e] - h;
      fd[e] = (at(xp) - at(xm)) / (xp - xm);
    }
    Tensor want = from_vector(fd, x0.shape());
    const Tensor& g = got.grad[k].leaf();
    double scale = std::max(1.0, max_abs(fd));
    diff = compare(g, want, {kFdRtol * c.tol_scale, kFdAtol * c.tol_scale * scale}, false);
    if (!diff.empty()) return label(c, k) + " of <v, grad L> against central differences: " + diff;
  }
  return {};
}

}  // namespace

std::vector<JitResult> run_grad_jit(const GradCaseSpec& c, DType mode) {
  std::vector<JitResult> out;
  for (bool optimize : {true, false}) {
    JitResult r{.op = c.op,
                .name = c.name,
                .variant = std::string(dtype_name(mode)),
                .setting = optimize ? "grad" : "grad-unoptimized"};
    try {
      Objective obj(c, mode);
      Tree x = obj.wrt();
      ValueAndGrad eager;
      try {
        eager = obj.value_and_grad_at(x);
      } catch (const std::exception& e) {
        // The gradient mode reports eager failures; this one says that jit had nothing to match.
        r.message = "eager " + std::string(c.zero_grad ? "grad" : "value_and_grad") + " threw " +
                    run_error(e);
      }
      if (r.message.empty()) {
        JitFunction f(
            [&](const Tree& args, const void*) { return pack(obj.value_and_grad_at(args[0])); },
            JitOptions{.name = "conformance:" + c.name + ":grad", .optimize = optimize});
        try {
          r.message = compare_vg(c, jit_value_and_grad(f, x), eager);
          if (r.message.empty() && optimize) r.fused = has_fused_nodes(f, x);
        } catch (const std::exception& e) {
          r.message = "jit(value_and_grad) threw " + run_error(e);
        }
      }
    } catch (const std::exception& e) {
      r.message = std::string("harness error: ") + e.what();
    }
    r.passed = r.message.empty();
    out.push_back(std::move(r));
  }
  return out;
}

const std::vector<std::string>& grad_of_grad_ops() {
  // Smooth unary and binary ops, and smooth compositions with reductions; each contributes its
  // first gradient case.
  static const std::vector<std::string> ops = {
      "exp",      "log",    "sqrt", "sin",   "tanh",      "sigmoid", "erf",      "atan", "cbrt",
      "multiply", "divide", "pow",  "atan2", "logsumexp", "softmax", "variance", "dot",  "conv",
  };
  return ops;
}

JitResult run_grad_of_grad_jit(const GradCaseSpec& c) {
  JitResult r{.op = c.op, .name = c.name, .variant = "f64", .setting = "grad-of-grad"};
  try {
    r.message = check_grad_of_grad(c, r.fused);
  } catch (const std::exception& e) {
    r.message = std::string("error: ") + run_error(e);
  }
  r.passed = r.message.empty();
  return r;
}

}  // namespace nx::conformance
