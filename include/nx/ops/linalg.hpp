// Products, norms and factorizations.
#pragma once

#include <optional>
#include <utility>

#include "nx/tensor.hpp"

namespace nx {

/// numpy.dot / Nx.dot: scalars multiply, 1-D·1-D is the inner product, otherwise the last axis
/// of a contracts with the second-to-last axis of b (its only axis if b is 1-D).
Tensor dot(const Tensor& a, const Tensor& b);
/// Contracts axes contract_a of a with contract_b of b; output: free axes of a, then of b.
Tensor dot(const Tensor& a, const Axes& contract_a, const Tensor& b, const Axes& contract_b);
/// General contraction with batch axes (Nx.dot/6); output: batch, free of a, free of b.
Tensor dot(const Tensor& a, const Axes& contract_a, const Axes& batch_a, const Tensor& b,
           const Axes& contract_b, const Axes& batch_b);
/// numpy.matmul: matrix product of the last two axes, broadcasting the leading (batch) axes;
/// a 1-D operand is a row (a) or column (b) vector whose axis is removed from the result.
Tensor matmul(const Tensor& a, const Tensor& b);
/// Outer product of the flattened operands.
Tensor outer(const Tensor& a, const Tensor& b);
/// Contracts axes_a of a with axes_b of b (numpy.tensordot).
Tensor tensordot(const Tensor& a, const Tensor& b, const Axes& axes_a, const Axes& axes_b);

/// Options of norm. Vector norms (one axis, or a 1-D input): any p > 0, inf, -inf, and 0 (the
/// count of non-zeros); default 2. Matrix norms (two axes, or a 2-D input): Frobenius (default),
/// 1, -1, inf, -inf; the singular-value norms (2, -2, nuclear) need an SVD, which nx does not
/// have yet, and are rejected with nx::Error.
struct NormOptions {
  std::optional<double> ord{};  ///< unset: 2 for vectors, Frobenius for matrices
  bool frobenius = false;     ///< force the Frobenius norm ("fro")
  std::optional<Axes> axes{};   ///< one axis (vector norm) or two (matrix norm); unset: all
  bool keep_axes = false;
};
/// Vector or matrix norm (Nx.LinAlg.norm), floating.
Tensor norm(const Tensor& x, const NormOptions& opts = {});

/// QR factorization over the last two axes: {Q, R} with Q orthonormal columns and R upper
/// triangular with a non-negative diagonal. complete: Q is [m, m]; reduced: [m, min(m, n)].
std::pair<Tensor, Tensor> qr(const Tensor& x, bool complete = false);

}  // namespace nx
