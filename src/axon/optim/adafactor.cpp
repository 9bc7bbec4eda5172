// Adafactor's stages (Shazeer & Stern 2018, laid out as Optax's adafactor): factored second
// moments, update clipping by block RMS, parameter-scaled steps, and an undebiased EMA.
#include <algorithm>
#include <numeric>
#include <optional>
#include <string>
#include <utility>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace axon::optim::detail {

namespace {

// The axes to factor a leaf over: {second largest, largest} (ties: the later axis counts as
// larger, as numpy's argsort on small arrays leaves them in order), or nothing when the leaf
// has rank < 2 or its second-largest axis is below min_dim.
std::optional<std::pair<int64_t, int64_t>> factored_dims(const nx::Shape& shape, int64_t min_dim) {
  if (shape.size() < 2) return std::nullopt;
  std::vector<int64_t> order(shape.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return shape[a] < shape[b]; });
  int64_t d1 = order[order.size() - 2], d0 = order.back();
  if (shape[d1] < min_dim) return std::nullopt;
  return std::make_pair(d1, d0);
}

nx::Shape without(const nx::Shape& shape, int64_t axis) {
  nx::Shape s = shape;
  s.erase(s.begin() + axis);
  return s;
}

Tensor rms(const Tensor& x) {
  return nx::sqrt(nx::mean(nx::square(x)));
}

}  // namespace

Transformation scale_by_factored_rms(double decay_rate, double eps1, int64_t min_dim) {
  std::string w = who("adafactor");
  // The three state trees (v_row, v_col, v) for one leaf shape, zeros or [1] placeholders.
  auto layout = [min_dim](const nx::Shape& shape, nx::DType dt) {
    Tensor none = nx::zeros({1}, dt);
    if (auto f = factored_dims(shape, min_dim)) {
      return std::vector<Tensor>{nx::zeros(without(shape, f->second), dt),
                                 nx::zeros(without(shape, f->first), dt), none};
    }
    return std::vector<Tensor>{none, none, nx::zeros(shape, dt)};
  };
  return {[w, layout, decay_rate, eps1](const Tree& params) {
            check_float_leaves(w, params, "parameter");
            std::vector<Tree> trees = zip(std::span<const Tree>(&params, 1), 3, [&](auto leaves) {
              return layout(leaves[0].shape(), moment_dtype(leaves[0].dtype()));
            });
            return Tree{
                {"v_row", trees[0]},
                {"v_col", trees[1]},
                {"v", trees[2]},
                {"count", zero_count()},
                {"hyperparams", make_hyperparams({{"decay_rate", decay_rate}, {"eps1", eps1}})}};
          },
          [w, layout, min_dim](const Tree& updates, const Tree& state, const Tree&) {
            check_float_leaves(w, updates, "update");
            std::vector<Tree> trees{updates};
            for (const char* k : {"v_row", "v_col", "v"}) {
              const Tree& m = field(w, state, k);
              std::string what = "state." + std::string(k);
              check_like(w, updates, "the updates", m, what.c_str(), false);
              trees.push_back(m);
            }
            // Each leaf's statistics must have the shapes its update implies.
            std::vector<nx::PathLeaf> paths = nx::tree_flatten_with_paths(updates);
            for (size_t i = 0; i < paths.size(); ++i) {
              std::vector<Tensor> want = layout(paths[i].tensor.shape(), nx::f32);
              for (size_t k = 0; k < 3; ++k) {
                Tensor got = nx::tree_leaves(trees[k + 1])[i];
                if (got.shape() != want[k].shape() || !nx::is_float(got.dtype())) {
                  throw nx::Error(w + ": the state's statistics for " + path_label(paths[i].path) +
                                  " should be " + nx::type_string({want[k].shape(), nx::f32}) +
                                  " or f64, got " + nx::type_string(got.type()));
                }
              }
            }
            Tensor count = count_field(w, state, "count");
            Tensor t = cast(count + 1, nx::f64);
            // The second-moment decay 1 - t^(-decay_rate): 0 at the first step.
            Tensor beta = 1.0 - nx::pow(t, -hyperparam(w, state, "decay_rate"));
            Scalars s({beta, 1.0 - beta, hyperparam(w, state, "eps1")});
            std::vector<Tree> out = zip(trees, 4, [&](std::span<const Tensor> a) {
              nx::DType dt = a[3].dtype() == nx::f64 || a[1].dtype() == nx::f64 ? nx::f64 : nx::f32;
              const std::vector<Tensor>& c = s.in(dt);
              Tensor g = cast(a[0], dt);
              Tensor g2 = nx::square(g) + c[2];
              if (auto f = factored_dims(g.shape(), min_dim)) {
                auto [d1, d0] = *f;
                Tensor row = c[0] * a[1] + c[1] * nx::mean(g2, {.axes = nx::Axes{d0}});
                Tensor col = c[0] * a[2] + c[1] * nx::mean(g2, {.axes = nx::Axes{d1}});
                int64_t reduced_d1 = d1 > d0 ? d1 - 1 : d1;
                Tensor row_mean = nx::mean(row, {.axes = nx::Axes{reduced_d1}, .keep_axes = true});
                Tensor row_factor = nx::rsqrt(row / row_mean);
                Tensor col_factor = nx::rsqrt(col);
                Tensor u = g * nx::new_axis(row_factor, d0) * nx::new_axis(col_factor, d1);
                return std::vector<Tensor>{u, row, col, a[3]};
              }
              Tensor v = c[0] * a[3] + c[1] * g2;
              return std::vector<Tensor>{g * nx::rsqrt(v), a[1], a[2], v};
            });
            Tree next{{"v_row", out[1]},
                      {"v_col", out[2]},
                      {"v", out[3]},
                      {"count", count + 1},
                      {"hyperparams", field(w, state, "hyperparams")}};
            return UpdateResult{out[0], next};
          }};
}

Transformation clip_by_block_rms(double threshold) {
  std::string w = who("adafactor");
  return {[threshold](const Tree&) {
            return Tree{{"hyperparams", make_hyperparams({{"clipping_threshold", threshold}})}};
          },
          [w](const Tree& updates, const Tree& state, const Tree&) {
            check_float_leaves(w, updates, "update");
            Scalars s({hyperparam(w, state, "clipping_threshold")});
            Tree out = nx::tree_map(updates, [&](const Tensor& u) {
              Tensor denom = nx::max(rms(u) / s.in(u.dtype())[0], nx::scalar(1.0, u.dtype()));
              return u / denom;
            });
            return UpdateResult{out, state};
          }};
}

Transformation scale_by_param_block_rms(double min_scale) {
  std::string w = who("adafactor");
  return {[min_scale](const Tree&) {
            return Tree{{"hyperparams", make_hyperparams({{"eps2", min_scale}})}};
          },
          [w](const Tree& updates, const Tree& state, const Tree& params) {
            check_float_leaves(w, updates, "update");
            require_params(w, params, updates);
            Scalars s({hyperparam(w, state, "eps2")});
            Tree out = nx::tree_map(updates, params, [&](const Tensor& u, const Tensor& p) {
              return u * nx::max(rms(cast(p, u.dtype())), s.in(u.dtype())[0]);
            });
            return UpdateResult{out, state};
          }};
}

Transformation ema(double decay) {
  return moment_transformation(
      "adafactor", {{"mu", 0.0}}, false, {{"b1", decay}},
      [](const std::vector<Tensor>& hp, const Tensor&) {
        return std::vector<Tensor>{hp[0], 1.0 - hp[0]};
      },
      [](std::span<const Tensor> a, const std::vector<Tensor>& c) {
        Tensor m = c[1] * a[0] + c[0] * a[1];
        return std::vector<Tensor>{m, m};
      });
}

}  // namespace axon::optim::detail
