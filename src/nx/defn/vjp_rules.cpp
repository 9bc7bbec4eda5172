// The reverse-mode rules: one vector-Jacobian product per primitive of primitives.def.
//
// Contract (vjp.hpp): a rule receives the primal inputs and outputs of one node and the
// cotangents of its outputs, and returns one cotangent per input with exactly that input's shape
// and dtype, or an empty Tensor for a zero cotangent. Rules only call bind and the public nx ops,
// never read tensor data, so under tracing they record graph nodes (the backward pass is an
// ordinary graph: optimized, compiled and differentiable again: grad of grad).
//
// Conventions, following JAX (and Nx where JAX has no rule):
// - Inputs of integer or pred dtype never get a cotangent (empty Tensor); inputs the caller did
//   not ask for (VjpArgs::wanted) are skipped.
// - Piecewise-constant primitives (sign, floor, ceil, round*, trunc, comparisons, is_nan,
//   bitwise ops, shifts, argmax/argmin, iota, threefry2x32, bitcast, convert to a non-float
//   dtype) have zero cotangents everywhere, including at their jumps.
// - Binary elementwise primitives broadcast numpy-style: each operand's cotangent is summed over
//   the axes it was broadcast along and reshaped back to the operand's shape ("unbroadcast").
// - abs'(0) = 1: JAX and Nx both use select(x >= 0, g, -g) (PyTorch uses sign(x), giving 0).
// - max/min: where both operands equal the result, each gets half the cotangent (JAX's
//   _balanced_eq; Nx does the same). So relu written as max(x, 0) has gradient 0.5 at 0; layers
//   that want 0 there (Axon's relu) use custom_grad.
// - pow(x, y): d/dx = y * x^(y-1) except 0 where y == 0 (as JAX for integer exponents and Nx
//   always, so x^0 has gradient 0 even at x = 0 instead of 0 * inf = NaN); d/dy = log(x) * x^y
//   with log(x) replaced by 0 where x == 0 (JAX's _replace_zero), so 0^y has gradient 0 in y.
// - remainder(a, b) = a - trunc(a/b) * b: d/da = 1, d/db = -trunc(a/b) (JAX's rem jvp).
// - reduce_max/reduce_min: the cotangent is split equally among all elements equal to the
//   extreme (JAX's _reduce_chooser_jvp_rule). When the extreme is NaN no element compares equal
//   and every element gets 0 (JAX divides 0 by a count of 0 and gives NaN).
// - reduce_prod: the cotangent of x_i is g * (product of the other elements), computed from
//   exclusive prefix and suffix products, so it is exact when some elements are zero (as JAX's
//   rule, which differentiates a tree of multiplications).
// - cumulative_product: the gradient of a Hillis-Steele scan (log2(n) steps of multiply by a
//   shifted copy), differentiated step by step: exact with zeros, as JAX's associative-scan
//   based rule, in O(n log n).
// - cumulative_max/min: each output's cotangent goes to the element that holds the running
//   extreme; among ties, the latest one in scan order (as PyTorch's cummax, whose index is the
//   last maximal position). JAX differentiates its associative scan of max and splits ties by
//   the tree's shape instead; no choice is more correct, this one is cheap and deterministic.
// - sort: the cotangent of the sorted values flows back through the permutation (the indices
//   output), by a scatter along the axis.
// - window_max/window_min: the cotangent of each window goes to the element window_scatter_max/
//   min selects (the first extreme in row-major window order), as XLA's select_and_scatter
//   gradient. window_scatter_*'s source gets the matching gather (JAX's select_and_gather_add);
//   its operand is only compared, so it gets zero.
// - window_product: the cotangent of a window times the product of the window's other
//   elements, built tap by tap (one strided slice per window offset), exact with zeros.
// - scatter_put with repeated indices: only the update that won (the last one) gets a
//   cotangent, found as JAX's scatter jvp does: scatter the update ids and gather them back.
// - dynamic_slice/dynamic_update_slice clamp their starts; the rules use the same starts
//   through the same primitives, so they clamp identically.
// - qr: the transpose of JAX's qr_jvp_rule for m >= n (reduced, or complete with m == n); for
//   m < n (JAX: not implemented) the wide-matrix rule of PyTorch's linalg_qr_backward. Complete
//   mode with m > n is not differentiable (Q's extra columns are not unique): nx::Error.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <numbers>
#include <span>
#include <string>
#include <vector>

#include "../core/dispatch.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"
#include "vjp.hpp"

namespace nx::detail {

namespace {

using Cts = std::vector<Tensor>;

// ---- small helpers ---------------------------------------------------------------------------

/// Whether input i needs a cotangent: asked for, and of a dtype that carries gradients.
bool wants(const VjpArgs& a, size_t i) {
  bool asked = i >= a.wanted.size() || a.wanted[i];
  return asked && a.in[i].defined() && differentiable_dtype(a.in[i].dtype());
}

/// The cotangent of output i, or nullptr when it is zero.
const Tensor* cot(const VjpArgs& a, size_t i) {
  return i < a.ct.size() && a.ct[i].defined() ? &a.ct[i] : nullptr;
}

Tensor zero_scalar(DType t) {
  return scalar(0.0, t);
}
Tensor one_scalar(DType t) {
  return scalar(1.0, t);
}

/// Zeros of a type, as a broadcast scalar (one small constant in a traced graph).
Tensor zeros_of(const Shape& s, DType t) {
  return nx::broadcast(zero_scalar(t), s);
}
Tensor zeros_like_input(const Tensor& x) {
  return zeros_of(x.shape(), x.dtype());
}

int64_t dilate(int64_t size, int64_t dilation) {
  return size == 0 ? 0 : (size - 1) * dilation + 1;
}

Tensor sum_axes(const Tensor& g, const Axes& axes) {
  if (axes.empty()) return g;
  return bind1(Prim::reduce_sum, {g}, AxesParams{axes});
}

/// Sums g over the axes a tensor of shape `s` was broadcast along, then reshapes to `s`.
Tensor unbroadcast(const Tensor& g, const Shape& s) {
  if (g.shape() == s) return g;
  int64_t lead = g.rank() - static_cast<int64_t>(s.size());
  Axes axes;
  for (int64_t i = 0; i < g.rank(); ++i) {
    if (i < lead || (s[static_cast<size_t>(i - lead)] == 1 && g.shape()[i] != 1)) {
      axes.push_back(i);
    }
  }
  return nx::reshape(sum_axes(g, axes), s);
}

Tensor pad_with(const Tensor& x, const Tensor& value, const Ints& lo, const Ints& hi,
                const Ints& interior) {
  return bind1(Prim::pad, {x, value}, PadParams{lo, hi, interior});
}

Tensor slice_of(const Tensor& x, const Ints& start, const Ints& limit, const Ints& strides) {
  return bind1(Prim::slice, {x}, SliceParams{start, limit, strides});
}

/// x[..., lo:hi, ...] along one axis.
Tensor slice_axis(const Tensor& x, int64_t axis, int64_t lo, int64_t hi) {
  size_t r = static_cast<size_t>(x.rank());
  Ints start(r, 0), limit = x.shape(), strides(r, 1);
  start[static_cast<size_t>(axis)] = lo;
  limit[static_cast<size_t>(axis)] = hi;
  return slice_of(x, start, limit, strides);
}

/// out[k] = x[k - s] along `axis` (k >= s), `fill` below: one pad with a negative high side.
Tensor shift_up(const Tensor& x, int64_t axis, int64_t s, const Tensor& fill) {
  size_t r = static_cast<size_t>(x.rank());
  Ints lo(r, 0), hi(r, 0), interior(r, 0);
  lo[static_cast<size_t>(axis)] = s;
  hi[static_cast<size_t>(axis)] = -s;
  return pad_with(x, fill, lo, hi, interior);
}

/// out[k] = x[k + s] along `axis` (k + s < n), `fill` above.
Tensor shift_down(const Tensor& x, int64_t axis, int64_t s, const Tensor& fill) {
  size_t r = static_cast<size_t>(x.rank());
  Ints lo(r, 0), hi(r, 0), interior(r, 0);
  lo[static_cast<size_t>(axis)] = -s;
  hi[static_cast<size_t>(axis)] = s;
  return pad_with(x, fill, lo, hi, interior);
}

Tensor reverse_axis(const Tensor& x, int64_t axis) {
  return bind1(Prim::reverse, {x}, AxesParams{Axes{axis}});
}

Tensor cumulative(Prim p, const Tensor& x, int64_t axis, bool reverse) {
  return bind1(p, {x}, ScanParams{axis, reverse});
}

/// Product of the other elements along `axis` (exclusive prefix times exclusive suffix
/// products), exact when some elements are zero.
Tensor product_of_others(const Tensor& x, int64_t axis) {
  Tensor one = one_scalar(x.dtype());
  Tensor before = shift_up(cumulative(Prim::cumulative_product, x, axis, false), axis, 1, one);
  Tensor after = shift_down(cumulative(Prim::cumulative_product, x, axis, true), axis, 1, one);
  return before * after;
}

Axes inverse_permutation(const Axes& perm) {
  Axes inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i)
    inv[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  return inv;
}

// ---- elementwise rule shapes -----------------------------------------------------------------

/// A unary rule: f(g, x, y) is the cotangent of x given the output cotangent g and output y.
template <class F>
Cts unary(const VjpArgs& a, F f) {
  Cts r(1);
  const Tensor* g = cot(a, 0);
  if (g && wants(a, 0)) r[0] = f(*g, a.in[0], a.out[0]);
  return r;
}

/// A binary rule: fa/fb give the cotangents of a and b at the broadcast shape.
template <class FA, class FB>
Cts binary(const VjpArgs& a, FA fa, FB fb) {
  Cts r(2);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  const Tensor &x = a.in[0], &y = a.in[1], &out = a.out[0];
  if (wants(a, 0)) r[0] = unbroadcast(fa(*g, x, y, out), x.shape());
  if (wants(a, 1)) r[1] = unbroadcast(fb(*g, x, y, out), y.shape());
  return r;
}

/// Zero cotangents for every input.
Cts zero(const VjpArgs& a) {
  return Cts(a.in.size());
}

/// JAX's _balanced_eq: 1 where x is the result and the other operand is not, 1/2 where both
/// are, 0 elsewhere (the weight of x in max/min).
Tensor balanced_weight(const Tensor& x, const Tensor& other, const Tensor& out) {
  DType t = out.dtype();
  Tensor half = scalar(0.5, t), one = one_scalar(t), zero = zero_scalar(t);
  return nx::select(nx::equal(x, out), nx::select(nx::equal(other, out), half, one), zero);
}

// ---- window taps -----------------------------------------------------------------------------
//
// A window reduction over an operand padded by pad_lo/pad_hi combines, for each window offset
// w, one strided slice of the padded operand (a "tap": the element offset w reads in every
// window). Rules that need the individual elements of each window work tap by tap: W (window
// size) slices of the output's shape, never a [positions, window] patch tensor.

/// The window offsets, row-major (the order in which window_scatter_* looks for the extreme).
std::vector<Ints> window_offsets(const Shape& window) {
  std::vector<Ints> out;
  int64_t count = num_elements(window);
  Ints w(window.size(), 0);
  for (int64_t k = 0; k < count; ++k) {
    out.push_back(w);
    for (size_t d = window.size(); d-- > 0;) {
      if (++w[d] < window[d]) break;
      w[d] = 0;
    }
  }
  return out;
}

/// The operand padded as the window primitive sees it, with `fill` in the padding.
Tensor window_padded(const Tensor& x, const WindowParams& p, const Tensor& fill) {
  return pad_with(x, fill, p.pad_lo, p.pad_hi, Ints(p.pad_lo.size(), 0));
}

/// The elements window offset w reads, one per window position (out's shape).
Tensor window_tap(const Tensor& padded, const Shape& out, const WindowParams& p, const Ints& w) {
  size_t r = out.size();
  Ints start(r), limit(r);
  for (size_t d = 0; d < r; ++d) {
    start[d] = w[d] * p.window_dilation[d];
    limit[d] = start[d] + dilate(out[d], p.strides[d]);
  }
  return slice_of(padded, start, limit, p.strides);
}

/// The transpose of window_tap on the unpadded operand: t (out's shape) placed at the operand
/// positions offset w reads, zeros elsewhere; values that fell on padding are dropped.
Tensor window_untap(const Tensor& t, const Shape& in, const WindowParams& p, const Ints& w) {
  size_t r = in.size();
  Ints lo(r), hi(r), interior(r);
  for (size_t d = 0; d < r; ++d) {
    lo[d] = w[d] * p.window_dilation[d] - p.pad_lo[d];
    hi[d] = in[d] - lo[d] - dilate(t.shape()[d], p.strides[d]);
    interior[d] = p.strides[d] - 1;
  }
  return pad_with(t, zero_scalar(t.dtype()), lo, hi, interior);
}

/// The cotangent of window_scatter_max/min's source: for each window, g at the position the
/// primitive selects (the first valid extreme in row-major window order, or the first NaN;
/// nothing for a window made only of padding).
Tensor select_and_gather(const Tensor& operand, const Tensor& g, const Shape& out_shape,
                         const WindowParams& p, bool is_max) {
  DType t = operand.dtype();
  Tensor zero = zero_scalar(t);
  if (num_elements(out_shape) == 0 || operand.size() == 0) return zeros_of(out_shape, t);
  Tensor extreme = bind1(is_max ? Prim::window_max : Prim::window_min, {operand}, p);
  Tensor xpad = window_padded(operand, p, zero);
  Tensor gpad = window_padded(g, p, zero);
  Tensor inside = window_padded(nx::broadcast(scalar(1.0, DType::Pred), operand.shape()), p,
                                scalar(0.0, DType::Pred));
  Tensor taken = nx::broadcast(scalar(0.0, DType::Pred), out_shape);
  Tensor picked = zeros_of(out_shape, t);
  for (const Ints& w : window_offsets(p.window)) {
    Tensor x = window_tap(xpad, out_shape, p, w);
    Tensor is_extreme = nx::logical_or(nx::is_nan(x), nx::equal(x, extreme));
    Tensor cand = nx::logical_and(window_tap(inside, out_shape, p, w), is_extreme);
    Tensor first = nx::logical_and(cand, nx::logical_not(taken));
    picked = picked + nx::select(first, window_tap(gpad, out_shape, p, w), zero);
    taken = nx::logical_or(taken, cand);
  }
  return picked;
}

// ---- linear algebra helpers ------------------------------------------------------------------

/// Batched matrix product over the last two axes (leading axes are batch axes).
Tensor matmul_batched(const Tensor& a, const Tensor& b) {
  int64_t nb = a.rank() - 2;
  Axes batch = all_axes(nb);
  return bind1(Prim::dot_general, {a, b}, DotParams{{nb + 1}, batch, {nb}, batch});
}

/// Swaps the last two axes.
Tensor mt(const Tensor& a) {
  Axes perm = all_axes(a.rank());
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return nx::transpose(a, perm);
}

/// a[..., r0:r1, c0:c1].
Tensor block(const Tensor& a, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  size_t rank = static_cast<size_t>(a.rank());
  Ints start(rank, 0), limit = a.shape(), strides(rank, 1);
  start[rank - 2] = r0;
  limit[rank - 2] = r1;
  start[rank - 1] = c0;
  limit[rank - 1] = c1;
  return slice_of(a, start, limit, strides);
}

/// Solves r w = h for w, with r [..., n, n] upper triangular and h [..., n, c], by recursive
/// block back-substitution (the graph has O(n) nodes; nx has no triangular_solve primitive).
Tensor solve_upper(const Tensor& r, const Tensor& h) {
  int64_t n = r.shape()[static_cast<size_t>(r.rank() - 1)];
  int64_t c = h.shape()[static_cast<size_t>(h.rank() - 1)];
  if (n == 0) return h;
  if (n == 1) return h / r;
  int64_t n1 = n / 2;
  Tensor w2 = solve_upper(block(r, n1, n, n1, n), block(h, n1, n, 0, c));
  Tensor rhs1 = block(h, 0, n1, 0, c) - matmul_batched(block(r, 0, n1, n1, n), w2);
  Tensor w1 = solve_upper(block(r, 0, n1, 0, n1), rhs1);
  return nx::concatenate({w1, w2}, r.rank() - 2);
}

/// tril(m) + tril(m, -1)^T: the lower triangle mirrored into the upper one.
Tensor copy_lower_to_upper(const Tensor& m) {
  return nx::tril(m) + mt(nx::tril(m, -1));
}

/// The cotangent of a square-or-tall QR: (qbar + q copyltu(M)) r^{-T} with
/// M = r rbar^T - qbar^T q (q [..., m, n], r [..., n, n]).
Tensor qr_backward_tall(const Tensor& q, const Tensor& r, const Tensor& qbar, const Tensor& rbar) {
  Tensor m = matmul_batched(r, mt(rbar)) - matmul_batched(mt(qbar), q);
  Tensor b = qbar + matmul_batched(q, copy_lower_to_upper(m));
  // x r^T = b  <=>  r x^T = b^T.
  return mt(solve_upper(r, mt(b)));
}

}  // namespace

// ---- elementwise unary -----------------------------------------------------------------------

Cts vjp_negate(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor&) { return -g; });
}
Cts vjp_abs(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return nx::select(nx::greater_equal(x, zero_scalar(x.dtype())), g, -g);
  });
}
Cts vjp_sign(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_exp(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y; });
}
Cts vjp_expm1(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (y + 1.0); });
}
Cts vjp_log(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) { return g / x; });
}
Cts vjp_log1p(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) { return g / (x + 1.0); });
}
Cts vjp_sqrt(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (0.5 / y); });
}
Cts vjp_rsqrt(const VjpArgs& a) {
  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y / x.
  return unary(
      a, [](const Tensor& g, const Tensor& x, const Tensor& y) { return g * (-0.5 * y / x); });
}
Cts vjp_cbrt(const VjpArgs& a) {
  // d/dx x^1/3 = 1/3 y^-2.
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return g * ((1.0 / 3.0) / (y * y));
  });
}
Cts vjp_sin(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * nx::cos(x); });
}
Cts vjp_cos(const VjpArgs& a) {
  return unary(a,
               [](const Tensor& g, const Tensor& x, const Tensor&) { return -(g * nx::sin(x)); });
}
Cts vjp_tan(const VjpArgs& a) {
  return unary(a,
               [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (1.0 + y * y); });
}
Cts vjp_asin(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g * nx::rsqrt(1.0 - x * x);
  });
}
Cts vjp_acos(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return -(g * nx::rsqrt(1.0 - x * x));
  });
}
Cts vjp_atan(const VjpArgs& a) {
  return unary(a,
               [](const Tensor& g, const Tensor& x, const Tensor&) { return g / (1.0 + x * x); });
}
Cts vjp_sinh(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * nx::cosh(x); });
}
Cts vjp_cosh(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) { return g * nx::sinh(x); });
}
Cts vjp_tanh(const VjpArgs& a) {
  // (1 + y)(1 - y) rather than 1 - y^2: no cancellation when |y| is near 1 (as JAX).
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return g * ((1.0 + y) * (1.0 - y));
  });
}
Cts vjp_asinh(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g * nx::rsqrt(x * x + 1.0);
  });
}
Cts vjp_acosh(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g * nx::rsqrt((x - 1.0) * (x + 1.0));
  });
}
Cts vjp_atanh(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g / ((1.0 - x) * (1.0 + x));
  });
}
Cts vjp_erf(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g * (std::numbers::inv_sqrtpi * 2.0 * nx::exp(-(x * x)));
  });
}
Cts vjp_erfc(const VjpArgs& a) {
  return unary(a, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return g * (-std::numbers::inv_sqrtpi * 2.0 * nx::exp(-(x * x)));
  });
}
Cts vjp_erf_inv(const VjpArgs& a) {
  // The inverse function's derivative: 1 / erf'(y) = sqrt(pi)/2 * e^(y^2).
  return unary(a, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return g * (std::sqrt(std::numbers::pi) / 2.0 * nx::exp(y * y));
  });
}
Cts vjp_sigmoid(const VjpArgs& a) {
  return unary(a,
               [](const Tensor& g, const Tensor&, const Tensor& y) { return g * (y * (1.0 - y)); });
}
Cts vjp_floor(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_ceil(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_round(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_round_even(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_trunc(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_is_nan(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_is_infinity(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_bitwise_not(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_population_count(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_count_leading_zeros(const VjpArgs& a) {
  return zero(a);
}

// ---- elementwise binary ----------------------------------------------------------------------

Cts vjp_add(const VjpArgs& a) {
  auto id = [](const Tensor& g, const Tensor&, const Tensor&, const Tensor&) { return g; };
  return binary(a, id, id);
}
Cts vjp_subtract(const VjpArgs& a) {
  return binary(
      a, [](const Tensor& g, const Tensor&, const Tensor&, const Tensor&) { return g; },
      [](const Tensor& g, const Tensor&, const Tensor&, const Tensor&) { return -g; });
}
Cts vjp_multiply(const VjpArgs& a) {
  return binary(
      a, [](const Tensor& g, const Tensor&, const Tensor& y, const Tensor&) { return g * y; },
      [](const Tensor& g, const Tensor& x, const Tensor&, const Tensor&) { return g * x; });
}
Cts vjp_divide(const VjpArgs& a) {
  return binary(
      a, [](const Tensor& g, const Tensor&, const Tensor& y, const Tensor&) { return g / y; },
      [](const Tensor& g, const Tensor&, const Tensor& y, const Tensor& out) {
        // -x / y^2 as -(x / y) / y: y^2 overflows early in 16-bit floats.
        return -(g * out) / y;
      });
}
Cts vjp_quotient(const VjpArgs& a) {
  return zero(a);  // integer-only
}
Cts vjp_remainder(const VjpArgs& a) {
  return binary(
      a, [](const Tensor& g, const Tensor&, const Tensor&, const Tensor&) { return g; },
      [](const Tensor& g, const Tensor& x, const Tensor& y, const Tensor&) {
        return -(g * nx::trunc(x / y));
      });
}
Cts vjp_pow(const VjpArgs& a) {
  return binary(
      a,
      [](const Tensor& g, const Tensor& x, const Tensor& y, const Tensor&) {
        Tensor zero = zero_scalar(x.dtype());
        Tensor jac = y * nx::pow(x, y - 1.0);
        return g * nx::select(nx::equal(y, zero), zero, jac);
      },
      [](const Tensor& g, const Tensor& x, const Tensor&, const Tensor& out) {
        Tensor safe_x = nx::select(nx::equal(x, zero_scalar(x.dtype())), one_scalar(x.dtype()), x);
        return g * (nx::log(safe_x) * out);
      });
}
Cts vjp_max(const VjpArgs& a) {
  return binary(
      a,
      [](const Tensor& g, const Tensor& x, const Tensor& y, const Tensor& out) {
        return g * balanced_weight(x, y, out);
      },
      [](const Tensor& g, const Tensor& x, const Tensor& y, const Tensor& out) {
        return g * balanced_weight(y, x, out);
      });
}
Cts vjp_min(const VjpArgs& a) {
  return vjp_max(a);  // the same weights: which operand equals the result
}
Cts vjp_atan2(const VjpArgs& a) {
  // atan2(x, y): d/dx = y / (x^2 + y^2), d/dy = -x / (x^2 + y^2).
  return binary(
      a,
      [](const Tensor& g, const Tensor& x, const Tensor& y, const Tensor&) {
        return g * (y / (x * x + y * y));
      },
      [](const Tensor& g, const Tensor& x, const Tensor& y, const Tensor&) {
        return g * (-x / (x * x + y * y));
      });
}
Cts vjp_bitwise_and(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_bitwise_or(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_bitwise_xor(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_left_shift(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_right_shift(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_equal(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_not_equal(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_less(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_less_equal(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_greater(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_greater_equal(const VjpArgs& a) {
  return zero(a);
}

// ---- select, conversion ----------------------------------------------------------------------

Cts vjp_select(const VjpArgs& a) {
  Cts r(3);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  Tensor zero = zero_scalar(g->dtype());
  if (wants(a, 1)) r[1] = unbroadcast(nx::select(a.in[0], *g, zero), a.in[1].shape());
  if (wants(a, 2)) r[2] = unbroadcast(nx::select(a.in[0], zero, *g), a.in[2].shape());
  return r;
}

Cts vjp_convert(const VjpArgs& a) {
  Cts r(1);
  const Tensor* g = cot(a, 0);
  // A float result carries the gradient back; a conversion to an integer or pred is
  // piecewise constant.
  if (g && wants(a, 0) && differentiable_dtype(g->dtype())) {
    r[0] = g->dtype() == a.in[0].dtype()
               ? *g
               : bind1(Prim::convert, {*g}, ConvertParams{a.in[0].dtype()});
  }
  return r;
}

Cts vjp_bitcast(const VjpArgs& a) {
  return zero(a);  // reinterpreting bits is not a differentiable map
}

// ---- movement --------------------------------------------------------------------------------

Cts vjp_broadcast_in_dim(const VjpArgs& a) {
  Cts r(1);
  const Tensor* g = cot(a, 0);
  if (!g || !wants(a, 0)) return r;
  const auto& p = std::get<BroadcastParams>(a.params);
  const Shape& s = a.in[0].shape();
  Axes sum;
  size_t j = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(p.shape.size()); ++i) {
    bool mapped = j < p.axes.size() && p.axes[j] == i;
    if (!mapped) {
      sum.push_back(i);
    } else {
      if (s[j] == 1 && p.shape[static_cast<size_t>(i)] != 1) sum.push_back(i);
      ++j;
    }
  }
  r[0] = nx::reshape(sum_axes(*g, sum), s);
  return r;
}

Cts vjp_reshape(const VjpArgs& a) {
  return unary(
      a, [](const Tensor& g, const Tensor& x, const Tensor&) { return nx::reshape(g, x.shape()); });
}

Cts vjp_transpose(const VjpArgs& a) {
  const Axes& perm = std::get<AxesParams>(a.params).axes;
  return unary(a, [&](const Tensor& g, const Tensor&, const Tensor&) {
    return nx::transpose(g, inverse_permutation(perm));
  });
}

Cts vjp_slice(const VjpArgs& a) {
  const auto& p = std::get<SliceParams>(a.params);
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    size_t r = static_cast<size_t>(x.rank());
    Ints lo(r), hi(r), interior(r);
    for (size_t i = 0; i < r; ++i) {
      int64_t reach = dilate(g.shape()[i], p.strides[i]);
      lo[i] = p.start[i];
      hi[i] = x.shape()[i] - p.start[i] - reach;
      interior[i] = p.strides[i] - 1;
    }
    return pad_with(g, zero_scalar(g.dtype()), lo, hi, interior);
  });
}

Cts vjp_dynamic_slice(const VjpArgs& a) {
  Cts r(a.in.size());
  const Tensor* g = cot(a, 0);
  if (!g || !wants(a, 0)) return r;
  // Writing g at the same (clamped) starts into zeros puts every element back where it came from.
  std::vector<Tensor> in{zeros_like_input(a.in[0]), *g};
  in.insert(in.end(), a.in.begin() + 1, a.in.end());
  r[0] = bind1(Prim::dynamic_update_slice, std::span<const Tensor>(in));
  return r;
}

Cts vjp_dynamic_update_slice(const VjpArgs& a) {
  Cts r(a.in.size());
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  std::span<const Tensor> starts = a.in.subspan(2);
  if (wants(a, 0)) {
    std::vector<Tensor> in{*g, zeros_like_input(a.in[1])};
    in.insert(in.end(), starts.begin(), starts.end());
    r[0] = bind1(Prim::dynamic_update_slice, std::span<const Tensor>(in));
  }
  if (wants(a, 1)) {
    std::vector<Tensor> in{*g};
    in.insert(in.end(), starts.begin(), starts.end());
    r[1] = bind1(Prim::dynamic_slice, std::span<const Tensor>(in),
                 DynamicSliceParams{a.in[1].shape()});
  }
  return r;
}

Cts vjp_pad(const VjpArgs& a) {
  Cts r(2);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  const auto& p = std::get<PadParams>(a.params);
  size_t rank = static_cast<size_t>(a.in[0].rank());
  Tensor operand_ct;
  if (wants(a, 0) || wants(a, 1)) {
    // JAX's pad transpose: undo the edge padding (negative edges were crops: padding them
    // back with zeros), then take every (interior + 1)-th element.
    Ints lo(rank), hi(rank), none(rank, 0), start(rank, 0), strides(rank);
    for (size_t i = 0; i < rank; ++i) {
      lo[i] = -p.lo[i];
      hi[i] = -p.hi[i];
      strides[i] = p.interior[i] + 1;
    }
    Tensor unpadded = pad_with(*g, zero_scalar(g->dtype()), lo, hi, none);
    operand_ct = slice_of(unpadded, start, unpadded.shape(), strides);
  }
  if (wants(a, 0)) r[0] = operand_ct;
  if (wants(a, 1)) {
    // Every output element that is not an operand element is the pad value.
    r[1] = sum_axes(*g, all_axes(g->rank())) - sum_axes(operand_ct, all_axes(rank));
  }
  return r;
}

Cts vjp_concatenate(const VjpArgs& a) {
  Cts r(a.in.size());
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  int64_t axis = std::get<ConcatParams>(a.params).axis;
  int64_t offset = 0;
  for (size_t i = 0; i < a.in.size(); ++i) {
    int64_t size = a.in[i].shape()[static_cast<size_t>(axis)];
    if (wants(a, i)) r[i] = slice_axis(*g, axis, offset, offset + size);
    offset += size;
  }
  return r;
}

Cts vjp_reverse(const VjpArgs& a) {
  return unary(a, [&](const Tensor& g, const Tensor&, const Tensor&) {
    return bind1(Prim::reverse, {g}, a.params);
  });
}

Cts vjp_iota(const VjpArgs& a) {
  return zero(a);  // no inputs
}

// ---- reductions ------------------------------------------------------------------------------

namespace {

/// g of a reduction's output broadcast back over the reduced axes of x.
Tensor expand_reduced(const Tensor& g, const Tensor& x, const Axes& reduced) {
  Axes kept;
  for (int64_t i = 0; i < x.rank(); ++i) {
    if (std::find(reduced.begin(), reduced.end(), i) == reduced.end()) kept.push_back(i);
  }
  return bind1(Prim::broadcast_in_dim, {g}, BroadcastParams{x.shape(), kept});
}

Cts extreme_reduction(const VjpArgs& a) {
  const Axes& axes = std::get<AxesParams>(a.params).axes;
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor& y) {
    Tensor at = nx::equal(x, expand_reduced(y, x, axes));
    Tensor count = sum_axes(nx::as_type(at, x.dtype()), axes);
    Tensor share = expand_reduced(g / count, x, axes);
    return nx::select(at, share, zero_scalar(x.dtype()));
  });
}

}  // namespace

Cts vjp_reduce_sum(const VjpArgs& a) {
  const Axes& axes = std::get<AxesParams>(a.params).axes;
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    return expand_reduced(g, x, axes);
  });
}

Cts vjp_reduce_prod(const VjpArgs& a) {
  const Axes& axes = std::get<AxesParams>(a.params).axes;
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    if (x.size() == 0 || axes.empty()) return expand_reduced(g, x, axes);
    // Move the reduced axes last and merge them into one, where the products of the other
    // elements come from one exclusive prefix and one exclusive suffix product.
    Axes perm;
    Shape flat;
    for (int64_t i = 0; i < x.rank(); ++i) {
      if (std::find(axes.begin(), axes.end(), i) == axes.end()) {
        perm.push_back(i);
        flat.push_back(x.shape()[i]);
      }
    }
    int64_t n = 1;
    for (int64_t ax : axes) {
      perm.push_back(ax);
      n *= x.shape()[static_cast<size_t>(ax)];
    }
    Shape moved_shape;
    for (int64_t ax : perm) moved_shape.push_back(x.shape()[static_cast<size_t>(ax)]);
    Shape g_col = flat;
    g_col.push_back(1);
    flat.push_back(n);
    Tensor xs = nx::reshape(nx::transpose(x, perm), flat);
    Tensor others = product_of_others(xs, static_cast<int64_t>(flat.size()) - 1);
    Tensor ct = others * nx::reshape(g, g_col);
    return nx::transpose(nx::reshape(ct, moved_shape), inverse_permutation(perm));
  });
}

Cts vjp_reduce_max(const VjpArgs& a) {
  return extreme_reduction(a);
}
Cts vjp_reduce_min(const VjpArgs& a) {
  return extreme_reduction(a);
}
Cts vjp_reduce_and(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_reduce_or(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_argmax(const VjpArgs& a) {
  return zero(a);
}
Cts vjp_argmin(const VjpArgs& a) {
  return zero(a);
}

// ---- contractions ----------------------------------------------------------------------------

namespace {

bool contains(const Axes& axes, int64_t ax) {
  return std::find(axes.begin(), axes.end(), ax) != axes.end();
}

/// Axes of a rank-`rank` operand that are neither contracted nor batch, in increasing order.
Axes free_axes(int64_t rank, const Axes& contract, const Axes& batch) {
  Axes out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!contains(contract, i) && !contains(batch, i)) out.push_back(i);
  }
  return out;
}

/// The cotangent of one dot_general operand ("self"), given the other operand: contract g's
/// positions of the other's free axes with those axes, batch over the batch axes, then permute
/// the result [batch, self free, self contracted (in the other's increasing axis order)] back
/// into self's layout. `other_free_at` is where the other operand's free axes start in g.
Tensor dot_operand_ct(const Tensor& g, const Tensor& other, int64_t self_rank,
                      const Axes& self_contract, const Axes& self_batch, const Axes& other_contract,
                      const Axes& other_batch, int64_t other_free_at) {
  int64_t nb = static_cast<int64_t>(self_batch.size());
  Axes self_free = free_axes(self_rank, self_contract, self_batch);
  Axes other_free = free_axes(other.rank(), other_contract, other_batch);
  Axes g_contract;
  for (size_t j = 0; j < other_free.size(); ++j)
    g_contract.push_back(other_free_at + static_cast<int64_t>(j));
  Tensor t = bind1(Prim::dot_general, {g, other},
                   DotParams{g_contract, all_axes(nb), other_free, other_batch});
  // t's axes: [batch, g's remaining axes = self free, other's remaining = other_contract sorted].
  Axes sorted_other_contract = other_contract;
  std::sort(sorted_other_contract.begin(), sorted_other_contract.end());
  Axes perm(static_cast<size_t>(self_rank));
  for (int64_t i = 0; i < nb; ++i) perm[static_cast<size_t>(self_batch[i])] = i;
  for (size_t j = 0; j < self_free.size(); ++j)
    perm[static_cast<size_t>(self_free[j])] = nb + static_cast<int64_t>(j);
  int64_t base = nb + static_cast<int64_t>(self_free.size());
  for (size_t i = 0; i < self_contract.size(); ++i) {
    auto rank_in_sorted =
        std::find(sorted_other_contract.begin(), sorted_other_contract.end(), other_contract[i]) -
        sorted_other_contract.begin();
    perm[static_cast<size_t>(self_contract[i])] = base + rank_in_sorted;
  }
  return nx::transpose(t, perm);
}

}  // namespace

Cts vjp_dot_general(const VjpArgs& a) {
  Cts r(2);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  const auto& p = std::get<DotParams>(a.params);
  const Tensor &x = a.in[0], &y = a.in[1];
  int64_t nb = static_cast<int64_t>(p.batch_a.size());
  int64_t nfa = static_cast<int64_t>(free_axes(x.rank(), p.contract_a, p.batch_a).size());
  // g's axes: [batch (nb), x free (nfa), y free].
  if (wants(a, 0)) {
    r[0] =
        dot_operand_ct(*g, y, x.rank(), p.contract_a, p.batch_a, p.contract_b, p.batch_b, nb + nfa);
  }
  if (wants(a, 1)) {
    r[1] = dot_operand_ct(*g, x, y.rank(), p.contract_b, p.batch_b, p.contract_a, p.batch_a, nb);
  }
  return r;
}

Cts vjp_conv_general(const VjpArgs& a) {
  Cts r(2);
  const Tensor* gp = cot(a, 0);
  if (!gp) return r;
  const Tensor &x = a.in[0], &w = a.in[1], &g = *gp;
  const auto& p = std::get<ConvParams>(a.params);
  int64_t rank = x.rank();
  size_t ns = static_cast<size_t>(rank - 2);
  bool empty = g.size() == 0 || x.size() == 0 || w.size() == 0;
  const Shape &xs = x.shape(), &ws = w.shape(), &gs = g.shape();
  Axes swap01 = all_axes(rank);
  std::swap(swap01[0], swap01[1]);
  Shape spatial_w(ws.begin() + 2, ws.end());

  if (wants(a, 0)) {
    if (empty) {
      r[0] = zeros_like_input(x);
    } else {
      // JAX's _conv_general_dilated_transpose_lhs: convolve g with the spatially reversed
      // kernel, in and out features swapped; the forward strides become input dilation and the
      // input dilation becomes strides. Groups move into the kernel's output features.
      int64_t groups = std::max(p.feature_groups, p.batch_groups);
      int64_t o = ws[0], i = ws[1];
      Tensor k = w;
      if (groups > 1) {
        Shape split{groups, o / groups, i};
        split.insert(split.end(), spatial_w.begin(), spatial_w.end());
        Axes perm = all_axes(rank + 1);
        std::swap(perm[0], perm[1]);
        Shape merged{o / groups, groups * i};
        merged.insert(merged.end(), spatial_w.begin(), spatial_w.end());
        k = nx::reshape(nx::transpose(nx::reshape(w, split), perm), merged);
      }
      k = nx::transpose(k, swap01);
      Axes spatial_axes;
      for (int64_t d = 2; d < rank; ++d) spatial_axes.push_back(d);
      k = bind1(Prim::reverse, {k}, AxesParams{spatial_axes});
      ConvParams q;
      q.strides = p.lhs_dilation;
      q.lhs_dilation = p.strides;
      q.rhs_dilation = p.rhs_dilation;
      q.feature_groups = groups;
      q.batch_groups = 1;
      for (size_t d = 0; d < ns; ++d) {
        int64_t in_dil = dilate(xs[d + 2], p.lhs_dilation[d]);
        int64_t k_dil = dilate(ws[d + 2], p.rhs_dilation[d]);
        int64_t out_dil = dilate(gs[d + 2], p.strides[d]);
        int64_t before = k_dil - p.pad_lo[d] - 1;
        q.pad_lo.push_back(before);
        q.pad_hi.push_back(in_dil + k_dil - 1 - out_dil - before);
      }
      Tensor t = bind1(Prim::conv_general, {g, k}, q);
      if (p.batch_groups > 1) {
        // [N/B, B*C, sp] -> [B, N/B, C, sp] -> [N, C, sp]: batch group j holds batches
        // j*(N/B) .. (j+1)*(N/B)-1.
        int64_t bg = p.batch_groups, nb = gs[0], c = xs[1];
        Shape split{nb, bg, c};
        split.insert(split.end(), xs.begin() + 2, xs.end());
        Axes perm = all_axes(rank + 1);
        std::swap(perm[0], perm[1]);
        t = nx::reshape(nx::transpose(nx::reshape(t, split), perm), xs);
      }
      r[0] = t;
    }
  }

  if (wants(a, 1)) {
    if (empty) {
      r[1] = zeros_like_input(w);
    } else {
      // JAX's _conv_general_dilated_transpose_rhs: convolve the input (batch and features
      // swapped) with g (batch as input features): strides and kernel dilation trade places;
      // feature groups become batch groups and vice versa.
      Tensor xin = nx::transpose(x, swap01);
      Tensor gk = nx::transpose(g, swap01);
      ConvParams q;
      q.strides = p.rhs_dilation;
      q.lhs_dilation = p.lhs_dilation;
      q.rhs_dilation = p.strides;
      q.pad_lo = p.pad_lo;
      q.feature_groups = p.batch_groups;
      q.batch_groups = p.feature_groups;
      for (size_t d = 0; d < ns; ++d) {
        int64_t in_dil = dilate(xs[d + 2], p.lhs_dilation[d]);
        int64_t k_dil = dilate(ws[d + 2], p.rhs_dilation[d]);
        int64_t out_dil = dilate(gs[d + 2], p.strides[d]);
        q.pad_hi.push_back(out_dil - in_dil + k_dil - p.pad_lo[d] - 1);
      }
      r[1] = nx::transpose(bind1(Prim::conv_general, {xin, gk}, q), swap01);
    }
  }
  return r;
}

// ---- windows ---------------------------------------------------------------------------------

Cts vjp_window_sum(const VjpArgs& a) {
  const auto& p = std::get<WindowParams>(a.params);
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    if (g.size() == 0 || x.size() == 0) return zeros_like_input(x);
    // JAX's reduce_window_sum transpose: spread g out by the strides, pad it so that every
    // input position sees the windows that covered it, and sum windows again (a window of
    // ones is its own reverse).
    size_t r = static_cast<size_t>(x.rank());
    Ints lo(r), hi(r), interior(r);
    WindowParams q;
    q.window = p.window;
    q.window_dilation = p.window_dilation;
    q.strides.assign(r, 1);
    q.pad_lo.assign(r, 0);
    q.pad_hi.assign(r, 0);
    for (size_t i = 0; i < r; ++i) {
      int64_t w_dil = dilate(p.window[i], p.window_dilation[i]);
      int64_t out_dil = dilate(g.shape()[i], p.strides[i]);
      lo[i] = w_dil - p.pad_lo[i] - 1;
      hi[i] = x.shape()[i] + w_dil - 1 - out_dil - lo[i];
      interior[i] = p.strides[i] - 1;
    }
    Tensor spread = pad_with(g, zero_scalar(g.dtype()), lo, hi, interior);
    return bind1(Prim::window_sum, {spread}, q);
  });
}

Cts vjp_window_product(const VjpArgs& a) {
  const auto& p = std::get<WindowParams>(a.params);
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    if (g.size() == 0 || x.size() == 0) return zeros_like_input(x);
    // Tap k's share is g times the product of the other taps (exclusive prefix and suffix
    // products over the taps, exact with zeros; padding reads 1), placed back where it read.
    Tensor xpad = window_padded(x, p, one_scalar(x.dtype()));
    std::vector<Ints> offsets = window_offsets(p.window);
    std::vector<Tensor> taps;
    for (const Ints& w : offsets) taps.push_back(window_tap(xpad, g.shape(), p, w));
    size_t n = taps.size();
    std::vector<Tensor> suffix(n + 1);
    suffix[n] = g;  // g folded into the suffix saves one multiply per tap
    for (size_t k = n; k-- > 1;) suffix[k] = suffix[k + 1] * taps[k];
    Tensor prefix, total;
    for (size_t k = 0; k < n; ++k) {
      Tensor share = prefix.defined() ? prefix * suffix[k + 1] : suffix[k + 1];
      Tensor placed = window_untap(share, x.shape(), p, offsets[k]);
      total = total.defined() ? total + placed : placed;
      prefix = prefix.defined() ? prefix * taps[k] : taps[k];
    }
    return total;
  });
}

namespace {

Cts window_extreme(const VjpArgs& a, Prim scatter) {
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    return bind1(scatter, {x, g, zero_scalar(x.dtype())}, a.params);
  });
}

Cts window_scatter(const VjpArgs& a, bool is_max) {
  Cts r(3);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  const auto& p = std::get<WindowParams>(a.params);
  if (wants(a, 1)) r[1] = select_and_gather(a.in[0], *g, a.in[1].shape(), p, is_max);
  if (wants(a, 2)) r[2] = sum_axes(*g, all_axes(g->rank()));  // init fills every element
  return r;
}

}  // namespace

Cts vjp_window_max(const VjpArgs& a) {
  return window_extreme(a, Prim::window_scatter_max);
}
Cts vjp_window_min(const VjpArgs& a) {
  return window_extreme(a, Prim::window_scatter_min);
}
Cts vjp_window_scatter_max(const VjpArgs& a) {
  return window_scatter(a, true);
}
Cts vjp_window_scatter_min(const VjpArgs& a) {
  return window_scatter(a, false);
}

// ---- indexing --------------------------------------------------------------------------------

Cts vjp_gather(const VjpArgs& a) {
  Cts r(2);
  const Tensor* g = cot(a, 0);
  if (g && wants(a, 0)) {
    // Indices clamp identically in gather and scatter_add, so every element goes back where
    // it was read; repeated reads add up.
    r[0] = bind1(Prim::scatter_add, {zeros_like_input(a.in[0]), a.in[1], *g}, a.params);
  }
  return r;
}

Cts vjp_scatter_add(const VjpArgs& a) {
  Cts r(3);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  if (wants(a, 0)) r[0] = *g;
  if (wants(a, 2)) r[2] = bind1(Prim::gather, {*g, a.in[1]}, a.params);
  return r;
}

Cts vjp_scatter_put(const VjpArgs& a) {
  Cts r(3);
  const Tensor* g = cot(a, 0);
  if (!g) return r;
  const Tensor &indices = a.in[1], &updates = a.in[2];
  // Overwritten operand elements do not reach the output.
  if (wants(a, 0)) {
    r[0] = bind1(Prim::scatter_put, {*g, indices, zeros_like_input(updates)}, a.params);
  }
  if (wants(a, 2)) {
    // Only the update that won a position (the last one) reaches the output: scatter each
    // update's id, gather the ids back and keep the updates that find their own (JAX's
    // scatter jvp does the same).
    Tensor ids = nx::iota(updates.shape(), DType::S64);
    Tensor base = nx::broadcast(scalar_int(-1, DType::S64), a.in[0].shape());
    Tensor winners = bind1(Prim::scatter_put, {base, indices, ids}, a.params);
    Tensor won = nx::equal(bind1(Prim::gather, {winners, indices}, a.params), ids);
    Tensor picked = bind1(Prim::gather, {*g, indices}, a.params);
    r[2] = nx::select(won, picked, zero_scalar(g->dtype()));
  }
  return r;
}

// ---- sort and scans --------------------------------------------------------------------------

namespace {

/// zeros like x with g added at positions idx along axis (duplicates accumulate).
Tensor scatter_along(const Tensor& x, const Tensor& idx, const Tensor& g, int64_t axis) {
  return nx::scatter_add_along_axis(zeros_like_input(x), idx, g, axis);
}

/// The gradient of a forward cumulative product along `axis`, through the Hillis-Steele scan
/// y_{t+1}[k] = y_t[k] * y_t[k - 2^t]: exact with zeros.
Tensor cumprod_grad_forward(const Tensor& x, const Tensor& g, int64_t axis) {
  int64_t n = x.shape()[static_cast<size_t>(axis)];
  Tensor one = one_scalar(x.dtype()), zero = zero_scalar(x.dtype());
  std::vector<Tensor> ys{x};
  std::vector<int64_t> shifts;
  for (int64_t s = 1; s < n; s *= 2) {
    ys.push_back(ys.back() * shift_up(ys.back(), axis, s, one));
    shifts.push_back(s);
  }
  Tensor ct = g;
  for (size_t t = shifts.size(); t-- > 0;) {
    const Tensor& prev = ys[t];
    int64_t s = shifts[t];
    // y'[k] = y[k] * y[k-s]: y[j] feeds y'[j] (times y[j-s]) and y'[j+s] (times y[j+s]).
    ct = ct * shift_up(prev, axis, s, one) + shift_down(ct * prev, axis, s, zero);
  }
  return ct;
}

Cts cumulative_extreme(const VjpArgs& a) {
  const auto& p = std::get<ScanParams>(a.params);
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor& y) {
    // The element holding each running extreme: the latest position (in scan order) whose
    // value equals the running extreme there (NaN counts as holding a NaN result).
    int64_t n = x.shape()[static_cast<size_t>(p.axis)];
    Tensor holds = nx::logical_or(nx::equal(x, y), nx::is_nan(x));
    Tensor pos = nx::iota(x.shape(), p.axis, DType::S64);
    Tensor idx;
    if (!p.reverse) {
      idx = cumulative(Prim::cumulative_max, nx::select(holds, pos, scalar_int(0, DType::S64)),
                       p.axis, false);
    } else {
      idx = cumulative(Prim::cumulative_min, nx::select(holds, pos, scalar_int(n - 1, DType::S64)),
                       p.axis, true);
    }
    return scatter_along(x, idx, g, p.axis);
  });
}

}  // namespace

Cts vjp_sort(const VjpArgs& a) {
  Cts r(1);
  const Tensor* g = cot(a, 0);  // the indices output is integer: no cotangent
  if (!g || !wants(a, 0)) return r;
  r[0] = scatter_along(a.in[0], a.out[1], *g, std::get<SortParams>(a.params).axis);
  return r;
}

Cts vjp_cumulative_sum(const VjpArgs& a) {
  const auto& p = std::get<ScanParams>(a.params);
  return unary(a, [&](const Tensor& g, const Tensor&, const Tensor&) {
    return cumulative(Prim::cumulative_sum, g, p.axis, !p.reverse);
  });
}

Cts vjp_cumulative_product(const VjpArgs& a) {
  const auto& p = std::get<ScanParams>(a.params);
  return unary(a, [&](const Tensor& g, const Tensor& x, const Tensor&) {
    if (x.size() == 0) return zeros_like_input(x);
    if (!p.reverse) return cumprod_grad_forward(x, g, p.axis);
    return reverse_axis(
        cumprod_grad_forward(reverse_axis(x, p.axis), reverse_axis(g, p.axis), p.axis), p.axis);
  });
}

Cts vjp_cumulative_max(const VjpArgs& a) {
  return cumulative_extreme(a);
}
Cts vjp_cumulative_min(const VjpArgs& a) {
  return cumulative_extreme(a);
}

// ---- random bits, linear algebra -------------------------------------------------------------

Cts vjp_threefry2x32(const VjpArgs& a) {
  return zero(a);
}

Cts vjp_qr(const VjpArgs& a) {
  Cts r(1);
  const Tensor* qbar_p = cot(a, 0);
  const Tensor* rbar_p = cot(a, 1);
  if ((!qbar_p && !rbar_p) || !wants(a, 0)) return r;
  const Tensor &x = a.in[0], &q = a.out[0], &rr = a.out[1];
  int64_t rank = x.rank();
  int64_t m = x.shape()[static_cast<size_t>(rank - 2)];
  int64_t n = x.shape()[static_cast<size_t>(rank - 1)];
  if (std::get<QrParams>(a.params).complete && m > n) {
    throw Error(
        "nx::qr: the gradient of the complete QR of a matrix with more rows than columns "
        "is not defined (the extra columns of Q are not unique), got " +
        type_string(x.type()) + "; use the reduced QR (complete = false)");
  }
  if (x.size() == 0) {
    r[0] = zeros_like_input(x);
    return r;
  }
  Tensor qbar = qbar_p ? *qbar_p : zeros_like_input(q);
  Tensor rbar = rbar_p ? *rbar_p : zeros_like_input(rr);
  if (m >= n) {
    r[0] = qr_backward_tall(q, rr, qbar, rbar);
    return r;
  }
  // Wide (PyTorch's linalg_qr_backward): x = [x1 | x2] with x1 = q u square and v = q^T x2,
  // so x2's cotangent is q vbar and x1 takes the square rule with qbar + x2 vbar^T.
  Tensor u = block(rr, 0, m, 0, m), ubar = block(rbar, 0, m, 0, m);
  Tensor vbar = block(rbar, 0, m, m, n);
  Tensor x2 = block(x, 0, m, m, n);
  Tensor qbar_total = qbar + matmul_batched(x2, mt(vbar));
  Tensor x1_ct = qr_backward_tall(q, u, qbar_total, ubar);
  r[0] = nx::concatenate({x1_ct, matmul_batched(q, vbar)}, rank - 1);
  return r;
}

// ---- the table -------------------------------------------------------------------------------

namespace {

// One entry per primitive, in primitives.def order: a primitive without a vjp_<name> function
// fails to link, and a table of the wrong length fails to compile.
constexpr VjpRule kVjpRules[] = {
#define NX_PRIM(name, group, inputs, outputs, dtypes, params, rule) &vjp_##name,
#include "../core/primitives.def"
#undef NX_PRIM
};
static_assert(std::size(kVjpRules) == static_cast<size_t>(kNumPrims),
              "vjp_rules.cpp: one VJP rule per primitive");

}  // namespace

VjpRule vjp_rule(Prim p) {
  return kVjpRules[static_cast<size_t>(p)];
}

}  // namespace nx::detail
