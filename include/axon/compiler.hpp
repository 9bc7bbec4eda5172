// Building a model: initialisation and prediction are two compilations of the graph, both
// traced and cached through nx::jit (one executable per input signature).
//
//   auto [init_fn, predict_fn] = axon::build(model, {.mode = axon::Mode::Train});
//   axon::ModelState s = init_fn(nx::make_template({32, 784}, nx::f32));
//   nx::Tree r = predict_fn(s, batch);        // train mode: {prediction, state}
//   s = s.update(s.trainable_parameters(), r["state"]);
//
//   // Fine-tuning: start from given parameters; only the missing ones are initialised.
//   axon::ModelState tuned = init_fn(templates, pretrained);
//
// Inputs are a map from input name to tensor (templates for init: nx::make_template), or one
// tensor when the model has one input.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "axon/model.hpp"
#include "axon/model_state.hpp"
#include "nx/defn.hpp"

namespace axon {

/// Options of build.
struct BuildOptions {
  Mode mode = Mode::Inference;  ///< Train: predict returns {prediction, state}
  uint64_t seed = 0;            ///< root of every parameter's key (fixed, so init is reproducible)
  nx::JitOptions jit = {};      ///< passed to nx::jit (strict, dump_dir, ...)
};

namespace detail {
struct Program;
}

/// Creates a model's parameters and state (compiled; cached per input signature).
class InitFn {
 public:
  /// Parameters for inputs shaped like `templates`; those present in `initial` are taken from
  /// it (checked against the shapes the layers need) and the others initialised.
  ModelState operator()(const nx::Tree& templates, const ModelState& initial = {}) const;
  /// The jit statistics of the initialisation.
  nx::JitStats stats() const;

 private:
  friend std::pair<InitFn, class PredictFn> build(const Model&, BuildOptions);
  std::shared_ptr<const detail::Program> program_;
  std::shared_ptr<nx::JitFunction> jit_;
  BuildOptions opts_;
};

/// Runs a model (compiled; cached per input signature). Called while an enclosing nx::jit or
/// nx::grad traces (a training step), it is inlined into that trace.
class PredictFn {
 public:
  /// The model's output for `inputs`; in train mode a map {prediction, state}.
  nx::Tree operator()(const ModelState& state, const nx::Tree& inputs) const;
  /// The jit statistics of prediction.
  nx::JitStats stats() const;

 private:
  friend std::pair<InitFn, PredictFn> build(const Model&, BuildOptions);
  std::shared_ptr<const detail::Program> program_;
  std::shared_ptr<nx::JitFunction> jit_;
  BuildOptions opts_;
};

/// {init_fn, predict_fn} for `model`.
std::pair<InitFn, PredictFn> build(const Model& model, BuildOptions opts = {});

/// build + init in one call.
ModelState init(const Model& model, const nx::Tree& templates, const ModelState& initial = {},
                BuildOptions opts = {});
/// build + predict in one call (compiles every time: keep predict_fn for repeated calls).
nx::Tree predict(const Model& model, const ModelState& state, const nx::Tree& inputs,
                 BuildOptions opts = {});

}  // namespace axon
