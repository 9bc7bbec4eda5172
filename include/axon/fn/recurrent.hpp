// axon::fn recurrent layers: Axon's LSTM, GRU and ConvLSTM cells, the static and dynamic
// unrolls, the sequence functions built on them, and bidirectional runs. Pure compositions of nx
// ops: eager, traceable under nx::jit and differentiable under nx::grad.
//
//   namespace fn = axon::fn;
//   // x: {batch, time, features}; weights with Axon's names (or from the layer's parameter tree)
//   fn::LstmWeights w = fn::LstmWeights::from_tree(params["lstm_0"]);
//   std::vector<Tensor> carry = {nx::zeros({batch, units}), nx::zeros({batch, units})};  // {c, h}
//   fn::RecurrentOutput r = fn::lstm(x, carry, {}, w);        // dynamic unroll (nx::scan)
//   Tensor seq = r.output;                                     // {batch, time, units}
//   Tensor h = r.carry[1];                                     // final hidden state
//
//   // Both directions (separate weights, like torch's bidirectional=True), concatenated:
//   fn::BidirectionalOutput b = fn::bidirectional(x, mask,
//       [&](const Tensor& in, const Tensor& m) { return fn::gru(in, {h0}, m, fwd); },
//       [&](const Tensor& in, const Tensor& m) { return fn::gru(in, {h0}, m, bwd); });
//
// Formulas (Axon's; docs/axon-fn-recurrent.md):
//   LSTM  i, f, o = gate(x Wi* + b* + h Wh*), g = activation(x Wig + bg + h Whg),
//         c' = f c + i g, h' = o activation(c'); carry {c, h}, output h'.
//   GRU   r, z = gate(x Wi* + b* + h Wh*), n = activation(x Win + bin + r (h Whn + bhn)),
//         h' = (1 - z) n + z h; carry {h}, output h'.
//   ConvLSTM  gates = conv(x, wi) + bi + conv(h, wh), split in the order i, g, f, o;
//         c' = sigmoid(f + 1) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').
// Masks: {batch, time} (or {batch} for one cell step); a non-zero entry keeps the previous carry
// for that example and step (Axon), and the step's output is then the kept h. An empty tensor or
// a scalar 0 (Axon's default `Axon.constant(0)`) means no mask.
#pragma once

#include <functional>
#include <vector>

#include "axon/fn/activations.hpp"
#include "axon/fn/common.hpp"
#include "nx/ops/conv.hpp"
#include "nx/tree.hpp"

namespace axon::fn {

// ---- Weights ------------------------------------------------------------------------------------

/// An LSTM's parameters with Axon's names: input kernel {F, units} x 4, hidden kernel
/// {units, units} x 4, bias {units} x 4 (all four empty = no bias, Axon's use_bias: false).
struct LstmWeights {
  Tensor wii, wif, wig, wio;  ///< input kernel: gates i, f, g, o
  Tensor whi, whf, whg, who;  ///< hidden kernel
  Tensor bi, bf, bg, bo;      ///< bias

  /// From Axon's layer parameter map {"input_kernel": {"wii", ...}, "hidden_kernel": {"whi",
  /// ...}, "bias": {"bi", ...}} ("bias" may be absent). Throws nx::Error naming a missing key.
  static LstmWeights from_tree(const nx::Tree& params);
  /// The same map, e.g. to differentiate with nx::grad.
  nx::Tree to_tree() const;
};

/// A GRU's parameters with Axon's names: input kernel {F, units} x 3, hidden kernel
/// {units, units} x 3, bias {units} x 4 (br, bz, bin: input side; bhn: inside r * (...)).
struct GruWeights {
  Tensor wir, wiz, win;     ///< input kernel: gates r, z, n
  Tensor whr, whz, whn;     ///< hidden kernel
  Tensor br, bz, bin, bhn;  ///< bias (all empty = no bias)

  /// From {"input_kernel": {"wir", ...}, "hidden_kernel": {"whr", ...}, "bias": {"br", ...}}.
  static GruWeights from_tree(const nx::Tree& params);
  /// The same map.
  nx::Tree to_tree() const;
};

/// A ConvLSTM's parameters (Axon: single tensors): input kernel {4 units, C, k...}, hidden
/// kernel {4 units, units, k...}, bias {4 units} (empty = none). Gate order along the first
/// axis: i, g, f, o.
struct ConvLstmWeights {
  Tensor wi;  ///< input kernel
  Tensor wh;  ///< hidden kernel
  Tensor b;   ///< bias

  /// From {"input_kernel": {"wi"}, "hidden_kernel": {"wh"}, "bias": {"b"}} ("bias" optional).
  static ConvLstmWeights from_tree(const nx::Tree& params);
  /// The same map.
  nx::Tree to_tree() const;
};

// ---- Cells: one time step
// -------------------------------------------------------------------------

/// What a cell step or a recurrent sequence returns: the output (one step: {B, units}; a
/// sequence: {B, T, units}) and the carry (LSTM and ConvLSTM {c, h}; GRU {h}).
struct RecurrentOutput {
  Tensor output;
  std::vector<Tensor> carry;
};

/// Gate and activation functions of LSTM and GRU (Axon's `gate` and `activation` options).
struct CellOptions {
  Activation gate = [](const Tensor& x) { return fn::sigmoid(x); };     ///< Axon :sigmoid
  Activation activation = [](const Tensor& x) { return fn::tanh(x); };  ///< Axon :tanh
};

/// One LSTM step: x {B, F}, carry {c, h} each {B, units}, mask {B} or empty.
RecurrentOutput lstm_cell(const Tensor& x, const std::vector<Tensor>& carry, const Tensor& mask,
                          const LstmWeights& w, const CellOptions& opts = {});
/// One GRU step: x {B, F}, carry {h} {B, units}, mask {B} or empty.
RecurrentOutput gru_cell(const Tensor& x, const std::vector<Tensor>& carry, const Tensor& mask,
                         const GruWeights& w, const CellOptions& opts = {});

/// Options of conv_lstm_cell and conv_lstm (the gates are fixed to sigmoid/tanh, as in Axon).
struct ConvLstmOptions {
  /// Strides of the input convolution (empty: 1). The hidden convolution always has stride 1
  /// and same padding, so that the carry keeps its shape.
  Sizes strides = {};
  nx::Padding padding = nx::Padding::same();  ///< of the input convolution (Axon :same)
};
/// One ConvLSTM step: x {B, C, spatial...} (channels first, as Axon), carry {c, h} each
/// {B, units, spatial'...}, mask ignored (as Axon's cell).
RecurrentOutput conv_lstm_cell(const Tensor& x, const std::vector<Tensor>& carry,
                               const Tensor& mask, const ConvLstmWeights& w,
                               const ConvLstmOptions& opts = {});

// ---- Unrolling ----------------------------------------------------------------------------------

/// A cell as a function of one step: x_t (input[:, t]), carry, mask_t ({B}, or empty).
using CellFn = std::function<RecurrentOutput(const Tensor& x, const std::vector<Tensor>& carry,
                                             const Tensor& mask)>;

/// Runs `cell` over axis 1 of input {B, T, ...} with a C++ loop (one traced copy of the cell per
/// step) and stacks the step outputs along axis 1. mask: {B, T} or empty.
RecurrentOutput static_unroll(const CellFn& cell, const Tensor& input,
                              const std::vector<Tensor>& carry, const Tensor& mask);
/// The same result with nx::scan: one compiled loop body whatever T, and a gradient that is a
/// reverse scan (O(T)). Axon uses a while loop here; nx::scan is the known-trip-count form.
RecurrentOutput dynamic_unroll(const CellFn& cell, const Tensor& input,
                               const std::vector<Tensor>& carry, const Tensor& mask);

/// How a sequence function unrolls time.
enum class Unroll { Static, Dynamic };

/// Options of lstm and gru.
struct RecurrentOptions {
  Unroll unroll = Unroll::Dynamic;       ///< Axon's layer default (the functional one is :static)
  Activation gate = CellOptions{}.gate;  ///< Axon :sigmoid
  Activation activation = CellOptions{}.activation;  ///< Axon :tanh
};

/// LSTM over input {B, T, F} from carry {c, h} ({B, units} each); mask {B, T}, a scalar or
/// empty. Returns output {B, T, units} and the final carry {c, h}. The input projections of all
/// steps are one matmul before the loop.
RecurrentOutput lstm(const Tensor& input, const std::vector<Tensor>& carry, const Tensor& mask,
                     const LstmWeights& w, const RecurrentOptions& opts = {});
/// GRU over input {B, T, F} from carry {h}; returns output {B, T, units} and the carry {h}.
RecurrentOutput gru(const Tensor& input, const std::vector<Tensor>& carry, const Tensor& mask,
                    const GruWeights& w, const RecurrentOptions& opts = {});

/// Options of conv_lstm.
struct ConvLstmSequenceOptions {
  Unroll unroll = Unroll::Dynamic;
  Sizes strides = {};                         ///< see ConvLstmOptions
  nx::Padding padding = nx::Padding::same();  ///< see ConvLstmOptions
};
/// ConvLSTM over input {B, T, C, spatial...} from carry {c, h} ({B, units, spatial'...}); mask
/// ignored as in Axon. Returns output {B, T, units, spatial'...} and the final carry.
RecurrentOutput conv_lstm(const Tensor& input, const std::vector<Tensor>& carry, const Tensor& mask,
                          const ConvLstmWeights& w, const ConvLstmSequenceOptions& opts = {});

// ---- Bidirectional
// -------------------------------------------------------------------------------

/// A recurrent sequence function of (input {B, T, ...}, mask {B, T} or empty).
using RecurrentFn = std::function<RecurrentOutput(const Tensor& input, const Tensor& mask)>;

/// How bidirectional combines the two directions.
enum class Merge { Concatenate, Sum, Mean };

/// Options of bidirectional.
struct BidirectionalOptions {
  Merge merge = Merge::Concatenate;  ///< Axon's usual merge: concatenate
  int64_t concat_axis = -1;          ///< feature axis for Concatenate (ConvLSTM outputs: 2)
};

/// What bidirectional returns.
struct BidirectionalOutput {
  Tensor output;              ///< merged outputs {B, T, ...}
  std::vector<Tensor> carry;  ///< merged final carries (leaf by leaf)
  RecurrentOutput forward;    ///< the forward run
  RecurrentOutput backward;   ///< the backward run, its output put back in input time order
};

/// Runs `forward_fn` on (input, mask) and `backward_fn` on both reversed along time (axis 1),
/// reverses the backward output back, and merges outputs and carries (Axon.bidirectional; pass
/// the same function twice to share weights as Axon's block does).
BidirectionalOutput bidirectional(const Tensor& input, const Tensor& mask,
                                  const RecurrentFn& forward_fn, const RecurrentFn& backward_fn,
                                  const BidirectionalOptions& opts = {});

}  // namespace axon::fn
