#include "nx/ops/indexing.hpp"

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

void check_indices(const Tensor& indices, const char* op) {
  check_defined(indices, op, "indices");
  if (!is_integer(indices.dtype())) {
    throw Error(std::string(op) + ": indices must be integers, got " + type_string(indices.type()));
  }
}

Axes gather_axes(const Tensor& x, const std::optional<Axes>& axes, const char* op) {
  return axes ? normalize_axes(*axes, x.rank(), op) : all_axes(x.rank());
}

// Negative indices count from the end of an axis of size `dim`.
Tensor wrap_negative(const Tensor& indices, int64_t dim) {
  if (is_unsigned_int(indices.dtype())) return indices;
  Tensor idx = detail::cast(indices, DType::S64);
  return select(less(idx, 0), add(idx, scalar_int(dim, DType::S64)), idx);
}

// Index tuples [..., rank] addressing every axis: iotas for all axes but `axis`, which takes
// `indices` (shape of indices, same rank as x).
Tensor full_indices(const Tensor& x, const Tensor& indices, int64_t axis) {
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < x.rank(); ++i) {
    Tensor part =
        i == axis ? wrap_negative(indices, x.shape()[i]) : iota(indices.shape(), i, DType::S64);
    parts.push_back(new_axis(detail::cast(part, DType::S64), -1));
  }
  return concatenate(parts, -1);
}

void check_along_axis(const Tensor& x, const Tensor& indices, const char* op) {
  check_defined(x, op, "x");
  check_indices(indices, op);
  if (indices.rank() != x.rank()) {
    throw Error(std::string(op) + ": indices " + type_string(indices.type()) +
                " must have the rank of x " + type_string(x.type()));
  }
}

Tensor scatter(Prim p, const Tensor& x, const Tensor& indices, const Tensor& updates,
               const std::optional<Axes>& axes, const char* op) {
  check_defined(x, op, "x");
  check_indices(indices, op);
  check_defined(updates, op, "updates");
  Tensor base = p == Prim::scatter_add && x.dtype() == DType::Pred ? detail::cast(x, DType::U8) : x;
  return bind1(p, {base, indices, detail::cast(updates, base.dtype())},
               detail::GatherParams{gather_axes(x, axes, op)});
}

}  // namespace

Tensor gather(const Tensor& x, const Tensor& indices, const std::optional<Axes>& axes) {
  check_defined(x, "nx::gather", "x");
  check_indices(indices, "nx::gather");
  return bind1(Prim::gather, {x, indices},
               detail::GatherParams{gather_axes(x, axes, "nx::gather")});
}

Tensor take(const Tensor& x, const Tensor& indices, int64_t axis) {
  check_defined(x, "nx::take", "x");
  check_indices(indices, "nx::take");
  int64_t a = normalize_axis(axis, x.rank(), "nx::take");
  Tensor idx = new_axis(wrap_negative(indices, x.shape()[a]), -1);
  // gather gives indices.shape ++ (x without axis a); move x's leading axes back in front.
  Tensor g = gather(x, idx, Axes{a});
  int64_t ni = indices.rank();
  Axes perm;
  for (int64_t i = 0; i < a; ++i) perm.push_back(ni + i);
  for (int64_t i = 0; i < ni; ++i) perm.push_back(i);
  for (int64_t i = ni + a; i < g.rank(); ++i) perm.push_back(i);
  return transpose(g, perm);
}

Tensor take_along_axis(const Tensor& x, const Tensor& indices, int64_t axis) {
  check_along_axis(x, indices, "nx::take_along_axis");
  int64_t a = normalize_axis(axis, x.rank(), "nx::take_along_axis");
  return gather(x, full_indices(x, indices, a));
}

Tensor indexed_add(const Tensor& x, const Tensor& indices, const Tensor& updates,
                   const std::optional<Axes>& axes) {
  return scatter(Prim::scatter_add, x, indices, updates, axes, "nx::indexed_add");
}

Tensor indexed_put(const Tensor& x, const Tensor& indices, const Tensor& updates,
                   const std::optional<Axes>& axes) {
  return scatter(Prim::scatter_put, x, indices, updates, axes, "nx::indexed_put");
}

Tensor scatter_add_along_axis(const Tensor& x, const Tensor& indices, const Tensor& updates,
                              int64_t axis) {
  check_along_axis(x, indices, "nx::scatter_add_along_axis");
  int64_t a = normalize_axis(axis, x.rank(), "nx::scatter_add_along_axis");
  if (updates.shape() != indices.shape()) {
    throw Error("nx::scatter_add_along_axis: updates " + type_string(updates.type()) +
                " must have the shape of indices " + type_string(indices.type()));
  }
  return indexed_add(x, full_indices(x, indices, a), updates);
}

Tensor one_hot(const Tensor& indices, int64_t depth, DType dtype, int64_t axis) {
  check_indices(indices, "nx::one_hot");
  if (depth < 0) throw Error("nx::one_hot: depth must be >= 0, got " + std::to_string(depth));
  int64_t a = normalize_axis(axis, indices.rank() + 1, "nx::one_hot");
  Shape s = indices.shape();
  s.insert(s.begin() + a, depth);
  Tensor hot = equal(new_axis(detail::cast(indices, DType::S64), a), iota(s, a, DType::S64));
  return as_type(hot, dtype);
}

}  // namespace nx
