// Shape rules of movement, creation and reduction primitives.
#include <algorithm>
#include <string>

#include "rules_common.hpp"

namespace nx::detail {

namespace {
std::string ints(const std::vector<int64_t>& v) {
  return shape_repr(v);
}

void check_axes_in_rank(int prim, const Axes& axes, int64_t rank, bool sorted) {
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank) {
      rule_error(prim, "axis " + std::to_string(axes[i]) + " out of range for rank " +
                           std::to_string(rank));
    }
    if (sorted && i > 0 && axes[i] <= axes[i - 1]) {
      rule_error(prim, "axes must be strictly increasing, got " + ints(axes));
    }
  }
}
}  // namespace

std::vector<TensorType> rule_broadcast_in_dim(int prim, std::span<const Tensor> in,
                                              const Params& params) {
  const auto& p = std::get<BroadcastParams>(params);
  const Shape& s = in[0].shape();
  if (p.axes.size() != s.size()) {
    rule_error(prim, "needs one output axis per operand axis: operand " + describe(in[0]) +
                         ", axes " + ints(p.axes));
  }
  check_axes_in_rank(prim, p.axes, static_cast<int64_t>(p.shape.size()), true);
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t target = p.shape[static_cast<size_t>(p.axes[i])];
    if (s[i] != 1 && s[i] != target) {
      rule_error(prim, "cannot broadcast " + describe(in[0]) + " to shape " + ints(p.shape) +
                           ": axis " + std::to_string(i) + " has size " + std::to_string(s[i]) +
                           " but target axis " + std::to_string(p.axes[i]) + " has size " +
                           std::to_string(target));
    }
  }
  for (int64_t d : p.shape)
    if (d < 0) rule_error(prim, "negative dimension in target shape " + ints(p.shape));
  return {TensorType{p.shape, in[0].dtype()}};
}

std::vector<TensorType> rule_reshape(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& p = std::get<ReshapeParams>(params);
  for (int64_t d : p.shape)
    if (d < 0) rule_error(prim, "negative dimension in shape " + ints(p.shape));
  if (num_elements(p.shape) != in[0].size()) {
    rule_error(prim, "cannot reshape " + describe(in[0]) + " (" + std::to_string(in[0].size()) +
                         " elements) to " + ints(p.shape) + " (" +
                         std::to_string(num_elements(p.shape)) + " elements)");
  }
  return {TensorType{p.shape, in[0].dtype()}};
}

std::vector<TensorType> rule_transpose(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& perm = std::get<AxesParams>(params).axes;
  int64_t r = in[0].rank();
  Axes sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  if (static_cast<int64_t>(perm.size()) != r || sorted != all_axes(r)) {
    rule_error(prim, "axes " + ints(perm) + " are not a permutation of the " + std::to_string(r) +
                         " axes of " + describe(in[0]));
  }
  Shape out(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) out[i] = in[0].shape()[static_cast<size_t>(perm[i])];
  return {TensorType{out, in[0].dtype()}};
}

std::vector<TensorType> rule_slice(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& p = std::get<SliceParams>(params);
  int64_t r = in[0].rank();
  check_per_axis(prim, p.start, r, "start");
  check_per_axis(prim, p.limit, r, "limit");
  check_per_axis(prim, p.strides, r, "strides");
  Shape out(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = in[0].shape()[i];
    if (p.start[i] < 0 || p.limit[i] > d || p.start[i] > p.limit[i] || p.strides[i] < 1) {
      rule_error(prim, "axis " + std::to_string(i) + " of " + describe(in[0]) +
                           ": invalid slice start " + std::to_string(p.start[i]) + ", limit " +
                           std::to_string(p.limit[i]) + ", stride " + std::to_string(p.strides[i]));
    }
    // ceil((limit - start) / stride) without overflow for huge strides.
    const int64_t span = p.limit[i] - p.start[i];
    out[i] = span == 0 ? 0 : 1 + (span - 1) / p.strides[i];
  }
  return {TensorType{out, in[0].dtype()}};
}

namespace {
void check_start_indices(int prim, std::span<const Tensor> starts, int64_t rank) {
  if (static_cast<int64_t>(starts.size()) != rank) {
    rule_error(prim, "needs one start index per axis (" + std::to_string(rank) + "), got " +
                         std::to_string(starts.size()));
  }
  for (const Tensor& s : starts) {
    if (s.rank() != 0 || !is_integer(s.dtype())) {
      rule_error(prim, "start indices must be integer scalars, got " + describe(s));
    }
  }
}
}  // namespace

std::vector<TensorType> rule_dynamic_slice(int prim, std::span<const Tensor> in,
                                           const Params& params) {
  if (in.empty()) rule_error(prim, "needs an operand");
  const auto& p = std::get<DynamicSliceParams>(params);
  int64_t r = in[0].rank();
  check_start_indices(prim, in.subspan(1), r);
  check_per_axis(prim, p.sizes, r, "sizes");
  for (int64_t i = 0; i < r; ++i) {
    if (p.sizes[i] < 0 || p.sizes[i] > in[0].shape()[i]) {
      rule_error(prim, "slice size " + ints(p.sizes) + " does not fit in " + describe(in[0]));
    }
  }
  return {TensorType{p.sizes, in[0].dtype()}};
}

std::vector<TensorType> rule_dynamic_update_slice(int prim, std::span<const Tensor> in,
                                                  const Params&) {
  if (in.size() < 2) rule_error(prim, "needs an operand and an update");
  int64_t r = in[0].rank();
  check_same_dtype(prim, in.subspan(0, 2));
  if (in[1].rank() != r) {
    rule_error(prim, "update " + describe(in[1]) + " must have the rank of " + describe(in[0]));
  }
  for (int64_t i = 0; i < r; ++i) {
    if (in[1].shape()[i] > in[0].shape()[i]) {
      rule_error(prim, "update " + describe(in[1]) + " does not fit in " + describe(in[0]));
    }
  }
  check_start_indices(prim, in.subspan(2), r);
  return {in[0].type()};
}

std::vector<TensorType> rule_pad(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& p = std::get<PadParams>(params);
  int64_t r = in[0].rank();
  if (in[1].rank() != 0) rule_error(prim, "the pad value must be a scalar, got " + describe(in[1]));
  check_same_dtype(prim, in);
  check_per_axis(prim, p.lo, r, "low padding");
  check_per_axis(prim, p.hi, r, "high padding");
  check_per_axis(prim, p.interior, r, "interior padding");
  Shape out(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) {
    int64_t d = in[0].shape()[i];
    if (p.interior[i] < 0)
      rule_error(prim, "interior padding must be >= 0, got " + ints(p.interior));
    int64_t dilated = d == 0 ? 0 : d + (d - 1) * p.interior[i];
    out[i] = p.lo[i] + dilated + p.hi[i];
    if (out[i] < 0) {
      rule_error(prim, "padding " + ints(p.lo) + "/" + ints(p.hi) + " removes more than axis " +
                           std::to_string(i) + " of " + describe(in[0]) + " holds");
    }
  }
  return {TensorType{out, in[0].dtype()}};
}

std::vector<TensorType> rule_concatenate(int prim, std::span<const Tensor> in,
                                         const Params& params) {
  if (in.empty()) rule_error(prim, "needs at least one tensor");
  int64_t axis = std::get<ConcatParams>(params).axis;
  int64_t r = in[0].rank();
  if (r == 0) rule_error(prim, "cannot concatenate scalars");
  if (axis < 0 || axis >= r) rule_error(prim, "axis " + std::to_string(axis) + " out of range");
  check_same_dtype(prim, in);
  Shape out = in[0].shape();
  out[axis] = 0;
  for (const Tensor& t : in) {
    bool ok = t.rank() == r;
    for (int64_t i = 0; ok && i < r; ++i) ok = i == axis || t.shape()[i] == out[i];
    if (!ok) {
      rule_error(prim, "shapes " + describe(in[0]) + " and " + describe(t) +
                           " differ outside axis " + std::to_string(axis));
    }
    out[axis] += t.shape()[axis];
  }
  return {TensorType{out, in[0].dtype()}};
}

std::vector<TensorType> rule_reverse(int prim, std::span<const Tensor> in, const Params& params) {
  check_axes_in_rank(prim, std::get<AxesParams>(params).axes, in[0].rank(), true);
  return {in[0].type()};
}

std::vector<TensorType> rule_iota(int prim, std::span<const Tensor>, const Params& params) {
  const auto& p = std::get<IotaParams>(params);
  for (int64_t d : p.shape)
    if (d < 0) rule_error(prim, "negative dimension in shape " + ints(p.shape));
  if (p.axis < -1 || p.axis >= static_cast<int64_t>(p.shape.size())) {
    rule_error(prim, "axis " + std::to_string(p.axis) + " out of range for shape " + ints(p.shape));
  }
  return {TensorType{p.shape, p.dtype}};
}

namespace {
Shape reduced_shape(const Shape& s, const Axes& axes) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i)
    if (std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) == axes.end())
      out.push_back(s[i]);
  return out;
}
}  // namespace

std::vector<TensorType> rule_reduce(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& axes = std::get<AxesParams>(params).axes;
  check_dtype_class(prim, in[0], kPrimInfo[static_cast<size_t>(prim)].dtypes, "the operand");
  check_axes_in_rank(prim, axes, in[0].rank(), true);
  return {TensorType{reduced_shape(in[0].shape(), axes), in[0].dtype()}};
}

std::vector<TensorType> rule_reduce_pred(int prim, std::span<const Tensor> in,
                                         const Params& params) {
  const auto& axes = std::get<AxesParams>(params).axes;
  check_axes_in_rank(prim, axes, in[0].rank(), true);
  return {TensorType{reduced_shape(in[0].shape(), axes), DType::Pred}};
}

std::vector<TensorType> rule_arg(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& p = std::get<ArgParams>(params);
  check_dtype_class(prim, in[0], DTypeClass::Numeric, "the operand");
  if (p.axis < 0 || p.axis >= in[0].rank()) {
    rule_error(prim, "axis " + std::to_string(p.axis) + " out of range for " + describe(in[0]));
  }
  if (in[0].shape()[p.axis] == 0) {
    rule_error(prim, "cannot take the arg-extreme of an empty axis in " + describe(in[0]));
  }
  return {TensorType{reduced_shape(in[0].shape(), {p.axis}), DType::S64}};
}

}  // namespace nx::detail
