// Registration of the ONNX nn family and its shared helpers: convolutions (ops_nn_conv.cpp),
// pools (ops_nn_pool.cpp), normalisations (ops_nn_norm.cpp), Gemm/MatMul and the softmax
// family (ops_nn_linear.cpp), random generators (ops_nn_random.cpp) and losses
// (ops_nn_loss.cpp).
#include <algorithm>

#include "axon/onnx/importer.hpp"
#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import {

namespace nn {

Window read_window(const OpCall& call, const std::vector<int64_t>& in,
                   const std::vector<int64_t>& kernel) {
  const size_t n = kernel.size();
  Window w;
  w.kernel = kernel;
  w.strides = call.attr_ints("strides", std::vector<int64_t>(n, 1));
  w.dilations = call.attr_ints("dilations", std::vector<int64_t>(n, 1));
  if (w.strides.empty()) w.strides.assign(n, 1);
  if (w.dilations.empty()) w.dilations.assign(n, 1);
  if (w.strides.size() != n || w.dilations.size() != n) {
    call.fail("strides and dilations need " + std::to_string(n) + " values, got " +
              std::to_string(w.strides.size()) + " and " + std::to_string(w.dilations.size()));
  }
  for (size_t i = 0; i < n; ++i) {
    if (w.strides[i] < 1 || w.dilations[i] < 1 || kernel[i] < 1) {
      call.fail("kernel sizes, strides and dilations must be positive");
    }
  }
  w.lo.assign(n, 0);
  w.hi.assign(n, 0);
  const std::string auto_pad = call.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET") {
    auto pads = call.attr_ints("pads", std::vector<int64_t>(2 * n, 0));
    if (pads.empty()) pads.assign(2 * n, 0);
    if (pads.size() != 2 * n) {
      call.fail("pads needs " + std::to_string(2 * n) + " values (begins then ends), got " +
                std::to_string(pads.size()));
    }
    for (size_t i = 0; i < n; ++i) {
      w.lo[i] = pads[i];
      w.hi[i] = pads[n + i];
      if (w.lo[i] < 0 || w.hi[i] < 0) call.fail("pads must be >= 0");
    }
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    for (size_t i = 0; i < n; ++i) {
      const int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      const int64_t eff = (kernel[i] - 1) * w.dilations[i] + 1;
      const int64_t total = std::max<int64_t>((out - 1) * w.strides[i] + eff - in[i], 0);
      const int64_t small = total / 2;
      w.lo[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      w.hi[i] = total - w.lo[i];
    }
  } else if (auto_pad != "VALID") {
    call.fail("auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got '" + auto_pad + "'");
  }
  return w;
}

nx::DType dtype_from_onnx(const OpCall& call, int64_t code) {
  return axon::onnx_import::dtype_from_onnx(static_cast<int32_t>(code),
                                            call.op_type() + " node " + call.name());
}

int64_t norm_axis(const OpCall& call, int64_t axis, int64_t rank) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= std::max<int64_t>(rank, 1)) {
    call.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return a;
}

std::vector<nx::Tensor> declared_outputs(const OpCall& call, std::vector<nx::Tensor> outs) {
  if (outs.size() > call.num_outputs()) outs.resize(std::max<size_t>(call.num_outputs(), 1));
  return outs;
}

const nx::Tensor& float_input(const OpCall& call, size_t i, int64_t min_rank) {
  const nx::Tensor& x = call.input(i);
  if (!nx::is_float(x.dtype())) {
    call.fail("input " + std::to_string(i) + " must be floating, got " + nx::type_string(x.type()));
  }
  if (x.rank() < min_rank) {
    call.fail("input " + std::to_string(i) + " needs rank >= " + std::to_string(min_rank) +
              ", got " + nx::type_string(x.type()));
  }
  return x;
}

}  // namespace nn

void register_nn_ops() {
  nn::register_conv_ops();
  nn::register_pool_ops();
  nn::register_norm_ops();
  nn::register_linear_ops();
  nn::register_random_ops();
  nn::register_loss_ops();
  nn::register_roi_ops();
}

}  // namespace axon::onnx_import
