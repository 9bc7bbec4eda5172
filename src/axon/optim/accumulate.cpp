// accumulate_gradients: gradient accumulation over micro-batches, with the inner update in an
// nx::cond so that compiled steps only run it every `steps` calls.
#include <string>

#include "common.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim {

Transformation accumulate_gradients(Transformation inner, int64_t steps) {
  std::string w = detail::who("accumulate_gradients");
  if (steps < 1) throw nx::Error(w + ": steps must be at least 1, got " + std::to_string(steps));
  if (!inner.init || !inner.update) {
    throw nx::Error(w + ": the inner transformation has an empty function");
  }
  return {[inner](const Tree& params) {
            return Tree{{"accumulated", detail::fill_moments(params, 0.0)},
                        {"step", detail::zero_count()},
                        {"inner", inner.init(params)}};
          },
          [inner, steps, w](const Tree& updates, const Tree& state, const Tree& params) {
            detail::check_float_leaves(w, updates, "update");
            const Tree& acc = detail::field(w, state, "accumulated");
            detail::check_like(w, updates, "the updates", acc, "state.accumulated");
            detail::check_float_leaves(w, acc, "state.accumulated");
            Tensor step = detail::count_field(w, state, "step");
            const Tree& inner_state = detail::field(w, state, "inner");

            Tree sum = nx::tree_map(acc, updates, [](const Tensor& a, const Tensor& u) {
              return a + detail::cast(u, a.dtype());
            });
            Tensor next_step = step + 1;
            Tensor fire = nx::greater_equal(next_step, nx::scalar_int(steps, next_step.dtype()));
            Tree zero_step(nx::zeros_like(step));

            // Both branches return [updates, accumulated, step, inner state], the updates in the
            // accumulator's dtypes so that the branches agree whatever inner returns.
            Tree out = nx::cond(
                fire,
                [&] {
                  Tree mean = nx::tree_map(sum, [&](const Tensor& a) {
                    return a / nx::scalar(static_cast<double>(steps), a.dtype());
                  });
                  UpdateResult r = inner.update(mean, inner_state, params);
                  detail::check_like(w, updates, "the updates", r.updates,
                                     "the inner transformation's updates");
                  detail::check_same_types(w, inner_state, r.state,
                                           "the inner transformation's update");
                  Tree u = nx::tree_map(r.updates, acc, [](const Tensor& x, const Tensor& a) {
                    return detail::cast(x, a.dtype());
                  });
                  Tree zeros = nx::tree_map(acc, [](const Tensor& a) { return nx::zeros_like(a); });
                  return Tree::list({u, zeros, zero_step, r.state});
                },
                [&] {
                  Tree zeros = nx::tree_map(acc, [](const Tensor& a) { return nx::zeros_like(a); });
                  return Tree::list({zeros, sum, Tree(next_step), inner_state});
                });
            Tree next{{"accumulated", out[1]}, {"step", out[2]}, {"inner", out[3]}};
            return UpdateResult{out[0], next};
          }};
}

}  // namespace axon::optim
