// f16 and bf16 conversions, checked exhaustively against independent references: the CPU's
// F16C instructions for f16, and a frexp/nearbyint rounding model for bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "nx/half.hpp"

#ifdef __F16C__
#include <immintrin.h>
#endif

namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

#ifdef __F16C__
TEST(Half, EveryF16WidensLikeF16C) {
  for (uint32_t b = 0; b < 65536; ++b) {
    float ours = nx::half::to_float(static_cast<uint16_t>(b));
    float hw = _cvtsh_ss(static_cast<unsigned short>(b));
    if (std::isnan(hw)) {
      EXPECT_TRUE(std::isnan(ours)) << b;
    } else {
      EXPECT_EQ(bits_of(ours), bits_of(hw)) << b;
    }
  }
}

TEST(Half, NarrowingMatchesF16CRoundToNearestEven) {
  // Every float whose low 13 bits hit the rounding cases, over the whole exponent range.
  const uint32_t lows[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x0800, 0x17ff};
  for (uint32_t hi = 0; hi < (1u << 19); ++hi) {
    for (uint32_t low : lows) {
      uint32_t u = (hi << 13) | low;
      float f = float_of(u);
      uint16_t hw = static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
      uint16_t ours = nx::half::from_float(f);
      if (std::isnan(f)) {
        EXPECT_TRUE(std::isnan(nx::half::to_float(ours))) << u;
      } else {
        ASSERT_EQ(ours, hw) << "float bits " << std::hex << u;
      }
    }
  }
}
#endif

// bf16 rounding model: keep 8 significant bits with ties to even, in double arithmetic.
float bf16_model(float f) {
  if (std::isnan(f) || std::isinf(f) || f == 0.0f) return f;
  int e;
  double m = std::frexp(static_cast<double>(f), &e);  // |m| in [0.5, 1)
  if (e < -125) {
    // bf16 subnormals share float's exponent range: quantum 2^-133.
    double q = std::ldexp(1.0, -133);
    return static_cast<float>(std::nearbyint(static_cast<double>(f) / q) * q);
  }
  double r = std::ldexp(std::nearbyint(std::ldexp(m, 8)), e - 8);
  if (std::fabs(r) > static_cast<double>(std::numeric_limits<float>::max())) {
    return f > 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  }
  return static_cast<float>(r);
}

TEST(BFloat16, NarrowingMatchesRoundingModel) {
  for (uint32_t hi = 0; hi < 65536; ++hi) {
    for (uint32_t low : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) {
      uint32_t u = (hi << 16) | low;
      float f = float_of(u);
      float ours = static_cast<float>(nx::bfloat16(f));
      float model = bf16_model(f);
      if (std::isnan(f)) {
        EXPECT_TRUE(std::isnan(ours));
      } else {
        ASSERT_EQ(bits_of(ours), bits_of(model)) << "float bits " << std::hex << u;
      }
    }
  }
}

TEST(BFloat16, WideningIsExact) {
  for (uint32_t b = 0; b < 65536; ++b) {
    nx::bfloat16 h = nx::bfloat16::from_bits(static_cast<uint16_t>(b));
    EXPECT_EQ(bits_of(static_cast<float>(h)), b << 16);
  }
}

}  // namespace
