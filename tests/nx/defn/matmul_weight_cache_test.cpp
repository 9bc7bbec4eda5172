// Compiled matrix products whose weights carry the same content id (Buffer::id: parameters,
// constants) as in their previous run run over the weights reordered once into oneDNN's
// preferred layout, kept while the id stays; other weights (activations, weights new this run)
// are read in place. These tests change the weights every
// way a caller can (another tensor in the same slot, a donated buffer updated in place, an
// activation as the weights, concurrent callers) and compare every call with eager. Both
// product kernels are covered: the fused epilogue (x @ w1 + b, relu) and the plain dot_general
// (h @ transpose(w2), which reads w2 in place: simplify drops the transpose).
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx::detail {
namespace {

using nx::testing::f32t;
using nx::testing::random_tensor;

Tensor model(const Tensor& x, const Tensor& w1, const Tensor& b, const Tensor& w2) {
  Tensor h = nx::max(nx::matmul(x, w1) + b, 0.0);
  return nx::matmul(h, nx::transpose(w2));
}

void expect_close(const Tensor& got, const Tensor& want, const char* what) {
  ASSERT_EQ(got.type(), want.type()) << what;
  std::vector<float> g = got.to_vector<float>(), w = want.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], 1e-4 * std::max(1.0f, std::fabs(w[i]))) << what << " element " << i;
}

// Large enough for oneDNN (and its blocked weight layouts): [64, 64] @ [64, 96], then
// [64, 96] @ [96, 64].
Tensor w1_of(uint32_t seed) {
  return random_tensor(f32t({64, 96}), seed) * 0.2;
}
Tensor w2_of(uint32_t seed) {
  return random_tensor(f32t({64, 96}), seed) * 0.2;
}

TEST(DefnMatmulWeightCache, AnotherTensorInTheSameSlot) {
  auto f = nx::jit([](const Tensor& x, const Tensor& w1, const Tensor& b,
                      const Tensor& w2) { return model(x, w1, b, w2); },
                   JitOptions{.name = "products"});
  Tensor x = random_tensor(f32t({64, 64}), 1);
  Tensor b = random_tensor(f32t({96}), 2);
  const std::vector<Tensor> w1s{w1_of(3), w1_of(4), w1_of(3)};
  const std::vector<Tensor> w2s{w2_of(5), w2_of(6), w2_of(7)};
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < w1s.size(); ++i) {
      expect_close(f(x, w1s[i], b, w2s[i]), model(x, w1s[i], b, w2s[i]), "per call");
      expect_close(f(x, w1s[i], b, w2s[i]), model(x, w1s[i], b, w2s[i]), "same weights again");
      // One weight changes, the other stays.
      const Tensor& other = w2s[(i + 1) % w2s.size()];
      expect_close(f(x, w1s[i], b, other), model(x, w1s[i], b, other), "second changed");
    }
  }
  Tensor copy = w1_of(4) + 0.0;  // the same contents in a new buffer
  expect_close(f(x, copy, b, w2s[0]), model(x, copy, b, w2s[0]), "a copy");
  // Weights as constants of the function.
  const Tensor w1 = w1s[1], w2 = w2s[1];
  auto g = nx::jit([&](const Tensor& xx, const Tensor& bb) { return model(xx, w1, bb, w2); });
  for (uint32_t s = 8; s < 11; ++s) {
    Tensor xs = random_tensor(f32t({64, 64}), s);
    expect_close(g(xs, b), model(xs, w1, b, w2), "constant weights");
  }
}

TEST(DefnMatmulWeightCache, ActivationsAsWeights) {
  // The same product kernels with weights computed in the call (no content id): read in place,
  // then the same instance meets parameter weights, then activations again.
  auto f = nx::jit([](const Tensor& x, const Tensor& w1, const Tensor& b, const Tensor& w2,
                      const Tensor& s) { return model(x, w1 * s, b, w2 * s); },
                   JitOptions{.name = "activations"});
  auto direct = nx::jit([](const Tensor& x, const Tensor& w1, const Tensor& b, const Tensor& w2) {
    return model(x, w1, b, w2);
  });
  Tensor x = random_tensor(f32t({64, 64}), 1);
  Tensor b = random_tensor(f32t({96}), 2);
  for (uint32_t i = 0; i < 3; ++i) {
    Tensor s = nx::scalar(1.0 + 0.5 * i, f32);
    Tensor w1 = w1_of(3 + i), w2 = w2_of(6 + i);
    expect_close(f(x, w1, b, w2, s), model(x, w1 * s, b, w2 * s), "computed weights");
    expect_close(direct(x, w1, b, w2), model(x, w1, b, w2), "parameter weights");
    expect_close(direct(x, w1, b, w2), model(x, w1, b, w2), "parameter weights again");
  }
}

TEST(DefnMatmulWeightCache, DonatedWeightsUpdatedInPlaceEachStep) {
  // A step that reads its weights, then writes the next weights over them (donated).
  auto step = nx::jit(
      [](const Tensor& w1, const Tensor& w2, const Tensor& x, const Tensor& b) {
        // The update depends on the output, as a gradient step does, so that every read of the
        // weights comes before the write over them.
        Tensor y = model(x, w1, b, w2);
        Tensor m = nx::mean(y);
        return Tree::list({Tree(w1 * 0.9 + 0.01 * m), Tree(w2 * 0.8 - 0.01 * m), Tree(y)});
      },
      JitOptions{.name = "step", .donate = {0, 1}});
  Tensor x = random_tensor(f32t({64, 64}), 1);
  Tensor b = random_tensor(f32t({96}), 2);
  Tensor w1 = w1_of(3), w2 = w2_of(4);
  Tensor eager_w1 = w1 + 0.0, eager_w2 = w2 + 0.0;
  int in_place = 0;
  for (int i = 0; i < 6; ++i) {
    const void* where = w1.raw_data();
    Tree out = step(std::move(w1), std::move(w2), x, b);
    w1 = out[0].leaf();
    w2 = out[1].leaf();
    in_place += w1.raw_data() == where;
    Tensor y = model(x, eager_w1, b, eager_w2);
    expect_close(out[2].leaf(), y, "step output");
    Tensor m = nx::mean(y);
    eager_w1 = eager_w1 * 0.9 + 0.01 * m;
    eager_w2 = eager_w2 * 0.8 - 0.01 * m;
    expect_close(w1, eager_w1, "next w1");
    expect_close(w2, eager_w2, "next w2");
  }
  EXPECT_GE(in_place, 4);  // the donation happened: the same buffer held new weights
}

TEST(DefnMatmulWeightCache, ConcurrentCallersWithTheirOwnWeights) {
  auto f = nx::jit([](const Tensor& x, const Tensor& w1, const Tensor& b,
                      const Tensor& w2) { return model(x, w1, b, w2); },
                   JitOptions{.name = "products"});
  Tensor x = random_tensor(f32t({64, 64}), 1);
  Tensor b = random_tensor(f32t({96}), 2);
  (void)f(x, w1_of(3), b, w2_of(3));  // compile once
  std::vector<Tensor> w1s, w2s, want;
  for (uint32_t t = 0; t < 4; ++t) {
    w1s.push_back(w1_of(10 + t));
    w2s.push_back(w2_of(20 + t));
    want.push_back(model(x, w1s.back(), b, w2s.back()));
  }
  std::vector<int> bad(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        // Alternate between this thread's weights and a neighbour's, each twice in a row (the
        // second run of unchanged weights is the one that reorders them).
        const size_t k = i / 2 % 2 == 0 ? t : (t + 1) % 4;
        std::vector<float> g = f(x, w1s[k], b, w2s[k]).to_vector<float>();
        std::vector<float> w = want[k].to_vector<float>();
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
