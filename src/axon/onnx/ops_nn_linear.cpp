// ONNX Gemm, MatMul and the softmax family (opsets 7..17). Before opset 13, Softmax,
// LogSoftmax and Hardmax coerce the input to 2-D at `axis` (default 1) and normalise each row of
// the flattened {prod(shape[:axis]), prod(shape[axis:])} view; from 13 they work along `axis`
// (default -1).
#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

std::vector<nx::Tensor> gemm(const OpCall& call) {
  nx::Tensor a = call.input(0), b = call.input(1);
  if (a.rank() != 2 || b.rank() != 2) {
    call.fail("A and B must be matrices, got " + nx::type_string(a.type()) + " and " +
              nx::type_string(b.type()));
  }
  if (call.attr_int("transA", 0) != 0) a = nx::transpose(a);
  if (call.attr_int("transB", 0) != 0) b = nx::transpose(b);
  if (a.shape()[1] != b.shape()[0]) {
    call.fail("inner dimensions differ: A' " + nx::type_string(a.type()) + ", B' " +
              nx::type_string(b.type()));
  }
  const double alpha = call.attr_float("alpha", 1.0), beta = call.attr_float("beta", 1.0);
  nx::Tensor y = nx::dot(a, b);
  if (alpha != 1.0) y = nx::multiply(y, alpha);
  if (call.has_input(2) && beta != 0.0) {
    nx::Tensor c = call.input(2);
    if (beta != 1.0) c = nx::multiply(c, beta);
    y = nx::add(y, c);
    if (y.shape() != nx::Shape{a.shape()[0], b.shape()[1]}) {
      call.fail("C of shape " + nx::type_string(call.input(2).type()) +
                " does not broadcast to the product's shape");
    }
  }
  return {y};
}

std::vector<nx::Tensor> matmul(const OpCall& call) {
  return {nx::matmul(call.input(0), call.input(1))};
}

/// Runs f along `axis` with the opset's semantics (see the file comment).
template <class F>
nx::Tensor along_axis(const OpCall& call, const nx::Tensor& x, F f) {
  const bool coerce = call.opset() < 13;
  const int64_t axis = norm_axis(call, call.attr_int("axis", coerce ? 1 : -1), x.rank());
  if (!coerce || x.rank() == 0) return f(x, axis);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < x.rank(); ++i) (i < axis ? outer : inner) *= x.shape()[i];
  return nx::reshape(f(nx::reshape(x, {outer, inner}), int64_t{1}), x.shape());
}

std::vector<nx::Tensor> softmax(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  return {along_axis(call, x, [](const nx::Tensor& t, int64_t a) { return nx::softmax(t, {a}); })};
}

std::vector<nx::Tensor> log_softmax(const OpCall& call) {
  const nx::Tensor& x = float_input(call, 0);
  return {
      along_axis(call, x, [](const nx::Tensor& t, int64_t a) { return nx::log_softmax(t, {a}); })};
}

std::vector<nx::Tensor> hardmax(const OpCall& call) {
  const nx::Tensor& x = call.input(0);
  return {along_axis(call, x, [](const nx::Tensor& t, int64_t a) {
    const nx::Tensor idx = nx::argmax(t, {.axis = a});
    return nx::one_hot(idx, t.shape()[a], t.dtype(), a);
  })};
}

}  // namespace

void register_linear_ops() {
  register_op({"Gemm", gemm, 1});
  register_op({"MatMul", matmul, 1});
  register_op({"Softmax", softmax, 1});
  register_op({"LogSoftmax", log_softmax, 1});
  register_op({"Hardmax", hardmax, 1});
}

}  // namespace axon::onnx_import::nn
