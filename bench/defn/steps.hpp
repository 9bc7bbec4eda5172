// Training steps for the defn benchmarks, written inline with nx ops (the layer and optimizer
// issues will provide axon::fn and axon::optim; until then the issue asks for exactly this).
//
// A step is one C++ function of (state, x, labels) -> (new state, loss): forward, the loss, the
// gradient from nx::value_and_grad and the optimizer update. The same function runs eagerly
// (called directly) and compiled (wrapped in nx::jit), which is what the benchmarks compare.
// bench/refs/torch_ref.py builds the same models, inputs and optimizers in PyTorch.
//
// Header-only so that tests/nx/defn/step_test.cpp checks the very code the benchmarks time.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench::steps {

// ---- Inputs ------------------------------------------------------------------------------------

/// f32 x[i] = lo + (hi - lo) * (i mod period) / period in row-major order (bench/nx/inputs.hpp's
/// ramp, repeated here so that this header stands alone); torch_ref.py's ramp() matches.
inline nx::Tensor ramp(const nx::Shape& shape, int64_t period, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(nx::num_elements(shape)));
  const float step = (hi - lo) / static_cast<float>(period);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] = lo + step * static_cast<float>(static_cast<int64_t>(i) % period);
  }
  return nx::from_vector(v, shape);
}

/// One-hot f32 labels [n, classes] for the labels i mod classes (torch_ref.py uses the same
/// integer labels with cross_entropy).
inline nx::Tensor cyclic_one_hot(int64_t n, int64_t classes) {
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = i % classes;
  return nx::one_hot(nx::from_vector(labels, nx::Shape{n}), classes, nx::f32);
}

/// A weight tensor whose values span +-1/sqrt(fan_in) (the scale of PyTorch's default init),
/// as a ramp so that torch_ref.py rebuilds it exactly; `period` varies per layer.
inline nx::Tensor scaled_ramp(const nx::Shape& shape, int64_t fan_in, int64_t period) {
  const float a = 1.0f / std::sqrt(static_cast<float>(fan_in));
  return ramp(shape, period, -a, a);
}

// ---- Layers ------------------------------------------------------------------------------------

inline nx::Tensor relu(const nx::Tensor& x) {
  return nx::max(x, 0.0);
}

/// x [N, in] . kernel [in, out] + bias [out].
inline nx::Tensor dense(const nx::Tree& p, const nx::Tensor& x) {
  return nx::dot(x, p["kernel"].leaf()) + p["bias"].leaf();
}

/// NCHW convolution with kernel [O, C, kh, kw] and a per-channel bias.
inline nx::Tensor conv2d(const nx::Tree& p, const nx::Tensor& x, const nx::ConvOptions& opts = {}) {
  const nx::Tensor& bias = p["bias"].leaf();
  return nx::conv(x, p["kernel"].leaf(), opts) + nx::reshape(bias, {1, bias.size(), 1, 1});
}

/// Max pooling over NCHW with a square window and stride `k` (valid: a ragged edge is dropped,
/// as torch.nn.functional.max_pool2d does).
inline nx::Tensor max_pool(const nx::Tensor& x, int64_t k) {
  return nx::window_max(x, {1, 1, k, k}, {.strides = {1, 1, k, k}});
}

/// Mean softmax cross-entropy of logits [N, K] against one-hot labels [N, K].
inline nx::Tensor cross_entropy(const nx::Tensor& logits, const nx::Tensor& one_hot) {
  const double n = static_cast<double>(logits.axis_size(0));
  return nx::negate(nx::sum(nx::log_softmax(logits) * one_hot)) * (1.0 / n);
}

// ---- Adam (torch.optim.Adam's update, bias correction included) --------------------------------

/// Adam's hyperparameters; the defaults are torch.optim.Adam's.
struct AdamConfig {
  double lr = 1e-3;
  double b1 = 0.9;
  double b2 = 0.999;
  double eps = 1e-8;
};

/// The training state {params, m, v, t}: first and second moments like params, zero, and the
/// number of steps taken as an f32 scalar (a tensor, so one executable serves every step).
inline nx::Tree adam_init(const nx::Tree& params) {
  nx::Tree zeros = nx::tree_map(params, [](const nx::Tensor& t) { return nx::zeros_like(t); });
  return nx::Tree{{"params", params}, {"m", zeros}, {"v", zeros}, {"t", nx::zeros({}, nx::f32)}};
}

/// The state after one Adam step with gradients `grads` (params' structure). Per leaf, exactly
/// torch's single-tensor Adam: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
/// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
inline nx::Tree adam_update(const nx::Tree& state, const nx::Tree& grads,
                            const AdamConfig& cfg = {}) {
  const nx::Tensor t = state["t"].leaf() + 1.0;
  const nx::Tensor step_size = cfg.lr / (1.0 - nx::pow(nx::Tensor(cfg.b1), t));
  const nx::Tensor bc2_sqrt = nx::sqrt(1.0 - nx::pow(nx::Tensor(cfg.b2), t));
  nx::FlatTree p = nx::tree_flatten(state["params"]);
  std::vector<nx::Tensor> g = nx::tree_leaves(grads);
  std::vector<nx::Tensor> m = nx::tree_leaves(state["m"]);
  std::vector<nx::Tensor> v = nx::tree_leaves(state["v"]);
  if (g.size() != p.leaves.size() || m.size() != p.leaves.size()) {
    throw nx::Error("adam_update: grads and moments must have the params' " +
                    std::to_string(p.leaves.size()) + " leaves, got " + std::to_string(g.size()) +
                    " and " + std::to_string(m.size()));
  }
  for (size_t i = 0; i < p.leaves.size(); ++i) {
    m[i] = cfg.b1 * m[i] + (1.0 - cfg.b1) * g[i];
    v[i] = cfg.b2 * v[i] + (1.0 - cfg.b2) * (g[i] * g[i]);
    p.leaves[i] = p.leaves[i] - step_size * m[i] / (nx::sqrt(v[i]) / bc2_sqrt + cfg.eps);
  }
  return nx::Tree{{"params", nx::tree_unflatten(p.structure, p.leaves)},
                  {"m", nx::tree_unflatten(p.structure, m)},
                  {"v", nx::tree_unflatten(p.structure, v)},
                  {"t", t}};
}

/// What a step returns: the next state and the loss at the state it started from.
using StepResult = std::pair<nx::Tree, nx::Tensor>;

// ---- MLP 784-128(relu)-10 ----------------------------------------------------------------------

/// {dense_0: {kernel [784, 128], bias}, dense_1: {kernel [128, 10], bias}}.
inline nx::Tree mlp_params() {
  return nx::Tree{
      {"dense_0",
       {{"kernel", scaled_ramp({784, 128}, 784, 17)}, {"bias", scaled_ramp({128}, 784, 11)}}},
      {"dense_1",
       {{"kernel", scaled_ramp({128, 10}, 128, 13)}, {"bias", scaled_ramp({10}, 128, 7)}}},
  };
}

inline nx::Tensor mlp_loss(const nx::Tree& p, const nx::Tensor& x, const nx::Tensor& labels) {
  nx::Tensor h = relu(dense(p["dense_0"], x));
  return cross_entropy(dense(p["dense_1"], h), labels);
}

/// MLP inputs for a batch: x f32[n, 784] (ramp over [0, 1), period 251) and one-hot labels.
inline std::pair<nx::Tensor, nx::Tensor> mlp_batch(int64_t n) {
  return {ramp({n, 784}, 251, 0.0f, 1.0f), cyclic_one_hot(n, 10)};
}

/// One Adam step of the MLP (the function both eager and jit benchmarks run).
inline StepResult mlp_adam_step(const nx::Tree& state, const nx::Tensor& x,
                                const nx::Tensor& labels) {
  nx::ValueAndGrad vg = nx::value_and_grad(
      state["params"], [&](const nx::Tree& p) { return mlp_loss(p, x, labels); });
  return {adam_update(state, vg.grad), vg.value};
}

// ---- CNN: conv3x3-32, pool2, conv3x3-64, pool2, dense 128, dense 10 ----------------------------

/// Valid convolutions: 28 -> 26 -> 13 -> 11 -> 5, so dense_0 sees 64 * 5 * 5 = 1600 features.
inline nx::Tree cnn_params() {
  return nx::Tree{
      {"conv_0", {{"kernel", scaled_ramp({32, 1, 3, 3}, 9, 7)}, {"bias", scaled_ramp({32}, 9, 5)}}},
      {"conv_1",
       {{"kernel", scaled_ramp({64, 32, 3, 3}, 288, 17)}, {"bias", scaled_ramp({64}, 288, 11)}}},
      {"dense_0",
       {{"kernel", scaled_ramp({1600, 128}, 1600, 19)}, {"bias", scaled_ramp({128}, 1600, 13)}}},
      {"dense_1",
       {{"kernel", scaled_ramp({128, 10}, 128, 13)}, {"bias", scaled_ramp({10}, 128, 7)}}},
  };
}

inline nx::Tensor cnn_loss(const nx::Tree& p, const nx::Tensor& x, const nx::Tensor& labels) {
  nx::Tensor h = max_pool(relu(conv2d(p["conv_0"], x)), 2);
  h = max_pool(relu(conv2d(p["conv_1"], h)), 2);
  h = nx::reshape(h, {h.axis_size(0), -1});
  h = relu(dense(p["dense_0"], h));
  return cross_entropy(dense(p["dense_1"], h), labels);
}

/// CNN inputs: x f32[n, 1, 28, 28] (ramp over [0, 1), period 251) and one-hot labels.
inline std::pair<nx::Tensor, nx::Tensor> cnn_batch(int64_t n) {
  return {ramp({n, 1, 28, 28}, 251, 0.0f, 1.0f), cyclic_one_hot(n, 10)};
}

/// One Adam step of the CNN.
inline StepResult cnn_adam_step(const nx::Tree& state, const nx::Tensor& x,
                                const nx::Tensor& labels) {
  nx::ValueAndGrad vg = nx::value_and_grad(
      state["params"], [&](const nx::Tree& p) { return cnn_loss(p, x, labels); });
  return {adam_update(state, vg.grad), vg.value};
}

}  // namespace nx_bench::steps
