// axon::optim benchmarks: one compiled optimizer update over a 10M-parameter tree, against the
// machine's copy bandwidth for the same bytes and against torch.optim on the same tree.
//
// The tree is laid out like a small transformer (adam_tree_layout): 39 leaves from 512 to
// 1,048,576 elements, 9,982,464 f32 parameters in all. Parameters and gradients are ramps that
// bench/refs/torch_ref.py rebuilds identically. Every timed call is one Adam update that
// continues from the previous call's state, compiled with nx::jit with the parameters and the
// optimizer state moved in and donated, so that the executable may update them in place as
// torch.optim does.
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../harness/copy_reference.hpp"
#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/optim.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench {
namespace {

namespace optim = axon::optim;

struct LeafLayout {
  std::string path;
  nx::Shape shape;
};

// A 3-block transformer of width 512: embedding [1024, 512]; per block attention qkv and
// output projections, an MLP 512-2048-512, two layer norms; a final layer norm.
// torch_ref.py's adam_tree_layout() lists the same leaves in the same order.
std::vector<LeafLayout> adam_tree_layout() {
  constexpr int64_t d = 512, ff = 2048;
  std::vector<LeafLayout> leaves{{"embed", {1024, d}}};
  for (int b = 0; b < 3; ++b) {
    const std::string p = "block_" + std::to_string(b) + ".";
    for (const LeafLayout& l : std::vector<LeafLayout>{{"attn.qkv.kernel", {d, 3 * d}},
                                                       {"attn.qkv.bias", {3 * d}},
                                                       {"attn.out.kernel", {d, d}},
                                                       {"attn.out.bias", {d}},
                                                       {"ln_1.scale", {d}},
                                                       {"ln_1.bias", {d}},
                                                       {"mlp.in.kernel", {d, ff}},
                                                       {"mlp.in.bias", {ff}},
                                                       {"mlp.out.kernel", {ff, d}},
                                                       {"mlp.out.bias", {d}},
                                                       {"ln_2.scale", {d}},
                                                       {"ln_2.bias", {d}}}) {
      leaves.push_back({p + l.path, l.shape});
    }
  }
  leaves.push_back({"ln_f.scale", {d}});
  leaves.push_back({"ln_f.bias", {d}});
  return leaves;
}

int64_t adam_tree_size() {
  int64_t n = 0;
  for (const LeafLayout& l : adam_tree_layout()) n += nx::num_elements(l.shape);
  return n;
}

// Leaf i is a ramp over [lo, hi) with period base + i.
nx::Tree ramp_tree(int64_t base, float lo, float hi) {
  std::vector<nx::PathLeaf> leaves;
  int64_t i = 0;
  for (const LeafLayout& l : adam_tree_layout()) {
    leaves.push_back({l.path, ramp(l.shape, base + i++, lo, hi)});
  }
  return nx::tree_from_paths(leaves);
}

// Parameters, gradients and optimizer state: 4 f32 reads (p, g, m, v) and 3 writes (p, m, v)
// per parameter.
constexpr double kAdamBytesPerParam = 7 * 4;

// torch.optim.Adam's defaults; eps_root 0 because torch has none.
optim::Transformation bench_adam() {
  return optim::adam({.learning_rate = 1e-3, .b1 = 0.9, .b2 = 0.999, .eps = 1e-8, .eps_root = 0});
}

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

// One update: (params, state, grads) -> [params', state'].
nx::Tree adam_step(const optim::Transformation& opt, const nx::Tree& params, const nx::Tree& state,
                   const nx::Tree& grads) {
  optim::UpdateResult r = opt.update(grads, state, params);
  return nx::Tree::list({optim::apply_updates(params, r.updates), r.state});
}

Setup adam_setup() {
  return [] {
    optim::Transformation opt = bench_adam();
    auto params = std::make_shared<nx::Tree>(ramp_tree(1000, -0.05f, 0.05f));
    auto grads = std::make_shared<nx::Tree>(ramp_tree(997, -1e-3f, 1e-3f));
    auto state = std::make_shared<nx::Tree>(opt.init(*params));
    auto step = nx::jit([opt](const nx::Tree& p, const nx::Tree& s,
                              const nx::Tree& g) { return adam_step(opt, p, s, g); },
                        {.name = "adam_10M_update", .donate = {0, 1}});
    // Correctness first: one compiled update equals one eager update.
    nx::Tree eager = adam_step(opt, *params, *state, *grads);
    nx::Tree compiled = step(*params, *state, *grads);
    const double diff = max_rel_diff(compiled, eager);
    if (!(diff <= 1e-6)) {
      std::ostringstream os;
      os << "optim.adam_10M: the compiled update differs from the eager one by " << diff
         << " (relative, over parameters and state); expected <= 1e-6";
      throw nx::Error(os.str());
    }
    return RunOnce([=] {
      nx::Tree out = step(std::move(*params), std::move(*state), *grads);
      *params = out[0];
      *state = out[1];
    });
  };
}

Benchmark adam_10m() {
  const auto n = static_cast<double>(adam_tree_size());
  Benchmark b;
  b.name = "optim.adam_10M";
  b.unit = Unit::kGBps;
  b.work = n * kAdamBytesPerParam;
  b.description =
      "one axon::optim::adam update (lr 1e-3, torch's defaults, eps_root 0) of a 39-leaf "
      "transformer-shaped f32 tree of 9,982,464 parameters plus apply_updates, compiled with "
      "nx::jit, parameters and state donated; bytes = 4 reads + 3 writes of 4 B per parameter";
  b.setup = adam_setup();
  b.references = {copy_reference(static_cast<size_t>(b.work / 2)), external("torch")};
  return b;
}

const Registrar adam{adam_10m()};

}  // namespace
}  // namespace nx_bench
