// axon::fn normalisation benchmarks: training-mode batch norm forward and backward, compiled
// with nx::jit, against torch.nn.functional.batch_norm(training=True) plus autograd.
//
// One call normalises x = f32[32][64][56][56] (a ResNet stage) with the batch statistics,
// returns the output and the new running statistics, and computes the gradients of
// sum(out * ct) with respect to x, gamma and beta for a fixed cotangent ct; torch does the same
// (its F.batch_norm updates the running buffers in place, and backward(ct) fills the grads).
// Inputs are ramps that bench/refs/torch_fn_norm.py rebuilds identically.
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/fn/normalization.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench {
namespace {

constexpr int64_t kBatch = 32, kChannels = 64, kSide = 56;

// (x, gamma, beta, mean, var, ct) -> [out, {mean, var}, [dx, dgamma, dbeta]].
nx::Tree batch_norm_step(int64_t channel_index, const nx::Tree& args) {
  const nx::Tensor mean = args[3].leaf(), var = args[4].leaf(), ct = args[5].leaf();
  nx::Tree state;
  nx::ValueAndGrad vg =
      nx::value_and_grad_aux(nx::Tree::list({args[0], args[1], args[2]}), [&](const nx::Tree& p) {
        axon::fn::StatefulOutput o =
            axon::fn::batch_norm(p[0].leaf(), p[1].leaf(), p[2].leaf(), mean, var,
                                 {.channel_index = channel_index, .mode = axon::fn::Mode::Train});
        return std::pair<nx::Tensor, nx::Tree>{nx::sum(o.output * ct),
                                               nx::Tree::list({o.output, o.state})};
      });
  return nx::Tree::list({vg.aux[0], vg.aux[1], vg.grad});
}

Setup batch_norm_setup(axon::fn::Channels channels) {
  return [channels] {
    const bool first = channels == axon::fn::Channels::First;
    const nx::Shape shape = first ? nx::Shape{kBatch, kChannels, kSide, kSide}
                                  : nx::Shape{kBatch, kSide, kSide, kChannels};
    auto args = std::make_shared<nx::Tree>(
        nx::Tree::list({ramp(shape, 1009, -2.0f, 3.0f), ramp({kChannels}, 7, 0.5f, 1.5f),
                        ramp({kChannels}, 5, -0.5f, 0.5f), ramp({kChannels}, 11, -0.1f, 0.1f),
                        ramp({kChannels}, 13, 0.9f, 1.1f), ramp(shape, 997, -1.0f, 1.0f)}));
    const int64_t channel_index = first ? 1 : -1;
    auto step =
        nx::jit([channel_index](const nx::Tree& a) { return batch_norm_step(channel_index, a); },
                {.name = first ? "batch_norm_fwd_bwd" : "batch_norm_fwd_bwd_last"});
    // Correctness first (and the compilation outside the timed calls): the compiled step
    // equals the eager one.
    const std::vector<nx::Tensor> compiled = nx::tree_leaves(step(*args));
    const std::vector<nx::Tensor> eager = nx::tree_leaves(batch_norm_step(channel_index, *args));
    for (size_t i = 0; i < eager.size(); ++i) {
      const std::vector<double> a = compiled[i].to_vector<double>(),
                                e = eager[i].to_vector<double>();
      for (size_t k = 0; k < e.size(); ++k) {
        if (!(std::abs(a[k] - e[k]) <= 1e-3 * (1 + std::abs(e[k])))) {
          throw nx::Error("fn.batch_norm_fwd_bwd: compiled result " + std::to_string(i) +
                          " differs from the eager one at " + std::to_string(k) + ": " +
                          std::to_string(a[k]) + " vs " + std::to_string(e[k]));
        }
      }
    }
    auto result = std::make_shared<nx::Tree>();
    return RunOnce([=] { *result = step(*args); });
  };
}

Benchmark batch_norm_fwd_bwd(axon::fn::Channels channels) {
  const bool first = channels == axon::fn::Channels::First;
  Benchmark b;
  b.name = first ? "fn.batch_norm_fwd_bwd" : "fn.batch_norm_fwd_bwd_channels_last";
  b.unit = Unit::kMs;
  b.description = std::string("axon::fn::batch_norm in Train mode on f32 ") +
                  (first ? "[32, 64, 56, 56] (NCHW, channel_index 1)"
                         : "[32, 56, 56, 64] (NHWC, channel_index -1)") +
                  ": output, running statistics and the gradients of sum(out * ct) w.r.t. x, "
                  "gamma and beta, compiled with nx::jit";
  b.setup = batch_norm_setup(channels);
  b.references = {external("torch")};
  return b;
}

const Registrar first{batch_norm_fwd_bwd(axon::fn::Channels::First)};
const Registrar last{batch_norm_fwd_bwd(axon::fn::Channels::Last)};

}  // namespace
}  // namespace nx_bench
