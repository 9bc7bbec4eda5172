// Whole training steps (forward, backward, Adam) compiled with nx::jit, against PyTorch eager
// on the same model and against the same C++ step run eagerly; and the peak resident memory of
// a process that trains with them. The models and the step are in steps.hpp.
//
// Every timed call is one step that continues from the previous call's state (training goes on
// through the measurement, as it does in PyTorch's loop), keeping the loss until the next call.
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "../harness/registry.hpp"
#include "steps.hpp"

namespace nx_bench {
namespace {

using steps::StepResult;
using StepFn = StepResult (*)(const nx::Tree&, const nx::Tensor&, const nx::Tensor&);
using BatchFn = std::pair<nx::Tensor, nx::Tensor> (*)(int64_t);
using InitFn = nx::Tree (*)();

constexpr int64_t kBatch = 128;

// The largest |a - b| / (1 + |b|) over two trees of one structure.
double max_rel_diff(const nx::Tree& a, const nx::Tree& b) {
  std::vector<nx::Tensor> la = nx::tree_leaves(a), lb = nx::tree_leaves(b);
  double worst = 0;
  for (size_t i = 0; i < la.size(); ++i) {
    std::vector<double> x = la[i].to_vector<double>(), y = lb[i].to_vector<double>();
    for (size_t k = 0; k < x.size(); ++k) {
      const double d = std::abs(x[k] - y[k]) / (1 + std::abs(y[k]));
      if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
    }
  }
  return worst;
}

// Correctness before speed: one compiled step must give the eager step's state and loss.
void check_compiled_equals_eager(const std::string& name, const StepResult& compiled,
                                 const StepResult& eager) {
  if (!nx::same_structure(compiled.first, eager.first)) {
    throw nx::Error(name + ": the compiled step returned " + compiled.first.to_string() +
                    ", the eager step " + eager.first.to_string());
  }
  const double diff = std::max(max_rel_diff(compiled.first, eager.first),
                               max_rel_diff(nx::Tree(compiled.second), nx::Tree(eager.second)));
  if (!(diff <= 1e-5)) {
    std::ostringstream os;
    os << name << ": the compiled step differs from the eager step by " << diff
       << " (relative, over the new state and the loss); expected <= 1e-5";
    throw nx::Error(os.str());
  }
}

struct Model {
  std::string name;  // "mlp", "cnn"
  std::string what;  // for descriptions
  InitFn params;
  BatchFn batch;
  StepFn step;
};

// The closure that runs `step` (compiled or not) from the model's initial state.
// `check`: compare one compiled step with one eager step first.
Setup step_setup(const Model& m, bool compiled, bool check) {
  return [m, compiled, check] {
    auto state = std::make_shared<nx::Tree>(steps::adam_init(m.params()));
    auto [x, y] = m.batch(kBatch);
    auto loss = std::make_shared<nx::Tensor>();
    if (!compiled) {
      return RunOnce([=, step = m.step, x = x, y = y] {
        StepResult r = step(*state, x, y);
        *state = std::move(r.first);
        *loss = std::move(r.second);
      });
    }
    // The state is moved into each call and donated, so that the step may update parameters and
    // moments in place, as torch.optim.Adam does.
    auto jitted = nx::jit(m.step, {.name = m.name + "_adam_step", .donate = {0}});
    if (check) {
      check_compiled_equals_eager(m.name + "_adam_step", jitted(*state, x, y),
                                  m.step(*state, x, y));
    }
    return RunOnce([=, x = x, y = y] {
      StepResult r = jitted(std::move(*state), x, y);
      *state = std::move(r.first);
      *loss = std::move(r.second);
    });
  };
}

Benchmark step_vs_torch(const Model& m) {
  Benchmark b;
  b.name = "step." + m.name + "_adam_b128";
  b.unit = Unit::kSamplesPerSecond;
  b.work = kBatch;
  b.description = "one Adam training step of the " + m.what +
                  ", batch 128, softmax cross-entropy: forward, value_and_grad, update, all in one "
                  "nx::jit function (checked against the eager step at setup)";
  b.setup = step_setup(m, true, true);
  b.references = {external("torch")};
  return b;
}

Benchmark jit_vs_eager(const Model& m) {
  Benchmark b;
  b.name = "step." + m.name + "_jit_vs_eager_b128";
  b.unit = Unit::kSamplesPerSecond;
  b.work = kBatch;
  b.description = "the step of step." + m.name +
                  "_adam_b128 compiled with nx::jit, against the same C++ function called "
                  "eagerly (op by op, value_and_grad traced and walked on every call)";
  b.setup = step_setup(m, true, false);
  b.references = {
      Reference{"eager", "nx eager (the same step function, no jit)", step_setup(m, false, false)}};
  return b;
}

Benchmark peak_rss(const Model& m) {
  Benchmark b;
  b.name = "step." + m.name + "_adam_b128_peak_rss";
  b.unit = Unit::kPeakRssMiB;
  b.description = "peak resident memory of a fresh process that sets up step." + m.name +
                  "_adam_b128 (model, Adam state, batch, jit) and runs 10 steps; PyTorch: a "
                  "fresh python3 that imports torch and runs 10 steps of its twin";
  b.setup = step_setup(m, true, false);
  b.references = {external("torch")};
  return b;
}

const Model kMlp{"mlp", "MLP 784-128(relu)-10", steps::mlp_params, steps::mlp_batch,
                 steps::mlp_adam_step};
const Model kCnn{"cnn",
                 "CNN conv3x3-32(relu), maxpool2, conv3x3-64(relu), maxpool2, dense 128(relu), "
                 "dense 10 on 1x28x28",
                 steps::cnn_params, steps::cnn_batch, steps::cnn_adam_step};

const Registrar mlp{step_vs_torch(kMlp)};
const Registrar mlp_eager{jit_vs_eager(kMlp)};
const Registrar mlp_rss{peak_rss(kMlp)};
const Registrar cnn{step_vs_torch(kCnn)};
const Registrar cnn_eager{jit_vs_eager(kCnn)};
const Registrar cnn_rss{peak_rss(kCnn)};

}  // namespace
}  // namespace nx_bench
