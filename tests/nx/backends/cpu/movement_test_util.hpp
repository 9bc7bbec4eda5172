// Helpers of the movement kernel tests. Movement moves bytes without looking at them, so the
// tests fill tensors with distinct bit patterns ("ids") of the element width and check where each
// one lands against naive multi-index references written straight from the definitions.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/ops/creation.hpp"

namespace nx::movement_test {

/// Every dtype, so that each element width (1, 2, 4, 8 bytes) and pred is covered.
inline const std::vector<DType> kAllDTypes = {
    DType::U8,  DType::S8,  DType::U16, DType::S16, DType::F16, DType::BF16, DType::U32,
    DType::S32, DType::F32, DType::U64, DType::S64, DType::F64, DType::Pred};

/// An element's bits: a hash of its position, so a misplaced element almost always shows.
inline uint64_t id_of(int64_t i) {
  uint64_t z = static_cast<uint64_t>(i) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Keeps the bits an element of dt can hold (pred holds 0 or 1).
inline uint64_t fit(uint64_t id, DType dt) {
  if (dt == DType::Pred) return id & 1;
  int bits = 8 * byte_size(dt);
  return bits == 64 ? id : id & ((uint64_t{1} << bits) - 1);
}

/// Ids of n elements, already fitted to dt.
inline std::vector<uint64_t> ids(int64_t n, DType dt, int64_t salt = 0) {
  std::vector<uint64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = fit(id_of(i + salt * 1000003), dt);
  return v;
}

/// A tensor of dt whose elements have the given bits.
inline Tensor from_ids(const std::vector<uint64_t>& v, const Shape& shape, DType dt) {
  const int w = byte_size(dt);
  std::vector<unsigned char> bytes(v.size() * static_cast<size_t>(w));
  for (size_t i = 0; i < v.size(); ++i)
    std::memcpy(bytes.data() + i * w, &v[i], w);  // little endian
  return from_data(bytes.data(), shape, dt);
}

/// The bits of each element of t.
inline std::vector<uint64_t> to_ids(const Tensor& t) {
  const int w = byte_size(t.dtype());
  std::vector<uint64_t> v(static_cast<size_t>(t.size()), 0);
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(&v[i], p + i * w, w);
  return v;
}

/// Calls f(multi_index, flat_index) for every element of shape, in row-major order.
inline void for_each_index(const Shape& shape,
                           const std::function<void(const std::vector<int64_t>&, int64_t)>& f) {
  int64_t n = num_elements(shape);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t flat = 0; flat < n; ++flat) {
    f(idx, flat);
    for (size_t k = shape.size(); k-- > 0;) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
}

/// Flat row-major offset of a multi-index.
inline int64_t flat_of(const Shape& shape, const std::vector<int64_t>& idx) {
  int64_t off = 0;
  for (size_t k = 0; k < shape.size(); ++k) off = off * shape[k] + idx[k];
  return off;
}

/// A random shape of rank [0, max_rank] with dims in [0, max_dim] (zeros are rarer).
inline Shape random_shape(std::mt19937_64& rng, int max_rank, int64_t max_dim) {
  int rank = static_cast<int>(rng() % static_cast<uint64_t>(max_rank + 1));
  Shape s(static_cast<size_t>(rank));
  for (auto& d : s) {
    d = rng() % 12 == 0 ? 0 : 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_dim));
  }
  return s;
}

/// Runs f and checks that it throws nx::Error whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg << " lacks " << p;
  }
}

}  // namespace nx::movement_test
