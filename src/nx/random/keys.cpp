// Keys and raw bits: key, split, fold_in, threefry_2x32, random_bits.
//
// Follows JAX's threefry2x32 PRNG without jax_threefry_partitionable
// (jax/_src/random/threefry2x32.py: threefry_seed, threefry_2x32, _threefry_split_original,
// _threefry_fold_in, _threefry_random_bits_original).
#include <vector>

#include "../core/dispatch.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"
#include "random_common.hpp"

namespace nx::random {

namespace detail {

void check_key(const char* fn, const Tensor& key) {
  if (!key.defined()) fail(fn, "the key is an empty tensor handle");
  if (key.dtype() != u32 || key.shape() != Shape{2}) {
    fail(fn,
         "a key must be u32[2] (from nx::random::key or split), got " + type_string(key.type()));
  }
}

DType uint_of_width(int bits) {
  switch (bits) {
    case 8:
      return u8;
    case 16:
      return u16;
    case 32:
      return u32;
    default:
      return u64;
  }
}

Tensor int_const(uint64_t v, DType dtype) {
  return as_type(from_vector(std::vector<uint64_t>{v}, Shape{}), dtype);
}

Tensor sint_const(int64_t v, DType dtype) {
  return as_type(from_vector(std::vector<int64_t>{v}, Shape{}), dtype);
}

int64_t checked_size(const char* fn, const Shape& shape) {
  int64_t n = 1;
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0) fail(fn, "negative dimension in shape " + shape_repr(shape));
    if (d == 0) {
      empty = true;
    } else if (__builtin_mul_overflow(n, d, &n)) {
      fail(fn, "the shape " + shape_repr(shape) + " has more elements than fit in 64 bits");
    }
  }
  return empty ? 0 : n;
}

void check_broadcasts_to(const char* fn, const char* what, const Shape& bound, const Shape& shape) {
  bool ok = bound.size() <= shape.size();
  for (size_t i = 0; ok && i < bound.size(); ++i) {
    int64_t b = bound[bound.size() - 1 - i], s = shape[shape.size() - 1 - i];
    ok = b == 1 || b == s;
  }
  if (!ok) {
    fail(fn, std::string(what) + " of shape " + shape_repr(bound) +
                 " does not broadcast to the shape " + shape_repr(shape));
  }
}

}  // namespace detail

using detail::check_key;
using detail::fail;
using detail::int_const;

Tensor key(int64_t seed) {
  return key(from_vector(std::vector<int64_t>{seed}, Shape{}));
}

Tensor key(const Tensor& seed) {
  if (!seed.defined() || seed.rank() != 0 || !is_integer(seed.dtype())) {
    fail("key", "the seed must be an integer scalar, got " +
                    (seed.defined() ? type_string(seed.type()) : std::string("an empty handle")));
  }
  Tensor hi, lo;
  if (bit_size(seed.dtype()) == 64) {
    Tensor bits = bitcast(seed, u64);
    hi = as_type(right_shift(bits, int_const(32, u64)), u32);
    lo = as_type(bits, u32);  // integer conversion wraps: the low 32 bits
  } else {
    // JAX: shift_right_logical(seed, 32) is 0 for a 32-bit seed; the low word is the seed
    // masked with 0xFFFFFFFF after promotion, i.e. its value modulo 2^32.
    hi = int_const(0, u32);
    lo = as_type(seed, u32);
  }
  return concatenate({reshape(hi, {1}), reshape(lo, {1})});
}

Tensor threefry_2x32(const Tensor& key, const Tensor& counters) {
  check_key("threefry_2x32", key);
  if (!counters.defined() || counters.dtype() != u32) {
    fail("threefry_2x32",
         "the counters must be u32, got " +
             (counters.defined() ? type_string(counters.type()) : std::string("an empty handle")));
  }
  const int64_t n = counters.size();
  const bool odd = n % 2 != 0;
  Tensor flat = reshape(counters, {n});
  if (odd) flat = concatenate({flat, reshape(int_const(0, u32), {1})});
  const int64_t half = (n + 1) / 2;
  Tensor x0 = slice_along_axis(flat, 0, half);
  Tensor x1 = slice_along_axis(flat, half, half);
  std::vector<Tensor> y = nx::detail::bind(nx::detail::Prim::threefry2x32, {key, x0, x1});
  Tensor out = concatenate({y[0], y[1]});
  if (odd) out = slice_along_axis(out, 0, n);
  return reshape(out, counters.shape());
}

Tensor split(const Tensor& key, int64_t n) {
  check_key("split", key);
  if (n < 0) fail("split", "the number of keys must be non-negative, got " + std::to_string(n));
  if (n > (int64_t{1} << 31))
    fail("split", "at most 2^31 keys per split, got " + std::to_string(n));
  return reshape(threefry_2x32(key, iota({2 * n}, u32)), {n, 2});
}

Tensor fold_in(const Tensor& key, uint64_t data) {
  return fold_in(key, from_vector(std::vector<uint64_t>{data}, Shape{}));
}

Tensor fold_in(const Tensor& key, const Tensor& data) {
  check_key("fold_in", key);
  if (!data.defined() || !is_integer(data.dtype())) {
    fail("fold_in",
         "the data must be an integer tensor, got " +
             (data.defined() ? type_string(data.type()) : std::string("an empty handle")));
  }
  // JAX hashes the counter pair (seed >> 32, seed & 0xFFFFFFFF) of the data, as key(data) would
  // lay it out; Nx does the same with data taken as u64.
  Tensor d = as_type(data, u64);
  Tensor hi = as_type(right_shift(d, int_const(32, u64)), u32);
  Tensor lo = as_type(d, u32);
  std::vector<Tensor> y = nx::detail::bind(nx::detail::Prim::threefry2x32, {key, hi, lo});
  return stack({y[0], y[1]}, -1);
}

Tensor random_bits(const Tensor& key, const Shape& shape, DType dtype) {
  check_key("random_bits", key);
  if (dtype != u8 && dtype != u16 && dtype != u32 && dtype != u64) {
    fail("random_bits",
         "the dtype must be u8, u16, u32 or u64, got " + std::string(dtype_name(dtype)));
  }
  const int64_t size = detail::checked_size("random_bits", shape);
  const int bw = bit_size(dtype);
  // 32-bit words needed: ceil(bw * size / 32), computed without overflow.
  const uint64_t words = (static_cast<uint64_t>(size) / 32) * static_cast<uint64_t>(bw) +
                         (static_cast<uint64_t>(size) % 32 * static_cast<uint64_t>(bw) + 31) / 32;
  if (words >= 0xFFFFFFFFull) {
    fail("random_bits", "the shape " + shape_repr(shape) + " needs " + std::to_string(words) +
                            " 32-bit words, more than one key's 2^32 - 2 counters");
  }
  const int64_t m = static_cast<int64_t>(words);
  Tensor bits = threefry_2x32(key, iota({m}, u32));
  if (bw == 64) {
    // The first half of the words are the high halves, the second half the low halves.
    Tensor hi = as_type(slice_along_axis(bits, 0, size), u64);
    Tensor lo = as_type(slice_along_axis(bits, size, size), u64);
    bits = bitwise_or(left_shift(hi, int_const(32, u64)), lo);
  } else if (bw < 32) {
    // Each word holds 32 / bw values, least significant first (bits.view(dtype) on a
    // little-endian machine).
    const int64_t per = 32 / bw;
    Tensor shifts = multiply(iota({per}, u32), int_const(static_cast<uint64_t>(bw), u32));
    Tensor parts = right_shift(reshape(bits, {m, 1}), shifts);
    parts = bitwise_and(parts, int_const((uint64_t{1} << bw) - 1, u32));
    bits = as_type(slice_along_axis(reshape(parts, {m * per}), 0, size), dtype);
  }
  return reshape(bits, shape);
}

}  // namespace nx::random
