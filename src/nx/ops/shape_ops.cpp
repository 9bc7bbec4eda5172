#include <algorithm>
#include <string>

#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "promote.hpp"

namespace nx {

using detail::bind1;
using detail::check_defined;
using detail::Prim;

namespace {
std::string str(int64_t v) {
  return std::to_string(v);
}

Tensor int_scalar(int64_t v) {
  return scalar_int(v, DType::S64);
}

int64_t clamp_start(int64_t start, int64_t length, int64_t dim) {
  return std::clamp<int64_t>(start, 0, std::max<int64_t>(dim - length, 0));
}
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined(x, "nx::reshape", "x");
  Shape s = shape;
  int64_t known = 1, auto_axis = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (auto_axis >= 0)
        throw Error("nx::reshape: only one dimension may be -1, got " + shape_repr(shape));
      auto_axis = static_cast<int64_t>(i);
    } else if (s[i] < 0) {
      throw Error("nx::reshape: invalid dimension " + str(s[i]) + " in " + shape_repr(shape));
    } else {
      known *= s[i];
    }
  }
  if (auto_axis >= 0) {
    if (known == 0 || x.size() % known != 0) {
      throw Error("nx::reshape: cannot infer the -1 dimension of " + shape_repr(shape) + " for " +
                  type_string(x.type()));
    }
    s[static_cast<size_t>(auto_axis)] = x.size() / known;
  }
  if (s == x.shape()) return x;
  return bind1(Prim::reshape, {x}, detail::ReshapeParams{s});
}

Tensor broadcast(const Tensor& x, const Shape& shape) {
  check_defined(x, "nx::broadcast", "x");
  if (x.rank() > static_cast<int64_t>(shape.size())) {
    throw Error("nx::broadcast: cannot broadcast " + type_string(x.type()) +
                " to the lower-rank shape " + shape_repr(shape));
  }
  Axes axes;
  for (int64_t i = 0; i < x.rank(); ++i)
    axes.push_back(static_cast<int64_t>(shape.size()) - x.rank() + i);
  return broadcast(x, shape, axes);
}

Tensor broadcast(const Tensor& x, const Shape& shape, const Axes& axes) {
  check_defined(x, "nx::broadcast", "x");
  if (x.shape() == shape) return x;
  Axes a = normalize_axes(axes, static_cast<int64_t>(shape.size()), "nx::broadcast");
  return bind1(Prim::broadcast_in_dim, {x}, detail::BroadcastParams{shape, a});
}

Tensor transpose(const Tensor& x) {
  check_defined(x, "nx::transpose", "x");
  Axes perm = all_axes(x.rank());
  std::reverse(perm.begin(), perm.end());
  return transpose(x, perm);
}

Tensor transpose(const Tensor& x, const Axes& axes) {
  check_defined(x, "nx::transpose", "x");
  if (static_cast<int64_t>(axes.size()) != x.rank()) {
    throw Error("nx::transpose: expected " + str(x.rank()) + " axes for " + type_string(x.type()) +
                ", got " + str(static_cast<int64_t>(axes.size())));
  }
  Axes perm = normalize_axes(axes, x.rank(), "nx::transpose");
  if (perm == all_axes(x.rank())) return x;
  return bind1(Prim::transpose, {x}, detail::AxesParams{perm});
}

Tensor squeeze(const Tensor& x) {
  check_defined(x, "nx::squeeze", "x");
  Axes axes;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (x.shape()[i] == 1) axes.push_back(i);
  return squeeze(x, axes);
}

Tensor squeeze(const Tensor& x, const Axes& axes) {
  check_defined(x, "nx::squeeze", "x");
  Axes a = normalize_axes(axes, x.rank(), "nx::squeeze");
  Shape out;
  for (int64_t i = 0; i < x.rank(); ++i) {
    bool drop = std::find(a.begin(), a.end(), i) != a.end();
    if (drop && x.shape()[i] != 1) {
      throw Error("nx::squeeze: axis " + str(i) + " of " + type_string(x.type()) + " has size " +
                  str(x.shape()[i]) + ", expected 1");
    }
    if (!drop) out.push_back(x.shape()[i]);
  }
  return reshape(x, out);
}

Tensor new_axis(const Tensor& x, int64_t axis) {
  check_defined(x, "nx::new_axis", "x");
  int64_t a = normalize_axis(axis, x.rank() + 1, "nx::new_axis");
  Shape s = x.shape();
  s.insert(s.begin() + a, 1);
  return reshape(x, s);
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  check_defined(x, "nx::flatten", "x");
  if (x.rank() == 0) return reshape(x, {1});
  int64_t s = normalize_axis(start_axis, x.rank(), "nx::flatten");
  int64_t e = normalize_axis(end_axis, x.rank(), "nx::flatten");
  if (s > e)
    throw Error("nx::flatten: start axis " + str(start_axis) + " is after end axis " +
                str(end_axis));
  Shape out(x.shape().begin(), x.shape().begin() + s);
  int64_t merged = 1;
  for (int64_t i = s; i <= e; ++i) merged *= x.shape()[i];
  out.push_back(merged);
  out.insert(out.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, out);
}

Tensor slice(const Tensor& x, const std::vector<int64_t>& start,
             const std::vector<int64_t>& lengths, const std::vector<int64_t>& strides) {
  check_defined(x, "nx::slice", "x");
  int64_t r = x.rank();
  if (static_cast<int64_t>(start.size()) != r || static_cast<int64_t>(lengths.size()) != r ||
      (!strides.empty() && static_cast<int64_t>(strides.size()) != r)) {
    throw Error("nx::slice: start, lengths and strides need one entry per axis of " +
                type_string(x.type()));
  }
  detail::SliceParams p;
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = x.shape()[i], len = lengths[i], st = strides.empty() ? 1 : strides[i];
    if (len < 0 || len > d) {
      throw Error("nx::slice: length " + str(len) + " on axis " + str(i) + " does not fit in " +
                  type_string(x.type()));
    }
    if (st < 1) throw Error("nx::slice: strides must be >= 1, got " + str(st));
    // A stride past the slice's length picks one element, as a stride equal to it does; the
    // smaller one keeps later index arithmetic (and the gradient's interior padding) in range.
    st = std::max<int64_t>(1, std::min(st, len));
    int64_t b = clamp_start(start[i] < 0 ? start[i] + d : start[i], len, d);
    p.start.push_back(b);
    p.limit.push_back(b + len);
    p.strides.push_back(st);
  }
  return bind1(Prim::slice, {x}, p);
}

Tensor dynamic_slice(const Tensor& x, const std::vector<Tensor>& start,
                     const std::vector<int64_t>& lengths) {
  check_defined(x, "nx::dynamic_slice", "x");
  std::vector<Tensor> in{x};
  in.insert(in.end(), start.begin(), start.end());
  return bind1(Prim::dynamic_slice, std::span<const Tensor>(in),
               detail::DynamicSliceParams{lengths});
}

Tensor slice_along_axis(const Tensor& x, int64_t start, int64_t length, int64_t axis,
                        int64_t stride) {
  check_defined(x, "nx::slice_along_axis", "x");
  int64_t a = normalize_axis(axis, x.rank(), "nx::slice_along_axis");
  std::vector<int64_t> st(static_cast<size_t>(x.rank()), 0),
      len = x.shape(), strides(static_cast<size_t>(x.rank()), 1);
  st[a] = start;
  len[a] = length;
  strides[a] = stride;
  return slice(x, st, len, strides);
}

Tensor put_slice(const Tensor& x, const std::vector<int64_t>& start, const Tensor& update) {
  std::vector<Tensor> starts;
  for (int64_t s : start) starts.push_back(int_scalar(s));
  return dynamic_put_slice(x, starts, update);
}

Tensor dynamic_put_slice(const Tensor& x, const std::vector<Tensor>& start, const Tensor& update) {
  check_defined(x, "nx::dynamic_put_slice", "x");
  check_defined(update, "nx::dynamic_put_slice", "update");
  std::vector<Tensor> in{x, detail::cast(update, x.dtype())};
  in.insert(in.end(), start.begin(), start.end());
  return bind1(Prim::dynamic_update_slice, std::span<const Tensor>(in));
}

Tensor pad(const Tensor& x, const Tensor& value, const std::vector<PadConfig>& config) {
  check_defined(x, "nx::pad", "x");
  check_defined(value, "nx::pad", "value");
  detail::PadParams p;
  for (const PadConfig& c : config) {
    p.lo.push_back(c.lo);
    p.hi.push_back(c.hi);
    p.interior.push_back(c.interior);
  }
  return bind1(Prim::pad, {x, detail::cast(value, x.dtype())}, p);
}

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw Error("nx::concatenate: needs at least one tensor");
  check_defined(xs[0], "nx::concatenate", "xs[0]");
  DType t = xs[0].dtype();
  for (const Tensor& x : xs) {
    check_defined(x, "nx::concatenate", "xs[i]");
    t = merge(t, x.dtype());
  }
  if (xs[0].rank() == 0) throw Error("nx::concatenate: cannot concatenate scalars");
  int64_t a = normalize_axis(axis, xs[0].rank(), "nx::concatenate");
  if (xs.size() == 1) return detail::cast(xs[0], t);
  std::vector<Tensor> in;
  for (const Tensor& x : xs) in.push_back(detail::cast(x, t));
  return bind1(Prim::concatenate, std::span<const Tensor>(in), detail::ConcatParams{a});
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  if (xs.empty()) throw Error("nx::stack: needs at least one tensor");
  check_defined(xs[0], "nx::stack", "xs[0]");
  int64_t a = normalize_axis(axis, xs[0].rank() + 1, "nx::stack");
  std::vector<Tensor> expanded;
  for (const Tensor& x : xs) {
    check_defined(x, "nx::stack", "xs[i]");
    if (x.shape() != xs[0].shape()) {
      throw Error("nx::stack: all tensors need one shape, got " + type_string(xs[0].type()) +
                  " and " + type_string(x.type()));
    }
    expanded.push_back(new_axis(x, a));
  }
  return concatenate(expanded, a);
}

Tensor reverse(const Tensor& x, const Axes& axes) {
  check_defined(x, "nx::reverse", "x");
  Axes a = axes.empty() ? all_axes(x.rank()) : normalize_axes(axes, x.rank(), "nx::reverse");
  std::sort(a.begin(), a.end());
  if (a.empty()) return x;
  return bind1(Prim::reverse, {x}, detail::AxesParams{a});
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& reps) {
  check_defined(x, "nx::tile", "x");
  for (int64_t r : reps)
    if (r < 0) throw Error("nx::tile: repetitions must be >= 0, got " + shape_repr(reps));
  int64_t rank = std::max<int64_t>(x.rank(), static_cast<int64_t>(reps.size()));
  Shape in(static_cast<size_t>(rank - x.rank()), 1);
  in.insert(in.end(), x.shape().begin(), x.shape().end());
  std::vector<int64_t> r(static_cast<size_t>(rank - static_cast<int64_t>(reps.size())), 1);
  r.insert(r.end(), reps.begin(), reps.end());
  // Broadcast [.., 1, d, ..] to [.., r, d, ..] then merge each (r, d) pair.
  Shape expanded_in, expanded_out, out;
  for (int64_t i = 0; i < rank; ++i) {
    expanded_in.push_back(1);
    expanded_in.push_back(in[i]);
    expanded_out.push_back(r[i]);
    expanded_out.push_back(in[i]);
    out.push_back(r[i] * in[i]);
  }
  return reshape(broadcast(reshape(x, expanded_in), expanded_out), out);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  check_defined(x, "nx::split", "x");
  int64_t a = normalize_axis(axis, x.rank(), "nx::split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) throw Error("nx::split: sizes must be >= 0, got " + shape_repr(sizes));
    total += s;
  }
  if (total != x.shape()[a]) {
    throw Error("nx::split: sizes " + shape_repr(sizes) + " add up to " + str(total) +
                ", but axis " + str(axis) + " of " + type_string(x.type()) + " has size " +
                str(x.shape()[a]));
  }
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    out.push_back(slice_along_axis(x, offset, s, a));
    offset += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t n, int64_t axis) {
  check_defined(x, "nx::split", "x");
  int64_t a = normalize_axis(axis, x.rank(), "nx::split");
  if (n <= 0 || x.shape()[a] % n != 0) {
    throw Error("nx::split: axis " + str(axis) + " of " + type_string(x.type()) +
                " does not split into " + str(n) + " equal parts");
  }
  return split(x, std::vector<int64_t>(static_cast<size_t>(n), x.shape()[a] / n), a);
}

namespace {
Tensor triangle(const Tensor& x, int64_t k, bool lower, const char* op) {
  check_defined(x, op, "x");
  if (x.rank() < 2)
    throw Error(std::string(op) + ": expects rank >= 2, got " + type_string(x.type()));
  int64_t r = x.rank();
  Shape mat{x.shape()[r - 2], x.shape()[r - 1]};
  Tensor rows = iota(mat, 0, DType::S64), cols = iota(mat, 1, DType::S64);
  Tensor diff = subtract(cols, rows);  // column - row: k-th diagonal where == k
  Tensor keep = lower ? less_equal(diff, scalar_int(k, DType::S64))
                      : greater_equal(diff, scalar_int(k, DType::S64));
  return select(keep, x, zeros({}, x.dtype()));
}
}  // namespace

Tensor tril(const Tensor& x, int64_t k) {
  return triangle(x, k, true, "nx::tril");
}
Tensor triu(const Tensor& x, int64_t k) {
  return triangle(x, k, false, "nx::triu");
}

}  // namespace nx
