// conv_general on the CPU: oneDNN where it applies, our reference path everywhere else.
//
// f32 and bf16 go to oneDNN when it can take the problem (see dnnl_conv.cpp: 1 to 3 spatial
// axes, no batch groups, input dilation only with window stride 1); otherwise, and for f64, the
// im2col reference computes it. f16 is widened to f32 (exactly), computed, and
// rounded back once, since oneDNN has no f16 convolution on CPUs without native f16.
#include "contract_conv.hpp"

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "contract_pack.hpp"
#include "dnnl_common.hpp"

namespace nx::cpu {

double ConvGeometry::macs() const {
  double m = static_cast<double>(out_n) * static_cast<double>(o) * static_cast<double>(i);
  for (int64_t d : out) m *= static_cast<double>(d);
  for (int64_t d : k) m *= static_cast<double>(d);
  return m;
}

ConvGeometry conv_geometry(const detail::ConvParams& p, const Shape& input, const Shape& kernel,
                           const Shape& output) {
  ConvGeometry g;
  g.n = input[0], g.c = input[1], g.o = kernel[0], g.i = kernel[1], g.out_n = output[0];
  g.in.assign(input.begin() + 2, input.end());
  g.k.assign(kernel.begin() + 2, kernel.end());
  g.out.assign(output.begin() + 2, output.end());
  g.strides = p.strides, g.pad_lo = p.pad_lo, g.pad_hi = p.pad_hi;
  g.lhs_dilation = p.lhs_dilation, g.rhs_dilation = p.rhs_dilation;
  g.feature_groups = p.feature_groups, g.batch_groups = p.batch_groups;
  return g;
}

namespace {

// Below this many multiply-adds the reference path beats a oneDNN call (reorders and a
// primitive launch cost microseconds).
constexpr double kDnnlConvMacs = 49152;  // measured crossover (f32, one core)

void conv(DType dtype, const ConvGeometry& g, const void* x, const void* w, void* y) {
  bool onednn_type = dtype == DType::F32 || dtype == DType::BF16;
  if (onednn_type && g.macs() >= kDnnlConvMacs && dnnl_conv(dtype, g, x, w, y)) return;
  reference_conv(dtype, g, x, w, y);
}

}  // namespace

void kernel_conv_general(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  const auto& p = std::get<detail::ConvParams>(params);
  const Tensor& x = in[0];
  const Tensor& w = in[1];
  Tensor& y = out[0];
  if (y.size() == 0) return;
  ConvGeometry g = conv_geometry(p, x.shape(), w.shape(), y.shape());
  if (x.dtype() != DType::F16) {
    conv(x.dtype(), g, x.raw_data(), w.raw_data(), detail::mutable_data(y));
    return;
  }
  dnnl_util::Scratch scratch;
  auto* xf = scratch.take<float>(x.size());
  auto* wf = scratch.take<float>(w.size());
  auto* yf = scratch.take<float>(y.size());
  convert_copy(DType::F16, DType::F32, x.raw_data(), x.size(), xf);
  convert_copy(DType::F16, DType::F32, w.raw_data(), w.size(), wf);
  conv(DType::F32, g, xf, wf, yf);
  convert_copy(DType::F32, DType::F16, yf, y.size(), detail::mutable_data(y));
}

}  // namespace nx::cpu
