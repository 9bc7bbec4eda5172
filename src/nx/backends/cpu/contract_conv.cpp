// conv_general on the CPU: oneDNN where it applies, our reference path everywhere else.
//
// f32 and bf16 go to oneDNN when it can take the problem (see dnnl_conv.cpp: 1 to 3 spatial
// axes; the gradients vjp_conv_general emits run as oneDNN's backward convolutions); otherwise,
// and for f64, the im2col reference computes it. f16 is widened to f32 (exactly), computed, and
// rounded back once, since oneDNN has no f16 convolution on CPUs without native f16.
#include "contract_conv.hpp"

#include <cstddef>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "contract_pack.hpp"
#include "dnnl_common.hpp"
#include "prepared.hpp"

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

}  // namespace

ConvPlan plan_conv(const detail::ConvParams& p, const TensorType& x, const TensorType& w,
                   const TensorType& y) {
  ConvPlan plan;
  plan.dtype = x.dtype;
  plan.empty = num_elements(y.shape) == 0;
  if (plan.empty) return plan;
  plan.g = conv_geometry(p, x.shape, w.shape, y.shape);
  // f16 computes in f32 (exactly widened, rounded back once): oneDNN has no f16 convolution on
  // CPUs without native f16.
  DType compute = x.dtype == DType::F16 ? DType::F32 : x.dtype;
  size_t used = 0;
  if (x.dtype == DType::F16) {
    plan.x_elems = static_cast<size_t>(num_elements(x.shape));
    plan.w_elems = static_cast<size_t>(num_elements(w.shape));
    plan.y_elems = static_cast<size_t>(num_elements(y.shape));
    used = scratch_round(plan.x_elems * 4) + scratch_round(plan.w_elems * 4) +
           scratch_round(plan.y_elems * 4);
  }
  bool onednn_type = compute == DType::F32 || compute == DType::BF16;
  if (onednn_type && plan.g.macs() >= kDnnlConvMacs) plan.dnnl = dnnl_conv_prepare(compute, plan.g);
  plan.dnnl_offset = used;
  if (plan.dnnl) {
    used += scratch_round(dnnl_conv_scratch_bytes(*plan.dnnl));
  } else {
    plan.ref = reference_conv_prepare(compute, plan.g);
    used += scratch_round(reference_conv_scratch_bytes(*plan.ref));
  }
  plan.scratch_bytes = used;
  return plan;
}

namespace {

// run_conv with the oneDNN execution `dnnl` (eager: the cached primitive on fresh arguments;
// compiled: arguments bound once).
template <class Dnnl>
void run_conv_with(const ConvPlan& plan, const void* x, const void* w, void* y, void* scratch,
                   Dnnl&& dnnl) {
  if (plan.empty) return;
  auto* s = static_cast<std::byte*>(scratch);
  auto conv = [&](DType dtype, const void* cx, const void* cw, void* cy) {
    if (plan.dnnl) {
      dnnl(dtype, cx, cw, cy, s + plan.dnnl_offset);
    } else {
      reference_conv_run(*plan.ref, dtype, plan.g, cx, cw, cy, s + plan.dnnl_offset);
    }
  };
  if (plan.dtype != DType::F16) {
    conv(plan.dtype, x, w, y);
    return;
  }
  auto* xf = reinterpret_cast<float*>(s);
  auto* wf = reinterpret_cast<float*>(s + scratch_round(plan.x_elems * 4));
  auto* yf = reinterpret_cast<float*>(s + scratch_round(plan.x_elems * 4) +
                                      scratch_round(plan.w_elems * 4));
  auto n = [](size_t v) { return static_cast<int64_t>(v); };
  convert_copy(DType::F16, DType::F32, x, n(plan.x_elems), xf);
  convert_copy(DType::F16, DType::F32, w, n(plan.w_elems), wf);
  conv(DType::F32, xf, wf, yf);
  convert_copy(DType::F32, DType::F16, yf, n(plan.y_elems), y);
}

}  // namespace

void run_conv(const ConvPlan& plan, const void* x, const void* w, void* y, void* scratch) {
  run_conv_with(plan, x, w, y, scratch,
                [&](DType dtype, const void* cx, const void* cw, void* cy, std::byte* s) {
                  dnnl_conv_execute(*plan.dnnl, dtype, plan.g, cx, cw, cy, s);
                });
}

ConvState bind_conv(const ConvPlan& plan, void* scratch) {
  ConvState state;
  if (plan.dnnl) {
    state.args = dnnl_conv_bind(*plan.dnnl, static_cast<std::byte*>(scratch) + plan.dnnl_offset);
  }
  return state;
}

void run_conv(const ConvPlan& plan, const void* x, const void* w, void* y, void* scratch,
              ConvState& state, uint64_t w_id) {
  run_conv_with(plan, x, w, y, scratch,
                [&](DType dtype, const void* cx, const void* cw, void* cy, std::byte* s) {
                  dnnl_conv_run(*plan.dnnl, *state.args, dtype, plan.g, cx, cw, cy, s, w_id);
                });
}

const char* describe(const ConvPlan& plan) {
  if (plan.empty) return "empty";
  if (plan.dnnl) {
    const bool f16 = plan.dtype == DType::F16;
    switch (dnnl_conv_kind(*plan.dnnl)) {
      case DnnlConvKind::Forward:
        return f16 ? "f32+onednn" : "onednn";
      case DnnlConvKind::BackwardData:
        return f16 ? "f32+onednn backward data" : "onednn backward data";
      case DnnlConvKind::BackwardWeights:
        return f16 ? "f32+onednn backward weights" : "onednn backward weights";
    }
  }
  return plan.dtype == DType::F16 ? "f32+reference" : "reference";
}

void kernel_conv_general(const Params& params, std::span<const Tensor> in, std::span<Tensor> out) {
  if (out[0].size() == 0) return;
  ConvPlan plan =
      plan_conv(std::get<detail::ConvParams>(params), in[0].type(), in[1].type(), out[0].type());
  dnnl_util::Scratch scratch;
  run_conv(plan, in[0].raw_data(), in[1].raw_data(), detail::mutable_data(out[0]),
           plan.scratch_bytes > 0 ? scratch.take(plan.scratch_bytes) : nullptr);
}

}  // namespace nx::cpu
