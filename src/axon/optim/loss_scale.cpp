// Loss scaling for mixed precision (Axon.LossScale): identity, static and dynamic, and
// skipping an update whose gradients overflowed.
#include <string>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"

namespace axon::optim {

namespace {

Tensor scale_field(const std::string& w, const Tree& state) {
  const Tree& s = detail::field(w, state, "loss_scale");
  if (!s.is_leaf() || s.leaf().rank() != 0 || !nx::is_float(s.leaf().dtype())) {
    throw nx::Error(w + ": state entry \"loss_scale\" must be a float scalar, got " +
                    s.to_string());
  }
  return s.leaf();
}

void check_loss(const std::string& w, const Tensor& loss) {
  if (!loss.defined() || !nx::is_float(loss.dtype())) {
    throw nx::Error(w + ": the loss must be a floating-point tensor, got " +
                    (loss.defined() ? nx::type_string(loss.type()) : std::string("nothing")));
  }
}

// grads / scale, computed in at least f32 (an f16 gradient divided in f16 would flush the
// small values that scaling was meant to keep), returned in each gradient's dtype.
Tree divide_by(const Tree& grads, const Tensor& scale) {
  return nx::tree_map(grads, [&](const Tensor& g) {
    nx::DType wide = nx::merge(g.dtype(), nx::f32);
    return detail::cast(detail::cast(g, wide) / detail::cast(scale, wide), g.dtype());
  });
}

// pred scalar: no element of any leaf is NaN or infinite.
Tensor all_finite(const Tree& grads) {
  Tensor ok = nx::scalar(1.0, nx::pred);
  nx::tree_for_each(grads,
                    [&](const Tensor& g) { ok = nx::logical_and(ok, nx::all(nx::is_finite(g))); });
  return ok;
}

}  // namespace

LossScale identity_loss_scale() {
  std::string w = detail::who("identity_loss_scale");
  return {[] { return Tree(); },
          [w](const Tensor& loss, const Tree&) {
            check_loss(w, loss);
            return loss;
          },
          [w](const Tree& grads, const Tree& state) {
            detail::check_float_leaves(w, grads, "gradient");
            return LossScale::Unscaled{grads, nx::scalar(1.0, nx::pred), state};
          }};
}

LossScale static_loss_scale(double scale) {
  std::string w = detail::who("static_loss_scale");
  if (!(scale > 0))
    throw nx::Error(w + ": the scale must be positive, got " + std::to_string(scale));
  return {[scale] {
            return Tree{{"loss_scale", nx::scalar(scale, nx::f32)}};
          },
          [w](const Tensor& loss, const Tree& state) {
            check_loss(w, loss);
            return loss * detail::cast(scale_field(w, state), loss.dtype());
          },
          [w](const Tree& grads, const Tree& state) {
            detail::check_float_leaves(w, grads, "gradient");
            Tensor s = scale_field(w, state);
            return LossScale::Unscaled{divide_by(grads, s), all_finite(grads), state};
          }};
}

LossScale dynamic_loss_scale(const DynamicLossScaleOptions& opts) {
  std::string w = detail::who("dynamic_loss_scale");
  if (!(opts.init_scale > 0) || opts.period < 1 || !(opts.factor > 1) || !(opts.min_scale > 0)) {
    throw nx::Error(w + ": needs init_scale > 0, period >= 1, factor > 1 and min_scale > 0; got " +
                    std::to_string(opts.init_scale) + ", " + std::to_string(opts.period) + ", " +
                    std::to_string(opts.factor) + ", " + std::to_string(opts.min_scale));
  }
  return {[opts] {
            return Tree{{"loss_scale", nx::scalar(opts.init_scale, nx::f32)},
                        {"counter", detail::zero_count()}};
          },
          [w](const Tensor& loss, const Tree& state) {
            check_loss(w, loss);
            return loss * detail::cast(scale_field(w, state), loss.dtype());
          },
          [w, opts](const Tree& grads, const Tree& state) {
            detail::check_float_leaves(w, grads, "gradient");
            Tensor s = scale_field(w, state);
            Tensor counter = detail::count_field(w, state, "counter");
            Tensor finite = all_finite(grads);
            Tensor grown = s * opts.factor;
            Tensor at_period = nx::equal(counter, nx::scalar_int(opts.period - 1, counter.dtype()));
            // Grow after `period` finite steps, unless growing overflows the scale itself.
            Tensor if_finite =
                nx::select(nx::logical_and(at_period, nx::is_finite(grown)), grown, s);
            Tensor if_not = nx::max(s / opts.factor, nx::scalar(opts.min_scale, s.dtype()));
            Tensor next_scale = nx::select(finite, if_finite, if_not);
            Tensor next_counter = nx::select(
                finite, nx::remainder(counter + 1, nx::scalar_int(opts.period, counter.dtype())),
                nx::zeros_like(counter));
            Tree next{{"loss_scale", next_scale}, {"counter", next_counter}};
            return LossScale::Unscaled{divide_by(grads, s), finite, next};
          }};
}

UpdateResult skip_if_not_finite(const Transformation& inner, const Tensor& finite,
                                const Tree& updates, const Tree& state, const Tree& params) {
  std::string w = detail::who("skip_if_not_finite");
  if (!inner.update) throw nx::Error(w + ": the inner transformation has no update function");
  if (!finite.defined() || finite.rank() != 0) {
    throw nx::Error(w + ": `finite` must be a scalar, got " +
                    (finite.defined() ? nx::type_string(finite.type()) : std::string("nothing")));
  }
  Tensor ok = finite.dtype() == nx::pred ? finite : nx::not_equal(finite, 0);
  UpdateResult r = inner.update(updates, state, params);
  detail::check_same_types(w, state, r.state, "the inner transformation's update");
  Tree out = nx::tree_map(r.updates,
                          [&](const Tensor& u) { return nx::select(ok, u, nx::zeros_like(u)); });
  Tree next = nx::tree_map(r.state, state,
                           [&](const Tensor& n, const Tensor& o) { return nx::select(ok, n, o); });
  return {out, next};
}

}  // namespace axon::optim
