// Multi-head attention: torch.nn.MultiheadAttention(batch_first=True) over nx ops.
#include <cmath>
#include <string>

#include "attention_internal.hpp"
#include "axon/fn/attention.hpp"
#include "check.hpp"
#include "nx/nx.hpp"

namespace axon::fn {
namespace {

using detail::describe;
using detail::fail;

constexpr std::string_view kMha = "multi_head_attention";

// x {B, T, in} · kernel {in, out} + bias.
Tensor project(const Tensor& x, const Tensor& kernel, const std::optional<Tensor>& bias,
               std::string_view name) {
  if (kernel.rank() != 2 || kernel.axis_size(0) != x.axis_size(2)) {
    fail(kMha, std::string(name) + " must be a kernel {" + std::to_string(x.axis_size(2)) +
                   ", out} (the input's width first), got " + describe(kernel));
  }
  if (bias && (bias->rank() != 1 || bias->axis_size(0) != kernel.axis_size(1))) {
    fail(kMha, "the bias of " + std::string(name) + " must have shape {" +
                   std::to_string(kernel.axis_size(1)) + "}, got " + describe(*bias));
  }
  Tensor y = nx::dot(x, {2}, kernel, {0});
  return bias ? y + *bias : y;
}

// {B, T, H * hd} -> {B, H, T, hd}.
Tensor split_heads(const Tensor& x, int64_t heads) {
  const nx::Shape& s = x.shape();
  return nx::transpose(nx::reshape(x, {s[0], s[1], heads, s[2] / heads}), {0, 2, 1, 3});
}

// {B, H, T, hd} -> {B, T, H * hd}.
Tensor merge_heads(const Tensor& x) {
  const nx::Shape& s = x.shape();
  return nx::reshape(nx::transpose(x, {0, 2, 1, 3}), {s[0], s[2], s[1] * s[3]});
}

std::optional<Tensor> optional_leaf(const nx::Tree& t, std::string_view key) {
  const nx::Tree* found = t.find(key);
  if (!found) return std::nullopt;
  return found->leaf();
}

}  // namespace

AttentionWeights attention_weights_from_tree(const nx::Tree& weights) {
  if (!weights.is_map()) fail(kMha, "weights must be a map tree with keys wq, bq, ..., wo, bo");
  auto required = [&](std::string_view key) {
    const nx::Tree* found = weights.find(key);
    if (!found) fail(kMha, "weights is missing the kernel \"" + std::string(key) + "\"");
    return found->leaf();
  };
  return {
      required("wq"), optional_leaf(weights, "bq"), required("wk"), optional_leaf(weights, "bk"),
      required("wv"), optional_leaf(weights, "bv"), required("wo"), optional_leaf(weights, "bo")};
}

AttentionResult multi_head_attention_with_weights(const Tensor& query_in, const Tensor& key_in,
                                                  const Tensor& value_in,
                                                  const AttentionWeights& weights,
                                                  const MultiHeadAttentionOptions& opts) {
  detail::check_rank(kMha, "query", query_in, 3);
  detail::check_rank(kMha, "key", key_in, 3);
  detail::check_rank(kMha, "value", value_in, 3);
  if (key_in.axis_size(0) != query_in.axis_size(0) ||
      value_in.axis_size(0) != query_in.axis_size(0) ||
      value_in.axis_size(1) != key_in.axis_size(1)) {
    fail(kMha,
         "query {B, Tq, Dq}, key {B, Tk, Dk} and value {B, Tk, Dv} must agree on B and "
         "Tk, got " +
             describe(query_in) + ", " + describe(key_in) + ", " + describe(value_in));
  }
  const int64_t heads = opts.num_heads;
  const int64_t d = weights.wq.rank() == 2 ? weights.wq.axis_size(1) : -1;
  if (heads <= 0 || d <= 0 || d % heads != 0) {
    fail(kMha, "num_heads (" + std::to_string(heads) +
                   ") must be positive and divide the model width (wq's output size " +
                   std::to_string(d) + ")");
  }
  if (weights.wk.rank() != 2 || weights.wk.axis_size(1) != d || weights.wv.rank() != 2 ||
      weights.wv.axis_size(1) != d || weights.wo.rank() != 2 || weights.wo.axis_size(0) != d) {
    fail(kMha, "wk and wv must have " + std::to_string(d) + " outputs and wo " + std::to_string(d) +
                   " inputs (as wq), got " + describe(weights.wk) + ", " + describe(weights.wv) +
                   ", " + describe(weights.wo));
  }
  if (opts.mask) {
    detail::check_attention_mask(
        kMha, *opts.mask,
        {query_in.axis_size(0), heads, query_in.axis_size(1), key_in.axis_size(1)});
  }
  // The 1/sqrt(head_dim) scale applied to the projected queries joins the projection's
  // bias-add epilogue instead of costing a pass of its own.
  const double scale = 1.0 / std::sqrt(static_cast<double>(d / heads));
  Tensor q = split_heads(project(query_in, weights.wq, weights.bq, "wq") * Tensor(scale), heads);
  Tensor k = split_heads(project(key_in, weights.wk, weights.bk, "wk"), heads);
  Tensor v = split_heads(project(value_in, weights.wv, weights.bv, "wv"), heads);
  AttentionResult r = scaled_dot_product_attention_with_weights(q, k, v,
                                                                {.mask = opts.mask,
                                                                 .is_causal = opts.is_causal,
                                                                 .dropout_rate = opts.dropout_rate,
                                                                 .key = opts.key,
                                                                 .mode = opts.mode,
                                                                 .scale = 1.0});
  return {project(merge_heads(r.output), weights.wo, weights.bo, "wo"), r.weights};
}

Tensor multi_head_attention(const Tensor& query_in, const Tensor& key_in, const Tensor& value_in,
                            const AttentionWeights& weights,
                            const MultiHeadAttentionOptions& opts) {
  return multi_head_attention_with_weights(query_in, key_in, value_in, weights, opts).output;
}

Tensor multi_head_attention(const Tensor& query_in, const Tensor& key_in, const Tensor& value_in,
                            const nx::Tree& weights, const MultiHeadAttentionOptions& opts) {
  return multi_head_attention(query_in, key_in, value_in, attention_weights_from_tree(weights),
                              opts);
}

}  // namespace axon::fn
