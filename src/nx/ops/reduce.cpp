#include "nx/ops/reduce.hpp"

#include <algorithm>
#include <string>

#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "promote.hpp"

namespace nx {

using detail::bind1;
using detail::cast;
using detail::check_defined;
using detail::Prim;

namespace {

Axes resolve_axes(const Tensor& x, const std::optional<Axes>& axes, const char* op) {
  check_defined(x, op, "x");
  Axes a = axes ? normalize_axes(*axes, x.rank(), op) : all_axes(x.rank());
  std::sort(a.begin(), a.end());
  return a;
}

Shape kept_shape(const Shape& s, const Axes& axes) {
  Shape out = s;
  for (int64_t a : axes) out[a] = 1;
  return out;
}

Tensor finish(const Tensor& reduced, const Tensor& x, const Axes& axes, bool keep) {
  return keep ? reshape(reduced, kept_shape(x.shape(), axes)) : reduced;
}

int64_t count_over(const Tensor& x, const Axes& axes) {
  int64_t n = 1;
  for (int64_t a : axes) n *= x.shape()[a];
  return n;
}

// Nx's aggregate precision: integers sum in 64 bits of their signedness; pred counts as s64.
DType aggregate_type(DType t) {
  if (is_signed_int(t) || t == DType::Pred) return DType::S64;
  if (is_unsigned_int(t)) return DType::U64;
  return t;
}

Tensor reduce(Prim p, const Tensor& x, const ReduceOptions& opts, const char* op, DType t) {
  Axes axes = resolve_axes(x, opts.axes, op);
  Tensor r = bind1(p, {cast(x, t)}, detail::AxesParams{axes});
  return finish(r, x, axes, opts.keep_axes);
}

}  // namespace

Tensor sum(const Tensor& x, const ReduceOptions& opts) {
  check_defined(x, "nx::sum", "x");
  return reduce(Prim::reduce_sum, x, opts, "nx::sum", aggregate_type(x.dtype()));
}

Tensor product(const Tensor& x, const ReduceOptions& opts) {
  check_defined(x, "nx::product", "x");
  return reduce(Prim::reduce_prod, x, opts, "nx::product", aggregate_type(x.dtype()));
}

Tensor reduce_max(const Tensor& x, const ReduceOptions& opts) {
  check_defined(x, "nx::reduce_max", "x");
  if (x.dtype() == DType::Pred) return any(x, opts);
  return reduce(Prim::reduce_max, x, opts, "nx::reduce_max", x.dtype());
}

Tensor reduce_min(const Tensor& x, const ReduceOptions& opts) {
  check_defined(x, "nx::reduce_min", "x");
  if (x.dtype() == DType::Pred) return all(x, opts);
  return reduce(Prim::reduce_min, x, opts, "nx::reduce_min", x.dtype());
}

Tensor all(const Tensor& x, const ReduceOptions& opts) {
  check_defined(x, "nx::all", "x");
  return reduce(Prim::reduce_and, x, opts, "nx::all", x.dtype());
}

Tensor any(const Tensor& x, const ReduceOptions& opts) {
  check_defined(x, "nx::any", "x");
  return reduce(Prim::reduce_or, x, opts, "nx::any", x.dtype());
}

Tensor mean(const Tensor& x, const ReduceOptions& opts) {
  Axes axes = resolve_axes(x, opts.axes, "nx::mean");
  Tensor xf = cast(x, to_floating(x.dtype()));
  Tensor s = bind1(Prim::reduce_sum, {xf}, detail::AxesParams{axes});
  Tensor m = divide(s, scalar(static_cast<double>(count_over(x, axes)), xf.dtype()));
  return finish(m, x, axes, opts.keep_axes);
}

Tensor variance(const Tensor& x, const VarianceOptions& opts) {
  Axes axes = resolve_axes(x, opts.axes, "nx::variance");
  int64_t n = count_over(x, axes);
  if (opts.ddof < 0)
    throw Error("nx::variance: ddof must be >= 0, got " + std::to_string(opts.ddof));
  Tensor xf = cast(x, to_floating(x.dtype()));
  Tensor mu = mean(xf, {axes, true});
  Tensor centered = subtract(xf, mu);
  Tensor ss = bind1(Prim::reduce_sum, {multiply(centered, centered)}, detail::AxesParams{axes});
  // n - ddof <= 0 divides by zero or a negative count: inf/NaN, as numpy and Nx give.
  Tensor v = divide(ss, scalar(static_cast<double>(n - opts.ddof), xf.dtype()));
  return finish(v, x, axes, opts.keep_axes);
}

Tensor standard_deviation(const Tensor& x, const VarianceOptions& opts) {
  return sqrt(variance(x, opts));
}

Tensor logsumexp(const Tensor& x, const ReduceOptions& opts) {
  Axes axes = resolve_axes(x, opts.axes, "nx::logsumexp");
  Tensor xf = cast(x, to_floating(x.dtype()));
  Tensor m = reduce_max(xf, {axes, true});
  // An all -inf (or empty) slice has max -inf; shifting by 0 there keeps the result -inf.
  m = select(is_finite(m), m, zeros({}, m.dtype()));
  Tensor s = sum(exp(subtract(xf, m)), {axes, true});
  Tensor r = add(log(s), m);
  return opts.keep_axes ? r : reshape(r, [&] {
    Shape out;
    for (int64_t i = 0; i < x.rank(); ++i)
      if (std::find(axes.begin(), axes.end(), i) == axes.end()) out.push_back(x.shape()[i]);
    return out;
  }());
}

Tensor softmax(const Tensor& x, const Axes& axes) {
  Axes a = resolve_axes(x, axes, "nx::softmax");
  Tensor xf = cast(x, to_floating(x.dtype()));
  Tensor m = reduce_max(xf, {a, true});
  m = select(is_finite(m), m, zeros({}, m.dtype()));
  Tensor e = exp(subtract(xf, m));
  return divide(e, sum(e, {a, true}));
}

Tensor log_softmax(const Tensor& x, const Axes& axes) {
  Axes a = resolve_axes(x, axes, "nx::log_softmax");
  Tensor xf = cast(x, to_floating(x.dtype()));
  // (x - max) - log(sum(exp(x - max))): never rounds the full logsumexp to a 16-bit dtype.
  Tensor m = reduce_max(xf, {a, true});
  m = select(is_finite(m), m, zeros({}, m.dtype()));
  Tensor shifted = subtract(xf, m);
  return subtract(shifted, log(sum(exp(shifted), {a, true})));
}

namespace {
Tensor arg(Prim p, const Tensor& x, const ArgOptions& opts, const char* op) {
  check_defined(x, op, "x");
  Tensor in = x.dtype() == DType::Pred ? cast(x, DType::U8) : x;
  int64_t axis;
  if (opts.axis) {
    axis = normalize_axis(*opts.axis, in.rank(), op);
  } else {
    in = reshape(in, {in.size()});
    axis = 0;
  }
  Tensor r = bind1(p, {in}, detail::ArgParams{axis, opts.tie_high});
  if (!opts.keep_axis) return r;
  if (!opts.axis) return reshape(r, Shape(static_cast<size_t>(x.rank()), 1));
  return new_axis(r, axis);
}

Tensor cumulative(Prim p, const Tensor& x, const CumulativeOptions& opts, const char* op, DType t) {
  check_defined(x, op, "x");
  if (x.rank() == 0) return cast(x, t);
  int64_t axis = normalize_axis(opts.axis, x.rank(), op);
  return bind1(p, {cast(x, t)}, detail::ScanParams{axis, opts.reverse});
}
}  // namespace

Tensor argmax(const Tensor& x, const ArgOptions& opts) {
  return arg(Prim::argmax, x, opts, "nx::argmax");
}
Tensor argmin(const Tensor& x, const ArgOptions& opts) {
  return arg(Prim::argmin, x, opts, "nx::argmin");
}

Tensor cumulative_sum(const Tensor& x, const CumulativeOptions& opts) {
  check_defined(x, "nx::cumulative_sum", "x");
  return cumulative(Prim::cumulative_sum, x, opts, "nx::cumulative_sum", aggregate_type(x.dtype()));
}
Tensor cumulative_product(const Tensor& x, const CumulativeOptions& opts) {
  check_defined(x, "nx::cumulative_product", "x");
  return cumulative(Prim::cumulative_product, x, opts, "nx::cumulative_product",
                    aggregate_type(x.dtype()));
}
Tensor cumulative_max(const Tensor& x, const CumulativeOptions& opts) {
  check_defined(x, "nx::cumulative_max", "x");
  DType t = x.dtype() == DType::Pred ? DType::U8 : x.dtype();
  return cumulative(Prim::cumulative_max, x, opts, "nx::cumulative_max", t);
}
Tensor cumulative_min(const Tensor& x, const CumulativeOptions& opts) {
  check_defined(x, "nx::cumulative_min", "x");
  DType t = x.dtype() == DType::Pred ? DType::U8 : x.dtype();
  return cumulative(Prim::cumulative_min, x, opts, "nx::cumulative_min", t);
}

}  // namespace nx
