// Helpers of the elementwise kernel tests: tensors from raw bit patterns, primitives by name,
// and float comparison in ulps.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "nx/core/dispatch.hpp"
#include "nx/ops/creation.hpp"

namespace nx::ew_test {

using detail::Prim;

/// The primitive called `name` (fails the test if there is none).
inline Prim prim_named(std::string_view name) {
  for (int i = 0; i < detail::kNumPrims; ++i) {
    if (detail::kPrimInfo[static_cast<size_t>(i)].name == name) return static_cast<Prim>(i);
  }
  ADD_FAILURE() << "no primitive named " << name;
  return Prim::add;
}

/// A tensor of dtype dt whose elements have the given bits (little endian, low bytes).
inline Tensor from_bits(const uint64_t* bits, const Shape& shape, DType dt) {
  const size_t w = static_cast<size_t>(byte_size(dt));
  const size_t n = static_cast<size_t>(num_elements(shape));
  std::vector<unsigned char> bytes(n * w + 1);
  for (size_t i = 0; i < n; ++i) std::memcpy(bytes.data() + i * w, &bits[i], w);
  return from_data(bytes.data(), shape, dt);
}
inline Tensor from_bits(const std::vector<uint64_t>& bits, const Shape& shape, DType dt) {
  return from_bits(bits.data(), shape, dt);
}

/// The bits of each element of t.
inline std::vector<uint64_t> to_bits(const Tensor& t) {
  const size_t w = static_cast<size_t>(byte_size(t.dtype()));
  std::vector<uint64_t> v(static_cast<size_t>(t.size()), 0);
  const auto* p = static_cast<const unsigned char*>(t.raw_data());
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(&v[i], p + i * w, w);
  return v;
}

/// Sign bit, NaN test and magnitude of a float dtype's bit pattern.
struct FloatBits {
  bool negative, nan;
  uint64_t magnitude;
};
inline FloatBits split_float(uint64_t b, DType dt) {
  int bits = 8 * byte_size(dt);
  uint64_t sign = uint64_t{1} << (bits - 1);
  uint64_t mag = b & (sign - 1);
  int mant = dt == DType::F16 ? 10 : dt == DType::BF16 ? 7 : dt == DType::F32 ? 23 : 52;
  uint64_t inf = ((sign - 1) >> mant) << mant;  // exponent all ones
  return {(b & sign) != 0, mag > inf, mag};
}

/// Distance in ulps between two float bit patterns of dt: 0 when identical or both NaN; huge
/// when exactly one is NaN or the signs differ (so -0 vs +0 counts as a mismatch).
inline uint64_t ulp_distance(uint64_t got, uint64_t want, DType dt) {
  if (got == want) return 0;
  FloatBits g = split_float(got, dt), w = split_float(want, dt);
  if (g.nan || w.nan) return g.nan && w.nan ? 0 : std::numeric_limits<uint64_t>::max();
  if (g.negative != w.negative) return std::numeric_limits<uint64_t>::max();
  return g.magnitude > w.magnitude ? g.magnitude - w.magnitude : w.magnitude - g.magnitude;
}

/// Whether two result bit patterns match: exactly for integers and pred, within `ulps` for
/// floats.
inline bool bits_match(uint64_t got, uint64_t want, DType dt, uint64_t ulps) {
  if (!is_float(dt)) return got == want;
  return ulp_distance(got, want, dt) <= ulps;
}

/// "0x3f800000 (1)" for failure messages.
inline std::string show_bits(uint64_t b, DType dt) {
  char buf[64];
  double v = 0;
  if (dt == DType::F64)
    std::memcpy(&v, &b, 8);
  else if (dt == DType::F32) {
    float f;
    uint32_t u = static_cast<uint32_t>(b);
    std::memcpy(&f, &u, 4);
    v = f;
  } else if (dt == DType::F16)
    v = half::to_float(static_cast<uint16_t>(b));
  else if (dt == DType::BF16)
    v = float(bfloat16::from_bits(static_cast<uint16_t>(b)));
  if (is_float(dt))
    std::snprintf(buf, sizeof buf, "0x%llx (%.17g)", (unsigned long long)b, v);
  else
    std::snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)b);
  return buf;
}

/// Runs a one-output primitive.
inline Tensor run(Prim p, std::initializer_list<Tensor> in,
                  const detail::Params& params = detail::NoParams{}) {
  return detail::bind1(p, in, params);
}

/// Float values of t, widened to double (for hand-written expectations).
inline std::vector<double> values(const Tensor& t) {
  return t.to_vector<double>();
}

}  // namespace nx::ew_test
