// Recurrent layers: LSTM, GRU and ConvLSTM over a sequence, and bidirectional runs (Axon.lstm,
// Axon.gru, Axon.conv_lstm, Axon.bidirectional), delegating to axon/fn/recurrent.hpp.
//
//   auto x = axon::input("tokens", {axon::kDynamic, 20, 32});       // {batch, time, features}
//   axon::RecurrentLayer r = axon::lstm(x, 64);                      // zeros initial state
//   axon::Model seq = r.output_sequence;                             // {batch, 20, 64}
//   axon::Model h = r.states[1];                                     // final h {batch, 64}
//   axon::RecurrentLayer r2 = axon::lstm(seq, r.carry, 64);          // starts from r's carry
//   auto masked = axon::gru(x, 64, {.mask = axon::mask(ids, 0)});    // 1 = keep the carry
//   auto both = axon::bidirectional(x, [](const axon::Model& in) {
//     return axon::lstm(in, 64).output_sequence;
//   });                                                              // {batch, 20, 128}
//
// Each builder makes one layer node (op "lstm", "gru", "conv_lstm") whose output is Axon's tuple
// {output_sequence, carry} as a list, and elem nodes for its parts (RecurrentLayer).
//
// Parameters, state[layer][name] (the core's parameters are tensors, so Axon's nested maps
// input_kernel/hidden_kernel/bias are flattened to their inner names, which are unique):
//   lstm       wii wif wig wio {F, units}; whi whf whg who {units, units}; bi bf bg bo {units}
//   gru        wir wiz win {F, units}; whr whz whn {units, units}; br bz bin bhn {units}
//   conv_lstm  input_kernel {4 units, C, k...}; hidden_kernel {4 units, units, k...};
//              bias {4 units} (gate order i, g, f, o; Axon's single tensors)
// Without a given hidden state the initial carry is zeros (as PyTorch); Axon draws it at random
// from extra layers, which makes inference non-deterministic (docs/axon-model-sequence.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include "axon/source_location.hpp"
#include <string>
#include <vector>

#include "axon/fn/initializers.hpp"
#include "axon/fn/recurrent.hpp"
#include "axon/model.hpp"

namespace axon {

/// What a recurrent builder returns: Axon's {output_sequence, carry} as models.
struct RecurrentLayer {
  Model output_sequence;      ///< {batch, time, units} ({batch, time, units, spatial...})
  Model carry;                ///< the final carry as a list ({c, h} or {h}): another layer's
                              ///< hidden_state
  std::vector<Model> states;  ///< the carry's tensors: {c, h} (LSTM, ConvLSTM) or {h} (GRU)
  Model layer;                ///< the layer node itself: the list {output_sequence, carry}
};

/// Options of lstm and gru (Axon's names and defaults).
struct RecurrentOptions {
  std::string name = {};
  std::string activation = "tanh";  ///< any axon::fn::activation name
  std::string gate = "sigmoid";     ///< any axon::fn::activation name
  fn::Unroll unroll = fn::Unroll::Dynamic;
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
  /// {batch, time}: a non-zero entry keeps the previous carry at that step (Axon's mask, e.g.
  /// axon::mask(ids, eos)); unset: no mask (Axon's Axon.constant(0)).
  std::optional<Model> mask = {};
};

/// LSTM over x {batch, time, features} from a zeros carry {c, h}.
RecurrentLayer lstm(const Model& x, int64_t units, RecurrentOptions opts = {},
                    SourceLocation where = SourceLocation::current());
/// LSTM from `hidden_state`, a model whose output is the list {c, h} ({batch, units} each),
/// e.g. another LSTM's carry or axon::container({c, h}).
RecurrentLayer lstm(const Model& x, const Model& hidden_state, int64_t units,
                    RecurrentOptions opts = {},
                    SourceLocation where = SourceLocation::current());

/// GRU over x {batch, time, features} from a zeros carry {h}.
RecurrentLayer gru(const Model& x, int64_t units, RecurrentOptions opts = {},
                   SourceLocation where = SourceLocation::current());
/// GRU from `hidden_state`: a list {h} (or a single tensor h) of {batch, units}.
RecurrentLayer gru(const Model& x, const Model& hidden_state, int64_t units,
                   RecurrentOptions opts = {},
                   SourceLocation where = SourceLocation::current());

/// Options of conv_lstm (Axon's names and defaults). The per-step input is channels first
/// {batch, C, spatial...}, as in Axon.
struct ConvLstmOptions {
  std::string name = {};
  fn::Sizes kernel_size = {1};
  fn::Sizes strides = {1};  ///< of the input convolution (the hidden one has stride 1)
  nx::Padding padding = nx::Padding::same();
  fn::Unroll unroll = fn::Unroll::Dynamic;
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
};

/// ConvLSTM over x {batch, time, C, spatial...} from a zeros carry {c, h}, each
/// {batch, units, spatial'...} (spatial' = the input convolution's output size).
RecurrentLayer conv_lstm(const Model& x, int64_t units, ConvLstmOptions opts = {},
                         SourceLocation where = SourceLocation::current());
/// ConvLSTM from `hidden_state`, a list {c, h}.
RecurrentLayer conv_lstm(const Model& x, const Model& hidden_state, int64_t units,
                         ConvLstmOptions opts = {},
                         SourceLocation where = SourceLocation::current());

/// How bidirectional merges a forward and a backward output tensor.
using MergeFn = std::function<Tensor(const Tensor& forward, const Tensor& backward)>;

/// Options of bidirectional.
struct BidirectionalOptions {
  std::string name = {};  ///< the name of the shared block (default "block_<n>")
  int64_t axis = 1;       ///< the time axis
};

/// Axon.bidirectional: `forward_fn` made into one block (so both directions share its
/// parameters, as Axon), applied to x and to x reversed along `axis`; the backward output is
/// reversed back and merged with the forward one leaf by leaf by `merge_fn` (default:
/// concatenation along the last axis). Only output leaves of x's rank are sequences and are
/// reversed back (final carries are not; Axon reverses every leaf).
Model bidirectional(const Model& x, std::function<Model(const Model&)> forward_fn,
                    MergeFn merge_fn = {}, BidirectionalOptions opts = {},
                    SourceLocation where = SourceLocation::current());

}  // namespace axon
