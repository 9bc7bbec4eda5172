// Shared pieces of the handler, checkpoint, serialization and history tests: batch sources,
// small problems, temporary directories and bitwise tree comparison.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "axon/layers/linear.hpp"
#include "axon/loop.hpp"
#include "nx/nx.hpp"

namespace loop_test {

// Batches from a fixed list, the same every epoch.
class ListSource : public axon::data::BatchSource {
 public:
  explicit ListSource(std::vector<axon::data::Batch> batches) : batches_(std::move(batches)) {}
  void start(int64_t) override { next_ = 0; }
  std::optional<axon::data::Batch> next() override {
    if (next_ >= batches_.size()) return std::nullopt;
    return batches_[next_++];
  }
  std::optional<int64_t> size() const override { return static_cast<int64_t>(batches_.size()); }

 private:
  std::vector<axon::data::Batch> batches_;
  size_t next_ = 0;
};

// `n` batches of a linear regression y = x W + 0.5 (x: [16, 3], y: [16, 2]), from `seed`.
inline std::vector<axon::data::Batch> regression_batches(int n, int seed = 0) {
  std::vector<axon::data::Batch> out;
  nx::Tensor w = nx::tensor({{1.0, -2.0}, {0.5, 3.0}, {-1.0, 0.25}});
  for (int i = 0; i < n; ++i) {
    nx::Tensor x = nx::random::normal(nx::random::key(seed * 1000 + i), {16, 3});
    out.push_back({nx::Tree(x), nx::Tree(nx::add(nx::dot(x, w), 0.5))});
  }
  return out;
}

// A generic loop whose state counts batches; no metrics.
inline axon::loop::Loop counting_loop() {
  return axon::loop::Loop(
      [](const axon::data::Batch& b, const nx::Tree& s, const axon::ModelState&) {
        return nx::Tree{{"n", nx::add(s["n"].leaf(), 1.0)}};
      },
      [](const axon::data::Batch&, const axon::ModelState&, axon::loop::State&) {
        return nx::Tree{{"n", nx::scalar(0.0, nx::f32)}};
      });
}

inline ListSource scalar_source(int n) {
  std::vector<axon::data::Batch> b;
  for (int i = 0; i < n; ++i)
    b.push_back({nx::Tree(nx::scalar(i + 1.0, nx::f32)), nx::Tree(nx::scalar(0.0, nx::f32))});
  return ListSource(std::move(b));
}

// A handler that sets state.metrics[name] to values[epoch] (the last value after the end).
inline axon::loop::Loop with_scripted_metric(const axon::loop::Loop& loop, const std::string& name,
                                             std::vector<double> values) {
  return loop.handle_event(axon::loop::Event::EpochCompleted, [name, values](axon::loop::State& s) {
    const size_t i = std::min(static_cast<size_t>(s.epoch), values.size() - 1);
    s.metrics[name] = values[i];
    s.history[s.epoch][name] = values[i];
    return axon::loop::Control::Continue;
  });
}

// A fresh directory under the system temp dir, removed at the end of the scope.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("axon_loop_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Same structure, and every leaf the same dtype, shape and bytes.
inline ::testing::AssertionResult bitwise_equal(const nx::Tree& a, const nx::Tree& b) {
  if (!nx::same_structure(a, b)) {
    return ::testing::AssertionFailure() << "structures differ: " << a << " vs " << b;
  }
  auto la = nx::tree_flatten_with_paths(a);
  auto lb = nx::tree_flatten_with_paths(b);
  for (size_t i = 0; i < la.size(); ++i) {
    const nx::Tensor& x = la[i].tensor;
    const nx::Tensor& y = lb[i].tensor;
    if (x.dtype() != y.dtype() || x.shape() != y.shape()) {
      return ::testing::AssertionFailure() << la[i].path << ": types differ";
    }
    const size_t n = static_cast<size_t>(x.byte_size());
    if (n && std::memcmp(x.raw_data(), y.raw_data(), n) != 0) {
      return ::testing::AssertionFailure() << la[i].path << ": values differ";
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace loop_test
