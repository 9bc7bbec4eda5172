// The attention layers: parameters declared with shape rules over the inputs, the computation
// delegated to axon/fn/attention.hpp, and the dropout key kept as State.
#include "axon/layers/attention.hpp"

#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/random.hpp"

namespace axon {

namespace {

std::string yes(bool b) {
  return b ? "true" : "false";
}

int64_t feature_size(const std::vector<nx::Shape>& s, size_t i, const std::string& op,
                     const char* what) {
  if (i >= s.size() || s[i].size() != 3) {
    throw nx::Error("axon::" + op + ": " + what +
                    " must be a tensor {batch, time, features}, got " +
                    (i < s.size() && !s[i].empty() ? nx::shape_repr(s[i]) : std::string("none")));
  }
  return s[i][2];
}

void check_rate(const std::string& op, double rate) {
  if (!(rate >= 0.0 && rate < 1.0)) {
    throw nx::Error("axon::" + op + ": dropout_rate must be in [0, 1), got " +
                    std::to_string(rate));
  }
}

// The dropout key: a State parameter, from `seed` or (unset) the parameter's own init key.
Param key_param(std::optional<int64_t> seed) {
  fn::init::Initializer init = [seed](const nx::Shape&, nx::DType, const Tensor& k) {
    return seed ? nx::random::key(*seed) : k;
  };
  return param("key", nx::Shape{2},
               {.initializer = std::move(init), .dtype = nx::u32, .kind = ParamKind::State});
}

// Splits the layer's key when dropout runs (train mode, rate > 0): the key to use now, and the
// state update {"key": next}.
struct Keys {
  std::optional<Tensor> use;
  Tree state = Tree();
};
Keys dropout_keys(const LayerCall& c, double rate) {
  if (rate == 0.0 || c.mode != Mode::Train) return {};
  Tensor keys = nx::random::split(c.param("key"));
  return {nx::take(keys, Tensor(int64_t{1})), Tree{{"key", nx::take(keys, Tensor(int64_t{0}))}}};
}

std::optional<Tensor> maybe(bool on, const LayerCall& c, const std::string& name) {
  return on ? std::optional<Tensor>(c.param(name)) : std::nullopt;
}

}  // namespace

Model multi_head_attention(const Model& query, const Model& key, const Model& value,
                           MultiHeadAttentionOptions opts, SourceLocation where) {
  const std::string op = "multi_head_attention";
  if (opts.num_heads <= 0) {
    throw nx::Error("axon::" + op + ": num_heads must be positive, got " +
                    std::to_string(opts.num_heads));
  }
  if (opts.embed_dim < 0 || (opts.embed_dim > 0 && opts.embed_dim % opts.num_heads != 0)) {
    throw nx::Error("axon::" + op + ": embed_dim must be a positive multiple of num_heads (" +
                    std::to_string(opts.num_heads) + "), got " + std::to_string(opts.embed_dim));
  }
  check_rate(op, opts.dropout_rate);
  const int64_t embed = opts.embed_dim;
  auto width = [embed, op](const std::vector<nx::Shape>& s) {
    return embed > 0 ? embed : feature_size(s, 0, op, "the query");
  };
  auto kernel = [&](const char* name, size_t input, const char* what) {
    return param(name, ShapeRule([width, input, what, op](const std::vector<nx::Shape>& s) {
                   return nx::Shape{feature_size(s, input, op, what), width(s)};
                 }),
                 {.initializer = opts.kernel_initializer});
  };
  auto bias = [&](const char* name) {
    return param(
        name, ShapeRule([width](const std::vector<nx::Shape>& s) { return nx::Shape{width(s)}; }),
        {.initializer = opts.bias_initializer});
  };
  std::vector<Param> params{kernel("wq", 0, "the query"), kernel("wk", 1, "the key"),
                            kernel("wv", 2, "the value"),
                            param("wo", ShapeRule([width](const std::vector<nx::Shape>& s) {
                                    return nx::Shape{width(s), width(s)};
                                  }),
                                  {.initializer = opts.kernel_initializer})};
  if (opts.use_bias) {
    for (const char* b : {"bq", "bk", "bv", "bo"}) params.push_back(bias(b));
  }
  if (opts.dropout_rate > 0) params.push_back(key_param(opts.seed));
  std::vector<Model> inputs{query, key, value};
  if (opts.mask) inputs.push_back(*opts.mask);
  const bool has_mask = opts.mask.has_value(), use_bias = opts.use_bias, causal = opts.causal;
  const int64_t heads = opts.num_heads;
  const double rate = opts.dropout_rate;
  return layer(
      [=](const LayerCall& c) {
        Keys k = dropout_keys(c, rate);
        fn::AttentionWeights w{
            c.param("wq"), maybe(use_bias, c, "bq"), c.param("wk"), maybe(use_bias, c, "bk"),
            c.param("wv"), maybe(use_bias, c, "bv"), c.param("wo"), maybe(use_bias, c, "bo")};
        fn::MultiHeadAttentionOptions o{
            .num_heads = heads,
            .mask = has_mask ? std::optional<Tensor>(c.input(3)) : std::nullopt,
            .is_causal = causal,
            .dropout_rate = rate,
            .key = k.use,
            .mode = c.mode};
        return LayerResult{fn::multi_head_attention(c.input(0), c.input(1), c.input(2), w, o),
                           k.state};
      },
      std::move(inputs),
      {.name = std::move(opts.name),
       .op_name = op,
       .params = std::move(params),
       .options = {{"num_heads", std::to_string(heads)},
                   {"embed_dim", embed > 0 ? std::to_string(embed) : "query's"},
                   {"causal", yes(causal)},
                   {"dropout_rate", std::to_string(rate)},
                   {"use_bias", yes(use_bias)}}},
      where);
}

Model multi_head_attention(const Model& x, MultiHeadAttentionOptions opts,
                           SourceLocation where) {
  return multi_head_attention(x, x, x, std::move(opts), where);
}

Model transformer_encoder_block(const Model& x, TransformerEncoderOptions opts,
                                SourceLocation where) {
  const std::string op = "transformer_encoder_block";
  if (opts.num_heads <= 0 || opts.ff_dim <= 0) {
    throw nx::Error("axon::" + op + ": num_heads and ff_dim must be positive, got " +
                    std::to_string(opts.num_heads) + " and " + std::to_string(opts.ff_dim));
  }
  if (opts.activation != "relu" && opts.activation != "gelu") {
    throw nx::Error("axon::" + op + ": activation must be \"relu\" or \"gelu\", got \"" +
                    opts.activation + "\"");
  }
  check_rate(op, opts.dropout_rate);
  if (!(opts.epsilon > 0)) {
    throw nx::Error("axon::" + op + ": epsilon must be positive, got " +
                    std::to_string(opts.epsilon));
  }
  const int64_t ff = opts.ff_dim;
  auto dim = [op](const std::vector<nx::Shape>& s) { return feature_size(s, 0, op, "the input"); };
  auto shaped = [&](const char* name, std::function<nx::Shape(int64_t)> shape,
                    fn::init::Initializer init) {
    return param(name,
                 ShapeRule([dim, shape](const std::vector<nx::Shape>& s) { return shape(dim(s)); }),
                 {.initializer = std::move(init)});
  };
  auto square = [](int64_t d) { return nx::Shape{d, d}; };
  auto vec = [](int64_t d) { return nx::Shape{d}; };
  const auto& ki = opts.kernel_initializer;
  const auto& bi = opts.bias_initializer;
  std::vector<Param> params{shaped("wq", square, ki),
                            shaped("bq", vec, bi),
                            shaped("wk", square, ki),
                            shaped("bk", vec, bi),
                            shaped("wv", square, ki),
                            shaped("bv", vec, bi),
                            shaped("wo", square, ki),
                            shaped("bo", vec, bi),
                            shaped(
                                "linear1_kernel",
                                [ff](int64_t d) {
                                  return nx::Shape{d, ff};
                                },
                                ki),
                            param("linear1_bias", nx::Shape{ff}, {.initializer = bi}),
                            shaped(
                                "linear2_kernel",
                                [ff](int64_t d) {
                                  return nx::Shape{ff, d};
                                },
                                ki),
                            shaped("linear2_bias", vec, bi),
                            shaped("norm1_gamma", vec, fn::init::ones()),
                            shaped("norm1_beta", vec, fn::init::zeros()),
                            shaped("norm2_gamma", vec, fn::init::ones()),
                            shaped("norm2_beta", vec, fn::init::zeros())};
  if (opts.dropout_rate > 0) params.push_back(key_param(opts.seed));
  std::vector<Model> inputs{x};
  if (opts.mask) inputs.push_back(*opts.mask);
  const bool has_mask = opts.mask.has_value();
  fn::TransformerEncoderOptions base{.num_heads = opts.num_heads,
                                     .activation = opts.activation,
                                     .norm_first = opts.norm_first,
                                     .epsilon = opts.epsilon,
                                     .dropout_rate = opts.dropout_rate,
                                     .is_causal = opts.causal};
  return layer(
      [=](const LayerCall& c) {
        Keys k = dropout_keys(c, base.dropout_rate);
        fn::TransformerEncoderOptions o = base;
        o.mode = c.mode;
        o.key = k.use;
        if (has_mask) o.mask = c.input(1);
        auto p = [&](const char* n) { return c.param(n); };
        fn::TransformerEncoderWeights w{
            {p("wq"), p("bq"), p("wk"), p("bk"), p("wv"), p("bv"), p("wo"), p("bo")},
            p("linear1_kernel"),
            p("linear1_bias"),
            p("linear2_kernel"),
            p("linear2_bias"),
            p("norm1_gamma"),
            p("norm1_beta"),
            p("norm2_gamma"),
            p("norm2_beta")};
        return LayerResult{fn::transformer_encoder_block(c.input(0), w, o), k.state};
      },
      std::move(inputs),
      {.name = std::move(opts.name),
       .op_name = op,
       .params = std::move(params),
       .options = {{"num_heads", std::to_string(opts.num_heads)},
                   {"ff_dim", std::to_string(ff)},
                   {"activation", opts.activation},
                   {"norm_first", yes(opts.norm_first)},
                   {"dropout_rate", std::to_string(opts.dropout_rate)},
                   {"epsilon", std::to_string(opts.epsilon)},
                   {"causal", yes(opts.causal)}}},
      where);
}

Model sinusoidal_position_embedding(const Model& x, SinusoidalOptions opts,
                                    SourceLocation where) {
  if (!(opts.base > 0)) {
    throw nx::Error("axon::sinusoidal_position_embedding: base must be positive, got " +
                    std::to_string(opts.base));
  }
  const double base = opts.base;
  return layer(
      [base](const LayerCall& c) {
        const Tensor& v = c.input(0);
        if (v.rank() != 3) {
          throw nx::Error(
              "axon::sinusoidal_position_embedding: the input must have rank 3 {batch, time, "
              "features}, got " +
              nx::shape_repr(v.shape()));
        }
        Tensor table = fn::sinusoidal_position_embedding(v.axis_size(1), v.axis_size(2),
                                                         {.base = base, .dtype = v.dtype()});
        return LayerResult{v + table};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "sinusoidal_position_embedding",
       .options = {{"base", std::to_string(base)}}},
      where);
}

Model learned_position_embedding(const Model& x, int64_t max_len, LearnedPositionOptions opts,
                                 SourceLocation where) {
  const std::string op = "learned_position_embedding";
  if (max_len <= 0) {
    throw nx::Error("axon::" + op + ": max_len must be positive, got " + std::to_string(max_len));
  }
  return layer(
      [](const LayerCall& c) {
        return LayerResult{fn::learned_position_embedding(c.input(0), c.param("kernel"))};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = op,
       .params = {param("kernel", ShapeRule([max_len, op](const std::vector<nx::Shape>& s) {
                          return nx::Shape{max_len, feature_size(s, 0, op, "the input")};
                        }),
                        {.initializer = opts.initializer})},
       .options = {{"max_len", std::to_string(max_len)}}},
      where);
}

Model rotary_embedding(const Model& x, RotaryOptions opts, SourceLocation where) {
  if (!(opts.base > 0)) {
    throw nx::Error("axon::rotary_embedding: base must be positive, got " +
                    std::to_string(opts.base));
  }
  const double base = opts.base;
  const bool has_positions = opts.positions.has_value();
  std::vector<Model> inputs{x};
  if (has_positions) inputs.push_back(*opts.positions);
  return layer(
      [base, has_positions](const LayerCall& c) {
        fn::RotaryOptions o{.base = base};
        if (has_positions) o.positions = c.input(1);
        return LayerResult{fn::apply_rotary_embedding(c.input(0), o)};
      },
      std::move(inputs),
      {.name = std::move(opts.name),
       .op_name = "rotary_embedding",
       .options = {{"base", std::to_string(base)}}},
      where);
}

}  // namespace axon
