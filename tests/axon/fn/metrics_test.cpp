// axon::fn::metrics against NumPy transcriptions of Axon.Metrics (gen_metrics.py) and Axon's
// documented examples; running combinators; nx::jit; bad input.
#include "axon/fn/metrics.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace {

namespace metrics = axon::fn::metrics;
using nx::Tensor;

Tensor mref(const std::string& key) {
  return fn_test::ref("metrics", key);
}
Tensor y_true(const std::string& c) {
  return mref(c + "_true");
}
Tensor y_pred(const std::string& c) {
  return mref(c + "_pred");
}

/// A scalar result equal to the reference (float ratios to f32 precision, counts exactly).
void expect_value(const Tensor& got, const std::string& key, nx::DType dtype) {
  EXPECT_EQ(got.dtype(), dtype) << key;
  EXPECT_EQ(got.rank(), 0) << key;
  fn_test::expect_close(got, mref(key), 1e-6, 1e-7, key);
}

template <class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing " << needle;
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(AxonFnMetrics, Accuracy) {
  expect_value(metrics::accuracy(y_true("binary"), y_pred("binary")), "binary_accuracy", nx::f32);
  expect_value(metrics::accuracy(y_true("logits"), y_pred("logits"), {.from_logits = true}),
               "logits_accuracy", nx::f32);
  expect_value(metrics::accuracy(y_true("multi"), y_pred("multi")), "multi_accuracy", nx::f32);
  expect_value(metrics::accuracy(y_true("sparse"), y_pred("sparse"), {.sparse = true}),
               "sparse_accuracy", nx::f32);
  expect_value(metrics::accuracy(y_true("sparse1"), y_pred("sparse1"), {.sparse = true}),
               "sparse1_accuracy", nx::f32);
  expect_value(metrics::accuracy(y_true("rank3"), y_pred("rank3")), "rank3_accuracy", nx::f32);
  // f64 predictions and integer labels.
  expect_value(metrics::accuracy(nx::as_type(y_true("binary"), nx::s64),
                                 nx::as_type(y_pred("binary"), nx::f64)),
               "binary_accuracy", nx::f32);
}

TEST(AxonFnMetrics, AccuracyAxonExamples) {
  auto value = [](const Tensor& t) { return fn_test::values(t)[0]; };
  EXPECT_FLOAT_EQ(
      value(metrics::accuracy(nx::tensor({{1}, {0}, {0}}), nx::tensor({{1}, {1}, {1}}))),
      1.0f / 3.0f);
  EXPECT_FLOAT_EQ(value(metrics::accuracy(nx::tensor({{0, 1}, {1, 0}, {1, 0}}),
                                          nx::tensor({{0, 1}, {1, 0}, {0, 1}}))),
                  2.0f / 3.0f);
  EXPECT_FLOAT_EQ(value(metrics::accuracy(nx::tensor({{0, 1, 0}, {1, 0, 0}}),
                                          nx::tensor({{0, 1, 0}, {0, 1, 0}}))),
                  0.5f);
  EXPECT_FLOAT_EQ(value(metrics::precision(nx::tensor({0, 1, 1, 1}), nx::tensor({1, 0, 1, 1}))),
                  2.0f / 3);
  EXPECT_FLOAT_EQ(value(metrics::recall(nx::tensor({0, 1, 1, 1}), nx::tensor({1, 0, 1, 1}))),
                  2.0f / 3);
  EXPECT_FLOAT_EQ(value(metrics::specificity(nx::tensor({0, 1, 1, 1}), nx::tensor({1, 0, 1, 1}))),
                  0.0f);
  Tensor t = nx::tensor({1, 0, 1, 1, 0, 1, 0});
  Tensor p = nx::tensor({0.8f, 0.6f, 0.4f, 0.2f, 0.8f, 0.2f, 0.2f});
  EXPECT_EQ(metrics::true_positives(t, p).item<int64_t>(), 1);
  EXPECT_EQ(metrics::false_negatives(t, p).item<int64_t>(), 3);
  EXPECT_EQ(metrics::true_negatives(t, p).item<int64_t>(), 1);
  EXPECT_EQ(metrics::false_positives(t, p).item<int64_t>(), 2);
  EXPECT_FLOAT_EQ(
      value(metrics::top_k_categorical_accuracy(
          nx::tensor({0, 1, 0, 0, 0}), nx::tensor({0.1f, 0.4f, 0.3f, 0.7f, 0.1f}), {.k = 2})),
      1.0f);
  EXPECT_FLOAT_EQ(value(metrics::top_k_categorical_accuracy(
                      nx::tensor({{0}, {2}}), nx::tensor({{0.1f, 0.4f, 0.7f}, {0.1f, 0.4f, 0.7f}}),
                      {.k = 2, .sparse = true})),
                  0.5f);
}

TEST(AxonFnMetrics, ThresholdMetrics) {
  for (const std::string c : {"thr", "thr2d"}) {
    for (const auto& [tag, th] :
         std::vector<std::pair<std::string, double>>{{"", 0.5}, {"_t03", 0.3}, {"_t07", 0.7}}) {
      const metrics::ThresholdOptions o{.threshold = th};
      Tensor t = y_true(c), p = y_pred(c);
      expect_value(metrics::true_positives(t, p, o), c + "_tp" + tag, nx::s64);
      expect_value(metrics::false_positives(t, p, o), c + "_fp" + tag, nx::s64);
      expect_value(metrics::true_negatives(t, p, o), c + "_tn" + tag, nx::s64);
      expect_value(metrics::false_negatives(t, p, o), c + "_fn" + tag, nx::s64);
      expect_value(metrics::precision(t, p, o), c + "_precision" + tag, nx::f32);
      expect_value(metrics::recall(t, p, o), c + "_recall" + tag, nx::f32);
      expect_value(metrics::sensitivity(t, p, o), c + "_recall" + tag, nx::f32);
      expect_value(metrics::specificity(t, p, o), c + "_specificity" + tag, nx::f32);
    }
  }
  expect_value(metrics::precision(y_true("nopos"), y_pred("nopos")), "nopos_precision", nx::f32);
}

TEST(AxonFnMetrics, MeanAbsoluteError) {
  expect_value(metrics::mean_absolute_error(y_true("mae"), y_pred("mae")),
               "mae_mean_absolute_error", nx::f32);
  Tensor d = metrics::mean_absolute_error(nx::as_type(y_true("mae"), nx::f64),
                                          nx::as_type(y_pred("mae"), nx::f64));
  EXPECT_EQ(d.dtype(), nx::f64);
  fn_test::expect_close(d, mref("mae_mean_absolute_error"), 1e-14, 0, "mae f64");
}

TEST(AxonFnMetrics, TopKCategoricalAccuracy) {
  for (int64_t k : {1, 2, 3, 5, 6}) {
    const std::string s = std::to_string(k);
    expect_value(metrics::top_k_categorical_accuracy(y_true("topk"), y_pred("topk"), {.k = k}),
                 "topk_k" + s, nx::f32);
    expect_value(metrics::top_k_categorical_accuracy(y_true("topk_sparse"), y_pred("topk_sparse"),
                                                     {.k = k, .sparse = true}),
                 "topk_sparse_k" + s, nx::f32);
  }
  // Default k = 5; k past the number of classes counts every class.
  expect_value(metrics::top_k_categorical_accuracy(y_true("topk"), y_pred("topk")), "topk_k5",
               nx::f32);
  expect_value(metrics::top_k_categorical_accuracy(y_true("topk"), y_pred("topk"), {.k = 9}),
               "topk_k6", nx::f32);
  expect_value(metrics::top_k_categorical_accuracy(y_true("topk1d"), y_pred("topk1d"), {.k = 1}),
               "topk1d_k1", nx::f32);
  expect_value(metrics::top_k_categorical_accuracy(y_true("topk1d"), y_pred("topk1d"), {.k = 2}),
               "topk1d_k2", nx::f32);
}

TEST(AxonFnMetrics, RunningCombinators) {
  // Axon's documented examples.
  Tensor t = nx::tensor({{0, 1}, {1, 0}, {1, 0}});
  metrics::RunningMetric avg = metrics::running_average(metrics::metric("accuracy"));
  EXPECT_FLOAT_EQ(
      fn_test::values(avg(nx::scalar(0.5, nx::f32), t, t, nx::scalar_int(1, nx::s64)))[0], 0.75f);
  metrics::RunningMetric sum = metrics::running_sum(metrics::metric("false_positives"));
  Tensor fps = sum(nx::scalar_int(12, nx::s64), nx::tensor({0, 1, 0, 1}), nx::tensor({1, 1, 0, 1}),
                   nx::scalar_int(2, nx::s64));
  EXPECT_EQ(fps.dtype(), nx::s64);
  EXPECT_EQ(fps.item<int64_t>(), 13);
  // A running average over batches equals the mean of the per-batch values.
  Tensor acc = nx::scalar(0.0, nx::f32);
  const std::vector<std::string> batches = {"binary", "multi", "rank3"};
  double mean = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    acc = avg(acc, y_true(batches[i]), y_pred(batches[i]), nx::scalar_int(int64_t(i), nx::s64));
    mean += fn_test::values(mref(batches[i] + "_accuracy"))[0] / double(batches.size());
  }
  EXPECT_NEAR(fn_test::values(acc)[0], mean, 1e-6);
}

TEST(AxonFnMetrics, RunUnderJit) {
  auto step = nx::jit([](const Tensor& acc, const Tensor& t, const Tensor& p, const Tensor& i) {
    return metrics::running_average([](const Tensor& a, const Tensor& b) {
      return metrics::accuracy(a, b, {.sparse = true});
    })(acc, t, p, i);
  });
  Tensor got = step(nx::scalar(0.0, nx::f32), y_true("sparse"), y_pred("sparse"),
                    nx::scalar_int(0, nx::s64));
  expect_value(got, "sparse_accuracy", nx::f32);
  auto prec = nx::jit([](const Tensor& t, const Tensor& p) {
    return metrics::precision(t, p, {.threshold = 0.3});
  });
  expect_value(prec(y_true("thr"), y_pred("thr")), "thr_precision_t03", nx::f32);
  auto topk = nx::jit([](const Tensor& t, const Tensor& p) {
    return metrics::top_k_categorical_accuracy(t, p, {.k = 3});
  });
  expect_value(topk(y_true("topk"), y_pred("topk")), "topk_k3", nx::f32);
}

TEST(AxonFnMetrics, ByName) {
  for (const char* name :
       {"accuracy", "true_positives", "false_positives", "true_negatives", "false_negatives",
        "precision", "recall", "sensitivity", "specificity", "mean_absolute_error"}) {
    EXPECT_NO_THROW(metrics::metric(name)(y_true("thr"), y_pred("thr"))) << name;
  }
  expect_value(metrics::metric("top_k_categorical_accuracy")(y_true("topk"), y_pred("topk")),
               "topk_k5", nx::f32);
  expect_error([] { metrics::metric("f1"); },
               "axon::fn::metrics::metric: unknown metric \"f1\", expected one of: accuracy");
}

TEST(AxonFnMetrics, BadShapesThrow) {
  Tensor a = nx::zeros({4, 3}), b = nx::zeros({4, 2});
  expect_error([&] { metrics::accuracy(a, b); },
               "axon::fn::metrics::accuracy: y_true and y_pred must have the same shape, got "
               "y_true f32{4, 3} and y_pred f32{4, 2}");
  expect_error(
      [&] {
        metrics::accuracy(nx::zeros({4}), nx::zeros({4, 1}));
      },
      "axon::fn::metrics::accuracy");
  expect_error([&] { metrics::accuracy(nx::zeros({3}), b, {.sparse = true}); },
               "axon::fn::metrics::accuracy: sparse y_true must have shape");
  expect_error([&] { metrics::precision(a, b); }, "axon::fn::metrics::precision");
  expect_error([&] { metrics::true_positives(nx::zeros({5}), nx::zeros({4})); },
               "axon::fn::metrics::true_positives");
  expect_error([&] { metrics::mean_absolute_error(a, b); },
               "axon::fn::metrics::mean_absolute_error");
  expect_error(
      [&] {
        metrics::top_k_categorical_accuracy(nx::zeros({2, 2, 3}), nx::zeros({2, 2, 3}));
      },
      "axon::fn::metrics::top_k_categorical_accuracy: y_pred must have rank 1 or 2");
  expect_error([&] { metrics::top_k_categorical_accuracy(a, a, {.k = 0}); },
               "k must be at least 1, got 0");
  expect_error([&] { metrics::accuracy(Tensor(), a); }, "y_true is an empty tensor");
}

}  // namespace
