// The ONNX importer core: models built here with the protobuf API, imported, predicted and
// trained; external data; every element type; malformed input and unsupported models.
#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/data/dataset.hpp"
#include "axon/data/loader.hpp"
#include "axon/loop.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/nx.hpp"
#include "onnx_case.hpp"

namespace {

using nx::Tensor;

std::span<const uint8_t> as_span(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void set_tensor_info(onnx::ValueInfoProto* v, const std::string& name, int elem,
                     const std::vector<std::string>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (!d.empty() && std::isdigit(static_cast<unsigned char>(d[0]))) {
      dim->set_dim_value(std::stoll(d));
    } else if (!d.empty()) {
      dim->set_dim_param(d);
    }
  }
}

void add_float_init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                    const std::vector<float>& values, bool raw = true) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  if (raw) {
    t->set_raw_data(
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  } else {
    for (float v : values) t->add_float_data(v);
  }
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op,
                          const std::vector<std::string>& ins, const std::vector<std::string>& outs,
                          const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return n;
}

onnx::ModelProto new_model(int64_t opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("axon-test");
  auto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

std::vector<float> seq(size_t n, float scale, float shift) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 7) % 11) + shift;
  return v;
}

// y = relu(x @ W1 + b1) @ W2 + b2 with x: f32[batch, 4] (symbolic batch), names with dots.
struct Mlp {
  std::vector<float> w1 = seq(4 * 8, 0.1f, -0.5f), b1 = seq(8, 0.05f, -0.2f),
                     w2 = seq(8 * 3, -0.07f, 0.3f), b2 = seq(3, 0.2f, 0.1f);
  onnx::ModelProto proto() const {
    onnx::ModelProto m = new_model();
    auto* g = m.mutable_graph();
    set_tensor_info(g->add_input(), "x", onnx::TensorProto::FLOAT, {"batch", "4"});
    set_tensor_info(g->add_output(), "y", onnx::TensorProto::FLOAT, {"batch", "3"});
    add_float_init(g, "fc1.weight", {4, 8}, w1);
    add_float_init(g, "fc1.bias", {8}, b1, /*raw=*/false);
    add_float_init(g, "fc2.weight", {8, 3}, w2);
    add_float_init(g, "fc2.bias", {3}, b2);
    add_node(g, "MatMul", {"x", "fc1.weight"}, {"h0"}, "fc1.matmul");
    add_node(g, "Add", {"h0", "fc1.bias"}, {"h1"});
    add_node(g, "Relu", {"h1"}, {"h2"});
    add_node(g, "MatMul", {"h2", "fc2.weight"}, {"h3"});
    add_node(g, "Add", {"h3", "fc2.bias"}, {"y"});
    return m;
  }
  Tensor expected(const Tensor& x) const {
    auto h = nx::max(
        nx::dot(x, nx::from_vector(w1, nx::Shape{4, 8})) + nx::from_vector(b1, nx::Shape{8}), 0.0);
    return nx::dot(h, nx::from_vector(w2, nx::Shape{8, 3})) + nx::from_vector(b2, nx::Shape{3});
  }
};

Tensor random_input(nx::Shape shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(nx::num_elements(shape)));
  for (auto& x : v) x = u(rng);
  return nx::from_vector(v, shape);
}

void expect_close(const Tensor& a, const Tensor& b, double tol = 1e-5) {
  ASSERT_EQ(a.shape(), b.shape());
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], tol) << "at " << i;
}

using onnx_case::error_of;

axon::onnx::Imported import_model(const onnx::ModelProto& m, const std::string& what = "test") {
  std::string bytes = m.SerializeAsString();
  return axon::onnx::import_bytes(as_span(bytes), {}, {}, what);
}

TEST(OnnxImporter, MlpWithSymbolicBatchPredictsAtAnyBatch) {
  Mlp mlp;
  auto m = import_model(mlp.proto());
  EXPECT_EQ(m.inputs, std::vector<std::string>{"x"});
  EXPECT_EQ(m.outputs, std::vector<std::string>{"y"});
  EXPECT_EQ(m.opset, 13);
  EXPECT_EQ(m.producer, "axon-test");
  auto [init_fn, predict_fn] = axon::build(m.model);
  for (int64_t batch : {1, 7}) {
    Tensor x = random_input({batch, 4}, static_cast<uint32_t>(batch));
    Tensor y = predict_fn(m.state, x).leaf();
    expect_close(y, mlp.expected(x));
  }
  // One executable per batch size, both from the same imported graph.
  EXPECT_EQ(predict_fn.stats().compiles, 2);
}

TEST(OnnxImporter, InitializersAreParametersNamedAfterTheirNodes) {
  auto m = import_model(Mlp().proto());
  std::vector<axon::ParamPath> paths = m.state.paths();
  std::set<axon::ParamPath> got(paths.begin(), paths.end());
  std::set<axon::ParamPath> want = {{"fc1_matmul", "fc1_weight"},
                                    {"Add_0", "fc1_bias"},
                                    {"MatMul_0", "fc2_weight"},
                                    {"Add_1", "fc2_bias"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(m.state.num_parameters(), 4 * 8 + 8 + 8 * 3 + 3);
  EXPECT_TRUE(m.state.state.empty());
  EXPECT_EQ(m.state.trainable_parameters().num_leaves(), 4);
  // init_fn recreates the same values (the initializers are the parameters' initializers).
  auto s = axon::init(m.model, nx::make_template({2, 4}, nx::f32));
  expect_close(s.data["MatMul_0"]["fc2_weight"].leaf(),
               m.state.data["MatMul_0"]["fc2_weight"].leaf());
}

TEST(OnnxImporter, ImportedWeightsTrain) {
  Mlp mlp;
  auto m = import_model(mlp.proto());
  axon::PredictFn predict_fn =
      axon::build(m.model).second;  // (clang: no lambda capture of bindings)
  Tensor x = random_input({7, 4}, 3);
  Tensor target = random_input({7, 3}, 4);
  auto loss = [&](const nx::Tree& params) {
    axon::ModelState s = m.state.update(params);
    Tensor y = predict_fn(s, x).leaf();
    return nx::mean(nx::pow(y - target, 2));
  };
  nx::Tree params = m.state.trainable_parameters();
  double first = loss(params).item<double>();
  auto step = nx::jit([&](const nx::Tree& p) {
    nx::Tree g = nx::grad(p, loss);
    return nx::tree_map(p, g, [](const Tensor& w, const Tensor& dw) { return w - 0.05 * dw; });
  });
  for (int i = 0; i < 5; ++i) params = step(params);
  double last = loss(params).item<double>();
  EXPECT_LT(last, first);
  Tensor w0 = m.state.data["fc1_matmul"]["fc1_weight"].leaf();
  Tensor w1 = params["fc1_matmul"]["fc1_weight"].leaf();
  EXPECT_GT(nx::sum(nx::abs(w1 - w0)).item<double>(), 1e-4);
}

// The header's worked example: fine-tuning an imported model with axon::loop::trainer.
TEST(OnnxImporter, FineTunesWithTheTrainer) {
  auto m = import_model(Mlp().proto());
  Tensor x = random_input({32, 4}, 21);
  Tensor y = random_input({32, 3}, 22);
  axon::data::Loader loader(axon::data::Dataset::from_tensors(x, y), {.batch_size = 8});
  auto loop = axon::loop::trainer(m.model, "mean_squared_error",
                                  axon::optim::adam({.learning_rate = 1e-2}), {.log = false});
  axon::ModelState tuned = loop.run(loader, m.state, {.epochs = 3}).model_state();
  EXPECT_EQ(tuned.paths(), m.state.paths());
  auto mse = [&](const axon::ModelState& s) {
    return nx::mean(nx::pow(axon::predict(m.model, s, x).leaf() - y, 2)).item<double>();
  };
  EXPECT_LT(mse(tuned), mse(m.state));
}

TEST(OnnxImporter, ExternalData) {
  Mlp mlp;
  onnx::ModelProto m = mlp.proto();
  auto dir = std::filesystem::temp_directory_path() /
             ("axon_onnx_ext_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir / "weights");
  // fc1.weight at offset 16 of weights/data.bin, after 16 junk bytes.
  {
    std::ofstream f(dir / "weights" / "data.bin", std::ios::binary);
    std::string junk(16, 'z');
    f.write(junk.data(), 16);
    f.write(reinterpret_cast<const char*>(mlp.w1.data()), mlp.w1.size() * sizeof(float));
  }
  auto* t = m.mutable_graph()->mutable_initializer(0);
  ASSERT_EQ(t->name(), "fc1.weight");
  t->clear_raw_data();
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const std::string& k, const std::string& v) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "weights/data.bin");
  kv("offset", "16");
  kv("length", std::to_string(mlp.w1.size() * sizeof(float)));
  {
    std::ofstream f(dir / "model.onnx", std::ios::binary);
    m.SerializeToOstream(&f);
  }
  auto imported = axon::onnx::import_file(dir / "model.onnx");
  Tensor x = random_input({5, 4}, 9);
  expect_close(axon::predict(imported.model, imported.state, x).leaf(), mlp.expected(x));

  // From bytes without a directory: refused, saying why.
  std::string bytes = m.SerializeAsString();
  EXPECT_NE(error_of([&] { axon::onnx::import_bytes(as_span(bytes)); }).find("external file"),
            std::string::npos);
  // A range past the end of the file, and a location leaving the directory.
  t->mutable_external_data(1)->set_value("17");
  {
    std::ofstream f(dir / "bad.onnx", std::ios::binary);
    m.SerializeToOstream(&f);
  }
  EXPECT_NE(error_of([&] { axon::onnx::import_file(dir / "bad.onnx"); }).find("past the end"),
            std::string::npos);
  t->mutable_external_data(1)->set_value("16");
  t->mutable_external_data(0)->set_value("../data.bin");
  {
    std::ofstream f(dir / "bad.onnx", std::ios::binary);
    m.SerializeToOstream(&f);
  }
  EXPECT_NE(error_of([&] {
              axon::onnx::import_file(dir / "bad.onnx");
            }).find("leaves the model's directory"),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

// Every element type nx has, from raw_data and from the typed fields, as a graph output that is
// an initializer (a constant).
TEST(OnnxImporter, EveryElementTypeFromRawAndTypedFields) {
  struct T {
    int onnx;
    nx::DType dt;
  };
  std::vector<T> types = {
      {onnx::TensorProto::FLOAT, nx::f32},   {onnx::TensorProto::DOUBLE, nx::f64},
      {onnx::TensorProto::FLOAT16, nx::f16}, {onnx::TensorProto::BFLOAT16, nx::bf16},
      {onnx::TensorProto::INT8, nx::s8},     {onnx::TensorProto::INT16, nx::s16},
      {onnx::TensorProto::INT32, nx::s32},   {onnx::TensorProto::INT64, nx::s64},
      {onnx::TensorProto::UINT8, nx::u8},    {onnx::TensorProto::UINT16, nx::u16},
      {onnx::TensorProto::UINT32, nx::u32},  {onnx::TensorProto::UINT64, nx::u64},
      {onnx::TensorProto::BOOL, nx::pred}};
  const std::vector<double> values = {0, 1, 2, 3, 1, 0};
  for (const T& ty : types) {
    Tensor want = nx::as_type(nx::from_vector(values, nx::Shape{2, 3}), ty.dt);
    for (bool raw : {true, false}) {
      SCOPED_TRACE(std::string(nx::dtype_name(ty.dt)) + (raw ? " raw" : " typed"));
      onnx::ModelProto m = new_model();
      auto* g = m.mutable_graph();
      auto* t = g->add_initializer();
      t->set_name("c");
      t->set_data_type(ty.onnx);
      t->add_dims(2);
      t->add_dims(3);
      if (raw) {
        t->set_raw_data(std::string(static_cast<const char*>(want.raw_data()),
                                    static_cast<size_t>(want.byte_size())));
      } else {
        std::vector<double> v = want.to_vector<double>();
        for (size_t i = 0; i < v.size(); ++i) {
          switch (ty.onnx) {
            case onnx::TensorProto::FLOAT:
              t->add_float_data(static_cast<float>(v[i]));
              break;
            case onnx::TensorProto::DOUBLE:
              t->add_double_data(v[i]);
              break;
            case onnx::TensorProto::INT64:
              t->add_int64_data(static_cast<int64_t>(v[i]));
              break;
            case onnx::TensorProto::UINT32:
            case onnx::TensorProto::UINT64:
              t->add_uint64_data(static_cast<uint64_t>(v[i]));
              break;
            case onnx::TensorProto::FLOAT16:
            case onnx::TensorProto::BFLOAT16:
              t->add_int32_data(static_cast<const uint16_t*>(want.raw_data())[i]);
              break;
            default:
              t->add_int32_data(static_cast<int32_t>(v[i]));
              break;
          }
        }
      }
      set_tensor_info(g->add_output(), "c", ty.onnx, {"2", "3"});
      auto imported = import_model(m);
      Tensor got = axon::predict(imported.model, imported.state, nx::Tree()).leaf();
      EXPECT_EQ(got.dtype(), ty.dt);
      expect_close(nx::as_type(got, nx::f64), nx::as_type(want, nx::f64), 0);
    }
  }
}

TEST(OnnxImporter, MalformedAndTruncatedBytesThrow) {
  std::string garbage = "this is not a protobuf \xff\xff\xff\xff\x0f";
  std::string msg =
      error_of([&] { axon::onnx::import_bytes(as_span(garbage), {}, {}, "junk.onnx"); });
  EXPECT_NE(msg.find("junk.onnx"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not a valid ONNX model"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { axon::onnx::import_bytes({}); }), "");
  // Every prefix of a valid model either imports or throws nx::Error, never anything else.
  std::string bytes = Mlp().proto().SerializeAsString();
  int threw = 0;
  for (size_t n = 0; n < bytes.size(); n += 3) {
    try {
      axon::onnx::import_bytes(as_span(bytes.substr(0, n)), {}, {}, "cut.onnx");
    } catch (const nx::Error& e) {
      EXPECT_NE(std::string(e.what()).find("cut.onnx"), std::string::npos) << e.what();
      ++threw;
    }
  }
  EXPECT_GT(threw, 0);
  // A tensor whose data does not fill its shape.
  onnx::ModelProto m = Mlp().proto();
  m.mutable_graph()->mutable_initializer(0)->set_dims(0, 5);
  msg = error_of([&] { import_model(m, "short.onnx"); });
  EXPECT_NE(msg.find("fc1.weight"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { axon::onnx::import_file("/nonexistent/model.onnx"); }).find("no such"),
            std::string::npos);
}

TEST(OnnxImporter, UnsupportedModelsThrowAtImport) {
  onnx::ModelProto m = Mlp().proto();
  m.mutable_graph()->mutable_node(2)->set_op_type("FrobnicateV2");
  std::string msg = error_of([&] { import_model(m); });
  EXPECT_NE(msg.find("FrobnicateV2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node FrobnicateV2_0"), std::string::npos) << msg;

  m = Mlp().proto();
  m.mutable_graph()->mutable_node(2)->set_domain("com.microsoft");
  EXPECT_NE(error_of([&] { import_model(m); }).find("com.microsoft"), std::string::npos);

  for (int64_t opset : {0, 18}) {
    m = Mlp().proto();
    m.mutable_opset_import(0)->set_version(opset);
    EXPECT_NE(error_of([&] { import_model(m); }).find("opset " + std::to_string(opset)),
              std::string::npos);
  }
  m = Mlp().proto();
  m.mutable_graph()->mutable_node(3)->set_input(0, "nowhere");
  EXPECT_NE(error_of([&] { import_model(m); }).find("nowhere"), std::string::npos);
}

TEST(OnnxImporter, WrongInputShapeAtPredictThrows) {
  auto m = import_model(Mlp().proto());
  std::string msg = error_of([&] { axon::predict(m.model, m.state, random_input({2, 5}, 1)); });
  EXPECT_NE(msg.find("x"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[?, 4]"), std::string::npos) << msg;
  // Fixing the batch with input_shapes makes other batches an error.
  std::string bytes = Mlp().proto().SerializeAsString();
  auto fixed = axon::onnx::import_bytes(as_span(bytes), {.input_shapes = {{"x", {3, 4}}}});
  EXPECT_NO_THROW(axon::predict(fixed.model, fixed.state, random_input({3, 4}, 1)));
  EXPECT_THROW(axon::predict(fixed.model, fixed.state, random_input({2, 4}, 1)), nx::Error);
  EXPECT_THROW(axon::onnx::import_bytes(as_span(bytes), {.input_shapes = {{"nope", {1}}}}),
               nx::Error);
}

TEST(OnnxImporter, SeveralOutputsGiveAMapAndConstantsStayConstant) {
  Mlp mlp;
  onnx::ModelProto m = mlp.proto();
  set_tensor_info(m.mutable_graph()->add_output(), "h2", onnx::TensorProto::FLOAT, {"batch", "8"});
  auto imported =
      axon::onnx::import_bytes(as_span(m.SerializeAsString()), {.trainable_initializers = false});
  EXPECT_EQ(imported.state.num_parameters(), 0);
  Tensor x = random_input({2, 4}, 5);
  nx::Tree out = axon::predict(imported.model, imported.state, x);
  ASSERT_TRUE(out.is_map());
  expect_close(out["y"].leaf(), mlp.expected(x));
  EXPECT_EQ(out["h2"].leaf().shape(), (nx::Shape{2, 8}));
}

TEST(OnnxImporter, InputsNoNodeReadsAreStillInputs) {
  // CastLike's expanded body reads only the type of `like`; callers feed it all the same.
  onnx::ModelProto m = new_model(15);
  auto* g = m.mutable_graph();
  set_tensor_info(g->add_input(), "x", onnx::TensorProto::FLOAT, {"2"});
  set_tensor_info(g->add_input(), "like", onnx::TensorProto::DOUBLE, {"1"});
  set_tensor_info(g->add_output(), "y", onnx::TensorProto::DOUBLE, {"2"});
  auto* cast = add_node(g, "Cast", {"x"}, {"y"});
  auto* to = cast->add_attribute();
  to->set_name("to");
  to->set_type(onnx::AttributeProto::INT);
  to->set_i(onnx::TensorProto::DOUBLE);
  auto imported = import_model(m);
  EXPECT_EQ(imported.inputs, (std::vector<std::string>{"x", "like"}));
  Tensor x = nx::from_vector(std::vector<float>{1.5f, -2.0f}, nx::Shape{2});
  nx::Tree out = axon::predict(imported.model, imported.state,
                               nx::Tree::map({{"x", x}, {"like", nx::zeros({1}, nx::f64)}}));
  EXPECT_EQ(out.leaf().dtype(), nx::f64);
  expect_close(out.leaf(), x);
  // Like every declared input, it must be given.
  EXPECT_NE(error_of([&] {
              axon::predict(imported.model, imported.state, nx::Tree::map({{"x", x}}));
            }).find("like"),
            std::string::npos);
}

TEST(OnnxImporter, SupportedOperatorsAreListed) {
  auto ops = axon::onnx::supported_operators();
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  for (const char* op : {"Add", "MatMul", "Relu"}) {
    EXPECT_TRUE(std::find(ops.begin(), ops.end(), op) != ops.end()) << op;
  }
}

void add_int_init(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& v) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(static_cast<int64_t>(v.size()));
  for (int64_t x : v) t->add_int64_data(x);
}

// Shape arithmetic (Shape -> Slice -> Concat -> Reshape) on a symbolic batch is folded when the
// model is traced, so the compiled predict works at every batch size.
TEST(OnnxImporter, ShapeArithmeticIsFoldedAtTraceTime) {
  for (const char* op : {"Shape", "Slice", "Concat", "Reshape"}) {
    if (!axon::onnx_import::find_op(op)) GTEST_SKIP() << "no " << op << " converter";
  }
  onnx::ModelProto m = new_model(13);
  auto* g = m.mutable_graph();
  set_tensor_info(g->add_input(), "x", onnx::TensorProto::FLOAT, {"n", "2", "3"});
  set_tensor_info(g->add_output(), "y", onnx::TensorProto::FLOAT, {"n", "6"});
  add_int_init(g, "zero", {0});
  add_int_init(g, "one", {1});
  add_int_init(g, "minus_one", {-1});
  add_node(g, "Shape", {"x"}, {"s"});
  add_node(g, "Slice", {"s", "zero", "one"}, {"batch"});
  add_node(g, "Concat", {"batch", "minus_one"}, {"shape"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axis");
    a.set_type(onnx::AttributeProto::INT);
    a.set_i(0);
    return a;
  }());
  add_node(g, "Reshape", {"x", "shape"}, {"y"});
  auto imported = import_model(m);
  auto [init_fn, predict_fn] = axon::build(imported.model);
  for (int64_t n : {1, 5}) {
    Tensor x = random_input({n, 2, 3}, 11);
    expect_close(predict_fn(imported.state, x).leaf(), nx::reshape(x, {n, 6}));
  }
}

// A CNN as torch.onnx.export writes it (data/gen_importer.py): Conv (batch norm folded in),
// Relu, MaxPool, Flatten, Gemm, Softmax with a symbolic batch, against torch's outputs.
TEST(OnnxImporter, PytorchExportedCnnMatchesTorch) {
  auto dir = std::filesystem::path(__FILE__).parent_path() / "data";
  nx::Tree ref = nx::io::load_npz(dir / "importer_cnn.npz");
  auto m = axon::onnx::import_file(dir / "importer_cnn.onnx");
  EXPECT_EQ(m.inputs, std::vector<std::string>{"image"});
  EXPECT_EQ(m.producer.rfind("pytorch", 0), 0u) << m.producer;
  auto [init_fn, predict_fn] = axon::build(m.model);
  for (const char* n : {"1", "3"}) {
    Tensor y = predict_fn(m.state, ref[std::string("x") + n].leaf()).leaf();
    expect_close(y, ref[std::string("y") + n].leaf(), 1e-5);
  }
  EXPECT_GT(m.state.num_parameters(), 400);
}

// An If node whose branches read an outer value (x) and an outer initializer (k).
TEST(OnnxImporter, IfWithSubgraphsReadingTheOuterScope) {
  if (!axon::onnx_import::find_op("If")) GTEST_SKIP() << "no If converter";
  onnx::ModelProto m = new_model();
  auto* g = m.mutable_graph();
  set_tensor_info(g->add_input(), "x", onnx::TensorProto::FLOAT, {"n", "3"});
  set_tensor_info(g->add_input(), "c", onnx::TensorProto::BOOL, {});
  set_tensor_info(g->add_output(), "y", onnx::TensorProto::FLOAT, {"n", "3"});
  add_float_init(g, "k", {3}, {1.0f, 2.0f, 3.0f});
  auto* node = add_node(g, "If", {"c"}, {"y"}, "choose");
  auto branch = [&](const std::string& name, const std::string& op) {
    auto* a = node->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::GRAPH);
    auto* sub = a->mutable_g();
    sub->set_name(name);
    add_node(sub, op, {"x", "k"}, {name + "_out"});
    set_tensor_info(sub->add_output(), name + "_out", onnx::TensorProto::FLOAT, {"n", "3"});
  };
  branch("then_branch", "Add");
  branch("else_branch", "Mul");
  auto imported = import_model(m);
  auto [init_fn, predict_fn] = axon::build(imported.model);
  Tensor x = random_input({2, 3}, 6);
  Tensor k = nx::from_vector(std::vector<float>{1, 2, 3});
  for (bool c : {true, false}) {
    nx::Tree in =
        nx::Tree::map({{"x", x}, {"c", nx::from_vector(std::vector<bool>{c}, nx::Shape{})}});
    Tensor y = predict_fn(imported.state, in).leaf();
    expect_close(y, c ? x + k : x * k);
  }
}

}  // namespace
