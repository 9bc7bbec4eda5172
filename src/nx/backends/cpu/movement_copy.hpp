// The copy engine behind every movement kernel. Movement moves bytes, so it works per element
// byte width (1, 2, 4 or 8), never per dtype.
//
// A copy is planned once (plan_copy: the loops collapsed and the way to run them chosen) and run
// any number of times (run_copy, which allocates nothing); compiled code plans at compile time,
// strided_copy plans and runs in one call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "strided_index.hpp"

namespace nx::cpu {

/// How one strided copy runs. The loops live in fixed arrays (kMaxLoops, strided_index.hpp), so
/// planning allocates nothing either.
struct CopyPlan {
  enum class Kind : uint8_t {
    Empty,      ///< some loop is empty: nothing to copy
    One,        ///< a single element
    Rows,       ///< rows of the innermost loop, split over threads by row
    Transpose,  ///< the source is contiguous along loop `k`, not the innermost one
  };
  Kind kind = Kind::Empty;
  int elem_bytes = 1;
  size_t nd = 0;      ///< collapsed loops in `dims`
  size_t k = 0;       ///< Transpose: the loop with source stride 1
  size_t nouter = 0;  ///< Transpose: the other loops in `outer` (Rows: dims but the innermost)
  CopyDim dims[kMaxLoops];
  CopyDim outer[kMaxLoops];

  std::span<const CopyDim> loops() const { return {dims, nd}; }
  std::span<const CopyDim> outer_loops() const {
    return kind == Kind::Rows ? std::span<const CopyDim>(dims, nd - 1)
                              : std::span<const CopyDim>(outer, nouter);
  }
};

/// Plans, for every multi-index i of `dims`: dst[dst_offset(i)] = src[src_offset(i)], elements
/// of `elem_bytes` (1, 2, 4 or 8) bytes, offsets in elements from the base pointers run_copy
/// gets. Collapses the loops first (see collapse_copy_dims); contiguous runs are copied with
/// memcpy, broadcasts (source stride 0) with fills, and transposes (the source is contiguous
/// along a loop other than the destination's innermost one) in cache-sized tiles; large copies
/// run in parallel.
CopyPlan plan_copy(int elem_bytes, std::span<const CopyDim> dims);

/// Runs a planned copy. The two sides must not overlap.
void run_copy(const CopyPlan& plan, const void* src, void* dst);

/// plan_copy and run_copy in one call.
void strided_copy(int elem_bytes, std::span<const CopyDim> dims, const void* src, void* dst);

/// The Transpose case of run_copy (movement_transpose.cpp).
void transposed_copy(const CopyPlan& plan, const void* src, void* dst);

/// Sets `n` elements of `elem_bytes` bytes at dst to the element at `value`.
void fill_elements(int elem_bytes, void* dst, int64_t n, const void* value);

}  // namespace nx::cpu
