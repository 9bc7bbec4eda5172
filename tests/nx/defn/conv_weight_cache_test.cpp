// Compiled convolutions keep their weights reordered into oneDNN's blocked layout from one call
// to the next while the weights' buffer holds the same contents (Buffer::id). These tests change
// the weights every way a caller can: another tensor in the same slot, a donated buffer updated
// in place by the call itself, concurrent callers with their own weights; and compare every
// call with eager. Both conv kernels are covered: the fused epilogue (conv + bias + relu) and
// the plain conv_general (a conv whose output meets a full-tensor residual add).
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "../../../src/nx/core/tensor_impl.hpp"
#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx::detail {
namespace {

using nx::testing::f32t;
using nx::testing::random_tensor;

const ConvOptions kSame{.padding = Padding::same()};

/// Both kernels: relu(conv(x, w) + b) as an epilogue, and conv(x, w) + x as a plain conv.
Tensor model(const Tensor& x, const Tensor& w, const Tensor& b) {
  Tensor y = nx::max(nx::conv(x, w, kSame) + nx::reshape(b, {1, 16, 1, 1}), 0.0);
  return nx::conv(y, w, kSame) + x;
}

void expect_close(const Tensor& got, const Tensor& want, const char* what) {
  ASSERT_EQ(got.type(), want.type()) << what;
  std::vector<float> g = got.to_vector<float>(), w = want.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], 1e-4 * std::max(1.0f, std::fabs(w[i]))) << what << " element " << i;
}

Tensor weights(uint32_t seed) {
  return random_tensor(f32t({16, 16, 3, 3}), seed) * 0.2;
}

TEST(DefnConvWeightCache, BuffersNameTheirContents) {
  Tensor a = nx::ones({4}), b = nx::ones({4});
  const uint64_t ia = a.impl()->buffer->id();
  EXPECT_NE(ia, 0u);
  EXPECT_NE(ia, b.impl()->buffer->id());
  EXPECT_EQ(nx::reshape(a, {2, 2}).impl()->buffer->id(), ia);  // a view: the same bytes
  Buffer external(a.impl()->buffer->data(), 16);
  EXPECT_EQ(external.id(), 0u);  // memory someone else writes
}

TEST(DefnConvWeightCache, AnotherTensorInTheSameSlot) {
  auto f = nx::jit([](const Tensor& x, const Tensor& w, const Tensor& b) { return model(x, w, b); },
                   JitOptions{.name = "convs"});
  Tensor x = random_tensor(f32t({2, 16, 10, 10}), 1);
  Tensor b = random_tensor(f32t({16}), 2);
  const std::vector<Tensor> ws{weights(3), weights(4), weights(3)};
  for (int round = 0; round < 2; ++round) {
    for (const Tensor& w : ws) {
      expect_close(f(x, w, b), model(x, w, b), "per call");
      expect_close(f(x, w, b), model(x, w, b), "same weights again");
    }
  }
  // Weights with the same contents in a new buffer, and the same weights as a constant.
  Tensor copy = weights(4) + 0.0;
  expect_close(f(x, copy, b), model(x, copy, b), "a copy");
  const Tensor w = ws[1];
  auto g = nx::jit([&](const Tensor& xx, const Tensor& bb) { return model(xx, w, bb); });
  for (uint32_t s = 5; s < 8; ++s) {
    Tensor xs = random_tensor(f32t({2, 16, 10, 10}), s);
    expect_close(g(xs, b), model(xs, w, b), "constant weights");
  }
}

TEST(DefnConvWeightCache, DonatedWeightsUpdatedInPlaceEachStep) {
  // A step that reads its weights, then writes the next weights over them (donated).
  auto step = nx::jit(
      [](const Tensor& w, const Tensor& x, const Tensor& b) {
        // The update depends on the output, as a gradient step does, so that every read of w
        // comes before the write over it.
        Tensor y = model(x, w, b);
        return Tree::list({Tree(w * 0.9 + 0.01 * nx::mean(y)), Tree(y)});
      },
      JitOptions{.name = "step", .donate = {0}});
  Tensor x = random_tensor(f32t({2, 16, 10, 10}), 1);
  Tensor b = random_tensor(f32t({16}), 2);
  Tensor w = weights(3);
  Tensor eager_w = w + 0.0;
  int in_place = 0;
  for (int i = 0; i < 6; ++i) {
    const void* where = w.raw_data();
    Tree out = step(std::move(w), x, b);
    w = out[0].leaf();
    in_place += w.raw_data() == where;
    Tensor y = model(x, eager_w, b);
    expect_close(out[1].leaf(), y, "step output");
    eager_w = eager_w * 0.9 + 0.01 * nx::mean(y);
    expect_close(w, eager_w, "next weights");
  }
  EXPECT_GE(in_place, 4);  // the donation happened: the same buffer held new weights
}

TEST(DefnConvWeightCache, ConcurrentCallersWithTheirOwnWeights) {
  auto f = nx::jit([](const Tensor& x, const Tensor& w, const Tensor& b) { return model(x, w, b); },
                   JitOptions{.name = "convs"});
  Tensor x = random_tensor(f32t({1, 16, 8, 8}), 1);
  Tensor b = random_tensor(f32t({16}), 2);
  (void)f(x, weights(3), b);  // compile once
  std::vector<Tensor> ws, want;
  for (uint32_t t = 0; t < 4; ++t) {
    ws.push_back(weights(10 + t));
    want.push_back(model(x, ws.back(), b));
  }
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        // Alternate between this thread's weights and a neighbour's.
        const size_t k = i % 2 == 0 ? t : (t + 1) % 4;
        std::vector<float> g = f(x, ws[k], b).to_vector<float>(), w = want[k].to_vector<float>();
        for (size_t j = 0; j < g.size(); ++j)
          bad[t] += std::fabs(g[j] - w[j]) > 1e-4f * std::max(1.0f, std::fabs(w[j]));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (size_t t = 0; t < 4; ++t) EXPECT_EQ(bad[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace nx::detail
