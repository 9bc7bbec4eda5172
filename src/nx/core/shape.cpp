#include "nx/shape.hpp"

#include <algorithm>
#include <string>

#include "nx/error.hpp"

namespace nx {

int64_t num_elements(const Shape& shape) {
  // Checked even when a dimension is 0, so that {0, 2^40, 2^40} is rejected, not UB.
  int64_t n = 1;
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) throw Error("nx: negative dimension in shape " + shape_repr(shape));
    if (d == 0) {
      zero = true;
      continue;
    }
    if (__builtin_mul_overflow(n, d, &n)) {
      throw Error("nx: shape " + shape_repr(shape) + " has more elements than fit in 64 bits");
    }
  }
  return zero ? 0 : n;
}

std::string shape_string(const Shape& shape) {
  std::string s;
  for (int64_t d : shape) s += "[" + std::to_string(d) + "]";
  return s;
}

std::string shape_repr(const Shape& shape) {
  std::string s = "{";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "}";
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= shape[i];
  }
  return st;
}

int64_t normalize_axis(int64_t axis, int64_t rank, std::string_view op) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw Error(std::string(op) + ": axis " + std::to_string(axis) +
                " is out of range for a tensor of rank " + std::to_string(rank));
  }
  return a;
}

Axes normalize_axes(const Axes& axes, int64_t rank, std::string_view op) {
  Axes out;
  out.reserve(axes.size());
  for (int64_t a : axes) {
    int64_t n = normalize_axis(a, rank, op);
    if (std::find(out.begin(), out.end(), n) != out.end()) {
      throw Error(std::string(op) + ": axis " + std::to_string(a) + " is given more than once");
    }
    out.push_back(n);
  }
  return out;
}

Axes all_axes(int64_t rank) {
  Axes a(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) a[i] = i;
  return a;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  if (a == b) return a;
  size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw Error(std::string(op) + ": shapes " + shape_repr(a) + " and " + shape_repr(b) +
                  " do not broadcast (axis " + std::to_string(i) + ": " + std::to_string(da) +
                  " vs " + std::to_string(db) + ")");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace nx
