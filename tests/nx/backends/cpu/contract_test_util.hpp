// Helpers of the dot_general and conv_general tests: the deterministic inputs the generator
// scripts (gen_dot_cases.py, gen_conv_cases.py) reproduce, tensors of any dtype from doubles,
// and tolerant comparison per dtype.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/core/visit_dtype.hpp"
#include "nx/ops/creation.hpp"

namespace nx::contract_test {

/// Element i of the generators' input `seed`: quarters in [-2, 2] for floats, [-125, 125] for
/// signed and [0, 250] for unsigned integers (exact in every dtype).
inline double input_value(int64_t i, int64_t seed, DType dt) {
  int64_t raw = i * 7 + seed * 13;
  if (is_float(dt)) return static_cast<double>(raw % 17 - 8) / 4.0;
  if (is_signed_int(dt)) return static_cast<double>(raw % 251 - 125);
  return static_cast<double>(raw % 251);
}

/// A tensor of dt holding `values` (converted as C++ converts a double to the element type).
inline Tensor make_tensor(const std::vector<double>& values, const Shape& shape, DType dt) {
  return detail::visit_dtype(dt, [&](auto tag) {
    // pred (never a contraction operand) is stored as one byte per element.
    using T = std::conditional_t<std::is_same_v<typename decltype(tag)::type, bool>, uint8_t,
                                 typename decltype(tag)::type>;
    std::vector<T> v(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if constexpr (detail::is_half_v<T>) {
        v[i] = T(static_cast<float>(values[i]));
      } else {
        v[i] = static_cast<T>(values[i]);
      }
    }
    return from_data(v.data(), shape, dt);
  });
}

/// The generators' input tensor.
inline Tensor generated_input(const Shape& shape, int64_t seed, DType dt) {
  std::vector<double> v(static_cast<size_t>(num_elements(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = input_value(static_cast<int64_t>(i), seed, dt);
  return make_tensor(v, shape, dt);
}

/// Uniform values in [-1, 1) rounded to what dt holds (so that references see the same
/// numbers), or small integers for integer dtypes.
inline std::vector<double> random_values(int64_t n, DType dt, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::uniform_int_distribution<int> small(-9, 9);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) {
    if (!is_float(dt)) {
      x = is_signed_int(dt) ? small(gen) : small(gen) + 9;
    } else if (dt == DType::F16) {
      x = static_cast<float>(half(static_cast<float>(uni(gen))));
    } else if (dt == DType::BF16) {
      x = static_cast<float>(bfloat16(static_cast<float>(uni(gen))));
    } else if (dt == DType::F32) {
      x = static_cast<float>(uni(gen));
    } else {
      x = uni(gen);
    }
  }
  return v;
}

/// Exact integer sums reduced modulo 2^bits into dt, as wrapping integer arithmetic gives them;
/// floats unchanged.
inline std::vector<double> wrapped(const std::vector<double>& v, DType dt) {
  std::vector<double> out(v);
  detail::visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      for (double& x : out) x = static_cast<double>(static_cast<T>(static_cast<int64_t>(x)));
    }
  });
  return out;
}

/// Relative precision of a float dtype's result (unit roundoff), 0 for integers.
inline double unit_roundoff(DType dt) {
  return is_float(dt) ? std::ldexp(1.0, -(mantissa_bits(dt) + 1)) : 0.0;
}

/// Checks got against want elementwise: exact for integers; for floats within `tol` times the
/// magnitude `scale[i]` (the sum of |terms| behind element i, or |want| when scale is empty)
/// plus the dtype's rounding of the result.
inline void expect_close(const Tensor& got, const std::vector<double>& want,
                         const std::vector<double>& scale = {}, double tol = 0.0) {
  ASSERT_EQ(static_cast<size_t>(got.size()), want.size()) << got.to_string();
  std::vector<double> g = got.to_vector<double>();
  double u = unit_roundoff(got.dtype());
  int reported = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double s = scale.empty() ? std::abs(want[i]) : scale[i];
    double bound = is_float(got.dtype()) ? u * std::abs(want[i]) + tol * s + 1e-300 : 0.0;
    if (!(std::abs(g[i] - want[i]) <= bound)) {
      ADD_FAILURE() << "element " << i << ": got " << g[i] << ", want " << want[i] << " (bound "
                    << bound << ")";
      if (++reported == 10) return;
    }
  }
}

}  // namespace nx::contract_test
