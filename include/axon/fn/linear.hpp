// Linear layers of axon::fn (Axon.Layers.dense, bilinear, embedding, bias): pure compositions of
// nx ops, so they run eagerly, trace under nx::jit and differentiate under nx::grad.
//
//   nx::Tensor x = ...;                                  // f32[32][784]
//   nx::Tensor k = ..., b = ...;                         // f32[784][128], f32[128]
//   nx::Tensor y = axon::fn::dense(x, k, b);             // f32[32][128]
//   nx::Tensor e = axon::fn::embedding(ids, table);      // s64[8][20] ids, f32[1000][64] table
//                                                        // -> f32[8][20][64]
//
// Optional biases are std::optional<Tensor>: pass a tensor, or `{}` (none). A bias is either a
// scalar or a vector of the layer's output size.
#pragma once

#include <optional>

#include "axon/fn/common.hpp"

namespace axon::fn {

/// x's last axis contracted with axis 0 of kernel {in, units}, plus bias: [..., in] ->
/// [..., units]. x may have any rank >= 1 (Axon asks for >= 2; a vector is a batch of none).
Tensor dense(const Tensor& x, const Tensor& kernel, const std::optional<Tensor>& bias = {});

/// y[..., o] = sum_ij x1[..., i] kernel[o, i, j] x2[..., j] + bias[o], with kernel
/// {units, in1, in2} (torch.nn.functional.bilinear's layout); x1 and x2 share their leading axes.
Tensor bilinear(const Tensor& x1, const Tensor& x2, const Tensor& kernel,
                const std::optional<Tensor>& bias = {});

/// The rows of kernel {vocab, size} at integer `indices` (take along axis 0): indices of shape
/// S give S + [size]. Negative indices count from the end, as in nx::take.
Tensor embedding(const Tensor& indices, const Tensor& kernel);

/// x + b, with b broadcast against x's trailing axes (b's rank may not exceed x's).
Tensor bias(const Tensor& x, const Tensor& b);

}  // namespace axon::fn
