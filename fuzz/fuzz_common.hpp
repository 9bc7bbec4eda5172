// What every reader fuzzer checks: the reader either returns or throws nx::Error (any other
// exception, a crash or a sanitizer report is a bug), and whatever it returns survives a round
// trip through the matching writer unchanged.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "nx/tensor.hpp"

namespace nx_fuzz {

/// Aborts (a finding) unless a and b have one dtype, one shape and the same bytes.
inline void require_same(const nx::Tensor& a, const nx::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape() ||
      std::memcmp(a.raw_data(), b.raw_data(), static_cast<size_t>(a.byte_size())) != 0) {
    std::abort();
  }
}

/// Reads every byte of t, so that the sanitizers see reads past a short buffer.
inline void touch(const nx::Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.raw_data());
  volatile uint8_t sink = 0;
  for (int64_t i = 0; i < t.byte_size(); ++i) sink = sink ^ p[i];
  (void)sink;
}

}  // namespace nx_fuzz
