// Comparing an op's output with the reference: dtype, shape, then values.
#pragma once

#include <string>

#include "manifest.hpp"

namespace nx::conformance {

/// Empty when `got` matches `want`; otherwise what differs, with the first mismatching elements.
/// Integers and pred must match exactly. Floats: NaN matches NaN, infinities match exactly, and
/// finite values within tol.atol + tol.rtol * |want|. meta_only compares dtype and shape only.
std::string compare(const Tensor& got, const Tensor& want, Tolerance tol, bool meta_only);

/// A tensor as short text for failure messages: "f32[2][3] [1, 2, ...]".
std::string preview(const Tensor& t);

}  // namespace nx::conformance
