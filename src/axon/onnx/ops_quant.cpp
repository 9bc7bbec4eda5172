// ONNX quantization (opsets 10..17): QuantizeLinear and DequantizeLinear (per tensor; per axis
// since opset 13), DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger and
// QLinearConv, on uint8/int8 values.
//
// Exactness: ONNX accumulates the integer products in int32. Matrix products run as nx's s32
// dot (an integer dot, exact, wrapping like int32 on overflow). Convolutions have no integer
// path in nx (nx::conv computes in floating point), so they run in f64: a product of two
// zero-point-shifted 8-bit values is below 2^16 in magnitude, so sums of up to 2^37 of them are
// exact in f64's 53-bit mantissa, far beyond any kernel. Requantization (the scale multiply
// and round half to even) is in f32, as the reference runtimes do it.
#include <functional>
#include <string>
#include <vector>

#include "axon/onnx/ops_nn_internal.hpp"

namespace axon::onnx_import::nn {
namespace {

using nx::Tensor;

bool is_8bit(nx::DType t) {
  return t == nx::u8 || t == nx::s8;
}

void check_8bit(const OpCall& call, const Tensor& t, const char* what) {
  if (!is_8bit(t.dtype())) {
    call.fail(std::string(what) + " must be uint8 or int8, got " + nx::type_string(t.type()));
  }
}

// A scale or zero point broadcast against x: one element (per tensor), or, where allowed, a
// 1-D tensor of x.shape[axis] elements (per axis) reshaped to [1, .., n, .., 1].
Tensor per_axis(const OpCall& call, const Tensor& p, const Tensor& x, int64_t axis, bool allow,
                const char* what) {
  if (p.size() == 1 && p.rank() <= 1) return nx::reshape(p, {});
  if (!allow || p.rank() != 1 || x.rank() == 0) {
    call.fail(std::string(what) + " must be a scalar" + (allow ? " or 1-D" : "") + ", got " +
              nx::type_string(p.type()));
  }
  const int64_t a = norm_axis(call, axis, x.rank());
  if (p.shape()[0] != x.shape()[static_cast<size_t>(a)]) {
    call.fail(std::string(what) + " " + nx::type_string(p.type()) + " does not match axis " +
              std::to_string(a) + " of " + nx::type_string(x.type()));
  }
  nx::Shape shape(static_cast<size_t>(x.rank()), 1);
  shape[static_cast<size_t>(a)] = p.shape()[0];
  return nx::reshape(p, shape);
}

// Rounds half to even and saturates to the range of the 8-bit `out` type.
Tensor saturate_round(const Tensor& y, nx::DType out) {
  const double lo = out == nx::u8 ? 0.0 : -128.0;
  const double hi = out == nx::u8 ? 255.0 : 127.0;
  const Tensor r = nx::round_even(y);
  return nx::as_type(nx::clip(r, nx::scalar(lo, r.dtype()), nx::scalar(hi, r.dtype())), out);
}

void check_scale(const OpCall& call, const Tensor& s, const char* what) {
  if (s.dtype() != nx::f32) {
    call.fail(std::string(what) + " must be float, got " + nx::type_string(s.type()));
  }
}

// ---- QuantizeLinear / DequantizeLinear ---------------------------------------------------------

std::vector<Tensor> quantize_linear(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.dtype() != nx::f32 && x.dtype() != nx::s32) {
    call.fail("x must be float or int32, got " + nx::type_string(x.type()));
  }
  const bool allow_axis = call.opset() >= 13;
  const int64_t axis = call.attr_int("axis", 1);
  const Tensor& scale_in = call.input(1);
  check_scale(call, scale_in, "y_scale");
  const Tensor scale = per_axis(call, scale_in, x, axis, allow_axis, "y_scale");
  nx::DType out = nx::u8;
  Tensor zp = nx::scalar(0.0, nx::f32);
  if (call.has_input(2)) {
    const Tensor& z = call.input(2);
    check_8bit(call, z, "y_zero_point");
    out = z.dtype();
    zp = nx::as_type(per_axis(call, z, x, axis, allow_axis, "y_zero_point"), nx::f32);
  }
  const Tensor q = nx::add(nx::round_even(nx::divide(nx::as_type(x, nx::f32), scale)), zp);
  return {saturate_round(q, out)};
}

std::vector<Tensor> dequantize_linear(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (!is_8bit(x.dtype()) && x.dtype() != nx::s32) {
    call.fail("x must be uint8, int8 or int32, got " + nx::type_string(x.type()));
  }
  const bool allow_axis = call.opset() >= 13;
  const int64_t axis = call.attr_int("axis", 1);
  const Tensor& scale_in = call.input(1);
  check_scale(call, scale_in, "x_scale");
  const Tensor scale = per_axis(call, scale_in, x, axis, allow_axis, "x_scale");
  Tensor shifted = nx::as_type(x, nx::s32);
  if (call.has_input(2)) {
    const Tensor& z = call.input(2);
    if (z.dtype() != x.dtype()) {
      call.fail("x_zero_point must have x's type " + nx::type_string(x.type()) + ", got " +
                nx::type_string(z.type()));
    }
    shifted = nx::subtract(
        shifted, nx::as_type(per_axis(call, z, x, axis, allow_axis, "x_zero_point"), nx::s32));
  }
  return {nx::multiply(nx::as_type(shifted, nx::f32), scale)};
}

// The ONNX function body: the range [min(0, min x), max(0, max x)] mapped onto [0, 255].
std::vector<Tensor> dynamic_quantize_linear(const OpCall& call) {
  const Tensor& x = call.input(0);
  if (x.dtype() != nx::f32) call.fail("x must be float, got " + nx::type_string(x.type()));
  const Tensor zero = nx::scalar(0.0, nx::f32);
  const Tensor x_min = nx::min(zero, nx::reduce_min(x));
  const Tensor x_max = nx::max(zero, nx::reduce_max(x));
  const Tensor scale = nx::divide(nx::subtract(x_max, x_min), nx::scalar(255.0, nx::f32));
  const Tensor zp = saturate_round(nx::subtract(zero, nx::divide(x_min, scale)), nx::u8);
  const Tensor y = nx::add(nx::round_even(nx::divide(x, scale)), nx::as_type(zp, nx::f32));
  return declared_outputs(call, {saturate_round(y, nx::u8), scale, zp});
}

// ---- Integer products ---------------------------------------------------------------------------

// v - zero_point in s32 (or f64 for convolutions); the zero point broadcast by `shape_zp`.
Tensor shifted(const OpCall& call, const Tensor& v, size_t zp_input, nx::DType compute,
               const std::function<Tensor(const Tensor&)>& shape_zp, const char* what) {
  const Tensor vc = nx::as_type(v, compute);
  if (!call.has_input(zp_input)) return vc;
  const Tensor& z = call.input(zp_input);
  if (z.dtype() != v.dtype()) {
    call.fail(std::string(what) + " must have the type of its operand " +
              nx::type_string(v.type()) + ", got " + nx::type_string(z.type()));
  }
  return nx::subtract(vc, nx::as_type(shape_zp(z), compute));
}

// Per-row zero points/scales of A ([M] over A's second-to-last axis) and per-column ones of B
// ([N] over B's last axis); one element means per tensor.
Tensor row_param(const OpCall& call, const Tensor& p, const Tensor& a, const char* what) {
  if (p.size() == 1 && p.rank() <= 1) return nx::reshape(p, {});
  if (p.rank() != 1 || a.rank() < 2 || p.shape()[0] != a.shape()[a.rank() - 2]) {
    call.fail(std::string(what) + " must be a scalar or have one element per row of A " +
              nx::type_string(a.type()) + ", got " + nx::type_string(p.type()));
  }
  return nx::reshape(p, {p.shape()[0], 1});
}

Tensor col_param(const OpCall& call, const Tensor& p, const Tensor& b, const char* what) {
  if (p.size() == 1 && p.rank() <= 1) return nx::reshape(p, {});
  if (p.rank() != 1 || b.rank() < 2 || p.shape()[0] != b.shape().back()) {
    call.fail(std::string(what) + " must be a scalar or have one element per column of B " +
              nx::type_string(b.type()) + ", got " + nx::type_string(p.type()));
  }
  return p;
}

std::vector<Tensor> matmul_integer(const OpCall& call) {
  const Tensor& a = call.input(0);
  const Tensor& b = call.input(1);
  check_8bit(call, a, "A");
  check_8bit(call, b, "B");
  const Tensor a_s = shifted(
      call, a, 2, nx::s32, [&](const Tensor& z) { return row_param(call, z, a, "a_zero_point"); },
      "a_zero_point");
  const Tensor b_s = shifted(
      call, b, 3, nx::s32, [&](const Tensor& z) { return col_param(call, z, b, "b_zero_point"); },
      "b_zero_point");
  return {nx::matmul(a_s, b_s)};
}

// y = saturate(round(acc * multiplier) + y_zero_point), the multiplier in f32.
Tensor requantize(const Tensor& acc, const Tensor& multiplier, const Tensor& y_zp) {
  const Tensor y = nx::add(nx::round_even(nx::multiply(nx::as_type(acc, nx::f32), multiplier)),
                           nx::as_type(nx::reshape(y_zp, {}), nx::f32));
  return saturate_round(y, y_zp.dtype());
}

void check_scalar(const OpCall& call, const Tensor& t, const char* what) {
  if (t.size() != 1 || t.rank() > 1) {
    call.fail(std::string(what) + " must be a scalar, got " + nx::type_string(t.type()));
  }
}

// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point.
std::vector<Tensor> qlinear_matmul(const OpCall& call) {
  const Tensor& a = call.input(0);
  const Tensor& b = call.input(3);
  check_8bit(call, a, "a");
  check_8bit(call, b, "b");
  for (size_t i : {1, 4, 6}) check_scale(call, call.input(i), "the scales");
  const Tensor& y_zp = call.input(7);
  check_8bit(call, y_zp, "y_zero_point");
  check_scalar(call, call.input(6), "y_scale");
  check_scalar(call, y_zp, "y_zero_point");
  const Tensor a_s = shifted(
      call, a, 2, nx::s32, [&](const Tensor& z) { return row_param(call, z, a, "a_zero_point"); },
      "a_zero_point");
  const Tensor b_s = shifted(
      call, b, 5, nx::s32, [&](const Tensor& z) { return col_param(call, z, b, "b_zero_point"); },
      "b_zero_point");
  const Tensor multiplier = nx::divide(nx::multiply(row_param(call, call.input(1), a, "a_scale"),
                                                    col_param(call, call.input(4), b, "b_scale")),
                                       nx::reshape(call.input(6), {}));
  return {requantize(nx::matmul(a_s, b_s), multiplier, y_zp)};
}

// ---- Integer convolutions -----------------------------------------------------------------------

// A per-output-channel parameter of a weight [M, C/group, k...]: one element, or [M] shaped to
// broadcast over the weight ([M, 1, ...]) or the output ([1, M, 1, ...]).
Tensor channel_param(const OpCall& call, const Tensor& p, int64_t channels, int64_t rank,
                     bool for_output, const char* what) {
  if (p.size() == 1 && p.rank() <= 1) return nx::reshape(p, {});
  if (p.rank() != 1 || p.shape()[0] != channels) {
    call.fail(std::string(what) + " must be a scalar or have one element per output channel (" +
              std::to_string(channels) + "), got " + nx::type_string(p.type()));
  }
  nx::Shape shape(static_cast<size_t>(rank), 1);
  shape[for_output ? 1 : 0] = channels;
  return nx::reshape(p, shape);
}

// The ONNX Conv of the zero-point-shifted operands (x's padding is then a real zero), in f64.
Tensor integer_conv(const OpCall& call, size_t x_i, size_t x_zp_i, size_t w_i, size_t w_zp_i) {
  const Tensor& x = call.input(x_i);
  const Tensor& w = call.input(w_i);
  check_8bit(call, x, "x");
  check_8bit(call, w, "w");
  if (x.rank() < 3 || w.rank() != x.rank()) {
    call.fail("x and w need one rank >= 3, got " + nx::type_string(x.type()) + " and " +
              nx::type_string(w.type()));
  }
  const int64_t channels = w.shape()[0];
  OpCall conv = call;
  conv.inputs_ = {shifted(
                      call, x, x_zp_i, nx::f64,
                      [&](const Tensor& z) {
                        check_scalar(call, z, "x_zero_point");
                        return nx::reshape(z, {});
                      },
                      "x_zero_point"),
                  shifted(
                      call, w, w_zp_i, nx::f64,
                      [&](const Tensor& z) {
                        return channel_param(call, z, channels, w.rank(), false, "w_zero_point");
                      },
                      "w_zero_point")};
  return find_op("Conv")->convert(conv).at(0);
}

std::vector<Tensor> conv_integer(const OpCall& call) {
  return {nx::as_type(integer_conv(call, 0, 2, 1, 3), nx::s32)};
}

// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B.
std::vector<Tensor> qlinear_conv(const OpCall& call) {
  for (size_t i : {1, 4, 6}) check_scale(call, call.input(i), "the scales");
  check_scalar(call, call.input(1), "x_scale");
  check_scalar(call, call.input(6), "y_scale");
  const Tensor& y_zp = call.input(7);
  check_8bit(call, y_zp, "y_zero_point");
  check_scalar(call, y_zp, "y_zero_point");
  Tensor acc = integer_conv(call, 0, 2, 3, 5);
  const int64_t channels = call.input(3).shape()[0];
  if (call.has_input(8)) {
    const Tensor& bias = call.input(8);
    if (bias.dtype() != nx::s32 || bias.rank() != 1 || bias.shape()[0] != channels) {
      call.fail("B must be int32 with one element per output channel (" + std::to_string(channels) +
                "), got " + nx::type_string(bias.type()));
    }
    acc = nx::add(acc,
                  channel_param(call, nx::as_type(bias, nx::f64), channels, acc.rank(), true, "B"));
  }
  const Tensor w_scale = channel_param(call, call.input(4), channels, acc.rank(), true, "w_scale");
  const Tensor multiplier = nx::divide(nx::multiply(nx::reshape(call.input(1), {}), w_scale),
                                       nx::reshape(call.input(6), {}));
  return {requantize(acc, multiplier, y_zp)};
}

}  // namespace
}  // namespace axon::onnx_import::nn

namespace axon::onnx_import {

void register_quant_ops() {
  using namespace nn;
  register_op({"QuantizeLinear", quantize_linear, 10});
  register_op({"DequantizeLinear", dequantize_linear, 10});
  register_op({"DynamicQuantizeLinear", dynamic_quantize_linear, 11});
  register_op({"MatMulInteger", matmul_integer, 10});
  register_op({"QLinearMatMul", qlinear_matmul, 10});
  register_op({"ConvInteger", conv_integer, 10});
  register_op({"QLinearConv", qlinear_conv, 10});
}

}  // namespace axon::onnx_import
