// Compile time of whole training steps (trace, graph passes, lowering), and the ResNet-18 step
// itself against PyTorch.
//
// A compile.* call drops the jit function's cache and asks for the optimized graph of the step's
// signature (JitFunction::graph_text), which traces, optimizes and lowers exactly as a first
// call does, without running the step; rendering the graph as text is included (small next to
// the passes). JitStats::last_compile_ms measures the same work minus that rendering.
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "../harness/registry.hpp"
#include "resnet18.hpp"
#include "steps.hpp"

namespace nx_bench {
namespace {

using steps::StepResult;

// A jit function over the argument list [state, x, labels] that runs `step`.
using ListStep = std::function<StepResult(const nx::Tree&, const nx::Tensor&, const nx::Tensor&)>;

Setup compile_setup(std::string name, ListStep step, std::function<nx::Tree()> make_args) {
  return [name = std::move(name), step = std::move(step), make_args = std::move(make_args)] {
    auto fn = std::make_shared<nx::JitFunction>(
        [step](const nx::Tree& a, const void*) {
          StepResult r = step(a[0], a[1].leaf(), a[2].leaf());
          return nx::Tree::list({r.first, nx::Tree(r.second)});
        },
        nx::JitOptions{.name = name});
    nx::Tree args = make_args();
    return RunOnce([fn, args] {
      fn->clear_cache();
      (void)fn->graph_text(args);
    });
  };
}

Benchmark compile_mlp() {
  Benchmark b;
  b.name = "compile.mlp_step";
  b.unit = Unit::kMs;
  b.description =
      "trace + optimize + lower the step of step.mlp_adam_b128 (MLP 784-128-10, Adam, batch "
      "128) from an empty cache (target < 100 ms)";
  b.setup = compile_setup("mlp_adam_step", steps::mlp_adam_step, [] {
    auto [x, y] = steps::mlp_batch(128);
    return nx::Tree::list({steps::adam_init(steps::mlp_params()), nx::Tree(x), nx::Tree(y)});
  });
  return b;
}

const steps::ResNetConfig kResNet{};

StepResult resnet_step(const nx::Tree& s, const nx::Tensor& x, const nx::Tensor& y) {
  return steps::resnet18_sgd_step(s, x, y, kResNet);
}

Benchmark compile_resnet18() {
  Benchmark b;
  b.name = "compile.resnet18_step";
  b.unit = Unit::kMs;
  b.description =
      "trace + optimize + lower a ResNet-18 SGD step (batch 16, 3x224x224, batch norm in "
      "training mode, forward + backward + update) from an empty cache (target < 2000 ms)";
  b.setup = compile_setup("resnet18_sgd_step", resnet_step, [] {
    auto [x, y] = steps::resnet18_batch(kResNet);
    return nx::Tree::list({steps::resnet18_init(kResNet), nx::Tree(x), nx::Tree(y)});
  });
  return b;
}

Benchmark resnet18_step() {
  Benchmark b;
  b.name = "step.resnet18_sgd_b16";
  b.unit = Unit::kSamplesPerSecond;
  b.work = static_cast<double>(kResNet.batch);
  b.description =
      "one SGD step (lr 0.01) of ResNet-18, batch 16, 3x224x224, 1000 classes, batch norm in "
      "training mode, compiled with nx::jit";
  b.setup = [] {
    auto state = std::make_shared<nx::Tree>(steps::resnet18_init(kResNet));
    auto [x, y] = steps::resnet18_batch(kResNet);
    auto loss = std::make_shared<nx::Tensor>();
    auto jitted = nx::jit(resnet_step, {.name = "resnet18_sgd_step", .donate = {0}});
    return RunOnce([=, x = x, y = y] {
      StepResult r = jitted(std::move(*state), x, y);
      *state = std::move(r.first);
      *loss = std::move(r.second);
    });
  };
  b.references = {external("torch")};
  return b;
}

const Registrar mlp{compile_mlp()};
const Registrar resnet{compile_resnet18()};
const Registrar resnet_step_bench{resnet18_step()};

}  // namespace
}  // namespace nx_bench
