// axon::fn position embeddings (NumPy transcriptions of the formulas) and the transformer
// encoder block (torch.nn.TransformerEncoderLayer with copied weights). Reference data:
// data/gen_attention.py.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "axon/fn/attention.hpp"
#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"
#include "nx/random.hpp"

namespace {

using axon::fn::Mode;
using fn_test::ref;
using nx::Tensor;

constexpr double kRtol = 2e-4, kAtol = 2e-5;

Tensor r(const std::string& key) {
  return ref("attention", key);
}

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

// ---- position embeddings ----------------------------------------------------------------------

TEST(FnAttentionPosition, SinusoidalMatchesFormula) {
  fn_test::expect_close(axon::fn::sinusoidal_position_embedding(7, 6), r("sinusoidal.even"), 1e-5,
                        1e-6, "even");
  fn_test::expect_close(axon::fn::sinusoidal_position_embedding(7, 5), r("sinusoidal.odd"), 1e-5,
                        1e-6, "odd");
  fn_test::expect_close(axon::fn::sinusoidal_position_embedding(64, 16), r("sinusoidal.long"), 1e-5,
                        1e-6, "long");
  Tensor f64 = axon::fn::sinusoidal_position_embedding(3, 4, {.dtype = nx::f64});
  EXPECT_EQ(f64.dtype(), nx::f64);
  expect_error([] { axon::fn::sinusoidal_position_embedding(3, 0); },
               {"axon::fn::sinusoidal_position_embedding", "dim > 0"});
}

TEST(FnAttentionPosition, RotaryMatchesNumpy) {
  fn_test::check_forward_and_grads(
      [](const std::vector<Tensor>& in) { return axon::fn::apply_rotary_embedding(in[0]); },
      {r("rotary.x")}, r("rotary.out"), r("rotary.ct"), {0}, {r("rotary.grad")}, 1e-5, 1e-6,
      "rotary");
}

TEST(FnAttentionPosition, RotaryWithBatchedPositions) {
  Tensor pos = r("rotary_pos.positions");
  fn_test::check_forward_and_grads(
      [&](const std::vector<Tensor>& in) {
        return axon::fn::apply_rotary_embedding(in[0], {.base = 500, .positions = pos});
      },
      {r("rotary_pos.x")}, r("rotary_pos.out"), r("rotary_pos.ct"), {0}, {r("rotary_pos.grad")},
      1e-5, 1e-5, "rotary positions");
  // {T} positions equal the default when they are 0 .. T-1.
  Tensor x = r("rotary.x");
  fn_test::expect_close(axon::fn::apply_rotary_embedding(x, {.positions = nx::iota({5}, nx::s32)}),
                        axon::fn::apply_rotary_embedding(x), 0, 0, "iota positions");
  expect_error(
      [&] {
        axon::fn::apply_rotary_embedding(nx::zeros({2, 5, 7}));
      },
      {"axon::fn::apply_rotary_embedding", "must be even"});
  expect_error([&] { axon::fn::apply_rotary_embedding(x, {.positions = nx::iota({4}, nx::s32)}); },
               {"apply_rotary_embedding", "positions must be {5}"});
}

TEST(FnAttentionPosition, LearnedAddsTheTablePrefix) {
  Tensor x = nx::random::normal(nx::random::key(1), {2, 3, 4});
  Tensor table = nx::random::normal(nx::random::key(2), {5, 4});
  Tensor y = axon::fn::learned_position_embedding(x, table);
  fn_test::expect_close(y, x + nx::slice_along_axis(table, 0, 3, 0), 0, 0, "forward");
  // d/dtable of sum(y * ct): rows 0..2 get ct summed over the batch, rows 3..4 nothing.
  Tensor ct = nx::random::normal(nx::random::key(3), {2, 3, 4});
  Tensor g = nx::grad(table, [&](const Tensor& t) {
    return nx::sum(axon::fn::learned_position_embedding(x, t) * ct);
  });
  Tensor expect = nx::concatenate({nx::sum(ct, {.axes = nx::Axes{0}}), nx::zeros({2, 4})}, 0);
  fn_test::expect_close(g, expect, 1e-6, 1e-6, "grad");
  expect_error(
      [&] {
        axon::fn::learned_position_embedding(x, nx::zeros({2, 4}));
      },
      {"axon::fn::learned_position_embedding", "max_len >= 3"});
}

// ---- transformer encoder block ----------------------------------------------------------------

// Inputs as gen_attention.py orders them: x, wq, bq, wk, bk, wv, bv, wo, bo, linear1 kernel
// and bias, linear2 kernel and bias, norm1 gamma and beta, norm2 gamma and beta.
axon::fn::TransformerEncoderWeights block_weights(const std::vector<Tensor>& in) {
  return {.self_attention = {in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8]},
          .linear1_kernel = in[9],
          .linear1_bias = in[10],
          .linear2_kernel = in[11],
          .linear2_bias = in[12],
          .norm1_gamma = in[13],
          .norm1_beta = in[14],
          .norm2_gamma = in[15],
          .norm2_beta = in[16]};
}

void check_block(const std::string& activation, bool norm_first) {
  const std::string name = "encoder_" + activation + (norm_first ? "_pre" : "_post");
  std::vector<Tensor> inputs, grads;
  std::vector<size_t> wrt;
  for (size_t i = 0; i < 17; ++i) {
    inputs.push_back(r(name + ".in" + std::to_string(i)));
    grads.push_back(r(name + ".grad" + std::to_string(i)));
    wrt.push_back(i);
  }
  axon::fn::TransformerEncoderOptions opts{
      .num_heads = 2, .activation = activation, .norm_first = norm_first};
  fn_test::check_forward_and_grads(
      [&](const std::vector<Tensor>& in) {
        return axon::fn::transformer_encoder_block(in[0], block_weights(in), opts);
      },
      inputs, r(name + ".out"), r(name + ".ct"), wrt, grads, 5e-4, 5e-5, name);
}

TEST(FnAttentionEncoder, PostNormRelu) {
  check_block("relu", false);
}
TEST(FnAttentionEncoder, PreNormRelu) {
  check_block("relu", true);
}
TEST(FnAttentionEncoder, PostNormGelu) {
  check_block("gelu", false);
}
TEST(FnAttentionEncoder, PreNormGelu) {
  check_block("gelu", true);
}

nx::Tree block_tree(const std::vector<Tensor>& in) {
  return nx::Tree::map({{"self_attention", nx::Tree::map({{"wq", in[1]},
                                                          {"bq", in[2]},
                                                          {"wk", in[3]},
                                                          {"bk", in[4]},
                                                          {"wv", in[5]},
                                                          {"bv", in[6]},
                                                          {"wo", in[7]},
                                                          {"bo", in[8]}})},
                        {"linear1", nx::Tree::map({{"kernel", in[9]}, {"bias", in[10]}})},
                        {"linear2", nx::Tree::map({{"kernel", in[11]}, {"bias", in[12]}})},
                        {"norm1", nx::Tree::map({{"gamma", in[13]}, {"beta", in[14]}})},
                        {"norm2", nx::Tree::map({{"gamma", in[15]}, {"beta", in[16]}})}});
}

TEST(FnAttentionEncoder, TreeWeightsJitAndDropout) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < 17; ++i) in.push_back(r("encoder_relu_post.in" + std::to_string(i)));
  nx::Tree tree = block_tree(in);
  auto f = nx::jit([](const Tensor& x, const nx::Tree& w) {
    return axon::fn::transformer_encoder_block(x, w, {.num_heads = 2});
  });
  fn_test::expect_close(f(in[0], tree), r("encoder_relu_post.out"), kRtol, kAtol, "jit tree");
  // Train-mode dropout: deterministic for a key, different from inference, eager == jit.
  axon::fn::TransformerEncoderOptions train{
      .num_heads = 2, .dropout_rate = 0.2, .mode = Mode::Train, .key = nx::random::key(9)};
  Tensor a = axon::fn::transformer_encoder_block(in[0], tree, train);
  Tensor b = axon::fn::transformer_encoder_block(in[0], tree, train);
  fn_test::expect_close(a, b, 0, 0, "same key");
  auto g = nx::jit([&](const Tensor& x, const nx::Tree& w, const Tensor& key) {
    axon::fn::TransformerEncoderOptions o = train;
    o.key = key;
    return axon::fn::transformer_encoder_block(x, w, o);
  });
  fn_test::expect_close(g(in[0], tree, nx::random::key(9)), a, 1e-5, 1e-6, "jit dropout");
  EXPECT_GT(nx::reduce_max(nx::abs(a - r("encoder_relu_post.out"))).item<float>(), 1e-3);
  // A padding mask: the first sequence's padded positions don't change its other outputs.
  Tensor lengths = nx::from_vector(std::vector<int64_t>{3, 5});
  axon::fn::TransformerEncoderOptions masked{.num_heads = 2,
                                             .mask = axon::fn::padding_mask(lengths, 5)};
  Tensor y = axon::fn::transformer_encoder_block(in[0], tree, masked);
  Tensor x2 = nx::put_slice(in[0], {0, 3, 0}, nx::full({1, 2, 8}, 7.0));
  Tensor y2 = axon::fn::transformer_encoder_block(x2, tree, masked);
  fn_test::expect_close(nx::slice(y2, {0, 0, 0}, {1, 3, 8}), nx::slice(y, {0, 0, 0}, {1, 3, 8}),
                        1e-5, 1e-6, "padding ignored");
}

TEST(FnAttentionEncoder, Errors) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < 17; ++i) in.push_back(r("encoder_relu_post.in" + std::to_string(i)));
  expect_error(
      [&] {
        axon::fn::transformer_encoder_block(in[0], block_weights(in),
                                            {.num_heads = 2, .activation = "tanh"});
      },
      {"axon::fn::transformer_encoder_block", "activation must be", "tanh"});
  expect_error(
      [&] { axon::fn::transformer_encoder_block(in[0], block_weights(in), {.num_heads = 3}); },
      {"multi_head_attention", "num_heads (3)"});
  expect_error(
      [&] {
        axon::fn::transformer_encoder_block(
            in[0], block_weights(in), {.num_heads = 2, .dropout_rate = 0.1, .mode = Mode::Train});
      },
      {"transformer_encoder_block", "dropout key"});
  nx::Tree partial = nx::Tree::map({{"self_attention", block_tree(in)["self_attention"]}});
  expect_error([&] { axon::fn::transformer_encoder_block(in[0], partial, {.num_heads = 2}); },
               {"transformer_encoder_block", "missing \"linear1.kernel\""});
}

}  // namespace
