// axon::fn recurrent benchmark fn.lstm_fwd_bwd: an LSTM of 256 units over x {32, 50, 256}
// (batch, time, features) from a zero initial state, forward over the whole sequence plus the
// gradient of sum(output * ct) with respect to the input and every weight, compiled once with
// nx::jit (dynamic unroll: nx::scan, whose gradient is a reverse scan). The reference is
// torch.nn.LSTM(batch_first=True) with torch.autograd.grad on the same numbers
// (bench/refs/torch_fn_rnn.py): torch's weight_ih {4u, F} rows [i, f, g, o] transposed and split
// into Axon's wii..wio, likewise weight_hh, and bias_ih (+ a zero bias_hh) into bi..bo.
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/fn/recurrent.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench {
namespace {

namespace fn = axon::fn;

constexpr int64_t kBatch = 32, kTime = 50, kFeatures = 256, kUnits = 256;

// Rows [k u, (k + 1) u) of a torch weight {4u, n}, transposed to Axon's {n, u}.
nx::Tensor gate_kernel(const nx::Tensor& torch_weight, int64_t k) {
  return nx::transpose(nx::slice_along_axis(torch_weight, k * kUnits, kUnits, 0));
}

fn::LstmWeights bench_weights() {
  nx::Tensor w_ih = ramp({4 * kUnits, kFeatures}, 101, -0.05f, 0.05f);
  nx::Tensor w_hh = ramp({4 * kUnits, kUnits}, 103, -0.05f, 0.05f);
  nx::Tensor b = ramp({4 * kUnits}, 107, -0.05f, 0.05f);
  auto bias = [&](int64_t k) { return nx::slice_along_axis(b, k * kUnits, kUnits, 0); };
  // Materialised, so that the compiled function receives plain arguments.
  auto own = [](const nx::Tensor& t) { return nx::add(t, 0.0f); };
  return {own(gate_kernel(w_ih, 0)),
          own(gate_kernel(w_ih, 1)),
          own(gate_kernel(w_ih, 2)),
          own(gate_kernel(w_ih, 3)),
          own(gate_kernel(w_hh, 0)),
          own(gate_kernel(w_hh, 1)),
          own(gate_kernel(w_hh, 2)),
          own(gate_kernel(w_hh, 3)),
          own(bias(0)),
          own(bias(1)),
          own(bias(2)),
          own(bias(3))};
}

// {"w": weights, "x": input} -> the gradient of sum(lstm(x).output * ct) (same structure).
nx::Tree lstm_grads(const nx::Tree& args, const nx::Tensor& ct) {
  return nx::grad(args, [&](const nx::Tree& a) {
    const nx::Tensor& x = a["x"].leaf();
    nx::Tensor zero = nx::zeros({x.axis_size(0), kUnits});
    fn::RecurrentOutput r = fn::lstm(x, {zero, zero}, {}, fn::LstmWeights::from_tree(a["w"]), {});
    return nx::sum(r.output * ct);
  });
}

Setup lstm_setup() {
  return [] {
    auto args = std::make_shared<nx::Tree>(
        nx::Tree{{"w", bench_weights().to_tree()},
                 {"x", ramp({kBatch, kTime, kFeatures}, 17, -1.0f, 1.0f)}});
    auto ct = std::make_shared<nx::Tensor>(ramp({kBatch, kTime, kUnits}, 19, -1.0f, 1.0f));
    auto step = nx::jit([](const nx::Tree& a, const nx::Tensor& c) { return lstm_grads(a, c); },
                        {.name = "lstm_fwd_bwd"});
    auto result = std::make_shared<nx::Tree>(step(*args, *ct));
    return RunOnce([=] { *result = step(*args, *ct); });
  };
}

Benchmark lstm_fwd_bwd() {
  Benchmark b;
  b.name = "fn.lstm_fwd_bwd";
  b.unit = Unit::kMs;
  b.description =
      "axon::fn::lstm (256 units, dynamic unroll) over f32 x {32, 50, 256} from zeros, forward "
      "plus the gradient of sum(output * ct) w.r.t. x and all 12 weights, one nx::jit call";
  b.setup = lstm_setup();
  b.references = {external("torch")};
  return b;
}

const Registrar lstm{lstm_fwd_bwd()};

}  // namespace
}  // namespace nx_bench
