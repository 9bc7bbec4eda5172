// Position embeddings: sinusoidal (Vaswani et al.), learned tables, rotary (RoFormer, in the
// GPT-NeoX/LLaMA half-split form).
#include <cmath>
#include <string>

#include "axon/fn/attention.hpp"
#include "check.hpp"
#include "nx/dtype.hpp"
#include "nx/nx.hpp"

namespace axon::fn {
namespace {

using detail::describe;
using detail::fail;

// base^(-2i/dim) for i = 0 .. n-1, in dtype.
Tensor inverse_frequencies(int64_t n, int64_t dim, double base, nx::DType dtype) {
  Tensor i = nx::iota({n}, nx::f64);
  Tensor f = nx::exp(i * Tensor(-2.0 * std::log(base) / static_cast<double>(dim)));
  return nx::as_type(f, dtype);
}

}  // namespace

Tensor sinusoidal_position_embedding(int64_t seq_len, int64_t dim, const SinusoidalOptions& opts) {
  constexpr std::string_view kFn = "sinusoidal_position_embedding";
  if (seq_len < 0 || dim <= 0) {
    fail(kFn, "seq_len must be >= 0 and dim > 0, got " + std::to_string(seq_len) + ", " +
                  std::to_string(dim));
  }
  if (!nx::is_float(opts.dtype)) fail(kFn, "dtype must be floating point");
  if (!(opts.base > 0)) fail(kFn, "base must be positive, got " + std::to_string(opts.base));
  // Computed in f64 so that long sequences keep their precision, then converted.
  const int64_t half = (dim + 1) / 2;
  Tensor pos = nx::iota({seq_len, 1}, nx::f64);
  Tensor angles = pos * nx::reshape(inverse_frequencies(half, dim, opts.base, nx::f64), {1, half});
  Tensor table = nx::reshape(nx::stack({nx::sin(angles), nx::cos(angles)}, 2), {seq_len, 2 * half});
  if (2 * half != dim) table = nx::slice_along_axis(table, 0, dim, 1);
  return nx::as_type(table, opts.dtype);
}

Tensor learned_position_embedding(const Tensor& x, const Tensor& table) {
  constexpr std::string_view kFn = "learned_position_embedding";
  detail::check_rank(kFn, "x", x, 3);
  detail::check_rank(kFn, "table", table, 2);
  const int64_t t = x.axis_size(1);
  if (table.axis_size(1) != x.axis_size(2) || table.axis_size(0) < t) {
    fail(kFn, "table must be {max_len >= " + std::to_string(t) + ", " +
                  std::to_string(x.axis_size(2)) + "} for x " + describe(x) + ", got " +
                  describe(table));
  }
  return x + nx::slice_along_axis(table, 0, t, 0);
}

Tensor apply_rotary_embedding(const Tensor& x, const RotaryOptions& opts) {
  constexpr std::string_view kFn = "apply_rotary_embedding";
  detail::check_min_rank(kFn, "x", x, 2);
  detail::check_float(kFn, "x", x);
  const int64_t r = x.rank();
  const int64_t t = x.axis_size(r - 2), hd = x.axis_size(r - 1);
  if (hd % 2 != 0) fail(kFn, "head_dim (the last axis) must be even, got " + describe(x));
  if (!(opts.base > 0)) fail(kFn, "base must be positive, got " + std::to_string(opts.base));
  // Angles in f32 (f64 for f64 input), as the reference implementations compute them.
  const nx::DType ct = x.dtype() == nx::f64 ? nx::f64 : nx::f32;
  Tensor pos;
  nx::Shape table_shape;  // the shape cos/sin take to broadcast against x
  if (!opts.positions) {
    pos = nx::iota({t}, ct);
    table_shape = {t, hd};
  } else {
    const Tensor& p = *opts.positions;
    const bool plain = p.rank() == 1 && p.axis_size(0) == t;
    const bool batched =
        p.rank() == 2 && r >= 3 && p.axis_size(0) == x.axis_size(0) && p.axis_size(1) == t;
    if (!plain && !batched) {
      fail(kFn, "positions must be {" + std::to_string(t) + "} or {" +
                    std::to_string(x.axis_size(0)) + ", " + std::to_string(t) + "} for x " +
                    describe(x) + ", got " + describe(p));
    }
    pos = nx::as_type(p, ct);
    if (batched) {
      table_shape = nx::Shape(static_cast<size_t>(r), 1);
      table_shape[0] = x.axis_size(0);
      table_shape[static_cast<size_t>(r - 2)] = t;
      table_shape[static_cast<size_t>(r - 1)] = hd;
    } else {
      table_shape = {t, hd};
    }
  }
  const int64_t half = hd / 2;
  nx::Shape pshape = pos.shape();
  nx::Shape fshape(pshape.size(), 1);
  pshape.push_back(1);
  fshape.push_back(half);
  Tensor theta =
      nx::reshape(pos, pshape) * nx::reshape(inverse_frequencies(half, hd, opts.base, ct), fshape);
  Tensor both = nx::concatenate({theta, theta}, -1);
  Tensor cos = nx::as_type(nx::reshape(nx::cos(both), table_shape), x.dtype());
  Tensor sin = nx::as_type(nx::reshape(nx::sin(both), table_shape), x.dtype());
  Tensor x1 = nx::slice_along_axis(x, 0, half, r - 1);
  Tensor x2 = nx::slice_along_axis(x, half, half, r - 1);
  Tensor rotated = nx::concatenate({nx::negate(x2), x1}, r - 1);
  return x * cos + rotated * sin;
}

}  // namespace axon::fn
