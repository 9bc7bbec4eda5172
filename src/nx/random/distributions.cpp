// Distributions over keys: uniform, normal, truncated_normal, randint.
//
// Each follows the function of the same name in jax/_src/random/core.py step by step (same
// bits, same operations in the same dtype and order), so that results match bit for bit
// wherever the elementwise functions involved are exact.
#include <algorithm>
#include <cmath>
#include <limits>

#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"
#include "random_common.hpp"

namespace nx::random {

namespace {

using detail::check_broadcasts_to;
using detail::check_key;
using detail::fail;
using detail::int_const;
using detail::sint_const;
using detail::uint_of_width;

void check_float(const char* fn, DType dtype) {
  if (!is_float(dtype))
    fail(fn, "the dtype must be a float dtype, got " + std::string(dtype_name(dtype)));
}

void check_bound(const char* fn, const char* what, const Tensor& t, const Shape& shape) {
  if (!t.defined()) fail(fn, std::string(what) + " is an empty tensor handle");
  check_broadcasts_to(fn, what, t.shape(), shape);
}

// The float next to x in the direction of +inf (up) or -inf (lax.nextafter toward +-inf): one
// ulp along the bit pattern, with zeros stepping to the smallest subnormal of the right sign
// and infinities and NaN kept.
Tensor next_toward_infinity(const Tensor& x, bool up) {
  DType ut = uint_of_width(bit_size(x.dtype()));
  Tensor bits = bitcast(x, ut);
  Tensor one = int_const(1, ut);
  Tensor zero = scalar(0.0, x.dtype());
  Tensor toward_magnitude = up ? greater(x, zero) : less(x, zero);  // moving away from zero
  Tensor stepped =
      bitcast(select(toward_magnitude, add(bits, one), subtract(bits, one)), x.dtype());
  uint64_t sign = uint64_t{1} << (bit_size(x.dtype()) - 1);
  Tensor tiny = bitcast(int_const(up ? 1 : sign | 1, ut), x.dtype());
  Tensor limit = scalar(
      up ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity(),
      x.dtype());
  Tensor keep = logical_or(is_nan(x), equal(x, limit));
  return select(keep, x, select(equal(x, zero), tiny, stepped));
}

// jax.random._uniform: random mantissa bits under the exponent of 1.0 give [1, 2); minus one,
// scaled and shifted into [min, max).
Tensor uniform_in(const char* fn, const Tensor& key, Tensor min, Tensor max, const Shape& shape,
                  DType dtype) {
  check_key(fn, key);
  check_float(fn, dtype);
  min = as_type(min, dtype);
  max = as_type(max, dtype);
  const int nbits = bit_size(dtype), nmant = mantissa_bits(dtype);
  // Fewer than 8 mantissa bits (bf16) are drawn from 8 random bits, as JAX does.
  const int rng_bits = nmant < 8 ? 8 : nbits;
  const DType ut = uint_of_width(nbits);
  Tensor bits = random_bits(key, shape, uint_of_width(rng_bits));
  if (rng_bits != nbits) bits = as_type(bits, ut);
  Tensor float_bits =
      bitwise_or(right_shift(bits, int_const(static_cast<uint64_t>(rng_bits - nmant), ut)),
                 bitcast(scalar(1.0, dtype), ut));
  Tensor floats = subtract(bitcast(float_bits, dtype), scalar(1.0, dtype));
  return nx::max(min, add(multiply(floats, subtract(max, min)), min));
}

Tensor standard_normal(const char* fn, const Tensor& key, const Shape& shape, DType dtype) {
  check_float(fn, dtype);
  // lo = nextafter(-1, 0): uniform's lower bound must keep erf_inv finite.
  Tensor lo = next_toward_infinity(scalar(-1.0, dtype), true);
  Tensor u = uniform_in(fn, key, lo, scalar(1.0, dtype), shape, dtype);
  return multiply(scalar(std::sqrt(2.0), dtype), erf_inv(u));
}

void check_int_dtype(const char* fn, DType dtype) {
  if (!is_integer(dtype))
    fail(fn, "the dtype must be an integer dtype, got " + std::string(dtype_name(dtype)));
}

int64_t dtype_min(DType t) {
  if (is_unsigned_int(t)) return 0;
  return static_cast<int64_t>(~uint64_t{0} << (bit_size(t) - 1));
}
uint64_t dtype_max(DType t) {
  if (is_unsigned_int(t)) return bit_size(t) == 64 ? UINT64_MAX : (uint64_t{1} << bit_size(t)) - 1;
  return (uint64_t{1} << (bit_size(t) - 1)) - 1;
}

// jax.random._convert_and_clip_integer: val converted to dtype, clipped to its range rather
// than wrapped.
Tensor convert_and_clip(const Tensor& val, DType dtype) {
  DType vt = val.dtype();
  int64_t lo = std::max(dtype_min(dtype), dtype_min(vt));
  uint64_t hi = std::min(dtype_max(dtype), dtype_max(vt));
  return as_type(clip(val, sint_const(lo, vt), int_const(hi, vt)), dtype);
}

// jax.random._randint for 32- and 64-bit dtypes.
Tensor randint_wide(const Tensor& key, const Shape& shape, Tensor minval, Tensor maxval,
                    DType dtype) {
  Tensor max_of_dtype = convert_and_clip(int_const(dtype_max(dtype), dtype), maxval.dtype());
  Tensor maxval_out_of_range = greater(maxval, max_of_dtype);
  minval = convert_and_clip(minval, dtype);
  maxval = convert_and_clip(maxval, dtype);
  const int nbits = bit_size(dtype);
  const DType ut = uint_of_width(nbits);
  Tensor keys = split(key);
  Tensor higher_bits = random_bits(reshape(slice_along_axis(keys, 0, 1), {2}), shape, ut);
  Tensor lower_bits = random_bits(reshape(slice_along_axis(keys, 1, 1), {2}), shape, ut);

  Tensor span = as_type(subtract(maxval, minval), ut);
  // maxval <= minval gives span 1, so that minval is returned (JAX issue #222).
  span = select(less_equal(maxval, minval), int_const(1, ut), span);
  // A maxval one past the dtype's range needs a span one larger; at 2^nbits it wraps to 0, and
  // remainder by 0 returning its operand makes that the full range.
  span = select(logical_and(maxval_out_of_range, greater(maxval, minval)),
                add(span, int_const(1, ut)), span);
  // 2^nbits mod span, without overflow: (2^(nbits/2) mod span)^2 mod span.
  Tensor multiplier = remainder(int_const(uint64_t{1} << (nbits / 2), ut), span);
  multiplier = remainder(multiply(multiplier, multiplier), span);
  Tensor offset =
      add(multiply(remainder(higher_bits, span), multiplier), remainder(lower_bits, span));
  offset = remainder(offset, span);
  return add(minval, as_type(offset, dtype));
}

// A bound of a narrow dtype as s32, clipped to [lo, hi] (without wrapping on the way).
Tensor as_s32_clipped(const Tensor& bound, int64_t lo, int64_t hi) {
  Tensor b = convert_and_clip(bound, s64);
  return as_type(clip(b, sint_const(lo, s64), sint_const(hi, s64)), s32);
}

}  // namespace

Tensor uniform(const Tensor& key, const Shape& shape, const UniformOptions& opts) {
  check_float("uniform", opts.dtype);
  return uniform_in("uniform", key, scalar(opts.min, opts.dtype), scalar(opts.max, opts.dtype),
                    shape, opts.dtype);
}

Tensor uniform(const Tensor& key, const Tensor& min, const Tensor& max, const Shape& shape,
               DType dtype) {
  check_bound("uniform", "min", min, shape);
  check_bound("uniform", "max", max, shape);
  return uniform_in("uniform", key, min, max, shape, dtype);
}

Tensor normal(const Tensor& key, const Shape& shape, const NormalOptions& opts) {
  Tensor x = standard_normal("normal", key, shape, opts.dtype);
  if (opts.mean == 0.0 && opts.std == 1.0) return x;
  return add(multiply(scalar(opts.std, opts.dtype), x), scalar(opts.mean, opts.dtype));
}

Tensor normal(const Tensor& key, const Tensor& mean, const Tensor& std, const Shape& shape,
              DType dtype) {
  check_bound("normal", "mean", mean, shape);
  check_bound("normal", "std", std, shape);
  Tensor x = standard_normal("normal", key, shape, dtype);
  return add(multiply(as_type(std, dtype), x), as_type(mean, dtype));
}

Tensor truncated_normal(const Tensor& key, double lower, double upper, const Shape& shape,
                        DType dtype) {
  check_float("truncated_normal", dtype);
  return truncated_normal(key, scalar(lower, dtype), scalar(upper, dtype), shape, dtype);
}

Tensor truncated_normal(const Tensor& key, const Tensor& lower, const Tensor& upper,
                        const Shape& shape, DType dtype) {
  check_float("truncated_normal", dtype);
  check_bound("truncated_normal", "lower", lower, shape);
  check_bound("truncated_normal", "upper", upper, shape);
  Tensor sqrt2 = scalar(std::sqrt(2.0), dtype);
  Tensor lo = as_type(lower, dtype), hi = as_type(upper, dtype);
  Tensor a = erf(divide(lo, sqrt2));
  Tensor b = erf(divide(hi, sqrt2));
  Tensor u = uniform_in("truncated_normal", key, a, b, shape, dtype);
  Tensor out = multiply(sqrt2, erf_inv(u));
  // Keep the result inside the open interval despite rounding (or u landing exactly on a).
  return clip(out, next_toward_infinity(lo, true), next_toward_infinity(hi, false));
}

Tensor randint(const Tensor& key, const Shape& shape, int64_t min, int64_t max, DType dtype) {
  return randint(key, shape, from_vector(std::vector<int64_t>{min}, Shape{}),
                 from_vector(std::vector<int64_t>{max}, Shape{}), dtype);
}

Tensor randint(const Tensor& key, const Shape& shape, const Tensor& min, const Tensor& max,
               DType dtype) {
  check_key("randint", key);
  check_int_dtype("randint", dtype);
  check_bound("randint", "min", min, shape);
  check_bound("randint", "max", max, shape);
  if (!is_integer(min.dtype()) || !is_integer(max.dtype())) {
    fail("randint", "the bounds must be integers, got " + type_string(min.type()) + " and " +
                        type_string(max.type()));
  }
  detail::checked_size("randint", shape);
  if (bit_size(dtype) >= 32) return randint_wide(key, shape, min, max, dtype);
  // Narrow dtypes are drawn in 32 bits to avoid bias, with the bounds clipped to the dtype (max
  // to one past its largest value), then converted (JAX since 2025-08).
  const int64_t lo = dtype_min(dtype), hi = static_cast<int64_t>(dtype_max(dtype));
  Tensor min32 = as_s32_clipped(min, lo, hi);
  Tensor max32 = as_s32_clipped(max, lo, hi + 1);
  return as_type(randint_wide(key, shape, min32, max32, s32), dtype);
}

}  // namespace nx::random
