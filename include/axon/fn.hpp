// axon::fn: Axon's functional API (Axon.Activations, Axon.Initializers, Axon.Layers,
// Axon.Losses, Axon.Metrics) plus attention, as pure functions over nx::Tensor. Each runs
// eagerly, traces under nx::jit and differentiates under nx::grad with no extra code: there is
// no hand-written backward and no kernel in this library, only compositions of nx ops.
//
//   #include <axon/fn.hpp>
//   namespace fn = axon::fn;
//
//   // A small CNN forward pass, channels last (Axon's default layout).
//   Tensor h = fn::relu(fn::conv(images, k1, b1, {.padding = nx::Padding::same()}));
//   h = fn::max_pool(h, {.kernel_size = {2}});
//   auto [normed, stats] = fn::batch_norm(h, gamma, beta, mean, var, {.mode = fn::Mode::Train});
//   Tensor logits = fn::dense(fn::flatten(normed), w, b);   // stats: the new running mean/var
//   Tensor loss = fn::losses::categorical_cross_entropy(
//       labels, logits, {.from_logits = true, .sparse = true,
//                        .reduction = fn::losses::Reduction::Mean});
//   Tensor acc = fn::metrics::accuracy(labels, logits, {.sparse = true});
//
//   // Differentiate any of it with nx::grad, compile it with nx::jit.
//
// Conventions shared by every header: axon/fn/common.hpp. The design, the tests and every
// deviation from Axon and PyTorch: docs/axon-fn.md and the docs/axon-fn-*.md it links.
#pragma once

#include "axon/fn/activations.hpp"
#include "axon/fn/attention.hpp"
#include "axon/fn/common.hpp"
#include "axon/fn/conv.hpp"
#include "axon/fn/dropout.hpp"
#include "axon/fn/initializers.hpp"
#include "axon/fn/linear.hpp"
#include "axon/fn/losses.hpp"
#include "axon/fn/metrics.hpp"
#include "axon/fn/normalization.hpp"
#include "axon/fn/pooling.hpp"
#include "axon/fn/recurrent.hpp"
#include "axon/fn/reshaping.hpp"
#include "axon/fn/resize.hpp"
