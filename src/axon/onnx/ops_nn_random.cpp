// ONNX random generators (opsets 7..17): RandomNormal, RandomUniform, RandomNormalLike,
// RandomUniformLike and Bernoulli (15), drawn with nx::random (Threefry, as JAX).
//
// Determinism: ONNX leaves the generator to the runtime. Here every node draws from a fixed key:
// nx::random::key of the 64-bit pattern of its `seed` attribute (a float) when given, else of
// an FNV-1a hash of the node's name. So a node gives the same numbers on every run, eagerly or
// compiled; they are not NumPy's or ONNX Runtime's numbers, only their distribution is.
#include <cstring>

#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

nx::Tensor node_key(const OpCall& call) {
  int64_t seed = 0;
  if (call.has_attr("seed")) {
    const double s = call.attr_float("seed", 0.0);
    std::memcpy(&seed, &s, sizeof(seed));
  } else {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char ch : call.name()) h = (h ^ ch) * 1099511628211ull;
    seed = static_cast<int64_t>(h);
  }
  return nx::random::key(seed);
}

nx::DType out_dtype(const OpCall& call, std::optional<nx::DType> like) {
  if (call.has_attr("dtype")) return dtype_from_onnx(call, call.attr_int("dtype", 1));
  return like.value_or(nx::f32);
}

nx::Shape shape_attr(const OpCall& call) {
  if (!call.has_attr("shape")) call.fail("the shape attribute is required");
  nx::Shape s = call.attr_ints("shape");
  for (int64_t d : s) {
    if (d < 0) call.fail("shape must have non-negative sizes");
  }
  return s;
}

nx::Tensor draw_normal(const OpCall& call, const nx::Shape& shape, nx::DType dtype) {
  if (!nx::is_float(dtype)) call.fail("dtype must be a float type");
  return nx::random::normal(
      node_key(call), shape,
      {.mean = call.attr_float("mean", 0.0), .std = call.attr_float("scale", 1.0), .dtype = dtype});
}

nx::Tensor draw_uniform(const OpCall& call, const nx::Shape& shape, nx::DType dtype) {
  if (!nx::is_float(dtype)) call.fail("dtype must be a float type");
  return nx::random::uniform(
      node_key(call), shape,
      {.min = call.attr_float("low", 0.0), .max = call.attr_float("high", 1.0), .dtype = dtype});
}

std::vector<nx::Tensor> random_normal(const OpCall& call) {
  return {draw_normal(call, shape_attr(call), out_dtype(call, {}))};
}

std::vector<nx::Tensor> random_uniform(const OpCall& call) {
  return {draw_uniform(call, shape_attr(call), out_dtype(call, {}))};
}

std::vector<nx::Tensor> random_normal_like(const OpCall& call) {
  const nx::Tensor& x = call.input(0);
  return {draw_normal(call, x.shape(), out_dtype(call, x.dtype()))};
}

std::vector<nx::Tensor> random_uniform_like(const OpCall& call) {
  const nx::Tensor& x = call.input(0);
  return {draw_uniform(call, x.shape(), out_dtype(call, x.dtype()))};
}

std::vector<nx::Tensor> bernoulli(const OpCall& call) {
  const nx::Tensor& p = float_input(call, 0);
  const nx::DType dtype = out_dtype(call, p.dtype());
  const nx::Tensor u = nx::random::uniform(node_key(call), p.shape(), {.dtype = p.dtype()});
  return {nx::as_type(nx::less(u, p), dtype)};
}

}  // namespace

void register_random_ops() {
  register_op({"RandomNormal", random_normal, 1});
  register_op({"RandomUniform", random_uniform, 1});
  register_op({"RandomNormalLike", random_normal_like, 1});
  register_op({"RandomUniformLike", random_uniform_like, 1});
  register_op({"Bernoulli", bernoulli, 15});
}

}  // namespace axon::onnx_import::nn
