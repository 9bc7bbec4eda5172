// The `axon` command-line tool: inspect, run and time ONNX models through the importer.
//
//   axon summary MODEL.onnx [--batch N]
//   axon run MODEL.onnx --input NAME=x.npy ... [--output out.npz]
//   axon bench MODEL.onnx [--batch N] [--iterations K] [--warmup W]
//   axon export MODEL.onnx -o OUT.onnx [--params STATE.safetensors] [--batch N]
//   axon ops
//
// Dynamic input dimensions (a symbolic batch) are taken as --batch (default 1) by summary and
// bench; run takes the shapes of the given arrays. export keeps a symbolic batch symbolic unless
// --batch fixes it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/display.hpp"
#include "axon/loop/serialize.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx_export.hpp"
#include "nx/error.hpp"
#include "nx/io.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/tree.hpp"

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  axon summary MODEL.onnx [--batch N]       layers, shapes and parameters\n"
    "  axon run MODEL.onnx --input NAME=x.npy ... [--output out.npz]\n"
    "                                            predict on .npy inputs (a model with one\n"
    "                                            input also takes --input x.npy)\n"
    "  axon bench MODEL.onnx [--batch N] [--iterations K] [--warmup W]\n"
    "                                            latency and throughput of compiled predict\n"
    "  axon export MODEL.onnx -o OUT.onnx [--params STATE.safetensors] [--batch N]\n"
    "                                            rewrite as ONNX opset 17, optionally with the\n"
    "                                            parameters of a ModelState file or a loop\n"
    "                                            checkpoint (fine-tuned weights); --batch N\n"
    "                                            fixes a symbolic batch\n"
    "  axon ops                                  the ONNX operators the importer supports\n";

struct Args {
  std::string command, model;
  int64_t batch = 1, iterations = 100, warmup = 5;
  std::vector<std::pair<std::string, std::string>> inputs;
  std::string output, params;
  bool batch_given = false;
};

[[noreturn]] void usage_error(const std::string& what) {
  std::cerr << "axon: " << what << "\n" << kUsage;
  std::exit(2);
}

int64_t parse_positive(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    long long x = std::stoll(v, &used);
    if (used == v.size() && x > 0) return x;
  } catch (const std::exception&) {
  }
  usage_error(flag + " needs a positive integer, got '" + v + "'");
}

Args parse(int argc, char** argv) {
  if (argc < 2) usage_error("no command");
  Args a;
  a.command = argv[1];
  if (a.command == "-h" || a.command == "--help" || a.command == "help") {
    std::cout << kUsage;
    std::exit(0);
  }
  if (a.command != "summary" && a.command != "run" && a.command != "bench" &&
      a.command != "export" && a.command != "ops") {
    usage_error("unknown command " + a.command);
  }
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(s + " needs a value");
      return argv[++i];
    };
    if (s == "--batch") {
      a.batch = parse_positive(s, value());
      a.batch_given = true;
    } else if (s == "--iterations")
      a.iterations = parse_positive(s, value());
    else if (s == "--warmup")
      a.warmup = parse_positive(s, value());
    else if (s == "--output" || (s == "-o" && a.command == "export"))
      a.output = value();
    else if (s == "--params" && a.command == "export")
      a.params = value();
    else if (s == "--input") {
      std::string v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos)
        a.inputs.emplace_back("", v);
      else
        a.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (!s.empty() && s[0] == '-') {
      usage_error("unknown option " + s);
    } else if (a.model.empty()) {
      a.model = s;
    } else {
      usage_error("unexpected argument " + s);
    }
  }
  if (a.command != "ops" && a.model.empty()) usage_error(a.command + " needs a model file");
  if (a.command == "export" && a.output.empty()) usage_error("export needs -o OUT.onnx");
  return a;
}

// The declared shape of `name` with dynamic dims as `batch`.
nx::Shape concrete_shape(const axon::Model& model, const std::string& name, int64_t batch,
                         nx::DType* dtype);

// Finds input nodes by walking the graph from the output.
void find_inputs(const axon::Model& m, std::map<std::string, const axon::Node*>& out,
                 std::set<int64_t>& seen) {
  if (!seen.insert(m.id()).second) return;
  const axon::Node& n = m.node();
  if (n.kind == axon::NodeKind::Input) out[n.name] = &n;
  for (const auto& p : n.parents) find_inputs(p, out, seen);
}

nx::Shape concrete_shape(const axon::Model& model, const std::string& name, int64_t batch,
                         nx::DType* dtype) {
  std::map<std::string, const axon::Node*> ins;
  std::set<int64_t> seen;
  find_inputs(model, ins, seen);
  auto it = ins.find(name);
  if (it == ins.end()) throw nx::Error("input " + name + " is not used by the model's outputs");
  const axon::InputSpec& spec = it->second->input;
  *dtype = spec.dtype;
  if (!spec.has_shape) {
    throw nx::Error("input " + name + " has no declared shape; use `axon run` with real data");
  }
  nx::Shape s = spec.shape;
  for (auto& d : s) {
    if (d == axon::kDynamic) d = batch;
  }
  return s;
}

// Templates (summary) or deterministic pseudo-random data (bench) for every input.
nx::Tree make_inputs(const axon::onnx::Imported& m, int64_t batch, bool templates) {
  nx::Tree::Map map;
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  for (const auto& name : m.inputs) {
    nx::DType dt = nx::f32;
    nx::Shape shape;
    try {
      shape = concrete_shape(m.model, name, batch, &dt);
    } catch (const nx::Error&) {
      continue;  // an input the outputs do not need
    }
    if (templates) {
      map.emplace_back(name, nx::Tree(nx::make_template(shape, dt)));
      continue;
    }
    std::vector<float> v(static_cast<size_t>(nx::num_elements(shape)));
    for (auto& x : v) x = nx::is_float(dt) ? uni(rng) : 0.0f;
    map.emplace_back(name, nx::Tree(nx::as_type(nx::from_vector(v, shape), dt)));
  }
  return nx::Tree::map(std::move(map));
}

void touch(const nx::Tree& t) {
  for (const auto& leaf : nx::tree_flatten(t).leaves) (void)leaf.raw_data();
}

int summary(const Args& a) {
  auto m = axon::onnx::import_file(a.model);
  std::cout << "model: " << a.model << " (opset " << m.opset
            << (m.producer.empty() ? "" : ", produced by " + m.producer) << ")\n";
  std::cout << axon::summary(m.model, make_inputs(m, a.batch, true));
  return 0;
}

int run(const Args& a) {
  auto m = axon::onnx::import_file(a.model);
  nx::Tree::Map map;
  for (const auto& [name, file] : a.inputs) {
    std::string n = name;
    if (n.empty()) {
      if (m.inputs.size() != 1) {
        usage_error("the model has " + std::to_string(m.inputs.size()) +
                    " inputs: name them (--input NAME=x.npy)");
      }
      n = m.inputs[0];
    }
    map.emplace_back(n, nx::Tree(nx::io::load_npy(file)));
  }
  auto [init_fn, predict_fn] = axon::build(m.model);
  nx::Tree out = predict_fn(m.state, nx::Tree::map(std::move(map)));
  nx::Tree named = out;
  if (out.is_leaf()) named = nx::Tree::map({{m.outputs.at(0), out}});
  if (!a.output.empty()) {
    nx::io::save_npz(a.output, named);
    std::cout << "wrote " << named.size() << " output(s) to " << a.output << "\n";
  } else {
    for (size_t i = 0; i < named.size(); ++i) {
      std::cout << named.keys()[i] << " = " << named[i].leaf().to_string() << "\n";
    }
  }
  return 0;
}

int bench(const Args& a) {
  auto m = axon::onnx::import_file(a.model);
  auto [init_fn, predict_fn] = axon::build(m.model);
  nx::Tree inputs = make_inputs(m, a.batch, false);
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  touch(predict_fn(m.state, inputs));
  double compile_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  for (int64_t i = 0; i < a.warmup; ++i) touch(predict_fn(m.state, inputs));
  std::vector<double> ms;
  for (int64_t i = 0; i < a.iterations; ++i) {
    auto s = clock::now();
    touch(predict_fn(m.state, inputs));
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - s).count());
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(i, ms.size() - 1)];
  };
  double mean = 0;
  for (double x : ms) mean += x;
  mean /= static_cast<double>(ms.size());
  std::printf("model: %s (batch %lld, %lld iterations)\n", a.model.c_str(),
              static_cast<long long>(a.batch), static_cast<long long>(a.iterations));
  std::printf("first call (trace + compile + run): %.2f ms\n", compile_ms);
  std::printf("latency ms: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  min %.3f  max %.3f\n", mean,
              pct(50), pct(90), pct(99), ms.front(), ms.back());
  std::printf("throughput: %.1f samples/s\n", 1000.0 * static_cast<double>(a.batch) / mean);
  return 0;
}

// The ModelState in `file`: one written by ModelState::save (or any safetensors file of
// parameters), or a loop checkpoint (axon::loop::save_state: the trainer's model state under
// "step_state").
axon::ModelState load_parameters(const std::string& file) {
  axon::ModelState loaded = axon::ModelState::load(file);
  if (loaded.data.contains("step_state")) return axon::loop::load_state(file).model_state();
  return loaded;
}

// The imported state with every tensor replaced by the one of the same path in `file`. The
// file must hold exactly the model's parameters with their shapes and types: a tensor missing,
// extra or different means it was saved from another model, so nothing is written then.
axon::ModelState replace_parameters(const axon::ModelState& imported, const std::string& file) {
  std::map<std::string, nx::Tensor> loaded;
  for (auto& [path, t] : nx::tree_flatten_with_paths(load_parameters(file).data)) loaded[path] = t;
  std::vector<std::string> problems;
  nx::Tree data =
      nx::tree_map_with_path(imported.data, [&](const std::string& path, const nx::Tensor& want) {
        auto it = loaded.find(path);
        if (it == loaded.end()) {
          problems.push_back(path + ": missing (the model has " + nx::Tree(want).to_string() + ")");
          return want;
        }
        const nx::Tensor got = it->second;
        loaded.erase(it);
        if (got.shape() != want.shape() || got.dtype() != want.dtype()) {
          problems.push_back(path + ": the model has " + nx::Tree(want).to_string() +
                             ", the file " + nx::Tree(got).to_string());
          return want;
        }
        return got;
      });
  for (const auto& [path, t] : loaded) problems.push_back(path + ": not a parameter of the model");
  if (!problems.empty()) {
    std::string msg = file + " does not match the model's parameters (" +
                      std::to_string(problems.size()) + " difference(s)):";
    for (const auto& p : problems) msg += "\n  " + p;
    throw nx::Error(msg);
  }
  axon::ModelState out = imported;
  out.data = std::move(data);
  return out;
}

// Without --batch the exporter traces the declared shapes and keeps a dynamic first dim
// symbolic; other dynamic dims need concrete sizes, which only --batch gives.
int export_model(const Args& a) {
  auto m = axon::onnx::import_file(a.model);
  axon::ModelState state = m.state;
  if (!a.params.empty()) state = replace_parameters(m.state, a.params);
  axon::onnx::ExportOptions opts;
  opts.producer = "axon export";
  if (a.batch_given) {
    opts.dynamic_batch = false;
    opts.input_templates = make_inputs(m, a.batch, true);
  } else {
    std::map<std::string, const axon::Node*> ins;
    std::set<int64_t> seen;
    find_inputs(m.model, ins, seen);
    for (const auto& [name, node] : ins) {
      const auto& shape = node->input.shape;
      for (size_t i = 1; i < shape.size(); ++i) {
        if (shape[i] == axon::kDynamic) {
          throw nx::Error("input " + name + " has dynamic dim " + std::to_string(i) +
                          " (only a dynamic first dim stays symbolic); give --batch N to export "
                          "with every dynamic dim N");
        }
      }
    }
  }
  axon::onnx::ExportResult r = axon::onnx::export_onnx_model(m.model, state, opts);
  // Written beside the target and renamed over it: a failed write never leaves a truncated
  // model (OUT may be the file just read).
  const std::string tmp = a.output + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out.write(r.bytes.data(), static_cast<std::streamsize>(r.bytes.size())) || !out.flush()) {
      std::remove(tmp.c_str());
      throw nx::Error("cannot write " + tmp);
    }
  }
  if (std::rename(tmp.c_str(), a.output.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw nx::Error("cannot rename " + tmp + " to " + a.output);
  }
  std::cout << "wrote " << a.output << " (opset 17, from opset " << m.opset << "; "
            << state.num_parameters() << " parameters"
            << (a.params.empty() ? "" : " from " + a.params) << "; batch "
            << (r.dynamic_batch  ? std::string("symbolic")
                : a.batch_given  ? std::to_string(a.batch)
                : r.note.empty() ? std::string("as declared")
                                 : std::string("fixed at 1"))
            << ")\n";
  if (!r.note.empty()) std::cout << "note: " << r.note << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  try {
    if (a.command == "summary") return summary(a);
    if (a.command == "run") return run(a);
    if (a.command == "bench") return bench(a);
    if (a.command == "export") return export_model(a);
    if (a.command == "ops") {
      for (const auto& op : axon::onnx::supported_operators()) std::cout << op << "\n";
      return 0;
    }
    usage_error("unknown command " + a.command);
  } catch (const std::exception& e) {
    std::cerr << "axon " << a.command << ": " << e.what() << "\n";
    return 1;
  }
}
