// build: the init and predict functions of a model, compiled and cached through nx::jit.
#include <sstream>

#include "axon/compiler.hpp"
#include "axon/model/program.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/random.hpp"

namespace axon {

namespace {

// Templates become zeros: the forward pass traced during init only gives shapes and is removed
// from the compiled graph, but a compiled call still needs a buffer per argument.
nx::Tree concrete(const nx::Tree& t) {
  return nx::tree_map(
      t, [](const Tensor& x) { return x.is_template() ? nx::zeros(x.shape(), x.dtype()) : x; });
}

std::string frozen_key(const std::set<ParamPath>& frozen) {
  std::string s;
  for (const auto& p : frozen) {
    for (const auto& part : p) s += part + '\x1e';
    s += '\x1f';
  }
  return s;
}

}  // namespace

std::pair<InitFn, PredictFn> build(const Model& model, BuildOptions opts) {
  auto program = detail::make_program(model);
  InitFn init_fn;
  init_fn.program_ = program;
  init_fn.opts_ = opts;
  const Mode mode = opts.mode;
  init_fn.jit_ = std::make_shared<nx::JitFunction>(
      [program](const Tree& args, const void*) -> Tree {
        auto bound = detail::bind_inputs(*program, args[0]);
        detail::EvalOptions eo;
        eo.initialize = true;
        eo.root_key = args[2].leaf();
        return detail::evaluate(*program, bound, args[1], eo).params;
      },
      opts.jit);
  PredictFn predict_fn;
  predict_fn.program_ = program;
  predict_fn.opts_ = opts;
  predict_fn.jit_ = std::make_shared<nx::JitFunction>(
      [program, mode](const Tree& args, const void* ctx) -> Tree {
        std::map<std::string, Tree> bound;
        for (size_t i = 0; i < args[1].size(); ++i) bound[args[1].keys()[i]] = args[1][i];
        detail::EvalOptions eo;
        eo.mode = mode;
        eo.frozen = static_cast<const std::set<ParamPath>*>(ctx);
        detail::EvalResult r = detail::evaluate(*program, bound, args[0], eo);
        if (!r.present) {
          throw nx::Error(
              "axon::predict: the model's output is None (an optional input it "
              "depends on is missing)");
        }
        if (mode == Mode::Train) return Tree{{"prediction", r.output}, {"state", r.state}};
        return r.output;
      },
      opts.jit);
  return {std::move(init_fn), std::move(predict_fn)};
}

ModelState InitFn::operator()(const nx::Tree& templates, const ModelState& initial) const {
  Tree args = Tree::list(
      {concrete(templates), initial.data, Tree(nx::random::key(static_cast<int64_t>(opts_.seed)))});
  ModelState out;
  out.data = (*jit_)(std::move(args));
  out.state = detail::state_paths(*program_);
  out.frozen = initial.frozen;
  return out;
}

nx::JitStats InitFn::stats() const {
  return jit_->stats();
}

nx::Tree PredictFn::operator()(const ModelState& state, const nx::Tree& inputs) const {
  // Inputs are bound (and checked) here, so that a single tensor and a map by name share one
  // executable.
  Tree::Map bound;
  for (auto& [name, value] : detail::bind_inputs(*program_, inputs))
    bound.emplace_back(name, value);
  return (*jit_)(Tree::list({state.data, Tree(std::move(bound))}), frozen_key(state.frozen),
                 &state.frozen);
}

nx::JitStats PredictFn::stats() const {
  return jit_->stats();
}

ModelState init(const Model& model, const nx::Tree& templates, const ModelState& initial,
                BuildOptions opts) {
  return build(model, std::move(opts)).first(templates, initial);
}

nx::Tree predict(const Model& model, const ModelState& state, const nx::Tree& inputs,
                 BuildOptions opts) {
  return build(model, std::move(opts)).second(state, inputs);
}

}  // namespace axon
