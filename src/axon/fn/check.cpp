#include "axon/fn/check.hpp"

#include "nx/dtype.hpp"

namespace axon::fn::detail {

void fail(std::string_view fn, const std::string& what) {
  throw nx::Error("axon::fn::" + std::string(fn) + ": " + what);
}

std::string describe(const Tensor& x) {
  return std::string(nx::dtype_name(x.dtype())) + nx::shape_repr(x.shape());
}

void check_rank(std::string_view fn, std::string_view arg, const Tensor& x, int64_t rank) {
  if (x.rank() != rank) {
    fail(fn, std::string(arg) + " must have rank " + std::to_string(rank) + ", got " + describe(x));
  }
}

void check_min_rank(std::string_view fn, std::string_view arg, const Tensor& x, int64_t rank) {
  if (x.rank() < rank) {
    fail(fn, std::string(arg) + " must have rank at least " + std::to_string(rank) + ", got " +
                 describe(x));
  }
}

void check_float(std::string_view fn, std::string_view arg, const Tensor& x) {
  if (!nx::is_float(x.dtype())) {
    fail(fn, std::string(arg) + " must be floating point, got " + describe(x));
  }
}

Sizes expand_sizes(std::string_view fn, std::string_view option, const Sizes& sizes, int64_t n,
                   int64_t fallback) {
  if (sizes.empty()) return Sizes(static_cast<size_t>(n), fallback);
  if (sizes.size() == 1) return Sizes(static_cast<size_t>(n), sizes[0]);
  if (static_cast<int64_t>(sizes.size()) != n) {
    fail(fn, std::string(option) + " needs 1 or " + std::to_string(n) + " values (one per " +
                 "spatial axis), got " + std::to_string(sizes.size()));
  }
  return sizes;
}

int64_t channel_axis(Channels channels, int64_t rank) {
  return channels == Channels::First ? 1 : rank - 1;
}

nx::Axes spatial_axes(Channels channels, int64_t rank) {
  nx::Axes axes;
  const int64_t first = channels == Channels::First ? 2 : 1;
  const int64_t last = channels == Channels::First ? rank : rank - 1;
  for (int64_t a = first; a < last; ++a) axes.push_back(a);
  return axes;
}

int64_t normalize_axis(std::string_view fn, std::string_view option, int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    fail(fn, std::string(option) + " " + std::to_string(axis) + " is out of range for rank " +
                 std::to_string(rank));
  }
  return a;
}

}  // namespace axon::fn::detail
