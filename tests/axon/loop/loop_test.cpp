// The Loop: events in order with the right counts, filters, halting, running metrics, trainer
// and evaluator on a small problem, and resuming from a state.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "axon/layers/linear.hpp"
#include "axon/loop.hpp"
#include "handler_test_helpers.hpp"
#include "nx/nx.hpp"

namespace {

using axon::loop::Control;
using axon::loop::Event;
using axon::loop::State;
using nx::Tensor;
using nx::Tree;

using loop_test::ListSource;

// The regression problem of the handler tests: 8 batches.
std::vector<axon::data::Batch> regression_batches() {
  return loop_test::regression_batches(8);
}

ListSource counting_source(int n) {
  std::vector<axon::data::Batch> b;
  for (int i = 0; i < n; ++i)
    b.push_back({Tree(nx::scalar(i + 1.0, nx::f32)), Tree(nx::scalar(0.0, nx::f32))});
  return ListSource(std::move(b));
}

// A step that adds the batch to a running total.
axon::loop::Loop summing_loop() {
  return axon::loop::Loop(
      [](const axon::data::Batch& b, const Tree& s, const axon::ModelState&) {
        return Tree{{"total", nx::add(s["total"].leaf(), b.inputs.leaf())}};
      },
      [](const axon::data::Batch&, const axon::ModelState&, State&) {
        return Tree{{"total", nx::scalar(0.0, nx::f32)}};
      });
}

TEST(Loop, EventsFireInOrderWithCounts) {
  std::vector<std::string> seen;
  auto loop = summing_loop();
  for (Event e :
       {Event::Started, Event::EpochStarted, Event::IterationStarted, Event::IterationCompleted,
        Event::EpochCompleted, Event::EpochHalted, Event::Halted, Event::Completed}) {
    loop = loop.handle_event(e, [&seen, e](State&) {
      seen.push_back(axon::loop::event_name(e));
      return Control::Continue;
    });
  }
  auto data = counting_source(2);
  State s = loop.run(data, {}, {.epochs = 2});
  std::vector<std::string> want{"started"};
  for (int e = 0; e < 2; ++e) {
    want.push_back("epoch_started");
    for (int i = 0; i < 2; ++i) {
      want.push_back("iteration_started");
      want.push_back("iteration_completed");
    }
    want.push_back("epoch_completed");
  }
  want.push_back("completed");
  EXPECT_EQ(seen, want);
  EXPECT_EQ(s.status, axon::loop::Status::Completed);
  EXPECT_EQ(s.event_counts[Event::IterationCompleted].total, 4);
  EXPECT_EQ(s.total_iteration, 4);
  EXPECT_FLOAT_EQ(s.step_state["total"].leaf().item<float>(), 6.0f);
}

TEST(Loop, FiltersSelectOccurrences) {
  std::vector<int64_t> every2, first, after3, per_epoch_once;
  auto loop = summing_loop()
                  .handle_event(Event::IterationCompleted,
                                [&](State& s) {
                                  every2.push_back(s.total_iteration);
                                  return Control::Continue;
                                },
                                {.every = 2})
                  .handle_event(
                      Event::IterationCompleted,
                      [&](State& s) {
                        first.push_back(s.total_iteration);
                        return Control::Continue;
                      },
                      axon::loop::Filter::first())
                  .handle_event(Event::IterationCompleted,
                                [&](State& s) {
                                  after3.push_back(s.total_iteration);
                                  return Control::Continue;
                                },
                                {.before = 6, .after = 3})
                  .handle_event(Event::IterationCompleted,
                                [&](State& s) {
                                  per_epoch_once.push_back(s.total_iteration);
                                  return Control::Continue;
                                },
                                {.once = 2, .per_epoch = true});
  auto data = counting_source(3);
  loop.run(data, {}, {.epochs = 2});
  EXPECT_EQ(every2, (std::vector<int64_t>{1, 3, 5}));
  EXPECT_EQ(first, (std::vector<int64_t>{1}));
  EXPECT_EQ(after3, (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(per_epoch_once, (std::vector<int64_t>{2, 5}));
}

TEST(Loop, HaltEpochAndHaltLoop) {
  auto data = counting_source(4);
  auto halt_epoch = summing_loop().handle_event(Event::IterationCompleted, [](State& s) {
    return s.iteration == 2 ? Control::HaltEpoch : Control::Continue;
  });
  State a = halt_epoch.run(data, {}, {.epochs = 2});
  EXPECT_EQ(a.status, axon::loop::Status::Completed);
  EXPECT_EQ(a.event_counts[Event::EpochHalted].total, 2);
  EXPECT_EQ(a.total_iteration, 4);
  auto halt_loop = summing_loop().handle_event(Event::IterationCompleted, [](State& s) {
    return s.total_iteration == 3 ? Control::HaltLoop : Control::Continue;
  });
  State b = halt_loop.run(data, {}, {.epochs = 5});
  EXPECT_EQ(b.status, axon::loop::Status::Halted);
  EXPECT_EQ(b.total_iteration, 3);
  EXPECT_EQ(b.event_counts[Event::Halted].total, 1);
  EXPECT_EQ(b.event_counts[Event::Completed].total, 0);
}

TEST(Loop, MetricsAreRunningAveragesOfTheCurrentEpoch) {
  auto loop = summing_loop()
                  .metric("total", [](const Tree& s) { return s["total"].leaf(); })
                  .metric(
                      "sum_total", [](const Tree& s) { return s["total"].leaf(); },
                      axon::loop::Accumulate::RunningSum);
  auto data = counting_source(3);
  State s = loop.run(data, {}, {.epochs = 2});
  // Epoch 0 totals 1, 3, 6; epoch 1 totals 7, 9, 12.
  EXPECT_DOUBLE_EQ(s.history[0]["total"], 10.0 / 3);
  EXPECT_DOUBLE_EQ(s.history[1]["total"], 28.0 / 3);
  EXPECT_DOUBLE_EQ(s.history[1]["sum_total"], 28.0);
  EXPECT_DOUBLE_EQ(s.metric("total"), 28.0 / 3);
  EXPECT_THROW(s.metric("nope"), nx::Error);
}

TEST(Loop, TrainerFitsARegressionAndEvaluatorScoresIt) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto loop = axon::loop::trainer(model, "mean_squared_error",
                                  axon::optim::adam({.learning_rate = 0.05}), {.log = false});
  ListSource data(regression_batches());
  State s = loop.run(data, {}, {.epochs = 30});
  EXPECT_LT(s.history[29]["loss"], 0.01 * s.history[0]["loss"]);
  axon::ModelState trained = s.model_state();
  EXPECT_EQ(trained.data["dense_0"]["kernel"].leaf().shape(), (nx::Shape{3, 2}));
  auto eval = axon::loop::evaluator(model).metric("mae", [](const Tree& st) {
    return nx::mean(nx::abs(nx::subtract(st["y_true"].leaf(), st["y_pred"].leaf())));
  });
  State e = eval.run(data, trained);
  EXPECT_LT(e.metric("mae"), 0.1);
}

TEST(Loop, ResumedRunEqualsAnUninterruptedOne) {
  auto model =
      axon::dense(axon::dense(axon::input("x", {axon::kDynamic, 3}), 4, {.activation = "tanh"}), 2);
  auto loop = axon::loop::trainer(model, "mean_squared_error", "adam", {.log = false});
  ListSource data(regression_batches());
  State whole = loop.run(data, {}, {.epochs = 4});
  State half = loop.run(data, {}, {.epochs = 2});
  State rest = loop.from_state(half).run(data, {}, {.epochs = 2});
  EXPECT_EQ(rest.total_iteration, whole.total_iteration);
  auto a = nx::tree_leaves(whole.step_state["model_state"]);
  auto b = nx::tree_leaves(rest.step_state["model_state"]);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(nx::all(nx::equal(a[i], b[i])).item<bool>()) << "leaf " << i;
  }
}

// Two batches of 8 with accumulation 2 take the step that one batch of 16 takes (SGD on the
// mean loss: the mean of the two half-batch gradients is the full-batch gradient).
TEST(Loop, GradientAccumulationEqualsTheLargerBatch) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  std::vector<axon::data::Batch> full = regression_batches();
  full.resize(1);
  std::vector<axon::data::Batch> halves;
  for (int h = 0; h < 2; ++h) {
    halves.push_back({Tree(nx::slice_along_axis(full[0].inputs.leaf(), 8 * h, 8)),
                      Tree(nx::slice_along_axis(full[0].targets.leaf(), 8 * h, 8))});
  }
  auto sgd = axon::optim::sgd({.learning_rate = 0.1});
  ListSource one(full), two(halves);
  State a = axon::loop::trainer(model, "mean_squared_error", sgd, {.log = false}).run(one);
  State b = axon::loop::trainer(model, "mean_squared_error", sgd,
                                {.gradient_accumulation_steps = 2, .log = false})
                .run(two);
  Tensor ka = a.step_state["model_state"]["dense_0"]["kernel"].leaf();
  Tensor kb = b.step_state["model_state"]["dense_0"]["kernel"].leaf();
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(ka - kb), 1e-6)).item<bool>());
  EXPECT_THROW(axon::loop::train_step(model, "mean_squared_error", "sgd",
                                      {.gradient_accumulation_steps = 0}),
               nx::Error);
}

// A multi-output model with one loss per output, weighted.
TEST(Loop, PerOutputLossesAreWeighted) {
  auto x = axon::input("x", {axon::kDynamic, 3});
  auto model = axon::container(std::vector<axon::Model>{axon::dense(x, 2), axon::dense(x, 1)});
  std::vector<axon::data::Batch> batches;
  for (const auto& b : regression_batches()) {
    Tensor y = b.targets.leaf();
    batches.push_back({b.inputs, Tree::list({Tree(y), Tree(nx::slice_along_axis(y, 0, 1, 1))})});
  }
  axon::loop::Loss loss(std::vector<std::pair<axon::loop::Loss, double>>{
      {"mean_squared_error", 1.0}, {"mean_absolute_error", 0.5}});
  ListSource data(batches);
  State s =
      axon::loop::trainer(model, loss, axon::optim::adam({.learning_rate = 0.05}), {.log = false})
          .run(data, {}, {.epochs = 20});
  EXPECT_LT(s.history[19]["loss"], 0.2 * s.history[0]["loss"]);
}

// Dynamic loss scaling in f32 changes nothing but the scale bookkeeping.
TEST(Loop, LossScalingMatchesTheUnscaledRun) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  ListSource data(regression_batches());
  auto sgd = axon::optim::sgd({.learning_rate = 0.05});
  State plain = axon::loop::trainer(model, "mean_squared_error", sgd, {.log = false}).run(data);
  State scaled =
      axon::loop::trainer(
          model, "mean_squared_error", sgd,
          {.loss_scale = axon::optim::dynamic_loss_scale({.init_scale = 1024}), .log = false})
          .run(data);
  Tensor a = plain.step_state["model_state"]["dense_0"]["kernel"].leaf();
  Tensor b = scaled.step_state["model_state"]["dense_0"]["kernel"].leaf();
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), 1e-5)).item<bool>());
  EXPECT_TRUE(scaled.step_state["loss_scale_state"].contains("loss_scale"));
}

TEST(Loop, EmptyDataIsAnError) {
  ListSource empty({});
  EXPECT_THROW(summing_loop().run(empty), nx::Error);
}

}  // namespace
