// Opsets 1-6 through the importer: the forms that differ from opset 7 on (the broadcast/axis
// attributes of binary ops, Concat's default axis, is_test of BatchNormalization and Dropout,
// Selu-1's constants, Reshape's shape attribute), and the refusal of ops whose converter starts
// at a later opset. Expected values are computed here with plain loops from the ONNX spec's
// definition of each old form (not with nx's broadcasting).
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "nx/error.hpp"
#include "nx/nx.hpp"
#include "onnx_case.hpp"

namespace {

using nx::Tensor;

struct Input {
  std::string name;
  std::vector<float> values;
  nx::Shape shape;
};

// Attributes of the one node.
struct Attr {
  std::string name;
  std::vector<int64_t> ints;  ///< one value: an INT attribute; several: INTS
  std::optional<float> f = std::nullopt;
};

onnx::ModelProto one_node_model(const std::string& op, const std::vector<Input>& inputs,
                                const std::vector<Attr>& attrs, int64_t opset,
                                size_t num_outputs = 1) {
  onnx::ModelProto m;
  m.set_ir_version(3);
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* node = g->add_node();
  node->set_op_type(op);
  node->set_name("the_" + op);
  for (const auto& in : inputs) {
    node->add_input(in.name);
    auto* v = g->add_input();
    v->set_name(in.name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    for (int64_t d : in.shape) shape->add_dim()->set_dim_value(d);
  }
  for (size_t i = 0; i < num_outputs; ++i) {
    const std::string name = "y" + std::to_string(i);
    node->add_output(name);
    auto* v = g->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  }
  for (const auto& a : attrs) {
    auto* p = node->add_attribute();
    p->set_name(a.name);
    if (a.f) {
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(*a.f);
    } else if (a.ints.size() == 1 && a.name != "shape") {
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(a.ints[0]);
    } else {
      p->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : a.ints) p->add_ints(v);
    }
  }
  return m;
}

axon::onnx::Imported import_model(const onnx::ModelProto& m) {
  std::string bytes = m.SerializeAsString();
  return axon::onnx::import_bytes({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

// The first output of the one-node model on `inputs`.
std::vector<float> run(const std::string& op, const std::vector<Input>& inputs,
                       const std::vector<Attr>& attrs, int64_t opset, nx::Shape* shape = nullptr,
                       size_t num_outputs = 1) {
  auto m = import_model(one_node_model(op, inputs, attrs, opset, num_outputs));
  nx::Tree::Map feed;
  for (const auto& in : inputs) feed.emplace_back(in.name, nx::from_vector(in.values, in.shape));
  nx::Tree out = axon::predict(m.model, m.state, nx::Tree::map(std::move(feed)));
  const Tensor& y = out.is_leaf() ? out.leaf() : out[0].leaf();
  if (shape) *shape = y.shape();
  return y.to_vector<float>();
}

std::vector<float> ramp(size_t n, float scale, float shift) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 7) % 13) + shift;
  return v;
}

void expect_near(const std::vector<float>& got, const std::vector<float>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

using onnx_case::error_of;

TEST(OnnxImporterOldOpsets, BinaryOpsBroadcastBAlongAxis) {
  // A {2,3,4,5}, B {3,4} at axis 1: y[i,j,k,l] = a[i,j,k,l] op b[j,k].
  const auto a = ramp(120, 0.5f, -2.0f), b = ramp(12, 0.25f, 0.5f);
  std::vector<float> sum(120), quot(120);
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 3; ++j)
      for (size_t k = 0; k < 4; ++k)
        for (size_t l = 0; l < 5; ++l) {
          size_t at = ((i * 3 + j) * 4 + k) * 5 + l;
          sum[at] = a[at] + b[j * 4 + k];
          quot[at] = a[at] / b[j * 4 + k];
        }
  std::vector<Input> ins{{"a", a, {2, 3, 4, 5}}, {"b", b, {3, 4}}};
  for (int64_t opset : {1, 6}) {
    expect_near(run("Add", ins, {{"broadcast", {1}}, {"axis", {1}}}, opset), sum, 1e-6);
    expect_near(run("Div", ins, {{"broadcast", {1}}, {"axis", {1}}}, opset), quot, 1e-6);
  }
}

TEST(OnnxImporterOldOpsets, BinaryOpsBroadcastSuffixAndOneElement) {
  // No axis: B matches A's last dims. A one-element B (rank up to A's) is a scalar.
  const auto a = ramp(24, 1.0f, -3.0f), b = ramp(4, 0.5f, 1.0f);
  std::vector<float> prod(24), diff(24);
  for (size_t i = 0; i < 24; ++i) {
    prod[i] = a[i] * b[i % 4];
    diff[i] = a[i] - 2.5f;
  }
  expect_near(run("Mul", {{"a", a, {2, 3, 4}}, {"b", b, {4}}}, {{"broadcast", {1}}}, 6), prod,
              1e-6);
  expect_near(run("Sub", {{"a", a, {2, 3, 4}}, {"b", {2.5f}, {1, 1}}}, {{"broadcast", {1}}}, 6),
              diff, 1e-6);
  // Without broadcast=1 the shapes must be equal; B must match A's dims at the axis.
  std::string msg = error_of([&] { run("Add", {{"a", a, {2, 3, 4}}, {"b", b, {4}}}, {}, 6); });
  EXPECT_NE(msg.find("Add node the_Add"), std::string::npos) << msg;
  EXPECT_NE(msg.find("broadcast=1"), std::string::npos) << msg;
  msg = error_of([&] {
    run("Add", {{"a", a, {2, 3, 4}}, {"b", b, {4}}}, {{"broadcast", {1}}, {"axis", {1}}}, 6);
  });
  EXPECT_NE(msg.find("from axis 1"), std::string::npos) << msg;
  // Equal shapes need no attribute, as in every opset.
  std::vector<float> twice(24);
  for (size_t i = 0; i < 24; ++i) twice[i] = 2 * a[i];
  expect_near(run("Add", {{"a", a, {2, 3, 4}}, {"b", a, {2, 3, 4}}}, {}, 6), twice, 1e-6);
}

TEST(OnnxImporterOldOpsets, ConcatDefaultsToAxisOneBeforeOpset4) {
  const auto x = ramp(6, 1.0f, 0.0f), z = ramp(4, -1.0f, 0.5f);
  nx::Shape shape;
  auto y = run("Concat", {{"x", x, {2, 3}}, {"z", z, {2, 2}}}, {}, 3, &shape);
  EXPECT_EQ(shape, (nx::Shape{2, 5}));
  std::vector<float> want;
  for (size_t r = 0; r < 2; ++r) {
    for (size_t c = 0; c < 3; ++c) want.push_back(x[r * 3 + c]);
    for (size_t c = 0; c < 2; ++c) want.push_back(z[r * 2 + c]);
  }
  expect_near(y, want, 0);
  EXPECT_NE(error_of([&] {
              run("Concat", {{"x", x, {2, 3}}, {"z", z, {2, 2}}}, {}, 4);
            }).find("missing attribute axis"),
            std::string::npos);
}

TEST(OnnxImporterOldOpsets, BatchNormalizationIsTestChoosesTheStatistics) {
  // x {2, 2, 3}: is_test=1 uses the given mean/var; is_test=0 (the default) the batch's.
  const auto x = ramp(12, 0.5f, -1.0f);
  const std::vector<float> scale{1.5f, 0.5f}, bias{0.1f, -0.2f}, mean{0.3f, -0.4f}, var{2.0f, 0.5f};
  std::vector<Input> ins{{"x", x, {2, 2, 3}},
                         {"scale", scale, {2}},
                         {"bias", bias, {2}},
                         {"mean", mean, {2}},
                         {"var", var, {2}}};
  const double eps = 1e-5;
  std::vector<float> inference(12), training(12);
  for (size_t c = 0; c < 2; ++c) {
    double m = 0, v = 0;
    for (size_t n = 0; n < 2; ++n)
      for (size_t s = 0; s < 3; ++s) m += x[(n * 2 + c) * 3 + s] / 6.0;
    for (size_t n = 0; n < 2; ++n)
      for (size_t s = 0; s < 3; ++s) v += std::pow(x[(n * 2 + c) * 3 + s] - m, 2) / 6.0;
    for (size_t n = 0; n < 2; ++n) {
      for (size_t s = 0; s < 3; ++s) {
        size_t at = (n * 2 + c) * 3 + s;
        inference[at] =
            static_cast<float>((x[at] - mean[c]) / std::sqrt(var[c] + eps) * scale[c] + bias[c]);
        training[at] = static_cast<float>((x[at] - m) / std::sqrt(v + eps) * scale[c] + bias[c]);
      }
    }
  }
  const Attr consumed{"consumed_inputs", {0, 0, 0, 1, 1}};
  expect_near(run("BatchNormalization", ins, {{"is_test", {1}}, consumed}, 1), inference, 1e-5);
  expect_near(run("BatchNormalization", ins, {{"is_test", {1}}}, 6), inference, 1e-5);
  expect_near(run("BatchNormalization", ins, {}, 6), training, 1e-5);
}

TEST(OnnxImporterOldOpsets, DropoutIsTestAndSeluConstants) {
  const auto x = ramp(6, 1.0f, -3.0f);
  expect_near(run("Dropout", {{"x", x, {6}}}, {{"is_test", {1}}}, 6), x, 0);
  EXPECT_NE(error_of([&] {
              run("Dropout", {{"x", x, {6}}}, {}, 6);
            }).find("training"),
            std::string::npos);
  // Selu-1's defaults: alpha 1.6732, gamma 1.0507 (float); Selu-6's are longer.
  for (int64_t opset : {5, 6}) {
    const double alpha = opset < 6 ? 1.673200011253357 : 1.67326319217681884765625;
    const double gamma = opset < 6 ? 1.0506999492645264 : 1.05070102214813232421875;
    std::vector<float> want(6);
    for (size_t i = 0; i < 6; ++i) {
      want[i] = static_cast<float>(gamma * (x[i] > 0 ? x[i] : alpha * (std::exp(x[i]) - 1)));
    }
    expect_near(run("Selu", {{"x", x, {6}}}, {}, opset), want, 1e-6);
  }
}

TEST(OnnxImporterOldOpsets, ReshapeTakesItsShapeAttributeBeforeOpset5) {
  const auto x = ramp(6, 1.0f, 0.0f);
  nx::Shape shape;
  expect_near(run("Reshape", {{"x", x, {2, 3}}}, {{"shape", {3, -1}}}, 4, &shape), x, 0);
  EXPECT_EQ(shape, (nx::Shape{3, 2}));
}

TEST(OnnxImporterOldOpsets, PadTakesPaddingsAtOpset1) {
  // x {2, 2}, paddings [begin0, begin1, end0, end1] = [1, 0, 0, 2], value 9.
  const std::vector<float> x{1, 2, 3, 4};
  nx::Shape shape;
  auto y =
      run("Pad", {{"x", x, {2, 2}}}, {{"paddings", {1, 0, 0, 2}}, {"value", {}, 9.0f}}, 1, &shape);
  EXPECT_EQ(shape, (nx::Shape{3, 4}));
  expect_near(y, {9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9}, 0);
}

TEST(OnnxImporterOldOpsets, OpsOlderThanTheirConverterAreRefused) {
  // PRelu before 7 broadcast its slope differently, Cast-1 named types by string, Tile-1 took
  // tiles and axis inputs, LpPool-1 a float p: refused at import, naming node, op and opset.
  const std::vector<float> x{1, 2, 3, 4};
  struct Old {
    std::string op;
    std::vector<Input> ins;
    int64_t opset;
  };
  for (const auto& c : std::vector<Old>{{"PRelu", {{"x", x, {4}}, {"s", {0.1f}, {1}}}, 6},
                                        {"Cast", {{"x", x, {4}}}, 5},
                                        {"Tile", {{"x", x, {4}}}, 5},
                                        {"GlobalLpPool", {{"x", x, {1, 1, 4}}}, 1}}) {
    std::string msg = error_of([&] { import_model(one_node_model(c.op, c.ins, {}, c.opset)); });
    EXPECT_NE(msg.find("node the_" + c.op + " (" + c.op + ") at opset " + std::to_string(c.opset)),
              std::string::npos)
        << msg;
  }
  // Opsets outside 1..17 are refused whatever the ops.
  for (int64_t opset : {0, 18}) {
    std::string msg = error_of([&] {
      import_model(one_node_model("Relu", {{"x", x, {4}}}, {}, opset));
    });
    EXPECT_NE(msg.find("opset " + std::to_string(opset)), std::string::npos) << msg;
  }
}

}  // namespace
