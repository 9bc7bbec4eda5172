// Pieces shared by the recurrent implementation files: weights packed for one matmul per gate
// group, the gate arithmetic of one step, masks, and the time-major unroll every sequence
// function goes through.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "axon/fn/recurrent.hpp"

namespace axon::fn::detail::rnn {

/// An LSTM's kernels concatenated along the output axis in the order i, f, g, o.
struct PackedLstm {
  Tensor wi;  ///< {F, 4 units}
  Tensor wh;  ///< {units, 4 units}
  Tensor b;   ///< {4 units}, or empty
  int64_t features = 0, units = 0;
};
/// Checks w (names `fn` in errors) and packs it.
PackedLstm pack(std::string_view fn, const LstmWeights& w);

/// A GRU's kernels concatenated in the order r, z, n.
struct PackedGru {
  Tensor wi;   ///< {F, 3 units}
  Tensor wh;   ///< {units, 3 units}
  Tensor b;    ///< {3 units}: br, bz, bin; or empty
  Tensor bhn;  ///< {units}, or empty
  int64_t features = 0, units = 0;
};
/// Checks w and packs it.
PackedGru pack(std::string_view fn, const GruWeights& w);

/// One LSTM step from the pre-activations z = x Wi + b + h Wh ({B, 4 units}): {c', h'}.
std::vector<Tensor> lstm_gates(const Tensor& z, const Tensor& c, const Activation& gate,
                               const Activation& activation);
/// One GRU step from xp = x Wi + b and hp = h Wh ({B, 3 units}): h'.
Tensor gru_gates(const Tensor& xp, const Tensor& hp, const Tensor& h, const Tensor& bhn,
                 const Activation& gate, const Activation& activation);
/// One ConvLSTM step from the gate pre-activations {B, 4 units, spatial...}: {c', h'}.
std::vector<Tensor> conv_lstm_gates(const Tensor& gates, const Tensor& c);

/// select(mask, old, new) per example, mask {B} broadcast over the rest; new when mask is empty.
Tensor keep_where(const Tensor& mask, const Tensor& old_value, const Tensor& new_value);
/// The sequence mask as {B, T} pred, or empty for none (empty tensor, or a concrete scalar 0).
Tensor sequence_mask(std::string_view fn, const Tensor& mask, int64_t batch, int64_t time);
/// The carry checked to have `n` tensors of shape `shape` (names `fn` in errors).
void check_carry(std::string_view fn, const std::vector<Tensor>& carry, size_t n,
                 const nx::Shape& shape);

/// One step on time-major slices: (xs[t] per leaf, carry, mask_t or empty) -> output, carry.
using StepFn = std::function<RecurrentOutput(const std::vector<Tensor>& x,
                                             const std::vector<Tensor>& carry, const Tensor& mask)>;
/// Runs `step` over axis 0 of the time-major `xs` (each {T, ...}) with mask {T, B} or empty;
/// returns the outputs stacked on axis 0 ({T, ...}) and the final carry.
RecurrentOutput unroll_time_major(const StepFn& step, const std::vector<Tensor>& xs,
                                  const std::vector<Tensor>& carry, const Tensor& mask,
                                  Unroll unroll);
/// x {B, T, ...} <-> {T, B, ...}.
Tensor swap_batch_time(const Tensor& x);

}  // namespace axon::fn::detail::rnn
