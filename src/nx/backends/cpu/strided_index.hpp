// Strided n-d index arithmetic shared by the movement, reduction, scan and sort kernels.
//
// Tensors are contiguous row-major, so every movement primitive is "copy from one strided view
// of a buffer to another": a list of loops, each with a trip count and a step (in elements) on
// the source and on the destination side. Collapsing those loops first (dropping size-1 loops,
// merging neighbours that are contiguous on both sides) turns most tensors into one or two
// loops, which is what makes the kernels fast without a case per rank.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "nx/error.hpp"
#include "nx/shape.hpp"
#include "scratch_plan.hpp"

namespace nx::cpu {

/// One loop of a strided copy: `size` steps, moving the source and destination by their
/// strides (in elements; a source stride may be 0 to repeat, or negative to reverse).
struct CopyDim {
  int64_t size;
  int64_t src_stride;
  int64_t dst_stride;
};

/// Drops size-1 loops and merges each loop into its inner neighbour when both sides step
/// through them as one run. Returns false when some loop is empty (nothing to copy). The
/// result may be empty: a single element.
inline bool collapse_copy_dims(std::vector<CopyDim>& dims) {
  std::vector<CopyDim> out;
  for (const CopyDim& d : dims) {
    if (d.size == 0) return false;
    if (d.size == 1) continue;
    if (!out.empty()) {
      CopyDim& prev = out.back();
      // prev is outer: merging is exact when one step of prev equals d.size steps of d.
      if (prev.src_stride == d.src_stride * d.size && prev.dst_stride == d.dst_stride * d.size) {
        prev.size *= d.size;
        prev.src_stride = d.src_stride;
        prev.dst_stride = d.dst_stride;
        continue;
      }
    }
    out.push_back(d);
  }
  dims = std::move(out);
  return true;
}

/// Walks the multi-index of a list of loops in row-major order from a flat position, keeping
/// the source and destination offsets (in elements) up to date. The loops must be collapsed
/// (kMaxLoops at most, see scratch_plan.hpp): the index lives on the stack, so walking
/// allocates nothing.
class Odometer {
 public:
  Odometer(std::span<const CopyDim> dims, int64_t flat) : dims_(dims) {
    for (size_t k = dims_.size(); k-- > 0;) {
      int64_t n = dims_[k].size;
      idx_[k] = flat % n;
      flat /= n;
      src_ += idx_[k] * dims_[k].src_stride;
      dst_ += idx_[k] * dims_[k].dst_stride;
    }
  }
  int64_t src() const { return src_; }
  int64_t dst() const { return dst_; }
  /// Advances to the next index (wrapping to zero after the last).
  void next() {
    for (size_t k = dims_.size(); k-- > 0;) {
      const CopyDim& d = dims_[k];
      src_ += d.src_stride;
      dst_ += d.dst_stride;
      if (++idx_[k] < d.size) return;
      src_ -= d.src_stride * d.size;
      dst_ -= d.dst_stride * d.size;
      idx_[k] = 0;
    }
  }

 private:
  std::span<const CopyDim> dims_;
  int64_t idx_[kMaxLoops];
  int64_t src_ = 0;
  int64_t dst_ = 0;
};

/// The offsets of flat position `flat` of a list of loops, without walking on.
inline std::pair<int64_t, int64_t> offsets_at(std::span<const CopyDim> dims, int64_t flat) {
  int64_t src = 0, dst = 0;
  for (size_t k = dims.size(); k-- > 0;) {
    const int64_t i = flat % dims[k].size;
    flat /= dims[k].size;
    src += i * dims[k].src_stride;
    dst += i * dims[k].dst_stride;
  }
  return {src, dst};
}

/// Throws unless `n` collapsed loops fit an Odometer (always true of tensors whose element
/// count fits int64_t; checked where plans are made).
inline void check_loops(size_t n, const char* what) {
  if (n > kMaxLoops) {
    throw Error(std::string("nx::") + what + ": internal error: " + std::to_string(n) +
                " loops after collapsing, more than " + std::to_string(kMaxLoops));
  }
}

/// A tensor seen as [outer, n, inner] around one axis: what argmax, scans and sort loop over.
struct AxisSplit {
  int64_t outer = 1;
  int64_t n = 1;
  int64_t inner = 1;
};

inline AxisSplit split_at_axis(const Shape& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < axis)
      s.outer *= shape[i];
    else if (i == axis)
      s.n = shape[i];
    else
      s.inner *= shape[i];
  }
  return s;
}

}  // namespace nx::cpu
