// ResNet-18 (He et al. 2015; torchvision's resnet18 layout) with batch norm in training mode and
// plain SGD, written inline with nx ops for the compile-time benchmark (compile.resnet18_step)
// and the step benchmark (step.resnet18_sgd_b16). bench/refs/torch_ref.py builds the same
// network from torch.nn modules.
//
// Parameters and batch statistics are flat maps keyed by dotted layer names ("layer2.0.conv1",
// "layer2.0.bn1.scale"), so the forward pass reads like the torchvision module tree.
// Header-only so that tests/nx/defn/step_test.cpp can check a small configuration.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nx/defn.hpp"
#include "nx/nx.hpp"
#include "steps.hpp"

namespace nx_bench::steps {

/// The network's size. The defaults are ResNet-18 on ImageNet-sized inputs; tests shrink them.
struct ResNetConfig {
  int64_t batch = 16;
  int64_t image = 224;  ///< square input side; must be a multiple of 32
  int64_t width = 64;   ///< channels of the stem and the first stage (doubles per stage)
  int64_t classes = 1000;
  double lr = 0.01;       ///< SGD learning rate
  double momentum = 0.1;  ///< batch-norm running statistics: new = (1 - m) old + m batch
  double eps = 1e-5;      ///< batch-norm epsilon (torch's default)
};

namespace resnet_detail {

inline std::string join(const std::string& a, const std::string& b) {
  return a.empty() ? b : a + "." + b;
}

// Builds the parameter and statistics maps in torchvision's order.
struct Builder {
  nx::Tree::Map params, stats;
  int64_t period = 7;

  void conv(const std::string& name, int64_t out, int64_t in, int64_t k) {
    // Periods cycle through small primes so that no two layers hold the same ramp.
    period = period >= 29 ? 7 : period + 2;
    params.emplace_back(name, nx::Tree(scaled_ramp({out, in, k, k}, in * k * k, period)));
  }
  void bn(const std::string& name, int64_t c) {
    params.emplace_back(name + ".scale", nx::Tree(nx::ones({c})));
    params.emplace_back(name + ".bias", nx::Tree(nx::zeros({c})));
    stats.emplace_back(name + ".mean", nx::Tree(nx::zeros({c})));
    stats.emplace_back(name + ".var", nx::Tree(nx::ones({c})));
  }
};

// Runs the network, collecting the updated running statistics.
struct Forward {
  const nx::Tree& p;
  const nx::Tree& stats;
  const ResNetConfig& cfg;
  nx::Tree::Map new_stats{};

  nx::Tensor conv(const std::string& name, const nx::Tensor& x, int64_t stride, int64_t pad) {
    nx::ConvOptions o{.strides = {stride, stride},
                      .padding = nx::Padding::explicit_pairs({{pad, pad}, {pad, pad}})};
    return nx::conv(x, p[name].leaf(), o);
  }

  // Training-mode batch norm over (N, H, W): normalises with the batch's mean and biased
  // variance, and moves the running statistics toward the batch's (unbiased variance, as torch).
  nx::Tensor bn(const std::string& name, const nx::Tensor& x) {
    const int64_t c = x.axis_size(1);
    const double n = static_cast<double>(x.size() / c);
    nx::ReduceOptions over{.axes = nx::Axes{0, 2, 3}, .keep_axes = true};
    nx::Tensor mean = nx::mean(x, over);
    nx::Tensor centered = x - mean;
    nx::Tensor var = nx::mean(nx::square(centered), over);
    nx::Tensor scale = nx::reshape(p[name + ".scale"].leaf(), {1, c, 1, 1});
    nx::Tensor bias = nx::reshape(p[name + ".bias"].leaf(), {1, c, 1, 1});
    nx::Tensor y = centered * (nx::rsqrt(var + cfg.eps) * scale) + bias;
    const double m = cfg.momentum;
    new_stats.emplace_back(name + ".mean", nx::Tree((1.0 - m) * stats[name + ".mean"].leaf() +
                                                    m * nx::reshape(mean, {c})));
    new_stats.emplace_back(name + ".var", nx::Tree((1.0 - m) * stats[name + ".var"].leaf() +
                                                   (m * n / (n - 1.0)) * nx::reshape(var, {c})));
    return y;
  }

  nx::Tensor block(const std::string& name, const nx::Tensor& x, int64_t stride) {
    nx::Tensor h = relu(bn(name + ".bn1", conv(name + ".conv1", x, stride, 1)));
    h = bn(name + ".bn2", conv(name + ".conv2", h, 1, 1));
    nx::Tensor skip = x;
    if (p.contains(name + ".downsample.conv")) {
      skip = bn(name + ".downsample.bn", conv(name + ".downsample.conv", x, stride, 0));
    }
    return relu(h + skip);
  }

  nx::Tensor logits(const nx::Tensor& x) {
    nx::Tensor h = relu(bn("bn1", conv("conv1", x, 2, 3)));
    h = nx::window_max(h, {1, 1, 3, 3},
                       {.strides = {1, 1, 2, 2},
                        .padding = nx::Padding::explicit_pairs({{0, 0}, {0, 0}, {1, 1}, {1, 1}})});
    for (int stage = 1; stage <= 4; ++stage) {
      const std::string layer = "layer" + std::to_string(stage);
      h = block(layer + ".0", h, stage == 1 ? 1 : 2);
      h = block(layer + ".1", h, 1);
    }
    h = nx::mean(h, {.axes = nx::Axes{2, 3}});
    return nx::dot(h, p["fc.kernel"].leaf()) + p["fc.bias"].leaf();
  }
};

}  // namespace resnet_detail

/// {params, stats}: conv kernels [O, C, k, k] (no biases, as torchvision), batch-norm scale
/// (ones) and bias (zeros), fc kernel [8 width, classes] and bias; running means (zeros) and
/// variances (ones).
inline nx::Tree resnet18_init(const ResNetConfig& cfg = {}) {
  resnet_detail::Builder b;
  const int64_t w = cfg.width;
  b.conv("conv1", w, 3, 7);
  b.bn("bn1", w);
  int64_t in = w;
  for (int stage = 1; stage <= 4; ++stage) {
    const int64_t out = w << (stage - 1);
    for (int i = 0; i < 2; ++i) {
      const std::string name = "layer" + std::to_string(stage) + "." + std::to_string(i);
      b.conv(name + ".conv1", out, i == 0 ? in : out, 3);
      b.bn(name + ".bn1", out);
      b.conv(name + ".conv2", out, out, 3);
      b.bn(name + ".bn2", out);
      if (i == 0 && stage > 1) {
        b.conv(name + ".downsample.conv", out, in, 1);
        b.bn(name + ".downsample.bn", out);
      }
    }
    in = out;
  }
  b.params.emplace_back("fc.kernel", nx::Tree(scaled_ramp({8 * w, cfg.classes}, 8 * w, 31)));
  b.params.emplace_back("fc.bias", nx::Tree(scaled_ramp({cfg.classes}, 8 * w, 23)));
  return nx::Tree{{"params", nx::Tree::map(std::move(b.params))},
                  {"stats", nx::Tree::map(std::move(b.stats))}};
}

/// Inputs: x f32[batch, 3, image, image] (ramp over [-1, 1), period 251), one-hot labels of
/// i mod classes.
inline std::pair<nx::Tensor, nx::Tensor> resnet18_batch(const ResNetConfig& cfg = {}) {
  return {ramp({cfg.batch, 3, cfg.image, cfg.image}, 251, -1.0f, 1.0f),
          cyclic_one_hot(cfg.batch, cfg.classes)};
}

/// One SGD step (p -= lr * grad) with batch norm in training mode: forward, cross-entropy,
/// backward, update, and the running statistics moved toward this batch's.
inline StepResult resnet18_sgd_step(const nx::Tree& state, const nx::Tensor& x,
                                    const nx::Tensor& labels, const ResNetConfig& cfg = {}) {
  const nx::Tree& stats = state["stats"];
  nx::ValueAndGrad vg = nx::value_and_grad_aux(state["params"], [&](const nx::Tree& p) {
    resnet_detail::Forward f{p, stats, cfg};
    nx::Tensor loss = cross_entropy(f.logits(x), labels);
    return std::pair<nx::Tensor, nx::Tree>(loss, nx::Tree::map(std::move(f.new_stats)));
  });
  nx::Tree params =
      nx::tree_map(state["params"], vg.grad,
                   [&](const nx::Tensor& w, const nx::Tensor& g) { return w - cfg.lr * g; });
  return {nx::Tree{{"params", params}, {"stats", vg.aux}}, vg.value};
}

}  // namespace nx_bench::steps
