// L = sum_j sum(w_j * op(inputs)[j]) of a gradient case, shared by the gradient mode
// (grad_check.cpp) and the jit mode (jit_grad.cpp).
#pragma once

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "grad_manifest.hpp"
#include "harness.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx::conformance {

// Relative accuracy of one term sum(w * out) of L in the dtype it is computed in.
inline double value_rtol(DType d) {
  switch (d) {
    case DType::F64:
      return 1e-9;
    case DType::F16:
      return 2e-3;
    case DType::BF16:
      return 1.6e-2;
    default:
      return 1e-5;
  }
}

// L as a function of the differentiated inputs of one case in one mode.
class Objective {
 public:
  Objective(const GradCaseSpec& c, DType mode) : c_(c), mode_(mode), attrs_(c.attrs) {
    auto it = adapters().find(c.op);
    if (it == adapters().end()) throw std::runtime_error("no adapter for op \"" + c.op + "\"");
    adapter_ = &it->second;
    attrs_["_dtype"] = std::string(dtype_name(mode));
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      Tensor t = grad_array(c, "i" + std::to_string(i));
      inputs_.push_back(is_mode_float(c, i) ? as_type(t, mode) : t);
    }
    weights_.resize(static_cast<size_t>(c.num_outputs));
    for (int j : c.outputs)
      weights_.at(static_cast<size_t>(j)) = grad_array(c, "w" + std::to_string(j));
  }

  /// The stored inputs that are differentiated, in the mode's dtype.
  std::vector<Tensor> wrt_inputs() const {
    std::vector<Tensor> out;
    for (int n : c_.wrt) out.push_back(inputs_.at(static_cast<size_t>(n)));
    return out;
  }

  /// The op's outputs with the differentiated inputs replaced by `wrt`.
  std::vector<Tensor> outputs(const std::vector<Tensor>& wrt) const {
    std::vector<Tensor> in = inputs_;
    for (size_t k = 0; k < wrt.size(); ++k) in[static_cast<size_t>(c_.wrt[k])] = wrt[k];
    std::vector<Tensor> out = (*adapter_)(in, attrs_);
    if (static_cast<int>(out.size()) != c_.num_outputs) {
      throw std::runtime_error("the op returned " + std::to_string(out.size()) +
                               " outputs, the torch reference " + std::to_string(c_.num_outputs));
    }
    return out;
  }

  /// The weight of output j, in the dtype the term w * out is computed in.
  Tensor weight(const std::vector<Tensor>& outs, int j) const {
    const Tensor& o = outs.at(static_cast<size_t>(j));
    const Tensor& w = weights_.at(static_cast<size_t>(j));
    if (w.shape() != o.shape()) {
      throw std::runtime_error("output " + std::to_string(j) + " is " + type_string(o.type()) +
                               ", the torch reference's has shape " + type_string(w.type()));
    }
    return as_type(w, is_float(o.dtype()) ? o.dtype() : mode_);
  }

  /// L = sum_j sum(w_j * outs[j]).
  Tensor loss(const std::vector<Tensor>& outs) const {
    Tensor l;
    for (int j : c_.outputs) {
      Tensor term = sum(multiply(weight(outs, j), outs[static_cast<size_t>(j)]));
      l = l.defined() ? add(l, term) : term;
    }
    return l;
  }

  /// How far L computed by nx may be from L computed by torch in float64: the per-term
  /// accuracy times the sum of the terms' magnitudes.
  double loss_tolerance(const std::vector<Tensor>& outs) const {
    double tol = 0.0;
    for (int j : c_.outputs) {
      std::vector<double> w = weights_[static_cast<size_t>(j)].to_vector<double>();
      std::vector<double> o = outs[static_cast<size_t>(j)].to_vector<double>();
      double s = 0.0;
      for (size_t i = 0; i < w.size(); ++i) s += std::fabs(w[i] * o[i]);
      DType d = outs[static_cast<size_t>(j)].dtype();
      tol += value_rtol(is_float(d) ? d : mode_) * s;
    }
    return tol * c_.tol_scale + std::numeric_limits<double>::min();
  }

  /// The differentiated inputs, as a list tree.
  Tree wrt() const {
    Tree::List items;
    for (const Tensor& t : wrt_inputs()) items.emplace_back(t);
    return Tree::list(std::move(items));
  }

  /// L with the differentiated inputs taken from `x` (a list tree like wrt()).
  Tensor loss(const Tree& x) const {
    std::vector<Tensor> wrt;
    for (size_t k = 0; k < x.size(); ++k) wrt.push_back(x[k].leaf());
    return loss(outputs(wrt));
  }

  /// The gradient of L at x: value_and_grad, or grad for zero-gradient cases (both entry points
  /// are exercised).
  ValueAndGrad value_and_grad_at(const Tree& x) const {
    auto f = [this](const Tree& t) { return loss(t); };
    if (c_.zero_grad) return {Tensor(), grad(x, f), Tree()};
    return value_and_grad(x, f);
  }

  /// L at the stored inputs with differentiated input k replaced by `values`, in float64.
  double loss_at(size_t k, const std::vector<double>& values) const {
    std::vector<Tensor> wrt = wrt_inputs();
    wrt[k] = from_vector(values, wrt[k].shape());
    return loss(outputs(wrt)).item<double>();
  }

 private:
  const GradCaseSpec& c_;
  DType mode_;
  Json attrs_;
  const Adapter* adapter_ = nullptr;
  std::vector<Tensor> inputs_;
  std::vector<Tensor> weights_;
};

}  // namespace nx::conformance
