// Counter-based random numbers: Threefry-2x32 keys, as in JAX and Nx.Random.
//
//   nx::Tensor key = nx::random::key(42);                  // u32[2] {0, 42}
//   auto keys = nx::random::split(key);                     // u32[2][2]: two independent keys
//   nx::Tensor w = nx::random::normal(nx::take(keys, 0),    // f32[784][128]
//                                     {784, 128});
//   nx::Tensor u = nx::random::uniform(key, {3}, {.min = -1, .max = 1, .dtype = nx::f64});
//
// A key is a u32[2] tensor. Nothing here has state: the same key gives the same numbers, on
// every backend. Split a key (or fold data into it) to get fresh, independent keys; never reuse
// a key for two different draws.
//
// Every function is a composition of nx ops around one primitive (threefry2x32), so it runs
// eagerly, traces and compiles. The results follow JAX's default implementation (threefry2x32,
// jax_threefry_partitionable=False, jax/_src/random/{threefry2x32,core}.py):
//   - key, split, fold_in, random_bits, uniform, randint, shuffle, permutation and choice
//     without probabilities are bit-identical to jax.random.{PRNGKey, split, fold_in, bits,
//     uniform, randint, permutation, choice};
//   - normal, truncated_normal and choice with probabilities apply nx::erf_inv / erf / log to
//     those bit-identical uniforms; they match JAX to the last few ulp of those functions
//     (XLA uses its own polynomial approximations).
// Nx.Random agrees for key, split, fold_in, 32- and 64-bit random bits, and f32/f64 uniform and
// normal; its functions that return {value, new_key} split the key first and use the second
// half, so Nx.Random.uniform(k) equals nx::random::uniform(nx::take(split(k), 1)), and its
// *_split variants equal these functions directly. Nx differs from JAX (and so from nx) for
// f16/bf16 uniform and normal, 8/16-bit random bits, and randint.
#pragma once

#include <cstdint>
#include <optional>

#include "nx/tensor.hpp"

namespace nx::random {

/// A key from a seed: u32[2] {seed >> 32, seed & 0xFFFFFFFF} of the seed's 64-bit two's
/// complement (Nx.Random.key; jax.random.PRNGKey with a 64-bit seed, so key(-1) is
/// {0xFFFFFFFF, 0xFFFFFFFF}).
Tensor key(int64_t seed);
/// A key from an integer scalar tensor: 64-bit seeds as above; narrower seeds give
/// {0, seed converted to u32} (jax.random.PRNGKey with a 32-bit seed).
Tensor key(const Tensor& seed);

/// `n` new keys, u32[n][2], from the counters 0 .. 2n-1 (jax.random.split, Nx.Random.split).
Tensor split(const Tensor& key, int64_t n = 2);
/// A new key that depends on `key` and `data` (jax.random.fold_in, Nx.Random.fold_in).
Tensor fold_in(const Tensor& key, uint64_t data);
/// fold_in for every element of an integer tensor: keys of shape data.shape ++ {2}. Data is
/// taken as u64 (Nx's rule; JAX folds 32-bit data, with the same results).
Tensor fold_in(const Tensor& key, const Tensor& data);

/// The Threefry-2x32 hash of u32 counters (JAX's threefry_2x32): the flat counters are padded
/// with one 0 if odd, halved into the two cipher words, and the two outputs concatenated.
Tensor threefry_2x32(const Tensor& key, const Tensor& counters);

/// Uniform random bits of an unsigned dtype (u8, u16, u32, u64) (jax.random.bits). Throws
/// nx::Error past 2^32 - 1 words of 32 bits (16 GiB), where JAX switches to blocked keys.
Tensor random_bits(const Tensor& key, const Shape& shape, DType dtype = u32);

/// Options of uniform.
struct UniformOptions {
  double min = 0.0;   ///< inclusive lower bound
  double max = 1.0;   ///< exclusive upper bound
  DType dtype = f32;  ///< a float dtype
};
/// Floats in [min, max) from the mantissa bits (jax.random.uniform).
Tensor uniform(const Tensor& key, const Shape& shape, const UniformOptions& opts = {});
/// uniform with tensor bounds that broadcast to `shape` (converted to dtype first).
Tensor uniform(const Tensor& key, const Tensor& min, const Tensor& max, const Shape& shape,
               DType dtype = f32);

/// Options of normal.
struct NormalOptions {
  double mean = 0.0;  ///< the distribution's mean
  double std = 1.0;   ///< its standard deviation
  DType dtype = f32;  ///< a float dtype
};
/// Normal samples sqrt(2) * erf_inv(u), u uniform in (-1, 1) (jax.random.normal), then
/// std * x + mean when those are not 0 and 1 (Nx.Random.normal).
Tensor normal(const Tensor& key, const Shape& shape, const NormalOptions& opts = {});
/// normal with tensor mean and standard deviation that broadcast to `shape`.
Tensor normal(const Tensor& key, const Tensor& mean, const Tensor& std, const Shape& shape,
              DType dtype = f32);

/// Standard normal samples restricted to the open interval (lower, upper), by inverting the CDF
/// on a uniform between erf(lower/sqrt 2) and erf(upper/sqrt 2) (jax.random.truncated_normal).
Tensor truncated_normal(const Tensor& key, double lower, double upper, const Shape& shape,
                        DType dtype = f32);
/// truncated_normal with tensor bounds that broadcast to `shape`.
Tensor truncated_normal(const Tensor& key, const Tensor& lower, const Tensor& upper,
                        const Shape& shape, DType dtype = f32);

/// Integers in [min, max) of an integer dtype (jax.random.randint): two nbits-wide draws
/// combined modulo the span, so the bias is tiny unless the span nears 2^nbits. Bounds are
/// clipped to the dtype (max may be one past its largest value: randint(k, s, 0, 256, u8));
/// max <= min gives min. 8- and 16-bit dtypes are drawn as s32 and converted, as JAX does.
Tensor randint(const Tensor& key, const Shape& shape, int64_t min, int64_t max, DType dtype = s32);
/// randint with integer tensor bounds that broadcast to `shape`.
Tensor randint(const Tensor& key, const Shape& shape, const Tensor& min, const Tensor& max,
               DType dtype = s32);

/// Options of shuffle.
struct ShuffleOptions {
  int64_t axis = 0;          ///< the axis along which entries move
  bool independent = false;  ///< shuffle each slice along `axis` separately
};
/// x with its entries along an axis permuted (jax.random.permutation, Nx.Random.shuffle): a few
/// rounds of sorting by fresh random 32-bit keys (3 log n / log(2^32 - 1) rounds, rounded up).
/// Ties between sort keys keep their order (JAX's sort may not; ties are rare).
Tensor shuffle(const Tensor& key, const Tensor& x, const ShuffleOptions& opts = {});
/// A random permutation of 0 .. n-1 as s32 (jax.random.permutation(key, n)).
Tensor permutation(const Tensor& key, int64_t n);

/// Options of choice.
struct ChoiceOptions {
  bool replace = true;  ///< draw with replacement
  std::optional<Tensor> p =
      std::nullopt;  ///< probabilities of the entries along `axis` (1-D, summing to 1)
  int64_t axis = 0;  ///< the axis of `x` to draw entries from
};
/// Entries of x along an axis drawn at random (jax.random.choice): the result has shape
/// x.shape[:axis] ++ shape ++ x.shape[axis+1:]. Without p: randint indices with replacement,
/// a permutation's first entries without. With p: inverse-CDF sampling with replacement, the
/// Gumbel top-k trick without.
Tensor choice(const Tensor& key, const Tensor& x, const Shape& shape,
              const ChoiceOptions& opts = {});
/// choice from 0 .. n-1 (s32).
Tensor choice(const Tensor& key, int64_t n, const Shape& shape, const ChoiceOptions& opts = {});

}  // namespace nx::random
