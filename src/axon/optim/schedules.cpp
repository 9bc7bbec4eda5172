// Schedules: functions of the step count, computed in f64 with nx ops so they trace.
#include <cmath>
#include <numbers>
#include <string>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim {

using detail::f64;

namespace {

// The step count as an f64 scalar; rejects what cannot be a count.
Tensor step_of(const char* name, const Tensor& count) {
  if (!count.defined() || count.rank() != 0 || !nx::is_numeric(count.dtype())) {
    throw nx::Error(detail::who(name) + ": the step count must be a numeric scalar, got " +
                    (count.defined() ? nx::type_string(count.type()) : std::string("nothing")));
  }
  return nx::as_type(count, nx::f64);
}

void require_positive(const char* name, const char* option, int64_t v) {
  if (v <= 0) {
    throw nx::Error(detail::who(name) + ": " + option + " must be positive, got " +
                    std::to_string(v));
  }
}

}  // namespace

Rate::Rate(Schedule schedule) : value_(std::move(schedule)) {
  if (!std::get<Schedule>(value_)) throw nx::Error("axon::optim::Rate: the schedule is empty");
}

double Rate::constant() const {
  if (const double* d = std::get_if<double>(&value_)) return *d;
  throw nx::Error("axon::optim::Rate::constant: the rate follows a schedule");
}

Tensor Rate::at(const Tensor& count) const {
  if (const double* d = std::get_if<double>(&value_)) return f64(*d);
  Tensor v = std::get<Schedule>(value_)(count);
  if (!v.defined() || v.rank() != 0 || !nx::is_numeric(v.dtype())) {
    throw nx::Error("axon::optim::Rate: a schedule must return a numeric scalar, got " +
                    (v.defined() ? nx::type_string(v.type()) : std::string("nothing")));
  }
  return detail::cast(v, nx::f64);
}

Schedule constant_schedule(double init) {
  return [init](const Tensor& count) {
    step_of("constant_schedule", count);
    return f64(init);
  };
}

Schedule linear_decay(double init, const LinearDecayOptions& opts) {
  if (opts.warmup < 0) {
    throw nx::Error("axon::optim::linear_decay: warmup must be >= 0, got " +
                    std::to_string(opts.warmup));
  }
  return [init, opts](const Tensor& count) {
    Tensor t = step_of("linear_decay", count);
    auto warmup = static_cast<double>(opts.warmup);
    auto steps = static_cast<double>(opts.steps);
    Tensor rising = t / std::max(1.0, warmup);
    Tensor falling = nx::max(f64(0.0), (steps - t) / std::max(1.0, steps - warmup));
    return nx::select(nx::less(t, warmup), rising, falling) * init;
  };
}

Schedule exponential_decay(double init, const ExponentialDecayOptions& opts) {
  require_positive("exponential_decay", "transition_steps", opts.transition_steps);
  if (opts.decay_rate < 0) {
    throw nx::Error("axon::optim::exponential_decay: decay_rate must be >= 0, got " +
                    std::to_string(opts.decay_rate));
  }
  return [init, opts](const Tensor& count) {
    Tensor t = step_of("exponential_decay", count) - static_cast<double>(opts.transition_begin);
    Tensor p = t / static_cast<double>(opts.transition_steps);
    if (opts.staircase) p = nx::floor(p);
    Tensor decayed = nx::pow(f64(opts.decay_rate), p) * init;
    return nx::select(nx::less_equal(t, 0.0), f64(init), decayed);
  };
}

Schedule cosine_decay(double init, const CosineDecayOptions& opts) {
  require_positive("cosine_decay", "decay_steps", opts.decay_steps);
  return [init, opts](const Tensor& count) {
    auto k = static_cast<double>(opts.decay_steps);
    Tensor theta = nx::min(step_of("cosine_decay", count), k) / k * std::numbers::pi;
    Tensor c = (nx::cos(theta) + 1.0) / 2.0 * (1.0 - opts.alpha);
    return (c + opts.alpha) * init;
  };
}

Schedule polynomial_decay(double init, const PolynomialDecayOptions& opts) {
  require_positive("polynomial_decay", "transition_steps", opts.transition_steps);
  return [init, opts](const Tensor& count) {
    auto k = static_cast<double>(opts.transition_steps);
    Tensor t = step_of("polynomial_decay", count) - static_cast<double>(opts.transition_begin);
    Tensor frac = 1.0 - nx::clip(t, f64(0.0), f64(k)) / k;
    return nx::pow(frac, f64(opts.power)) * (init - opts.end_value) + opts.end_value;
  };
}

Schedule warmup_cosine_decay(const WarmupCosineDecayOptions& opts) {
  if (opts.warmup_steps < 0) {
    throw nx::Error("axon::optim::warmup_cosine_decay: warmup_steps must be >= 0, got " +
                    std::to_string(opts.warmup_steps));
  }
  if (opts.decay_steps <= opts.warmup_steps) {
    throw nx::Error(
        "axon::optim::warmup_cosine_decay: decay_steps counts the warmup too, so it must exceed "
        "warmup_steps; got decay_steps " +
        std::to_string(opts.decay_steps) + " and warmup_steps " +
        std::to_string(opts.warmup_steps));
  }
  // Optax: a linear ramp (init -> peak) joined to a cosine decay (peak -> end) at warmup_steps.
  double init = opts.init_value, peak = opts.peak_value;
  auto warmup = static_cast<double>(opts.warmup_steps);
  Schedule ramp = [init, peak, warmup](const Tensor& count) {
    Tensor t = step_of("warmup_cosine_decay", count);
    if (warmup <= 0) return f64(init);
    return (peak - init) * (nx::clip(t, f64(0.0), f64(warmup)) / warmup) + init;
  };
  double alpha = peak == 0.0 ? 0.0 : opts.end_value / peak;
  Schedule decay =
      cosine_decay(peak, {.decay_steps = opts.decay_steps - opts.warmup_steps, .alpha = alpha});
  return join_schedules({ramp, decay}, {opts.warmup_steps});
}

Schedule join_schedules(std::vector<Schedule> schedules, std::vector<int64_t> boundaries) {
  if (schedules.empty()) throw nx::Error("axon::optim::join_schedules: no schedules");
  if (boundaries.size() + 1 != schedules.size()) {
    throw nx::Error("axon::optim::join_schedules: " + std::to_string(schedules.size()) +
                    " schedules need " + std::to_string(schedules.size() - 1) +
                    " boundaries, got " + std::to_string(boundaries.size()));
  }
  for (size_t i = 0; i < schedules.size(); ++i) {
    if (!schedules[i]) {
      throw nx::Error("axon::optim::join_schedules: schedule " + std::to_string(i) + " is empty");
    }
  }
  return
      [schedules = std::move(schedules), boundaries = std::move(boundaries)](const Tensor& count) {
        step_of("join_schedules", count);
        Tensor out = Rate(schedules[0]).at(count);
        for (size_t i = 0; i < boundaries.size(); ++i) {
          Tensor b = nx::scalar_int(boundaries[i], count.dtype());
          Tensor next = Rate(schedules[i + 1]).at(count - b);
          out = nx::select(nx::less(count, b), out, next);
        }
        return out;
      };
}

Schedule piecewise_constant(double init, std::vector<int64_t> boundaries,
                            std::vector<double> scales) {
  if (boundaries.size() != scales.size()) {
    throw nx::Error("axon::optim::piecewise_constant: " + std::to_string(boundaries.size()) +
                    " boundaries and " + std::to_string(scales.size()) +
                    " scales; they must pair up");
  }
  for (double s : scales) {
    if (!(s >= 0)) {
      throw nx::Error("axon::optim::piecewise_constant: scales must be >= 0, got " +
                      std::to_string(s));
    }
  }
  return [init, boundaries = std::move(boundaries),
          scales = std::move(scales)](const Tensor& count) {
    Tensor t = step_of("piecewise_constant", count);
    Tensor v = f64(init);
    for (size_t i = 0; i < boundaries.size(); ++i) {
      v = nx::select(nx::greater_equal(t, static_cast<double>(boundaries[i])), v * scales[i], v);
    }
    return v;
  };
}

Schedule cyclical(const CyclicalOptions& opts) {
  require_positive("cyclical", "step_size", opts.step_size);
  return [opts](const Tensor& count) {
    Tensor t = step_of("cyclical", count);
    double period = 2.0 * static_cast<double>(opts.step_size);
    Tensor cycle = nx::floor(t / period + 1.0);
    Tensor x = t / period + 1.0 - cycle;  // position in the cycle, in [0, 1)
    Tensor height = nx::select(nx::less_equal(x, 0.5), x * 2.0, (1.0 - x) * 2.0);
    Tensor amplitude = height * (opts.max_value - opts.min_value);
    switch (opts.mode) {
      case CyclicalOptions::Mode::Triangular:
        break;
      case CyclicalOptions::Mode::Triangular2:
        amplitude = amplitude / nx::pow(f64(2.0), cycle - 1.0);
        break;
      case CyclicalOptions::Mode::ExpRange:
        amplitude = amplitude * nx::pow(f64(opts.gamma), t);
        break;
    }
    return amplitude + opts.min_value;
  };
}

}  // namespace axon::optim
