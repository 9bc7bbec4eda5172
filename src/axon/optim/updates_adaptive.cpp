// Polaris's moment-based scalings: scale_by_adam, scale_by_rss, scale_by_rms, scale_by_belief,
// scale_by_stddev, scale_by_radam, scale_by_yogi, and trace (momentum).
//
// Step-dependent scalars (1 - b^t, RAdam's rectification) are computed in f64 and converted
// once per dtype, as torch computes them in Python doubles.
#include "common.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim {

using detail::moment_transformation;

namespace {

// (1 - d) * x + d * m: Polaris's update_moment (x is g or g^2).
Tensor ema(const Tensor& x, const Tensor& m, const Tensor& d, const Tensor& one_minus_d) {
  return one_minus_d * x + d * m;
}

// Per-step coefficients of the Adam family from hyperparameters (b1, b2, eps, eps_root, ...):
// b1, 1 - b1, b2, 1 - b2, the two bias corrections 1 - b^t, eps, eps_root.
std::vector<Tensor> adam_coefficients(const std::vector<Tensor>& hp, const Tensor& t) {
  const Tensor &b1 = hp[0], &b2 = hp[1];
  return {b1, 1.0 - b1, b2, 1.0 - b2, 1.0 - nx::pow(b1, t), 1.0 - nx::pow(b2, t), hp[2], hp[3]};
}

// Coefficients of the RMS family from (decay, eps): decay, 1 - decay, eps.
std::vector<Tensor> decay_coefficients(const std::vector<Tensor>& hp, const Tensor&) {
  return {hp[0], 1.0 - hp[0], hp[1]};
}

}  // namespace

Transformation scale_by_adam(const AdamOptions& opts) {
  return moment_transformation(
      "scale_by_adam", {{"mu", 0.0}, {"nu", 0.0}}, true,
      {{"b1", opts.b1}, {"b2", opts.b2}, {"eps", opts.eps}, {"eps_root", opts.eps_root}},
      adam_coefficients, [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor &g = a[0], &mu = a[1], &nu = a[2];
        Tensor m = ema(g, mu, c[0], c[1]);
        Tensor v = ema(nx::square(g), nu, c[2], c[3]);
        Tensor out = (m / c[4]) / (nx::sqrt(v / c[5] + c[7]) + c[6]);
        return std::vector<Tensor>{out, m, v};
      });
}

Transformation scale_by_rss(const RssOptions& opts) {
  return moment_transformation(
      "scale_by_rss", {{"sum_of_squares", opts.initial_accumulator_value}}, false,
      {{"eps", opts.eps}}, [](const std::vector<Tensor>& hp, const Tensor&) { return hp; },
      [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor& g = a[0];
        Tensor s = nx::square(g) + a[1];
        Tensor inv = nx::select(nx::greater(s, 0.0), nx::rsqrt(s + c[0]), nx::zeros_like(s));
        return std::vector<Tensor>{g * inv, s};
      });
}

Transformation scale_by_rms(const RmsOptions& opts) {
  return moment_transformation("scale_by_rms", {{"nu", opts.initial_scale}}, false,
                               {{"decay", opts.decay}, {"eps", opts.eps}}, decay_coefficients,
                               [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
                                 const Tensor& g = a[0];
                                 Tensor v = ema(nx::square(g), a[1], c[0], c[1]);
                                 return std::vector<Tensor>{nx::rsqrt(v + c[2]) * g, v};
                               });
}

Transformation scale_by_belief(const BeliefOptions& opts) {
  return moment_transformation(
      "scale_by_belief", {{"mu", 0.0}, {"nu", 0.0}}, true,
      {{"b1", opts.b1}, {"b2", opts.b2}, {"eps", opts.eps}, {"eps_root", opts.eps_root}},
      adam_coefficients, [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor &g = a[0], &mu = a[1], &nu = a[2];
        Tensor m = ema(g, mu, c[0], c[1]);
        // The paper's belief: the variance of g around its prediction m, not g^2.
        Tensor s = ema(nx::square(g - m), nu, c[2], c[3]) + c[7];
        Tensor out = (m / c[4]) / (nx::sqrt(s / c[5]) + c[6]);
        return std::vector<Tensor>{out, m, s};
      });
}

Transformation scale_by_stddev(const RmsOptions& opts) {
  return moment_transformation(
      "scale_by_stddev", {{"mu", 0.0}, {"nu", opts.initial_scale}}, false,
      {{"decay", opts.decay}, {"eps", opts.eps}}, decay_coefficients,
      [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor& g = a[0];
        Tensor m = ema(g, a[1], c[0], c[1]);
        Tensor v = ema(nx::square(g), a[2], c[0], c[1]);
        return std::vector<Tensor>{g * nx::rsqrt(v - nx::square(m) + c[2]), m, v};
      });
}

Transformation scale_by_radam(const RadamOptions& opts) {
  return moment_transformation(
      "scale_by_radam", {{"mu", 0.0}, {"nu", 0.0}}, true,
      {{"b1", opts.b1},
       {"b2", opts.b2},
       {"eps", opts.eps},
       {"eps_root", opts.eps_root},
       {"threshold", opts.threshold}},
      [](const std::vector<Tensor>& hp, const Tensor& t) {
        const Tensor &b1 = hp[0], &b2 = hp[1];
        Tensor b2t = nx::pow(b2, t);
        Tensor rho_inf = 2.0 / (1.0 - b2) - 1.0;
        Tensor rho = rho_inf - t * b2t * 2.0 / (1.0 - b2t);
        Tensor r = nx::sqrt((rho - 4.0) * (rho - 2.0) * rho_inf /
                            ((rho_inf - 4.0) * (rho_inf - 2.0) * rho));
        Tensor rectify = nx::greater_equal(rho, hp[4]);
        return std::vector<Tensor>{b1,        1.0 - b1, b2,    1.0 - b2, 1.0 - nx::pow(b1, t),
                                   1.0 - b2t, hp[2],    hp[3], r,        rectify};
      },
      [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor &g = a[0], &mu = a[1], &nu = a[2];
        Tensor m = ema(g, mu, c[0], c[1]);
        Tensor v = ema(nx::square(g), nu, c[2], c[3]);
        Tensor m_hat = m / c[4];
        Tensor rectified = c[8] * m_hat / (nx::sqrt(v / c[5] + c[7]) + c[6]);
        return std::vector<Tensor>{nx::select(c[9], rectified, m_hat), m, v};
      });
}

Transformation scale_by_yogi(const YogiOptions& opts) {
  double init = opts.initial_accumulator_value;
  return moment_transformation(
      "scale_by_yogi", {{"mu", init}, {"nu", init}}, true,
      {{"b1", opts.b1}, {"b2", opts.b2}, {"eps", opts.eps}, {"eps_root", opts.eps_root}},
      adam_coefficients, [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor &g = a[0], &mu = a[1], &nu = a[2];
        Tensor m = ema(g, mu, c[0], c[1]);
        Tensor g2 = nx::square(g);
        Tensor v = nu - c[3] * nx::sign(nu - g2) * g2;
        Tensor out = (m / c[4]) / (nx::sqrt(v / c[5] + c[7]) + c[6]);
        return std::vector<Tensor>{out, m, v};
      });
}

Transformation trace(const TraceOptions& opts) {
  bool nesterov = opts.nesterov;
  return moment_transformation(
      "trace", {{"trace", 0.0}}, false, {{"decay", opts.decay}},
      [](const std::vector<Tensor>& hp, const Tensor&) { return hp; },
      [nesterov](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor& g = a[0];
        Tensor t = a[1] * c[0] + g;
        return std::vector<Tensor>{nesterov ? t * c[0] + g : t, t};
      });
}

}  // namespace axon::optim
