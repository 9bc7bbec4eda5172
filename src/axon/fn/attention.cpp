// Scaled dot-product attention and its masks.
//
// The scores of every batch and head are one dot_general with batch axes (no reshapes or
// transposes of q, k, v), so the backend sees batched matmuls over {B, H}. The softmax is
// nx::softmax when nothing is masked; with a mask it is written out so that masked scores are
// -inf before the exponential and a row with no visible key divides by 1 instead of 0: its
// weights, output and gradients are zero rather than NaN.
#include <cmath>
#include <string>

#include "attention_internal.hpp"
#include "axon/fn/attention.hpp"
#include "axon/fn/dropout.hpp"
#include "check.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace axon::fn {
namespace {

using detail::describe;
using detail::fail;

constexpr std::string_view kSdpa = "scaled_dot_product_attention";

// "{2, 1, 5}": a shape for error messages.
std::string shape_text(const nx::Shape& s) {
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v) {
  for (auto [name, t] : {std::pair{"query", &q}, {"key", &k}, {"value", &v}}) {
    if (t->rank() != 3 && t->rank() != 4) {
      fail(kSdpa, std::string(name) +
                      " must have rank 4 {batch, heads, seq, head_dim} or 3 {batch, seq, dim}, "
                      "got " +
                      describe(*t));
    }
    detail::check_float(kSdpa, name, *t);
  }
  if (k.rank() != q.rank() || v.rank() != q.rank()) {
    fail(kSdpa, "query, key and value must have the same rank, got " + describe(q) + ", " +
                    describe(k) + ", " + describe(v));
  }
  const int64_t r = q.rank();
  for (int64_t a = 0; a < r - 2; ++a) {
    if (k.axis_size(a) != q.axis_size(a) || v.axis_size(a) != q.axis_size(a)) {
      fail(kSdpa, "query, key and value must agree on the batch (and head) axes, got " +
                      describe(q) + ", " + describe(k) + ", " + describe(v));
    }
  }
  if (k.axis_size(r - 1) != q.axis_size(r - 1)) {
    fail(kSdpa, "key must have query's head_dim " + std::to_string(q.axis_size(r - 1)) + ", got " +
                    describe(k));
  }
  if (v.axis_size(r - 2) != k.axis_size(r - 2)) {
    fail(kSdpa, "value must have key's sequence length " + std::to_string(k.axis_size(r - 2)) +
                    ", got " + describe(v));
  }
}

}  // namespace

namespace detail {

void check_attention_mask(std::string_view fn, const Tensor& mask, const nx::Shape& scores) {
  bool ok = mask.rank() <= static_cast<int64_t>(scores.size());
  for (int64_t i = 1; ok && i <= mask.rank(); ++i) {
    const int64_t m = mask.axis_size(mask.rank() - i);
    ok = m == 1 || m == scores[scores.size() - static_cast<size_t>(i)];
  }
  if (!ok) {
    fail(fn, "mask must broadcast to the attention scores " + shape_text(scores) + ", got " +
                 describe(mask));
  }
}

}  // namespace detail

namespace {

// The mask as pred, checked to broadcast to the scores' shape.
Tensor mask_as_pred(const Tensor& mask, const nx::Shape& scores) {
  detail::check_attention_mask(kSdpa, mask, scores);
  return mask.dtype() == nx::pred ? mask : nx::not_equal(mask, Tensor(0));
}

// The combined mask (user mask and causal), or an undefined tensor when nothing is masked.
Tensor combined_mask(const AttentionOptions& opts, const nx::Shape& scores) {
  Tensor mask;
  if (opts.mask) mask = mask_as_pred(*opts.mask, scores);
  if (opts.is_causal) {
    Tensor causal = causal_mask(scores[scores.size() - 2], scores.back());
    mask = mask.defined() ? nx::logical_and(mask, causal) : causal;
  }
  return mask;
}

// Softmax over the last axis where `mask` is true; rows with no true entry are all zero.
Tensor masked_softmax(const Tensor& scores, const Tensor& mask) {
  const Tensor neg_inf(-INFINITY);
  Tensor s = nx::select(mask, scores, neg_inf);
  Tensor m = nx::stop_grad(nx::reduce_max(s, {.axes = nx::Axes{-1}, .keep_axes = true}));
  m = nx::select(nx::is_finite(m), m, Tensor(0));
  Tensor e = nx::exp(s - m);
  Tensor d = nx::sum(e, {.axes = nx::Axes{-1}, .keep_axes = true});
  return e / nx::select(nx::greater(d, Tensor(0)), d, Tensor(1));
}

Tensor apply_dropout(const Tensor& w, const AttentionOptions& opts) {
  if (opts.mode != Mode::Train || opts.dropout_rate == 0.0) return w;
  if (!opts.key) fail(kSdpa, "dropout_rate > 0 in Train mode needs a dropout key");
  return dropout(w, *opts.key, {.rate = opts.dropout_rate, .mode = Mode::Train}).output;
}

}  // namespace

Tensor padding_mask(const Tensor& lengths, int64_t max_len) {
  if (lengths.rank() != 1) {
    fail("padding_mask", "lengths must have rank 1 {batch}, got " + describe(lengths));
  }
  if (max_len < 0) fail("padding_mask", "max_len must be >= 0, got " + std::to_string(max_len));
  Tensor pos = nx::iota({1, max_len}, 1, nx::s64);
  Tensor len = nx::reshape(nx::as_type(lengths, nx::s64), {lengths.axis_size(0), 1});
  Tensor m = nx::less(pos, len);
  return nx::reshape(m, {lengths.axis_size(0), 1, 1, max_len});
}

Tensor causal_mask(int64_t tq, std::optional<int64_t> tk) {
  const int64_t k = tk.value_or(tq);
  if (tq < 0 || k < 0) {
    fail("causal_mask", "sizes must be >= 0, got " + std::to_string(tq) + ", " + std::to_string(k));
  }
  return nx::less_equal(nx::iota({tq, k}, 1, nx::s32), nx::iota({tq, k}, 0, nx::s32));
}

AttentionResult scaled_dot_product_attention_with_weights(const Tensor& query, const Tensor& key,
                                                          const Tensor& value,
                                                          const AttentionOptions& opts) {
  check_inputs(query, key, value);
  if (!(opts.dropout_rate >= 0.0 && opts.dropout_rate < 1.0)) {
    fail(kSdpa, "dropout_rate must be in [0, 1), got " + std::to_string(opts.dropout_rate));
  }
  const int64_t r = query.rank();
  const double scale =
      opts.scale.value_or(1.0 / std::sqrt(static_cast<double>(query.axis_size(r - 1))));
  nx::Axes batch;
  for (int64_t a = 0; a < r - 2; ++a) batch.push_back(a);
  // Scaling q (Tq·hd values) is cheaper than scaling the scores (Tq·Tk); PyTorch does the same.
  Tensor q = scale == 1.0 ? query : query * Tensor(scale);
  Tensor scores = nx::dot(q, {r - 1}, batch, key, {r - 1}, batch);
  Tensor mask = combined_mask(opts, scores.shape());
  Tensor w = mask.defined() ? masked_softmax(scores, mask) : nx::softmax(scores, {-1});
  w = apply_dropout(w, opts);
  Tensor out = nx::dot(w, {r - 1}, batch, value, {r - 2}, batch);
  return {out, w};
}

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const AttentionOptions& opts) {
  return scaled_dot_product_attention_with_weights(query, key, value, opts).output;
}

}  // namespace axon::fn
