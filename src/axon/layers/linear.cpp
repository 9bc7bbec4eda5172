#include "axon/layers/linear.hpp"

#include "axon/fn/linear.hpp"
#include "axon/layers/activation.hpp"
#include "nx/error.hpp"

namespace axon {

namespace {

int64_t last_dim(const std::vector<nx::Shape>& shapes, size_t i, const char* layer) {
  if (i >= shapes.size() || shapes[i].empty()) {
    throw nx::Error(std::string("axon::") + layer + ": input " + std::to_string(i) +
                    " must be a tensor of rank >= 1");
  }
  return shapes[i].back();
}

}  // namespace

Model dense(const Model& x, int64_t units, DenseOptions opts, SourceLocation where) {
  if (units <= 0)
    throw nx::Error("axon::dense: units must be positive, got " + std::to_string(units));
  std::vector<Param> params{param("kernel", ShapeRule([units](const std::vector<nx::Shape>& s) {
                                    return nx::Shape{last_dim(s, 0, "dense"), units};
                                  }),
                                  {.initializer = opts.kernel_initializer})};
  if (opts.use_bias)
    params.push_back(param("bias", nx::Shape{units}, {.initializer = opts.bias_initializer}));
  const bool use_bias = opts.use_bias;
  Model y = layer(
      [use_bias](const LayerCall& c) {
        return LayerResult{
            fn::dense(c.input(0), c.param("kernel"),
                      use_bias ? std::optional<Tensor>(c.param("bias")) : std::nullopt)};
      },
      {x},
      {.name = std::move(opts.name),
       .op_name = "dense",
       .params = std::move(params),
       .options = {{"units", std::to_string(units)}, {"use_bias", use_bias ? "true" : "false"}}},
      where);
  return maybe_activation(y, opts.activation, where);
}

Model bilinear(const Model& x1, const Model& x2, int64_t units, DenseOptions opts,
               SourceLocation where) {
  if (units <= 0)
    throw nx::Error("axon::bilinear: units must be positive, got " + std::to_string(units));
  std::vector<Param> params{
      param("kernel", ShapeRule([units](const std::vector<nx::Shape>& s) {
              return nx::Shape{units, last_dim(s, 0, "bilinear"), last_dim(s, 1, "bilinear")};
            }),
            {.initializer = opts.kernel_initializer})};
  if (opts.use_bias)
    params.push_back(param("bias", nx::Shape{units}, {.initializer = opts.bias_initializer}));
  const bool use_bias = opts.use_bias;
  Model y = layer(
      [use_bias](const LayerCall& c) {
        return LayerResult{
            fn::bilinear(c.input(0), c.input(1), c.param("kernel"),
                         use_bias ? std::optional<Tensor>(c.param("bias")) : std::nullopt)};
      },
      {x1, x2},
      {.name = std::move(opts.name),
       .op_name = "bilinear",
       .params = std::move(params),
       .options = {{"units", std::to_string(units)}, {"use_bias", use_bias ? "true" : "false"}}},
      where);
  return maybe_activation(y, opts.activation, where);
}

Model embedding(const Model& x, int64_t vocab_size, int64_t embedding_size, EmbeddingOptions opts,
                SourceLocation where) {
  if (vocab_size <= 0 || embedding_size <= 0) {
    throw nx::Error("axon::embedding: vocab_size and embedding_size must be positive, got " +
                    std::to_string(vocab_size) + " and " + std::to_string(embedding_size));
  }
  return layer(
      [](const LayerCall& c) { return LayerResult{fn::embedding(c.input(0), c.param("kernel"))}; },
      {x},
      {.name = std::move(opts.name),
       .op_name = "embedding",
       .params = {param("kernel", nx::Shape{vocab_size, embedding_size},
                        {.initializer = opts.kernel_initializer})},
       .options = {{"vocab_size", std::to_string(vocab_size)},
                   {"embedding_size", std::to_string(embedding_size)}}},
      where);
}

Model bias(const Model& x, BiasOptions opts, SourceLocation where) {
  return layer(
      [](const LayerCall& c) { return LayerResult{fn::bias(c.input(0), c.param("bias"))}; }, {x},
      {.name = std::move(opts.name),
       .op_name = "bias",
       .params = {param("bias", ShapeRule([](const std::vector<nx::Shape>& s) {
                          return nx::Shape{last_dim(s, 0, "bias")};
                        }),
                        {.initializer = opts.bias_initializer})}},
      where);
}

}  // namespace axon
