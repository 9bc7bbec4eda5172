// Shapes and axes, and the helpers every op uses to check them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nx {

/// Dimension sizes, outermost first. The empty shape is a scalar.
using Shape = std::vector<int64_t>;
/// A list of axes. Negative axes count from the end (-1 is the last).
using Axes = std::vector<int64_t>;

/// Product of the dimensions (1 for a scalar).
int64_t num_elements(const Shape& shape);
/// "[2][3]", as Nx prints a shape (empty for a scalar).
std::string shape_string(const Shape& shape);
/// "{2, 3}" for error messages.
std::string shape_repr(const Shape& shape);
/// Row-major strides in elements.
std::vector<int64_t> strides_of(const Shape& shape);

/// Resolves a possibly negative axis against `rank`; throws nx::Error naming `op` if out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, std::string_view op);
/// Resolves each axis and checks that none repeats.
Axes normalize_axes(const Axes& axes, int64_t rank, std::string_view op);
/// 0, 1, ..., rank-1.
Axes all_axes(int64_t rank);

/// The numpy broadcast of two shapes; throws nx::Error naming `op` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

}  // namespace nx
