// ONNX export (axon::onnx::export_onnx): an MLP, two CNNs (conv, conv_transpose, depthwise,
// batch norm, pooling, dropout in inference), recurrent models (LSTM, GRU), a transformer
// encoder block and a custom layer using many primitives and control flow are exported and
//   - checked with onnx.checker (full check) by /usr/bin/python3 when python3-onnx is there,
//   - imported back with axon::onnx::import_file and predicted at another batch size (round
//     trip: the same outputs),
//   - run in ONNX Runtime (OnnxExportOrt.*: npm's onnxruntime-node through
//     tests/axon/onnx/ort/run_ort.js; skipped when node or the package is missing).
// The package is found through $AXON_ORT_NODE_PATH (a node_modules directory) or in
// <repo>/build*/ort/node_modules: `npm install --ignore-scripts onnxruntime-node` in
// <build>/ort installs it.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/attention.hpp"
#include "axon/layers/combinators.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/pooling.hpp"
#include "axon/layers/recurrent.hpp"
#include "axon/layers/shape.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx_export.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace {

namespace fs = std::filesystem;
using nx::Tensor;
using nx::Tree;

fs::path here() {
  return fs::path(__FILE__).parent_path();
}

/// A per-process directory for the exported files, removed at exit unless $AXON_KEEP_ONNX is set.
fs::path out_dir() {
  struct Dir {
    fs::path path = fs::temp_directory_path() / ("axon_onnx_export_" + std::to_string(::getpid()));
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      if (std::getenv("AXON_KEEP_ONNX") == nullptr) fs::remove_all(path, ec);
    }
  };
  static Dir d;
  return d.path;
}

int run(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

bool have_python_onnx() {
  static bool ok = run("/usr/bin/python3 -c 'import onnx' >/dev/null 2>&1") == 0;
  return ok;
}

std::optional<fs::path> ort_node_path() {
  static std::optional<fs::path> found = []() -> std::optional<fs::path> {
    if (run("node --version >/dev/null 2>&1") != 0) return std::nullopt;
    std::vector<fs::path> candidates;
    if (const char* e = std::getenv("AXON_ORT_NODE_PATH")) candidates.emplace_back(e);
    fs::path repo = here().parent_path().parent_path().parent_path();
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(repo, ec)) {
      std::string n = entry.path().filename().string();
      if (n.rfind("build", 0) == 0) candidates.push_back(entry.path() / "ort" / "node_modules");
    }
    for (const auto& c : candidates)
      if (fs::exists(c / "onnxruntime-node" / "package.json", ec)) return c;
    return std::nullopt;
  }();
  return found;
}

Tensor normal(int64_t seed, const nx::Shape& shape) {
  return nx::random::normal(nx::random::key(seed), shape);
}

/// The state with every floating-point leaf perturbed (so that zero biases and unit
/// batch-norm statistics do not hide mistakes); variances stay positive.
axon::ModelState perturbed(const axon::ModelState& s) {
  axon::ModelState r = s;
  int64_t seed = 100;
  r.data = nx::tree_map_with_path(s.data, [&](const std::string& path, const Tensor& t) {
    if (!nx::is_float(t.dtype())) return t;
    Tensor noise = nx::as_type(normal(seed++, t.shape()), t.dtype()) * 0.2;
    if (path.size() >= 3 && path.substr(path.size() - 3) == "var") return nx::abs(t + noise) + 0.5;
    return t + noise;
  });
  return r;
}

std::string json_tensor(const Tensor& t) {
  std::ostringstream o;
  o.precision(9);
  const char* type = "float32";
  Tensor v = t;
  switch (t.dtype()) {
    case nx::DType::F64:
      type = "float64";
      break;
    case nx::DType::S32:
      type = "int32";
      break;
    case nx::DType::S64:
      type = "int64";
      break;
    case nx::DType::Pred:
      type = "bool";
      break;
    default:
      v = nx::as_type(t, nx::f32);
      break;
  }
  o << "{\"type\": \"" << type << "\", \"dims\": [";
  for (size_t i = 0; i < t.shape().size(); ++i) o << (i ? ", " : "") << t.shape()[i];
  o << "], \"data\": [";
  std::vector<double> d = nx::as_type(t, nx::f64).to_vector<double>();
  for (size_t i = 0; i < d.size(); ++i) o << (i ? ", " : "") << d[i];
  o << "]}";
  return o.str();
}

/// The model's outputs by ONNX output name ("output", or "output.<path>").
std::vector<std::pair<std::string, Tensor>> named_outputs(const Tree& out) {
  if (out.is_leaf()) return {{"output", out.leaf()}};
  std::vector<std::pair<std::string, Tensor>> r;
  for (auto& l : nx::tree_flatten_with_paths(out)) r.emplace_back("output." + l.path, l.tensor);
  return r;
}

void expect_close(const Tensor& got, const Tensor& want, double atol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  Tensor d = nx::abs(nx::as_type(got, nx::f64) - nx::as_type(want, nx::f64));
  double tol = atol;
  EXPECT_LE(nx::reduce_max(d).item<double>(), tol) << what;
}

struct Case {
  axon::Model model;
  axon::ModelState state;
  Tree inputs;  ///< a map name -> tensor, at a batch size the traces did not use
  double atol = 1e-4;
  bool dynamic = true;
  axon::onnx::ExportOptions opts = {};
};

fs::path export_case(const std::string& name, const Case& c) {
  axon::onnx::ExportResult r = axon::onnx::export_onnx_model(c.model, c.state, c.opts);
  EXPECT_EQ(r.dynamic_batch, c.dynamic) << r.note;
  fs::path file = out_dir() / (name + ".onnx");
  std::ofstream(file, std::ios::binary) << r.bytes;
  return file;
}

/// Export, onnx.checker, and the round trip through the importer.
void check_case(const std::string& name, const Case& c) {
  fs::path file = export_case(name, c);
  if (have_python_onnx()) {
    EXPECT_EQ(
        run("/usr/bin/python3 " + (here() / "export_check.py").string() + " " + file.string()), 0)
        << "onnx.checker rejected " << file;
  }
  Tree want = axon::predict(c.model, c.state, c.inputs);
  axon::onnx::Imported imp = axon::onnx::import_file(file);
  Tree got = axon::predict(imp.model, imp.state, c.inputs);
  auto w = named_outputs(want);
  if (w.size() == 1) {
    expect_close(got.is_leaf() ? got.leaf() : got[w[0].first].leaf(), w[0].second, c.atol,
                 name + " round trip");
  } else {
    for (auto& [n, t] : w) expect_close(got[n].leaf(), t, c.atol, name + " round trip " + n);
  }
}

/// Runs the exported model in ONNX Runtime and compares with axon's outputs.
void check_ort(const std::string& name, const Case& c) {
  std::optional<fs::path> node_path = ort_node_path();
  if (!node_path) GTEST_SKIP() << "node or onnxruntime-node is not available";
  fs::path file = export_case(name + "_ort", c);
  Tree want = axon::predict(c.model, c.state, c.inputs);
  std::ostringstream js;
  js << "{\"atol\": " << c.atol << ", \"rtol\": 1e-4, \"inputs\": {";
  bool first = true;
  for (auto& l : nx::tree_flatten_with_paths(c.inputs)) {
    js << (first ? "" : ", ") << "\"" << l.path << "\": " << json_tensor(l.tensor);
    first = false;
  }
  js << "}, \"outputs\": {";
  first = true;
  for (auto& [n, t] : named_outputs(want)) {
    js << (first ? "" : ", ") << "\"" << n << "\": " << json_tensor(t);
    first = false;
  }
  js << "}}";
  fs::path spec = out_dir() / (name + "_ort.json");
  std::ofstream(spec) << js.str();
  std::string cmd = "NODE_PATH=" + node_path->string() + " node " +
                    (here() / "ort" / "run_ort.js").string() + " " + file.string() + " " +
                    spec.string();
  EXPECT_EQ(run(cmd), 0) << "ONNX Runtime disagrees: " << cmd;
}

Tree one(const std::string& name, Tensor t) {
  return Tree{{name, std::move(t)}};
}

Case mlp() {
  auto x = axon::input("x", {axon::kDynamic, 8});
  auto h = axon::dense(x, 16, {.activation = "relu"});
  auto y = axon::dense(h, 4, {.activation = "softmax"});
  auto s = perturbed(axon::init(y, nx::make_template({1, 8}, nx::f32)));
  return {y, s, one("x", normal(1, {5, 8}))};
}

Case cnn() {
  auto x = axon::input("image", {axon::kDynamic, 8, 8, 3});
  auto h =
      axon::conv(x, 4, {.kernel_size = {3}, .padding = nx::Padding::same(), .activation = "relu"});
  h = axon::batch_norm(h);
  h = axon::max_pool(h, {.kernel_size = {2}});
  h = axon::dropout(h, {.rate = 0.3});
  h = axon::conv(
      h, 6, {.kernel_size = {2}, .strides = {2}, .kernel_dilation = {1}, .feature_group_size = 2});
  h = axon::avg_pool(h, {.kernel_size = {2}, .strides = {1}, .padding = nx::Padding::same()});
  h = axon::flatten(h);
  auto y = axon::dense(h, 3);
  auto s = perturbed(axon::init(y, nx::make_template({1, 8, 8, 3}, nx::f32)));
  return {y, s, one("image", normal(2, {5, 8, 8, 3})), 2e-4};
}

Case cnn_first() {
  auto x = axon::input("image", {axon::kDynamic, 3, 7, 7});
  auto h = axon::conv_transpose(
      x, 4, {.kernel_size = {3}, .strides = {2}, .channels = axon::fn::Channels::First});
  h = axon::depthwise_conv(h, 2, {.kernel_size = {3}, .channels = axon::fn::Channels::First});
  h = axon::max_pool(h,
                     {.kernel_size = {3}, .strides = {2}, .channels = axon::fn::Channels::First});
  h = axon::layer_norm(h, {.channel_index = 1});
  h = axon::global_avg_pool(h, {.channels = axon::fn::Channels::First});
  auto y = axon::dense(h, 2, {.activation = "tanh"});
  auto s = perturbed(axon::init(y, nx::make_template({1, 3, 7, 7}, nx::f32)));
  return {y, s, one("image", normal(3, {4, 3, 7, 7})), 2e-4};
}

Case recurrent() {
  auto x = axon::input("seq", {axon::kDynamic, 5, 3});
  axon::RecurrentLayer r = axon::lstm(x, 4);
  axon::RecurrentLayer g = axon::gru(r.output_sequence, 3);
  auto y = axon::dense(g.output_sequence, 2);
  auto out = axon::container({y, r.states[1]});
  auto s = perturbed(axon::init(out, nx::make_template({1, 5, 3}, nx::f32)));
  return {out, s, one("seq", normal(4, {6, 5, 3})), 2e-4};
}

Case encoder() {
  auto x = axon::input("tokens", {axon::kDynamic, 6, 8});
  auto h = axon::transformer_encoder_block(x, {.num_heads = 2, .ff_dim = 16});
  auto y = axon::transformer_encoder_block(
      h, {.num_heads = 4, .ff_dim = 12, .activation = "gelu", .norm_first = true, .causal = true});
  auto s = perturbed(axon::init(y, nx::make_template({1, 6, 8}, nx::f32)));
  return {y, s, one("tokens", normal(5, {3, 6, 8})), 2e-4};
}

/// A user layer using primitives the built-in layers do not: gather, sort, cumsum, pad,
/// reverse, concatenate, argmax, dynamic slices, while_loop, cond and scan.
Case custom_ops() {
  auto x = axon::input("x", {axon::kDynamic, 6});
  auto fn = [](const axon::LayerCall& call) -> axon::LayerResult {
    Tensor v = call.input(0);
    Tensor w = call.param("w");
    Tensor a = nx::sort(v * w, {.axis = 1, .descending = true});
    Tensor idx = nx::argsort(v, {.axis = 1});
    Tensor b = nx::take_along_axis(v, idx, 1);
    Tensor c = nx::cumulative_sum(v, {.axis = 1, .reverse = true});
    Tensor d = nx::pad(nx::reverse(v, {1}), nx::scalar(0.5, nx::f32), {{0, 0, 0}, {1, -1, 0}});
    Tensor e = nx::take(w, nx::argmax(v, {.axis = 1}), 0);  // one weight per row
    Tensor f = nx::dynamic_slice(
        v, std::vector<Tensor>{nx::scalar_int(0, nx::s64), nx::scalar_int(2, nx::s32)},
        {v.shape()[0], 3});
    f = nx::concatenate({f, nx::erf(f), nx::round(f * 3.0), nx::atan2(f, f - 0.3)}, 1);
    // while: double until the norm exceeds 10 (data-dependent trip count).
    Tree loop = nx::while_loop(
        Tree::list({Tree(v), Tree(nx::scalar_int(0, nx::s32))}),
        [](const Tree& s) { return nx::less(nx::sum(nx::abs(s[0].leaf())), 50.0); },
        [](const Tree& s) {
          return Tree::list({Tree(s[0].leaf() * 2.0), Tree(s[1].leaf() + 1)});
        });
    Tensor g = nx::cond(
                   nx::greater(nx::sum(v), 0.0), [&] { return Tree(nx::exp(v)); },
                   [&] { return Tree(nx::sin(v)); })
                   .leaf();
    nx::ScanResult sc = nx::scan(Tree(nx::zeros({v.shape()[0]})), Tree(nx::transpose(v)),
                                 [](const Tree& carry, const Tree& xt) {
                                   Tensor n = carry.leaf() * 0.5 + xt.leaf();
                                   return std::pair<Tree, Tree>(Tree(n), Tree(n * n));
                                 },
                                 {.reverse = true});
    Tensor ys = nx::transpose(sc.ys.leaf());
    Tensor out = nx::concatenate({a, b, c, d, nx::new_axis(e, 1), f, loop[0].leaf(), g, ys,
                                  nx::new_axis(sc.carry.leaf(), 1)},
                                 1);
    return {out};
  };
  auto y = axon::layer(fn, {x}, {.name = "ops", .params = {axon::param("w", {6})}});
  auto s = perturbed(axon::init(y, nx::make_template({1, 6}, nx::f32)));
  return {y, s, one("x", normal(6, {4, 6})), 2e-4};
}

TEST(OnnxExport, Mlp) {
  check_case("mlp", mlp());
}
TEST(OnnxExport, Cnn) {
  check_case("cnn", cnn());
}
TEST(OnnxExport, CnnChannelsFirst) {
  check_case("cnn_first", cnn_first());
}
TEST(OnnxExport, Recurrent) {
  check_case("recurrent", recurrent());
}
TEST(OnnxExport, EncoderBlock) {
  check_case("encoder", encoder());
}
TEST(OnnxExport, CustomOps) {
  check_case("custom_ops", custom_ops());
}

TEST(OnnxExportOrt, Mlp) {
  check_ort("mlp", mlp());
}
TEST(OnnxExportOrt, Cnn) {
  check_ort("cnn", cnn());
}
TEST(OnnxExportOrt, CnnChannelsFirst) {
  check_ort("cnn_first", cnn_first());
}
TEST(OnnxExportOrt, Recurrent) {
  check_ort("recurrent", recurrent());
}
TEST(OnnxExportOrt, EncoderBlock) {
  check_ort("encoder", encoder());
}
TEST(OnnxExportOrt, CustomOps) {
  check_ort("custom_ops", custom_ops());
}

TEST(OnnxExport, ParametersAreInitializersNamedByPath) {
  Case c = mlp();
  std::string bytes = axon::onnx::export_onnx_bytes(c.model, c.state);
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(m.opset_import(0).version(), 17);
  std::vector<std::string> names;
  for (const auto& t : m.graph().initializer()) names.push_back(t.name());
  for (const char* want : {"dense_0.kernel", "dense_0.bias", "dense_1.kernel", "dense_1.bias"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  ASSERT_EQ(m.graph().input_size(), 1);
  EXPECT_EQ(m.graph().input(0).name(), "x");
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(1).dim_value(), 8);
}

TEST(OnnxExport, FixedBatchWhenAskedOrDeclared) {
  Case c = mlp();
  c.opts.dynamic_batch = false;
  c.opts.input_templates = nx::make_template({5, 8}, nx::f32);
  c.dynamic = false;
  check_case("mlp_fixed", c);
  std::string bytes = axon::onnx::export_onnx_bytes(c.model, c.state, c.opts);
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_value(), 5);
}

TEST(OnnxExport, BatchBakedIntoTheGraphFallsBackToAFixedBatch) {
  // A layer that reads the batch size as a number: a constant no shape expresses.
  auto x = axon::input("x", {axon::kDynamic, 3});
  auto y = axon::nx_layer(x, [](const Tensor& v) { return v * static_cast<double>(v.shape()[0]); });
  axon::ModelState s = axon::init(y, nx::make_template({1, 3}, nx::f32));
  axon::onnx::ExportResult r = axon::onnx::export_onnx_model(y, s);
  EXPECT_FALSE(r.dynamic_batch);
  EXPECT_NE(r.note.find("fixed batch"), std::string::npos) << r.note;
}

TEST(OnnxExport, UnsupportedPrimitiveNamesIt) {
  auto x = axon::input("x", {2, 3});
  auto y = axon::nx_layer(x, [](const Tensor& v) { return nx::erf_inv(nx::tanh(v)); });
  axon::ModelState s = axon::init(y, nx::make_template({2, 3}, nx::f32));
  try {
    axon::onnx::export_onnx_bytes(y, s);
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("erf_inv"), std::string::npos) << e.what();
  }
}

TEST(OnnxExport, BadOptionsAreErrors) {
  Case c = mlp();
  EXPECT_THROW(axon::onnx::export_onnx_bytes(c.model, c.state, {.opset = 13}), nx::Error);
  EXPECT_THROW(axon::onnx::export_onnx(c.model, c.state, "/nonexistent/dir/m.onnx"), nx::Error);
}

/// A user layer whose outputs (a map) use the remaining primitives: every unary and binary
/// elementwise op, comparisons and logic on pred, conversions, integer arithmetic, every
/// reduction, argmin with ties, scatters, dynamic_put_slice, window sums and minima.
Case primitives() {
  auto x = axon::input("x", {axon::kDynamic, 6});
  auto fn = [](const axon::LayerCall& call) -> axon::LayerResult {
    Tensor v = call.input(0);
    Tensor pos = nx::abs(v) + 0.5;
    Tensor unit = nx::tanh(v) * 0.9;
    Tensor un = nx::concatenate({nx::negate(v),
                                 nx::abs(v),
                                 nx::sign(v),
                                 nx::exp(v),
                                 nx::expm1(v),
                                 nx::log(pos),
                                 nx::log1p(pos),
                                 nx::sqrt(pos),
                                 nx::rsqrt(pos),
                                 nx::cbrt(v),
                                 nx::sin(v),
                                 nx::cos(v),
                                 nx::tan(unit),
                                 nx::asin(unit),
                                 nx::acos(unit),
                                 nx::atan(v),
                                 nx::sinh(v),
                                 nx::cosh(v),
                                 nx::tanh(v),
                                 nx::asinh(v),
                                 nx::acosh(pos + 1.0),
                                 nx::atanh(unit),
                                 nx::erf(v),
                                 nx::erfc(v),
                                 nx::sigmoid(v),
                                 nx::floor(v * 3.0),
                                 nx::ceil(v * 3.0),
                                 nx::round(v * 2.0),
                                 nx::round_even(v * 2.0),
                                 nx::trunc(v * 3.0)},
                                1);
    Tensor w = nx::reverse(v, {1}) + 0.25;
    Tensor bin = nx::concatenate(
        {v + w, v - w, v * w, v / pos, nx::remainder(v * 3.0, pos), nx::mod(v * 3.0, pos),
         nx::pow(pos, w), nx::max(v, w), nx::min(v, w), nx::atan2(v, w), nx::square(v),
         nx::clip(v, -0.5, 0.5), nx::select(nx::greater(v, w), v, w)},
        1);
    Tensor cmp =
        nx::concatenate({nx::equal(v, w), nx::not_equal(v, w), nx::less(v, w), nx::less_equal(v, w),
                         nx::greater(v, w), nx::greater_equal(v, w),
                         nx::logical_and(nx::greater(v, 0.0), nx::less(w, 0.5)),
                         nx::logical_or(nx::greater(v, 0.0), nx::less(w, 0.0)),
                         nx::logical_xor(nx::greater(v, 0.0), nx::less(w, 0.0)),
                         nx::logical_not(nx::greater(v, 0.0)), nx::is_nan(nx::log(v)),
                         nx::is_infinity(nx::log(nx::abs(v) * 0.0 + 1.0) / nx::floor(nx::abs(v)))},
                        1);
    Tensor iv = nx::as_type(v * 5.0, nx::s32);
    Tensor iw = nx::as_type(w * 3.0, nx::s32) + 7;
    Tensor ints = nx::concatenate(
        {iv + iw, iv * iw, nx::quotient(iv, iw), nx::remainder(iv, iw), nx::max(iv, iw),
         nx::abs(iv), nx::bitwise_not(iv), nx::pow(iw, nx::full({}, 2, nx::s32))},
        1);
    Tensor red = nx::stack(
        {nx::sum(v, {.axes = nx::Axes{1}}), nx::product(pos, {.axes = nx::Axes{1}}),
         nx::reduce_max(v, {.axes = nx::Axes{1}}), nx::reduce_min(v, {.axes = nx::Axes{1}}),
         nx::as_type(nx::all(nx::greater(v, -1.0), {.axes = nx::Axes{1}}), nx::f32),
         nx::as_type(nx::any(nx::greater(v, 1.0), {.axes = nx::Axes{1}}), nx::f32),
         nx::as_type(nx::argmin(nx::round(v), {.axis = 1, .tie_high = true}), nx::f32),
         nx::logsumexp(v, {.axes = nx::Axes{1}})},
        1);
    Tensor idx = nx::from_vector(std::vector<int64_t>{4, 1, 4, 0}, nx::Shape{2, 2});
    Tensor upd = nx::ones({2, 2, v.shape()[0]});
    Tensor tv = nx::transpose(v);  // {6, B}: scatter along the leading axis too
    Tensor sc = nx::concatenate(
        {nx::indexed_add(v, nx::new_axis(idx, -1), upd, nx::Axes{1}),
         nx::transpose(nx::indexed_put(tv, nx::new_axis(idx, -1), upd * 3.0, nx::Axes{0})),
         nx::dynamic_put_slice(v, {nx::scalar_int(0, nx::s32), nx::scalar_int(4, nx::s32)},
                               nx::full({v.shape()[0], 3}, -1.0)),
         nx::squeeze(nx::window_min(nx::new_axis(v, 1), {1, 1, 3}, {.strides = {1, 1, 2}}),
                     nx::Axes{1}),
         nx::window_sum(v, {1, 2}, {.padding = nx::Padding::same()}),
         nx::one_hot(nx::argmax(v, {.axis = 1}), 6), nx::tril(nx::tile(v, {1, 1})),
         nx::iota({v.shape()[0], 6}, 0, nx::f32), nx::iota({v.shape()[0], 6}, 1, nx::f32),
         nx::cumulative_max(v, {.axis = 1}), nx::cumulative_min(v, {.axis = 1, .reverse = true}),
         nx::cumulative_product(pos, {.axis = 1}),
         nx::transpose(nx::cumulative_max(nx::transpose(v), {.axis = 0, .reverse = true})),
         nx::squeeze(nx::conv(nx::new_axis(v, 1), nx::ones({1, 1, 2}),
                              {.padding = nx::Padding::explicit_pairs({{-1, 1}})}),
                     nx::Axes{1})},
        1);
    return {
        Tree{{"unary", un},
             {"binary", bin},
             {"compare", cmp},
             {"ints", ints},
             {"reduce", red},
             {"index", sc},
             {"f64", nx::as_type(nx::as_type(v, nx::f64) * 1.5, nx::f64)},
             {"interior", nx::pad(v, nx::scalar(0.5, nx::f32), {{0, 0, 0}, {1, -1, 1}})},
             {"interior_batch", nx::pad(v, nx::scalar(-2.0, nx::f32), {{0, 1, 1}, {0, 0, 0}})}}};
  };
  auto y = axon::layer(fn, {x}, {.name = "prims"});
  auto s = axon::init(y, nx::make_template({1, 6}, nx::f32));
  return {y, s, one("x", normal(9, {4, 6})), 2e-4};
}

TEST(OnnxExport, Primitives) {
  check_case("primitives", primitives());
}
TEST(OnnxExportOrt, Primitives) {
  check_ort("primitives", primitives());
}

// ---- every layer builder ------------------------------------------------------------------------

using Builder = std::function<Case()>;

/// One small model per layer builder (and option that changes the traced graph), on a
/// symbolic batch: input {kDynamic, dims...}, state perturbed, inputs at batch 3.
Case simple(const nx::Shape& dims, const std::function<axon::Model(const axon::Model&)>& f,
            double atol = 2e-4) {
  nx::Shape decl = {axon::kDynamic};
  decl.insert(decl.end(), dims.begin(), dims.end());
  nx::Shape one_shape = {1};
  one_shape.insert(one_shape.end(), dims.begin(), dims.end());
  nx::Shape three = {3};
  three.insert(three.end(), dims.begin(), dims.end());
  auto x = axon::input("x", decl);
  auto y = f(x);
  auto s = perturbed(axon::init(y, nx::make_template(one_shape, nx::f32)));
  return {y, s, one("x", normal(7, three)), atol};
}

std::vector<std::pair<std::string, Builder>> layer_cases() {
  using axon::fn::Channels;
  using M = axon::Model;
  std::vector<std::pair<std::string, Builder>> v;
  for (const char* act :
       {"celu",      "elu",        "exp",      "gelu",       "hard_sigmoid", "hard_silu",
        "hard_tanh", "leaky_relu", "linear",   "log_sumexp", "log_sigmoid",  "log_softmax",
        "mish",      "relu",       "relu6",    "sigmoid",    "silu",         "selu",
        "softmax",   "softplus",   "softsign", "tanh"}) {
    std::string a = act;
    v.emplace_back("activation_" + a,
                   [a] { return simple({5}, [a](const M& x) { return axon::activation(x, a); }); });
  }
  v.emplace_back("dense_no_bias", [] {
    return simple({4}, [](const M& x) { return axon::dense(x, 3, {.use_bias = false}); });
  });
  v.emplace_back("bilinear", [] {
    return simple({4},
                  [](const M& x) { return axon::bilinear(x, axon::activation(x, "tanh"), 3); });
  });
  v.emplace_back("bias", [] { return simple({4}, [](const M& x) { return axon::bias(x); }); });
  v.emplace_back("embedding", [] {
    auto x = axon::input("ids", {axon::kDynamic, 4}, {.dtype = nx::s64});
    auto y = axon::embedding(x, 10, 3);
    auto s = perturbed(axon::init(y, nx::make_template({1, 4}, nx::s64)));
    Tensor ids =
        nx::from_vector(std::vector<int64_t>{0, 3, 9, 2, 5, 5, 1, 8, 7, 6, 4, 0}, nx::Shape{3, 4});
    return Case{y, s, one("ids", ids)};
  });
  v.emplace_back("conv1d_same_dilated", [] {
    return simple({9, 2}, [](const M& x) {
      return axon::conv(
          x, 3, {.kernel_size = {3}, .padding = nx::Padding::same(), .kernel_dilation = {2}});
    });
  });
  v.emplace_back("conv3d_first", [] {
    return simple({2, 4, 4, 4}, [](const M& x) {
      return axon::conv(x, 3, {.kernel_size = {2}, .strides = {2}, .channels = Channels::First});
    });
  });
  v.emplace_back("conv_input_dilation", [] {
    return simple({5, 5, 2}, [](const M& x) {
      return axon::conv(
          x, 3, {.kernel_size = {3}, .padding = nx::Padding::same(), .input_dilation = {2}});
    });
  });
  v.emplace_back("conv_transpose_same", [] {
    return simple({5, 5, 2}, [](const M& x) {
      return axon::conv_transpose(
          x, 3, {.kernel_size = {3}, .strides = {2}, .padding = nx::Padding::same()});
    });
  });
  v.emplace_back("depthwise_conv", [] {
    return simple({6, 6, 2}, [](const M& x) {
      return axon::depthwise_conv(x, 3, {.kernel_size = {3}, .strides = {2}});
    });
  });
  for (const char* d : {"dropout", "spatial_dropout", "alpha_dropout", "feature_alpha_dropout"}) {
    std::string name = d;
    v.emplace_back(name, [name] {
      return simple({4, 4, 2}, [name](const M& x) {
        if (name == "dropout") return axon::dropout(x);
        if (name == "spatial_dropout") return axon::spatial_dropout(x);
        if (name == "alpha_dropout") return axon::alpha_dropout(x);
        return axon::feature_alpha_dropout(x);
      });
    });
  }
  v.emplace_back("batch_norm_first", [] {
    return simple({3, 4, 4}, [](const M& x) { return axon::batch_norm(x, {.channel_index = 1}); });
  });
  v.emplace_back("instance_norm", [] {
    return simple({4, 4, 3}, [](const M& x) { return axon::instance_norm(x); });
  });
  v.emplace_back("group_norm", [] {
    return simple({4, 4, 6}, [](const M& x) { return axon::group_norm(x, 3); });
  });
  v.emplace_back("rms_norm", [] {
    return simple({4, 6}, [](const M& x) { return axon::rms_norm(x); });
  });
  v.emplace_back("max_pool_dilated_same", [] {
    return simple({7, 7, 2}, [](const M& x) {
      return axon::max_pool(
          x,
          {.kernel_size = {2}, .strides = {1}, .padding = nx::Padding::same(), .dilations = {2}});
    });
  });
  v.emplace_back("avg_pool_first", [] {
    return simple({2, 6, 6}, [](const M& x) {
      return axon::avg_pool(x, {.kernel_size = {3}, .strides = {2}, .channels = Channels::First});
    });
  });
  v.emplace_back("lp_pool", [] {
    return simple({6, 6, 2}, [](const M& x) {
      return axon::lp_pool(axon::activation(x, "sigmoid"), {.kernel_size = {2}, .norm = 3});
    });
  });
  v.emplace_back("adaptive_avg_pool", [] {
    return simple({7, 7, 2},
                  [](const M& x) { return axon::adaptive_avg_pool(x, {.output_size = {3}}); });
  });
  v.emplace_back("adaptive_max_pool", [] {
    return simple({7, 7, 2},
                  [](const M& x) { return axon::adaptive_max_pool(x, {.output_size = {2}}); });
  });
  v.emplace_back("adaptive_lp_pool", [] {
    return simple({6, 6, 2},
                  [](const M& x) { return axon::adaptive_lp_pool(x, {.output_size = {3}}); });
  });
  v.emplace_back("global_pools", [] {
    return simple({5, 5, 2}, [](const M& x) {
      return axon::concatenate(
          {axon::global_avg_pool(x), axon::global_max_pool(x), axon::global_lp_pool(x)});
    });
  });
  v.emplace_back("blur_pool", [] {
    return simple({6, 6, 2}, [](const M& x) { return axon::blur_pool(x); });
  });
  v.emplace_back("shape_layers", [] {
    return simple({2, 3, 4}, [](const M& x) {
      auto r = axon::reshape(x, {axon::kBatch, 4, axon::kAuto});
      auto t = axon::transpose(r, nx::Axes{0, 2, 1});
      auto p = axon::pad(x, {{1, 2}, {0, 1}});
      return axon::concatenate(axon::flatten(p), axon::flatten(t));
    });
  });
  for (auto [name, method] : std::vector<std::pair<std::string, axon::fn::ResizeMethod>>{
           {"nearest", axon::fn::ResizeMethod::Nearest},
           {"bilinear", axon::fn::ResizeMethod::Bilinear},
           {"bicubic", axon::fn::ResizeMethod::Bicubic}}) {
    auto m = method;
    v.emplace_back("resize_" + name, [m] {
      return simple({4, 4, 2}, [m](const M& x) { return axon::resize(x, {7}, {.method = m}); });
    });
    v.emplace_back("resize_down_" + name, [m] {
      return simple({8, 8, 2}, [m](const M& x) { return axon::resize(x, {3}, {.method = m}); });
    });
  }
  v.emplace_back("combinators", [] {
    return simple({4}, [](const M& x) {
      auto a = axon::dense(x, 4);
      auto sum = axon::add({x, a, axon::multiply(x, a)});
      return axon::subtract(sum, x);
    });
  });
  v.emplace_back("cond_layer", [] {
    return simple({4}, [](const M& x) {
      return axon::cond(
          x, [](const Tensor& t) { return nx::greater(nx::sum(t), 0.0); }, axon::dense(x, 2),
          axon::activation(axon::dense(x, 2), "relu"));
    });
  });
  v.emplace_back("multi_head_attention_masked", [] {
    auto x = axon::input("x", {axon::kDynamic, 5, 8});
    auto m = axon::input("mask", {axon::kDynamic, 1, 1, 5}, {.dtype = nx::pred});
    auto y = axon::multi_head_attention(x, x, x, {.num_heads = 2, .mask = m});
    nx::Tree tmpl{{"x", nx::make_template({1, 5, 8}, nx::f32)},
                  {"mask", nx::make_template({1, 1, 1, 5}, nx::pred)}};
    auto s = perturbed(axon::init(y, tmpl));
    Tensor mask = nx::less(nx::iota({3, 1, 1, 5}, 3, nx::s32), 4);
    return Case{y, s, Tree{{"x", normal(8, {3, 5, 8})}, {"mask", mask}}, 2e-4};
  });
  v.emplace_back("position_embeddings", [] {
    return simple({5, 8}, [](const M& x) {
      auto a = axon::sinusoidal_position_embedding(x);
      auto b = axon::learned_position_embedding(x, 7);
      return axon::add(axon::rotary_embedding(axon::add(x, a)), b);
    });
  });
  v.emplace_back("lstm_static_unroll", [] {
    return simple({4, 3}, [](const M& x) {
      return axon::lstm(x, 3, {.unroll = axon::fn::Unroll::Static}).output_sequence;
    });
  });
  v.emplace_back("gru_with_mask", [] {
    auto ids = axon::input("ids", {axon::kDynamic, 4}, {.dtype = nx::s64});
    auto x = axon::embedding(ids, 6, 3);
    auto y = axon::gru(x, 3, {.mask = axon::mask(ids, 0)}).output_sequence;
    auto s = perturbed(axon::init(y, nx::make_template({1, 4}, nx::s64)));
    Tensor v =
        nx::from_vector(std::vector<int64_t>{1, 2, 0, 3, 4, 0, 5, 1, 0, 0, 2, 2}, nx::Shape{3, 4});
    return Case{y, s, one("ids", v)};
  });
  v.emplace_back("conv_lstm", [] {
    return simple({3, 4, 4, 2}, [](const M& x) {
      return axon::conv_lstm(x, 2, {.kernel_size = {3}}).output_sequence;
    });
  });
  v.emplace_back("bidirectional", [] {
    return simple({4, 3}, [](const M& x) {
      return axon::bidirectional(x, [](const M& in) { return axon::gru(in, 2).output_sequence; });
    });
  });
  return v;
}

class OnnxExportLayers : public ::testing::TestWithParam<std::pair<std::string, Builder>> {};
class OnnxExportLayersOrt : public ::testing::TestWithParam<std::pair<std::string, Builder>> {};

TEST_P(OnnxExportLayers, CheckerAndRoundTrip) {
  check_case("layer_" + GetParam().first, GetParam().second());
}
TEST_P(OnnxExportLayersOrt, MatchesOnnxRuntime) {
  check_ort("layer_" + GetParam().first, GetParam().second());
}

std::string case_name(const ::testing::TestParamInfo<std::pair<std::string, Builder>>& i) {
  return i.param.first;
}
INSTANTIATE_TEST_SUITE_P(All, OnnxExportLayers, ::testing::ValuesIn(layer_cases()), case_name);
INSTANTIATE_TEST_SUITE_P(All, OnnxExportLayersOrt, ::testing::ValuesIn(layer_cases()), case_name);

}  // namespace
