#include "nx/ops/linalg.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "promote.hpp"

namespace nx {

using detail::bind;
using detail::bind1;
using detail::cast;
using detail::check_defined;
using detail::Prim;

Tensor dot(const Tensor& a, const Axes& contract_a, const Axes& batch_a, const Tensor& b,
           const Axes& contract_b, const Axes& batch_b) {
  auto [x, y] = detail::promote(a, b, true, "nx::dot");
  detail::DotParams p{normalize_axes(contract_a, x.rank(), "nx::dot"),
                      normalize_axes(batch_a, x.rank(), "nx::dot"),
                      normalize_axes(contract_b, y.rank(), "nx::dot"),
                      normalize_axes(batch_b, y.rank(), "nx::dot")};
  return bind1(Prim::dot_general, {x, y}, p);
}

Tensor dot(const Tensor& a, const Axes& contract_a, const Tensor& b, const Axes& contract_b) {
  return dot(a, contract_a, {}, b, contract_b, {});
}

Tensor dot(const Tensor& a, const Tensor& b) {
  check_defined(a, "nx::dot", "a");
  check_defined(b, "nx::dot", "b");
  if (a.rank() == 0 || b.rank() == 0) return multiply(a, b);
  int64_t cb = b.rank() == 1 ? 0 : b.rank() - 2;
  return dot(a, {a.rank() - 1}, b, {cb});
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_defined(a, "nx::matmul", "a");
  check_defined(b, "nx::matmul", "b");
  if (a.rank() == 0 || b.rank() == 0) {
    throw Error("nx::matmul: operands must have rank >= 1, got " + type_string(a.type()) + " and " +
                type_string(b.type()));
  }
  Tensor x = a.rank() == 1 ? reshape(a, {1, a.shape()[0]}) : a;
  Tensor y = b.rank() == 1 ? reshape(b, {b.shape()[0], 1}) : b;
  Shape bx(x.shape().begin(), x.shape().end() - 2), by(y.shape().begin(), y.shape().end() - 2);
  Shape batch = broadcast_shapes(bx, by, "nx::matmul");
  int64_t nb = static_cast<int64_t>(batch.size());
  Shape out = batch;
  if (a.rank() > 1) out.push_back(a.shape()[a.rank() - 2]);
  if (b.rank() > 1) out.push_back(b.shape()[b.rank() - 1]);
  if (y.rank() == 2) {
    // A matrix rhs is shared by every batch: contracting x's last axis with y's first gives
    // (batch..., M, N) as one (prod(batch) * M, K) @ (K, N) product, without broadcasting
    // (and materializing) y per batch.
    return reshape(dot(x, {x.rank() - 1}, y, {0}), out);
  }
  auto full_shape = [&](const Tensor& t) {
    Shape s = batch;
    s.push_back(t.shape()[t.rank() - 2]);
    s.push_back(t.shape()[t.rank() - 1]);
    return s;
  };
  x = broadcast(x, full_shape(x));
  y = broadcast(y, full_shape(y));
  Axes batch_axes = all_axes(nb);
  Tensor r = dot(x, {nb + 1}, batch_axes, y, {nb}, batch_axes);
  return reshape(r, out);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_defined(a, "nx::outer", "a");
  check_defined(b, "nx::outer", "b");
  return multiply(reshape(a, {a.size(), 1}), reshape(b, {1, b.size()}));
}

Tensor tensordot(const Tensor& a, const Tensor& b, const Axes& axes_a, const Axes& axes_b) {
  return dot(a, axes_a, b, axes_b);
}

Tensor norm(const Tensor& x, const NormOptions& opts) {
  check_defined(x, "nx::norm", "x");
  Tensor xf = cast(x, to_floating(x.dtype()));
  Axes axes;
  if (opts.axes) {
    axes = normalize_axes(*opts.axes, x.rank(), "nx::norm");
  } else {
    axes = all_axes(x.rank());
  }
  bool matrix = opts.axes ? axes.size() == 2 : x.rank() == 2;
  if (opts.axes && axes.size() != 1 && axes.size() != 2) {
    throw Error("nx::norm: expects one axis (vector norm) or two (matrix norm), got " +
                std::to_string(axes.size()));
  }
  if (opts.frobenius || (matrix && !opts.ord)) {
    return sqrt(sum(multiply(xf, xf), {axes, opts.keep_axes}));
  }
  Tensor ax = abs(xf);
  double ord = opts.ord ? *opts.ord : 2.0;
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (matrix) {
    int64_t r = axes[0], c = axes[1];
    auto finish = [&](const Tensor& t) {
      // t keeps both axes as size 1; drop them unless asked to keep.
      return opts.keep_axes ? t : squeeze(t, {std::min(r, c), std::max(r, c)});
    };
    if (ord == 1 || ord == -1) {
      Tensor col = sum(ax, {Axes{r}, true});
      return finish(ord == 1 ? reduce_max(col, {Axes{c}, true}) : reduce_min(col, {Axes{c}, true}));
    }
    if (ord == inf || ord == -inf) {
      Tensor row = sum(ax, {Axes{c}, true});
      return finish(ord == inf ? reduce_max(row, {Axes{r}, true})
                               : reduce_min(row, {Axes{r}, true}));
    }
    throw Error("nx::norm: matrix norm of order " + std::to_string(ord) +
                " needs singular values (SVD), which nx does not provide; use 1, -1, inf, -inf or "
                "the Frobenius norm");
  }
  ReduceOptions ro{axes, opts.keep_axes};
  if (ord == inf) return reduce_max(ax, ro);
  if (ord == -inf) return reduce_min(ax, ro);
  if (ord == 0) return cast(sum(not_equal(xf, 0), ro), xf.dtype());
  if (ord == 2) return sqrt(sum(multiply(xf, xf), ro));
  if (ord == 1) return sum(ax, ro);
  if (!(ord > 0)) {
    throw Error("nx::norm: vector norm order must be > 0, inf, -inf or 0, got " +
                std::to_string(ord));
  }
  return pow(sum(pow(ax, scalar(ord, xf.dtype())), ro), scalar(1.0 / ord, xf.dtype()));
}

std::pair<Tensor, Tensor> qr(const Tensor& x, bool complete) {
  check_defined(x, "nx::qr", "x");
  std::vector<Tensor> out =
      bind(Prim::qr, {cast(x, to_floating(x.dtype()))}, detail::QrParams{complete});
  return {out[0], out[1]};
}

}  // namespace nx
