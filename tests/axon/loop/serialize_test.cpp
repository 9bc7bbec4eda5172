// save_state / load_state: exact round trips of every State field, malformed files, and a run
// resumed from a checkpoint that ends bit-identical to the uninterrupted run.
#include "axon/loop/serialize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "axon/data/dataset.hpp"
#include "axon/data/loader.hpp"
#include "axon/layers/dropout.hpp"
#include "axon/layers/linear.hpp"
#include "axon/loop/handlers.hpp"
#include "handler_test_helpers.hpp"
#include "nx/io.hpp"

namespace {

using axon::loop::Event;
using axon::loop::State;
using loop_test::bitwise_equal;
using loop_test::TempDir;
using nx::Tree;

void expect_same_state(const State& a, const State& b) {
  EXPECT_TRUE(bitwise_equal(a.step_state, b.step_state));
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.max_epoch, b.max_epoch);
  EXPECT_EQ(a.iteration, b.iteration);
  EXPECT_EQ(a.total_iteration, b.total_iteration);
  EXPECT_EQ(a.max_iteration, b.max_iteration);
  EXPECT_EQ(a.epoch_batches, b.epoch_batches);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.model_masks.state, b.model_masks.state);
  EXPECT_EQ(a.model_masks.frozen, b.model_masks.frozen);
  EXPECT_TRUE(bitwise_equal(a.model_masks.data, b.model_masks.data));
  ASSERT_EQ(a.event_counts.size(), b.event_counts.size());
  for (const auto& [e, c] : a.event_counts) {
    EXPECT_EQ(c.total, b.event_counts.at(e).total) << axon::loop::event_name(e);
    EXPECT_EQ(c.epoch, b.event_counts.at(e).epoch) << axon::loop::event_name(e);
  }
  // Doubles compare bitwise (NaN included).
  auto same = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  auto same_map = [&](const std::map<std::string, double>& x,
                      const std::map<std::string, double>& y) {
    if (x.size() != y.size()) return false;
    for (const auto& [k, v] : x) {
      auto it = y.find(k);
      if (it == y.end() || !same(v, it->second)) return false;
    }
    return true;
  };
  EXPECT_TRUE(same_map(a.metrics, b.metrics));
  ASSERT_EQ(a.history.size(), b.history.size());
  for (const auto& [e, m] : a.history) EXPECT_TRUE(same_map(m, b.history.at(e))) << e;
  ASSERT_EQ(a.times.size(), b.times.size());
  for (const auto& [e, t] : a.times) EXPECT_TRUE(same(t, b.times.at(e))) << e;
  ASSERT_EQ(a.handler_metadata.size(), b.handler_metadata.size());
  for (const auto& [k, m] : a.handler_metadata) EXPECT_TRUE(same_map(m, b.handler_metadata.at(k)));
}

axon::Model dropout_mlp() {
  auto x = axon::input("x", {axon::kDynamic, 3});
  auto h = axon::dense(x, 8, {.activation = "tanh"});
  h = axon::dropout(h, {.rate = 0.3});
  return axon::dense(h, 2);
}

TEST(LoopSerialize, RoundTripOfATrainerStateIsExact) {
  loop_test::ListSource data(loop_test::regression_batches(4));
  auto loop = axon::loop::trainer(dropout_mlp(), "mean_squared_error", "adam", {.log = false})
                  .metric("mae", [](const Tree& s) {
                    return nx::mean(nx::abs(nx::subtract(s["y_true"].leaf(), s["y_pred"].leaf())));
                  });
  State s = loop.run(data, {}, {.epochs = 2});
  s.metrics["nan"] = std::nan("");
  s.metrics["inf"] = -std::numeric_limits<double>::infinity();
  s.metrics["tiny"] = 4.9406564584124654e-324;
  s.metrics["third"] = 1.0 / 3.0;
  s.handler_metadata["monitor"] = {{"best", 0.1 + 0.2}, {"since_last_improvement", 2}};
  s.model_masks.frozen = {{"dense_0", "bias"}, {"odd \"name\"", "é"}};
  s.epoch_batches.reset();
  TempDir dir;
  const auto path = dir.path() / "state.ckpt";
  axon::loop::save_state(s, path);
  State back = axon::loop::load_state(path);
  expect_same_state(s, back);
  // The tensors are readable as plain safetensors under their paths.
  auto file = nx::io::load_safetensors(path);
  EXPECT_TRUE(file.tensors.contains("step_state.model_state.dense_0.kernel"));
  EXPECT_TRUE(file.metadata.contains("axon.loop.state"));
}

TEST(LoopSerialize, RoundTripOfListsLeafRootsAndMaskData) {
  State s;
  s.step_state = Tree{{"list", Tree::list({Tree(nx::scalar(7, nx::s64)), Tree::list({}),
                                           Tree(nx::iota({2, 3}, nx::u8))})},
                      {"empty", Tree()},
                      {"b", nx::tensor({true, false})},
                      {"h", nx::tensor({1.5, -2.25}, nx::bf16)}};
  s.model_masks.data = Tree{{"x", nx::scalar(1.0, nx::f64)}};
  s.status = axon::loop::Status::Halted;
  s.history[3]["loss"] = 0.5;
  s.times[3] = 1e-300;
  s.event_counts[Event::EpochHalted] = {2, 1};
  const std::vector<uint8_t> bytes = axon::loop::encode_state(s);
  expect_same_state(s, axon::loop::decode_state(bytes));
  State leaf;
  leaf.step_state = Tree(nx::scalar(3.0, nx::f32));
  expect_same_state(leaf, axon::loop::decode_state(axon::loop::encode_state(leaf)));
}

TEST(LoopSerialize, MalformedFilesThrow) {
  TempDir dir;
  EXPECT_THROW(axon::loop::load_state(dir.path() / "missing.ckpt"), nx::Error);
  { std::ofstream(dir.path() / "junk.ckpt") << "not a checkpoint"; }
  EXPECT_THROW(axon::loop::load_state(dir.path() / "junk.ckpt"), nx::Error);
  nx::io::save_safetensors(dir.path() / "plain.safetensors", Tree{{"w", nx::scalar(1.0, nx::f64)}});
  try {
    axon::loop::load_state(dir.path() / "plain.safetensors");
    FAIL() << "no error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a loop state"), std::string::npos) << e.what();
  }
  // Metadata naming a tensor the file lacks.
  State s;
  s.step_state = Tree{{"w", nx::scalar(1.0, nx::f64)}};
  std::vector<uint8_t> bytes = axon::loop::encode_state(s);
  auto file = nx::io::decode_safetensors(bytes);
  auto meta = file.metadata;
  EXPECT_THROW(axon::loop::decode_state(
                   nx::io::encode_safetensors(Tree{{"v", nx::scalar(1.0, nx::f64)}}, meta)),
               nx::Error);
  meta["axon.loop.state"] = "{\"version\": 1";
  EXPECT_THROW(axon::loop::decode_state(nx::io::encode_safetensors(file.tensors, meta)), nx::Error);
}

TEST(LoopSerialize, SaveReplacesAtomicallyAndLeavesNoTemporaries) {
  TempDir dir;
  State s;
  s.step_state = Tree{{"w", nx::scalar(1.0, nx::f64)}};
  axon::loop::save_state(s, dir.path() / "a.ckpt");
  s.epoch = 5;
  axon::loop::save_state(s, dir.path() / "a.ckpt");
  EXPECT_EQ(axon::loop::load_state(dir.path() / "a.ckpt").epoch, 5);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  EXPECT_THROW(axon::loop::save_state(s, dir.path() / "no" / "such" / "dir.ckpt"), nx::Error);
}

// Trains `epochs` epochs on shuffled batches with dropout, checkpointing every epoch.
State train(const axon::loop::Loop& loop, axon::data::BatchSource& data, int64_t epochs,
            const std::filesystem::path& dir) {
  return axon::loop::checkpoint(loop, {.path = dir}).run(data, {}, {.epochs = epochs});
}

void check_resume(axon::loop::Optimizer opt) {
  const axon::Model model = dropout_mlp();
  std::vector<nx::Tensor> xs, ys;
  for (const auto& b : loop_test::regression_batches(6, 3)) {
    xs.push_back(b.inputs.leaf());
    ys.push_back(b.targets.leaf());
  }
  auto dataset =
      axon::data::Dataset::from_tensors(Tree(nx::concatenate(xs, 0)), Tree(nx::concatenate(ys, 0)));
  auto make_loader = [&] {
    return std::make_unique<axon::data::Loader>(
        dataset, axon::data::LoaderOptions{.batch_size = 20, .shuffle = true, .seed = 11});
  };
  auto loop = axon::loop::trainer(model, "mean_squared_error", opt, {.seed = 5, .log = false});
  loop = axon::loop::reduce_lr_on_plateau(loop, "loss", {.patience = 0, .min_delta = 1e9});
  TempDir whole_dir, part_dir;
  auto whole_data = make_loader();
  State whole = train(loop, *whole_data, 5, whole_dir.path());
  // Interrupted after epoch 1 (2 epochs), resumed from the file in a "new process".
  auto part_data = make_loader();
  train(loop, *part_data, 2, part_dir.path());
  auto latest = axon::loop::latest_checkpoint(part_dir.path());
  ASSERT_TRUE(latest.has_value());
  State loaded = axon::loop::load_state(*latest);
  EXPECT_EQ(loaded.epoch, 1);
  auto resumed_data = make_loader();
  State resumed = train(loop.from_state(loaded), *resumed_data, 3, part_dir.path());
  EXPECT_EQ(resumed.total_iteration, whole.total_iteration);
  EXPECT_EQ(resumed.epoch, whole.epoch);
  EXPECT_TRUE(bitwise_equal(whole.step_state["model_state"], resumed.step_state["model_state"]));
  EXPECT_TRUE(
      bitwise_equal(whole.step_state["optimizer_state"], resumed.step_state["optimizer_state"]));
  EXPECT_EQ(whole.history, resumed.history);
  EXPECT_EQ(whole.handler_metadata, resumed.handler_metadata);
  // The learning rate was reduced on the way (every epoch), so the plateau state moved too.
  EXPECT_LT(whole.handler_metadata["reduce_lr_on_plateau"]["lr_scale"], 1e-3);
  // And the final checkpoints of both runs hold the same state.
  State a = axon::loop::load_state(*axon::loop::latest_checkpoint(whole_dir.path()));
  State b = axon::loop::load_state(*axon::loop::latest_checkpoint(part_dir.path()));
  EXPECT_TRUE(bitwise_equal(a.step_state, b.step_state));
}

TEST(LoopSerialize, ResumedRunIsBitIdenticalAdam) {
  check_resume(axon::optim::adam({}));
}

TEST(LoopSerialize, ResumedRunIsBitIdenticalSgdMomentum) {
  check_resume(axon::optim::sgd({.learning_rate = 0.05, .momentum = 0.9}));
}

}  // namespace
