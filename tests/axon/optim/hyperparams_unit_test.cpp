// Hyperparameters in the state: finding, reading and changing them, and the change reaching the
// next step, eagerly and in a compiled step without recompiling.
#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

Tree one_leaf(double v) {
  return Tree{{"w", nx::tensor({v, -v}, nx::f64)}};
}

TEST(OptimHyperparams, FindListsPathsAndValues) {
  Tree s = optim::adam({.learning_rate = 0.01}).init(one_leaf(1.0));
  std::vector<nx::PathLeaf> lr = optim::find_hyperparameters(s, "learning_rate");
  ASSERT_EQ(lr.size(), 1u);
  EXPECT_EQ(lr[0].path, "1.hyperparams.learning_rate");
  EXPECT_EQ(lr[0].tensor.dtype(), nx::f64);
  EXPECT_EQ(lr[0].tensor.item<double>(), 0.01);
  std::vector<nx::PathLeaf> b1 = optim::find_hyperparameters(s, "b1");
  ASSERT_EQ(b1.size(), 1u);
  EXPECT_EQ(b1[0].path, "0.hyperparams.b1");
  EXPECT_EQ(optim::find_hyperparameters(s, "0.hyperparams.eps").size(), 1u);
  EXPECT_TRUE(optim::find_hyperparameters(s, "nope").empty());
  EXPECT_EQ(optim::get_hyperparameter(s, "lr_scale").item<double>(), 1.0);
}

TEST(OptimHyperparams, SetChangesTheNextStep) {
  auto opt = optim::sgd({.learning_rate = 0.1});
  Tree p = one_leaf(1.0), g = one_leaf(2.0);
  Tree s = opt.init(p);
  EXPECT_EQ(values(opt.update(g, s, p).updates["w"].leaf()), (std::vector<double>{-0.2, 0.2}));
  s = optim::set_hyperparameter(s, "learning_rate", 0.5);
  EXPECT_EQ(optim::get_hyperparameter(s, "learning_rate").item<double>(), 0.5);
  EXPECT_EQ(values(opt.update(g, s, p).updates["w"].leaf()), (std::vector<double>{-1.0, 1.0}));
  // Reduce on plateau: scale the multiplier.
  s = optim::set_hyperparameter(s, "lr_scale", 0.1);
  std::vector<double> u = values(opt.update(g, s, p).updates["w"].leaf());
  EXPECT_DOUBLE_EQ(u[0], -0.1);
}

TEST(OptimHyperparams, SetKeepsTheDtypeAndStructure) {
  Tree s = optim::adam().init(one_leaf(1.0));
  Tree s2 = optim::set_hyperparameter(s, "b2", 0.99);
  EXPECT_TRUE(nx::same_structure(s, s2));
  EXPECT_EQ(optim::get_hyperparameter(s2, "b2").dtype(), nx::f64);
  EXPECT_EQ(optim::get_hyperparameter(s2, "b2").item<double>(), 0.99);
  EXPECT_EQ(optim::get_hyperparameter(s, "b2").item<double>(), 0.999);  // the old one is intact
  // A tensor value is converted.
  Tree s3 = optim::set_hyperparameter(s, "eps", nx::scalar(1e-3, nx::f32));
  EXPECT_EQ(optim::get_hyperparameter(s3, "eps").dtype(), nx::f64);
}

TEST(OptimHyperparams, BareNamesReachEveryMatchAndPathsOne) {
  // rmsprop with momentum has two "decay"s: the RMS decay and the momentum.
  Tree s = optim::rmsprop({.momentum = 0.9}).init(one_leaf(1.0));
  EXPECT_EQ(optim::find_hyperparameters(s, "decay").size(), 2u);
  std::string e = error_of([&] { optim::get_hyperparameter(s, "decay"); });
  EXPECT_NE(e.find("0.hyperparams.decay"), std::string::npos) << e;
  EXPECT_NE(e.find("2.hyperparams.decay"), std::string::npos) << e;
  Tree one = optim::set_hyperparameter(s, "2.hyperparams.decay", 0.5);
  EXPECT_EQ(optim::get_hyperparameter(one, "2.hyperparams.decay").item<double>(), 0.5);
  EXPECT_EQ(optim::get_hyperparameter(one, "0.hyperparams.decay").item<double>(), 0.9);
  Tree both = optim::set_hyperparameter(s, "decay", 0.5);
  for (const nx::PathLeaf& pl : optim::find_hyperparameters(both, "decay")) {
    EXPECT_EQ(pl.tensor.item<double>(), 0.5) << pl.path;
  }
}

TEST(OptimHyperparams, UnknownNamesListWhatThereIs) {
  Tree s = optim::adam().init(one_leaf(1.0));
  std::string e = error_of([&] { optim::set_hyperparameter(s, "momentum", 0.5); });
  EXPECT_NE(e.find("\"momentum\""), std::string::npos) << e;
  EXPECT_NE(e.find("1.hyperparams.learning_rate"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { optim::get_hyperparameter(s, "momentum"); }), "");
  EXPECT_NE(error_of([&] { optim::set_hyperparameter(s, "eps", nx::zeros({2})); }), "");
}

TEST(OptimHyperparams, ChangesReachACompiledStepWithoutRecompiling) {
  auto opt = optim::adam({.learning_rate = 0.1});
  auto step = jitted_update(opt);
  Tree p = one_leaf(1.0), g = one_leaf(0.5);
  Tree s = opt.init(p);
  Tree r1 = step(g, s, p);
  Tree s_changed =
      optim::set_hyperparameter(optim::set_hyperparameter(s, "lr_scale", 0.5), "b1", 0.5);
  Tree r2 = step(g, s_changed, p);
  EXPECT_EQ(step.stats().compiles, 1);
  // Eager with the same changed state gives the same step.
  optim::UpdateResult eager = opt.update(g, s_changed, p);
  expect_tree_near(Tree(r2[0]), eager.updates, 1e-15);
  // First Adam step is g / (|g| + eps): the lr_scale halves it; b1 does not matter at step 1.
  EXPECT_NEAR(values(r1[0]["w"].leaf())[0], -0.1, 1e-7);
  EXPECT_NEAR(values(r2[0]["w"].leaf())[0], -0.05, 1e-7);
}

TEST(OptimHyperparams, ScheduledRateIsRecordedAndScaled) {
  auto opt = optim::sgd({.learning_rate = optim::piecewise_constant(1.0, {2}, {0.1})});
  Tree p = one_leaf(1.0), g = one_leaf(1.0);
  Tree s = opt.init(p);
  EXPECT_EQ(optim::get_hyperparameter(s, "learning_rate").item<double>(), 1.0);
  std::vector<double> seen;
  for (int i = 0; i < 4; ++i) {
    if (i == 3) s = optim::set_hyperparameter(s, "lr_scale", 0.5);
    optim::UpdateResult r = opt.update(g, s, p);
    s = r.state;
    seen.push_back(-values(r.updates["w"].leaf())[0]);
    EXPECT_DOUBLE_EQ(optim::get_hyperparameter(s, "learning_rate").item<double>(),
                     i < 2 ? 1.0 : 0.1);
  }
  EXPECT_DOUBLE_EQ(seen[0], 1.0);
  EXPECT_DOUBLE_EQ(seen[1], 1.0);
  EXPECT_DOUBLE_EQ(seen[2], 0.1);
  EXPECT_DOUBLE_EQ(seen[3], 0.05);
}

TEST(OptimHyperparams, EveryOptimizerHasAnLrScale) {
  for (const char* name : {"adabelief", "adagrad", "adam", "adamw", "lamb", "noisy_sgd", "radam",
                           "rmsprop", "sgd", "yogi", "adamax", "nadam", "lion", "adafactor"}) {
    Tree s = optim::by_name(name).init(sample_params());
    EXPECT_EQ(optim::find_hyperparameters(s, "lr_scale").size(), 1u) << name;
  }
}

}  // namespace
}  // namespace optim_unit
