// Kernels of "matmul_epilogue" and "conv_epilogue" Fused nodes: one oneDNN matmul or
// convolution primitive whose bias and post-ops (eltwise and binary) compute the elementwise
// chain that follows the contraction in the program.
//
// A program the kernel takes: Params (and scalar Constants), one dot_general or conv_general on
// two Params, then a chain of elementwise nodes each reading the previous chain value once, the
// last of which is the program's only output. A conv_general may read transposes of Params and
// its result may be transposed before the chain (the chain then runs in that shape): oneDNN
// reads and writes those buffers through strides, and channels-last activations (NHWC, as the
// to_channels_last pass leaves them) go to its brgconv kernels with no reorder.
// Chain nodes map as follows (s a scalar constant, X a tensor input seen through
// broadcast_in_dim/reshape/implicit broadcasting):
//   add(y, X) as the first node           bias (matmul: any broadcast; conv: per channel)
//   add/subtract/multiply/divide/max/min(y, X), add/multiply/max/min(X, y)   binary post-op
//                                         (conv: X one value or one per output channel)
//   max(y, 0)                             eltwise relu
//   multiply/add/subtract by s, s - y, negate   eltwise linear (exact: alpha*y + beta)
//   divide/max/min by s                   binary post-op with a one-element operand
//   multiply(y, y)                        eltwise square
//   exp, log, tanh, sigmoid, sqrt, abs    eltwise exp, log, tanh, logistic, sqrt, abs
// A convolution whose kernel gradient form runs faster (dnnl_conv_prefers_backward_weights)
// takes no epilogue. oneDNN's exp/log/tanh/logistic differ from the eager kernels by a few ulp.
#pragma once

#include <memory>

#include "../../defn/fused_kernel.hpp"

namespace nx::cpu::fused {

/// The kernel of an epilogue program; null when the program is not of the form above or
/// oneDNN has no optimized implementation for it (dtype, layout, post-op combination). The
/// primitive is created here (cached per problem, so asking twice is cheap).
std::unique_ptr<detail::FusedKernel> prepare_epilogue(const detail::Graph& program);

}  // namespace nx::cpu::fused
