// Linear layers: dense, bilinear, embedding and bias (Axon.dense, ...), with Axon's options and
// defaults. Parameters: dense {kernel {in, units}, bias {units}}; bilinear {kernel {units, in1,
// in2}, bias}; embedding {kernel {vocab, size}}; bias {bias {last axis}}.
//
//   auto h = axon::dense(x, 128, {.activation = "relu"});   // dense_0 then relu_0
//   auto e = axon::embedding(ids, 10000, 64);
#pragma once

#include "axon/source_location.hpp"
#include <string>

#include "axon/fn/initializers.hpp"
#include "axon/model.hpp"

namespace axon {

/// Options of dense and bilinear.
struct DenseOptions {
  std::string name = {};
  std::string activation = {};  ///< appended as its own node when set
  bool use_bias = true;
  fn::init::Initializer kernel_initializer = fn::init::glorot_uniform();
  fn::init::Initializer bias_initializer = fn::init::zeros();
};
/// x's last axis mapped to `units` outputs: x kernel + bias.
Model dense(const Model& x, int64_t units, DenseOptions opts = {},
            SourceLocation where = SourceLocation::current());
/// x1^T kernel[o] x2 + bias[o] for each of `units` outputs.
Model bilinear(const Model& x1, const Model& x2, int64_t units, DenseOptions opts = {},
               SourceLocation where = SourceLocation::current());

/// Options of embedding.
struct EmbeddingOptions {
  std::string name = {};
  fn::init::Initializer kernel_initializer = fn::init::uniform();  ///< Axon: uniform ±0.01
};
/// Rows of a {vocab_size, embedding_size} table at integer ids.
Model embedding(const Model& x, int64_t vocab_size, int64_t embedding_size,
                EmbeddingOptions opts = {},
                SourceLocation where = SourceLocation::current());

/// Options of bias.
struct BiasOptions {
  std::string name = {};
  fn::init::Initializer bias_initializer = fn::init::zeros();
};
/// x plus a learned vector over its last axis.
Model bias(const Model& x, BiasOptions opts = {},
           SourceLocation where = SourceLocation::current());

}  // namespace axon
