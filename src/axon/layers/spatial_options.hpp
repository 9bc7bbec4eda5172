// Shape checks and option printing shared by the spatial layer builders (conv, pooling,
// normalisation, dropout): private to src/axon/layers.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "axon/fn/common.hpp"
#include "nx/error.hpp"
#include "nx/ops/conv.hpp"
#include "nx/shape.hpp"

namespace axon::layers_detail {

/// Throws nx::Error("axon::<layer>: <what>").
[[noreturn]] inline void fail(const std::string& layer, const std::string& what) {
  throw nx::Error("axon::" + layer + ": " + what);
}

/// The number of spatial axes of a [batch, spatial..., channels] (or channels first) input,
/// checked to be in [min, max].
inline int64_t spatial_rank(const std::string& layer, const nx::Shape& shape, int64_t min,
                            int64_t max) {
  const int64_t n = static_cast<int64_t>(shape.size()) - 2;
  if (n < min || n > max) {
    std::string want = min == max ? std::to_string(min + 2)
                                  : std::to_string(min + 2) + " to " + std::to_string(max + 2);
    fail(layer, "input must have rank " + want +
                    " ([batch, spatial..., channels] or channels first), got shape " +
                    nx::shape_repr(shape));
  }
  return n;
}

/// The channel count of a spatial input.
inline int64_t channels_of(const nx::Shape& shape, fn::Channels channels) {
  return channels == fn::Channels::First ? shape[1] : shape.back();
}

/// `sizes` expanded to n axes (empty = fallback, one value = every axis); throws naming the
/// option when it has another count.
inline fn::Sizes expand(const std::string& layer, const std::string& option, const fn::Sizes& sizes,
                        int64_t n, int64_t fallback) {
  if (sizes.empty()) return fn::Sizes(static_cast<size_t>(n), fallback);
  if (sizes.size() == 1) return fn::Sizes(static_cast<size_t>(n), sizes[0]);
  if (static_cast<int64_t>(sizes.size()) != n) {
    fail(layer, option + " must have 1 or " + std::to_string(n) + " values for " +
                    std::to_string(n) + " spatial axes, got " + std::to_string(sizes.size()));
  }
  return sizes;
}

/// Throws unless every size is positive (checked when the layer is built).
inline void check_positive(const std::string& layer, const std::string& option,
                           const fn::Sizes& sizes) {
  for (int64_t s : sizes) {
    if (s <= 0) fail(layer, option + " must be positive, got " + std::to_string(s));
  }
}

/// "1" for an empty Sizes with fallback 1, "3" for {3}, "{3, 2}" otherwise (summary table).
inline std::string sizes_str(const fn::Sizes& sizes, const std::string& fallback) {
  if (sizes.empty()) return fallback;
  if (sizes.size() == 1) return std::to_string(sizes[0]);
  return nx::shape_repr(nx::Shape(sizes.begin(), sizes.end()));
}

/// "valid", "same" or "[{lo, hi}, ...]".
inline std::string padding_str(const nx::Padding& p) {
  if (p.kind == nx::Padding::Kind::Valid) return "valid";
  if (p.kind == nx::Padding::Kind::Same) return "same";
  std::string s = "[";
  for (size_t i = 0; i < p.pairs.size(); ++i) {
    if (i) s += ", ";
    s += "{" + std::to_string(p.pairs[i].first) + ", " + std::to_string(p.pairs[i].second) + "}";
  }
  return s + "]";
}

/// "last" or "first".
inline std::string channels_str(fn::Channels c) {
  return c == fn::Channels::First ? "first" : "last";
}

/// "true" or "false".
inline std::string bool_str(bool b) {
  return b ? "true" : "false";
}

/// A double as the shortest text that reads back the same ("1e-05", "0.1").
inline std::string number_str(double v) {
  std::ostringstream os;
  for (int p = 1; p <= 17; ++p) {
    os.str("");
    os.precision(p);
    os << v;
    if (std::stod(os.str()) == v) break;
  }
  return os.str();
}

}  // namespace axon::layers_detail
