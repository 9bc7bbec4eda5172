// monitor, early_stop, reduce_lr_on_plateau (every optimizer family, schedules, no
// recompilation), terminate_on_nan and validate (values, names, a single compilation).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>

#include "axon/loop/handlers.hpp"
#include "handler_test_helpers.hpp"

namespace {

using axon::loop::Control;
using axon::loop::Event;
using axon::loop::MonitorMode;
using axon::loop::State;
using loop_test::ListSource;
using nx::Tree;

TEST(LoopHandlers, MonitorCallsAfterMoreThanPatienceEventsWithoutImprovement) {
  std::vector<int64_t> fired;
  auto loop = loop_test::with_scripted_metric(loop_test::counting_loop(), "m",
                                              {5, 4, 4.5, 4, 4, 3, 3, 3, 3, 3});
  loop = axon::loop::monitor(loop, "m",
                             [&](State& s) {
                               fired.push_back(s.epoch);
                               return Control::Continue;
                             },
                             "watch", {.patience = 2});
  auto data = loop_test::scalar_source(2);
  State s = loop.run(data, {}, {.epochs = 10});
  // Improvements at 0, 1, 5; misses at 2, 3, 4 (fires at 4: 3 > 2), 6, 7, 8 (fires), 9.
  EXPECT_EQ(fired, (std::vector<int64_t>{4, 8}));
  EXPECT_DOUBLE_EQ(s.handler_metadata["watch"]["best"], 3);
  EXPECT_DOUBLE_EQ(s.handler_metadata["watch"]["since_last_improvement"], 1);
}

TEST(LoopHandlers, MonitorMaxModeMinDeltaAndCustomTest) {
  std::vector<int64_t> fired_max, fired_custom;
  auto loop = loop_test::with_scripted_metric(loop_test::counting_loop(), "acc",
                                              {0.5, 0.6, 0.605, 0.7, 0.69});
  auto record = [](std::vector<int64_t>& v) {
    return [&v](State& s) {
      v.push_back(s.epoch);
      return Control::Continue;
    };
  };
  loop = axon::loop::monitor(loop, "acc", record(fired_max), "max",
                             {.mode = MonitorMode::Max, .patience = 0, .min_delta = 0.01});
  loop = axon::loop::monitor(
      loop, "acc", record(fired_custom), "custom",
      {.patience = 0, .improved = [](double best, double cur) { return cur > best * 1.1; }});
  auto data = loop_test::scalar_source(1);
  State s = loop.run(data, {}, {.epochs = 5});
  EXPECT_EQ(fired_max, (std::vector<int64_t>{2, 4}));
  EXPECT_DOUBLE_EQ(s.handler_metadata["max"]["best"], 0.7);
  EXPECT_EQ(fired_custom, (std::vector<int64_t>{2, 4}));
}

TEST(LoopHandlers, MonitorOfAMissingMetricThrowsNamingIt) {
  auto loop = axon::loop::early_stop(loop_test::counting_loop(), "val_loss");
  auto data = loop_test::scalar_source(1);
  try {
    loop.run(data);
    FAIL() << "no error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("val_loss"), std::string::npos) << e.what();
  }
  EXPECT_THROW(axon::loop::early_stop(loop_test::counting_loop(), "m", {.patience = -1}),
               nx::Error);
}

TEST(LoopHandlers, EarlyStopHaltsTheLoop) {
  auto loop = loop_test::with_scripted_metric(loop_test::counting_loop(), "loss",
                                              {5, 4, 4, 4, 4, 1, 1, 1, 1, 1});
  loop = axon::loop::early_stop(loop, "loss", {.patience = 2});
  auto data = loop_test::scalar_source(3);
  State s = loop.run(data, {}, {.epochs = 10});
  EXPECT_EQ(s.status, axon::loop::Status::Halted);
  EXPECT_EQ(s.epoch, 4);
  EXPECT_EQ(s.total_iteration, 15);
  EXPECT_EQ(s.event_counts[Event::Halted].total, 1);
}

// Trains with `opt` while a scripted plateau reduces the rate: lr_scale goes 1 -> 0.5 -> 0.25
// (with the floor 0.3: 0.3), and the step compiles once.
void check_plateau(axon::loop::Optimizer opt, double min_lr_scale = 0.0) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto traces = std::make_shared<std::atomic<int>>(0);
  auto loop = axon::loop::trainer(model, "mean_squared_error", opt, {.log = false})
                  .metric("traces", [traces](const Tree& s) {
                    ++*traces;
                    return nx::zeros_like(s["loss"].leaf());
                  });
  loop = loop_test::with_scripted_metric(loop, "plateau", {1, 1, 1, 1, 1});
  loop = axon::loop::reduce_lr_on_plateau(
      loop, "plateau", {.patience = 1, .factor = 0.5, .min_lr_scale = min_lr_scale});
  std::vector<double> scales;
  loop = loop.handle_event(Event::EpochCompleted, [&](State& s) {
    scales.push_back(axon::optim::get_hyperparameter(s.step_state["optimizer_state"], "lr_scale")
                         .item<double>());
    return Control::Continue;
  });
  ListSource data(loop_test::regression_batches(3));
  State s = loop.run(data, {}, {.epochs = 5});
  // Misses at 1, 2 (fires), 3, 4 (fires).
  const double second = std::max(0.25, min_lr_scale);
  EXPECT_EQ(scales, (std::vector<double>{1, 1, 0.5, 0.5, second}));
  EXPECT_DOUBLE_EQ(s.handler_metadata["reduce_lr_on_plateau"]["lr_scale"], second);
  EXPECT_EQ(traces->load(), 1) << "changing lr_scale must not recompile the step";
}

TEST(LoopHandlers, ReduceLrOnPlateauAdam) {
  check_plateau(axon::optim::adam({}));
}
TEST(LoopHandlers, ReduceLrOnPlateauSgdMomentum) {
  check_plateau(axon::optim::sgd({.momentum = 0.9}));
}
TEST(LoopHandlers, ReduceLrOnPlateauRmspropWithMomentum) {
  check_plateau(axon::optim::rmsprop({.momentum = 0.5}));
}
TEST(LoopHandlers, ReduceLrOnPlateauScheduleAndFloor) {
  check_plateau(axon::optim::adam({.learning_rate = axon::optim::cosine_decay(1e-2, {})}), 0.3);
}

TEST(LoopHandlers, ReduceLrOnPlateauScalesTheUpdates) {
  // sgd without momentum: an update is -lr * lr_scale * grad, so halving lr_scale halves the
  // parameter change of the same batch from the same parameters.
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  ListSource data(loop_test::regression_batches(1));
  auto loop = axon::loop::trainer(model, "mean_squared_error",
                                  axon::optim::sgd({.learning_rate = 0.1}), {.log = false});
  State first = loop.run(data, {}, {.epochs = 1});
  State start = first;
  start.step_state = start.step_state.set(
      "optimizer_state",
      axon::optim::set_hyperparameter(first.step_state["optimizer_state"], "lr_scale", 0.5));
  // One more step from `first` with scale 1 and with scale 0.5.
  State full = loop.from_state(first).run(data, {}, {.epochs = 1});
  State half = loop.from_state(start).run(data, {}, {.epochs = 1});
  const nx::Tensor k0 = first.step_state["model_state"]["dense_0"]["kernel"].leaf();
  const nx::Tensor d_full =
      nx::subtract(full.step_state["model_state"]["dense_0"]["kernel"].leaf(), k0);
  const nx::Tensor d_half =
      nx::subtract(half.step_state["model_state"]["dense_0"]["kernel"].leaf(), k0);
  EXPECT_LT(nx::reduce_max(nx::abs(nx::subtract(nx::multiply(d_half, 2.0), d_full))).item<double>(),
            1e-6);
}

TEST(LoopHandlers, ReduceLrOnPlateauWithoutLrScaleIsAClearError) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto loop =
      axon::loop::trainer(model, "mean_squared_error", axon::optim::scale(-0.1), {.log = false});
  loop = axon::loop::reduce_lr_on_plateau(loop, "loss");
  ListSource data(loop_test::regression_batches(1));
  try {
    loop.run(data);
    FAIL() << "no error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no lr_scale"), std::string::npos) << e.what();
  }
  // A loop without an optimizer: the error comes at Started, before any batch.
  auto counting = axon::loop::reduce_lr_on_plateau(loop_test::counting_loop(), "m");
  auto scalars = loop_test::scalar_source(1);
  try {
    counting.run(scalars);
    FAIL() << "no error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no optimizer_state"), std::string::npos) << e.what();
  }
}

TEST(LoopHandlers, ReduceLrOnPlateauOptionChecks) {
  EXPECT_THROW(axon::loop::reduce_lr_on_plateau(loop_test::counting_loop(), "m", {.factor = 1.5}),
               nx::Error);
  EXPECT_THROW(
      axon::loop::reduce_lr_on_plateau(loop_test::counting_loop(), "m", {.min_lr_scale = -1}),
      nx::Error);
}

TEST(LoopHandlers, TerminateOnNanHaltsAtTheBadBatch) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto batches = loop_test::regression_batches(5);
  batches[2].targets = Tree(nx::full({16, 2}, std::numeric_limits<double>::quiet_NaN(), nx::f32));
  ListSource data(batches);
  auto loop = axon::loop::terminate_on_nan(
      axon::loop::trainer(model, "mean_squared_error", "sgd", {.log = false}));
  State s = loop.run(data, {}, {.epochs = 3});
  EXPECT_EQ(s.status, axon::loop::Status::Halted);
  EXPECT_EQ(s.total_iteration, 3);
  EXPECT_TRUE(std::isnan(s.metrics["loss"]));
  // Finite data runs to the end.
  ListSource good(loop_test::regression_batches(2));
  EXPECT_EQ(loop.run(good, {}, {.epochs = 2}).status, axon::loop::Status::Completed);
  // A loop with no loss to watch.
  auto counting = axon::loop::terminate_on_nan(loop_test::counting_loop());
  auto scalars = loop_test::scalar_source(1);
  EXPECT_THROW(counting.run(scalars), nx::Error);
}

TEST(LoopHandlers, ValidateMergesValidationMetricsAndCompilesOnce) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  auto eval_traces = std::make_shared<std::atomic<int>>(0);
  auto mae = [eval_traces](const Tree& s) {
    if (!s.contains("optimizer_state")) ++*eval_traces;  // the evaluator's step state
    return nx::mean(nx::abs(nx::subtract(s["y_true"].leaf(), s["y_pred"].leaf())));
  };
  ListSource train(loop_test::regression_batches(4, 0));
  ListSource val(loop_test::regression_batches(2, 1));
  auto loop = axon::loop::trainer(model, "mean_squared_error",
                                  axon::optim::adam({.learning_rate = 0.05}), {.log = false})
                  .metric("mae", mae);
  axon::loop::ValidateOptions vo;
  vo.loss = axon::loop::Loss("mean_squared_error");
  loop = axon::loop::validate(loop, model, val, vo);
  State s = loop.run(train, {}, {.epochs = 5});
  EXPECT_EQ(eval_traces->load(), 1) << "validation must reuse its executable every epoch";
  for (int64_t e = 0; e < 5; ++e) {
    ASSERT_TRUE(s.history[e].contains("validation_loss")) << e;
    ASSERT_TRUE(s.history[e].contains("validation_mae")) << e;
  }
  EXPECT_LT(s.history[4]["validation_loss"], s.history[0]["validation_loss"]);
  EXPECT_DOUBLE_EQ(s.metrics["validation_mae"], s.history[4]["validation_mae"]);
  // The same numbers as an evaluator run on the final model.
  auto eval = axon::loop::evaluator(model).metric("mae", mae).metric("loss", [](const Tree& st) {
    return nx::mean(nx::square(nx::subtract(st["y_true"].leaf(), st["y_pred"].leaf())));
  });
  State e = eval.run(val, s.model_state());
  EXPECT_NEAR(e.metric("mae"), s.history[4]["validation_mae"], 1e-6);
  EXPECT_NEAR(e.metric("loss"), s.history[4]["validation_loss"], 1e-6);
}

TEST(LoopHandlers, ValidateWithoutLossSkipsItAndNeedsMetrics) {
  auto model = axon::dense(axon::input("x", {axon::kDynamic, 3}), 2);
  ListSource train(loop_test::regression_batches(2, 0));
  ListSource val(loop_test::regression_batches(1, 1));
  auto trainer = axon::loop::trainer(model, "mean_squared_error", "adam", {.log = false});
  EXPECT_THROW(axon::loop::validate(trainer, model, val), nx::Error);
  auto loop = axon::loop::validate(trainer.metric("mean_absolute_error"), model, val,
                                   {.filter = {.every = 2}});
  State s = loop.run(train, {}, {.epochs = 3});
  EXPECT_FALSE(s.history[0].contains("validation_loss"));
  EXPECT_TRUE(s.history[0].contains("validation_mean_absolute_error"));
  EXPECT_FALSE(s.history[1].contains("validation_mean_absolute_error"));
  EXPECT_TRUE(s.history[2].contains("validation_mean_absolute_error"));
}

}  // namespace
