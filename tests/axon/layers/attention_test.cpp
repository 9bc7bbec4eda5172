// Attention layers: parameter names and shapes, outputs equal to axon::fn's attention functions
// with the initialised parameters, masks from other models, dropout keys as train-mode state,
// and the position embeddings.
#include <gtest/gtest.h>

#include "../fn/fn_test_helpers.hpp"
#include "axon/compiler.hpp"
#include "axon/fn/attention.hpp"
#include "axon/layers/attention.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;
namespace fn = axon::fn;

Tensor wave(const nx::Shape& shape, double freq = 0.37) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return nx::sin(nx::reshape(nx::arange(0, static_cast<double>(n), 1), shape) * Tensor(freq));
}

void expect_near(const Tensor& a, const Tensor& b, const std::string& what) {
  fn_test::expect_close(a, b, 1e-5, 1e-5, what);
}

fn::TransformerEncoderWeights encoder_weights(const Tree& p) {
  auto g = [&](const char* n) { return p[n].leaf(); };
  return {{g("wq"), g("bq"), g("wk"), g("bk"), g("wv"), g("bv"), g("wo"), g("bo")},
          g("linear1_kernel"),
          g("linear1_bias"),
          g("linear2_kernel"),
          g("linear2_bias"),
          g("norm1_gamma"),
          g("norm1_beta"),
          g("norm2_gamma"),
          g("norm2_beta")};
}

TEST(LayersAttention, SelfAttentionParametersAndValues) {
  auto x = axon::input("x", {axon::kDynamic, 5, 8});
  auto y = axon::multi_head_attention(
      x, {.num_heads = 2, .causal = true, .bias_initializer = fn::init::uniform({.scale = 0.1})});
  auto [init_fn, predict_fn] = axon::build(y);
  axon::ModelState s = init_fn(nx::make_template({2, 5, 8}, nx::f32));
  const Tree& p = s.data["multi_head_attention_0"];
  EXPECT_EQ(p.size(), 8u);
  for (const char* n : {"wq", "wk", "wv", "wo"}) EXPECT_EQ(p[n].leaf().shape(), (nx::Shape{8, 8}));
  for (const char* n : {"bq", "bk", "bv", "bo"}) EXPECT_EQ(p[n].leaf().shape(), (nx::Shape{8}));
  Tensor v = wave({2, 5, 8});
  Tensor out = predict_fn(s, v).leaf();
  EXPECT_EQ(out.shape(), (nx::Shape{2, 5, 8}));
  expect_near(out, fn::multi_head_attention(v, v, v, p, {.num_heads = 2, .is_causal = true}),
              "self-attention");
}

TEST(LayersAttention, CrossAttentionWithWidthMaskAndNoBias) {
  auto q = axon::input("q", {axon::kDynamic, 3, 6});
  auto kv = axon::input("kv", {axon::kDynamic, 4, 5});
  auto lengths = axon::input("lengths", {axon::kDynamic}, {.dtype = nx::s64});
  auto mask = axon::nx_layer(lengths, [](const Tensor& l) { return fn::padding_mask(l, 4); });
  auto y = axon::multi_head_attention(
      q, kv, kv, {.num_heads = 3, .embed_dim = 12, .mask = mask, .use_bias = false});
  auto [init_fn, predict_fn] = axon::build(y);
  axon::ModelState s = init_fn(Tree{{"q", nx::make_template({2, 3, 6}, nx::f32)},
                                    {"kv", nx::make_template({2, 4, 5}, nx::f32)},
                                    {"lengths", nx::make_template({2}, nx::s64)}});
  const Tree& p = s.data["multi_head_attention_0"];
  EXPECT_EQ(p.size(), 4u);
  EXPECT_EQ(p["wq"].leaf().shape(), (nx::Shape{6, 12}));
  EXPECT_EQ(p["wk"].leaf().shape(), (nx::Shape{5, 12}));
  EXPECT_EQ(p["wv"].leaf().shape(), (nx::Shape{5, 12}));
  EXPECT_EQ(p["wo"].leaf().shape(), (nx::Shape{12, 12}));
  Tensor qv = wave({2, 3, 6}), kvv = wave({2, 4, 5}, 0.71);
  Tensor len = nx::from_vector(std::vector<int64_t>{2, 4});
  Tensor out = predict_fn(s, Tree{{"q", qv}, {"kv", kvv}, {"lengths", len}}).leaf();
  EXPECT_EQ(out.shape(), (nx::Shape{2, 3, 12}));
  expect_near(
      out,
      fn::multi_head_attention(qv, kvv, kvv, p, {.num_heads = 3, .mask = fn::padding_mask(len, 4)}),
      "cross-attention");
  EXPECT_THROW(axon::multi_head_attention(q, {.num_heads = 5, .embed_dim = 12}), nx::Error);
  EXPECT_THROW(axon::multi_head_attention(q, {.num_heads = 0}), nx::Error);
  EXPECT_THROW(axon::multi_head_attention(q, {.dropout_rate = 1.0}), nx::Error);
}

TEST(LayersAttention, DropoutKeyIsTrainModeState) {
  auto x = axon::input("x", {axon::kDynamic, 4, 4});
  auto y = axon::multi_head_attention(x, {.num_heads = 2, .dropout_rate = 0.5, .seed = 7});
  auto [init_fn, predict_fn] = axon::build(y, {.mode = axon::Mode::Train});
  axon::ModelState s = init_fn(nx::make_template({2, 4, 4}, nx::f32));
  const Tree& p = s.data["multi_head_attention_0"];
  Tensor key = p["key"].leaf();
  EXPECT_EQ(key.dtype(), nx::u32);
  expect_near(nx::as_type(key, nx::f32), nx::as_type(nx::random::key(7), nx::f32), "seeded key");
  EXPECT_TRUE(s.state.count({"multi_head_attention_0", "key"}));
  Tensor v = wave({2, 4, 4});
  Tree r = predict_fn(s, v);
  Tensor keys = nx::random::split(key);
  Tensor want = fn::multi_head_attention(
      v, v, v, p,
      {.num_heads = 2, .dropout_rate = 0.5, .key = nx::take(keys, 1), .mode = axon::Mode::Train});
  expect_near(r["prediction"].leaf(), want, "train-mode dropout");
  expect_near(nx::as_type(r["state"]["multi_head_attention_0"]["key"].leaf(), nx::f32),
              nx::as_type(nx::take(keys, 0), nx::f32), "next key");
  // Inference: no dropout, no state.
  auto [i2, p2] = axon::build(y);
  expect_near(p2(s, v).leaf(), fn::multi_head_attention(v, v, v, p, {.num_heads = 2}),
              "inference: no dropout");
}

TEST(LayersAttention, TransformerEncoderBlockMatchesFn) {
  auto x = axon::input("x", {axon::kDynamic, 5, 8});
  for (bool norm_first : {false, true}) {
    auto y =
        axon::transformer_encoder_block(x, {.num_heads = 4,
                                            .ff_dim = 16,
                                            .activation = "gelu",
                                            .norm_first = norm_first,
                                            .bias_initializer = fn::init::uniform({.scale = 0.1})});
    auto [init_fn, predict_fn] = axon::build(y);
    axon::ModelState s = init_fn(nx::make_template({2, 5, 8}, nx::f32));
    const Tree& p = s.data["transformer_encoder_block_0"];
    EXPECT_EQ(p.size(), 16u);
    EXPECT_EQ(p["linear1_kernel"].leaf().shape(), (nx::Shape{8, 16}));
    EXPECT_EQ(p["linear1_bias"].leaf().shape(), (nx::Shape{16}));
    EXPECT_EQ(p["linear2_kernel"].leaf().shape(), (nx::Shape{16, 8}));
    EXPECT_EQ(p["norm2_beta"].leaf().shape(), (nx::Shape{8}));
    expect_near(p["norm1_gamma"].leaf(), nx::ones({8}), "gamma starts at ones");
    Tensor v = wave({2, 5, 8});
    expect_near(predict_fn(s, v).leaf(),
                fn::transformer_encoder_block(
                    v, encoder_weights(p),
                    {.num_heads = 4, .activation = "gelu", .norm_first = norm_first}),
                norm_first ? "pre-norm block" : "post-norm block");
  }
  EXPECT_THROW(axon::transformer_encoder_block(x, {.activation = "tanh"}), nx::Error);
  EXPECT_THROW(axon::transformer_encoder_block(x, {.ff_dim = 0}), nx::Error);
}

TEST(LayersAttention, TransformerEncoderBlockWithMaskAndDropout) {
  auto x = axon::input("x", {axon::kDynamic, 4, 6});
  auto m = axon::input("m", {axon::kDynamic, 1, 1, 4}, {.dtype = nx::pred});
  auto y = axon::transformer_encoder_block(
      x, {.num_heads = 2, .ff_dim = 8, .dropout_rate = 0.25, .causal = true, .mask = m});
  auto [init_fn, predict_fn] = axon::build(y, {.mode = axon::Mode::Train});
  axon::ModelState s = init_fn(Tree{{"x", nx::make_template({2, 4, 6}, nx::f32)},
                                    {"m", nx::make_template({2, 1, 1, 4}, nx::pred)}});
  const Tree& p = s.data["transformer_encoder_block_0"];
  EXPECT_EQ(p.size(), 17u);  // the 16 weights and the dropout key
  Tensor v = wave({2, 4, 6});
  Tensor mv = fn::padding_mask(nx::from_vector(std::vector<int64_t>{3, 4}), 4);
  Tree r = predict_fn(s, Tree{{"x", v}, {"m", mv}});
  Tensor keys = nx::random::split(p["key"].leaf());
  Tensor want = fn::transformer_encoder_block(v, encoder_weights(p),
                                              {.num_heads = 2,
                                               .dropout_rate = 0.25,
                                               .mask = mv,
                                               .is_causal = true,
                                               .mode = axon::Mode::Train,
                                               .key = nx::take(keys, 1)});
  expect_near(r["prediction"].leaf(), want, "train-mode block");
  EXPECT_TRUE(r["state"]["transformer_encoder_block_0"].contains("key"));
}

TEST(LayersAttention, PositionEmbeddings) {
  auto x = axon::input("x", {axon::kDynamic, 6, 4});
  Tensor v = wave({2, 6, 4});
  {
    auto [init_fn, predict_fn] =
        axon::build(axon::sinusoidal_position_embedding(x, {.base = 100.0}));
    axon::ModelState s = init_fn(nx::make_template({2, 6, 4}, nx::f32));
    EXPECT_EQ(s.num_parameters(), 0);
    expect_near(predict_fn(s, v).leaf(),
                v + fn::sinusoidal_position_embedding(6, 4, {.base = 100.0}), "sinusoidal");
  }
  {
    auto [init_fn, predict_fn] = axon::build(axon::learned_position_embedding(x, 10));
    axon::ModelState s = init_fn(nx::make_template({2, 6, 4}, nx::f32));
    Tensor table = s.data["learned_position_embedding_0"]["kernel"].leaf();
    EXPECT_EQ(table.shape(), (nx::Shape{10, 4}));
    expect_near(predict_fn(s, v).leaf(), fn::learned_position_embedding(v, table), "learned");
    EXPECT_THROW(axon::learned_position_embedding(x, 0), nx::Error);
  }
}

TEST(LayersAttention, RotaryEmbedding) {
  auto x = axon::input("x", {axon::kDynamic, 2, 5, 4});  // {batch, heads, T, head_dim}
  Tensor v = wave({3, 2, 5, 4});
  auto [init_fn, predict_fn] = axon::build(axon::rotary_embedding(x));
  axon::ModelState s = init_fn(nx::make_template({3, 2, 5, 4}, nx::f32));
  expect_near(predict_fn(s, v).leaf(), fn::apply_rotary_embedding(v), "rotary");
  auto pos = axon::input("pos", nx::Shape{5});
  auto [i2, p2] = axon::build(axon::rotary_embedding(x, {.base = 500.0, .positions = pos}));
  Tensor pv = nx::from_vector(std::vector<float>{3, 4, 5, 6, 7});
  axon::ModelState s2 = i2(Tree{{"x", nx::make_template({3, 2, 5, 4}, nx::f32)},
                                {"pos", nx::make_template({5}, nx::f32)}});
  expect_near(p2(s2, Tree{{"x", v}, {"pos", pv}}).leaf(),
              fn::apply_rotary_embedding(v, {.base = 500.0, .positions = pv}), "rotary positions");
}

}  // namespace
