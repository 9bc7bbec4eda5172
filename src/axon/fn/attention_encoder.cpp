// The transformer encoder block: torch.nn.TransformerEncoderLayer(batch_first=True).
#include <string>

#include "axon/fn/activations.hpp"
#include "axon/fn/attention.hpp"
#include "axon/fn/dropout.hpp"
#include "axon/fn/linear.hpp"
#include "axon/fn/normalization.hpp"
#include "check.hpp"
#include "nx/nx.hpp"
#include "nx/random.hpp"

namespace axon::fn {
namespace {

using detail::describe;
using detail::fail;

constexpr std::string_view kBlock = "transformer_encoder_block";

const Tensor& leaf(const nx::Tree& t, std::string_view a, std::string_view b) {
  const nx::Tree* outer = t.find(a);
  const nx::Tree* inner = outer && outer->is_map() ? outer->find(b) : nullptr;
  if (!inner) {
    fail(kBlock, "weights is missing \"" + std::string(a) + "." + std::string(b) + "\"");
  }
  return inner->leaf();
}

}  // namespace

Tensor transformer_encoder_block(const Tensor& x, const TransformerEncoderWeights& w,
                                 const TransformerEncoderOptions& opts) {
  detail::check_rank(kBlock, "x", x, 3);
  if (opts.activation != "relu" && opts.activation != "gelu") {
    fail(kBlock, "activation must be \"relu\" or \"gelu\", got \"" + opts.activation + "\"");
  }
  if (!(opts.dropout_rate >= 0.0 && opts.dropout_rate < 1.0)) {
    fail(kBlock, "dropout_rate must be in [0, 1), got " + std::to_string(opts.dropout_rate));
  }
  const bool dropping = opts.mode == Mode::Train && opts.dropout_rate > 0.0;
  if (dropping && !opts.key) fail(kBlock, "dropout_rate > 0 in Train mode needs a dropout key");
  const int64_t d = x.axis_size(2);
  for (const Tensor* t : {&w.norm1_gamma, &w.norm1_beta, &w.norm2_gamma, &w.norm2_beta}) {
    if (t->rank() != 1 || t->axis_size(0) != d) {
      fail(kBlock, "layer-norm parameters must have shape {" + std::to_string(d) + "}, got " +
                       describe(*t));
    }
  }
  // One key each for the attention weights, the attention output, the MLP's hidden layer and
  // its output (PyTorch's self_attn.dropout, dropout1, dropout, dropout2).
  Tensor keys = dropping ? nx::random::split(*opts.key, 4) : Tensor();
  auto key_at = [&](int64_t i) { return nx::reshape(nx::slice_along_axis(keys, i, 1, 0), {2}); };
  auto maybe_drop = [&](const Tensor& t, int64_t i) {
    if (!dropping) return t;
    return dropout(t, key_at(i), {.rate = opts.dropout_rate, .mode = Mode::Train}).output;
  };
  auto norm = [&](const Tensor& t, const Tensor& gamma, const Tensor& beta) {
    return layer_norm(t, gamma, beta, {.epsilon = opts.epsilon});
  };
  auto self_attention = [&](const Tensor& t) {
    MultiHeadAttentionOptions mha{.num_heads = opts.num_heads,
                                  .mask = opts.mask,
                                  .is_causal = opts.is_causal,
                                  .dropout_rate = opts.dropout_rate,
                                  .mode = opts.mode};
    if (dropping) mha.key = key_at(0);
    return maybe_drop(multi_head_attention(t, t, t, w.self_attention, mha), 1);
  };
  auto feed_forward = [&](const Tensor& t) {
    Tensor h = dense(t, w.linear1_kernel, w.linear1_bias);
    h = opts.activation == "gelu" ? gelu(h) : relu(h);
    return maybe_drop(dense(maybe_drop(h, 2), w.linear2_kernel, w.linear2_bias), 3);
  };
  if (opts.norm_first) {
    Tensor h = x + self_attention(norm(x, w.norm1_gamma, w.norm1_beta));
    return h + feed_forward(norm(h, w.norm2_gamma, w.norm2_beta));
  }
  Tensor h = norm(x + self_attention(x), w.norm1_gamma, w.norm1_beta);
  return norm(h + feed_forward(h), w.norm2_gamma, w.norm2_beta);
}

Tensor transformer_encoder_block(const Tensor& x, const nx::Tree& weights,
                                 const TransformerEncoderOptions& opts) {
  if (!weights.is_map() || !weights.find("self_attention")) {
    fail(kBlock,
         "weights must be a map tree with self_attention, linear1, linear2, norm1 and "
         "norm2");
  }
  TransformerEncoderWeights w{
      .self_attention = attention_weights_from_tree(weights["self_attention"]),
      .linear1_kernel = leaf(weights, "linear1", "kernel"),
      .linear1_bias = leaf(weights, "linear1", "bias"),
      .linear2_kernel = leaf(weights, "linear2", "kernel"),
      .linear2_bias = leaf(weights, "linear2", "bias"),
      .norm1_gamma = leaf(weights, "norm1", "gamma"),
      .norm1_beta = leaf(weights, "norm1", "beta"),
      .norm2_gamma = leaf(weights, "norm2", "gamma"),
      .norm2_beta = leaf(weights, "norm2", "beta")};
  return transformer_encoder_block(x, w, opts);
}

}  // namespace axon::fn
