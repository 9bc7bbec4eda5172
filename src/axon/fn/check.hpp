// Argument checks and option normalisation shared by the axon::fn implementation files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "axon/fn/common.hpp"
#include "nx/error.hpp"
#include "nx/shape.hpp"

namespace axon::fn::detail {

/// Throws nx::Error("axon::fn::<fn>: <what>").
[[noreturn]] void fail(std::string_view fn, const std::string& what);

/// "f32[8][32]": a tensor's type and shape, for error messages.
std::string describe(const Tensor& x);

/// Throws unless x has exactly `rank` axes.
void check_rank(std::string_view fn, std::string_view arg, const Tensor& x, int64_t rank);
/// Throws unless x has at least `rank` axes.
void check_min_rank(std::string_view fn, std::string_view arg, const Tensor& x, int64_t rank);
/// Throws unless x is floating point.
void check_float(std::string_view fn, std::string_view arg, const Tensor& x);

/// `sizes` expanded to `n` spatial axes: empty -> n copies of `fallback`; one value -> n copies;
/// n values -> as given; anything else throws naming `option`.
Sizes expand_sizes(std::string_view fn, std::string_view option, const Sizes& sizes, int64_t n,
                   int64_t fallback);

/// The channel axis of a rank-`rank` spatial input ([N, C, ...] or [N, ..., C]).
int64_t channel_axis(Channels channels, int64_t rank);
/// The spatial axes of a rank-`rank` input, in order.
nx::Axes spatial_axes(Channels channels, int64_t rank);
/// A possibly negative axis made non-negative; throws naming `option` when out of range.
int64_t normalize_axis(std::string_view fn, std::string_view option, int64_t axis, int64_t rank);

}  // namespace axon::fn::detail
