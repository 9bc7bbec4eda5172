// Helpers shared by conv and the window ops: option defaults and padding resolution.
#pragma once

#include <string>
#include <vector>

#include "nx/ops/conv.hpp"

namespace nx::detail {

/// `v`, or `n` ones when v is empty; throws if v has the wrong length.
std::vector<int64_t> per_axis_or_ones(const std::vector<int64_t>& v, size_t n, const char* op,
                                      const char* what);
/// Low and high padding per axis for the given (already dilated) window sizes.
void resolve_padding(const Padding& padding, const std::vector<int64_t>& dilated_window,
                     const char* op, std::vector<int64_t>& lo, std::vector<int64_t>& hi);

}  // namespace nx::detail
