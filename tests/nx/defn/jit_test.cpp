// nx::jit: per-signature cache, strict mode, stats, static arguments, hooks, threads, dumps,
// and compiled results equal to eager ones.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx {
namespace {

Tensor mlp(const Tensor& x, const Tensor& w, const Tensor& b) {
  return nx::sum(nx::max(nx::dot(x, w) + b, 0.0), {.axes = Axes{1}});
}

TEST(DefnJit, CachesPerSignature) {
  auto f = nx::jit(mlp);
  auto key = nx::random::key(1);
  Tensor w = nx::random::normal(key, {4, 3});
  Tensor b = nx::tensor({0.1f, -0.2f, 0.3f});
  Tensor x = nx::random::normal(nx::random::key(2), {5, 4});
  Tensor y1 = f(x, w, b);
  EXPECT_EQ(y1.to_vector<float>(), mlp(x, w, b).to_vector<float>());
  (void)f(x, w, b);
  JitStats s = f.stats();
  EXPECT_EQ(s.compiles, 1);
  EXPECT_EQ(s.cache_hits, 1);
  EXPECT_EQ(s.calls, 2);
  EXPECT_GT(s.last_compile_ms, 0.0);
  Tensor x2 = nx::random::normal(nx::random::key(3), {7, 4});
  (void)f(x2, w, b);
  EXPECT_EQ(f.stats().compiles, 2);
  EXPECT_EQ(f.stats().cache_size, 2u);
}

TEST(DefnJit, StrictRejectsNewSignature) {
  auto f =
      nx::jit([](const Tensor& x) { return x * 2; }, JitOptions{.name = "double", .strict = true});
  (void)f(nx::tensor({1.0f}));
  try {
    (void)f(nx::tensor({1.0f, 2.0f}));
    FAIL() << "expected nx::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("double"), std::string::npos) << e.what();
  }
}

TEST(DefnJit, StaticArgumentsArePartOfTheSignature) {
  auto pow_k = nx::jit([](const Tensor& x, int k) {
    Tensor r = nx::ones_like(x);
    for (int i = 0; i < k; ++i) r = r * x;
    return r;
  });
  Tensor x = nx::tensor({2.0f, 3.0f});
  EXPECT_EQ(pow_k(x, Static<int>{3}).to_vector<float>(), std::vector<float>({8, 27}));
  EXPECT_EQ(pow_k(x, Static<int>{2}).to_vector<float>(), std::vector<float>({4, 9}));
  EXPECT_EQ(pow_k(x, Static<int>{3}).to_vector<float>(), std::vector<float>({8, 27}));
  EXPECT_EQ(pow_k.stats().compiles, 2);
}

TEST(DefnJit, NumbersAreWeakScalarArguments) {
  auto f = nx::jit([](const Tensor& x, const Tensor& s) { return x * s; });
  Tensor h = nx::tensor({1.0, 2.0}, DType::F16);
  Tensor y = f(h, 0.5);
  EXPECT_EQ(y.dtype(), DType::F16);  // a weak scalar keeps x's dtype, as in eager code
  EXPECT_EQ(y.to_vector<float>(), std::vector<float>({0.5f, 1.0f}));
}

TEST(DefnJit, TreesInAndOut) {
  auto step = nx::jit([](const Tree& p, const Tensor& lr) {
    return nx::tree_map(p, [&](const Tensor& t) { return t - lr * t; });
  });
  Tree p = {{"a", nx::tensor({1.0f, 2.0f})}, {"b", Tree::list({Tree(nx::tensor({4.0f}))})}};
  Tree q = step(p, nx::scalar(0.5, DType::F32));
  EXPECT_EQ(q["a"].leaf().to_vector<float>(), std::vector<float>({0.5f, 1.0f}));
  EXPECT_EQ(q["b"][0].leaf().to_vector<float>(), std::vector<float>({2.0f}));
}

TEST(DefnJit, MultipleOutputs) {
  auto f = nx::jit([](const Tensor& x) { return std::make_tuple(x + 1, x * 2, Tree(x)); });
  auto [a, b, c] = f(nx::tensor({1.0f}));
  EXPECT_EQ(a.item<float>(), 2.0f);
  EXPECT_EQ(b.item<float>(), 2.0f);
  EXPECT_EQ(c.leaf().item<float>(), 1.0f);
}

TEST(DefnJit, HookRunsOnEveryCall) {
  std::atomic<int> seen{0};
  float last = 0;
  auto f = nx::jit([&](const Tensor& x) {
    return nx::hook(x * 2, "doubled",
                    [&](const Tensor& v) {
                      last = v.to_vector<float>()[0];
                      ++seen;
                    }) +
           1;
  });
  EXPECT_EQ(f(nx::tensor({1.0f})).item<float>(), 3.0f);
  EXPECT_EQ(f(nx::tensor({5.0f})).item<float>(), 11.0f);
  EXPECT_EQ(seen.load(), 2);
  EXPECT_EQ(last, 10.0f);
  // Eagerly the hook runs at once.
  (void)nx::hook(nx::tensor({1.0f}), "eager", [&](const Tensor&) { ++seen; });
  EXPECT_EQ(seen.load(), 3);
}

TEST(DefnJit, ConcurrentCallsAgree) {
  auto f =
      nx::jit([](const Tensor& x, const Tensor& w) { return nx::tanh(nx::dot(x, w)) * 3 + 1; });
  Tensor w = nx::random::normal(nx::random::key(7), {64, 32});
  std::vector<Tensor> xs;
  for (int i = 0; i < 8; ++i) xs.push_back(nx::random::normal(nx::random::key(i), {16, 64}));
  std::vector<std::vector<float>> want;
  for (auto& x : xs) want.push_back(f(x, w).to_vector<float>());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 20; ++r) {
        if (f(xs[t], w).to_vector<float>() != want[t]) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(DefnJit, DumpsEveryStage) {
  std::string dir = (std::filesystem::temp_directory_path() / "nx_jit_dump_test").string();
  std::filesystem::remove_all(dir);
  auto f = nx::jit([](const Tensor& x) { return nx::exp(x) * 1.0 + 0.0; },
                   JitOptions{.name = "dumped", .dump_dir = dir});
  (void)f(nx::tensor({1.0f}));
  EXPECT_TRUE(std::filesystem::exists(dir + "/dumped_1_0_traced.txt"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/dumped_1_0_traced.dot"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/dumped_1_schedule.txt"));
  std::string text = f.core().graph_text(Tree::list({Tree(nx::tensor({1.0f}))}));
  EXPECT_NE(text.find("exp"), std::string::npos) << text;
  std::filesystem::remove_all(dir);
}

TEST(DefnJit, DonatedArgumentIsUpdatedInPlace) {
  auto step = nx::jit([](const Tensor& p, const Tensor& g) { return p - 0.1 * g; },
                      JitOptions{.name = "sgd", .donate = {0}});
  Tensor g = nx::ones({4096});
  Tensor p = nx::ones({4096});
  (void)step(p, g);  // compile; p is still held here, so it is not donated
  EXPECT_EQ(p.to_vector<float>()[0], 1.0f);
  const void* where = p.raw_data();
  Tensor q = step(std::move(p), g);
  EXPECT_EQ(q.raw_data(), where);
  EXPECT_FLOAT_EQ(q.to_vector<float>()[0], 0.9f);
  // Not donated when the caller keeps a handle.
  Tensor keep = q;
  Tensor r = step(q, g);
  EXPECT_NE(r.raw_data(), keep.raw_data());
  EXPECT_FLOAT_EQ(keep.to_vector<float>()[0], 0.9f);
}

TEST(DefnJit, ReadmeExampleLearns) {
  auto step = nx::jit([](const nx::Tree& p, const nx::Tensor& x, const nx::Tensor& y) {
    nx::Tree g = nx::grad(
        p, [&](const nx::Tree& q) { return nx::mean(nx::pow(nx::dot(x, q["w"].leaf()) - y, 2)); });
    return nx::tree_map(p, g,
                        [](const nx::Tensor& w, const nx::Tensor& dw) { return w - 0.1 * dw; });
  });
  Tensor x = nx::random::normal(nx::random::key(0), {32, 3});
  Tensor y = nx::dot(x, nx::tensor({{1.0f}, {-2.0f}, {0.5f}}));
  Tree params = {{"w", nx::zeros({3, 1})}};
  for (int i = 0; i < 200; ++i) params = step(params, x, y);
  std::vector<float> w = params["w"].leaf().to_vector<float>();
  EXPECT_NEAR(w[0], 1.0f, 1e-3);
  EXPECT_NEAR(w[1], -2.0f, 1e-3);
  EXPECT_NEAR(w[2], 0.5f, 1e-3);
  EXPECT_EQ(step.stats().compiles, 1);
}

TEST(DefnJit, ClosureConstantsAreBakedIn) {
  Tensor c = nx::tensor({10.0f});
  auto f = nx::jit([c](const Tensor& x) { return x + c; });
  EXPECT_EQ(f(nx::tensor({1.0f})).item<float>(), 11.0f);
}

TEST(DefnJit, ErrorsNameTheOp) {
  auto f = nx::jit([](const Tensor& a, const Tensor& b) { return nx::dot(a, b); });
  try {
    (void)f(nx::ones({2, 3}), nx::ones({4, 5}));
    FAIL() << "expected nx::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nx::dot"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nx
