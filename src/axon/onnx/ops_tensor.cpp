// ONNX converters of the tensor family: registration and shared helpers.
#include <algorithm>

#include "axon/onnx/ops.hpp"
#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import {

namespace tensor_ops {

int64_t norm_axis(const OpCall& call, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    call.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

nx::Tensor wrap_indices(const nx::Tensor& idx, int64_t dim) {
  if (nx::is_unsigned_int(idx.dtype())) return idx;
  nx::Tensor d = nx::scalar_int(dim, idx.dtype());
  return nx::select(nx::less(idx, nx::scalar_int(0, idx.dtype())), nx::add(idx, d), idx);
}

double one_value(const OpCall& call, size_t i, const std::string& what) {
  const nx::Tensor& t = call.concrete(i);
  if (t.size() != 1) call.fail(what + " must hold one value, got shape " + dims_str(t.shape()));
  return t.to_vector<double>()[0];
}

void check_result_size(const OpCall& call, const std::vector<int64_t>& dims) {
  constexpr int64_t kMax = int64_t{1} << 34;
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) call.fail("negative dimension in result shape " + dims_str(dims));
    if (d != 0 && n > kMax / d) call.fail("result shape " + dims_str(dims) + " is too large");
    n *= d;
  }
  if (n > kMax) call.fail("result shape " + dims_str(dims) + " is too large");
}

int64_t prod(const std::vector<int64_t>& dims, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < std::min(to, dims.size()); ++i) p *= dims[i];
  return p;
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

bool is_concrete(const nx::Tensor& t) {
  return t.defined() && !t.is_traced() && !t.is_template();
}

}  // namespace tensor_ops

void register_tensor_ops() {
  tensor_ops::register_shape_ops();
  tensor_ops::register_movement_ops();
  tensor_ops::register_index_ops();
  tensor_ops::register_resize_ops();
  tensor_ops::register_einsum_ops();
  tensor_ops::register_gridsample_ops();
}

}  // namespace axon::onnx_import
