// axon::fn attention: scaled dot-product and multi-head attention against PyTorch (a torch
// transcription of F.scaled_dot_product_attention, nn.MultiheadAttention with copied weights),
// masks, dropout, and errors. Reference data: data/gen_attention.py.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "axon/fn/attention.hpp"
#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"
#include "nx/random.hpp"

namespace {

using axon::fn::AttentionOptions;
using axon::fn::AttentionWeights;
using axon::fn::Mode;
using fn_test::ref;
using nx::Tensor;

constexpr double kRtol = 2e-4, kAtol = 2e-5;

Tensor r(const std::string& key) {
  return ref("attention", key);
}

// The reference case `name`: its n inputs, out, ct and n gradients.
struct Case {
  std::vector<Tensor> inputs, grads;
  Tensor out, ct;
};
Case load(const std::string& name, size_t n) {
  Case c;
  for (size_t i = 0; i < n; ++i) {
    c.inputs.push_back(r(name + ".in" + std::to_string(i)));
    c.grads.push_back(r(name + ".grad" + std::to_string(i)));
  }
  c.out = r(name + ".out");
  c.ct = r(name + ".ct");
  return c;
}

std::vector<size_t> all(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

void check_sdpa(const std::string& name, const AttentionOptions& opts) {
  Case c = load(name, 3);
  fn_test::check_forward_and_grads(
      [&](const std::vector<Tensor>& in) {
        return axon::fn::scaled_dot_product_attention(in[0], in[1], in[2], opts);
      },
      c.inputs, c.out, c.ct, all(3), c.grads, kRtol, kAtol, name);
}

// Expects f to throw nx::Error whose message contains every one of `parts`.
template <class F>
void expect_error(F f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing " << parts.at(0);
  } catch (const nx::Error& e) {
    for (const std::string& p : parts) {
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
}

TEST(FnAttention, SdpaMatchesTorch) {
  check_sdpa("sdpa_plain", {});
}

TEST(FnAttention, SdpaBooleanMask) {
  check_sdpa("sdpa_mask", {.mask = r("sdpa_mask.mask")});
  // The same mask as 0/1 floats.
  check_sdpa("sdpa_mask", {.mask = nx::as_type(r("sdpa_mask.mask"), nx::f32)});
}

TEST(FnAttention, SdpaPaddingMaskHelperCombinedWithHeadMask) {
  Tensor pad = axon::fn::padding_mask(r("sdpa_mask.lengths"), 6);
  EXPECT_EQ(pad.shape(), (nx::Shape{2, 1, 1, 6}));
  EXPECT_EQ(pad.dtype(), nx::pred);
  // gen_attention.py built mask = padding & head mask; recover the head part where padding is on.
  Tensor mask = nx::logical_and(pad, r("sdpa_mask.mask"));
  check_sdpa("sdpa_mask", {.mask = mask});
}

TEST(FnAttention, SdpaCausal) {
  check_sdpa("sdpa_causal", {.is_causal = true});
  check_sdpa("sdpa_causal", {.mask = axon::fn::causal_mask(5)});
  check_sdpa("sdpa_causal_rect", {.is_causal = true});
}

TEST(FnAttention, SdpaCausalWithPaddingMask) {
  check_sdpa("sdpa_causal_pad", {.mask = r("sdpa_causal_pad.mask"), .is_causal = true});
}

TEST(FnAttention, SdpaRank3AndScale) {
  check_sdpa("sdpa_rank3", {.scale = 0.7});
}

TEST(FnAttention, CausalMaskValues) {
  Tensor m = axon::fn::causal_mask(2, 3);
  EXPECT_EQ(m.to_vector<bool>(), (std::vector<bool>{true, false, false, true, true, false}));
}

TEST(FnAttention, FullyMaskedRowGivesZerosAndFiniteGradients) {
  Tensor q = nx::random::normal(nx::random::key(1), {1, 2, 3, 4});
  Tensor k = nx::random::normal(nx::random::key(2), {1, 2, 5, 4});
  Tensor v = nx::random::normal(nx::random::key(3), {1, 2, 5, 4});
  // Query row 1 sees no key; the others see keys 0..2.
  Tensor mask = nx::from_vector(std::vector<bool>{true, true, true, false, false,     //
                                                  false, false, false, false, false,  //
                                                  true, true, true, false, false},
                                nx::Shape{1, 1, 3, 5});
  auto f = [&](const Tensor& qq, const Tensor& kk, const Tensor& vv) {
    return axon::fn::scaled_dot_product_attention_with_weights(qq, kk, vv, {.mask = mask});
  };
  axon::fn::AttentionResult res = f(q, k, v);
  std::vector<float> out = res.output.to_vector<float>();
  std::vector<float> w = res.weights.to_vector<float>();
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(out[static_cast<size_t>(h * 12 + 4 + j)], 0.0f);
    for (int j = 0; j < 5; ++j) EXPECT_EQ(w[static_cast<size_t>(h * 15 + 5 + j)], 0.0f);
  }
  // The visible rows equal attention over the 3 visible keys only.
  Tensor k3 = nx::slice_along_axis(k, 0, 3, 2), v3 = nx::slice_along_axis(v, 0, 3, 2);
  Tensor expect = axon::fn::scaled_dot_product_attention(q, k3, v3);
  Tensor rows = nx::slice_along_axis(res.output, 0, 1, 2);
  fn_test::expect_close(rows, nx::slice_along_axis(expect, 0, 1, 2), 1e-5, 1e-6, "row 0");
  nx::Tree g = nx::grad(nx::Tree::list({q, k, v}), [&](const nx::Tree& t) {
    return nx::sum(f(t[0].leaf(), t[1].leaf(), t[2].leaf()).output);
  });
  for (const Tensor& leaf : nx::tree_leaves(g)) {
    EXPECT_TRUE(nx::all(nx::is_finite(leaf)).item<bool>());
  }
  std::vector<float> gq = g[0].leaf().to_vector<float>();
  for (int h = 0; h < 2; ++h) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(gq[static_cast<size_t>(h * 12 + 4 + j)], 0.0f);
  }
  // Masked keys 3 and 4 get no gradient.
  std::vector<float> gk = g[1].leaf().to_vector<float>();
  for (int h = 0; h < 2; ++h) {
    for (int j = 12; j < 20; ++j) EXPECT_EQ(gk[static_cast<size_t>(h * 20 + j)], 0.0f);
  }
}

TEST(FnAttention, JitEqualsEager) {
  Case c = load("sdpa_causal_pad", 3);
  AttentionOptions opts{.mask = r("sdpa_causal_pad.mask"), .is_causal = true};
  auto f = nx::jit([&](const Tensor& q, const Tensor& k, const Tensor& v) {
    return axon::fn::scaled_dot_product_attention(q, k, v, opts);
  });
  Tensor eager =
      axon::fn::scaled_dot_product_attention(c.inputs[0], c.inputs[1], c.inputs[2], opts);
  fn_test::expect_close(f(c.inputs[0], c.inputs[1], c.inputs[2]), eager, 1e-6, 1e-7, "jit");
}

TEST(FnAttention, DropoutMaskIsExactlyNxRandom) {
  Case c = load("sdpa_plain", 3);
  const Tensor key = nx::random::key(42);
  const double rate = 0.3;
  axon::fn::AttentionResult plain =
      axon::fn::scaled_dot_product_attention_with_weights(c.inputs[0], c.inputs[1], c.inputs[2]);
  axon::fn::AttentionResult dropped = axon::fn::scaled_dot_product_attention_with_weights(
      c.inputs[0], c.inputs[1], c.inputs[2],
      {.dropout_rate = rate, .key = key, .mode = Mode::Train});
  // Axon's dropout (as fn::dropout): keep where uniform(second half of split(key)) < 1 - rate,
  // kept weights scaled by 1 / (1 - rate).
  Tensor u = nx::random::uniform(nx::take(nx::random::split(key), 1), plain.weights.shape());
  Tensor keep = nx::less(u, Tensor(1 - rate));
  Tensor w = nx::select(keep, plain.weights / Tensor(1 - rate), Tensor(0));
  fn_test::expect_close(dropped.weights, w, 1e-6, 0, "dropped weights");
  Tensor out = nx::dot(w, {3}, {0, 1}, c.inputs[2], {2}, {0, 1});
  fn_test::expect_close(dropped.output, out, 1e-5, 1e-6, "dropped output");
  // Inference mode ignores the rate; the same key gives the same result under jit.
  Tensor inference = axon::fn::scaled_dot_product_attention(c.inputs[0], c.inputs[1], c.inputs[2],
                                                            {.dropout_rate = rate, .key = key});
  fn_test::expect_close(inference, plain.output, 0, 0, "inference");
  auto jitted = nx::jit([&](const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& kk) {
    return axon::fn::scaled_dot_product_attention(
        q, k, v, {.dropout_rate = rate, .key = kk, .mode = Mode::Train});
  });
  fn_test::expect_close(jitted(c.inputs[0], c.inputs[1], c.inputs[2], key), dropped.output, 1e-5,
                        1e-6, "jit dropout");
}

TEST(FnAttention, DropoutExpectation) {
  // Over many keys, the mean of the dropped weights approaches the undropped weights.
  Tensor q = nx::random::normal(nx::random::key(5), {1, 1, 4, 8});
  Tensor k = nx::random::normal(nx::random::key(6), {1, 1, 8, 8});
  Tensor v = nx::eye(nx::Shape{1, 1, 8, 8}, nx::f32);  // output = weights
  auto f = nx::jit([&](const Tensor& key) {
    return axon::fn::scaled_dot_product_attention(
        q, k, v, {.dropout_rate = 0.5, .key = key, .mode = Mode::Train});
  });
  Tensor sum = nx::zeros({1, 1, 4, 8});
  const int n = 2000;
  for (int i = 0; i < n; ++i) sum = sum + f(nx::random::fold_in(nx::random::key(7), i));
  Tensor expect = axon::fn::scaled_dot_product_attention(q, k, v);
  fn_test::expect_close(sum / Tensor(n), expect, 0.1, 0.01, "mean over keys");
}

TEST(FnAttention, SdpaErrors) {
  Tensor q = nx::zeros({2, 3, 5, 4}), k = nx::zeros({2, 3, 6, 4}), v = nx::zeros({2, 3, 6, 4});
  expect_error(
      [&] {
        axon::fn::scaled_dot_product_attention(q, k, v, {.mask = nx::zeros({5, 5})});
      },
      {"axon::fn::scaled_dot_product_attention", "mask must broadcast", "{2, 3, 5, 6}",
       "f32{5, 5}"});
  expect_error(
      [&] {
        axon::fn::scaled_dot_product_attention(q, nx::zeros({2, 3, 6, 3}), v);
      },
      {"scaled_dot_product_attention", "head_dim 4"});
  expect_error(
      [&] {
        axon::fn::scaled_dot_product_attention(nx::zeros({4, 5}), k, v);
      },
      {"scaled_dot_product_attention", "query must have rank 4"});
  expect_error(
      [&] {
        axon::fn::scaled_dot_product_attention(q, k, v, {.dropout_rate = 0.1, .mode = Mode::Train});
      },
      {"scaled_dot_product_attention", "dropout key"});
}

// ---- multi-head attention ---------------------------------------------------------------------

AttentionWeights weights_of(const std::vector<Tensor>& in) {
  return {in[3], in[4], in[5], in[6], in[7], in[8], in[9], in[10]};
}

void check_mha(const std::string& name, const axon::fn::MultiHeadAttentionOptions& opts) {
  Case c = load(name, 11);
  fn_test::check_forward_and_grads(
      [&](const std::vector<Tensor>& in) {
        return axon::fn::multi_head_attention(in[0], in[1], in[2], weights_of(in), opts);
      },
      c.inputs, c.out, c.ct, all(11), c.grads, kRtol, kAtol, name);
  axon::fn::AttentionResult res = axon::fn::multi_head_attention_with_weights(
      c.inputs[0], c.inputs[1], c.inputs[2], weights_of(c.inputs), opts);
  fn_test::expect_close(res.weights, r(name + ".attn"), kRtol, kAtol, name + " weights");
}

TEST(FnAttention, MhaSelfMatchesTorch) {
  check_mha("mha_self", {.num_heads = 2});
}

TEST(FnAttention, MhaCrossWithPaddingMask) {
  Tensor lengths = nx::from_vector(std::vector<int64_t>{4, 6});
  check_mha("mha_cross_pad", {.num_heads = 2, .mask = axon::fn::padding_mask(lengths, 6)});
}

TEST(FnAttention, MhaCausalWithPaddingMask) {
  Tensor lengths = nx::from_vector(std::vector<int64_t>{3, 5});
  check_mha("mha_causal_pad",
            {.num_heads = 2, .mask = axon::fn::padding_mask(lengths, 5), .is_causal = true});
}

TEST(FnAttention, MhaTreeWeightsAndJit) {
  Case c = load("mha_self", 11);
  const std::vector<std::string> names{"wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo"};
  nx::Tree::Map entries;
  for (size_t i = 0; i < names.size(); ++i) entries.push_back({names[i], c.inputs[3 + i]});
  nx::Tree tree = nx::Tree::map(entries);
  auto f = nx::jit([](const Tensor& x, const nx::Tree& w) {
    return axon::fn::multi_head_attention(x, x, x, w, {.num_heads = 2});
  });
  fn_test::expect_close(f(c.inputs[0], tree), c.out, kRtol, kAtol, "jit tree");
  // No biases: the same as zero biases.
  nx::Tree no_bias = nx::Tree::map(
      {{"wq", c.inputs[3]}, {"wk", c.inputs[5]}, {"wv", c.inputs[7]}, {"wo", c.inputs[9]}});
  AttentionWeights zero = weights_of(c.inputs);
  zero.bq = zero.bk = zero.bv = zero.bo = nx::zeros({8});
  fn_test::expect_close(
      axon::fn::multi_head_attention(c.inputs[0], c.inputs[0], c.inputs[0], no_bias,
                                     {.num_heads = 2}),
      axon::fn::multi_head_attention(c.inputs[0], c.inputs[0], c.inputs[0], zero, {.num_heads = 2}),
      1e-6, 1e-7, "no bias");
}

TEST(FnAttention, MhaErrors) {
  Case c = load("mha_self", 11);
  const Tensor& x = c.inputs[0];
  expect_error(
      [&] { axon::fn::multi_head_attention(x, x, x, weights_of(c.inputs), {.num_heads = 3}); },
      {"axon::fn::multi_head_attention", "num_heads (3)", "divide", "8"});
  expect_error(
      [&] {
        axon::fn::multi_head_attention(x, x, x, weights_of(c.inputs),
                                       {.num_heads = 2, .mask = nx::ones({2, 1, 1, 4}, nx::pred)});
      },
      {"axon::fn::multi_head_attention", "mask must broadcast", "{2, 2, 5, 5}",
       "pred{2, 1, 1, 4}"});
  AttentionWeights bad = weights_of(c.inputs);
  bad.wk = nx::zeros({8, 6});
  expect_error([&] { axon::fn::multi_head_attention(x, x, x, bad, {.num_heads = 2}); },
               {"multi_head_attention", "wk and wv must have 8 outputs"});
  expect_error(
      [&] {
        axon::fn::multi_head_attention(x, x, x, nx::Tree::map({{"wq", c.inputs[3]}}));
      },
      {"multi_head_attention", "missing the kernel \"wk\""});
  expect_error(
      [&] {
        axon::fn::multi_head_attention(nx::zeros({5, 8}), x, x, weights_of(c.inputs));
      },
      {"multi_head_attention", "query must have rank 3"});
}

}  // namespace
