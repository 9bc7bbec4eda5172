// The ONNX exporter: convolutions (Conv, ConvTranspose) and window reductions (pooling).
#include <algorithm>
#include <limits>
#include <numeric>
#include <string>
#include <variant>

#include "axon/onnx/export_emit.hpp"
#include "nx/error.hpp"

namespace axon::onnx::detail {

using nx::DType;
using nx::TensorType;
using nx::detail::Prim;

namespace {

bool all_eq(const std::vector<int64_t>& v, int64_t x) {
  for (int64_t e : v)
    if (e != x) return false;
  return true;
}

}  // namespace

std::vector<std::string> Emitter::emit_window(Ctx& c, const Node& na, const Node& nb) {
  const Prim p = na.prim;
  auto x = [&](size_t i) { return c.in(na, i); };
  const TensorType& ia = c.ta(na.in[0]);
  const size_t rank = ia.shape.size();

  if (p == Prim::conv_general) {
    const auto& cp = std::get<nx::detail::ConvParams>(na.params);
    if (cp.batch_groups != 1) unsupported(p, "batch groups have no ONNX equivalent");
    const TensorType& ka = c.ta(na.in[1]);
    const size_t sp = rank - 2;
    if (all_eq(cp.lhs_dilation, 1)) {
      // Negative padding crops the input first (Conv takes pads >= 0).
      std::vector<int64_t> pads, crop_axes, crop_start, crop_end;
      for (size_t i = 0; i < sp; ++i) pads.push_back(std::max<int64_t>(cp.pad_lo[i], 0));
      for (size_t i = 0; i < sp; ++i) pads.push_back(std::max<int64_t>(cp.pad_hi[i], 0));
      for (size_t i = 0; i < sp; ++i) {
        if (cp.pad_lo[i] >= 0 && cp.pad_hi[i] >= 0) continue;
        crop_axes.push_back(static_cast<int64_t>(i + 2));
        crop_start.push_back(std::max<int64_t>(-cp.pad_lo[i], 0));
        crop_end.push_back(ia.shape[i + 2] - std::max<int64_t>(-cp.pad_hi[i], 0));
      }
      std::string in = x(0);
      if (!crop_axes.empty())
        in = op1(c, "Slice", {in, ints(c, crop_start), ints(c, crop_end), ints(c, crop_axes)});
      auto* n = add(c, "Conv", {in, x(1)}, {fresh("conv")});
      std::vector<int64_t> ks(ka.shape.begin() + 2, ka.shape.end());
      attr_ints(n, "kernel_shape", ks);
      attr_ints(n, "strides", cp.strides);
      attr_ints(n, "pads", pads);
      attr_ints(n, "dilations", cp.rhs_dilation);
      attr_i(n, "group", cp.feature_groups);
      return {n->output(0)};
    }
    // An input-dilated convolution with unit strides is a ConvTranspose with the kernel
    // flipped and its in/out channel axes swapped (per group).
    if (!all_eq(cp.strides, 1))
      unsupported(p, "input dilation with strides > 1 has no ONNX equivalent");
    const int64_t g = cp.feature_groups;
    const int64_t o = ka.shape[0], i_per_g = ka.shape[1];
    std::vector<int64_t> pads_b, pads_e, out_pad;
    bool any_out_pad = false;
    for (size_t i = 0; i < sp; ++i) {
      int64_t w = (ka.shape[i + 2] - 1) * cp.rhs_dilation[i];
      int64_t b = w - cp.pad_lo[i], e = w - cp.pad_hi[i];
      if (b < 0) unsupported(p, "this input-dilated convolution has no ConvTranspose form");
      out_pad.push_back(e < 0 ? -e : 0);
      any_out_pad = any_out_pad || e < 0;
      pads_b.push_back(b);
      pads_e.push_back(e < 0 ? 0 : e);
    }
    std::vector<int64_t> spatial, rev_start, rev_end, rev_step;
    for (size_t i = 0; i < sp; ++i) {
      spatial.push_back(static_cast<int64_t>(i + 2));
      rev_start.push_back(-1);
      rev_end.push_back(std::numeric_limits<int64_t>::min());
      rev_step.push_back(-1);
    }
    std::string k =
        op1(c, "Slice",
            {x(1), ints(c, rev_start), ints(c, rev_end), ints(c, spatial), ints(c, rev_step)});
    // [O, I/g, k...] -> [g, O/g, I/g, k...] -> [g, I/g, O/g, k...] -> [I, O/g, k...]
    std::vector<int64_t> s1 = {g, o / g, i_per_g};
    std::vector<int64_t> s2 = {g * i_per_g, o / g};
    for (size_t i = 0; i < sp; ++i) {
      s1.push_back(ka.shape[i + 2]);
      s2.push_back(ka.shape[i + 2]);
    }
    k = op1(c, "Reshape", {k, ints(c, s1)});
    std::vector<int64_t> perm = {0, 2, 1};
    for (size_t i = 0; i < sp; ++i) perm.push_back(static_cast<int64_t>(i + 3));
    auto* t = add(c, "Transpose", {k}, {fresh("kernel_t")});
    attr_ints(t, "perm", perm);
    k = op1(c, "Reshape", {t->output(0), ints(c, s2)});
    std::vector<int64_t> pads = pads_b;
    pads.insert(pads.end(), pads_e.begin(), pads_e.end());
    auto* n = add(c, "ConvTranspose", {x(0), k}, {fresh("conv_transpose")});
    std::vector<int64_t> ks(ka.shape.begin() + 2, ka.shape.end());
    attr_ints(n, "kernel_shape", ks);
    attr_ints(n, "strides", cp.lhs_dilation);
    attr_ints(n, "pads", pads);
    attr_ints(n, "dilations", cp.rhs_dilation);
    attr_i(n, "group", g);
    if (any_out_pad) attr_ints(n, "output_padding", out_pad);
    return {n->output(0)};
  }

  // Window reductions: axes with a trivial window (1, stride 1, no padding) become N and C of a
  // pooling op; the others are its spatial axes.
  const auto& wp = std::get<nx::detail::WindowParams>(na.params);
  if (p == Prim::window_product) unsupported(p, "ONNX has no product pooling");
  if (!(ia.dtype == DType::F32 || ia.dtype == DType::F64 || ia.dtype == DType::F16))
    unsupported(p, "ONNX pooling takes floating-point tensors only");
  std::vector<int64_t> trivial, spatial;
  for (size_t i = 0; i < rank; ++i) {
    bool t = wp.window[i] == 1 && wp.strides[i] == 1 && wp.pad_lo[i] == 0 && wp.pad_hi[i] == 0;
    (t ? trivial : spatial).push_back(static_cast<int64_t>(i));
  }
  if (spatial.empty()) return {op1(c, "Identity", {x(0)})};
  if (trivial.size() > 2)
    unsupported(p, "pooling windows over " + std::to_string(spatial.size()) + " of " +
                       std::to_string(rank) + " axes need more than two batch-like axes");
  if (p == Prim::window_sum && !all_eq(wp.window_dilation, 1))
    unsupported(p, "dilated sum windows need opset 19");
  std::vector<int64_t> perm = trivial;
  perm.insert(perm.end(), spatial.begin(), spatial.end());
  bool identity_perm = true;
  for (size_t i = 0; i < perm.size(); ++i) identity_perm = identity_perm && perm[i] == int64_t(i);
  std::string v = x(0);
  if (!identity_perm) {
    auto* t = add(c, "Transpose", {v}, {fresh("to_pool")});
    attr_ints(t, "perm", perm);
    v = t->output(0);
  }
  const int64_t lead = static_cast<int64_t>(2 - trivial.size());
  if (lead > 0) {
    std::vector<int64_t> ax;
    for (int64_t i = 0; i < lead; ++i) ax.push_back(i);
    v = op1(c, "Unsqueeze", {v, ints(c, ax)});
  }
  if (p == Prim::window_min) v = op1(c, "Neg", {v});
  std::vector<int64_t> ks, st, pads_b, pads_e, dil;
  int64_t count = 1;
  for (int64_t a : spatial) {
    size_t i = static_cast<size_t>(a);
    ks.push_back(wp.window[i]);
    count *= wp.window[i];
    st.push_back(wp.strides[i]);
    pads_b.push_back(wp.pad_lo[i]);
    pads_e.push_back(wp.pad_hi[i]);
    dil.push_back(wp.window_dilation[i]);
  }
  std::vector<int64_t> pads = pads_b;
  pads.insert(pads.end(), pads_e.begin(), pads_e.end());
  auto* n = add(c, p == Prim::window_sum ? "AveragePool" : "MaxPool", {v}, {fresh("pool")});
  attr_ints(n, "kernel_shape", ks);
  attr_ints(n, "strides", st);
  attr_ints(n, "pads", pads);
  if (p == Prim::window_sum) {
    attr_i(n, "count_include_pad", 1);
  } else {
    attr_ints(n, "dilations", dil);
  }
  v = n->output(0);
  if (p == Prim::window_sum) v = op1(c, "Mul", {v, scalar(static_cast<double>(count), ia.dtype)});
  if (p == Prim::window_min) v = op1(c, "Neg", {v});
  if (lead > 0) {
    std::vector<int64_t> ax;
    for (int64_t i = 0; i < lead; ++i) ax.push_back(i);
    v = op1(c, "Squeeze", {v, ints(c, ax)});
  }
  if (!identity_perm) {
    std::vector<int64_t> inv(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = int64_t(i);
    auto* t = add(c, "Transpose", {v}, {fresh("from_pool")});
    attr_ints(t, "perm", inv);
    v = t->output(0);
  }
  return {v};
}

}  // namespace axon::onnx::detail
