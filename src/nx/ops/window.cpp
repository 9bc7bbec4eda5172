#include "nx/ops/window.hpp"

#include <string>

#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "promote.hpp"
#include "window_common.hpp"

namespace nx {

using detail::Prim;

namespace {

detail::WindowParams window_params(const Tensor& x, const Shape& window, const WindowOptions& opts,
                                   const char* op) {
  detail::check_defined(x, op, "x");
  size_t r = static_cast<size_t>(x.rank());
  if (window.size() != r) {
    throw Error(std::string(op) + ": the window needs one size per axis of " +
                type_string(x.type()) + ", got " + shape_repr(window));
  }
  for (int64_t w : window)
    if (w < 1)
      throw Error(std::string(op) + ": window sizes must be >= 1, got " + shape_repr(window));
  detail::WindowParams p;
  p.window = window;
  p.strides = detail::per_axis_or_ones(opts.strides, r, op, "strides");
  p.window_dilation = detail::per_axis_or_ones(opts.window_dilations, r, op, "window_dilations");
  std::vector<int64_t> dilated(r);
  for (size_t i = 0; i < r; ++i) dilated[i] = (window[i] - 1) * p.window_dilation[i] + 1;
  detail::resolve_padding(opts.padding, dilated, op, p.pad_lo, p.pad_hi);
  for (size_t i = 0; i < r; ++i) {
    if (p.pad_lo[i] < 0 || p.pad_hi[i] < 0) {
      throw Error(std::string(op) + ": padding must be >= 0, got {" + std::to_string(p.pad_lo[i]) +
                  ", " + std::to_string(p.pad_hi[i]) + "} on axis " + std::to_string(i));
    }
  }
  return p;
}

Tensor numeric(const Tensor& x) {
  return x.dtype() == DType::Pred ? detail::cast(x, DType::U8) : x;
}

Tensor window_reduce(Prim prim, const Tensor& x, const Shape& window, const WindowOptions& opts,
                     const char* op) {
  detail::WindowParams p = window_params(x, window, opts, op);
  return detail::bind1(prim, {numeric(x)}, p);
}

Tensor window_scatter(Prim prim, const Tensor& x, const Tensor& source, const Tensor& init,
                      const Shape& window, const WindowOptions& opts, const char* op) {
  detail::WindowParams p = window_params(x, window, opts, op);
  detail::check_defined(source, op, "source");
  detail::check_defined(init, op, "init");
  DType t = merge(merge(numeric(x).dtype(), source.dtype()),
                  init.is_weak() ? source.dtype() : init.dtype());
  if (t == DType::Pred) t = DType::U8;
  return detail::bind1(prim, {detail::cast(x, t), detail::cast(source, t), detail::cast(init, t)},
                       p);
}

}  // namespace

Tensor window_sum(const Tensor& x, const Shape& window, const WindowOptions& opts) {
  return window_reduce(Prim::window_sum, x, window, opts, "nx::window_sum");
}
Tensor window_mean(const Tensor& x, const Shape& window, const WindowOptions& opts) {
  Tensor s = window_reduce(Prim::window_sum, x, window, opts, "nx::window_mean");
  return divide(s, static_cast<double>(num_elements(window)));
}
Tensor window_product(const Tensor& x, const Shape& window, const WindowOptions& opts) {
  return window_reduce(Prim::window_product, x, window, opts, "nx::window_product");
}
Tensor window_max(const Tensor& x, const Shape& window, const WindowOptions& opts) {
  return window_reduce(Prim::window_max, x, window, opts, "nx::window_max");
}
Tensor window_min(const Tensor& x, const Shape& window, const WindowOptions& opts) {
  return window_reduce(Prim::window_min, x, window, opts, "nx::window_min");
}
Tensor window_scatter_max(const Tensor& x, const Tensor& source, const Tensor& init,
                          const Shape& window, const WindowOptions& opts) {
  return window_scatter(Prim::window_scatter_max, x, source, init, window, opts,
                        "nx::window_scatter_max");
}
Tensor window_scatter_min(const Tensor& x, const Tensor& source, const Tensor& init,
                          const Shape& window, const WindowOptions& opts) {
  return window_scatter(Prim::window_scatter_min, x, source, init, window, opts,
                        "nx::window_scatter_min");
}

}  // namespace nx
