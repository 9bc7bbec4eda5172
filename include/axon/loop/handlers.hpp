// The built-in handlers of axon::loop: progress log, validation, checkpoints, early stopping,
// learning-rate reduction on plateau, monitors, NaN termination and the metrics history with its
// plot. Each takes a loop and returns a new loop with the handler attached.
//
//   auto loop = axon::loop::trainer(model, "categorical_cross_entropy", "adam");
//   loop = axon::loop::validate(loop, model, val_loader);
//   loop = axon::loop::checkpoint(loop, {.path = "ckpt", .keep_last = 3});
//   loop = axon::loop::early_stop(loop, "validation_loss", {.patience = 5});
//   loop = axon::loop::reduce_lr_on_plateau(loop, "validation_loss", {.factor = 0.5});
//   loop = axon::loop::metrics_history(loop, {.csv = "history.csv", .plot = "curves.svg"});
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "axon/loop.hpp"

namespace axon::loop {

// Options structs put `filter` last: GCC 12 at -O3 warns (maybe-uninitialized, an error under
// -Werror) about a designated-initializer temporary whose std::function member precedes a
// member that may throw while being built (a path or a string).

/// Options of log_progress.
struct LogOptions {
  int64_t every = 1;            ///< refresh every n batches
  std::ostream* out = nullptr;  ///< default std::cerr
  /// Live bar (\r updates) when `out` is a terminal; plain lines otherwise. Force with this.
  std::optional<bool> live = std::nullopt;
};
/// A progress line per epoch: "Epoch 3/10 [=====>    ] 230/469 1.2 ms/batch ETA 0:00:03
/// loss: 0.3412 accuracy: 0.8812", refreshed in place on a terminal, and a final line per
/// epoch with its time and metrics (plain lines when the output is not a terminal).
Loop log_progress(const Loop& loop, const LogOptions& opts = {});

// ---- validation ---------------------------------------------------------------------------------

/// Options of validate.
struct ValidateOptions {
  Event event = Event::EpochCompleted;
  /// The loss to report as "validation_loss" when the loop has a "loss" metric (an evaluator's
  /// step state has no loss of its own). Unset: the "loss" metric is not validated.
  std::optional<Loss> loss = std::nullopt;
  Filter filter = {};  ///< when the handler runs (last: see the note above)
};
/// Evaluates the model of the current state (State::model_state()) on `val_data` with the
/// metrics attached to `loop` before this call, and merges them into state.metrics and
/// state.history[epoch] as "validation_<name>". The evaluator is built and compiled once, here:
/// later epochs reuse its executable. `val_data` is read by reference: it must outlive the loop.
Loop validate(const Loop& loop, const Model& model, data::BatchSource& val_data,
              const ValidateOptions& opts = {});

// ---- monitors -----------------------------------------------------------------------------------

/// Whether smaller or larger values of a monitored metric are better.
enum class MonitorMode { Min, Max };

/// Options of monitor.
struct MonitorOptions {
  Event event = Event::EpochCompleted;
  MonitorMode mode = MonitorMode::Min;
  int64_t patience = 3;  ///< events without improvement tolerated; the next one calls fn
  double min_delta = 0;  ///< an improvement must beat the best by more than this
  /// Custom improvement test (best, current) -> improved; replaces mode and min_delta.
  std::function<bool(double best, double current)> improved = {};
  Filter filter = {};  ///< when the handler runs (last: see the note above)
};
/// Tracks metric `metric` in state.handler_metadata[name] = {"best", "since_last_improvement"}.
/// Each event: an improvement (or the first finite value) records the best and resets the count;
/// otherwise the count grows, and once it exceeds `patience` fn runs and the count resets.
/// fn's Control is the handler's. Throws nx::Error (at the event) when the metric is absent.
Loop monitor(const Loop& loop, const std::string& metric, Handler fn, const std::string& name,
             const MonitorOptions& opts = {});

/// Options of early_stop (monitor options; name "early_stop").
using EarlyStopOptions = MonitorOptions;
/// Halts the loop when `metric` has not improved for more than `patience` events.
Loop early_stop(const Loop& loop, const std::string& metric, const EarlyStopOptions& opts = {});

/// Options of reduce_lr_on_plateau.
struct ReduceLrOptions {
  Event event = Event::EpochCompleted;
  MonitorMode mode = MonitorMode::Min;
  int64_t patience = 3;
  double min_delta = 0;
  double factor = 0.1;        ///< the learning-rate multiplier applied on a plateau, in (0, 1)
  double min_lr_scale = 0.0;  ///< lr_scale never goes below this
  Filter filter = {};         ///< when the handler runs (last: see the note above)
};
/// Multiplies the optimizer's "lr_scale" hyperparameter(s) (in step_state["optimizer_state"]) by
/// `factor` when `metric` has not improved for more than `patience` events: works with every
/// optimizer built with scale_by_learning_rate (all of axon::optim's, with constant rates or
/// schedules) without recompiling. The current scale is in handler_metadata
/// ["reduce_lr_on_plateau"]["lr_scale"]. Throws nx::Error at Started when the step state has no
/// optimizer_state with an lr_scale.
Loop reduce_lr_on_plateau(const Loop& loop, const std::string& metric,
                          const ReduceLrOptions& opts = {});

/// Halts the loop after a batch whose loss (step_state["loss"], or the "loss" metric) is NaN or
/// infinite. Throws nx::Error after the first batch when the loop has neither.
Loop terminate_on_nan(const Loop& loop);

// ---- checkpoints --------------------------------------------------------------------------------

/// Options of checkpoint.
struct CheckpointOptions {
  Event event = Event::EpochCompleted;
  std::filesystem::path path = "checkpoint";  ///< the directory (created when missing)
  /// The file name of a state; default "checkpoint_<epoch>_<iteration>.ckpt" (Axon's).
  std::function<std::string(const State&)> file_pattern = {};
  /// Keep only the newest n files this handler wrote (0: keep all, unless criteria is set).
  int64_t keep_last = 0;
  /// Keep-best: the metric that ranks checkpoints. Then only the best keep_best files and the
  /// newest keep_last are kept, and a state that would not be kept is not written.
  std::optional<std::string> criteria = std::nullopt;
  MonitorMode mode = MonitorMode::Min;  ///< for criteria
  int64_t keep_best = 1;                ///< for criteria
  bool write_latest = true;             ///< also write "<path>/latest" naming the newest file
  Filter filter = {};                   ///< when the handler runs (last: see the note above)
};
/// Saves the state (save_state, atomically: a crash during a save never damages an earlier
/// file) on `event`. Attach it last, so that the saved state includes what the other handlers
/// of that event did (a run resumed from it then ends as the uninterrupted one).
Loop checkpoint(const Loop& loop, const CheckpointOptions& opts = {});
/// The file "<dir>/latest" names, when it exists and names an existing file.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir);

// ---- metrics history ----------------------------------------------------------------------------

/// Options of metrics_history. Each set path is rewritten atomically after every event.
struct HistoryOptions {
  std::filesystem::path csv = {};    ///< CSV: header "epoch,<metrics...>,time_s", one row each
  std::filesystem::path jsonl = {};  ///< JSON Lines: {"epoch": 0, "loss": 0.31, ...} per row
  /// The curves: ".svg", or ".html" (the SVG in a self-contained page that opens offline).
  std::filesystem::path plot = {};
  Event event = Event::EpochCompleted;
  /// Record a row per batch (at IterationCompleted, running metrics) instead of per epoch;
  /// columns "epoch,iteration,total_iteration,<metrics...>" and the x axis is the batch.
  bool per_iteration = false;
  Filter filter = {};  ///< when the handler runs (last: see the note above)
};
/// Writes the metrics history as it grows (per epoch from State::history, so a resumed run
/// keeps the earlier epochs; per batch from what this handler saw), and a plot with one chart
/// per metric, training and "validation_" curves overlaid.
Loop metrics_history(const Loop& loop, const HistoryOptions& opts);

/// One plotted series: a name and its (x, y) points (non-finite y values break the line).
struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
/// One chart: a title, an x-axis label and its series.
struct Chart {
  std::string title;
  std::string x_label;
  std::vector<Series> series;
};
/// Charts as a standalone SVG document: a grid of charts with axes, ticks, labels and legends.
std::string plot_svg(const std::vector<Chart>& charts);
/// The SVG in a self-contained HTML page.
std::string plot_html(const std::vector<Chart>& charts, const std::string& title = "Training");
/// The charts of a history (epoch -> metric -> value): one per metric, with its "validation_"
/// counterpart overlaid.
std::vector<Chart> history_charts(const std::map<int64_t, std::map<std::string, double>>& history,
                                  const std::string& x_label = "epoch");

}  // namespace axon::loop
