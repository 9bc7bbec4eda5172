// Shape rules of window reductions, select-and-scatter, gather/scatter and QR.
//
// Window output size per axis follows XLA (window_util::StridedBound): with padded size
// P = pad_lo + d + pad_hi and dilated window W = (w - 1) * dilation + 1, the output has
// (P - W) / stride + 1 elements when W <= P, and none when the window does not fit at all.
#include <algorithm>
#include <string>

#include "rules_common.hpp"

namespace nx::detail {

namespace {

std::string ints(const std::vector<int64_t>& v) {
  return shape_repr(v);
}

/// Validates the window parameters against `x` and returns the window-reduction output shape.
Shape window_output_shape(int prim, const Tensor& x, const WindowParams& p) {
  int64_t r = x.rank();
  check_per_axis(prim, p.window, r, "window");
  check_per_axis(prim, p.strides, r, "strides");
  check_per_axis(prim, p.pad_lo, r, "pad_lo");
  check_per_axis(prim, p.pad_hi, r, "pad_hi");
  check_per_axis(prim, p.window_dilation, r, "window_dilation");
  Shape out(static_cast<size_t>(r));
  for (int64_t i = 0; i < r; ++i) {
    if (p.window[i] < 1 || p.strides[i] < 1 || p.window_dilation[i] < 1 || p.pad_lo[i] < 0 ||
        p.pad_hi[i] < 0) {
      rule_error(prim, "axis " + std::to_string(i) + " of " + describe(x) +
                           ": window sizes, strides and dilations must be >= 1 and padding >= 0, "
                           "got window " +
                           ints(p.window) + ", strides " + ints(p.strides) + ", padding " +
                           ints(p.pad_lo) + "/" + ints(p.pad_hi) + ", dilation " +
                           ints(p.window_dilation));
    }
    // Checked: the kernels compute window positions up to padded + stride.
    int64_t padded = 0, dilated = 0, reach = 0;
    if (__builtin_add_overflow(p.pad_lo[i], x.shape()[i], &padded) ||
        __builtin_add_overflow(padded, p.pad_hi[i], &padded) ||
        __builtin_add_overflow(padded, p.strides[i], &reach) ||
        __builtin_mul_overflow(p.window[i] - 1, p.window_dilation[i], &dilated)) {
      rule_error(prim, "axis " + std::to_string(i) + " of " + describe(x) +
                           ": padded or dilated window size overflows int64 (window " +
                           ints(p.window) + ", padding " + ints(p.pad_lo) + "/" + ints(p.pad_hi) +
                           ", dilation " + ints(p.window_dilation) + ")");
    }
    dilated += 1;
    out[i] = dilated > padded ? 0 : (padded - dilated) / p.strides[i] + 1;
  }
  return out;
}

/// Validates gather/scatter addressing; returns the shape of the indexed slices' batch
/// (indices.shape[:-1] ++ the operand dims not in axes).
Shape gather_output_shape(int prim, const Tensor& x, const Tensor& indices, const Axes& axes) {
  if (!is_integer(indices.dtype())) {
    rule_error(prim, "indices must have an integer dtype, got " + describe(indices));
  }
  if (indices.rank() < 1) {
    rule_error(prim, "indices must have rank >= 1 (the last axis holds one index per axis in " +
                         ints(axes) + "), got " + describe(indices));
  }
  int64_t r = x.rank();
  std::vector<bool> indexed(static_cast<size_t>(r), false);
  for (int64_t a : axes) {
    if (a < 0 || a >= r) {
      rule_error(prim, "axis " + std::to_string(a) + " in axes " + ints(axes) +
                           " is out of range for operand " + describe(x));
    }
    if (indexed[static_cast<size_t>(a)]) {
      rule_error(prim, "axes " + ints(axes) + " repeat axis " + std::to_string(a));
    }
    indexed[static_cast<size_t>(a)] = true;
  }
  int64_t k = indices.shape().back();
  if (k != static_cast<int64_t>(axes.size())) {
    rule_error(prim, "the last axis of indices " + describe(indices) + " must have size " +
                         std::to_string(axes.size()) + " (one per axis in " + ints(axes) +
                         "), got " + std::to_string(k));
  }
  Shape out(indices.shape().begin(), indices.shape().end() - 1);
  int64_t rows = num_elements(out);
  for (int64_t a = 0; a < r; ++a) {
    if (!indexed[static_cast<size_t>(a)]) {
      out.push_back(x.shape()[a]);
    } else if (x.shape()[a] == 0 && rows > 0) {
      rule_error(prim, "cannot index axis " + std::to_string(a) + " of " + describe(x) +
                           ": it has size 0");
    }
  }
  return out;
}

}  // namespace

std::vector<TensorType> rule_window(int prim, std::span<const Tensor> in, const Params& params) {
  check_dtype_class(prim, in[0], DTypeClass::Numeric, "the operand");
  return {
      TensorType{window_output_shape(prim, in[0], std::get<WindowParams>(params)), in[0].dtype()}};
}

std::vector<TensorType> rule_window_scatter(int prim, std::span<const Tensor> in,
                                            const Params& params) {
  const Tensor& operand = in[0];
  const Tensor& source = in[1];
  const Tensor& init = in[2];
  check_dtype_class(prim, operand, DTypeClass::Numeric, "the operand");
  if (source.dtype() != operand.dtype() || init.dtype() != operand.dtype()) {
    rule_error(prim, "operand, source and init value must have one dtype, got " +
                         describe(operand) + ", " + describe(source) + " and " + describe(init));
  }
  if (init.rank() != 0) {
    rule_error(prim, "the init value must be a scalar, got " + describe(init));
  }
  Shape windows = window_output_shape(prim, operand, std::get<WindowParams>(params));
  if (source.shape() != windows) {
    rule_error(prim, "source " + describe(source) + " must have the window output shape " +
                         ints(windows) + " of operand " + describe(operand));
  }
  return {operand.type()};
}

std::vector<TensorType> rule_gather(int prim, std::span<const Tensor> in, const Params& params) {
  const auto& axes = std::get<GatherParams>(params).axes;
  return {TensorType{gather_output_shape(prim, in[0], in[1], axes), in[0].dtype()}};
}

std::vector<TensorType> rule_scatter(int prim, std::span<const Tensor> in, const Params& params) {
  const Tensor& x = in[0];
  const Tensor& updates = in[2];
  check_dtype_class(prim, x, kPrimInfo[static_cast<size_t>(prim)].dtypes, "the operand");
  const auto& axes = std::get<GatherParams>(params).axes;
  Shape expected = gather_output_shape(prim, x, in[1], axes);
  if (updates.dtype() != x.dtype()) {
    rule_error(prim,
               "updates " + describe(updates) + " must have the dtype of operand " + describe(x));
  }
  if (updates.shape() != expected) {
    rule_error(prim, "updates " + describe(updates) + " must have shape " + ints(expected) +
                         " (indices " + describe(in[1]) +
                         " without the last axis, then the axes "
                         "of operand " +
                         describe(x) + " not in " + ints(axes) + ")");
  }
  return {x.type()};
}

std::vector<TensorType> rule_qr(int prim, std::span<const Tensor> in, const Params& params) {
  const Tensor& x = in[0];
  check_dtype_class(prim, x, DTypeClass::Float, "the operand");
  if (x.rank() < 2) {
    rule_error(prim, "the operand must have rank >= 2 ([..., m, n]), got " + describe(x));
  }
  Shape q = x.shape(), r = x.shape();
  int64_t m = x.shape()[x.rank() - 2], n = x.shape()[x.rank() - 1];
  int64_t k = std::get<QrParams>(params).complete ? m : std::min(m, n);
  q.back() = k;
  r[r.size() - 2] = k;
  return {TensorType{q, x.dtype()}, TensorType{r, x.dtype()}};
}

}  // namespace nx::detail
