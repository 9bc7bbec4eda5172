// The ONNX tensor-family converters (src/axon/onnx/ops_tensor*.cpp), one node at a time, against
// numpy expectations written by tests/axon/onnx/data/gen_ops_tensor.py (ops_tensor.npz). Each
// case runs eagerly and under nx::jit (non-constant inputs traced, constants concrete, as the
// importer passes them).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "axon/onnx/importer.hpp"
#include "nx/defn.hpp"
#include "nx/io.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/tree.hpp"

namespace {

namespace oi = axon::onnx_import;
using nx::Tensor;
using nx::Tree;

const Tree& data() {
  static const Tree t =
      nx::io::load_npz(std::filesystem::path(__FILE__).parent_path() / "data" / "ops_tensor.npz");
  return t;
}

struct Case {
  std::string name;
  ::onnx::NodeProto node;
  int64_t opset = 17;
  std::vector<Tensor> inputs;
  std::vector<bool> is_const;
  std::vector<Tensor> outputs;
};

Case load_case(const std::string& name) {
  const Tree& d = data();
  Case c;
  c.name = name;
  std::vector<uint8_t> bytes = d[name + ".node"].leaf().to_vector<uint8_t>();
  EXPECT_TRUE(c.node.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) << name;
  c.opset = d[name + ".opset"].leaf().item<int64_t>();
  std::vector<int64_t> consts = d[name + ".const"].leaf().to_vector<int64_t>();
  for (int i = 0; i < c.node.input_size(); ++i) {
    const Tree* t = d.find(name + ".in" + std::to_string(i));
    c.inputs.push_back(t ? t->leaf() : Tensor());
    c.is_const.push_back(std::find(consts.begin(), consts.end(), i) != consts.end());
  }
  for (int i = 0; i < c.node.output_size(); ++i)
    c.outputs.push_back(d[name + ".out" + std::to_string(i)].leaf());
  return c;
}

std::vector<Tensor> run(const Case& c, const std::vector<Tensor>& inputs) {
  auto ctx = std::make_shared<oi::ImportContext>();
  ctx->opset = c.opset;
  return oi::run_node(c.node, c.name, inputs, std::make_shared<oi::Env>(), ctx);
}

void expect_matches(const std::vector<Tensor>& got, const Case& c, const std::string& mode) {
  ASSERT_GE(got.size(), c.outputs.size()) << c.name << " " << mode;
  for (size_t i = 0; i < c.outputs.size(); ++i) {
    const Tensor &a = got[i], &e = c.outputs[i];
    std::string what = c.name + " (" + mode + ") output " + std::to_string(i);
    ASSERT_EQ(a.dtype(), e.dtype()) << what;
    ASSERT_EQ(a.shape(), e.shape()) << what;
    std::vector<double> av = a.to_vector<double>(), ev = e.to_vector<double>();
    int bad = 0;
    for (size_t j = 0; j < av.size() && bad < 5; ++j) {
      if (!(std::abs(av[j] - ev[j]) <= 1e-5 + 1e-5 * std::abs(ev[j]))) {
        ADD_FAILURE() << what << ": element " << j << " is " << av[j] << ", expected " << ev[j];
        ++bad;
      }
    }
  }
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const std::string& k : data().keys())
    if (k.size() > 5 && k.compare(k.size() - 5, 5, ".node") == 0)
      names.push_back(k.substr(0, k.size() - 5));
  return names;
}

TEST(OnnxTensorOps, AllCasesEager) {
  std::vector<std::string> names = case_names();
  ASSERT_GE(names.size(), 80u);
  for (const std::string& n : names) {
    Case c = load_case(n);
    std::vector<Tensor> got;
    try {
      got = run(c, c.inputs);
    } catch (const nx::Error& e) {
      ADD_FAILURE() << n << ": " << e.what();
      continue;
    }
    expect_matches(got, c, "eager");
  }
}

TEST(OnnxTensorOps, AllCasesJit) {
  for (const std::string& n : case_names()) {
    Case c = load_case(n);
    Tree::List traced;
    for (size_t i = 0; i < c.inputs.size(); ++i)
      if (c.inputs[i].defined() && !c.is_const[i]) traced.push_back(Tree(c.inputs[i]));
    if (traced.empty()) continue;
    auto f = nx::jit([&c](const Tree& args) {
      std::vector<Tensor> in;
      size_t k = 0;
      for (size_t i = 0; i < c.inputs.size(); ++i)
        in.push_back(c.inputs[i].defined() && !c.is_const[i] ? args[k++].leaf() : c.inputs[i]);
      Tree::List outs;
      for (const Tensor& t : run(c, in)) outs.push_back(Tree(t));
      return Tree::list(outs);
    });
    Tree r;
    try {
      r = f(Tree::list(traced));
    } catch (const nx::Error& e) {
      if (n == "nonzero") continue;
      ADD_FAILURE() << n << ": " << e.what();
      continue;
    }
    std::vector<Tensor> got;
    for (const Tree& t : r.children()) got.push_back(t.leaf());
    expect_matches(got, c, "jit");
  }
}

TEST(OnnxTensorOps, ShapeIsConcreteWhileTracing) {
  Case c = load_case("shape");
  bool concrete = false;
  auto f = nx::jit([&](const Tensor& x) {
    Tensor s = run(c, {x})[0];
    concrete = !s.is_traced();
    return x;
  });
  f(c.inputs[0]);
  EXPECT_TRUE(concrete);
}

void expect_error(const std::string& name, std::vector<Tensor> inputs, const std::string& part,
                  bool traced_first = false) {
  Case c = load_case(name);
  try {
    if (traced_first) {
      auto f = nx::jit([&](const Tensor& x) {
        std::vector<Tensor> in = inputs;
        in[0] = x;
        return run(c, in)[0];
      });
      f(inputs[0]);
    } else {
      run(c, inputs);
    }
    ADD_FAILURE() << name << ": expected an error containing '" << part << "'";
  } catch (const nx::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(c.node.op_type() + " node " + name), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  }
}

TEST(OnnxTensorOps, Errors) {
  Tensor x = nx::zeros({2, 3});
  expect_error("reshape_copy_infer", {x, nx::from_vector(std::vector<int64_t>{5, -1})},
               "cannot reshape");
  expect_error("transpose_perm", {x}, "perm");
  expect_error("nonzero", {x}, "constant", true);
  expect_error("gather", {x, nx::zeros({2}, nx::f32)}, "indices must be integers");
  expect_error("split_input", {nx::zeros({2, 3, 4}), nx::from_vector(std::vector<int64_t>{1, 1})},
               "do not add up");
  expect_error("einsum_inner", {nx::zeros({3}), nx::zeros({4})}, "do not match");
  expect_error(
      "resize_linear_sizes",
      {nx::zeros({1, 1, 3, 4}), Tensor(), Tensor(), nx::from_vector(std::vector<int64_t>{2, 2})},
      "sizes has 2 entries");
  // Sizes read from a file never make the importer allocate without bound.
  int64_t big = int64_t{1} << 40;
  expect_error("constant_of_shape", {nx::from_vector(std::vector<int64_t>{big, big})}, "too large");
  expect_error("tile", {nx::zeros({2, 3}), nx::from_vector(std::vector<int64_t>{big, big})},
               "too large");
  expect_error("pad_constant",
               {nx::zeros({1, 2, 3, 3}),
                nx::from_vector(std::vector<int64_t>{0, 0, big, 0, 0, 0, 0, 0}), Tensor()},
               "too large");
  expect_error("one_hot",
               {nx::zeros({2}, nx::s64), nx::scalar_int(big * 64, nx::s64), nx::zeros({2})},
               "too large");
}

TEST(OnnxTensorOps, SliceExtremeBounds) {
  Case c = load_case("slice_steps");
  const int64_t lo = INT64_MIN, hi = INT64_MAX;
  Tensor x = c.inputs[0];  // f32[5][6]
  auto v = [](std::vector<int64_t> a) { return nx::from_vector(a); };
  Tensor y = run(c, {x, v({hi, lo}), v({lo, hi}), v({0, 1}), v({lo, hi})})[0];
  EXPECT_EQ(y.shape(), (nx::Shape{1, 1}));
  Tensor z = run(c, {x, v({lo, 0}), v({hi, hi}), v({0, 1}), v({1, 1})})[0];
  EXPECT_EQ(z.shape(), (nx::Shape{5, 6}));
}

}  // namespace

namespace {

// Imported models train: the gradient of sum(out * w) with respect to the first input agrees
// with central finite differences (f64) for converters built from gathers, dots and scatters.
TEST(OnnxTensorOps, GradientsMatchFiniteDifferences) {
  for (const std::string n :
       {"pad_reflect", "resize_cubic_align", "resize_crop", "gather_elements", "gather_nd_batch",
        "einsum_diag", "einsum_ellipsis", "scatter_nd_mul", "slice_steps", "topk_smallest_axis0",
        "depth_to_space_crd", "reverse_sequence", "grid_sample_bicubic_reflection_0",
        "grid_sample_bilinear_zeros_1"}) {
    Case c = load_case(n);
    Tensor x0 = nx::as_type(c.inputs[0], nx::f64);
    for (size_t i = 1; i < c.inputs.size(); ++i)
      if (c.inputs[i].defined() && nx::is_float(c.inputs[i].dtype()) && !c.is_const[i])
        c.inputs[i] = nx::as_type(c.inputs[i], nx::f64);
    auto f = [&](const Tensor& x) {
      std::vector<Tensor> in = c.inputs;
      in[0] = x;
      Tensor y = run(c, in)[0];
      Tensor w = nx::as_type(nx::iota(y.shape(), nx::s64), nx::f64);
      return nx::sum(nx::multiply(y, nx::add(nx::multiply(w, 0.1), 1.0)));
    };
    std::vector<double> g = nx::grad(x0, f).to_vector<double>();
    std::vector<double> xv = x0.to_vector<double>();
    for (size_t j = 0; j < xv.size(); j += 3) {
      const double h = 1e-6;
      std::vector<double> p = xv, m = xv;
      p[j] += h;
      m[j] -= h;
      double fd = (f(nx::from_vector(p, x0.shape())).item<double>() -
                   f(nx::from_vector(m, x0.shape())).item<double>()) /
                  (2 * h);
      EXPECT_NEAR(g[j], fd, 1e-5 * (1 + std::abs(fd))) << n << " element " << j;
    }
  }
}

}  // namespace
