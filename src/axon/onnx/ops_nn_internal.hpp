// Shared helpers of the ONNX nn family (ops_nn*.cpp): spatial attribute parsing (kernel,
// strides, dilations, pads with auto_pad) and the per-concern registration functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "axon/onnx/ops.hpp"
#include "nx/nx.hpp"

namespace axon::onnx_import::nn {

/// Registration of each concern (called by register_nn_ops).
void register_conv_ops();
void register_pool_ops();
void register_norm_ops();
void register_linear_ops();
void register_random_ops();
void register_loss_ops();
void register_roi_ops();  ///< MaxUnpool, RoiAlign, MaxRoiPool (ops_nn_roi.cpp)

/// Per-axis geometry of a convolution or pooling window after resolving auto_pad/ceil_mode.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, lo, hi;
};

/// Reads strides, dilations, pads and auto_pad for `kernel` over the spatial sizes `in`
/// (attributes default to 1 and 0); SAME_UPPER/SAME_LOWER give ceil(in / stride) outputs.
Window read_window(const OpCall& call, const std::vector<int64_t>& in,
                   const std::vector<int64_t>& kernel);

/// The nx dtype of an ONNX TensorProto data type code (for dtype attributes).
nx::DType dtype_from_onnx(const OpCall& call, int64_t code);

/// Normalises a possibly negative axis against rank (throws via call.fail when out of range).
int64_t norm_axis(const OpCall& call, int64_t axis, int64_t rank);

/// The first call.num_outputs() of outs (a node may leave trailing optional outputs out).
std::vector<nx::Tensor> declared_outputs(const OpCall& call, std::vector<nx::Tensor> outs);

/// Checks that input i is a floating tensor of at least `min_rank` axes.
const nx::Tensor& float_input(const OpCall& call, size_t i, int64_t min_rank = 0);

}  // namespace axon::onnx_import::nn
