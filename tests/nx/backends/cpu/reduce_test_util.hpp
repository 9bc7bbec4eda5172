// Helpers of the reduction, scan and sort kernel tests: typed tensors from doubles, and naive
// references that reduce or scan along axes in double (floats) or in wrapping 64-bit integer
// arithmetic truncated to the dtype's width (integers), straight from the definitions.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "movement_test_util.hpp"
#include "nx/core/dispatch.hpp"
#include "nx/core/visit_dtype.hpp"
#include "nx/ops/creation.hpp"

namespace nx::reduce_test {

using movement_test::flat_of;
using movement_test::for_each_index;

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline const std::vector<DType> kNumericDTypes = {DType::U8,  DType::S8,   DType::U16, DType::S16,
                                                  DType::U32, DType::S32,  DType::U64, DType::S64,
                                                  DType::F16, DType::BF16, DType::F32, DType::F64};

/// A tensor of dtype dt holding `values` (exact for the small integers the tests use).
inline Tensor typed(const std::vector<double>& values, const Shape& shape, DType dt) {
  return detail::visit_dtype(dt, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      std::vector<bool> v;
      for (double d : values) v.push_back(d != 0);
      return from_vector(v, shape);
    } else {
      std::vector<T> v;
      for (double d : values) {
        if constexpr (std::is_integral_v<T>)
          v.push_back(static_cast<T>(static_cast<int64_t>(d)));
        else if constexpr (std::is_same_v<T, double>)
          v.push_back(d);
        else
          v.push_back(T(static_cast<float>(d)));
      }
      return from_vector(v, shape);
    }
  });
}

/// Small integers that every dtype holds exactly: [-8, 8], or [0, 16] for unsigned dtypes.
inline std::vector<double> small_values(int64_t n, std::mt19937_64& rng, DType dt) {
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& d : v) {
    d = static_cast<double>(rng() % 17);
    if (!is_unsigned_int(dt)) d -= 8;
  }
  return v;
}

/// The wrapping integer value `v` (two's complement) reduced to the width of dt, as an int64
/// (signed dtypes) or uint64 bit pattern (unsigned dtypes) stored in a uint64.
inline uint64_t wrap_to(uint64_t v, DType dt) {
  int bits = 8 * byte_size(dt);
  if (bits == 64) return v;
  uint64_t mask = (uint64_t{1} << bits) - 1;
  v &= mask;
  if (is_signed_int(dt) && (v >> (bits - 1))) v |= ~mask;  // sign-extend
  return v;
}

/// Integer tensor elements as wrapped uint64 (sign-extended for signed dtypes).
inline std::vector<uint64_t> int_bits(const Tensor& t) {
  if (is_signed_int(t.dtype())) {
    auto v = t.to_vector<int64_t>();
    return std::vector<uint64_t>(v.begin(), v.end());
  }
  return t.to_vector<uint64_t>();
}

/// Shape without the given (sorted) axes.
inline Shape drop_axes(const Shape& s, const Axes& axes) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i)
    if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end())
      out.push_back(s[i]);
  return out;
}

/// For each element of shape s (row-major), the flat index of its output when `axes` are
/// reduced away.
inline std::vector<int64_t> output_index(const Shape& s, const Axes& axes) {
  Shape os = drop_axes(s, axes);
  std::vector<int64_t> ostride(s.size(), 0);  // output stride of each input axis (0 if reduced)
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end()) continue;
    ostride[i] = acc;
    acc *= s[i];
  }
  std::vector<int64_t> out(static_cast<size_t>(num_elements(s)));
  std::vector<int64_t> idx(s.size(), 0);
  int64_t o = 0;
  for (size_t flat = 0; flat < out.size(); ++flat) {
    out[flat] = o;
    for (size_t k = s.size(); k-- > 0;) {
      o += ostride[k];
      if (++idx[k] < s[k]) break;
      o -= ostride[k] * s[k];
      idx[k] = 0;
    }
  }
  return out;
}

/// Reduces x (row-major, shape s) over `axes`, starting every output at `init`, with f, in
/// input order.
template <class A, class F>
std::vector<A> ref_reduce(const std::vector<A>& x, const Shape& s, const Axes& axes, A init, F f) {
  std::vector<A> out(static_cast<size_t>(num_elements(drop_axes(s, axes))), init);
  std::vector<int64_t> oi = output_index(s, axes);
  for (size_t i = 0; i < x.size(); ++i) out[oi[i]] = f(out[oi[i]], x[i]);
  return out;
}

/// NaN-propagating max and min of the references.
inline double ref_max(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
}
inline double ref_min(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
}

/// Checks float results against references: equal NaN-ness and infinities, otherwise within
/// `tol` (absolute).
inline void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                         double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " at " << i << ": got " << got[i];
    } else if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << what << " at " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], tol) << what << " at " << i;
    }
  }
}

/// Unit roundoff of a float dtype (0 for others).
inline double epsilon(DType dt) {
  return is_float(dt) ? std::ldexp(1.0, -(mantissa_bits(dt) + 1)) : 0.0;
}

}  // namespace nx::reduce_test
