// Polaris's scaling, clipping and regularising updates: scale, scale_by_state,
// scale_by_learning_rate, scale_by_schedule, clip, clip_by_global_norm, centralize,
// add_decayed_weights, scale_by_trust_ratio and add_noise.
#include <string>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/random.hpp"

namespace axon::optim {

using detail::cast;
using detail::f64;
using detail::hyperparam;
using detail::make_hyperparams;
using detail::Scalars;

namespace {

// A transformation whose state is {"hyperparams": ...} and whose update maps each leaf with
// scalars read from those hyperparameters.
using LeafFn = std::function<Tensor(const Tensor& u, const std::vector<Tensor>& scalars)>;

Transformation hyperparam_map(const char* name, Tree hyperparams, std::vector<std::string> keys,
                              LeafFn fn) {
  std::string w = detail::who(name);
  return {[hyperparams](const Tree&) {
            return Tree{{"hyperparams", hyperparams}};
          },
          [w, keys = std::move(keys), fn = std::move(fn)](const Tree& updates, const Tree& state,
                                                          const Tree&) {
            detail::check_float_leaves(w, updates, "update");
            std::vector<Tensor> values;
            for (const std::string& k : keys) values.push_back(hyperparam(w, state, k));
            Scalars s(std::move(values));
            Tree out =
                nx::tree_map(updates, [&](const Tensor& u) { return fn(u, s.in(u.dtype())); });
            return UpdateResult{out, state};
          }};
}

Tensor sum_of_squares(const Tensor& x) {
  return nx::sum(nx::square(x));
}

}  // namespace

Transformation scale(double step) {
  std::string w = detail::who("scale");
  return {[](const Tree&) { return Tree(); },
          [w, step](const Tree& updates, const Tree& state, const Tree&) {
            detail::check_float_leaves(w, updates, "update");
            Scalars s({f64(step)});
            Tree out =
                nx::tree_map(updates, [&](const Tensor& u) { return u * s.in(u.dtype())[0]; });
            return UpdateResult{out, state};
          }};
}

Transformation scale_by_state(double step) {
  return hyperparam_map("scale_by_state", make_hyperparams({{"scale", step}}), {"scale"},
                        [](const Tensor& u, const std::vector<Tensor>& s) { return u * s[0]; });
}

namespace detail {

Transformation learning_rate_stage(const Rate& lr, double sign, std::string_view name) {
  std::string w = who(name);
  return {[lr](const Tree&) {
            Tree hp{{"learning_rate", lr.at(zero_count())}, {"lr_scale", f64(1.0)}};
            return Tree{{"count", zero_count()}, {"hyperparams", hp}};
          },
          [lr, sign, w](const Tree& updates, const Tree& state, const Tree&) {
            check_float_leaves(w, updates, "update");
            Tensor count = count_field(w, state, "count");
            Tensor rate = lr.is_schedule() ? lr.at(count) : hyperparam(w, state, "learning_rate");
            Tensor factor = rate * hyperparam(w, state, "lr_scale") * sign;
            Scalars s({factor});
            Tree out =
                nx::tree_map(updates, [&](const Tensor& u) { return u * s.in(u.dtype())[0]; });
            Tree hp = field(w, state, "hyperparams");
            if (lr.is_schedule()) hp = hp.set("learning_rate", Tree(rate));
            return UpdateResult{out, Tree{{"count", count + 1}, {"hyperparams", hp}}};
          }};
}

}  // namespace detail

Transformation scale_by_learning_rate(const Rate& lr) {
  return detail::learning_rate_stage(lr, -1.0, "scale_by_learning_rate");
}

Transformation scale_by_schedule(Schedule schedule) {
  Rate rate(std::move(schedule));
  std::string w = detail::who("scale_by_schedule");
  return {[](const Tree&) {
            return Tree{{"count", detail::zero_count()}};
          },
          [rate, w](const Tree& updates, const Tree& state, const Tree&) {
            detail::check_float_leaves(w, updates, "update");
            Tensor count = detail::count_field(w, state, "count");
            Scalars s({rate.at(count)});
            Tree out =
                nx::tree_map(updates, [&](const Tensor& u) { return u * s.in(u.dtype())[0]; });
            return UpdateResult{out, Tree{{"count", count + 1}}};
          }};
}

Transformation clip(double delta) {
  return hyperparam_map(
      "clip", make_hyperparams({{"delta", delta}}), {"delta"},
      [](const Tensor& u, const std::vector<Tensor>& s) { return nx::clip(u, -s[0], s[0]); });
}

Transformation clip_by_global_norm(double max_norm) {
  std::string w = detail::who("clip_by_global_norm");
  return {[max_norm](const Tree&) {
            return Tree{{"hyperparams", make_hyperparams({{"max_norm", max_norm}})}};
          },
          [w](const Tree& updates, const Tree& state, const Tree&) {
            detail::check_float_leaves(w, updates, "update");
            Tensor max = hyperparam(w, state, "max_norm");
            std::vector<Tensor> leaves = nx::tree_leaves(updates);
            if (leaves.empty()) return UpdateResult{updates, state};
            nx::DType acc = nx::f32;
            for (const Tensor& u : leaves) acc = u.dtype() == nx::f64 ? nx::f64 : acc;
            Tensor total = nx::scalar(0.0, acc);
            for (const Tensor& u : leaves) total = total + sum_of_squares(cast(u, acc));
            Tensor norm = nx::sqrt(total);
            Tensor m = cast(max, acc);
            Tensor factor = nx::select(nx::less(norm, m), nx::scalar(1.0, acc), m / norm);
            Scalars s({factor});
            Tree out =
                nx::tree_map(updates, [&](const Tensor& u) { return u * s.in(u.dtype())[0]; });
            return UpdateResult{out, state};
          }};
}

Transformation centralize() {
  std::string w = detail::who("centralize");
  return {[](const Tree&) { return Tree(); },
          [w](const Tree& updates, const Tree& state, const Tree&) {
            detail::check_float_leaves(w, updates, "update");
            Tree out = nx::tree_map(updates, [](const Tensor& u) {
              if (u.rank() <= 1) return u;
              nx::Axes axes;
              for (int64_t a = 1; a < u.rank(); ++a) axes.push_back(a);
              return u - cast(nx::mean(u, {.axes = axes, .keep_axes = true}), u.dtype());
            });
            return UpdateResult{out, state};
          }};
}

Transformation add_decayed_weights(const DecayOptions& opts) {
  std::string w = detail::who("add_decayed_weights");
  return {[opts](const Tree&) {
            return Tree{{"hyperparams", make_hyperparams({{"decay", opts.decay}})}};
          },
          [w](const Tree& updates, const Tree& state, const Tree& params) {
            detail::check_float_leaves(w, updates, "update");
            detail::require_params(w, params, updates);
            Scalars s({hyperparam(w, state, "decay")});
            Tree out = nx::tree_map(updates, params, [&](const Tensor& u, const Tensor& p) {
              return u + s.in(u.dtype())[0] * cast(p, u.dtype());
            });
            return UpdateResult{out, state};
          }};
}

Transformation scale_by_trust_ratio(const TrustRatioOptions& opts) {
  std::string w = detail::who("scale_by_trust_ratio");
  return {
      [opts](const Tree&) {
        return Tree{{"hyperparams", make_hyperparams({{"min_norm", opts.min_norm},
                                                      {"trust_coefficient", opts.trust_coefficient},
                                                      {"eps", opts.eps}})}};
      },
      [w](const Tree& updates, const Tree& state, const Tree& params) {
        detail::check_float_leaves(w, updates, "update");
        detail::require_params(w, params, updates);
        Scalars s({hyperparam(w, state, "min_norm"), hyperparam(w, state, "trust_coefficient"),
                   hyperparam(w, state, "eps")});
        Tree out = nx::tree_map(updates, params, [&](const Tensor& u, const Tensor& p) {
          nx::DType md = detail::moment_dtype(u.dtype());
          const std::vector<Tensor>& c = s.in(md);
          // Norms below min_norm count as min_norm (Polaris's safe_norm).
          Tensor pn = nx::max(nx::sqrt(sum_of_squares(cast(p, md))), c[0]);
          Tensor un = nx::max(nx::sqrt(sum_of_squares(cast(u, md))), c[0]);
          Tensor ratio = c[1] * pn / (un + c[2]);
          Tensor zero = nx::logical_or(nx::equal(pn, 0.0), nx::equal(un, 0.0));
          Tensor safe = nx::select(zero, nx::scalar(1.0, md), ratio);
          return u * cast(safe, u.dtype());
        });
        return UpdateResult{out, state};
      }};
}

Transformation add_noise(const NoiseOptions& opts) {
  std::string w = detail::who("add_noise");
  return {
      [opts](const Tree&) {
        return Tree{{"count", detail::zero_count()},
                    {"key", nx::random::key(static_cast<int64_t>(opts.seed))},
                    {"hyperparams", make_hyperparams({{"eta", opts.eta}, {"gamma", opts.gamma}})}};
      },
      [w](const Tree& updates, const Tree& state, const Tree&) {
        detail::check_float_leaves(w, updates, "update");
        Tensor count = detail::count_field(w, state, "count");
        const Tree& key = detail::field(w, state, "key");
        if (!key.is_leaf() || key.leaf().type() != nx::TensorType{{2}, nx::u32}) {
          throw nx::Error(w + ": state entry \"key\" must be a u32[2] random key, got " +
                          key.to_string());
        }
        // The paper's sigma^2 = eta / t^gamma is a variance: the noise is scaled by its root.
        Tensor t = cast(count + 1, nx::f64);
        Tensor variance = hyperparam(w, state, "eta") / nx::pow(t, hyperparam(w, state, "gamma"));
        Scalars s({nx::sqrt(variance)});
        std::vector<Tensor> leaves = nx::tree_leaves(updates);
        Tensor keys = nx::random::split(key.leaf(), static_cast<int64_t>(leaves.size()) + 1);
        for (size_t i = 0; i < leaves.size(); ++i) {
          const Tensor& u = leaves[i];
          Tensor k = nx::take(keys, nx::scalar_int(static_cast<int64_t>(i) + 1, nx::s64));
          Tensor noise = nx::random::normal(k, u.shape(), {.dtype = u.dtype()});
          leaves[i] = u + s.in(u.dtype())[0] * noise;
        }
        Tree out = nx::tree_unflatten(nx::tree_structure(updates), leaves);
        Tree next{{"count", count + 1},
                  {"key", nx::take(keys, nx::scalar_int(0, nx::s64))},
                  {"hyperparams", detail::field(w, state, "hyperparams")}};
        return UpdateResult{out, next};
      }};
}

}  // namespace axon::optim
