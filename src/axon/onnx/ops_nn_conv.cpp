// ONNX Conv and ConvTranspose (opsets 7..17; channels first, 1 to 3 spatial axes): Conv is
// axon::fn::conv with Channels::First and explicit padding resolved from pads/auto_pad;
// ConvTranspose is the equivalent direct convolution of the stride-dilated input with the
// spatially reversed kernel (groups regrouped), with padding d(k-1) - pad (+ output_padding).
#include <algorithm>

#include "axon/fn/conv.hpp"
#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

std::vector<int64_t> spatial_of(const nx::Tensor& t) {
  return std::vector<int64_t>(t.shape().begin() + 2, t.shape().end());
}

void check_kernel_attr(const OpCall& call, const std::vector<int64_t>& kernel) {
  if (!call.has_attr("kernel_shape")) return;
  const auto ks = call.attr_ints("kernel_shape");
  if (ks != kernel) call.fail("kernel_shape attribute does not match the weight's shape");
}

// Conv and ConvTranspose: 1 to 3 spatial axes, the weight of the input's rank.
void check_ranks(const OpCall& call, const nx::Tensor& x, const nx::Tensor& w) {
  if (x.rank() > 5) call.fail("supports 1 to 3 spatial axes, got " + nx::type_string(x.type()));
  if (w.rank() != x.rank()) {
    call.fail("weight rank must equal input rank: input " + nx::type_string(x.type()) +
              ", weight " + nx::type_string(w.type()));
  }
}

std::vector<nx::Tensor> conv(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 3);
  const nx::Tensor& w = call.input(1);
  check_ranks(call, x, w);
  const int64_t group = call.attr_int("group", 1);
  if (group < 1 || x.shape()[1] % group != 0 || w.shape()[0] % group != 0 ||
      w.shape()[1] * group != x.shape()[1]) {
    call.fail("input channels " + std::to_string(x.shape()[1]) + " and weight " +
              nx::type_string(w.type()) + " do not match group " + std::to_string(group));
  }
  const auto kernel = spatial_of(w);
  check_kernel_attr(call, kernel);
  const Window win = read_window(call, spatial_of(x), kernel);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (size_t i = 0; i < kernel.size(); ++i) pairs.emplace_back(win.lo[i], win.hi[i]);
  std::optional<nx::Tensor> bias;
  if (call.has_input(2)) bias = call.input(2);
  return {axon::fn::conv(x, w, bias,
                         {.strides = win.strides,
                          .padding = nx::Padding::explicit_pairs(pairs),
                          .kernel_dilation = win.dilations,
                          .feature_group_size = group,
                          .channels = axon::fn::Channels::First})};
}

std::vector<nx::Tensor> conv_transpose(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0, 3);
  const nx::Tensor& w = call.input(1);
  check_ranks(call, x, w);
  const int64_t group = call.attr_int("group", 1);
  const int64_t c = x.shape()[1];
  if (group < 1 || c % group != 0 || w.shape()[0] != c) {
    call.fail("weight " + nx::type_string(w.type()) + " needs " + std::to_string(c) +
              " input channels divisible by group " + std::to_string(group));
  }
  const int64_t m = w.shape()[1] * group;
  const auto kernel = spatial_of(w);
  check_kernel_attr(call, kernel);
  const auto in = spatial_of(x);
  const size_t n = kernel.size();
  const int64_t r = x.rank();

  auto strides = call.attr_ints("strides", std::vector<int64_t>(n, 1));
  auto dil = call.attr_ints("dilations", std::vector<int64_t>(n, 1));
  auto out_pad = call.attr_ints("output_padding", std::vector<int64_t>(n, 0));
  if (strides.empty()) strides.assign(n, 1);
  if (dil.empty()) dil.assign(n, 1);
  if (out_pad.empty()) out_pad.assign(n, 0);
  if (strides.size() != n || dil.size() != n || out_pad.size() != n) {
    call.fail("strides, dilations and output_padding need " + std::to_string(n) + " values");
  }
  std::vector<int64_t> lo(n, 0), hi(n, 0), out(n, 0);
  const std::string auto_pad = call.attr_string("auto_pad", "NOTSET");
  std::vector<int64_t> out_shape = call.attr_ints("output_shape");
  if (out_shape.size() > n) out_shape.erase(out_shape.begin(), out_shape.end() - n);
  if (!out_shape.empty() && out_shape.size() != n) {
    call.fail("output_shape needs " + std::to_string(n) + " spatial sizes");
  }
  if (out_shape.empty() && (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER")) {
    for (size_t i = 0; i < n; ++i) out_shape.push_back(in[i] * strides[i]);
  }
  if (!out_shape.empty()) {
    for (size_t i = 0; i < n; ++i) {
      const int64_t total =
          strides[i] * (in[i] - 1) + out_pad[i] + (kernel[i] - 1) * dil[i] + 1 - out_shape[i];
      // ONNX's formula with Python's floor division (total < 0 when output_shape is larger).
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      if (auto_pad == "SAME_UPPER") {
        lo[i] = half;
        hi[i] = total - half;
      } else {
        hi[i] = half;
        lo[i] = total - half;
      }
    }
  } else if (auto_pad == "NOTSET") {
    auto pads = call.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
    if (pads.empty()) pads.assign(2 * n, 0);
    if (pads.size() != 2 * n) call.fail("pads needs " + std::to_string(2 * n) + " values");
    for (size_t i = 0; i < n; ++i) {
      lo[i] = pads[i];
      hi[i] = pads[n + i];
    }
  } else if (auto_pad != "VALID") {
    call.fail("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + auto_pad + "'");
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = strides[i] * (in[i] - 1) + out_pad[i] + (kernel[i] - 1) * dil[i] + 1 - lo[i] - hi[i];
    if (out[i] < 1) call.fail("the output would be empty along spatial axis " + std::to_string(i));
  }

  // Kernel {C, M/g, k..} -> {M, C/g, k..} spatially reversed.
  nx::Shape gshape{group, c / group, m / group};
  gshape.insert(gshape.end(), kernel.begin(), kernel.end());
  nx::Tensor k = nx::reshape(w, gshape);
  nx::Axes perm{0, 2, 1};
  for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) perm.push_back(3 + i);
  k = nx::transpose(k, perm);
  nx::Shape kshape{m, c / group};
  kshape.insert(kshape.end(), kernel.begin(), kernel.end());
  k = nx::reshape(k, kshape);
  nx::Axes spatial;
  for (int64_t i = 2; i < r; ++i) spatial.push_back(i);
  k = nx::reverse(k, spatial);

  std::vector<std::pair<int64_t, int64_t>> pairs;
  std::vector<int64_t> crop(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const int64_t eff = (kernel[i] - 1) * dil[i];
    const int64_t plo = eff - lo[i], phi = eff - hi[i] + out_pad[i];
    crop[i] = std::max<int64_t>(-plo, 0);
    pairs.emplace_back(std::max<int64_t>(plo, 0), std::max<int64_t>(phi, 0));
  }
  nx::Tensor y = nx::conv(x, k,
                          {.padding = nx::Padding::explicit_pairs(pairs),
                           .input_dilation = strides,
                           .kernel_dilation = dil,
                           .feature_group_size = group});
  bool need_crop = false;
  for (size_t i = 0; i < n; ++i) need_crop |= crop[i] != 0 || y.shape()[2 + i] != out[i];
  if (need_crop) {
    std::vector<int64_t> start{0, 0}, len{y.shape()[0], y.shape()[1]};
    start.insert(start.end(), crop.begin(), crop.end());
    len.insert(len.end(), out.begin(), out.end());
    y = nx::slice(y, start, len);
  }
  if (call.has_input(2)) {
    nx::Shape bshape(static_cast<size_t>(r), 1);
    bshape[1] = m;
    y = nx::add(y, nx::reshape(call.input(2), bshape));
  }
  return {y};
}

}  // namespace

void register_conv_ops() {
  register_op({"Conv", conv, 1});
  register_op({"ConvTranspose", conv_transpose, 1});
}

}  // namespace axon::onnx_import::nn
