// Strided gathers with dtype conversion: how contractions repack an operand whose layout a
// matrix kernel cannot address directly, and widen f16/bf16 to f32 (and narrow back).
#pragma once

#include <cstdint>
#include <span>

#include "nx/dtype.hpp"

namespace nx::cpu {

/// Writes dst, contiguous row-major over `dims`, with dst[i0, i1, ...] = src[i0*strides[0] +
/// i1*strides[1] + ...] (element strides) converted from `from` to `to`. Supported pairs: equal
/// dtypes (any), f16/bf16 -> f32 and f32 -> f16/bf16 (rounding to nearest even).
void strided_copy(DType from, DType to, const void* src, std::span<const int64_t> dims,
                  std::span<const int64_t> strides, void* dst);

/// Contiguous conversion of `count` elements (same pairs as strided_copy).
void convert_copy(DType from, DType to, const void* src, int64_t count, void* dst);

}  // namespace nx::cpu
