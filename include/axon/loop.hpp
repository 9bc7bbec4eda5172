// axon::loop: training and evaluation as reducers over data (Axon.Loop, in the style of PyTorch
// Ignite). A loop has a step (a pure, traceable function of a batch and the step state that
// returns the next step state), metrics computed from the step state, and handlers that run on
// events. run() compiles the step and the metrics into one nx::jit executable (the step state
// is donated, so parameters and optimizer state are updated in place) and reduces the data.
//
//   auto loop = axon::loop::trainer(model, "categorical_cross_entropy", optim::adam({}))
//                   .metric("accuracy")
//                   .handle_event(axon::loop::Event::EpochCompleted, print_epoch);
//   axon::loop::State s = loop.run(train_loader, {}, {.epochs = 5});
//   axon::ModelState trained = s.model_state();
//
//   auto eval = axon::loop::evaluator(model).metric("accuracy");
//   auto result = eval.run(test_loader, trained);      // result.metrics["accuracy"]
//
// Events fire in this order: Started; per epoch EpochStarted, then per batch IterationStarted
// and IterationCompleted, then EpochCompleted (or EpochHalted when a handler halted the
// epoch); finally Completed, or Halted when a handler halted the loop. Handlers run in the
// order they were attached and return Continue, HaltEpoch or HaltLoop.
//
// Where this departs from Axon (docs/axon-loop.md): metrics are running averages over the
// current epoch, and the logged loss is the current batch's, not one batch late; Halted and
// Completed fire; metrics of every epoch are kept in State::history.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/data/source.hpp"
#include "axon/fn/losses.hpp"
#include "axon/fn/metrics.hpp"
#include "axon/model.hpp"
#include "axon/model_state.hpp"
#include "axon/optim.hpp"
#include "nx/defn.hpp"
#include "nx/tree.hpp"

namespace axon::loop {

/// The events of a run.
enum class Event {
  Started,
  EpochStarted,
  IterationStarted,
  IterationCompleted,
  EpochCompleted,
  EpochHalted,
  Halted,
  Completed,
};
/// "started", "epoch_started", ... (Axon's names).
const char* event_name(Event e);

/// What a handler asks for.
enum class Control { Continue, HaltEpoch, HaltLoop };

/// How a run ended.
enum class Status { Running, Completed, Halted };

/// How often each event has fired: in the whole run, and in the current epoch.
struct EventCount {
  int64_t total = 0;
  int64_t epoch = 0;
};

/// The state of a run (Axon.Loop.State).
struct State {
  nx::Tree step_state;          ///< the step's state (for a trainer: model and optimizer state)
  int64_t epoch = 0;            ///< current epoch (0-based)
  int64_t max_epoch = 1;        ///< the run stops after epoch max_epoch - 1
  int64_t iteration = 0;        ///< batches done in the current epoch
  int64_t total_iteration = 0;  ///< batches done in the whole run (all epochs)
  int64_t max_iteration = -1;   ///< batches per epoch (-1: the whole data)
  /// Batches in an epoch when known (from max_iteration or the data's size), for ETAs.
  std::optional<int64_t> epoch_batches;
  /// Running values of the metrics in the current epoch (after an epoch: that epoch's).
  std::map<std::string, double> metrics;
  /// Metrics of every finished epoch (and of validation, "validation_<name>"), by epoch.
  std::map<int64_t, std::map<std::string, double>> history;
  std::map<int64_t, double> times;  ///< seconds per epoch
  /// Values handlers keep between calls (monitor's best value, ...), by handler name.
  std::map<std::string, std::map<std::string, double>> handler_metadata;
  Status status = Status::Running;
  std::map<Event, EventCount> event_counts;
  /// For trainers and evaluators: which step_state["model_state"] entries are state and frozen
  /// (ModelState's masks; the data lives in step_state).
  ModelState model_masks;

  /// The trained model: step_state["model_state"] with model_masks (trainer and evaluator
  /// loops); throws nx::Error for a loop without one.
  ModelState model_state() const;
  /// `name`'s value in the current epoch's metrics; throws nx::Error naming the known ones.
  double metric(const std::string& name) const;
};

/// A handler: may change the state (its handler_metadata, the step state), returns what next.
using Handler = std::function<Control(State& state)>;

/// When a handler runs (Axon's filters). The default runs every time. `every`, `before`,
/// `after` and `once` count the event's occurrences (1-based) in the whole run, or in the
/// current epoch with per_epoch; set several and all must hold.
struct Filter {
  std::optional<int64_t> every{};   ///< the 1st, (1+n)th, (1+2n)th ... occurrence
  std::optional<int64_t> before{};  ///< occurrences < before
  std::optional<int64_t> after{};   ///< occurrences > after
  std::optional<int64_t> once{};    ///< only occurrence `once`
  bool per_epoch = false;           ///< count within the current epoch
  std::function<bool(const State&, Event)> predicate{};  ///< and this holds

  /// Every time.
  static Filter always() { return {}; }
  /// Only the first occurrence.
  static Filter first() { return {.once = 1}; }
};

/// How a metric's per-batch values make its value for the epoch.
enum class Accumulate {
  RunningAverage,  ///< mean of the batch values (Axon's :running_average)
  RunningSum,      ///< sum of the batch values
};

/// A metric of the step state (traced with the step): e.g. accuracy of y_true and y_pred.
using StepMetric = std::function<nx::Tensor(const nx::Tree& step_state)>;

/// The step: (batch, step state, model masks) -> next step state. Must be traceable (nx ops
/// only): it is compiled once per run signature. `masks` is State::model_masks (which entries of
/// step_state["model_state"] are state or frozen), constant during a run; generic loops ignore
/// it. The entries "y_true", "y_pred" and "loss" are outputs of a step, never its inputs: run()
/// removes them before each call, so the compiled signature stays the same from the first call.
using StepFn = std::function<nx::Tree(const data::Batch& batch, const nx::Tree& step_state,
                                      const ModelState& masks)>;
/// Makes the first step state from the first batch and the run's initial model state (which
/// may be empty); may set state.model_masks.
using InitFn =
    std::function<nx::Tree(const data::Batch& first, const ModelState& init, State& state)>;

/// Options of run.
struct RunOptions {
  int64_t epochs = 1;
  int64_t iterations = -1;  ///< batches per epoch (-1: until the data ends)
  bool jit_compile = true;  ///< compile the step (false: run it eagerly, for debugging)
  /// Shape changes of the batches are an error instead of a recompilation (the last, smaller
  /// batch of an epoch is still allowed unless the loader drops it).
  bool strict = false;
};

/// A training or evaluation loop. Loops are values: the builder methods return a new loop.
class Loop {
 public:
  /// A loop of `step`; `init` makes the first step state (default: the initial model state's
  /// data).
  explicit Loop(StepFn step, InitFn init = {});

  /// Adds a metric computed from the step state each batch and accumulated over the epoch. A
  /// metric of the same name replaces the earlier one.
  Loop metric(const std::string& name, StepMetric fn,
              Accumulate accumulate = Accumulate::RunningAverage) const;
  /// Adds one of axon::fn::metrics by name ("accuracy", "precision", ...) on the step state's
  /// y_true and y_pred (trainer and evaluator loops), under `name` (default: the metric's name).
  Loop metric(const std::string& metric_name, const std::string& name = "",
              Accumulate accumulate = Accumulate::RunningAverage) const;
  /// Runs `handler` on `event` when `filter` holds.
  Loop handle_event(Event event, Handler handler, Filter filter = {}) const;
  /// Runs `handler` on each of `events`.
  Loop handle_event(const std::vector<Event>& events, Handler handler, Filter filter = {}) const;
  /// Continues from a saved state: its step state replaces init, and the run goes on for the
  /// requested epochs after the state's epoch (Axon.Loop.from_state).
  Loop from_state(State state) const;

  /// Reduces `data` with the step, epoch by epoch, firing events.
  State run(data::BatchSource& data, const ModelState& init = {},
            const RunOptions& opts = {}) const;

  /// Named metrics, in the order they were attached.
  using Metrics = std::vector<std::pair<std::string, std::pair<StepMetric, Accumulate>>>;
  /// The metrics attached so far (validate() evaluates them on other data).
  const Metrics& metrics() const { return metrics_; }
  /// The step and init functions.
  const StepFn& step() const { return step_; }
  const InitFn& init() const { return init_; }

 private:
  StepFn step_;
  InitFn init_;
  Metrics metrics_;
  std::vector<std::tuple<Event, Handler, Filter>> handlers_;
  std::optional<State> resume_;
  /// The compiled step + metrics, shared by copies with the same step and metrics, so that
  /// running a loop again (validation every epoch) does not recompile.
  std::shared_ptr<nx::JitFunction> compiled_;
  void recompile();
  static nx::Tree step_and_metrics(const StepFn& step, const Metrics& metrics,
                                   const nx::Tree& carry, const nx::Tree& inputs,
                                   const nx::Tree& targets, const ModelState& masks);
};

// ---- trainers and evaluators -------------------------------------------------------------------

/// A loss: one of fn::losses by name (reduced with Mean), or any function.
struct Loss {
  Loss(const char* name);         // NOLINT(google-explicit-constructor)
  Loss(const std::string& name);  // NOLINT(google-explicit-constructor)
  Loss(fn::losses::Loss fn);      // NOLINT(google-explicit-constructor)
  /// One loss per output of a multi-output model (list outputs, in order), with weights:
  /// sum_i weight_i * loss_i(y_true[i], y_pred[i]).
  Loss(std::vector<std::pair<Loss, double>> per_output);
  /// The loss of a batch.
  nx::Tensor operator()(const nx::Tree& y_true, const nx::Tree& y_pred) const;

 private:
  std::function<nx::Tensor(const nx::Tree&, const nx::Tree&)> fn_;
};

/// An optimizer: one of axon::optim's by name (default options), or any transformation.
struct Optimizer {
  Optimizer(const char* name);         // NOLINT(google-explicit-constructor)
  Optimizer(const std::string& name);  // NOLINT(google-explicit-constructor)
  Optimizer(optim::Transformation t);  // NOLINT(google-explicit-constructor)
  optim::Transformation transformation;
};

/// Options of train_step and trainer.
struct TrainOptions {
  uint64_t seed = 0;  ///< BuildOptions::seed: parameter initialisation and dropout keys
  /// Apply the optimizer every n batches, on the mean of their gradients (Axon #370).
  int64_t gradient_accumulation_steps = 1;
  /// Loss scaling for mixed precision (e.g. optim::dynamic_loss_scale()): the loss is scaled
  /// before differentiation, the gradients unscaled, and the step skipped when they overflow.
  std::optional<optim::LossScale> loss_scale = std::nullopt;
  bool log = true;        ///< trainer: attach the progress log (axon/loop/handlers.hpp)
  int64_t log_every = 1;  ///< trainer: refresh the progress line every n batches
};

/// The step of a trainer: step state {"model_state", "optimizer_state", "loss_scale_state",
/// "loss", "y_true", "y_pred"}. Compiled by run() together with the metrics.
std::pair<InitFn, StepFn> train_step(const Model& model, Loss loss, Optimizer optimizer,
                                     const TrainOptions& opts = {});
/// The step of an evaluator: step state {"model_state", "y_true", "y_pred"}; inference mode.
std::pair<InitFn, StepFn> eval_step(const Model& model);

/// A training loop: train_step with the metric "loss" (the running mean of the batch losses)
/// and, when opts.log, the progress log.
Loop trainer(const Model& model, Loss loss, Optimizer optimizer, const TrainOptions& opts = {});
/// An evaluation loop: eval_step; run it with the trained ModelState; read State::metrics.
Loop evaluator(const Model& model, bool log = false);

}  // namespace axon::loop
