// ONNX region ops (channels first): MaxUnpool (opsets 9 and 11, with the output_shape input),
// RoiAlign (opsets 10 and 16: coordinate_transformation_mode, avg/max, sampling_ratio) and
// MaxRoiPool (opset 1). Regions may be data (traced): every sample position, bilinear weight and
// bin mask is computed with nx ops from the rois tensor, and values are read with one gather per
// bilinear corner, so the ops trace, compile and differentiate with respect to X.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

using nx::Tensor;

// ---- MaxUnpool ----------------------------------------------------------------------------------

// Indices address the unpooled tensor of the default shape [N, C, (in - 1) stride + k - pads]
// (as MaxPool's Indices do); with an output_shape they keep their coordinates in that larger
// tensor (the ONNX node test test_maxunpool_export_with_output_shape).
std::vector<Tensor> max_unpool(const OpCall& call) {
  const Tensor& x = call.input(0);
  const Tensor& indices = call.input(1);
  if (x.rank() < 3)
    call.fail("X needs rank >= 3 (N, C, spatial...), got " + nx::type_string(x.type()));
  if (indices.shape() != x.shape() || !nx::is_integer(indices.dtype())) {
    call.fail("I must be an integer tensor of X's shape " + nx::shape_repr(x.shape()) + ", got " +
              nx::type_string(indices.type()));
  }
  const size_t n = static_cast<size_t>(x.rank() - 2);
  const auto kernel = call.attr_ints("kernel_shape");
  if (kernel.size() != n) {
    call.fail("kernel_shape needs " + std::to_string(n) + " values, got " +
              std::to_string(kernel.size()));
  }
  const auto strides = call.attr_ints("strides", std::vector<int64_t>(n, 1));
  const auto pads = call.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
  if (strides.size() != n || pads.size() != 2 * n) {
    call.fail("strides needs " + std::to_string(n) + " values and pads " + std::to_string(2 * n));
  }
  nx::Shape dflt{x.shape()[0], x.shape()[1]};
  for (size_t i = 0; i < n; ++i) {
    dflt.push_back((x.shape()[2 + i] - 1) * strides[i] + kernel[i] - pads[i] - pads[n + i]);
  }
  nx::Shape out = dflt;
  if (call.has_input(2)) {
    const auto given = call.ints_input(2);
    if (given.size() != dflt.size()) {
      call.fail("output_shape needs " + std::to_string(dflt.size()) + " values, got " +
                std::to_string(given.size()));
    }
    for (size_t i = 0; i < given.size(); ++i) {
      if (i < 2 ? given[i] != dflt[i] : given[i] < dflt[i]) {
        call.fail("output_shape " + nx::shape_repr(nx::Shape(given.begin(), given.end())) +
                  " must keep N and C and be at least the default shape " + nx::shape_repr(dflt));
      }
    }
    out = nx::Shape(given.begin(), given.end());
  }
  Tensor flat = nx::as_type(indices, nx::s64);
  if (out != dflt) {
    // Unravel in the default shape, ravel in the output shape.
    Tensor remaining = flat;
    flat = nx::zeros(x.shape(), nx::s64);
    int64_t out_stride = 1;
    for (size_t a = dflt.size(); a-- > 0;) {
      flat = nx::add(flat, nx::multiply(nx::remainder(remaining, dflt[a]), out_stride));
      remaining = nx::quotient(remaining, dflt[a]);
      out_stride *= out[a];
    }
  }
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  const Tensor y = nx::indexed_put(nx::zeros({total}, x.dtype()), nx::reshape(flat, {x.size(), 1}),
                                   nx::reshape(x, {x.size()}));
  return {nx::reshape(y, out)};
}

// ---- RoiAlign -----------------------------------------------------------------------------------

struct RoiAlignParams {
  int64_t out_h = 1, out_w = 1;
  double scale = 1.0;
  bool half_pixel = false;  ///< coordinates shifted by -0.5; otherwise rois are at least 1x1
  bool max = false;
};

// X [N, C, H, W] flattened to rows [N * H * W, C] (one gather row per position).
Tensor position_rows(const Tensor& x) {
  const auto& s = x.shape();
  return nx::reshape(nx::transpose(x, {0, 2, 3, 1}), {s[0] * s[2] * s[3], s[1]});
}

// One axis of the sample grid: the sample coordinates [R, out * grid] of rois starting at
// `start` with bins of `bin` ([R]), as ORT computes them, clamped like ORT's bilinear
// interpolation: {low index, high index, weight of high, valid}.
struct Axis {
  Tensor low, high, frac, valid;
};

Axis sample_axis(const Tensor& start, const Tensor& bin, int64_t out, int64_t grid, int64_t size) {
  const nx::DType t = start.dtype();
  std::vector<double> p, q;
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t g = 0; g < grid; ++g) {
      p.push_back(static_cast<double>(o));
      q.push_back(static_cast<double>(g) + 0.5);
    }
  }
  const int64_t s = out * grid;
  const Tensor pt = nx::as_type(nx::from_vector(p, nx::Shape{1, s}), t);
  const Tensor qt = nx::as_type(nx::from_vector(q, nx::Shape{1, s}), t);
  const Tensor b = nx::reshape(bin, {bin.shape()[0], 1});
  Tensor v = nx::add(nx::add(nx::reshape(start, {start.shape()[0], 1}), nx::multiply(pt, b)),
                     nx::divide(nx::multiply(qt, b), nx::scalar(static_cast<double>(grid), t)));
  const double last = static_cast<double>(size - 1);
  Axis a;
  a.valid = nx::logical_and(nx::greater_equal(v, nx::scalar(-1.0, t)),
                            nx::less_equal(v, nx::scalar(static_cast<double>(size), t)));
  v = nx::max(v, nx::scalar(0.0, t));
  const Tensor fl = nx::floor(v);
  const Tensor at_end = nx::greater_equal(fl, nx::scalar(last, t));
  const Tensor low = nx::select(at_end, nx::scalar(last, t), fl);
  v = nx::select(at_end, low, v);
  a.low = nx::as_type(low, nx::s64);
  a.high = nx::as_type(nx::select(at_end, low, nx::add(low, nx::scalar(1.0, t))), nx::s64);
  a.frac = nx::subtract(v, low);
  return a;
}

// RoiAlign of rois [R, 4] (x1, y1, x2, y2) with a grid of gh x gw samples per bin.
Tensor roi_align_grid(const Tensor& x, const Tensor& rois, const Tensor& batch, int64_t gh,
                      int64_t gw, const RoiAlignParams& p) {
  const int64_t r = rois.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const nx::DType t = x.dtype();
  if (gh == 0 || gw == 0) return nx::zeros({r, c, p.out_h, p.out_w}, t);
  const double offset = p.half_pixel ? 0.5 : 0.0;
  auto coord = [&](int64_t i) {
    return nx::subtract(
        nx::multiply(nx::squeeze(nx::slice_along_axis(rois, i, 1, 1), {1}), nx::scalar(p.scale, t)),
        nx::scalar(offset, t));
  };
  const Tensor x1 = coord(0), y1 = coord(1), x2 = coord(2), y2 = coord(3);
  Tensor rw = nx::subtract(x2, x1), rh = nx::subtract(y2, y1);
  if (!p.half_pixel) {
    rw = nx::max(rw, nx::scalar(1.0, t));
    rh = nx::max(rh, nx::scalar(1.0, t));
  }
  const Axis ay =
      sample_axis(y1, nx::divide(rh, nx::scalar(static_cast<double>(p.out_h), t)), p.out_h, gh, h);
  const Axis ax =
      sample_axis(x1, nx::divide(rw, nx::scalar(static_cast<double>(p.out_w), t)), p.out_w, gw, w);
  const Tensor rows = position_rows(x);
  const Tensor base = nx::reshape(nx::multiply(nx::as_type(batch, nx::s64), h * w), {r, 1, 1});
  auto corner = [&](const Tensor& yi, const Tensor& xi) {  // [R, Sy, Sx, C]
    const Tensor idx =
        nx::add(nx::add(base, nx::new_axis(nx::multiply(yi, w), 2)), nx::new_axis(xi, 1));
    return nx::take(rows, idx, 0);
  };
  const Tensor valid =
      nx::as_type(nx::logical_and(nx::new_axis(ay.valid, 2), nx::new_axis(ax.valid, 1)), t);
  const Tensor one = nx::scalar(1.0, t);
  const Tensor ly = nx::new_axis(ay.frac, 2), lx = nx::new_axis(ax.frac, 1);
  const Tensor hy = nx::subtract(one, ly), hx = nx::subtract(one, lx);
  auto weighted = [&](const Tensor& wgt, const Tensor& yi, const Tensor& xi) {
    return nx::multiply(nx::new_axis(nx::multiply(wgt, valid), 3), corner(yi, xi));
  };
  const Tensor v1 = weighted(nx::multiply(hy, hx), ay.low, ax.low);
  const Tensor v2 = weighted(nx::multiply(hy, lx), ay.low, ax.high);
  const Tensor v3 = weighted(nx::multiply(ly, hx), ay.high, ax.low);
  const Tensor v4 = weighted(nx::multiply(ly, lx), ay.high, ax.high);
  const Tensor samples = nx::reshape(
      p.max ? nx::max(nx::max(v1, v2), nx::max(v3, v4)) : nx::add(nx::add(v1, v2), nx::add(v3, v4)),
      {r, p.out_h, gh, p.out_w, gw, c});
  const Tensor pooled = p.max ? nx::reduce_max(samples, {nx::Axes{2, 4}})
                              : nx::divide(nx::sum(samples, {nx::Axes{2, 4}}),
                                           nx::scalar(static_cast<double>(gh * gw), t));
  return nx::transpose(pooled, {0, 3, 1, 2});
}

std::vector<Tensor> roi_align(const OpCall& call) {
  const Tensor& x = float_input(call, 0);
  const Tensor& rois = call.input(1);
  const Tensor& batch = call.input(2);
  if (x.rank() != 4) call.fail("X must be [N, C, H, W], got " + nx::type_string(x.type()));
  if (rois.rank() != 2 || rois.shape()[1] != 4 || rois.dtype() != x.dtype()) {
    call.fail("rois must be [num_rois, 4] of X's type, got " + nx::type_string(rois.type()));
  }
  if (batch.rank() != 1 || batch.shape()[0] != rois.shape()[0] || !nx::is_integer(batch.dtype())) {
    call.fail("batch_indices must be integer [num_rois], got " + nx::type_string(batch.type()));
  }
  RoiAlignParams p;
  p.out_h = call.attr_int("output_height", 1);
  p.out_w = call.attr_int("output_width", 1);
  p.scale = call.attr_float("spatial_scale", 1.0);
  if (p.out_h < 1 || p.out_w < 1) call.fail("output_height and output_width must be >= 1");
  const std::string mode = call.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max")
    call.fail("mode must be \"avg\" or \"max\", got \"" + mode + "\"");
  p.max = mode == "max";
  const std::string ctm = call.opset() >= 16
                              ? call.attr_string("coordinate_transformation_mode", "half_pixel")
                              : "output_half_pixel";
  if (ctm != "half_pixel" && ctm != "output_half_pixel") {
    call.fail(
        "coordinate_transformation_mode must be \"half_pixel\" or \"output_half_pixel\", got \"" +
        ctm + "\"");
  }
  p.half_pixel = ctm == "half_pixel";
  const int64_t ratio = call.attr_int("sampling_ratio", 0);
  if (ratio < 0) call.fail("sampling_ratio must be >= 0, got " + std::to_string(ratio));
  if (ratio > 0) return {roi_align_grid(x, rois, batch, ratio, ratio, p)};
  if (rois.is_traced()) {
    call.fail(
        "sampling_ratio=0 (a grid of ceil(roi size / output size) samples per roi) needs "
        "rois known when the model is compiled; they are computed from data here (give "
        "sampling_ratio > 0)");
  }
  // Adaptive grids: the rois grouped by grid size, computed per group and put back in order.
  const std::vector<double> v = rois.to_vector<double>();
  const double offset = p.half_pixel ? 0.5 : 0.0;
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> groups;
  for (int64_t i = 0; i < rois.shape()[0]; ++i) {
    auto at = [&](int64_t k) { return v[static_cast<size_t>(4 * i + k)] * p.scale - offset; };
    double rw = at(2) - at(0), rh = at(3) - at(1);
    if (!p.half_pixel) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    const auto gh = static_cast<int64_t>(std::ceil(rh / static_cast<double>(p.out_h)));
    const auto gw = static_cast<int64_t>(std::ceil(rw / static_cast<double>(p.out_w)));
    groups[{std::max<int64_t>(gh, 0), std::max<int64_t>(gw, 0)}].push_back(i);
  }
  std::vector<Tensor> parts;
  std::vector<int64_t> order;
  for (const auto& [grid, members] : groups) {
    const Tensor idx = nx::from_vector(members);
    parts.push_back(roi_align_grid(x, nx::take(rois, idx, 0), nx::take(batch, idx, 0), grid.first,
                                   grid.second, p));
    order.insert(order.end(), members.begin(), members.end());
  }
  if (parts.size() == 1) return {parts[0]};
  std::vector<int64_t> inverse(order.size());
  for (size_t k = 0; k < order.size(); ++k)
    inverse[static_cast<size_t>(order[k])] = static_cast<int64_t>(k);
  return {nx::take(nx::concatenate(parts, 0), nx::from_vector(inverse), 0)};
}

// ---- MaxRoiPool ---------------------------------------------------------------------------------

// Bin masks [R, pooled, size] of one axis (Caffe's RoIPooling, as ORT): the roi spans
// [start, end] (rounded, inclusive, at least 1 long), bin p covers [floor(p * bin),
// ceil((p + 1) * bin)) offset by start and clipped to the input.
Tensor bin_masks(const Tensor& start, const Tensor& end, int64_t pooled, int64_t size) {
  const nx::DType t = start.dtype();
  const Tensor len =
      nx::max(nx::add(nx::subtract(end, start), nx::scalar(1.0, t)), nx::scalar(1.0, t));
  const Tensor bin = nx::reshape(nx::divide(len, nx::scalar(static_cast<double>(pooled), t)),
                                 {start.shape()[0], 1});
  const Tensor s = nx::reshape(start, {start.shape()[0], 1});
  const Tensor p = nx::as_type(nx::iota({1, pooled}, 1), t);
  auto clipped = [&](const Tensor& v) {
    return nx::clip(nx::add(v, s), nx::scalar(0.0, t), nx::scalar(static_cast<double>(size), t));
  };
  const Tensor lo = nx::new_axis(clipped(nx::floor(nx::multiply(p, bin))), 2);
  const Tensor hi =
      nx::new_axis(clipped(nx::ceil(nx::multiply(nx::add(p, nx::scalar(1.0, t)), bin))), 2);
  const Tensor pos = nx::as_type(nx::iota({1, 1, size}, 2), t);
  return nx::logical_and(nx::greater_equal(pos, lo), nx::less(pos, hi));
}

std::vector<Tensor> max_roi_pool(const OpCall& call) {
  const Tensor& x = float_input(call, 0);
  const Tensor& rois = call.input(1);
  if (x.rank() != 4) call.fail("X must be [N, C, H, W], got " + nx::type_string(x.type()));
  if (rois.rank() != 2 || rois.shape()[1] != 5 || rois.dtype() != x.dtype()) {
    call.fail("rois must be [num_rois, 5] (batch, x1, y1, x2, y2) of X's type, got " +
              nx::type_string(rois.type()));
  }
  const auto pooled = call.attr_ints("pooled_shape");
  if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1) {
    call.fail("pooled_shape needs 2 positive values");
  }
  const double scale = call.attr_float("spatial_scale", 1.0);
  const nx::DType t = x.dtype();
  const int64_t h = x.shape()[2], w = x.shape()[3];
  auto column = [&](int64_t i) { return nx::squeeze(nx::slice_along_axis(rois, i, 1, 1), {1}); };
  auto scaled = [&](int64_t i) { return nx::round(nx::multiply(column(i), nx::scalar(scale, t))); };
  const Tensor mask_h = bin_masks(scaled(2), scaled(4), pooled[0], h);  // [R, ph, H]
  const Tensor mask_w = bin_masks(scaled(1), scaled(3), pooled[1], w);  // [R, pw, W]
  const Tensor xb = nx::take(x, nx::as_type(column(0), nx::s64), 0);    // [R, C, H, W]
  const Tensor low = nx::neg_infinity(t);
  // Max over w per column bin: [R, C, H, pw, W] -> [R, C, H, pw].
  const Tensor mw = nx::new_axis(nx::new_axis(mask_w, 1), 1);  // [R, 1, 1, pw, W]
  const Tensor by_w = nx::reduce_max(nx::select(mw, nx::new_axis(xb, 3), low), {nx::Axes{4}});
  // Then over h per row bin: [R, C, ph, pw, H] -> [R, C, ph, pw].
  const Tensor mh = nx::new_axis(nx::new_axis(mask_h, 1), 3);              // [R, 1, ph, 1, H]
  const Tensor cols = nx::new_axis(nx::transpose(by_w, {0, 1, 3, 2}), 2);  // [R, C, 1, pw, H]
  const Tensor pooled_max = nx::reduce_max(nx::select(mh, cols, low), {nx::Axes{4}});
  // Empty bins (clipped away) are 0.
  const Tensor empty = nx::logical_or(
      nx::new_axis(nx::new_axis(nx::logical_not(nx::any(mask_h, {nx::Axes{2}})), 2), 1),
      nx::new_axis(nx::new_axis(nx::logical_not(nx::any(mask_w, {nx::Axes{2}})), 1), 1));
  return {nx::select(empty, nx::scalar(0.0, t), pooled_max)};
}

// f16/bf16 regions compute in f32 (roi coordinates such as 300.5 are not f16 values), and the
// output is rounded back once.
Converter widened_from_half(Converter convert) {
  return [convert](const OpCall& call) {
    const nx::DType t = call.input(0).dtype();
    if (t != nx::f16 && t != nx::bf16) return convert(call);
    OpCall wide = call;
    for (size_t i : {0, 1}) {
      if (wide.has_input(i) && wide.inputs_[i].dtype() == t) {
        wide.inputs_[i] = nx::as_type(wide.inputs_[i], nx::f32);
      }
    }
    std::vector<Tensor> outs = convert(wide);
    outs.at(0) = nx::as_type(outs[0], t);
    return outs;
  };
}

}  // namespace

void register_roi_ops() {
  register_op({"MaxUnpool", max_unpool, 9});
  register_op({"RoiAlign", widened_from_half(roi_align), 10});
  register_op({"MaxRoiPool", widened_from_half(max_roi_pool), 1});
}

}  // namespace axon::onnx_import::nn
