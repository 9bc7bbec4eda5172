// The copy engine behind every movement kernel. Movement moves bytes, so it works per element
// byte width (1, 2, 4 or 8), never per dtype.
#pragma once

#include <cstdint>
#include <vector>

#include "strided_index.hpp"

namespace nx::cpu {

/// For every multi-index i of `dims`: dst[dst_offset(i)] = src[src_offset(i)], elements of
/// `elem_bytes` (1, 2, 4 or 8) bytes, offsets in elements from the given base pointers. The two
/// sides must not overlap. Collapses the loops first; copies contiguous runs with memcpy,
/// broadcasts (source stride 0) with fills, and transposes (the source is contiguous along a
/// loop other than the destination's innermost one) in cache-sized tiles. Runs in parallel for
/// large copies.
void strided_copy(int elem_bytes, std::vector<CopyDim> dims, const void* src, void* dst);

/// The transposing case of strided_copy (movement_transpose.cpp): `dims` are collapsed, the
/// innermost one has destination stride 1 and dims[k] has source stride 1.
void transposed_copy(int elem_bytes, const std::vector<CopyDim>& dims, size_t k, const void* src,
                     void* dst);

/// Sets `n` elements of `elem_bytes` bytes at dst to the element at `value`.
void fill_elements(int elem_bytes, void* dst, int64_t n, const void* value);

}  // namespace nx::cpu
