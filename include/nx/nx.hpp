// nx: n-dimensional tensors for C++, after Elixir's Nx.
//
//   #include <nx/nx.hpp>
//
//   nx::Tensor x = nx::tensor({{1.0, 2.0}, {3.0, 4.0}});   // f32[2][2]
//   nx::Tensor y = nx::exp(x) * 2 + 1;                        // weak scalars keep f32
//   nx::Tensor s = nx::sum(y, {.axes = nx::Axes{1}});        // f32[2]
//   auto key = nx::random::key(42);
//   nx::Tensor w = nx::random::normal(key, {784, 128});      // bit-identical to JAX
//   std::cout << nx::dot(nx::ones({4, 784}), w) << "\n";
//
// Tensors are immutable values; every op validates its inputs and throws nx::Error naming the
// op, the argument, and what was expected versus what came.
#pragma once

#include "nx/dtype.hpp"
#include "nx/error.hpp"
#include "nx/io.hpp"
#include "nx/ops/constants.hpp"
#include "nx/ops/conv.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "nx/ops/sort.hpp"
#include "nx/ops/window.hpp"
#include "nx/random.hpp"
#include "nx/shape.hpp"
#include "nx/tensor.hpp"
#include "nx/tree.hpp"
