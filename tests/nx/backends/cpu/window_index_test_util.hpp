// Helpers of the window, index and QR kernel tests: typed tensors from reference doubles and
// element-wise comparison with dtype-aware tolerances.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/core/visit_dtype.hpp"
#include "nx/ops/creation.hpp"
#include "nx/rule_test_util.hpp"

namespace nx::window_index_test {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// v as a T: integers wrap modulo 2^bits (through int64), +-inf become the integer type's
/// highest/lowest (the identities of min/max), floats round to nearest.
template <class T>
T cast_ref(double v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else if constexpr (std::is_integral_v<T>) {
    if (std::isinf(v))
      return v > 0 ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
    return static_cast<T>(static_cast<int64_t>(v));
  } else if constexpr (std::is_same_v<T, double>) {
    return v;
  } else {
    return T(static_cast<float>(v));
  }
}

/// A tensor of dtype dt holding `values` converted with cast_ref.
inline Tensor typed(const std::vector<double>& values, const Shape& shape, DType dt) {
  return detail::visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<bool> v;
      for (double d : values) v.push_back(d != 0);
      return from_vector(v, shape);
    } else {
      std::vector<T> v;
      for (double d : values) v.push_back(cast_ref<T>(d));
      return from_vector(v, shape);
    }
  });
}

/// Relative tolerance of results computed in dtype dt from exact data.
inline double tolerance(DType dt) {
  switch (dt) {
    case DType::F16:
      return 2e-3;
    case DType::BF16:
      return 1.6e-2;
    case DType::F32:
      return 2e-5;
    case DType::F64:
      return 1e-12;
    default:
      return 0;
  }
}

/// Expects `got` to have `shape` and the values `want` (converted to got's dtype first), equal
/// within `tol` relative/absolute (NaN matches NaN).
inline void expect_values(const Tensor& got, const Shape& shape, const std::vector<double>& want,
                          double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), shape) << what;
  std::vector<double> g = got.to_vector<double>();
  std::vector<double> w = typed(want, shape, got.dtype()).to_vector<double>();
  ASSERT_EQ(g.size(), w.size()) << what;
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(w[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << what << " at " << i << ": got " << g[i];
    } else if (tol == 0 || std::isinf(w[i])) {
      EXPECT_EQ(g[i], w[i]) << what << " at " << i;
    } else {
      EXPECT_NEAR(g[i], w[i], tol * (1 + std::abs(w[i]))) << what << " at " << i;
    }
  }
}

using nx::testing::expect_error;

}  // namespace nx::window_index_test
