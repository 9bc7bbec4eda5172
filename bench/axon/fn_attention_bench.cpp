// axon::fn attention benchmarks: multi-head self-attention forward + backward, compiled with
// nx::jit, against torch.nn.MultiheadAttention forward + autograd backward on the same inputs
// (bench/refs/torch_fn_attention.py builds the same ramps).
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/fn/attention.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench {
namespace {

constexpr int64_t kBatch = 8, kSeq = 128, kModel = 256, kHeads = 8;

// The largest |a - b| / (1 + |b|) over two trees of one structure.
double max_rel_diff(const nx::Tree& a, const nx::Tree& b) {
  std::vector<nx::Tensor> la = nx::tree_leaves(a), lb = nx::tree_leaves(b);
  if (la.size() != lb.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < la.size(); ++i) {
    std::vector<double> x = la[i].to_vector<double>(), y = lb[i].to_vector<double>();
    if (x.size() != y.size()) return INFINITY;
    for (size_t k = 0; k < x.size(); ++k) {
      const double d = std::abs(x[k] - y[k]) / (1 + std::abs(y[k]));
      if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
    }
  }
  return worst;
}

// {"x": input, "wq": ..., "bo": ...}: kernels {in, out} with torch_fn_attention.py's periods.
nx::Tree mha_inputs() {
  const float a = 1.0f / std::sqrt(static_cast<float>(kModel));
  nx::Tree::Map m;
  m.push_back({"x", ramp({kBatch, kSeq, kModel}, 251, -1.0f, 1.0f)});
  const char* names[] = {"wq", "wk", "wv", "wo"};
  for (int i = 0; i < 4; ++i) {
    m.push_back({names[i], ramp({kModel, kModel}, 97 + 2 * i, -a, a)});
    m.push_back({std::string("b") + names[i][1], ramp({kModel}, 31 + 2 * i, -a, a)});
  }
  return nx::Tree::map(std::move(m));
}

// Gradients of sum(mha(x) * ct) with respect to x and every projection weight.
nx::Tree mha_grads(const nx::Tree& in, const nx::Tensor& ct) {
  return nx::grad(in, [&](const nx::Tree& t) {
    const nx::Tensor& x = t["x"].leaf();
    nx::Tensor y = axon::fn::multi_head_attention(x, x, x, t, {.num_heads = kHeads});
    return nx::sum(y * ct);
  });
}

Setup mha_setup() {
  return [] {
    auto in = std::make_shared<nx::Tree>(mha_inputs());
    auto ct = std::make_shared<nx::Tensor>(ramp({kBatch, kSeq, kModel}, 89, -1.0f, 1.0f));
    auto step = nx::jit([](const nx::Tree& t, const nx::Tensor& c) { return mha_grads(t, c); },
                        {.name = "mha_fwd_bwd"});
    const double diff = max_rel_diff(step(*in, *ct), mha_grads(*in, *ct));
    if (!(diff <= 1e-4)) {
      std::ostringstream os;
      os << "fn.mha_fwd_bwd: the compiled gradients differ from the eager ones by " << diff;
      throw nx::Error(os.str());
    }
    auto out = std::make_shared<nx::Tree>();
    return RunOnce([=] { *out = step(*in, *ct); });
  };
}

Benchmark mha_fwd_bwd() {
  Benchmark b;
  b.name = "fn.mha_fwd_bwd";
  b.unit = Unit::kMs;
  b.description =
      "axon::fn::multi_head_attention self-attention, batch 8, sequence 128, d_model 256, 8 "
      "heads, no mask, no dropout: forward + backward (gradients of sum(y * ct) w.r.t. x and "
      "the 8 projection weights), compiled with nx::jit";
  b.setup = mha_setup();
  b.references = {external("torch")};
  return b;
}

const Registrar mha{mha_fwd_bwd()};

}  // namespace
}  // namespace nx_bench
