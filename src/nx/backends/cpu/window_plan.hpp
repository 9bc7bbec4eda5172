// Window geometry shared by the window reductions and select-and-scatter: which operand
// elements each output element's window covers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "../../core/params.hpp"

namespace nx::cpu {

/// One axis of a window operation. Position k of the window of output element o reads operand
/// index o * stride - lo + k * dilation; indices outside [0, size) are padding.
struct WindowAxis {
  int64_t size = 1;    ///< operand extent
  int64_t window = 1;  ///< window extent (before dilation)
  int64_t stride = 1;
  int64_t lo = 0;  ///< low padding
  int64_t dilation = 1;
  int64_t out = 1;  ///< output extent

  /// An axis the window does not touch: every output element reads exactly its own index.
  bool is_identity() const { return window == 1 && stride == 1 && lo == 0 && out == size; }

  /// Operand index of window position 0 of output element o (may be negative).
  int64_t start(int64_t o) const { return o * stride - lo; }

  /// The window positions [k0, k1) of output element o that lie inside the operand (empty
  /// when k1 <= k0).
  void valid(int64_t o, int64_t& k0, int64_t& k1) const {
    int64_t s = start(o);
    k0 = s >= 0 ? 0 : (-s + dilation - 1) / dilation;
    int64_t room = size - 1 - s;
    k1 = room < 0 ? 0 : std::min(window, room / dilation + 1);
  }
};

/// The operand seen as rows: trailing axes the window does not touch merge into one contiguous
/// `last` axis (so their elements are processed as a vector), the axes before it are `lead`.
/// Output row r (a multi-index over the lead axes' outputs) covers a set of operand rows.
struct WindowPlan {
  std::vector<WindowAxis> lead;      ///< all axes before the last
  std::vector<int64_t> lead_stride;  ///< operand strides of the lead axes, in elements
  WindowAxis last;                   ///< the last axis
  int64_t out_rows = 1;              ///< product of the lead axes' output extents
  int64_t rows_per_window = 1;       ///< product of the lead axes' window extents
  /// Leading lead axes the window does not touch: output rows come in `blocks` contiguous
  /// groups whose windows cover disjoint operand regions.
  int64_t blocks = 1;
};

/// The plan of a window operation on an operand of shape `in` with output shape `out`.
WindowPlan make_window_plan(const detail::WindowParams& params, const Shape& in, const Shape& out);

/// Elements of int64_t scratch covered_rows needs for plan `p`.
inline size_t covered_rows_work(const WindowPlan& p) {
  return 4 * p.lead.size();
}

/// Offsets (in elements) of the operand rows that the window of output row `row` covers, in
/// row-major order of the window positions, written to `offsets` (room for p.rows_per_window);
/// returns their count (0 when the window is all padding). `work` holds covered_rows_work(p)
/// elements. Allocates nothing, so a planned kernel can run it on its scratch.
int64_t covered_rows(const WindowPlan& p, int64_t row, int64_t* work, int64_t* offsets);

}  // namespace nx::cpu
