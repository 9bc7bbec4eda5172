// Random reorderings and draws: shuffle, permutation, choice (jax.random.permutation, _shuffle
// and choice in jax/_src/random/core.py).
#include <algorithm>
#include <cmath>

#include "nx/ops/constants.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "nx/ops/sort.hpp"
#include "nx/random.hpp"
#include "random_common.hpp"

namespace nx::random {

namespace {

using detail::check_key;
using detail::fail;

Tensor row(const Tensor& keys, int64_t i) {
  return reshape(slice_along_axis(keys, i, 1), {2});
}

// jax.random._shuffle: sort by fresh random 32-bit keys, enough rounds that all elements get
// distinct key strings with high probability (3 log n / log(2^32 - 1), rounded up).
Tensor shuffle_along(Tensor key, Tensor x, int64_t axis) {
  const double size = static_cast<double>(std::max<int64_t>(1, x.size()));
  const int rounds = static_cast<int>(std::ceil(3.0 * std::log(size) / std::log(4294967295.0)));
  for (int r = 0; r < rounds; ++r) {
    Tensor keys = split(key);
    key = row(keys, 0);
    Tensor sort_keys = random_bits(row(keys, 1), x.shape(), u32);
    x = take_along_axis(x, argsort(sort_keys, {.axis = axis}), axis);
  }
  return x;
}

// jax.random._gumbel with mode "low": -log(-log(u)), u uniform in [tiny, 1).
Tensor gumbel(const Tensor& key, const Shape& shape, DType dtype) {
  Tensor tiny = smallest_positive_normal(dtype);
  Tensor u = uniform(key, tiny, scalar(1.0, dtype), shape, dtype);
  return negate(log(negate(log(u))));
}

// Indices in [0, n) drawn with probabilities p: with replacement by inverting the cumulative
// sum (searchsorted, left side), without by the Gumbel top-k trick.
Tensor indices_with_p(const Tensor& key, Tensor p, int64_t n, const Shape& shape, int64_t draws,
                      bool replace) {
  if (p.shape() != Shape{n}) {
    fail("choice", "p must be a 1-D vector of the " + std::to_string(n) +
                       " entries' probabilities, got " + type_string(p.type()));
  }
  p = as_type(p, to_floating(p.dtype()));
  if (replace) {
    Tensor p_cuml = cumulative_sum(p);
    Tensor total = reshape(slice_along_axis(p_cuml, n - 1, 1), {});
    Tensor r = multiply(
        total, subtract(scalar(1.0, p.dtype()), uniform(key, shape, {.dtype = p.dtype()})));
    // searchsorted(p_cuml, r) on a sorted p_cuml: how many entries are below r.
    Shape with_axis = shape;
    with_axis.push_back(1);
    Tensor below = less(p_cuml, reshape(r, with_axis));
    return as_type(sum(below, {.axes = Axes{-1}}), s32);
  }
  Tensor g = add(gumbel(key, {n}, p.dtype()), log(p));
  return reshape(as_type(top_k(g, draws).second, s32), shape);
}

}  // namespace

Tensor shuffle(const Tensor& key, const Tensor& x, const ShuffleOptions& opts) {
  check_key("shuffle", key);
  if (!x.defined() || x.rank() == 0) {
    fail("shuffle", "x must have at least one axis, got " +
                        (x.defined() ? type_string(x.type()) : std::string("an empty handle")));
  }
  const int64_t axis = normalize_axis(opts.axis, x.rank(), "nx::random::shuffle");
  if (opts.independent || x.rank() == 1) return shuffle_along(key, x, axis);
  // Every slice moves as a whole: permute the indices, then take.
  Tensor ind = shuffle_along(key, iota({x.axis_size(axis)}, s32), 0);
  return take(x, ind, axis);
}

Tensor permutation(const Tensor& key, int64_t n) {
  check_key("permutation", key);
  if (n < 0) fail("permutation", "n must be non-negative, got " + std::to_string(n));
  return shuffle_along(key, iota({n}, s32), 0);
}

Tensor choice(const Tensor& key, const Tensor& x, const Shape& shape, const ChoiceOptions& opts) {
  check_key("choice", key);
  if (!x.defined() || x.rank() == 0) {
    fail("choice", "x must have at least one axis (pass an integer n to draw from 0 .. n-1)");
  }
  const int64_t draws = detail::checked_size("choice", shape);
  const int64_t axis = normalize_axis(opts.axis, x.rank(), "nx::random::choice");
  const int64_t n = x.axis_size(axis);
  Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
  out_shape.insert(out_shape.end(), shape.begin(), shape.end());
  out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  if (draws == 0) return reshape(slice_along_axis(x, 0, 0, axis), out_shape);
  if (n <= 0) fail("choice", "cannot draw from an axis of size 0");
  if (!opts.replace && draws > n) {
    fail("choice", "cannot take " + std::to_string(draws) + " samples without replacement from " +
                       std::to_string(n) + " entries");
  }
  Tensor ind;
  if (opts.p) {
    ind = indices_with_p(key, *opts.p, n, shape, draws, opts.replace);
  } else if (opts.replace) {
    ind = randint(key, shape, 0, n, s32);
  } else {
    // JAX takes permutation(key, x, axis)[:draws]; shuffling x itself (1-D) or its indices
    // (n-D) picks the same entries, so shuffle the indices.
    ind = reshape(slice_along_axis(permutation(key, n), 0, draws), shape);
  }
  return take(x, ind, axis);
}

Tensor choice(const Tensor& key, int64_t n, const Shape& shape, const ChoiceOptions& opts) {
  check_key("choice", key);
  if (n < 0) fail("choice", "n must be non-negative, got " + std::to_string(n));
  if (detail::checked_size("choice", shape) > 0 && n == 0)
    fail("choice", "cannot draw from 0 entries");
  return choice(key, iota({n}, s32), shape, opts);
}

}  // namespace nx::random
