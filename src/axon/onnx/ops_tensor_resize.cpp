// ONNX tensor family: Resize (opsets 10, 11, 13) and Upsample (7, 9).
//
// Every axis is resampled on its own (the ONNX reference is separable): its weights, a matrix
// [out, in] made when the node is traced, follow the reference implementation exactly
// (onnx/backend/test/case/node/resize.py): x_orig from coordinate_transformation_mode, the n
// nearest input points (2 for nearest/linear, 4 for cubic) starting at ceil(x_orig) - n/2, edge
// clamped, coefficients of ratio = x_orig - ceil(x_orig) + 1, exclude_outside renormalising.
// Nearest becomes a gather, linear and cubic one matrix product per resized axis.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import::tensor_ops {
namespace {

using nx::Tensor;
using Outs = std::vector<Tensor>;

struct ResizeSpec {
  std::string mode = "nearest";      // nearest, linear, cubic
  std::string coord = "half_pixel";  // coordinate_transformation_mode
  std::string nearest = "round_prefer_floor";
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
};

// Source coordinate of output index x (the reference's interpolate_1d_with_x); nullopt-like
// flag `outside` for tf_crop_and_resize samples outside the input.
double source_coord(const ResizeSpec& s, double x, double scale, int64_t in, double roi_lo,
                    double roi_hi, bool& outside) {
  double out_w = scale * static_cast<double>(in);
  auto inw = static_cast<double>(in);
  outside = false;
  if (s.coord == "align_corners") return out_w == 1 ? 0.0 : x * (inw - 1) / (out_w - 1);
  if (s.coord == "asymmetric") return x / scale;
  if (s.coord == "tf_crop_and_resize") {
    double xo = out_w == 1 ? (roi_hi - roi_lo) * (inw - 1) / 2
                           : x * (roi_hi - roi_lo) * (inw - 1) / (out_w - 1);
    xo += roi_lo * (inw - 1);
    outside = xo < 0 || xo > inw - 1;
    return xo;
  }
  if (s.coord == "pytorch_half_pixel") return out_w == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  if (s.coord == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

std::vector<double> coeffs(const ResizeSpec& s, double ratio, bool integer) {
  if (s.mode == "nearest") {
    if (integer) return {0, 1};
    if (s.nearest == "round_prefer_floor")
      return {ratio <= 0.5 ? 1.0 : 0.0, ratio > 0.5 ? 1.0 : 0.0};
    if (s.nearest == "round_prefer_ceil")
      return {ratio < 0.5 ? 1.0 : 0.0, ratio >= 0.5 ? 1.0 : 0.0};
    if (s.nearest == "floor") return {1, 0};
    return {0, 1};  // ceil
  }
  if (s.mode == "linear") return {1 - ratio, ratio};
  double a = s.cubic_a, r = ratio, q = 1 - ratio;
  return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
          ((a + 2) * r - (a + 3)) * r * r + 1, ((a + 2) * q - (a + 3)) * q * q + 1,
          ((a * (q + 1) - 5 * a) * (q + 1) + 8 * a) * (q + 1) - 4 * a};
}

// Weights [out, in] of one axis and the outputs that extrapolate.
void axis_weights(const ResizeSpec& s, int64_t in, int64_t out, double scale, double roi_lo,
                  double roi_hi, std::vector<double>& w, std::vector<bool>& outside) {
  w.assign(static_cast<size_t>(out * in), 0.0);
  outside.assign(static_cast<size_t>(out), false);
  for (int64_t j = 0; j < out; ++j) {
    bool out_of_range = false;
    double xo = source_coord(s, static_cast<double>(j), scale, in, roi_lo, roi_hi, out_of_range);
    outside[static_cast<size_t>(j)] = out_of_range;
    double c = std::ceil(xo);
    bool integer = xo == c;
    std::vector<double> cf = coeffs(s, xo - c + 1, integer);
    auto n = static_cast<int64_t>(cf.size());
    auto start = static_cast<int64_t>(c) - n / 2;
    if (s.exclude_outside) {
      double sum = 0;
      for (int64_t t = 0; t < n; ++t) {
        int64_t i = start + t;
        if (i < 0 || i >= in) cf[static_cast<size_t>(t)] = 0;
        sum += cf[static_cast<size_t>(t)];
      }
      if (sum != 0)
        for (double& v : cf) v /= sum;
    }
    for (int64_t t = 0; t < n; ++t) {
      int64_t i = std::clamp<int64_t>(start + t, 0, in - 1);
      w[static_cast<size_t>(j * in + i)] += cf[static_cast<size_t>(t)];
    }
  }
}

Tensor resize_nd(const OpCall& call, const Tensor& x, const ResizeSpec& s,
                 const std::vector<int64_t>& out_shape, const std::vector<double>& scales,
                 const std::vector<double>& roi) {
  if (s.mode != "nearest" && s.mode != "linear" && s.mode != "cubic")
    call.fail("unknown mode '" + s.mode + "'");
  check_result_size(call, out_shape);
  const nx::Shape& in_shape = x.shape();
  bool is_fl = nx::is_float(x.dtype());
  nx::DType work = x.dtype() == nx::f64 ? nx::f64 : nx::f32;
  Tensor y = s.mode == "nearest" ? x : nx::as_type(x, work);
  Tensor mask;  // pred: outputs that take extrapolation_value
  auto r = static_cast<int64_t>(in_shape.size());
  for (int64_t a = 0; a < r; ++a) {
    auto au = static_cast<size_t>(a);
    int64_t in = in_shape[au], out = out_shape[au];
    double lo = roi.empty() ? 0.0 : roi[au],
           hi = roi.empty() ? 1.0 : roi[au + static_cast<size_t>(r)];
    std::vector<double> w;
    std::vector<bool> outside;
    if (in == 0 || out == 0) call.fail("cannot resize an empty axis");
    axis_weights(s, in, out, scales[au], lo, hi, w, outside);
    if (std::any_of(outside.begin(), outside.end(), [](bool b) { return b; })) {
      std::vector<bool> ov(outside.begin(), outside.end());
      nx::Shape ms(static_cast<size_t>(r), 1);
      ms[au] = out;
      Tensor m = nx::reshape(nx::from_vector(ov), ms);
      mask = mask.defined() ? nx::logical_or(mask, m) : m;
    }
    bool ident = in == out;
    for (int64_t j = 0; ident && j < out; ++j)
      for (int64_t i = 0; i < in; ++i)
        if (w[static_cast<size_t>(j * in + i)] != (i == j ? 1.0 : 0.0)) ident = false;
    if (ident) continue;
    if (s.mode == "nearest") {
      std::vector<int64_t> idx(static_cast<size_t>(out));
      for (int64_t j = 0; j < out; ++j)
        for (int64_t i = 0; i < in; ++i)
          if (w[static_cast<size_t>(j * in + i)] != 0) idx[static_cast<size_t>(j)] = i;
      y = nx::take(y, nx::from_vector(idx), a);
    } else {
      Tensor wt = nx::as_type(nx::from_vector(w, nx::Shape{out, in}), work);
      Tensor d = nx::dot(y, {a}, wt, {1});  // [...other axes, out]
      nx::Axes perm;
      for (int64_t i = 0; i < r - 1; ++i) {
        if (i == a) perm.push_back(r - 1);
        perm.push_back(i);
      }
      if (a == r - 1) perm.push_back(r - 1);
      y = nx::transpose(d, perm);
    }
  }
  if (mask.defined()) y = nx::select(mask, nx::scalar(s.extrapolation, y.dtype()), y);
  if (y.dtype() != x.dtype()) y = nx::as_type(is_fl ? y : nx::round_even(y), x.dtype());
  return y;
}

std::vector<double> doubles(const Tensor& t) {
  return t.to_vector<double>();
}

void out_from_scales(const OpCall& call, const Tensor& x, const std::vector<double>& scales,
                     std::vector<int64_t>& out) {
  if (static_cast<int64_t>(scales.size()) != x.rank())
    call.fail("scales has " + std::to_string(scales.size()) + " entries for rank " +
              std::to_string(x.rank()));
  out.clear();
  for (size_t i = 0; i < scales.size(); ++i) {
    if (!(scales[i] > 0 && scales[i] < 1e9)) call.fail("scales must be positive and finite");
    out.push_back(static_cast<int64_t>(std::floor(scales[i] * static_cast<double>(x.shape()[i]))));
  }
}

Outs resize(const OpCall& call) {
  const Tensor& x = call.input(0);
  ResizeSpec s;
  s.mode = call.attr_string("mode", "nearest");
  std::vector<double> scales, roi;
  std::vector<int64_t> out;
  if (call.opset() < 11) {
    s.coord = "asymmetric";
    s.nearest = "floor";
    scales = doubles(call.concrete(1));
    out_from_scales(call, x, scales, out);
  } else {
    s.coord = call.attr_string("coordinate_transformation_mode", "half_pixel");
    s.nearest = call.attr_string("nearest_mode", "round_prefer_floor");
    s.cubic_a = call.attr_float("cubic_coeff_a", -0.75);
    s.exclude_outside = call.attr_int("exclude_outside", 0) != 0;
    s.extrapolation = call.attr_float("extrapolation_value", 0.0);
    if (s.coord == "tf_crop_and_resize") {
      roi = doubles(call.concrete(1));
      if (static_cast<int64_t>(roi.size()) != 2 * x.rank())
        call.fail("roi must have 2 * rank entries");
    }
    bool has_scales = call.has_input(2) && call.input(2).size() > 0;
    bool has_sizes = call.has_input(3) && call.input(3).size() > 0;
    if (has_scales == has_sizes) call.fail("expected exactly one of scales and sizes");
    if (has_scales) {
      scales = doubles(call.concrete(2));
      out_from_scales(call, x, scales, out);
    } else {
      out = call.ints_input(3);
      if (static_cast<int64_t>(out.size()) != x.rank())
        call.fail("sizes has " + std::to_string(out.size()) + " entries for rank " +
                  std::to_string(x.rank()));
      for (size_t i = 0; i < out.size(); ++i)
        scales.push_back(static_cast<double>(out[i]) / static_cast<double>(x.shape()[i]));
    }
  }
  return {resize_nd(call, x, s, out, scales, roi)};
}

Outs upsample(const OpCall& call) {
  const Tensor& x = call.input(0);
  ResizeSpec s;
  s.mode = call.attr_string("mode", "nearest");
  if (s.mode == "bilinear") s.mode = "linear";
  if (s.mode != "nearest" && s.mode != "linear") call.fail("unknown mode '" + s.mode + "'");
  s.coord = "asymmetric";
  s.nearest = "floor";
  std::vector<double> scales =
      call.opset() >= 9 ? doubles(call.concrete(1)) : call.attr_floats("scales");
  for (double& v : scales) v = static_cast<double>(static_cast<float>(v));
  std::vector<int64_t> out;
  out_from_scales(call, x, scales, out);
  return {resize_nd(call, x, s, out, scales, {})};
}

}  // namespace

void register_resize_ops() {
  register_op({"Resize", resize, 10});
  register_op({"Upsample", upsample, 7});
}

}  // namespace axon::onnx_import::tensor_ops
