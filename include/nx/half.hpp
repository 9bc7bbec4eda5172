// Storage types for the 16-bit floats f16 (IEEE binary16) and bf16 (bfloat16).
//
// Both convert to and from float with round-to-nearest-even; arithmetic happens in float.
#pragma once

#include <cstdint>
#include <cstring>

namespace nx {

namespace detail {
inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace detail

/// IEEE 754 binary16, the storage of dtype f16.
struct half {
  uint16_t bits = 0;

  half() = default;
  /// Rounds a float to the nearest binary16 (ties to even); overflow gives infinity.
  half(float f) : bits(from_float(f)) {}  // NOLINT(google-explicit-constructor)
  /// Widens exactly to float.
  operator float() const { return to_float(bits); }  // NOLINT(google-explicit-constructor)

  static half from_bits(uint16_t b) {
    half h;
    h.bits = b;
    return h;
  }

  static uint16_t from_float(float f) {
    uint32_t x = detail::float_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) {  // inf or nan
      return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    }
    if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
    if (abs < 0x38800000u) {  // subnormal or zero in half
      // Scale so that the half subnormal unit (2^-24) becomes one ulp of the result.
      float scaled = detail::bits_float(abs) * 16777216.0f;  // 2^24, exact
      // Round to nearest even integer.
      uint32_t q = static_cast<uint32_t>(scaled);
      float rem = scaled - static_cast<float>(q);
      if (rem > 0.5f || (rem == 0.5f && (q & 1u))) ++q;
      return static_cast<uint16_t>(sign | q);
    }
    uint32_t mant_round = abs + 0x0fffu + ((abs >> 13) & 1u);  // ties to even on bit 13
    return static_cast<uint16_t>(sign | ((mant_round - 0x38000000u) >> 13));
  }

  static float to_float(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0) {
      float v = static_cast<float>(mant) * 5.9604644775390625e-08f;  // 2^-24
      return sign ? -v : v;
    }
    if (exp == 31) return detail::bits_float(sign | 0x7f800000u | (mant << 13));
    return detail::bits_float(sign | ((exp + 112u) << 23) | (mant << 13));
  }
};

/// bfloat16: the top 16 bits of a float, the storage of dtype bf16.
struct bfloat16 {
  uint16_t bits = 0;

  bfloat16() = default;
  /// Rounds a float to the nearest bfloat16 (ties to even); NaN stays NaN.
  bfloat16(float f) : bits(from_float(f)) {}  // NOLINT(google-explicit-constructor)
  /// Widens exactly to float.
  operator float() const {
    return detail::bits_float(static_cast<uint32_t>(bits) << 16);
  }  // NOLINT

  static bfloat16 from_bits(uint16_t b) {
    bfloat16 h;
    h.bits = b;
    return h;
  }

  static uint16_t from_float(float f) {
    uint32_t x = detail::float_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
  }
};

}  // namespace nx
