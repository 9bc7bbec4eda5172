// Attention, position embeddings and the transformer encoder block: Axon has no attention layer
// (axon #271, its most requested feature); these follow PyTorch's definitions so that weights
// and results carry over.
//
//   using namespace axon::fn;
//   // Self-attention over a padded batch x: f32[B][T][D], lengths: s64[B].
//   AttentionWeights w = ...;  // wq, wk, wv, wo: {D, D} kernels ({in, out}, as dense); biases {D}
//   Tensor y = multi_head_attention(x, x, x, w,
//                                   {.num_heads = 8, .mask = padding_mask(lengths, T)});
//   // One head by hand, causal, with rotary positions on q and k ({B, heads, T, head_dim}):
//   Tensor o = scaled_dot_product_attention(apply_rotary_embedding(q), apply_rotary_embedding(k),
//                                           v, {.is_causal = true});
//   // A torch.nn.TransformerEncoderLayer(D, 8, dim_feedforward=F, batch_first=True):
//   Tensor z = transformer_encoder_block(x, block_weights, {.num_heads = 8});
//
// Shapes: attention inputs are {B, heads, T, head_dim}, or {B, T, D} for one head. Masks are
// boolean (or 0/1 numbers; non-zero = attend) and broadcast to the scores {B, heads, Tq, Tk}
// ({B, Tq, Tk} for rank-3 inputs). A query row whose every key is masked gets all-zero
// attention weights, hence a zero output row, and zero gradients (PyTorch gives NaN there).
// Every function is a composition of nx ops: eager, jit-able and differentiable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "axon/fn/common.hpp"

namespace axon::fn {

// ---- Masks ------------------------------------------------------------------------------------

/// A key-padding mask from sequence lengths: pred {B, 1, 1, max_len}, true where the key
/// position is < lengths[b]; broadcasts against scores {B, heads, Tq, max_len}.
Tensor padding_mask(const Tensor& lengths, int64_t max_len);
/// A causal mask: pred {tq, tk}, true where key j <= query i (top-left aligned, as PyTorch's
/// is_causal). tk defaults to tq.
Tensor causal_mask(int64_t tq, std::optional<int64_t> tk = {});

// ---- Scaled dot-product attention -------------------------------------------------------------

/// Options of scaled_dot_product_attention.
struct AttentionOptions {
  std::optional<Tensor> mask{};   ///< boolean/0-1, broadcast to the scores; true = attend
  bool is_causal = false;         ///< also mask keys after the query (causal_mask)
  double dropout_rate = 0.0;      ///< dropout on the attention weights (Train mode only)
  std::optional<Tensor> key{};    ///< dropout key (fn::dropout's); needed for rate > 0 in Train
  Mode mode = Mode::Inference;    ///< dropout applies in Train mode only
  std::optional<double> scale{};  ///< multiplies q·k; default 1 / sqrt(head_dim)
};

/// The attention output and the attention weights (softmax probabilities after masking and
/// dropout), {B, heads, Tq, Tk} (or {B, Tq, Tk} for rank-3 inputs).
struct AttentionResult {
  Tensor output;
  Tensor weights;
};

/// softmax(q kᵀ · scale, masked) v: q {B, H, Tq, hd}, k {B, H, Tk, hd}, v {B, H, Tk, hv} ->
/// {B, H, Tq, hv}; rank-3 inputs {B, T, D} are one head.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const AttentionOptions& opts = {});
/// scaled_dot_product_attention that also returns the attention weights.
AttentionResult scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                          const Tensor& value,
                                                          const AttentionOptions& opts = {});

// ---- Multi-head attention ---------------------------------------------------------------------

/// The projections of multi_head_attention. Kernels have fn::dense's layout {in, out} (the
/// transpose of PyTorch's Linear weight): wq {Dq, D}, wk {Dk, D}, wv {Dv, D}, wo {D, D}.
/// A bias left unset is not added. As a Tree: a map with keys "wq", "bq", ..., "wo", "bo"
/// (biases may be absent).
struct AttentionWeights {
  Tensor wq;
  std::optional<Tensor> bq{};
  Tensor wk;
  std::optional<Tensor> bk{};
  Tensor wv;
  std::optional<Tensor> bv{};
  Tensor wo;
  std::optional<Tensor> bo{};
};

/// Options of multi_head_attention.
struct MultiHeadAttentionOptions {
  int64_t num_heads = 1;         ///< must divide the model width D (wq's output size)
  std::optional<Tensor> mask{};  ///< as AttentionOptions::mask, over {B, heads, Tq, Tk}
  bool is_causal = false;        ///< mask keys after the query
  double dropout_rate = 0.0;     ///< dropout on the attention weights (Train mode only)
  std::optional<Tensor> key{};   ///< dropout key; required when rate > 0 in Train mode
  Mode mode = Mode::Inference;
};

/// torch.nn.MultiheadAttention(batch_first=True): query_in {B, Tq, Dq}, key_in {B, Tk, Dk},
/// value_in {B, Tk, Dv} -> {B, Tq, D}. PyTorch's in_proj_weight rows [0, D), [D, 2D), [2D, 3D)
/// are wqᵀ, wkᵀ, wvᵀ.
Tensor multi_head_attention(const Tensor& query_in, const Tensor& key_in, const Tensor& value_in,
                            const AttentionWeights& weights,
                            const MultiHeadAttentionOptions& opts = {});
/// multi_head_attention with the weights as a Tree (see AttentionWeights).
Tensor multi_head_attention(const Tensor& query_in, const Tensor& key_in, const Tensor& value_in,
                            const nx::Tree& weights, const MultiHeadAttentionOptions& opts = {});
/// multi_head_attention that also returns the per-head attention weights {B, heads, Tq, Tk}
/// (PyTorch's average_attn_weights=False; average over axis 1 for its default).
AttentionResult multi_head_attention_with_weights(const Tensor& query_in, const Tensor& key_in,
                                                  const Tensor& value_in,
                                                  const AttentionWeights& weights,
                                                  const MultiHeadAttentionOptions& opts = {});
/// AttentionWeights from a Tree with keys "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo".
AttentionWeights attention_weights_from_tree(const nx::Tree& weights);

// ---- Position embeddings ----------------------------------------------------------------------

/// Options of sinusoidal_position_embedding.
struct SinusoidalOptions {
  double base = 10000.0;  ///< the wavelength base of Vaswani et al.
  nx::DType dtype = nx::f32;
};
/// Vaswani et al.'s table {seq_len, dim}: PE[p, 2i] = sin(p / base^(2i/dim)),
/// PE[p, 2i+1] = cos(p / base^(2i/dim)) (interleaved; an odd dim drops the last cosine).
Tensor sinusoidal_position_embedding(int64_t seq_len, int64_t dim,
                                     const SinusoidalOptions& opts = {});
/// x {B, T, D} plus the first T rows of a learned table {max_len, D}.
Tensor learned_position_embedding(const Tensor& x, const Tensor& table);

/// Options of apply_rotary_embedding.
struct RotaryOptions {
  double base = 10000.0;
  /// Positions of the sequence axis: {T}, or {B, T} with B = x's axis 0; default 0 .. T-1.
  std::optional<Tensor> positions{};
};
/// Rotary position embedding (RoFormer) on x {..., T, head_dim}, in the GPT-NeoX/LLaMA
/// (Hugging Face) half-split form: with x1 = x[..., :hd/2], x2 = x[..., hd/2:] and
/// θ_i = p · base^(-2i/hd), the result is [x1 cos θ - x2 sin θ, x2 cos θ + x1 sin θ].
/// head_dim must be even.
Tensor apply_rotary_embedding(const Tensor& x, const RotaryOptions& opts = {});

// ---- Transformer encoder block ----------------------------------------------------------------

/// The parameters of transformer_encoder_block (kernels {in, out}; layer-norm scale "gamma"
/// and offset "beta"). As a Tree: {"self_attention": {wq, bq, ...}, "linear1": {"kernel",
/// "bias"}, "linear2": {...}, "norm1": {"gamma", "beta"}, "norm2": {...}}.
struct TransformerEncoderWeights {
  AttentionWeights self_attention;
  Tensor linear1_kernel;           ///< {D, F}
  Tensor linear1_bias;             ///< {F}
  Tensor linear2_kernel;           ///< {F, D}
  Tensor linear2_bias;             ///< {D}
  Tensor norm1_gamma, norm1_beta;  ///< {D}
  Tensor norm2_gamma, norm2_beta;  ///< {D}
};

/// Options of transformer_encoder_block (torch.nn.TransformerEncoderLayer's names/defaults).
struct TransformerEncoderOptions {
  int64_t num_heads = 1;
  std::string activation = "relu";  ///< "relu" or "gelu" (exact, erf-based, as torch's)
  bool norm_first = false;          ///< false: post-norm (torch's default); true: pre-norm
  double epsilon = 1e-5;            ///< layer-norm epsilon
  double dropout_rate = 0.0;        ///< on attention weights, after attention, in and after the MLP
  std::optional<Tensor> mask{};     ///< attention mask, as MultiHeadAttentionOptions::mask
  bool is_causal = false;
  Mode mode = Mode::Inference;
  std::optional<Tensor> key{};  ///< dropout key; required when rate > 0 in Train mode
};

/// torch.nn.TransformerEncoderLayer(batch_first=True) on x {B, T, D}: self-attention and a
/// two-layer MLP, each with a residual connection and layer norm (after it, or before it when
/// norm_first).
Tensor transformer_encoder_block(const Tensor& x, const TransformerEncoderWeights& weights,
                                 const TransformerEncoderOptions& opts = {});
/// transformer_encoder_block with the weights as a Tree (see TransformerEncoderWeights).
Tensor transformer_encoder_block(const Tensor& x, const nx::Tree& weights,
                                 const TransformerEncoderOptions& opts = {});

}  // namespace axon::fn
