// Loop: events, filters, metrics and the run that reduces the data with the compiled step.
#include <algorithm>
#include <chrono>
#include <utility>

#include "axon/loop.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::loop {

namespace {

// Step-state entries that are outputs of a step, never its inputs: removing them before each
// call keeps the compiled signature the same from the first call on.
bool is_step_output(const std::string& key) {
  return key == "y_true" || key == "y_pred" || key == "loss";
}

nx::Tree carried(const nx::Tree& step_state) {
  if (!step_state.is_map()) return step_state;
  nx::Tree::Map kept;
  for (size_t i = 0; i < step_state.size(); ++i) {
    if (!is_step_output(step_state.keys()[i]))
      kept.emplace_back(step_state.keys()[i], step_state[i]);
  }
  return nx::Tree(std::move(kept));
}

bool passes(const Filter& f, const EventCount& c, const State& s, Event e) {
  const int64_t n = f.per_epoch ? c.epoch : c.total;
  if (f.every && (*f.every <= 0 || (n - 1) % *f.every != 0)) return false;
  if (f.before && !(n < *f.before)) return false;
  if (f.after && !(n > *f.after)) return false;
  if (f.once && n != *f.once) return false;
  if (f.predicate && !f.predicate(s, e)) return false;
  return true;
}

}  // namespace

const char* event_name(Event e) {
  switch (e) {
    case Event::Started:
      return "started";
    case Event::EpochStarted:
      return "epoch_started";
    case Event::IterationStarted:
      return "iteration_started";
    case Event::IterationCompleted:
      return "iteration_completed";
    case Event::EpochCompleted:
      return "epoch_completed";
    case Event::EpochHalted:
      return "epoch_halted";
    case Event::Halted:
      return "halted";
    case Event::Completed:
      return "completed";
  }
  return "?";
}

ModelState State::model_state() const {
  const nx::Tree* data = step_state.find("model_state");
  if (!data) {
    throw nx::Error("axon::loop::State::model_state: the step state has no model_state (" +
                    step_state.to_string() + "): this is not a trainer or evaluator loop");
  }
  ModelState out = model_masks;
  out.data = *data;
  return out;
}

double State::metric(const std::string& name) const {
  auto it = metrics.find(name);
  if (it == metrics.end()) {
    std::string known;
    for (const auto& [k, v] : metrics) known += (known.empty() ? "" : ", ") + k;
    throw nx::Error("axon::loop::State::metric: no metric " + name + " (known: " + known + ")");
  }
  return it->second;
}

Loop::Loop(StepFn step, InitFn init) : step_(std::move(step)), init_(std::move(init)) {
  if (!step_) throw nx::Error("axon::loop::Loop: the step function is empty");
  if (!init_) {
    init_ = [](const data::Batch&, const ModelState& init, State&) { return init.data; };
  }
  recompile();
}

nx::Tree Loop::step_and_metrics(const StepFn& step, const Metrics& metrics, const nx::Tree& carry,
                                const nx::Tree& inputs, const nx::Tree& targets,
                                const ModelState& masks) {
  nx::Tree next = step(data::Batch{inputs, targets}, carry, masks);
  nx::Tree::Map values;
  for (const auto& [name, m] : metrics) values.emplace_back(name, nx::Tree(m.first(next)));
  return nx::Tree{{"state", next}, {"metrics", nx::Tree(std::move(values))}};
}

void Loop::recompile() {
  StepFn step = step_;
  Metrics metrics = metrics_;
  nx::JitOptions jo;
  jo.donate = {0};
  compiled_ = std::make_shared<nx::JitFunction>(
      [step, metrics](const nx::Tree& args, const void* ctx) {
        return step_and_metrics(step, metrics, args[0], args[1], args[2],
                                *static_cast<const ModelState*>(ctx));
      },
      jo);
}

Loop Loop::metric(const std::string& name, StepMetric fn, Accumulate accumulate) const {
  if (!fn) throw nx::Error("axon::loop::Loop::metric: the metric " + name + " is empty");
  Loop out = *this;
  for (auto& m : out.metrics_) {
    if (m.first == name) {
      m.second = {std::move(fn), accumulate};
      out.recompile();
      return out;
    }
  }
  out.metrics_.emplace_back(name, std::make_pair(std::move(fn), accumulate));
  out.recompile();
  return out;
}

Loop Loop::metric(const std::string& metric_name, const std::string& name,
                  Accumulate accumulate) const {
  fn::metrics::Metric m = fn::metrics::metric(metric_name);
  StepMetric f = [m, metric_name](const nx::Tree& s) {
    if (!s.contains("y_true") || !s.contains("y_pred")) {
      throw nx::Error("axon::loop metric " + metric_name +
                      ": the step state has no y_true and y_pred (" + s.to_string() + ")");
    }
    return m(s["y_true"].leaf(), s["y_pred"].leaf());
  };
  return metric(name.empty() ? metric_name : name, std::move(f), accumulate);
}

Loop Loop::handle_event(Event event, Handler handler, Filter filter) const {
  if (!handler) throw nx::Error("axon::loop::Loop::handle_event: the handler is empty");
  Loop out = *this;
  out.handlers_.emplace_back(event, std::move(handler), std::move(filter));
  return out;
}

Loop Loop::handle_event(const std::vector<Event>& events, Handler handler, Filter filter) const {
  Loop out = *this;
  for (Event e : events) out = out.handle_event(e, handler, filter);
  return out;
}

Loop Loop::from_state(State state) const {
  Loop out = *this;
  out.resume_ = std::move(state);
  return out;
}

State Loop::run(data::BatchSource& data, const ModelState& init, const RunOptions& opts) const {
  if (opts.epochs < 0) {
    throw nx::Error("axon::loop::run: epochs must be >= 0, got " + std::to_string(opts.epochs));
  }
  State state;
  std::optional<data::Batch> peeked;
  int64_t first_epoch = 0;
  if (resume_) {
    state = *resume_;
    first_epoch = state.event_counts[Event::EpochCompleted].total +
                  state.event_counts[Event::EpochHalted].total;
    state.status = Status::Running;
  } else {
    data.start(0);
    peeked = data.next();
    if (!peeked) throw nx::Error("axon::loop::run: the data is empty (no first batch)");
    state.step_state = init_(*peeked, init, state);
  }
  state.max_epoch = first_epoch + opts.epochs;
  state.max_iteration = opts.iterations;
  state.epoch_batches = data.size();
  if (opts.iterations >= 0) {
    state.epoch_batches =
        state.epoch_batches ? std::min(*state.epoch_batches, opts.iterations) : opts.iterations;
  }

  // The frozen paths change the executable (which parameters train), so they are part of its
  // cache key.
  std::string masks_key;
  for (const auto& p : state.model_masks.frozen) {
    for (const auto& part : p) masks_key += part + '\x1e';
    masks_key += '\x1f';
  }
  nx::Shape strict_shape;

  auto fire = [&](Event e) {
    EventCount& c = state.event_counts[e];
    ++c.total;
    ++c.epoch;
    for (const auto& [event, handler, filter] : handlers_) {
      if (event != e || !passes(filter, c, state, e)) continue;
      Control ctl = handler(state);
      if (ctl != Control::Continue) return ctl;
    }
    return Control::Continue;
  };
  auto reset_epoch_counts = [&] {
    for (auto& [e, c] : state.event_counts) c.epoch = 0;
  };

  bool halted = fire(Event::Started) == Control::HaltLoop;
  for (int64_t epoch = first_epoch; !halted && epoch < state.max_epoch; ++epoch) {
    state.epoch = epoch;
    state.iteration = 0;
    state.metrics.clear();
    reset_epoch_counts();
    Control ctl = fire(Event::EpochStarted);
    bool epoch_halted = ctl == Control::HaltEpoch;
    halted = ctl == Control::HaltLoop;
    const auto t0 = std::chrono::steady_clock::now();
    if (!peeked && !halted && !epoch_halted) data.start(epoch);
    while (!halted && !epoch_halted &&
           (state.max_iteration < 0 || state.iteration < state.max_iteration)) {
      std::optional<data::Batch> batch = peeked ? std::move(peeked) : data.next();
      peeked.reset();
      if (!batch) break;
      if (opts.strict) {
        const nx::Shape s = nx::tree_leaves(batch->inputs).at(0).shape();
        if (strict_shape.empty()) {
          strict_shape = s;
        } else if (s.size() != strict_shape.size() || s[0] > strict_shape[0] ||
                   !std::equal(s.begin() + 1, s.end(), strict_shape.begin() + 1)) {
          throw nx::Error("axon::loop::run (strict): a batch of shape " + nx::shape_repr(s) +
                          " after batches of shape " + nx::shape_repr(strict_shape));
        }
      }
      ctl = fire(Event::IterationStarted);
      if (ctl == Control::HaltLoop) {
        halted = true;
        break;
      }
      // Only the loop holds the carried state while the step runs, so the executable may
      // update parameters and optimizer state in place.
      nx::Tree carry = carried(state.step_state);
      state.step_state = nx::Tree();
      nx::Tree out =
          opts.jit_compile
              ? (*compiled_)(nx::Tree::list({std::move(carry), batch->inputs, batch->targets}),
                             masks_key, &state.model_masks)
              : step_and_metrics(step_, metrics_, carry, batch->inputs, batch->targets,
                                 state.model_masks);
      state.step_state = out["state"];
      const nx::Tree& values = out["metrics"];
      const double i = static_cast<double>(state.iteration);
      for (size_t k = 0; k < metrics_.size(); ++k) {
        const double obs = values[k].leaf().item<double>();
        double& acc = state.metrics[metrics_[k].first];
        acc = metrics_[k].second.second == Accumulate::RunningSum ? acc + obs
                                                                  : (acc * i + obs) / (i + 1);
      }
      ++state.iteration;
      ++state.total_iteration;
      ctl = fire(Event::IterationCompleted);
      epoch_halted = ctl == Control::HaltEpoch;
      halted = ctl == Control::HaltLoop;
    }
    peeked.reset();
    state.times[epoch] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& [k, v] : state.metrics) state.history[epoch][k] = v;
    if (halted) break;
    ctl = fire(epoch_halted ? Event::EpochHalted : Event::EpochCompleted);
    halted = ctl == Control::HaltLoop;
  }
  state.status = halted ? Status::Halted : Status::Completed;
  fire(halted ? Event::Halted : Event::Completed);
  return state;
}

}  // namespace axon::loop
