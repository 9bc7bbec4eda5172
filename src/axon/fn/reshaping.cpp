// The shape layers: argument checks that speak Axon's terms (batch, spatial axes, equal
// splits), then one nx movement op each.
#include "axon/fn/reshaping.hpp"

#include <string>

#include "axon/fn/check.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"

namespace axon::fn {

namespace {

using detail::describe;
using detail::fail;

std::string list(const std::vector<int64_t>& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

}  // namespace

Tensor flatten(const Tensor& x) {
  detail::check_min_rank("flatten", "input", x, 1);
  int64_t rest = 1;
  for (size_t i = 1; i < x.shape().size(); ++i) rest *= x.shape()[i];
  return nx::reshape(x, {x.shape()[0], rest});
}

Tensor reshape(const Tensor& x, const nx::Shape& shape) {
  detail::check_min_rank("reshape", "input", x, 1);
  nx::Shape target = shape;
  int64_t autos = 0, known = 1;
  for (int64_t& d : target) {
    if (d == kBatch) d = x.shape()[0];
    if (d == kAuto) {
      ++autos;
    } else if (d < 0) {
      fail("reshape", "sizes must be >= 0, kBatch or kAuto (-1), got " + list(shape));
    } else {
      known *= d;
    }
  }
  if (autos > 1) fail("reshape", "at most one size may be kAuto (-1), got " + list(shape));
  const bool fits = autos == 0 ? known == x.size() : (known != 0 && x.size() % known == 0);
  if (!fits) {
    fail("reshape", "cannot reshape " + describe(x) + " (" + std::to_string(x.size()) +
                        " elements) to " + list(target));
  }
  return nx::reshape(x, target);
}

Tensor transpose(const Tensor& x, const std::optional<nx::Axes>& perm) {
  if (!perm) return nx::transpose(x);
  const int64_t rank = x.rank();
  if (static_cast<int64_t>(perm->size()) != rank) {
    fail("transpose",
         "the permutation needs one axis per axis of " + describe(x) + ", got " + list(*perm));
  }
  nx::Axes axes;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  for (int64_t a : *perm) {
    const int64_t b = detail::normalize_axis("transpose", "axis", a, rank);
    if (seen[static_cast<size_t>(b)]) {
      fail("transpose", "the permutation repeats axis " + std::to_string(b) + ": " + list(*perm));
    }
    seen[static_cast<size_t>(b)] = true;
    axes.push_back(b);
  }
  return nx::transpose(x, axes);
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& padding,
           const PadOptions& opts) {
  detail::check_min_rank("pad", "input", x, 2);
  const nx::Axes axes = detail::spatial_axes(opts.channels, x.rank());
  if (padding.size() != axes.size()) {
    fail("pad", "padding needs one {lo, hi} pair per spatial axis (" + std::to_string(axes.size()) +
                    " for " + describe(x) + "), got " + std::to_string(padding.size()));
  }
  std::vector<nx::PadConfig> config(static_cast<size_t>(x.rank()));
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t size = x.axis_size(axes[i]) + padding[i].first + padding[i].second;
    if (size < 0) {
      fail("pad", "padding {" + std::to_string(padding[i].first) + ", " +
                      std::to_string(padding[i].second) + "} crops more than spatial axis " +
                      std::to_string(i) + " of " + describe(x) + " holds");
    }
    config[static_cast<size_t>(axes[i])] = {padding[i].first, padding[i].second, 0};
  }
  return nx::pad(x, nx::scalar(opts.value, x.dtype()), config);
}

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) fail("concatenate", "needs at least one tensor, got none");
  const int64_t rank = xs[0].rank();
  const int64_t a = detail::normalize_axis("concatenate", "axis", axis, rank);
  for (size_t i = 1; i < xs.size(); ++i) {
    bool ok = xs[i].rank() == rank;
    for (int64_t d = 0; ok && d < rank; ++d) {
      ok = d == a || xs[i].axis_size(d) == xs[0].axis_size(d);
    }
    if (!ok) {
      fail("concatenate", "tensors must have the same shape except on axis " + std::to_string(a) +
                              ", got " + describe(xs[0]) + " and " + describe(xs[i]) + " (tensor " +
                              std::to_string(i) + ")");
    }
  }
  return nx::concatenate(xs, a);
}

std::vector<Tensor> split(const Tensor& x, int64_t n, int64_t axis) {
  detail::check_min_rank("split", "input", x, 1);
  const int64_t a = detail::normalize_axis("split", "axis", axis, x.rank());
  const int64_t size = x.axis_size(a);
  if (n < 1 || size % n != 0) {
    fail("split", "axis " + std::to_string(a) + " of " + describe(x) + " (size " +
                      std::to_string(size) + ") does not split into " + std::to_string(n) +
                      " equal parts");
  }
  return nx::split(x, n, a);
}

std::vector<Tensor> split(const Tensor& x, const Sizes& sizes, int64_t axis) {
  detail::check_min_rank("split", "input", x, 1);
  const int64_t a = detail::normalize_axis("split", "axis", axis, x.rank());
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) fail("split", "sizes must be >= 0, got " + list(sizes));
    total += s;
  }
  if (sizes.empty() || total != x.axis_size(a)) {
    fail("split", "sizes " + list(sizes) + " must add up to the size of axis " + std::to_string(a) +
                      " of " + describe(x) + " (" + std::to_string(x.axis_size(a)) + ")");
  }
  return nx::split(x, sizes, a);
}

}  // namespace axon::fn
