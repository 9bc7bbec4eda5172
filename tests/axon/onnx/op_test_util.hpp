// Shared by the converter tests (signal, quantization, region, RNN and control-flow ops): every
// case of a reference .npz run through its converter (eagerly) and through the importer
// (compiled), small builders for hand-made OpCalls (attributes, error messages), and a gradient
// check.
#pragma once

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/nx.hpp"
#include "nx/random.hpp"
#include "onnx_case.hpp"

namespace op_test {

/// Runs every case of `file` through its converter (imported = false) or as a compiled one-node
/// model (imported = true), comparing with the expected outputs; returns how many ran.
inline int run_cases(const std::string& file, bool imported, const onnx_case::Tolerance& tol) {
  return onnx_case::for_each_result(
      onnx_case::reference(file), imported,
      [&](const onnx_case::Case& c, const std::vector<nx::Tensor>& outs) {
        EXPECT_GE(outs.size(), c.outputs.size()) << c.name;
        for (size_t i = 0; i < c.outputs.size() && i < outs.size(); ++i) {
          onnx_case::expect_matches(outs[i], c.outputs[i], c.name + " output " + std::to_string(i),
                                    tol);
        }
      });
}

/// An attribute of `name` and type `t`, its value unset.
inline ::onnx::AttributeProto attr(const std::string& name,
                                   ::onnx::AttributeProto::AttributeType t) {
  ::onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(t);
  return a;
}

inline ::onnx::AttributeProto int_attr(const std::string& name, int64_t v) {
  ::onnx::AttributeProto a = attr(name, ::onnx::AttributeProto::INT);
  a.set_i(v);
  return a;
}

inline ::onnx::AttributeProto ints_attr(const std::string& name, const std::vector<int64_t>& v) {
  ::onnx::AttributeProto a = attr(name, ::onnx::AttributeProto::INTS);
  for (int64_t x : v) a.add_ints(x);
  return a;
}

inline ::onnx::AttributeProto string_attr(const std::string& name, const std::string& v) {
  ::onnx::AttributeProto a = attr(name, ::onnx::AttributeProto::STRING);
  a.set_s(v);
  return a;
}

/// A node's attributes built in a chain (`Attrs().i("axis", 1).s("mode", "x")`), kept alive
/// (a deque never moves them) for the OpCalls that point at them.
struct Attrs {
  std::deque<::onnx::AttributeProto> list;

  Attrs& i(const std::string& name, int64_t v) {
    add(name, ::onnx::AttributeProto::INT).set_i(v);
    return *this;
  }
  Attrs& f(const std::string& name, float v) {
    add(name, ::onnx::AttributeProto::FLOAT).set_f(v);
    return *this;
  }
  Attrs& s(const std::string& name, const std::string& v) {
    add(name, ::onnx::AttributeProto::STRING).set_s(v);
    return *this;
  }
  Attrs& ints(const std::string& name, const std::vector<int64_t>& v) {
    auto& a = add(name, ::onnx::AttributeProto::INTS);
    for (int64_t x : v) a.add_ints(x);
    return *this;
  }
  Attrs& floats(const std::string& name, const std::vector<float>& v) {
    auto& a = add(name, ::onnx::AttributeProto::FLOATS);
    for (float x : v) a.add_floats(x);
    return *this;
  }
  Attrs& strings(const std::string& name, const std::vector<std::string>& v) {
    auto& a = add(name, ::onnx::AttributeProto::STRINGS);
    for (const auto& x : v) a.add_strings(x);
    return *this;
  }
  ::onnx::AttributeProto& add(const std::string& name, ::onnx::AttributeProto::AttributeType t) {
    list.push_back(attr(name, t));
    return list.back();
  }
  /// Points `call` at every attribute.
  void attach(axon::onnx_import::OpCall& call) const {
    for (const auto& a : list) call.attrs_.push_back(&a);
  }
};

/// The converter of `op` called on a hand-filled OpCall (node name "n1"); undefined inputs are
/// omitted optional ones.
inline std::vector<nx::Tensor> run_op(const std::string& op, const std::vector<nx::Tensor>& inputs,
                                      const std::vector<::onnx::AttributeProto>& attrs = {},
                                      int64_t opset = 17) {
  axon::onnx_import::OpCall call;
  call.op_type_ = op;
  call.name_ = "n1";
  call.opset_ = opset;
  call.inputs_ = inputs;
  for (const auto& a : attrs) call.attrs_.push_back(&a);
  return axon::onnx_import::find_op(op)->convert(call);
}

/// The nx::Error message of run_op, or "" when it does not throw.
inline std::string error_of(const std::string& op, const std::vector<nx::Tensor>& inputs,
                            const std::vector<::onnx::AttributeProto>& attrs = {},
                            int64_t opset = 17) {
  try {
    run_op(op, inputs, attrs, opset);
  } catch (const nx::Error& e) {
    return e.what();
  }
  return "";
}

/// The gradient of sum(op(x) * cot) for f64 x, eager and compiled, against central differences
/// at a few elements. `op` maps x to the converter's first output.
inline void expect_gradient_matches(const nx::Tensor& x,
                                    const std::function<nx::Tensor(const nx::Tensor&)>& op) {
  const nx::Tensor probe = op(x);
  const nx::Tensor cot =
      nx::as_type(nx::random::normal(nx::random::key(7), probe.shape()), probe.dtype());
  auto f = [&](const nx::Tensor& v) -> nx::Tensor { return nx::sum(nx::multiply(op(v), cot)); };
  const nx::Tensor g = nx::grad(x, f);
  const nx::Tensor g2 = nx::jit([&](const nx::Tensor& v) { return nx::grad(v, f); })(x);
  const std::vector<double> gv = g.to_vector<double>(), g2v = g2.to_vector<double>();
  const std::vector<double> xv = x.to_vector<double>();
  for (size_t i = 0; i < xv.size(); i += std::max<size_t>(1, xv.size() / 9)) {
    const double h = 1e-6;
    std::vector<double> lo = xv, hi = xv;
    lo[i] -= h;
    hi[i] += h;
    const double fd = (f(nx::from_vector(hi, x.shape())).item<double>() -
                       f(nx::from_vector(lo, x.shape())).item<double>()) /
                      (2 * h);
    EXPECT_NEAR(gv[i], fd, 1e-5 * (1 + std::abs(fd))) << "element " << i;
    EXPECT_NEAR(g2v[i], gv[i], 1e-9 * (1 + std::abs(gv[i]))) << "element " << i;
  }
}

}  // namespace op_test
