// monitor, early_stop, reduce_lr_on_plateau and terminate_on_nan: handlers that watch a metric.
#include <cmath>
#include <memory>
#include <utility>

#include "axon/loop/handlers.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"

namespace axon::loop {

namespace {

void check_patience(const char* where, int64_t patience) {
  if (patience < 0) {
    throw nx::Error(std::string("axon::loop::") + where + ": patience must be >= 0, got " +
                    std::to_string(patience));
  }
}

}  // namespace

Loop monitor(const Loop& loop, const std::string& metric, Handler fn, const std::string& name,
             const MonitorOptions& opts) {
  if (!fn) throw nx::Error("axon::loop::monitor: the handler is empty");
  if (name.empty()) throw nx::Error("axon::loop::monitor: the name is empty");
  check_patience("monitor", opts.patience);
  if (!(opts.min_delta >= 0)) {
    throw nx::Error("axon::loop::monitor: min_delta must be >= 0, got " +
                    std::to_string(opts.min_delta));
  }
  const MonitorOptions o = opts;
  auto handler = [metric, fn, name, o](State& s) {
    auto it = s.metrics.find(metric);
    if (it == s.metrics.end()) {
      std::string known;
      for (const auto& [k, v] : s.metrics) known += (known.empty() ? "" : ", ") + k;
      throw nx::Error("axon::loop::monitor " + name + ": no metric " + metric +
                      " at this event (known: " + known + ")");
    }
    const double cur = it->second;
    auto& meta = s.handler_metadata[name];
    const bool fresh = !meta.contains("best");
    const double best = fresh ? std::nan("") : meta["best"];
    bool improved = false;
    if (std::isnan(cur)) {
      improved = false;
    } else if (std::isnan(best)) {
      improved = true;
    } else if (o.improved) {
      improved = o.improved(best, cur);
    } else {
      improved = o.mode == MonitorMode::Min ? cur < best - o.min_delta : cur > best + o.min_delta;
    }
    if (fresh) meta["best"] = best;
    double& since = meta["since_last_improvement"];
    if (improved) {
      meta["best"] = cur;
      since = 0;
      return Control::Continue;
    }
    since += 1;
    if (since <= static_cast<double>(o.patience)) return Control::Continue;
    since = 0;
    return fn(s);
  };
  return loop.handle_event(opts.event, handler, opts.filter);
}

Loop early_stop(const Loop& loop, const std::string& metric, const EarlyStopOptions& opts) {
  check_patience("early_stop", opts.patience);
  return monitor(
      loop, metric, [](State&) { return Control::HaltLoop; }, "early_stop", opts);
}

Loop reduce_lr_on_plateau(const Loop& loop, const std::string& metric,
                          const ReduceLrOptions& opts) {
  if (!(opts.factor > 0 && opts.factor < 1)) {
    throw nx::Error("axon::loop::reduce_lr_on_plateau: factor must be in (0, 1), got " +
                    std::to_string(opts.factor));
  }
  if (!(opts.min_lr_scale >= 0)) {
    throw nx::Error("axon::loop::reduce_lr_on_plateau: min_lr_scale must be >= 0, got " +
                    std::to_string(opts.min_lr_scale));
  }
  check_patience("reduce_lr_on_plateau", opts.patience);
  // The lr_scale leaves of the optimizer state; a clear error when there are none.
  auto scales = [](const State& s) {
    const nx::Tree* opt = s.step_state.find("optimizer_state");
    if (!opt) {
      throw nx::Error("axon::loop::reduce_lr_on_plateau: the step state has no optimizer_state (" +
                      s.step_state.to_string() + "): this is not a trainer loop");
    }
    std::vector<nx::PathLeaf> found = optim::find_hyperparameters(*opt, "lr_scale");
    if (found.empty()) {
      throw nx::Error(
          "axon::loop::reduce_lr_on_plateau: the optimizer state has no lr_scale hyperparameter "
          "(build the optimizer with optim::scale_by_learning_rate, as every axon::optim "
          "optimizer is); its state is " +
          opt->to_string());
    }
    return found;
  };
  const ReduceLrOptions o = opts;
  auto reduce = [o, scales](State& s) {
    double last = 0;
    nx::Tree opt = s.step_state["optimizer_state"];
    for (const nx::PathLeaf& p : scales(s)) {
      const double v = std::max(p.tensor.item<double>() * o.factor, o.min_lr_scale);
      opt = optim::set_hyperparameter(opt, p.path, v);
      last = v;
    }
    s.step_state = s.step_state.set("optimizer_state", opt);
    s.handler_metadata["reduce_lr_on_plateau"]["lr_scale"] = last;
    return Control::Continue;
  };
  Loop l = loop.handle_event(Event::Started, [scales](State& s) {
    std::vector<nx::PathLeaf> found = scales(s);
    auto& meta = s.handler_metadata["reduce_lr_on_plateau"];
    if (!meta.contains("lr_scale")) meta["lr_scale"] = found.front().tensor.item<double>();
    return Control::Continue;
  });
  MonitorOptions mo{.event = o.event,
                    .mode = o.mode,
                    .patience = o.patience,
                    .min_delta = o.min_delta,
                    .filter = o.filter};
  return monitor(l, metric, reduce, "reduce_lr_on_plateau", mo);
}

Loop terminate_on_nan(const Loop& loop) {
  return loop.handle_event(Event::IterationCompleted, [](State& s) {
    bool seen = false;
    if (const nx::Tree* loss = s.step_state.find("loss"); loss && loss->is_leaf()) {
      seen = true;
      if (!std::isfinite(loss->leaf().item<double>())) return Control::HaltLoop;
    }
    if (auto it = s.metrics.find("loss"); it != s.metrics.end()) {
      seen = true;
      if (!std::isfinite(it->second)) return Control::HaltLoop;
    }
    if (!seen) {
      throw nx::Error(
          "axon::loop::terminate_on_nan: the step state has no \"loss\" and the loop no \"loss\" "
          "metric to watch");
    }
    return Control::Continue;
  });
}

}  // namespace axon::loop
