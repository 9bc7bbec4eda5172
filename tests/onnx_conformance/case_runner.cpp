#include "case_runner.hpp"

#include <algorithm>
#include <exception>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <span>
#include <stdexcept>

#include <onnx/onnx_pb.h>

#include "axon/compiler.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/error.hpp"
#include "nx/tree.hpp"
#include "tensor_proto.hpp"

namespace onnx_conformance {
namespace fs = std::filesystem;
namespace {

::onnx::ModelProto read_model(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  ::onnx::ModelProto model;
  if (!in || !model.ParseFromIstream(&in)) {
    throw std::runtime_error("cannot parse ModelProto " + path.string());
  }
  return model;
}

bool is_default_domain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

// Op types (default domain) and foreign domains of every node, subgraphs included.
void collect_ops(const ::onnx::GraphProto& graph, std::set<std::string>& ops,
                 std::set<std::string>& domains) {
  for (const auto& node : graph.node()) {
    if (is_default_domain(node.domain())) {
      ops.insert(node.op_type());
    } else {
      domains.insert(node.domain() + "." + node.op_type());
    }
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) collect_ops(attr.g(), ops, domains);
      for (const auto& g : attr.graphs()) collect_ops(g, ops, domains);
    }
  }
}

// "" for a plain tensor value of a dtype nx has; otherwise what it is.
std::string value_problem(const ::onnx::ValueInfoProto& v) {
  const auto& type = v.type();
  if (type.has_sequence_type()) return "sequence value " + v.name();
  if (type.has_optional_type()) return "optional value " + v.name();
  if (type.has_map_type()) return "map value " + v.name();
  if (!type.has_tensor_type()) return "non-tensor value " + v.name();
  int t = type.tensor_type().elem_type();
  using ::onnx::TensorProto;
  if (t == TensorProto::STRING || t == TensorProto::COMPLEX64 || t == TensorProto::COMPLEX128 ||
      t == TensorProto::UNDEFINED) {
    return onnx_dtype_name(t) + " tensor " + v.name();
  }
  return "";
}

std::vector<fs::path> data_sets(const fs::path& case_dir) {
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(case_dir)) {
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(e.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

// An error of one stage of a run (import, build, data, run, output).
struct StageError : std::runtime_error {
  StageError(std::string s, const std::string& what)
      : std::runtime_error(what), stage(std::move(s)) {}
  std::string stage;
};

// The case's model, graph inputs and data sets.
struct Case {
  fs::path dir;
  ::onnx::ModelProto proto;
  std::vector<std::string> inputs;   // graph inputs that are not initializers, in order
  std::vector<std::string> outputs;  // graph outputs, in order
  std::vector<fs::path> sets;
};

// The element type a graph input or output declares (0 when unknown).
int declared_type(const google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto>& values,
                  const std::string& name) {
  for (const auto& v : values) {
    if (v.name() == name && v.type().has_tensor_type()) return v.type().tensor_type().elem_type();
  }
  return 0;
}

// numpy has no bfloat16: onnx's tests store bfloat16 values as their uint16 bits. Reads a
// case's tensor file, taking uint16 data as bfloat16 where the model declares bfloat16.
::onnx::TensorProto read_value(const fs::path& file, int declared) {
  ::onnx::TensorProto t = read_tensor_proto(file);
  if (declared == ::onnx::TensorProto::BFLOAT16 && t.data_type() == ::onnx::TensorProto::UINT16) {
    t.set_data_type(::onnx::TensorProto::BFLOAT16);
  }
  return t;
}

bool is_float_input(const Case& c, const std::string& name) {
  for (const auto& v : c.proto.graph().input()) {
    if (v.name() == name && v.type().has_tensor_type()) {
      int t = v.type().tensor_type().elem_type();
      using ::onnx::TensorProto;
      return t == TensorProto::FLOAT || t == TensorProto::DOUBLE || t == TensorProto::FLOAT16 ||
             t == TensorProto::BFLOAT16;
    }
  }
  return false;
}

template <class F>
void run_stage(const std::string& stage, F&& f) {
  try {
    f();
  } catch (const StageError&) {
    throw;
  } catch (const std::exception& e) {
    throw StageError(stage, e.what());
  }
}

// Runs every data set with the graph inputs in `frozen` turned into initializers holding the
// set's values. "" when every output matches, otherwise the first difference.
// Some of onnx 1.12's cases feed data whose shape differs from the shape the model declares
// (CastLike's `like`); onnx runtimes go by the data. The shapes to declare instead: the data's,
// for each input whose declared static dims disagree with it.
std::map<std::string, nx::Shape> mismatched_shapes(const Case& c,
                                                   const std::map<std::string, nx::Tensor>& values,
                                                   const std::set<std::string>& frozen) {
  std::map<std::string, nx::Shape> shapes;
  for (const auto& v : c.proto.graph().input()) {
    auto it = values.find(v.name());
    if (it == values.end() || frozen.count(v.name()) || !v.type().has_tensor_type() ||
        !v.type().tensor_type().has_shape()) {
      continue;
    }
    const auto& dims = v.type().tensor_type().shape().dim();
    const nx::Shape& data = it->second.shape();
    bool same = static_cast<size_t>(dims.size()) == data.size();
    for (int d = 0; same && d < dims.size(); ++d) {
      same = !dims[d].has_dim_value() || dims[d].dim_value() == data[d];
    }
    if (!same) shapes[v.name()] = data;
  }
  return shapes;
}

// Runs every data set with the graph inputs in `frozen` turned into initializers holding the
// set's values. "" when every output matches, otherwise the first difference.
std::string run_sets(const Case& c, const std::set<std::string>& frozen) {
  for (const fs::path& set : c.sets) {
    std::map<std::string, nx::Tensor> values;
    run_stage("data", [&] {
      for (size_t j = 0; j < c.inputs.size(); ++j) {
        auto file = set / ("input_" + std::to_string(j) + ".pb");
        values[c.inputs[j]] =
            to_tensor(read_value(file, declared_type(c.proto.graph().input(), c.inputs[j])));
      }
    });
    std::optional<axon::onnx::Imported> model;
    run_stage("import", [&] {
      axon::onnx::ImportOptions opts;
      opts.input_shapes = mismatched_shapes(c, values, frozen);
      // Frozen inputs must be constants: a float initializer would otherwise be a parameter.
      opts.trainable_initializers = frozen.empty();
      if (frozen.empty()) {
        model = axon::onnx::import_file(c.dir / "model.onnx", opts);
        return;
      }
      ::onnx::ModelProto proto = c.proto;
      auto* graph = proto.mutable_graph();
      graph->clear_input();
      for (size_t j = 0; j < c.inputs.size(); ++j) {
        if (!frozen.count(c.inputs[j])) continue;
        auto file = set / ("input_" + std::to_string(j) + ".pb");
        ::onnx::TensorProto t =
            read_value(file, declared_type(c.proto.graph().input(), c.inputs[j]));
        t.set_name(c.inputs[j]);
        *graph->add_initializer() = t;
      }
      for (const auto& v : c.proto.graph().input()) {
        if (!frozen.count(v.name())) *graph->add_input() = v;
      }
      std::string bytes = proto.SerializeAsString();
      model = axon::onnx::import_bytes(
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
          opts, c.dir, (c.dir / "model.onnx").string());
    });
    const axon::onnx::Imported& imported = *model;
    std::optional<axon::PredictFn> predict_fn;
    run_stage("build", [&] { predict_fn = axon::build(imported.model).second; });
    nx::Tree out;
    run_stage("run", [&] {
      nx::Tree::Map inputs;
      for (const auto& name : imported.inputs) {
        auto it = values.find(name);
        if (it == values.end())
          throw std::runtime_error("the model has an input " + name + " the case lacks");
        inputs.emplace_back(name, it->second);
      }
      out = (*predict_fn)(imported.state, nx::Tree(std::move(inputs)));
    });
    std::string diff;
    run_stage("output", [&] {
      for (size_t j = 0; j < c.outputs.size() && diff.empty(); ++j) {
        auto file = set / ("output_" + std::to_string(j) + ".pb");
        nx::Tensor expected =
            to_tensor(read_value(file, declared_type(c.proto.graph().output(), c.outputs[j])));
        const nx::Tree* got = nullptr;
        if (out.is_leaf()) {
          if (c.outputs.size() != 1) {
            throw std::runtime_error("one output, expected " + std::to_string(c.outputs.size()));
          }
          got = &out;
        } else if (out.is_map()) {
          got = out.find(c.outputs[j]);
        } else if (j < out.size()) {
          got = &out[j];
        }
        if (got == nullptr || !got->is_leaf()) {
          throw std::runtime_error("no tensor for output " + c.outputs[j]);
        }
        diff = compare(got->leaf(), expected);
        if (!diff.empty()) {
          diff = "output " + c.outputs[j] + " (" + set.filename().string() + "): " + diff;
        }
      }
    });
    if (!diff.empty()) return diff;
  }
  return "";
}

// Whether an error says that a value must be known when the model is compiled.
bool needs_constant(const std::string& what) {
  return what.find("must be known when the model is compiled") != std::string::npos ||
         what.find("must be a constant") != std::string::npos ||
         what.find("computed from the model's data") != std::string::npos;
}

// The graph inputs to freeze next for an error that needs constants: the node input the error
// names ("<Op> node <name>: input <i> must be known ..."), else the node's non-float graph
// inputs, else every non-float graph input, else every graph input; minus those frozen already.
std::set<std::string> inputs_to_freeze(const Case& c, const std::string& what,
                                       const std::set<std::string>& frozen) {
  std::set<std::string> graph_inputs(c.inputs.begin(), c.inputs.end());
  auto fresh = [&](const std::set<std::string>& names) {
    std::set<std::string> r;
    for (const auto& n : names) {
      if (graph_inputs.count(n) && !frozen.count(n)) r.insert(n);
    }
    return r;
  };
  const ::onnx::NodeProto* node = nullptr;
  std::smatch m;
  static const std::regex node_re(R"((\w+) node ([^:]*): (.*))");
  std::string rest;
  if (std::regex_search(what, m, node_re)) {
    for (const auto& n : c.proto.graph().node()) {
      if (n.name() == m[2].str()) node = &n;
    }
    if (node == nullptr) {
      int same_type = 0;
      for (const auto& n : c.proto.graph().node()) {
        if (n.op_type() == m[1].str() && same_type++ == 0) node = &n;
      }
      if (same_type != 1) node = nullptr;
    }
    rest = m[3].str();
  }
  if (node != nullptr) {
    static const std::regex index_re(R"(^input (\d+) must be known)");
    std::smatch im;
    if (std::regex_search(rest, im, index_re)) {
      int i = std::stoi(im[1].str());
      if (i < node->input_size()) {
        if (auto r = fresh({node->input(i)}); !r.empty()) return r;
      }
    }
    std::set<std::string> names;
    for (const auto& in : node->input()) {
      if (!is_float_input(c, in)) names.insert(in);
    }
    if (auto r = fresh(names); !r.empty()) return r;
  }
  std::set<std::string> non_float, all;
  for (const auto& n : c.inputs) {
    all.insert(n);
    if (!is_float_input(c, n)) non_float.insert(n);
  }
  if (auto r = fresh(non_float); !r.empty()) return r;
  return fresh(all);
}

}  // namespace

std::string one_line(const std::string& s, size_t max) {
  std::string r;
  for (char c : s) {
    if (r.size() >= max) {
      r += "...";
      break;
    }
    r += (c == '\t' || c == '\n' || c == '\r') ? ' ' : c;
  }
  return r;
}

void identify(const fs::path& node_dir, CaseResult& result) {
  static const std::string suffix = "_expanded";
  const std::string& name = result.name;
  result.expanded = name.size() > suffix.size() &&
                    name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  std::string base = result.expanded ? name.substr(0, name.size() - suffix.size()) : name;
  result.op = "?";
  fs::path model_path = node_dir / base / "model.onnx";
  if (!fs::exists(model_path)) model_path = node_dir / name / "model.onnx";
  try {
    ::onnx::ModelProto model = read_model(model_path);
    if (model.graph().node_size() == 1 || !result.expanded) {
      result.op = model.graph().node_size() > 0 ? model.graph().node(0).op_type() : "?";
    }
  } catch (const std::exception&) {
    // Left "?": run_case reports the unreadable model.
  }
}

std::string unsupported_reason(const fs::path& case_dir,
                               const std::vector<std::string>& supported) {
  // Random outputs: the expected values come from numpy's generator, which no other
  // implementation reproduces (onnxruntime skips these cases too).
  static const std::regex random_cases(
      R"(^test_bernoulli|^test_training_dropout(_default)?(_mask)?$|^test_training_dropout_default_mask$)");
  if (std::regex_search(case_dir.filename().string(), random_cases)) {
    return "random output (numpy's generator; not reproducible)";
  }
  ::onnx::ModelProto model = read_model(case_dir / "model.onnx");
  std::set<std::string> ops, domains;
  collect_ops(model.graph(), ops, domains);
  if (!domains.empty()) return "node of another domain: " + *domains.begin();
  std::string missing;
  for (const auto& op : ops) {
    if (!std::binary_search(supported.begin(), supported.end(), op)) {
      missing += (missing.empty() ? "" : ", ") + op;
    }
  }
  if (!missing.empty()) return "no converter: " + missing;
  for (const auto& v : model.graph().input()) {
    if (auto p = value_problem(v); !p.empty()) return p;
  }
  for (const auto& v : model.graph().output()) {
    if (auto p = value_problem(v); !p.empty()) return p;
  }
  for (const auto& opset : model.opset_import()) {
    if (!is_default_domain(opset.domain())) continue;
    if (opset.version() < 1 || opset.version() > 17) {
      return "opset " + std::to_string(opset.version()) + " outside 1..17";
    }
    // The importer refuses an op older than its converter (the op's form differs).
    for (const auto& op : ops) {
      const int64_t since = axon::onnx_import::find_op(op)->since_opset;
      if (opset.version() < since) {
        return "opset " + std::to_string(opset.version()) + " older than the " + op +
               " converter (opset " + std::to_string(since) + " on)";
      }
    }
  }
  return "";
}

void run_case(const fs::path& case_dir, CaseResult& result) {
  Case c;
  c.dir = case_dir;
  try {
    c.proto = read_model(case_dir / "model.onnx");
    std::set<std::string> initializers;
    for (const auto& init : c.proto.graph().initializer()) initializers.insert(init.name());
    for (const auto& v : c.proto.graph().input()) {
      if (!initializers.count(v.name())) c.inputs.push_back(v.name());
    }
    for (const auto& v : c.proto.graph().output()) c.outputs.push_back(v.name());
    c.sets = data_sets(case_dir);
  } catch (const std::exception& e) {
    result.status = "fail";
    result.kind = "model";
    result.reason = one_line(e.what());
    return;
  }
  // axon compiles static shapes: an input an op needs at compile time (a shape, axes, a
  // condition) is given as an initializer holding the test's value, as exporters write them.
  std::set<std::string> frozen;
  while (true) {
    try {
      std::string diff = run_sets(c, frozen);
      result.status = diff.empty() ? "pass" : "fail";
      result.kind = diff.empty() ? "" : "value";
      result.reason = one_line(diff);
    } catch (const StageError& e) {
      std::set<std::string> more;
      if (needs_constant(e.what())) more = inputs_to_freeze(c, e.what(), frozen);
      if (!more.empty()) {
        frozen.insert(more.begin(), more.end());
        continue;
      }
      result.status = "fail";
      result.kind = e.stage;
      result.reason = one_line(e.what());
    }
    break;
  }
  if (!frozen.empty()) {
    std::string names;
    for (const auto& n : frozen) names += (names.empty() ? "" : ",") + n;
    result.constant_inputs = names;
  }
}

}  // namespace onnx_conformance
