// Helpers shared by the nx::random tests.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "nx/ops/creation.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace nx_random_test {

using nx::Tensor;

/// Key i of a u32[n][2] batch of keys.
inline Tensor row(const Tensor& keys, int64_t i) {
  return nx::reshape(nx::slice_along_axis(keys, i, 1), {2});
}

inline std::vector<uint32_t> u32s(const Tensor& t) {
  return t.to_vector<uint32_t>();
}

}  // namespace nx_random_test
