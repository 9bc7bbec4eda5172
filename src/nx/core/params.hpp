// Static parameters of primitives. Each primitive takes one alternative of Params (its row in
// primitives.def names which). Every struct compares with == so that graph passes can merge
// identical nodes.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "nx/dtype.hpp"
#include "nx/shape.hpp"

namespace nx::detail {

using Ints = std::vector<int64_t>;

struct NoParams {
  bool operator==(const NoParams&) const = default;
};
/// convert, bitcast: the target dtype.
struct ConvertParams {
  DType dtype;
  bool operator==(const ConvertParams&) const = default;
};
/// broadcast_in_dim: output shape, and for each operand axis the output axis it maps to
/// (increasing). Operand dims are either equal to the output dim or 1.
struct BroadcastParams {
  Shape shape;
  Axes axes;
  bool operator==(const BroadcastParams&) const = default;
};
/// reshape: the new shape (same element count).
struct ReshapeParams {
  Shape shape;
  bool operator==(const ReshapeParams&) const = default;
};
/// transpose (a permutation), reverse and reduce_* (normalized, sorted axes).
struct AxesParams {
  Axes axes;
  bool operator==(const AxesParams&) const = default;
};
/// slice: per axis, start (inclusive), limit (exclusive) and stride (>= 1).
struct SliceParams {
  Ints start, limit, strides;
  bool operator==(const SliceParams&) const = default;
};
/// dynamic_slice: inputs are the operand then one integer scalar start per axis; starts are
/// clamped so that the slice lies inside the operand (as XLA and Nx do).
struct DynamicSliceParams {
  Shape sizes;
  bool operator==(const DynamicSliceParams&) const = default;
};
/// pad: inputs are the operand and a scalar pad value. lo/hi may be negative (cropping);
/// interior (>= 0) inserts that many pad elements between neighbours.
struct PadParams {
  Ints lo, hi, interior;
  bool operator==(const PadParams&) const = default;
};
/// concatenate: the (normalized) axis.
struct ConcatParams {
  int64_t axis;
  bool operator==(const ConcatParams&) const = default;
};
/// iota: counts 0, 1, ... along `axis` of `shape`, or over all elements when axis is -1.
struct IotaParams {
  Shape shape;
  DType dtype;
  int64_t axis;
  bool operator==(const IotaParams&) const = default;
};
/// argmax/argmin along one axis (removed from the output, which is s64). Ties pick the lowest
/// index unless tie_high. NaN counts as the extreme value, as in Nx and PyTorch.
struct ArgParams {
  int64_t axis;
  bool tie_high = false;
  bool operator==(const ArgParams&) const = default;
};
/// dot_general: output axes are batch, then free axes of a, then free axes of b. Axes are
/// non-negative and distinct (the op library normalizes them).
struct DotParams {
  Axes contract_a, batch_a, contract_b, batch_b;
  bool operator==(const DotParams&) const = default;
};
/// conv_general. Layouts are fixed: input [N, C, spatial...], kernel [O, I, spatial...],
/// output [N, O, spatial...]; other layouts are transposes in the op library.
/// lhs_dilation dilates the input (transposed convolution), rhs_dilation the kernel. With padded,
/// dilated input P and dilated kernel W an axis has (P - W) / stride + 1 outputs, or none when
/// W > P (as XLA). With batch_groups, output batch b of group g reads input batch
/// g * (N / batch_groups) + b.
struct ConvParams {
  Ints strides, pad_lo, pad_hi, lhs_dilation, rhs_dilation;
  int64_t feature_groups = 1;
  int64_t batch_groups = 1;
  bool operator==(const ConvParams&) const = default;
};
/// window_* reductions and window_scatter_*: window sizes, strides, padding (>= 0, holding the
/// reduction's identity), and window dilation per axis. With padded size P and dilated window W,
/// an axis has (P - W) / stride + 1 outputs, or none when W > P (as XLA).
struct WindowParams {
  Shape window;
  Ints strides, pad_lo, pad_hi, window_dilation;
  bool operator==(const WindowParams&) const = default;
};
/// gather/scatter_*: the last axis of the indices addresses these operand axes (in order).
/// Out-of-range indices are clamped into range; scatter_put keeps the last update (row-major)
/// when indices repeat, scatter_add accumulates in row order.
struct GatherParams {
  Axes axes;
  bool operator==(const GatherParams&) const = default;
};
/// sort: stable sort along axis; outputs values and s64 indices.
struct SortParams {
  int64_t axis;
  bool descending = false;
  bool operator==(const SortParams&) const = default;
};
/// cumulative_*: along axis, from the end when reverse.
struct ScanParams {
  int64_t axis;
  bool reverse = false;
  bool operator==(const ScanParams&) const = default;
};
/// qr: complete (Q square) or reduced.
struct QrParams {
  bool complete = false;
  bool operator==(const QrParams&) const = default;
};

using Params =
    std::variant<NoParams, ConvertParams, BroadcastParams, ReshapeParams, AxesParams, SliceParams,
                 DynamicSliceParams, PadParams, ConcatParams, IotaParams, ArgParams, DotParams,
                 ConvParams, WindowParams, GatherParams, SortParams, ScanParams, QrParams>;

}  // namespace nx::detail
