// The scalings of AdaMax, NAdam (both as torch.optim) and Lion (as Optax).
#include <string>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim::detail {

Transformation scale_by_adamax(double b1, double b2, double eps) {
  return moment_transformation(
      "adamax", {{"mu", 0.0}, {"nu", 0.0}}, true, {{"b1", b1}, {"b2", b2}, {"eps", eps}},
      [](const std::vector<Tensor>& hp, const Tensor& t) {
        return std::vector<Tensor>{hp[0], 1.0 - hp[0], hp[1], hp[2], 1.0 - nx::pow(hp[0], t)};
      },
      [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor &g = a[0], &mu = a[1], &nu = a[2];
        Tensor m = c[1] * g + c[0] * mu;
        // torch adds eps to |g| before the max, so u never reaches 0.
        Tensor u = nx::max(nu * c[2], nx::abs(g) + c[3]);
        return std::vector<Tensor>{m / u / c[4], m, u};
      });
}

Transformation scale_by_nadam(double b1, double b2, double eps, double momentum_decay) {
  std::string w = who("nadam");
  return {
      [w, b1, b2, eps, momentum_decay](const Tree& params) {
        check_float_leaves(w, params, "parameter");
        return Tree{
            {"mu", fill_moments(params, 0.0)},
            {"nu", fill_moments(params, 0.0)},
            {"count", zero_count()},
            {"mu_product", f64(1.0)},
            {"hyperparams",
             make_hyperparams(
                 {{"b1", b1}, {"b2", b2}, {"eps", eps}, {"momentum_decay", momentum_decay}})}};
      },
      [w](const Tree& updates, const Tree& state, const Tree&) {
        check_float_leaves(w, updates, "update");
        const Tree& mu = field(w, state, "mu");
        const Tree& nu = field(w, state, "nu");
        check_like(w, updates, "the updates", mu, "state.mu");
        check_like(w, updates, "the updates", nu, "state.nu");
        check_float_leaves(w, mu, "state.mu");
        check_float_leaves(w, nu, "state.nu");
        Tensor count = count_field(w, state, "count");
        const Tree& product = field(w, state, "mu_product");
        if (!product.is_leaf() || product.leaf().rank() != 0 ||
            !nx::is_float(product.leaf().dtype())) {
          throw nx::Error(w + ": state entry \"mu_product\" must be a float scalar, got " +
                          product.to_string());
        }
        Tensor b1 = hyperparam(w, state, "b1"), b2 = hyperparam(w, state, "b2");
        Tensor psi = hyperparam(w, state, "momentum_decay");
        Tensor t = cast(count + 1, nx::f64);
        // Dozat's momentum schedule mu_t = b1 (1 - 0.5 * 0.96^(t psi)) and its products.
        Tensor mu_t = b1 * (1.0 - nx::pow(f64(0.96), t * psi) * 0.5);
        Tensor mu_next = b1 * (1.0 - nx::pow(f64(0.96), (t + 1.0) * psi) * 0.5);
        Tensor p = cast(product.leaf(), nx::f64) * mu_t;
        Scalars s({b1, 1.0 - b1, b2, 1.0 - b2, 1.0 - nx::pow(b2, t), hyperparam(w, state, "eps"),
                   (1.0 - mu_t) / (1.0 - p), mu_next / (1.0 - p * mu_next)});
        std::vector<Tree> trees{updates, mu, nu};
        std::vector<Tree> out = zip(trees, 3, [&](std::span<const Tensor> a) {
          nx::DType dt = a[1].dtype();
          const std::vector<Tensor>& c = s.in(dt);
          Tensor g = cast(a[0], dt);
          Tensor m = c[1] * g + c[0] * a[1];
          Tensor v = c[3] * nx::square(g) + c[2] * a[2];
          Tensor d = nx::sqrt(v / c[4]) + c[5];
          return std::vector<Tensor>{c[6] * (g / d) + c[7] * (m / d), m, v};
        });
        Tree next{{"mu", out[1]},
                  {"nu", out[2]},
                  {"count", count + 1},
                  {"mu_product", cast(p, product.leaf().dtype())},
                  {"hyperparams", field(w, state, "hyperparams")}};
        return UpdateResult{out[0], next};
      }};
}

Transformation scale_by_lion(double b1, double b2) {
  return moment_transformation(
      "lion", {{"mu", 0.0}}, false, {{"b1", b1}, {"b2", b2}},
      [](const std::vector<Tensor>& hp, const Tensor&) {
        return std::vector<Tensor>{hp[0], 1.0 - hp[0], hp[1], 1.0 - hp[1]};
      },
      [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        const Tensor &g = a[0], &mu = a[1];
        Tensor out = nx::sign(c[1] * g + c[0] * mu);
        return std::vector<Tensor>{out, c[3] * g + c[2] * mu};
      });
}

}  // namespace axon::optim::detail
