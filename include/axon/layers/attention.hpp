// Attention layers: multi-head attention, the transformer encoder block, and position
// embeddings (sinusoidal, learned, rotary). Axon has none (its most requested feature, axon
// #271); these follow PyTorch's definitions through axon/fn/attention.hpp, so weights carry over.
//
//   auto x = axon::input("x", {axon::kDynamic, 16, 64});                  // {batch, time, 64}
//   auto h = axon::sinusoidal_position_embedding(x);                      // x + PE
//   h = axon::multi_head_attention(h, {.num_heads = 8, .causal = true});  // self-attention
//   auto lengths = axon::input("lengths", {axon::kDynamic}, {.dtype = nx::s64});
//   auto pad = axon::nx_layer(lengths, [](const nx::Tensor& l) {
//     return axon::fn::padding_mask(l, 16);                               // {batch, 1, 1, 16}
//   });
//   h = axon::transformer_encoder_block(h, {.num_heads = 8, .ff_dim = 256, .mask = pad});
//
// Parameters, state[layer][name] (kernels {in, out} as dense's):
//   multi_head_attention       wq {Dq, D}, bq {D}, wk {Dk, D}, bk, wv {Dv, D}, bv, wo {D, D}, bo
//   transformer_encoder_block  wq bq wk bk wv bv wo bo (D = x's last axis), linear1_kernel {D, F},
//                              linear1_bias {F}, linear2_kernel {F, D}, linear2_bias {D},
//                              norm1_gamma, norm1_beta, norm2_gamma, norm2_beta {D}
//   learned_position_embedding kernel {max_len, D}
// With dropout_rate > 0 a layer also has a "key" (u32[2], kind State) advanced in train mode;
// dropout runs in train mode only.
#pragma once

#include <cstdint>
#include <optional>
#include "axon/source_location.hpp"
#include <string>

#include "axon/fn/attention.hpp"
#include "axon/fn/initializers.hpp"
#include "axon/model.hpp"

namespace axon {

/// Options of multi_head_attention.
struct MultiHeadAttentionOptions {
  std::string name = {};
  int64_t num_heads = 1;  ///< must divide embed_dim
  int64_t embed_dim = 0;  ///< D, the model width; 0: the query's feature size (PyTorch's rule)
  bool causal = false;    ///< mask keys after the query
  /// boolean or 0/1 (true = attend), broadcast to the scores {batch, heads, Tq, Tk}, e.g.
  /// axon::fn::padding_mask of the lengths; unset: attend everywhere.
  std::optional<Model> mask = {};
  double dropout_rate = 0.0;  ///< on the attention weights, train mode only
  /// The dropout key's seed; unset: derived from build's seed and the layer's name.
  std::optional<int64_t> seed = {};
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
};

/// torch.nn.MultiheadAttention(batch_first=True): query {B, Tq, Dq}, key {B, Tk, Dk} and value
/// {B, Tk, Dv} -> {B, Tq, D}.
Model multi_head_attention(const Model& query, const Model& key, const Model& value,
                           MultiHeadAttentionOptions opts = {},
                           SourceLocation where = SourceLocation::current());
/// Self-attention: query, key and value all x.
Model multi_head_attention(const Model& x, MultiHeadAttentionOptions opts = {},
                           SourceLocation where = SourceLocation::current());

/// Options of transformer_encoder_block (torch.nn.TransformerEncoderLayer's names and defaults).
struct TransformerEncoderOptions {
  std::string name = {};
  int64_t num_heads = 1;            ///< must divide x's feature size D
  int64_t ff_dim = 2048;            ///< F, torch's dim_feedforward
  std::string activation = "relu";  ///< "relu" or "gelu"
  bool norm_first = false;          ///< false: post-norm (torch's default); true: pre-norm
  double dropout_rate = 0.0;        ///< torch's dropout (0.1 there); train mode only
  double epsilon = 1e-5;            ///< layer-norm epsilon
  bool causal = false;
  std::optional<Model> mask = {};  ///< as MultiHeadAttentionOptions::mask
  std::optional<int64_t> seed = {};
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
};

/// torch.nn.TransformerEncoderLayer(batch_first=True) on x {B, T, D}: self-attention and a
/// two-layer MLP, each with a residual connection and layer norm.
Model transformer_encoder_block(const Model& x, TransformerEncoderOptions opts = {},
                                SourceLocation where = SourceLocation::current());

/// Options of sinusoidal_position_embedding.
struct SinusoidalOptions {
  std::string name = {};
  double base = 10000.0;
};
/// x {B, T, D} plus Vaswani et al.'s sinusoidal table {T, D} (no parameters).
Model sinusoidal_position_embedding(const Model& x, SinusoidalOptions opts = {},
                                    SourceLocation where = SourceLocation::current());

/// Options of learned_position_embedding.
struct LearnedPositionOptions {
  std::string name = {};
  /// N(0, 0.02), as BERT and GPT-2 (Axon's embedding uses uniform ±0.01, torch's N(0, 1)).
  fn::init::Initializer initializer = fn::init::normal({.scale = 0.02});
};
/// x {B, T, D} plus the first T rows of a learned table {max_len, D} (T <= max_len).
Model learned_position_embedding(const Model& x, int64_t max_len, LearnedPositionOptions opts = {},
                                 SourceLocation where = SourceLocation::current());

/// Options of rotary_embedding.
struct RotaryOptions {
  std::string name = {};
  double base = 10000.0;
  /// Positions of the sequence axis, {T} or {B, T}; unset: 0 .. T-1.
  std::optional<Model> positions = {};
};
/// Rotary position embedding (GPT-NeoX/LLaMA half-split form) on x {..., T, head_dim}, e.g. the
/// queries and keys split into heads {B, heads, T, head_dim}; head_dim must be even.
Model rotary_embedding(const Model& x, RotaryOptions opts = {},
                       SourceLocation where = SourceLocation::current());

}  // namespace axon
