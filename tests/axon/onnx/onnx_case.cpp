#include "onnx_case.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/export_emit.hpp"
#include "nx/io.hpp"
#include "nx/nx.hpp"

namespace onnx_case {

using nx::Tensor;

const nx::Tree& reference(const std::string& file) {
  static std::mutex mu;
  static std::map<std::string, nx::Tree> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(file);
  if (it == cache.end()) {
    it = cache
             .emplace(file, nx::io::load_npz(std::filesystem::path(__FILE__).parent_path() /
                                             "data" / file))
             .first;
  }
  return it->second;
}

Case load_case(const nx::Tree& r, const std::string& name) {
  Case c;
  c.name = name;
  Tensor bytes = r[name + ".node"].leaf();
  if (!c.node.ParseFromArray(bytes.raw_data(), static_cast<int>(bytes.size()))) {
    throw std::runtime_error("bad NodeProto in case " + name);
  }
  c.opset = r[name + ".opset"].leaf().item<int64_t>();
  std::vector<int64_t> consts = r[name + ".const"].leaf().to_vector<int64_t>();
  for (int i = 0; i < c.node.input_size(); ++i) {
    const nx::Tree* t = r.find(name + ".in" + std::to_string(i));
    c.inputs.push_back(t ? t->leaf() : Tensor());
    c.is_const.push_back(std::find(consts.begin(), consts.end(), i) != consts.end());
  }
  for (int i = 0; i < c.node.output_size(); ++i) {
    c.outputs.push_back(r[name + ".out" + std::to_string(i)].leaf());
  }
  return c;
}

std::vector<std::string> case_names(const nx::Tree& r) {
  std::vector<std::string> names;
  const std::string suffix = ".node";
  for (const std::string& k : r.keys()) {
    if (k.size() > suffix.size() && k.ends_with(suffix)) {
      names.push_back(k.substr(0, k.size() - suffix.size()));
    }
  }
  return names;
}

void expect_matches(const Tensor& actual, const Tensor& expected, const std::string& what,
                    const Tolerance& tol) {
  ASSERT_EQ(nx::dtype_name(actual.dtype()), nx::dtype_name(expected.dtype())) << what;
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  double rtol = 0, atol = 0;
  if (expected.dtype() == nx::f16) rtol = tol.f16_rtol, atol = tol.f16_atol;
  if (expected.dtype() == nx::f32) rtol = tol.f32_rtol, atol = tol.f32_atol;
  if (expected.dtype() == nx::f64) rtol = tol.f64_rtol, atol = tol.f64_atol;
  std::vector<double> a = nx::as_type(actual, nx::f64).to_vector<double>();
  std::vector<double> e = nx::as_type(expected, nx::f64).to_vector<double>();
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    bool ok = (std::isnan(a[i]) && std::isnan(e[i])) || a[i] == e[i] ||
              std::abs(a[i] - e[i]) <= atol + rtol * std::abs(e[i]);
    if (!ok && ++bad <= 3) {
      ADD_FAILURE() << what << ": element " << i << " is " << a[i] << ", expected " << e[i];
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << a.size() << " elements differ";
}

axon::onnx_import::OpCall make_call(const Case& c) {
  axon::onnx_import::OpCall call;
  call.op_type_ = c.node.op_type();
  call.name_ = c.name;
  call.opset_ = c.opset;
  call.inputs_ = c.inputs;
  call.num_outputs_ = static_cast<size_t>(c.node.output_size());
  for (const auto& a : c.node.attribute()) call.attrs_.push_back(&a);
  return call;
}

std::vector<Tensor> call_converter(const Case& c) {
  const axon::onnx_import::OpEntry* entry = axon::onnx_import::find_op(c.node.op_type());
  if (!entry) throw std::runtime_error("no converter for " + c.node.op_type());
  return entry->convert(make_call(c));
}

namespace {

void set_value_info(::onnx::ValueInfoProto* v, const std::string& name, const Tensor& t) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(axon::onnx::detail::onnx_dtype(t.dtype()));
  auto* shape = tt->mutable_shape();
  for (int64_t d : t.shape()) shape->add_dim()->set_dim_value(d);
}

}  // namespace

std::string model_bytes(const Case& c) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(c.opset);
  auto* g = m.mutable_graph();
  g->set_name(c.name);
  *g->add_node() = c.node;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    const Tensor& t = c.inputs[i];
    if (!t.defined()) continue;
    const std::string name = c.node.input(static_cast<int>(i));
    if (c.is_const[i]) {
      auto* init = g->add_initializer();
      init->set_name(name);
      init->set_data_type(axon::onnx::detail::onnx_dtype(t.dtype()));
      for (int64_t d : t.shape()) init->add_dims(d);
      init->set_raw_data(t.raw_data(), static_cast<size_t>(t.byte_size()));
    } else {
      set_value_info(g->add_input(), name, t);
    }
  }
  for (size_t i = 0; i < c.outputs.size(); ++i) {
    set_value_info(g->add_output(), c.node.output(static_cast<int>(i)), c.outputs[i]);
  }
  return m.SerializeAsString();
}

std::vector<Tensor> run_imported(const Case& c) {
  std::string bytes = model_bytes(c);
  axon::onnx::Imported m = axon::onnx::import_bytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), {},
      {}, c.name);
  nx::Tree::Map feeds;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (c.inputs[i].defined() && !c.is_const[i]) {
      feeds.emplace_back(c.node.input(static_cast<int>(i)), c.inputs[i]);
    }
  }
  nx::Tree in = feeds.size() == 1 ? nx::Tree(feeds[0].second) : nx::Tree::map(feeds);
  nx::Tree out = axon::predict(m.model, m.state, in);
  if (out.is_leaf()) return {out.leaf()};
  std::vector<Tensor> outs;
  for (int i = 0; i < c.node.output_size(); ++i) outs.push_back(out[c.node.output(i)].leaf());
  return outs;
}

int for_each_result(const nx::Tree& reference, bool imported,
                    const std::function<void(const Case&, const std::vector<Tensor>&)>& check,
                    const std::function<bool(const Case&)>& skip) {
  int ran = 0;
  for (const std::string& name : case_names(reference)) {
    SCOPED_TRACE(name);
    const Case c = load_case(reference, name);
    if (skip && skip(c)) continue;
    std::vector<Tensor> outs;
    try {
      outs = imported ? run_imported(c) : call_converter(c);
    } catch (const std::exception& e) {
      ADD_FAILURE() << name << " threw: " << e.what();
      continue;
    }
    ++ran;
    check(c, outs);
  }
  return ran;
}

}  // namespace onnx_case
