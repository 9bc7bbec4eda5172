// Axon for C++: neural networks as data, trained with composable optimizers and event-driven
// loops, compiled with fusion by nx's defn.
//
//   #include <axon/axon.hpp>
//   namespace optim = axon::optim;
//
//   auto x = axon::input("image", {axon::kDynamic, 28, 28, 1});
//   auto h = axon::conv(x, 32, {.kernel_size = {3}, .activation = "relu"});
//   h = axon::max_pool(h, {.kernel_size = {2}});
//   h = axon::dense(axon::flatten(h), 128, {.activation = "relu"});
//   auto model = axon::dense(h, 10, {.activation = "softmax"});
//   std::cout << axon::summary(model, nx::make_template({1, 28, 28, 1}, nx::f32));
//
//   auto [train, test] = axon::data::fashion_mnist("/usr/share/datasets/fashion-mnist",
//                                                  {.normalize = true, .one_hot = true});
//   axon::data::Loader batches(train, {.batch_size = 128, .shuffle = true});
//   auto loop = axon::loop::trainer(model, "categorical_cross_entropy",
//                                   optim::adam({.learning_rate = 1e-3}))
//                   .metric("accuracy");
//   axon::loop::State state = loop.run(batches, {}, {.epochs = 5});
//   state.model_state().save("fashion.safetensors");
//
// The pieces: axon/fn.hpp (the functional API), axon/model.hpp and axon/layers/*.hpp (models),
// axon/compiler.hpp (build, init, predict), axon/model_state.hpp, axon/display.hpp,
// axon/graph.hpp, axon/mixed_precision.hpp, axon/optim.hpp, axon/loop.hpp and
// axon/loop/*.hpp, axon/data/*.hpp.
#pragma once

#include "axon/compiler.hpp"
#include "axon/data/dataset.hpp"
#include "axon/data/loader.hpp"
#include "axon/data/readers.hpp"
#include "axon/display.hpp"
#include "axon/fn.hpp"
#include "axon/graph.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/attention.hpp"
#include "axon/layers/combinators.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/pooling.hpp"
#include "axon/layers/recurrent.hpp"
#include "axon/layers/shape.hpp"
#include "axon/loop.hpp"
#include "axon/loop/handlers.hpp"
#include "axon/loop/serialize.hpp"
#include "axon/mixed_precision.hpp"
#include "axon/model.hpp"
#include "axon/model_state.hpp"
#include "axon/optim.hpp"
#include "nx/nx.hpp"
