// The reference table of the axon::optim tests: tests/axon/optim/gen_optim_reference.py writes
// data/optim_reference.json (the cases: optimizer, options, reference; the schedules) and
// data/optim_reference.npz (the problem: initial parameters, 100 gradients; every case's
// parameters after each step; every schedule's values). This header reads them and builds the
// optimizers and schedules the rows name, so that one table drives the trajectory, jit and
// checkpoint tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "axon/optim.hpp"
#include "nx/io.hpp"
#include "nx/io/json.hpp"  // private: src/ is on the test include path
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/tree.hpp"

namespace optim_ref {

namespace fs = std::filesystem;
namespace optim = axon::optim;
using Json = nx::io::detail::Json;
using nx::Tensor;
using nx::Tree;

/// tests/axon/optim/data: the committed reference data.
inline fs::path data_dir() {
  return fs::path(__FILE__).parent_path() / "data";
}

/// The manifest and the arrays, read once.
struct Reference {
  Json manifest;
  std::map<std::string, Tensor> arrays;  // npz member name -> tensor
  int64_t steps = 0;
  int64_t schedule_counts = 0;
  std::vector<std::string> leaf_paths;
  std::map<std::string, const Json*> cases, schedules;  // by name, into `manifest`
  std::vector<std::string> case_names, schedule_names;  // in table order
};

inline const Json& member(const Json& object, const std::string& key) {
  for (size_t i = 0; i < object.keys.size(); ++i) {
    if (object.keys[i] == key) return object.items[i];
  }
  throw nx::Error("optim reference manifest: no key '" + key + "'");
}
inline const Json* find_member(const Json& object, const std::string& key) {
  for (size_t i = 0; i < object.keys.size(); ++i) {
    if (object.keys[i] == key) return &object.items[i];
  }
  return nullptr;
}
inline double number(const Json& v) {
  if (v.type != Json::Type::Number) throw nx::Error("optim reference manifest: not a number");
  return std::stod(v.text);
}
inline const std::string& text(const Json& v) {
  if (v.type != Json::Type::String) throw nx::Error("optim reference manifest: not a string");
  return v.text;
}

inline Reference load_reference() {
  Reference r;
  std::ifstream in(data_dir() / "optim_reference.json");
  if (!in)
    throw nx::Error("optim reference: cannot open " +
                    (data_dir() / "optim_reference.json").string());
  std::stringstream ss;
  ss << in.rdbuf();
  r.manifest = nx::io::detail::parse_json(ss.str(), "optim_reference.json");
  Tree npz = nx::io::load_npz(data_dir() / "optim_reference.npz");
  for (size_t i = 0; i < npz.size(); ++i) r.arrays.emplace(npz.keys()[i], npz[i].leaf());
  r.steps = static_cast<int64_t>(number(member(r.manifest, "steps")));
  r.schedule_counts = static_cast<int64_t>(number(member(r.manifest, "schedule_counts")));
  for (const Json& leaf : member(r.manifest, "leaves").items) {
    r.leaf_paths.push_back(text(member(leaf, "path")));
  }
  for (const Json& c : member(r.manifest, "cases").items) {
    r.case_names.push_back(text(member(c, "name")));
    r.cases[r.case_names.back()] = &c;
  }
  for (const Json& s : member(r.manifest, "schedules").items) {
    r.schedule_names.push_back(text(member(s, "name")));
    r.schedules[r.schedule_names.back()] = &s;
  }
  return r;
}

/// The reference data (throws nx::Error when it cannot be read).
inline const Reference& reference() {
  static const Reference r = load_reference();
  return r;
}

/// The case or schedule names for INSTANTIATE_TEST_SUITE_P; empty when the data cannot be read
/// (ReferenceData.Loads then fails with the reason, instead of the binary dying at start-up).
inline std::vector<std::string> case_names() {
  try {
    return reference().case_names;
  } catch (const std::exception&) {
    return {};
  }
}
inline std::vector<std::string> schedule_names() {
  try {
    return reference().schedule_names;
  } catch (const std::exception&) {
    return {};
  }
}

inline const Tensor& array(const std::string& name) {
  auto it = reference().arrays.find(name);
  if (it == reference().arrays.end()) throw nx::Error("optim reference: no array '" + name + "'");
  return it->second;
}

/// Row `i` of an f64 array of shape [n, ...] as a tensor of the remaining shape, converted to
/// dtype.
inline Tensor row(const Tensor& stacked, int64_t i, nx::DType dtype) {
  nx::Shape shape(stacked.shape().begin() + 1, stacked.shape().end());
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const double* p = stacked.data<double>() + i * n;
  Tensor t = nx::from_data(p, shape, nx::f64);
  return dtype == nx::f64 ? t : nx::as_type(t, dtype);
}

/// A tree of the problem's leaves (nested maps by dotted path) from a leaf function.
inline Tree problem_tree(const std::function<Tensor(const std::string& path)>& leaf) {
  std::vector<nx::PathLeaf> leaves;
  for (const std::string& path : reference().leaf_paths) leaves.push_back({path, leaf(path)});
  return nx::tree_from_paths(leaves);
}

/// The initial parameters.
inline Tree initial_params(nx::DType dtype = nx::f64) {
  return problem_tree([&](const std::string& path) {
    Tensor t = array("params." + path);
    return dtype == nx::f64 ? t : nx::as_type(t, dtype);
  });
}
/// The gradient of step `t` (0-based).
inline Tree gradients(int64_t t, nx::DType dtype = nx::f64) {
  return problem_tree(
      [&](const std::string& path) { return row(array("grads." + path), t, dtype); });
}
/// The reference parameters after step `t` (0-based) of case `name`.
inline Tree expected_params(const std::string& name, int64_t t) {
  return problem_tree(
      [&](const std::string& path) { return row(array("case." + name + "." + path), t, nx::f64); });
}

// ---- building optimizers and schedules from the table -------------------------------------------

/// Reads the options of one row into an option struct, and rejects keys the row has that the
/// C++ builder did not read (a typo in the table must not silently test the defaults).
class Options {
 public:
  Options(const Json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (object.type != Json::Type::Object) throw nx::Error(where_ + ": options must be an object");
  }
  void get(const char* key, double& out) {
    if (const Json* v = take(key)) out = number(*v);
  }
  void get(const char* key, int64_t& out) {
    if (const Json* v = take(key)) out = static_cast<int64_t>(number(*v));
  }
  void get(const char* key, uint64_t& out) {
    if (const Json* v = take(key)) out = static_cast<uint64_t>(number(*v));
  }
  void get(const char* key, bool& out) {
    if (const Json* v = take(key)) {
      if (v->type != Json::Type::Bool) throw nx::Error(where_ + ": " + key + " must be a bool");
      out = v->boolean;
    }
  }
  void get(const char* key, std::optional<double>& out) {
    if (const Json* v = take(key)) out = number(*v);
  }
  void get(const char* key, optim::Rate& out);
  void get(const char* key, std::optional<optim::Rate>& out) {
    if (find_member(object_, key) == nullptr) return;
    optim::Rate r = 0.0;
    get(key, r);
    out = r;
  }
  const Json* take(const char* key) {
    const Json* v = find_member(object_, key);
    if (v != nullptr) used_.insert(key);
    return v;
  }
  /// Throws naming any key that no get() read.
  void done() const {
    for (const std::string& k : object_.keys) {
      if (!used_.count(k)) throw nx::Error(where_ + ": unknown option '" + k + "'");
    }
  }

 private:
  const Json& object_;
  std::string where_;
  std::set<std::string> used_;
};

inline optim::Schedule make_schedule(const std::string& name);

inline void Options::get(const char* key, optim::Rate& out) {
  const Json* v = take(key);
  if (v == nullptr) return;
  if (v->type == Json::Type::String) {
    if (v->text.empty() || v->text[0] != '@') throw nx::Error(where_ + ": bad rate " + v->text);
    out = make_schedule(v->text.substr(1));
  } else {
    out = number(*v);
  }
}

/// The schedule row `name` of the table.
inline optim::Schedule make_schedule(const std::string& name) {
  auto it = reference().schedules.find(name);
  if (it == reference().schedules.end()) throw nx::Error("optim reference: no schedule " + name);
  const std::string kind = text(member(*it->second, "kind"));
  Options o(member(*it->second, "options"), "schedule " + name);
  double init = 0;
  o.get("init", init);
  optim::Schedule s;
  if (kind == "constant") {
    s = optim::constant_schedule(init);
  } else if (kind == "linear_decay") {
    optim::LinearDecayOptions x;
    o.get("warmup", x.warmup);
    o.get("steps", x.steps);
    s = optim::linear_decay(init, x);
  } else if (kind == "exponential_decay") {
    optim::ExponentialDecayOptions x;
    o.get("decay_rate", x.decay_rate);
    o.get("transition_steps", x.transition_steps);
    o.get("transition_begin", x.transition_begin);
    o.get("staircase", x.staircase);
    s = optim::exponential_decay(init, x);
  } else if (kind == "cosine_decay") {
    optim::CosineDecayOptions x;
    o.get("decay_steps", x.decay_steps);
    o.get("alpha", x.alpha);
    s = optim::cosine_decay(init, x);
  } else if (kind == "polynomial_decay") {
    optim::PolynomialDecayOptions x;
    o.get("end_value", x.end_value);
    o.get("power", x.power);
    o.get("transition_steps", x.transition_steps);
    o.get("transition_begin", x.transition_begin);
    s = optim::polynomial_decay(init, x);
  } else if (kind == "warmup_cosine_decay") {
    optim::WarmupCosineDecayOptions x;
    o.get("init_value", x.init_value);
    o.get("peak_value", x.peak_value);
    o.get("warmup_steps", x.warmup_steps);
    o.get("decay_steps", x.decay_steps);
    o.get("end_value", x.end_value);
    s = optim::warmup_cosine_decay(x);
  } else if (kind == "join_schedules") {
    std::vector<optim::Schedule> parts;
    std::vector<int64_t> boundaries;
    for (const Json& p : o.take("schedules")->items)
      parts.push_back(make_schedule(text(p).substr(1)));
    for (const Json& b : o.take("boundaries")->items)
      boundaries.push_back(static_cast<int64_t>(number(b)));
    s = optim::join_schedules(std::move(parts), std::move(boundaries));
  } else if (kind == "piecewise_constant") {
    std::vector<int64_t> boundaries;
    std::vector<double> scales;
    for (const Json& b : o.take("boundaries")->items)
      boundaries.push_back(static_cast<int64_t>(number(b)));
    for (const Json& b : o.take("scales")->items) scales.push_back(number(b));
    s = optim::piecewise_constant(init, std::move(boundaries), std::move(scales));
  } else if (kind == "cyclical") {
    optim::CyclicalOptions x;
    o.get("min_value", x.min_value);
    o.get("max_value", x.max_value);
    o.get("step_size", x.step_size);
    o.get("gamma", x.gamma);
    if (const Json* m = o.take("mode")) {
      const std::string& mode = text(*m);
      x.mode = mode == "Triangular2" ? optim::CyclicalOptions::Mode::Triangular2
               : mode == "ExpRange"  ? optim::CyclicalOptions::Mode::ExpRange
                                     : optim::CyclicalOptions::Mode::Triangular;
    }
    s = optim::cyclical(x);
  } else {
    throw nx::Error("optim reference: unknown schedule kind " + kind);
  }
  o.done();
  return s;
}

inline optim::Transformation make_transform(const Json& spec);

/// The optimizer `optimizer` with the row's options.
inline optim::Transformation make_optimizer(const std::string& optimizer, const Json& options) {
  Options o(options, "optimizer " + optimizer);
  optim::Transformation t;
  if (optimizer == "sgd") {
    optim::SgdOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("momentum", x.momentum);
    o.get("nesterov", x.nesterov);
    t = optim::sgd(x);
  } else if (optimizer == "adam") {
    optim::AdamOptimizerOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    t = optim::adam(x);
  } else if (optimizer == "adamw") {
    optim::AdamwOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    o.get("decay", x.decay);
    t = optim::adamw(x);
  } else if (optimizer == "adagrad") {
    optim::AdagradOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("initial_accumulator_value", x.initial_accumulator_value);
    o.get("eps", x.eps);
    t = optim::adagrad(x);
  } else if (optimizer == "rmsprop") {
    optim::RmspropOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("centered", x.centered);
    o.get("initial_scale", x.initial_scale);
    o.get("decay", x.decay);
    o.get("eps", x.eps);
    o.get("momentum", x.momentum);
    o.get("nesterov", x.nesterov);
    t = optim::rmsprop(x);
  } else if (optimizer == "radam") {
    optim::RadamOptimizerOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    o.get("threshold", x.threshold);
    t = optim::radam(x);
  } else if (optimizer == "nadam") {
    optim::NadamOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("momentum_decay", x.momentum_decay);
    t = optim::nadam(x);
  } else if (optimizer == "adamax") {
    optim::AdamaxOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    t = optim::adamax(x);
  } else if (optimizer == "lion") {
    optim::LionOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("decay", x.decay);
    t = optim::lion(x);
  } else if (optimizer == "lamb") {
    optim::LambOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    o.get("decay", x.decay);
    o.get("min_norm", x.min_norm);
    t = optim::lamb(x);
  } else if (optimizer == "yogi") {
    optim::YogiOptimizerOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("initial_accumulator_value", x.initial_accumulator_value);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    t = optim::yogi(x);
  } else if (optimizer == "adabelief") {
    optim::AdabeliefOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    t = optim::adabelief(x);
  } else if (optimizer == "adafactor") {
    optim::AdafactorOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("decay_rate", x.decay_rate);
    o.get("eps1", x.eps1);
    o.get("eps2", x.eps2);
    o.get("clipping_threshold", x.clipping_threshold);
    o.get("b1", x.b1);
    o.get("multiply_by_parameter_scale", x.multiply_by_parameter_scale);
    o.get("min_dim_size_to_factor", x.min_dim_size_to_factor);
    o.get("decay", x.decay);
    t = optim::adafactor(x);
  } else if (optimizer == "noisy_sgd") {
    optim::NoisySgdOptions x;
    o.get("learning_rate", x.learning_rate);
    o.get("eta", x.eta);
    o.get("gamma", x.gamma);
    o.get("seed", x.seed);
    t = optim::noisy_sgd(x);
  } else if (optimizer == "chain") {
    std::vector<optim::Transformation> parts;
    for (const Json& spec : o.take("transforms")->items) parts.push_back(make_transform(spec));
    t = optim::chain(std::move(parts));
  } else {
    throw nx::Error("optim reference: unknown optimizer " + optimizer);
  }
  o.done();
  return t;
}

/// One stage of a "chain" row: {"kind": name, options...}.
inline optim::Transformation make_transform(const Json& spec) {
  Options o(spec, "transform");
  const std::string kind = text(*o.take("kind"));
  optim::Transformation t;
  if (kind == "clip_by_global_norm") {
    double max_norm = 1.0;
    o.get("max_norm", max_norm);
    t = optim::clip_by_global_norm(max_norm);
  } else if (kind == "centralize") {
    t = optim::centralize();
  } else if (kind == "clip") {
    double delta = 2.0;
    o.get("delta", delta);
    t = optim::clip(delta);
  } else if (kind == "scale") {
    double step = 1.0;
    o.get("step", step);
    t = optim::scale(step);
  } else if (kind == "add_decayed_weights") {
    optim::DecayOptions x;
    o.get("decay", x.decay);
    t = optim::add_decayed_weights(x);
  } else if (kind == "trace") {
    optim::TraceOptions x;
    o.get("decay", x.decay);
    o.get("nesterov", x.nesterov);
    t = optim::trace(x);
  } else if (kind == "scale_by_adam") {
    optim::AdamOptions x;
    o.get("b1", x.b1);
    o.get("b2", x.b2);
    o.get("eps", x.eps);
    o.get("eps_root", x.eps_root);
    t = optim::scale_by_adam(x);
  } else if (kind == "scale_by_state") {
    double step = 1.0;
    o.get("step", step);
    t = optim::scale_by_state(step);
  } else if (kind == "scale_by_schedule") {
    t = optim::scale_by_schedule(make_schedule(text(*o.take("schedule")).substr(1)));
  } else if (kind == "scale_by_trust_ratio") {
    optim::TrustRatioOptions x;
    o.get("min_norm", x.min_norm);
    o.get("trust_coefficient", x.trust_coefficient);
    o.get("eps", x.eps);
    t = optim::scale_by_trust_ratio(x);
  } else if (kind == "masked") {
    const std::string prefix = text(*o.take("prefix"));
    std::vector<optim::Transformation> inner;
    for (const Json& s : o.take("inner")->items) inner.push_back(make_transform(s));
    t = optim::masked(optim::chain(std::move(inner)),
                      [prefix](const std::string& path) { return path.rfind(prefix, 0) == 0; });
  } else if (kind == "accumulate_gradients") {
    int64_t steps = 1;
    o.get("steps", steps);
    std::vector<optim::Transformation> inner;
    for (const Json& s : o.take("inner")->items) inner.push_back(make_transform(s));
    t = optim::accumulate_gradients(optim::chain(std::move(inner)), steps);
  } else {
    throw nx::Error("optim reference: unknown transform " + kind);
  }
  o.done();
  return t;
}

/// The optimizer of case `name`.
inline optim::Transformation make_case(const std::string& name) {
  const Json& c = *reference().cases.at(name);
  return make_optimizer(text(member(c, "optimizer")), member(c, "options"));
}

/// The row's reference: "torch.optim.Adam(lr=0.01, ...)", "numpy" or "statistical".
inline const std::string& case_reference(const std::string& name) {
  return text(member(*reference().cases.at(name), "reference"));
}

/// "torch.optim.Adam(lr=0.01, ...)" or "numpy", with the row's note.
inline std::string describe_case(const std::string& name) {
  const Json& c = *reference().cases.at(name);
  std::string s = text(member(c, "optimizer")) + " vs " + text(member(c, "reference"));
  const std::string& note = text(member(c, "note"));
  if (!note.empty()) s += " (" + note + ")";
  return s;
}

/// The hyperparameter changes of a row: {step, name, value} applied before that step.
struct Event {
  int64_t step;
  std::string name;
  double value;
};
inline std::vector<Event> case_events(const std::string& name) {
  std::vector<Event> out;
  const Json* events = find_member(*reference().cases.at(name), "events");
  if (events == nullptr) return out;
  for (const Json& e : events->items) {
    out.push_back({static_cast<int64_t>(number(member(e, "step"))), text(member(e, "name")),
                   number(member(e, "value"))});
  }
  return out;
}

// ---- stepping and comparing
// -----------------------------------------------------------------------

/// One optimizer step: the new parameters and state.
struct Step {
  Tree params;
  Tree state;
};
inline Step step(const optim::Transformation& opt, const Tree& params, const Tree& state,
                 const Tree& grads) {
  optim::UpdateResult r = opt.update(grads, state, params);
  return {optim::apply_updates(params, r.updates), r.state};
}

/// The largest relative difference |got - want| / max(|want|, floor) over two trees of one
/// structure, and where it is.
struct Diff {
  double rel = 0;
  std::string where;
};
inline Diff max_rel_diff(const Tree& got, const Tree& want, double floor = 1e-6) {
  Diff d;
  auto g = nx::tree_flatten_with_paths(got);
  auto w = nx::tree_flatten_with_paths(want);
  if (g.size() != w.size())
    return {INFINITY, "structure: " + got.to_string() + " vs " + want.to_string()};
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i].tensor.shape() != w[i].tensor.shape()) {
      return {INFINITY, g[i].path + ": shape " + nx::type_string(g[i].tensor.type()) + " vs " +
                            nx::type_string(w[i].tensor.type())};
    }
    std::vector<double> a = g[i].tensor.to_vector<double>(), b = w[i].tensor.to_vector<double>();
    for (size_t k = 0; k < a.size(); ++k) {
      double r = std::abs(a[k] - b[k]) / std::max(std::abs(b[k]), floor);
      if (!(r <= d.rel)) {
        d.rel = std::isnan(r) ? INFINITY : r;
        std::ostringstream os;
        os.precision(17);
        os << g[i].path << "[" << k << "]: got " << a[k] << ", want " << b[k];
        d.where = os.str();
      }
    }
  }
  return d;
}

/// True when both trees have the same structure, leaf types and bytes.
inline ::testing::AssertionResult bitwise_equal(const Tree& a, const Tree& b) {
  if (!nx::same_structure(a, b)) {
    return ::testing::AssertionFailure() << "structure " << a << " vs " << b;
  }
  auto x = nx::tree_flatten_with_paths(a);
  auto y = nx::tree_flatten_with_paths(b);
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i].tensor.type() != y[i].tensor.type()) {
      return ::testing::AssertionFailure()
             << x[i].path << ": " << nx::type_string(x[i].tensor.type()) << " vs "
             << nx::type_string(y[i].tensor.type());
    }
    if (std::memcmp(x[i].tensor.raw_data(), y[i].tensor.raw_data(),
                    static_cast<size_t>(x[i].tensor.byte_size())) != 0) {
      return ::testing::AssertionFailure()
             << x[i].path << ": values differ: " << x[i].tensor << " vs " << y[i].tensor;
    }
  }
  return ::testing::AssertionSuccess();
}

/// gtest parameter names: the case names are [a-z0-9_] already.
inline std::string param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace optim_ref
