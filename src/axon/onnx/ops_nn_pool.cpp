// ONNX pools (opsets 7..17, channels first): MaxPool (pads, auto_pad, ceil_mode, dilations,
// storage_order and the Indices output), AveragePool (count_include_pad, ceil_mode), LpPool,
// GlobalAveragePool, GlobalMaxPool, GlobalLpPool. Values use nx's window reductions; MaxPool's
// Indices come from the window's patches (one strided slice per kernel offset) and argmax.
#include <algorithm>
#include <cmath>

#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

/// Pool geometry: the resolved window plus the extra high padding that ceil_mode adds.
struct Pool {
  Window win;
  std::vector<int64_t> extra, out;
};

Pool read_pool(const OpCall& call, const nx::Tensor& x) {
  if (x.rank() < 3)
    call.fail("input needs rank >= 3 (N, C, spatial...), got " + nx::type_string(x.type()));
  const std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
  const auto kernel = call.attr_ints("kernel_shape");
  if (kernel.size() != in.size()) {
    call.fail("kernel_shape needs " + std::to_string(in.size()) + " values, got " +
              std::to_string(kernel.size()));
  }
  Pool p{read_window(call, in, kernel), {}, {}};
  const bool ceil_mode = call.attr_int("ceil_mode", 0) != 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const int64_t eff = (kernel[i] - 1) * p.win.dilations[i] + 1;
    const int64_t span = in[i] + p.win.lo[i] + p.win.hi[i] - eff;
    if (span < 0) call.fail("the window is larger than the padded input");
    const int64_t s = p.win.strides[i];
    const int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    p.out.push_back(out);
    p.extra.push_back(
        std::max<int64_t>((out - 1) * s + eff - (in[i] + p.win.lo[i] + p.win.hi[i]), 0));
  }
  return p;
}

nx::WindowOptions window_opts(const Pool& p, bool with_extra) {
  std::vector<std::pair<int64_t, int64_t>> pairs{{0, 0}, {0, 0}};
  for (size_t i = 0; i < p.win.lo.size(); ++i) {
    pairs.emplace_back(p.win.lo[i], p.win.hi[i] + (with_extra ? p.extra[i] : 0));
  }
  std::vector<int64_t> strides{1, 1}, dil{1, 1};
  strides.insert(strides.end(), p.win.strides.begin(), p.win.strides.end());
  dil.insert(dil.end(), p.win.dilations.begin(), p.win.dilations.end());
  return {strides, nx::Padding::explicit_pairs(pairs), dil};
}

nx::Shape window_shape(const Pool& p) {
  nx::Shape w{1, 1};
  w.insert(w.end(), p.win.kernel.begin(), p.win.kernel.end());
  return w;
}

/// The patches of x under every kernel offset, stacked on a new last axis: {N, C, out.., K}.
nx::Tensor patches(const nx::Tensor& x, const Pool& p, const nx::Tensor& pad_value) {
  const size_t n = p.win.kernel.size();
  std::vector<nx::PadConfig> cfg{{0, 0, 0}, {0, 0, 0}};
  for (size_t i = 0; i < n; ++i) cfg.push_back({p.win.lo[i], p.win.hi[i] + p.extra[i], 0});
  const nx::Tensor xp = nx::pad(x, pad_value, cfg);
  std::vector<nx::Tensor> parts;
  std::vector<int64_t> offset(n, 0);
  while (true) {
    std::vector<int64_t> start{0, 0}, len{x.shape()[0], x.shape()[1]}, strides{1, 1};
    for (size_t i = 0; i < n; ++i) {
      start.push_back(offset[i] * p.win.dilations[i]);
      len.push_back((p.out[i] - 1) * p.win.strides[i] + 1);  // input extent
      strides.push_back(p.win.strides[i]);
    }
    parts.push_back(nx::slice(xp, start, len, strides));
    size_t i = n;
    while (i > 0 && ++offset[i - 1] == p.win.kernel[i - 1]) offset[--i] = 0;
    if (i == 0) break;
  }
  return nx::stack(parts, -1);
}

std::vector<nx::Tensor> max_pool(const OpCall& call) {
  const nx::Tensor& x = call.input(0);
  const Pool p = read_pool(call, x);
  const bool want_indices = call.num_outputs() > 1;
  if (!want_indices) return {nx::window_max(x, window_shape(p), window_opts(p, true))};
  const int64_t order = call.attr_int("storage_order", 0);
  if (order != 0 && order != 1) call.fail("storage_order must be 0 or 1");
  // Flat indices of x's elements (spatial part row- or column-major), -1 in the padding.
  const int64_t r = x.rank();
  nx::Tensor flat = nx::zeros(x.shape(), nx::s64);
  int64_t stride = 1;
  std::vector<int64_t> axis_order;
  for (int64_t a = r - 1; a >= 2; --a) axis_order.push_back(a);
  if (order == 1) std::reverse(axis_order.begin(), axis_order.end());
  axis_order.push_back(1);
  axis_order.push_back(0);
  for (int64_t a : axis_order) {
    flat = nx::add(flat, nx::multiply(nx::iota(x.shape(), a, nx::s64), stride));
    stride *= x.shape()[static_cast<size_t>(a)];
  }
  const nx::Tensor low =
      nx::is_float(x.dtype()) ? nx::neg_infinity(x.dtype()) : nx::min_finite(x.dtype());
  const nx::Tensor vals = patches(x, p, low);
  const nx::Tensor idxs = patches(flat, p, nx::scalar_int(-1, nx::s64));
  const nx::Tensor best = nx::argmax(vals, {.axis = -1, .keep_axis = true});
  return {nx::squeeze(nx::take_along_axis(vals, best, -1), {-1}),
          nx::squeeze(nx::take_along_axis(idxs, best, -1), {-1})};
}

std::vector<nx::Tensor> average_pool(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  const Pool p = read_pool(call, x);
  const bool include_pad = call.attr_int("count_include_pad", 0) != 0;
  const nx::Tensor sums = nx::window_sum(x, window_shape(p), window_opts(p, true));
  // Counts per window: ones over the input (and over the pads when they count), zeros over the
  // ceil_mode extension; concrete, so it folds into a constant under a trace.
  nx::Shape ones_shape{1, 1};
  std::vector<std::pair<int64_t, int64_t>> pairs{{0, 0}, {0, 0}};
  for (size_t i = 0; i < p.win.kernel.size(); ++i) {
    const int64_t in = x.shape()[2 + i];
    ones_shape.push_back(include_pad ? in + p.win.lo[i] + p.win.hi[i] : in);
    pairs.emplace_back(include_pad ? 0 : p.win.lo[i], (include_pad ? 0 : p.win.hi[i]) + p.extra[i]);
  }
  nx::WindowOptions copts = window_opts(p, true);
  copts.padding = nx::Padding::explicit_pairs(pairs);
  const nx::Tensor counts = nx::window_sum(nx::ones(ones_shape, x.dtype()), window_shape(p), copts);
  return {nx::divide(sums, counts)};
}

std::vector<nx::Tensor> lp_pool(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  const Pool p = read_pool(call, x);
  const double pw = static_cast<double>(call.attr_int("p", 2));
  const nx::Tensor powered = pw == 2.0 ? nx::square(x) : nx::pow(nx::abs(x), pw);
  const nx::Tensor s = nx::window_sum(powered, window_shape(p), window_opts(p, true));
  return {pw == 2.0 ? nx::sqrt(s) : nx::pow(s, 1.0 / pw)};
}

nx::Axes spatial_axes(const OpCall& call, const nx::Tensor& x) {
  if (x.rank() < 3)
    call.fail("input needs rank >= 3 (N, C, spatial...), got " + nx::type_string(x.type()));
  nx::Axes axes;
  for (int64_t a = 2; a < x.rank(); ++a) axes.push_back(a);
  return axes;
}

std::vector<nx::Tensor> global_average_pool(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  return {nx::mean(x, {spatial_axes(call, x), true})};
}

std::vector<nx::Tensor> global_max_pool(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  return {nx::reduce_max(x, {spatial_axes(call, x), true})};
}

std::vector<nx::Tensor> global_lp_pool(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  const double pw = static_cast<double>(call.attr_int("p", 2));
  const nx::Axes axes = spatial_axes(call, x);
  if (pw == 2.0) return {nx::sqrt(nx::sum(nx::square(x), {axes, true}))};
  return {nx::pow(nx::sum(nx::pow(nx::abs(x), pw), {axes, true}), 1.0 / pw)};
}

}  // namespace

void register_pool_ops() {
  register_op({"MaxPool", max_pool, 1});
  register_op({"AveragePool", average_pool, 1});
  register_op({"LpPool", lp_pool, 2});  // LpPool-1 and GlobalLpPool-1 had a float p
  register_op({"GlobalAveragePool", global_average_pool, 1});
  register_op({"GlobalMaxPool", global_max_pool, 1});
  register_op({"GlobalLpPool", global_lp_pool, 2});
}

}  // namespace axon::onnx_import::nn
