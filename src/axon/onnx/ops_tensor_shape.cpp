// ONNX tensor family: creation and shape ops (Constant, ConstantOfShape, Shape, Size, Reshape,
// Flatten, Squeeze, Unsqueeze, Expand, Identity, Dropout, Range, EyeLike).
#include <algorithm>
#include <cmath>

#include "axon/onnx/importer.hpp"
#include "axon/onnx/ops_tensor_internal.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import::tensor_ops {
namespace {

using nx::Tensor;
using Outs = std::vector<Tensor>;

Outs constant(const OpCall& call) {
  if (call.has_attr("sparse_value")) call.fail("sparse tensor constants are not supported");
  if (call.has_attr("value_string") || call.has_attr("value_strings"))
    call.fail("string constants are not supported");
  if (auto v = call.attr_tensor("value")) return {*v};
  if (call.has_attr("value_float"))
    return {nx::scalar(call.attr_float("value_float", 0.0), nx::f32)};
  if (call.has_attr("value_floats")) {
    std::vector<double> d = call.attr_floats("value_floats");
    return {nx::from_vector(std::vector<float>(d.begin(), d.end()))};
  }
  if (call.has_attr("value_int")) return {nx::scalar_int(call.attr_int("value_int", 0), nx::s64)};
  if (call.has_attr("value_ints")) return {nx::from_vector(call.attr_ints("value_ints"))};
  call.fail("expected one of the attributes value, value_float(s), value_int(s)");
}

Outs constant_of_shape(const OpCall& call) {
  std::vector<int64_t> shape = call.has_input(0) ? call.ints_input(0) : std::vector<int64_t>{};
  for (int64_t d : shape)
    if (d < 0) call.fail("negative dimension in shape " + dims_str(shape));
  check_result_size(call, shape);
  Tensor value = nx::scalar(0.0, nx::f32);
  if (auto v = call.attr_tensor("value")) {
    if (v->size() != 1) call.fail("value must hold one element, got shape " + dims_str(v->shape()));
    value = nx::reshape(*v, {});
  }
  return {nx::broadcast(value, shape)};
}

Outs shape_op(const OpCall& call) {
  const nx::Shape& s = call.input(0).shape();
  auto r = static_cast<int64_t>(s.size());
  int64_t start = call.attr_int("start", 0), end = call.attr_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(s[static_cast<size_t>(i)]);
  return {nx::from_vector(dims)};
}

Outs size_op(const OpCall& call) {
  return {nx::scalar_int(call.input(0).size(), nx::s64)};
}

Outs reshape(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> shape;
  if (call.opset() < 5 && call.has_attr("shape")) {
    shape = call.attr_ints("shape");
  } else {
    shape = call.ints_input(1);
  }
  bool allowzero = call.attr_int("allowzero", 0) != 0;
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowzero) {
      if (i >= x.shape().size())
        call.fail("shape " + dims_str(shape) + " copies dimension " + std::to_string(i) +
                  " but the input has rank " + std::to_string(x.rank()));
      shape[i] = x.shape()[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) call.fail("shape " + dims_str(shape) + " has more than one -1");
      infer = static_cast<int64_t>(i);
    } else if (shape[i] < 0) {
      call.fail("invalid dimension in shape " + dims_str(shape));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.size() % known != 0)
      call.fail("cannot reshape " + dims_str(x.shape()) + " to " + dims_str(shape));
    shape[static_cast<size_t>(infer)] = x.size() / known;
  }
  if (prod(shape) != x.size())
    call.fail("cannot reshape " + dims_str(x.shape()) + " (" + std::to_string(x.size()) +
              " elements) to " + dims_str(shape));
  return {nx::reshape(x, shape)};
}

Outs flatten(const OpCall& call) {
  const Tensor& x = call.input(0);
  int64_t r = x.rank();
  int64_t axis = call.attr_int("axis", 1);
  if (axis < -r || axis > r) call.fail("axis " + std::to_string(axis) + " out of range");
  if (axis < 0) axis += r;
  const auto& s = x.shape();
  return {
      nx::reshape(x, {prod(s, 0, static_cast<size_t>(axis)), prod(s, static_cast<size_t>(axis))})};
}

std::vector<int64_t> axes_arg(const OpCall& call, size_t input) {
  if (call.opset() >= 13)
    return call.has_input(input) ? call.ints_input(input) : std::vector<int64_t>{};
  return call.attr_ints("axes");
}

Outs squeeze(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> axes = axes_arg(call, 1);
  if (axes.empty()) {
    nx::Shape s;
    for (int64_t d : x.shape())
      if (d != 1) s.push_back(d);
    return {nx::reshape(x, s)};
  }
  std::vector<bool> drop(x.shape().size(), false);
  for (int64_t a : axes) {
    int64_t n = norm_axis(call, a, x.rank());
    if (x.shape()[static_cast<size_t>(n)] != 1)
      call.fail("cannot squeeze axis " + std::to_string(a) + " of size " +
                std::to_string(x.shape()[static_cast<size_t>(n)]));
    drop[static_cast<size_t>(n)] = true;
  }
  nx::Shape s;
  for (size_t i = 0; i < drop.size(); ++i)
    if (!drop[i]) s.push_back(x.shape()[i]);
  return {nx::reshape(x, s)};
}

Outs unsqueeze(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> axes = axes_arg(call, 1);
  if (axes.empty()) call.fail("axes must not be empty");
  int64_t out_rank = x.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) {
    int64_t n = norm_axis(call, a, out_rank);
    if (is_new[static_cast<size_t>(n)]) call.fail("axis " + std::to_string(a) + " repeated");
    is_new[static_cast<size_t>(n)] = true;
  }
  nx::Shape s;
  size_t j = 0;
  for (size_t i = 0; i < is_new.size(); ++i) s.push_back(is_new[i] ? 1 : x.shape()[j++]);
  return {nx::reshape(x, s)};
}

Outs expand(const OpCall& call) {
  const Tensor& x = call.input(0);
  std::vector<int64_t> shape = call.ints_input(1);
  const nx::Shape& xs = x.shape();
  size_t r = std::max(xs.size(), shape.size());
  nx::Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t a = i + xs.size() >= r ? xs[i + xs.size() - r] : 1;
    int64_t b = i + shape.size() >= r ? shape[i + shape.size() - r] : 1;
    if (a != b && a != 1 && b != 1)
      call.fail("cannot broadcast " + dims_str(xs) + " to " + dims_str(shape));
    out[i] = a == 1 ? b : a;
  }
  check_result_size(call, out);
  return {nx::broadcast(x, out)};
}

Outs identity(const OpCall& call) {
  return {call.input(0)};
}

Outs dropout(const OpCall& call) {
  const Tensor& x = call.input(0);
  bool training = false;
  double ratio = call.attr_float("ratio", 0.5);
  if (call.opset() >= 12) {
    if (call.has_input(2)) training = one_value(call, 2, "training_mode") != 0;
    ratio = call.has_input(1) ? one_value(call, 1, "ratio") : 0.5;
  } else if (call.opset() < 7) {
    training = call.attr_int("is_test", 0) == 0;  // Dropout-1 and -6 train unless is_test
  }
  if (training && ratio != 0.0)
    call.fail("training_mode dropout is not supported (the importer builds inference graphs)");
  Outs out{x};
  if (call.num_outputs() > 1) out.push_back(nx::broadcast(nx::scalar(1.0, nx::pred), x.shape()));
  return out;
}

Outs range(const OpCall& call) {
  Tensor start = call.concrete(0), limit = call.concrete(1), delta = call.concrete(2);
  if (start.size() != 1 || limit.size() != 1 || delta.size() != 1)
    call.fail("start, limit and delta must be scalars");
  nx::DType dt = start.dtype();
  double s = start.to_vector<double>()[0], l = limit.to_vector<double>()[0],
         d = delta.to_vector<double>()[0];
  if (d == 0) call.fail("delta must not be 0");
  double nd = std::max(std::ceil((l - s) / d), 0.0);
  if (!(nd < 1e9)) call.fail("the range has too many elements (" + std::to_string(nd) + ")");
  auto n = static_cast<int64_t>(nd);
  if (nx::is_float(dt)) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = s + static_cast<double>(i) * d;
    return {nx::as_type(nx::from_vector(v), dt)};
  }
  int64_t si = start.to_vector<int64_t>()[0], di = delta.to_vector<int64_t>()[0];
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = si + i * di;
  return {nx::as_type(nx::from_vector(v), dt)};
}

// ONNX TensorProto element types that map to nx dtypes.
nx::DType onnx_dtype(const OpCall& call, int64_t t) {
  return axon::onnx_import::dtype_from_onnx(static_cast<int32_t>(t),
                                            call.op_type() + " node " + call.name());
}

Outs eye_like(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.rank() != 2) call.fail("expected a 2-D input, got shape " + dims_str(x.shape()));
  nx::DType dt = call.has_attr("dtype") ? onnx_dtype(call, call.attr_int("dtype", 1)) : x.dtype();
  int64_t k = call.attr_int("k", 0);
  Tensor rows = nx::iota(x.shape(), 0, nx::s64), cols = nx::iota(x.shape(), 1, nx::s64);
  Tensor on = nx::equal(nx::add(rows, nx::scalar_int(k, nx::s64)), cols);
  return {nx::as_type(on, dt)};
}

}  // namespace

void register_shape_ops() {
  register_op({"Constant", constant, 1});
  register_op({"ConstantOfShape", constant_of_shape, 9});
  register_op({"Shape", shape_op, 1});
  register_op({"Size", size_op, 1});
  register_op({"Reshape", reshape, 1});
  register_op({"Flatten", flatten, 1});
  register_op({"Squeeze", squeeze, 1});
  register_op({"Unsqueeze", unsqueeze, 1});
  register_op({"Expand", expand, 8});
  register_op({"Identity", identity, 1});
  register_op({"Dropout", dropout, 1});
  register_op({"Range", range, 11});
  register_op({"EyeLike", eye_like, 9});
}

}  // namespace axon::onnx_import::tensor_ops
