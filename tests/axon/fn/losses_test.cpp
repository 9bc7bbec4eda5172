// Tests of axon::fn::losses (classification, regression, label smoothing, losses by name)
// against PyTorch / transcriptions of Axon's formulas (tests/axon/fn/data/gen_losses.py).
#include "axon/fn/losses.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace {

namespace losses = axon::fn::losses;
using losses::Reduction;
using nx::Tensor;
using nx::Tree;

const std::vector<std::string> kReductions = {"none", "mean", "sum"};

Reduction reduction_of(const std::string& name) {
  return name == "mean" ? Reduction::Mean : name == "sum" ? Reduction::Sum : Reduction::None;
}

Tensor ref(const std::string& c, const std::string& field) {
  return fn_test::ref("losses", c + "__" + field);
}

// Forward and gradients of f(inputs named `names`) against reference case `c`, eagerly and
// compiled, plus a jit-compiled forward equal to the eager one.
void check_case(const std::string& c, const std::vector<std::string>& names,
                const std::vector<size_t>& wrt,
                const std::function<Tensor(const std::vector<Tensor>&)>& f, double rtol = 2e-5,
                double atol = 2e-6) {
  SCOPED_TRACE(c);
  std::vector<Tensor> inputs;
  for (const auto& n : names) inputs.push_back(ref(c, n));
  std::vector<Tensor> grads;
  for (size_t i : wrt) grads.push_back(ref(c, "grad_" + names[i]));
  Tensor out = ref(c, "out");
  Tensor ct = nx::as_type(ref(c, "ct"), inputs.at(wrt.empty() ? 1 : wrt[0]).dtype());
  fn_test::check_forward_and_grads(f, inputs, out, ct, wrt, grads, rtol, atol, c);
  auto compiled = nx::jit([&](const Tree& xs) {
    std::vector<Tensor> args;
    for (const auto& x : xs.children()) args.push_back(x.leaf());
    return f(args);
  });
  nx::Tree::List leaves(inputs.begin(), inputs.end());
  fn_test::expect_close(compiled(nx::Tree::list(leaves)), f(inputs), 1e-6, 1e-7,
                        c + " jit vs eager");
}

// ---- classification ----------------------------------------------------------------------------

TEST(Losses, BinaryCrossEntropy) {
  const std::vector<std::string> weights = {"none", "pos", "neg", "both"};
  for (bool logits : {false, true}) {
    for (const auto& w : weights) {
      for (const auto& red : kReductions) {
        losses::BinaryCrossEntropyOptions o{.from_logits = logits, .reduction = reduction_of(red)};
        if (w == "pos" || w == "both") o.positive_weight = w == "pos" ? 2.0 : 3.0;
        if (w == "neg" || w == "both") o.negative_weight = w == "neg" ? 0.5 : 0.4;
        check_case("bce_" + std::to_string(logits) + "_" + w + "_" + red, {"y_true", "y_pred"}, {1},
                   [&](const std::vector<Tensor>& x) {
                     return losses::binary_cross_entropy(x[0], x[1], o);
                   });
      }
    }
  }
}

TEST(Losses, BinaryCrossEntropySoftAndIntegerLabels) {
  for (bool logits : {false, true}) {
    check_case("bce_soft_" + std::to_string(logits), {"y_true", "y_pred"}, {1},
               [&](const std::vector<Tensor>& x) {
                 return losses::binary_cross_entropy(
                     x[0], x[1],
                     {.positive_weight = 3.0, .negative_weight = 0.4, .from_logits = logits});
               });
  }
  check_case("bce_u8", {"y_true", "y_pred"}, {1}, [](const std::vector<Tensor>& x) {
    return losses::binary_cross_entropy(x[0], x[1], {.positive_weight = 2.0});
  });
}

TEST(Losses, BinaryCrossEntropyLogitsAtZeroHasHalfGradient) {
  // A zero-initialised last layer gives logits of exactly 0: d/dl of -log_sigmoid(l) is -0.5.
  Tensor y = nx::tensor({{1.0, 0.0}});
  Tensor g = nx::grad(nx::zeros({1, 2}), [&](const Tensor& l) {
    return nx::sum(losses::binary_cross_entropy(y, l, {.from_logits = true}));
  });
  fn_test::expect_close(g, nx::tensor({{-0.25, 0.25}}), 1e-6, 1e-7, "grad at 0");
}

TEST(Losses, CategoricalCrossEntropy) {
  for (bool logits : {false, true}) {
    for (bool sparse : {false, true}) {
      for (bool weighted : {false, true}) {
        for (const auto& red : kReductions) {
          const std::string c = "cce_" + std::to_string(logits) + "_" + std::to_string(sparse) +
                                "_" + std::to_string(weighted) + "_" + red;
          std::vector<std::string> names = {"y_true", "y_pred"};
          std::vector<size_t> wrt = {1};
          if (weighted) {
            names.push_back("w");
            wrt.push_back(2);
          }
          check_case(c, names, wrt, [&](const std::vector<Tensor>& x) {
            losses::CategoricalCrossEntropyOptions o{
                .from_logits = logits, .sparse = sparse, .reduction = reduction_of(red)};
            if (weighted) o.class_weights = x[2];
            return losses::categorical_cross_entropy(x[0], x[1], o);
          });
        }
      }
    }
  }
}

TEST(Losses, CategoricalCrossEntropyZeroProbability) {
  check_case("cce_zero_prob", {"y_true", "y_pred"}, {1}, [](const std::vector<Tensor>& x) {
    return losses::categorical_cross_entropy(x[0], x[1]);
  });
}

TEST(Losses, CategoricalCrossEntropySparseEqualsDenseOnSequences) {
  // [B][T][C] predictions with [B][T] ids: the class axis is the last one, also for the weights.
  Tensor logits = nx::reshape(nx::sin(nx::iota({2 * 3 * 4}, nx::f32)), {2, 3, 4});
  Tensor ids = nx::tensor({{0, 3, 1}, {2, 2, 0}});
  Tensor onehot = nx::one_hot(ids, 4);
  Tensor w = nx::tensor({0.5, 1.0, 2.0, 0.25});
  for (bool logits_in : {false, true}) {
    Tensor p = logits_in ? logits : nx::softmax(logits);
    for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
      auto run = [&](const Tensor& y, bool sparse) {
        return losses::categorical_cross_entropy(
            y, p, {.class_weights = w, .from_logits = logits_in, .sparse = sparse, .reduction = r});
      };
      fn_test::expect_close(run(ids, true), run(onehot, false), 1e-5, 1e-6, "sparse vs dense");
    }
  }
}

TEST(Losses, LabelSmoothingMatchesTorchCrossEntropy) {
  for (bool logits : {false, true}) {
    losses::Loss base = [logits](const Tensor& y, const Tensor& p) {
      return losses::categorical_cross_entropy(
          y, p, {.from_logits = logits, .reduction = Reduction::Mean});
    };
    losses::Loss smoothed = losses::label_smoothing(base, 0.2);
    check_case("cce_smooth_" + std::to_string(logits), {"y_true", "y_pred"}, {1},
               [&](const std::vector<Tensor>& x) { return smoothed(x[0], x[1]); });
  }
  Tensor y = nx::tensor({{0.0, 1.0, 0.0, 0.0}});
  fn_test::expect_close(losses::apply_label_smoothing(y, nx::zeros({1, 4})),
                        nx::tensor({{0.025, 0.925, 0.025, 0.025}}), 1e-6, 1e-7, "smoothing");
}

TEST(Losses, HingeFamilyAndDivergences) {
  for (const auto& red : kReductions) {
    const losses::LossOptions o{.reduction = reduction_of(red)};
    const std::vector<std::string> names = {"y_true", "y_pred"};
    check_case("categorical_hinge_" + red, names, {1}, [&](const std::vector<Tensor>& x) {
      return losses::categorical_hinge(x[0], x[1], o);
    });
    check_case("hinge_" + red, names, {1},
               [&](const std::vector<Tensor>& x) { return losses::hinge(x[0], x[1], o); });
    check_case("soft_margin_" + red, names, {1},
               [&](const std::vector<Tensor>& x) { return losses::soft_margin(x[0], x[1], o); });
    check_case("kl_divergence_" + red, names, {1},
               [&](const std::vector<Tensor>& x) { return losses::kl_divergence(x[0], x[1], o); });
    for (double margin : {0.0, 0.5}) {
      check_case("margin_ranking_" + std::string(margin == 0.0 ? "0.0" : "0.5") + "_" + red,
                 {"y_true", "p1", "p2"}, {1, 2}, [&](const std::vector<Tensor>& x) {
                   return losses::margin_ranking(x[0], {x[1], x[2]},
                                                 {.margin = margin, .reduction = o.reduction});
                 });
    }
  }
}

// ---- regression --------------------------------------------------------------------------------

TEST(Losses, Regression) {
  for (const auto& red : kReductions) {
    const losses::LossOptions o{.reduction = reduction_of(red)};
    const std::vector<std::string> names = {"y_true", "y_pred"};
    check_case("mae_" + red, names, {1}, [&](const std::vector<Tensor>& x) {
      return losses::mean_absolute_error(x[0], x[1], o);
    });
    check_case("mse_" + red, names, {1}, [&](const std::vector<Tensor>& x) {
      return losses::mean_squared_error(x[0], x[1], o);
    });
    check_case("log_cosh_" + red, names, {1},
               [&](const std::vector<Tensor>& x) { return losses::log_cosh(x[0], x[1], o); });
    check_case("poisson_" + red, names, {1},
               [&](const std::vector<Tensor>& x) { return losses::poisson(x[0], x[1], o); });
    for (double delta : {1.0, 0.5}) {
      check_case("huber_" + std::string(delta == 1.0 ? "1.0" : "0.5") + "_" + red, names, {1},
                 [&](const std::vector<Tensor>& x) {
                   return losses::huber(x[0], x[1], {.delta = delta, .reduction = o.reduction});
                 });
    }
    check_case("cosine_1_" + red, names, {1}, [&](const std::vector<Tensor>& x) {
      return losses::cosine_similarity(x[0], x[1], {.reduction = o.reduction});
    });
  }
}

TEST(Losses, CosineSimilarityAxesAndZeroVectors) {
  const std::vector<std::string> names = {"y_true", "y_pred"};
  check_case("cosine_rank3_1", names, {1},
             [](const std::vector<Tensor>& x) { return losses::cosine_similarity(x[0], x[1]); });
  check_case("cosine_rank3_12", names, {1}, [](const std::vector<Tensor>& x) {
    return losses::cosine_similarity(x[0], x[1], {.axes = {-2, 2}});
  });
  // A zero prediction: similarity 0 and a finite gradient y / eps (not NaN).
  check_case(
      "cosine_zero", names, {1},
      [](const std::vector<Tensor>& x) { return losses::cosine_similarity(x[0], x[1]); }, 2e-5,
      1e-2);
}

// ---- losses by name ----------------------------------------------------------------------------

TEST(Losses, LossByNameUsesMeanReduction) {
  Tensor y = ref("mse_none", "y_true"), p = ref("mse_none", "y_pred");
  fn_test::expect_close(losses::loss("mean_squared_error")(y, p), ref("mse_mean", "out"), 1e-5,
                        1e-6, "mse by name");
  fn_test::expect_close(losses::loss("mean_squared_error", Reduction::Sum)(y, p),
                        ref("mse_sum", "out"), 1e-5, 1e-6, "mse by name, sum");
  for (const char* name : {"binary_cross_entropy", "categorical_cross_entropy", "categorical_hinge",
                           "hinge", "kl_divergence", "log_cosh", "mean_absolute_error",
                           "mean_squared_error", "poisson", "soft_margin", "huber"}) {
    Tensor probs = ref("kl_divergence_none", "y_pred");
    Tensor out = losses::loss(name)(ref("kl_divergence_none", "y_true"), probs);
    EXPECT_EQ(out.rank(), 0) << name;
  }
  EXPECT_THROW(losses::loss("mean_squared"), nx::Error);
}

// ---- errors ------------------------------------------------------------------------------------

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing " << parts.front();
  } catch (const nx::Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what() << " lacks " << p;
  }
}

TEST(Losses, Errors) {
  Tensor p = nx::full({2, 3}, 0.5);
  expect_error(
      [&] {
        losses::mean_squared_error(nx::zeros({2, 4}), p);
      },
      {"axon::fn::mean_squared_error", "y_true f32{2, 4}", "y_pred f32{2, 3}"});
  expect_error(
      [&] {
        losses::binary_cross_entropy(nx::zeros({2, 3}), nx::zeros({2, 3}, nx::s32));
      },
      {"axon::fn::binary_cross_entropy", "floating point", "s32{2, 3}"});
  expect_error([&] { losses::categorical_cross_entropy(nx::zeros({2}), p, {.sparse = true}); },
               {"axon::fn::categorical_cross_entropy", "integer class ids", "f32{2}"});
  expect_error(
      [&] {
        losses::categorical_cross_entropy(nx::tensor({0, 3}), p, {.sparse = true});
      },
      {"axon::fn::categorical_cross_entropy", "[0, 3)"});
  expect_error(
      [&] {
        losses::categorical_cross_entropy(nx::zeros({2, 2}, nx::s32), p, {.sparse = true});
      },
      {"{2} or {2, 1}", "s32{2, 2}"});
  expect_error(
      [&] {
        losses::categorical_cross_entropy(nx::zeros({2, 3}), p, {.class_weights = nx::ones({4})});
      },
      {"class_weights must have shape {3}", "f32{4}"});
  expect_error(
      [&] {
        losses::hinge(nx::zeros({2, 3}), p, {.reduction = Reduction(7)});
      },
      {"axon::fn::hinge", "reduction must be None, Mean or Sum", "7"});
  expect_error(
      [&] {
        losses::huber(nx::zeros({2, 3}), p, {.delta = 0});
      },
      {"axon::fn::huber", "delta must be positive"});
  expect_error(
      [&] {
        losses::cosine_similarity(nx::zeros({2, 3}), p, {.axes = {2}});
      },
      {"axon::fn::cosine_similarity", "out of range"});
  expect_error(
      [&] {
        losses::margin_ranking(nx::zeros({3}), {nx::zeros({3}), nx::zeros({2})});
      },
      {"axon::fn::margin_ranking", "y_pred2 f32{2}"});
  expect_error(
      [&] {
        losses::apply_label_smoothing(nx::zeros({2, 4}), p);
      },
      {"axon::fn::apply_label_smoothing", "y_true f32{2, 4}"});
}

}  // namespace
