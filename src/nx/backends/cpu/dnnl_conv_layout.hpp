// The kernel of "conv_layout" Fused nodes: a conv_general whose operands are transposes of
// row-major buffers, and/or whose result is transposed, run as one oneDNN convolution that
// reads and writes those buffers through strides (dnnl_conv.cpp's ConvStrides), so that the
// transposes are never materialized.
//
// A program the kernel takes: two Params; each conv_general operand either a Param or a
// transpose of one; the program's one output either the conv_general or a transpose of it.
// Channels-last convolutions (nx::conv's permutations) and the kernel gradient vjp_conv_general
// emits (a convolution of the input and the cotangent with batch and features swapped) have
// this form.
#pragma once

#include <memory>

#include "../../defn/fused_kernel.hpp"

namespace nx::cpu::fused {

/// The kernel of a conv_layout program; null when the program is not of the form above or
/// oneDNN cannot take the convolution with those strides.
std::unique_ptr<detail::FusedKernel> prepare_conv_layout(const detail::Graph& program);

/// Whether `program` is of the conv_layout form and oneDNN takes it (for the fusion pass).
bool conv_layout_supported(const detail::Graph& program);

}  // namespace nx::cpu::fused
