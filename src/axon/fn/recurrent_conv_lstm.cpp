// ConvLSTM: Axon's conv_lstm_cell and the conv_lstm sequence function.
//
// Axon's quirks are kept: the gates are split in the order i, g, f, o, the forget gate gets +1
// before its sigmoid, and the activations are fixed to sigmoid/tanh; the mask is ignored. The
// hidden convolution always uses stride 1 and same padding (Axon applies the input's options to
// both, which only runs when they keep the spatial size). In the sequence function the input
// convolution of every step is one convolution over {B * T, C, ...} before the loop.
#include <string>

#include "axon/fn/check.hpp"
#include "axon/fn/recurrent.hpp"
#include "nx/ops/conv.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "recurrent_internal.hpp"

namespace axon::fn {

namespace {

using detail::describe;
using detail::fail;

struct ConvParts {
  int64_t units = 0;
  nx::ConvOptions input_conv, hidden_conv;
};

// Checks the weights against a per-step input {B, C, spatial...} and builds the conv options.
ConvParts check_weights(std::string_view fn, const ConvLstmWeights& w, const Tensor& step_input,
                        const Sizes& strides, const nx::Padding& padding) {
  if (!w.wi.defined() || !w.wh.defined()) fail(fn, "the input and hidden kernels are required");
  const int64_t rank = step_input.rank();
  detail::check_rank(fn, "input kernel wi", w.wi, rank);
  detail::check_rank(fn, "hidden kernel wh", w.wh, rank);
  detail::check_float(fn, "input kernel wi", w.wi);
  detail::check_float(fn, "hidden kernel wh", w.wh);
  const int64_t four_u = w.wi.axis_size(0);
  if (four_u % 4 != 0 || four_u == 0) {
    fail(fn, "the input kernel's first axis must be 4 * units, got " + describe(w.wi));
  }
  ConvParts p;
  p.units = four_u / 4;
  if (w.wi.axis_size(1) != step_input.axis_size(1)) {
    fail(fn, "the input has " + std::to_string(step_input.axis_size(1)) +
                 " channels but the input kernel expects " + std::to_string(w.wi.axis_size(1)) +
                 " (" + describe(w.wi) + ")");
  }
  if (w.wh.axis_size(0) != four_u || w.wh.axis_size(1) != p.units) {
    fail(fn, "the hidden kernel must have shape {" + std::to_string(four_u) + ", " +
                 std::to_string(p.units) + ", k...}, got " + describe(w.wh));
  }
  if (w.b.defined() && w.b.shape() != nx::Shape{four_u}) {
    fail(fn, "the bias must have shape " + nx::shape_repr({four_u}) + ", got " + describe(w.b));
  }
  p.input_conv.strides = detail::expand_sizes(fn, "strides", strides, rank - 2, 1);
  p.input_conv.padding = padding;
  p.hidden_conv.padding = nx::Padding::same();
  return p;
}

Tensor add_bias(const Tensor& gates, const Tensor& b) {
  if (!b.defined()) return gates;
  nx::Shape s(static_cast<size_t>(gates.rank()), 1);
  s[1] = b.axis_size(0);
  return gates + nx::reshape(b, s);
}

}  // namespace

RecurrentOutput conv_lstm_cell(const Tensor& x, const std::vector<Tensor>& carry,
                               const Tensor& /*mask*/, const ConvLstmWeights& w,
                               const ConvLstmOptions& opts) {
  constexpr std::string_view fn = "conv_lstm_cell";
  if (!x.defined()) fail(fn, "x is missing");
  detail::check_min_rank(fn, "x", x, 3);
  detail::check_float(fn, "x", x);
  ConvParts p = check_weights(fn, w, x, opts.strides, opts.padding);
  Tensor gx = add_bias(nx::conv(x, w.wi, p.input_conv), w.b);
  nx::Shape carry_shape = gx.shape();
  carry_shape[1] = p.units;
  detail::rnn::check_carry(fn, carry, 2, carry_shape);
  Tensor gates = gx + nx::conv(carry[1], w.wh, p.hidden_conv);
  std::vector<Tensor> next = detail::rnn::conv_lstm_gates(gates, carry[0]);
  return {next[1], next};
}

RecurrentOutput conv_lstm(const Tensor& input, const std::vector<Tensor>& carry,
                          const Tensor& /*mask*/, const ConvLstmWeights& w,
                          const ConvLstmSequenceOptions& opts) {
  constexpr std::string_view fn = "conv_lstm";
  if (!input.defined()) fail(fn, "input is missing");
  detail::check_min_rank(fn, "input", input, 4);
  detail::check_float(fn, "input", input);
  const int64_t batch = input.axis_size(0), time = input.axis_size(1);
  if (time < 1) fail(fn, "input must have at least one time step, got " + describe(input));
  // {B, T, C, ...} -> {B * T, C, ...}: one convolution for the input side of every step.
  nx::Shape flat(input.shape().begin() + 1, input.shape().end());
  flat[0] = batch * time;
  Tensor steps = nx::reshape(input, flat);
  ConvParts p = check_weights(fn, w, steps, opts.strides, opts.padding);
  Tensor gx = add_bias(nx::conv(steps, w.wi, p.input_conv), w.b);
  nx::Shape carry_shape = gx.shape();
  carry_shape[0] = batch;
  carry_shape[1] = p.units;
  detail::rnn::check_carry(fn, carry, 2, carry_shape);
  nx::Shape seq = gx.shape();
  seq[0] = time;
  seq.insert(seq.begin(), batch);
  Tensor xs = detail::rnn::swap_batch_time(nx::reshape(gx, seq));  // {T, B, 4u, ...}
  detail::rnn::StepFn step = [&](const std::vector<Tensor>& x, const std::vector<Tensor>& c,
                                 const Tensor&) {
    Tensor gates = x[0] + nx::conv(c[1], w.wh, p.hidden_conv);
    std::vector<Tensor> next = detail::rnn::conv_lstm_gates(gates, c[0]);
    return RecurrentOutput{next[1], next};
  };
  RecurrentOutput r = detail::rnn::unroll_time_major(step, {xs}, carry, {}, opts.unroll);
  return {detail::rnn::swap_batch_time(r.output), r.carry};
}

}  // namespace axon::fn
