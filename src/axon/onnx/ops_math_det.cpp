// ONNX Det: the determinant of the last two axes, by LU decomposition with partial pivoting
// written with nx ops (nx has no determinant). The elimination is unrolled over the matrix
// size, which is static in a trace, so Det traces, compiles and differentiates like the rest.
#include <string>
#include <vector>

#include "ops_math_internal.hpp"

namespace axon::onnx_import::math {
namespace {

using nx::Tensor;

// Determinants of m: [batch, n, n] -> [batch]. At step k the row with the largest |value| in
// column k (at or below row k) is swapped into row k (each real swap flips the sign), the
// pivot multiplies the determinant, and the rows below are eliminated. A zero pivot means the
// whole column below is zero: the determinant is 0, and the elimination divides by 1 instead.
Tensor lu_determinant(Tensor m) {
  const int64_t batch = m.axis_size(0);
  const int64_t n = m.axis_size(1);
  const nx::DType dtype = m.dtype();
  Tensor det = nx::ones({batch}, dtype);
  const Tensor rows = nx::iota({batch, n}, 1, nx::s64);
  for (int64_t k = 0; k < n; ++k) {
    Tensor column = nx::reshape(nx::slice(m, {0, k, k}, {batch, n - k, 1}), {batch, n - k});
    Tensor p = nx::argmax(nx::abs(column), {.axis = 1, .keep_axis = true}) + k;  // [batch, 1]
    // The row order with rows k and p exchanged.
    Tensor order = nx::select(nx::equal(rows, k), p, nx::select(nx::equal(rows, p), k, rows));
    m = nx::take_along_axis(m, nx::broadcast(nx::reshape(order, {batch, n, 1}), {batch, n, n}), 1);
    Tensor swapped = nx::reshape(nx::not_equal(p, k), {batch});
    Tensor pivot = nx::reshape(nx::slice(m, {0, k, k}, {batch, 1, 1}), {batch});
    det = det * nx::select(swapped, nx::negate(pivot), pivot);
    if (k + 1 == n) break;
    Tensor safe = nx::select(nx::equal(pivot, 0), nx::ones_like(pivot), pivot);
    Tensor below = nx::slice(m, {0, k + 1, 0}, {batch, n - k - 1, n});
    Tensor factors =
        nx::slice(m, {0, k + 1, k}, {batch, n - k - 1, 1}) / nx::reshape(safe, {batch, 1, 1});
    Tensor row_k = nx::slice(m, {0, k, 0}, {batch, 1, n});
    m = nx::concatenate({nx::slice(m, {0, 0, 0}, {batch, k + 1, n}), below - factors * row_k}, 1);
  }
  return det;
}

std::vector<Tensor> det_op(const OpCall& call) {
  require_float(call, 0);
  const Tensor& x = call.input(0);
  const nx::Shape& shape = x.shape();
  if (x.rank() < 2 || shape[shape.size() - 1] != shape[shape.size() - 2]) {
    call.fail("X must be square matrices [..., M, M], got shape " + nx::shape_repr(shape));
  }
  const nx::Shape batch_shape(shape.begin(), shape.end() - 2);
  const int64_t n = shape.back();
  const int64_t batch = nx::num_elements(batch_shape);
  // Half-precision inputs eliminate in f32: the pivots' products lose too much in 16 bits.
  const nx::DType compute = x.dtype() == nx::f64 ? nx::f64 : nx::f32;
  Tensor det;
  if (n == 0 || batch == 0) {
    det = nx::ones({batch}, compute);
  } else {
    det = lu_determinant(nx::reshape(keep_type(x, compute), {batch, n, n}));
  }
  return {keep_type(nx::reshape(det, batch_shape), x.dtype())};
}

}  // namespace

void register_det_op() {
  register_op({"Det", det_op, 11});
}

}  // namespace axon::onnx_import::math
