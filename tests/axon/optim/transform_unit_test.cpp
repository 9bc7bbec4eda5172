// The combinators (identity, chain, stateless, stateful, masked, apply_updates) and the errors
// transformations throw for bad input.
#include "unit_test_helpers.hpp"

namespace optim_unit {
namespace {

TEST(OptimTransform, IdentityPassesThrough) {
  auto t = optim::identity();
  Tree p = sample_params();
  Tree s = t.init(p);
  EXPECT_TRUE(s.is_map());
  EXPECT_EQ(s.size(), 0u);
  Tree g = sample_grads(0);
  optim::UpdateResult r = t.update(g, s, p);
  expect_tree_near(r.updates, g, 0.0);
  EXPECT_EQ(r.state.size(), 0u);
}

TEST(OptimTransform, ChainAppliesInOrderAndListsStates) {
  // scale(2) then add_decayed_weights(0.5): 2 g + 0.5 p; the other order would be 2 g + p.
  auto t = optim::chain({optim::scale(2.0), optim::add_decayed_weights({.decay = 0.5})});
  Tree p = sample_params(nx::f64), g = sample_grads(0, nx::f64);
  Tree s = t.init(p);
  ASSERT_TRUE(s.is_list());
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].size(), 0u);  // scale has no state
  EXPECT_TRUE(s[1].contains("hyperparams"));
  optim::UpdateResult r = t.update(g, s, p);
  Tree want =
      nx::tree_map(g, p, [](const Tensor& x, const Tensor& w) { return x * 2.0 + w * 0.5; });
  expect_tree_near(r.updates, want, 1e-15);
}

TEST(OptimTransform, ChainThreadsEachState) {
  // Two momentum stages keep separate traces.
  auto t = optim::chain({optim::trace({.decay = 0.5}), optim::trace({.decay = 0.25})});
  Tree x = Tree{{"x", nx::scalar(1.0, nx::f64)}};
  Tree s = t.init(x);
  double t1 = 0, t2 = 0;
  for (int i = 0; i < 3; ++i) {
    optim::UpdateResult r = t.update(x, s, x);
    s = r.state;
    t1 = 0.5 * t1 + 1.0;
    t2 = 0.25 * t2 + t1;
    EXPECT_DOUBLE_EQ(r.updates["x"].leaf().item<double>(), t2);
    EXPECT_DOUBLE_EQ(s[0]["trace"]["x"].leaf().item<double>(), t1);
  }
}

TEST(OptimTransform, ChainRejectsAStateOfTheWrongLength) {
  auto t = optim::chain({optim::scale(1.0), optim::scale(2.0)});
  Tree p = sample_params();
  std::string e = error_of([&] { t.update(sample_grads(0), Tree::list({Tree()}), p); });
  EXPECT_NE(e.find("axon::optim::chain"), std::string::npos) << e;
  EXPECT_NE(e.find("list of 2"), std::string::npos) << e;
  EXPECT_NE(error_of([] { optim::chain({optim::Transformation{}}); }), "");
}

TEST(OptimTransform, StatelessSeesParams) {
  auto t = optim::stateless([](const Tree& u, const Tree& p) {
    return nx::tree_map(u, p, [](const Tensor& a, const Tensor& b) { return a - b; });
  });
  Tree p = sample_params(), g = sample_grads(1);
  Tree s = t.init(p);
  EXPECT_EQ(s.size(), 0u);
  optim::UpdateResult r = t.update(g, s, p);
  expect_tree_near(r.updates, nx::tree_map(g, p, [](auto& a, auto& b) { return a - b; }), 0.0);
  EXPECT_NE(error_of([] { optim::stateless({}); }), "");
}

TEST(OptimTransform, StatefulCountsCalls) {
  auto t = optim::stateful(
      [](const Tree&) {
        return Tree{{"n", nx::scalar_int(0, nx::s64)}};
      },
      [](const Tree& u, const Tree& s, const Tree&) {
        Tensor n = s["n"].leaf() + 1;
        Tree out = nx::tree_map(u, [&](const Tensor& x) { return x * nx::as_type(n, x.dtype()); });
        return optim::UpdateResult{out, Tree{{"n", n}}};
      });
  Tree p = sample_params(), s = t.init(p);
  for (int i = 1; i <= 3; ++i) {
    optim::UpdateResult r = t.update(sample_grads(0), s, p);
    s = r.state;
    EXPECT_EQ(s["n"].leaf().item<int64_t>(), i);
    expect_tree_near(r.updates,
                     nx::tree_map(sample_grads(0), [&](const Tensor& x) { return x * i; }), 1e-7);
  }
  EXPECT_NE(error_of([] { optim::stateful({}, {}); }), "");
}

TEST(OptimTransform, MaskedTransformsOnlySelectedLeaves) {
  auto inner = optim::chain({optim::trace({.decay = 0.5}), optim::scale(-1.0)});
  auto t = optim::masked(
      inner, [](const std::string& path) { return path == "dense.kernel" || path == "blocks.1"; });
  Tree p = sample_params(nx::f64);
  Tree s = t.init(p);
  // Inner state covers the selected leaves only, under their original paths.
  const Tree& tr = s[0]["trace"];
  EXPECT_EQ(tr.to_string(), "{dense: {kernel: f64[2][3]}, blocks: {1: f64[2]}}");
  Tree g0 = sample_grads(0, nx::f64), g1 = sample_grads(1, nx::f64);
  optim::UpdateResult r0 = t.update(g0, s, p);
  optim::UpdateResult r1 = t.update(g1, r0.state, p);
  // Unselected leaves pass through.
  expect_tree_near(Tree(r1.updates["dense"]["bias"]), Tree(g1["dense"]["bias"]), 0.0);
  expect_tree_near(Tree(r1.updates["blocks"][0]), Tree(g1["blocks"][0]), 0.0);
  // Selected leaves: -(0.5 g0 + g1).
  Tensor k0 = g0["dense"]["kernel"].leaf(), k1 = g1["dense"]["kernel"].leaf();
  expect_tree_near(Tree(r1.updates["dense"]["kernel"]), Tree(-(k0 * 0.5 + k1)), 1e-15);
  Tensor e0 = g0["blocks"][1].leaf(), e1 = g1["blocks"][1].leaf();
  expect_tree_near(Tree(r1.updates["blocks"][1]), Tree(-(e0 * 0.5 + e1)), 1e-15);
}

TEST(OptimTransform, MaskedPassesSelectedParamsAndHandlesEmptySelections) {
  auto t = optim::masked(optim::add_decayed_weights({.decay = 1.0}),
                         [](const std::string& path) { return path.starts_with("dense"); });
  Tree p = sample_params(nx::f64), g = sample_grads(0, nx::f64);
  optim::UpdateResult r = t.update(g, t.init(p), p);
  expect_tree_near(Tree(r.updates["dense"]),
                   nx::tree_map(g["dense"], p["dense"], [](auto& a, auto& b) { return a + b; }),
                   1e-15);
  expect_tree_near(Tree(r.updates["blocks"]), Tree(g["blocks"]), 0.0);
  auto none = optim::masked(optim::trace(), [](const std::string&) { return false; });
  Tree s = none.init(p);
  EXPECT_EQ(nx::tree_leaves(s).size(), 1u);  // the trace is empty: the decay only
  expect_tree_near(none.update(g, s, p).updates, g, 0.0);
}

TEST(OptimTransform, MaskedRootLeaf) {
  auto t = optim::masked(optim::scale(3.0), [](const std::string& path) { return path.empty(); });
  Tree p(nx::tensor({1.0, 2.0}));
  optim::UpdateResult r = t.update(p, t.init(p), p);
  EXPECT_EQ(values(r.updates.leaf()), (std::vector<double>{3.0, 6.0}));
}

TEST(OptimTransform, ApplyUpdatesConvertsToParamDtype) {
  Tree p = sample_params(nx::bf16);
  Tree u = nx::tree_map(sample_grads(0, nx::f32), [](const Tensor& x) { return x * 0.5; });
  Tree out = optim::apply_updates(p, u);
  nx::tree_for_each(out, [](const Tensor& t) { EXPECT_EQ(t.dtype(), nx::bf16); });
  Tree want = nx::tree_map(
      p, u, [](const Tensor& a, const Tensor& b) { return a + nx::as_type(b, nx::bf16); });
  expect_tree_near(out, want, 0.0);
}

TEST(OptimTransform, ApplyUpdatesNamesTheMismatchedPath) {
  Tree p = sample_params();
  Tree u = Tree{{"dense", Tree{{"kernel", nx::zeros({2, 3})}, {"bias", nx::zeros({4})}}},
                {"blocks", Tree::list({Tree(nx::zeros({})), Tree(nx::zeros({2}))})}};
  std::string e = error_of([&] { optim::apply_updates(p, u); });
  EXPECT_NE(e.find("axon::optim::apply_updates"), std::string::npos) << e;
  EXPECT_NE(e.find("'dense.bias'"), std::string::npos) << e;
  Tree missing = Tree{{"dense", Tree{{"kernel", nx::zeros({2, 3})}}}, {"blocks", p["blocks"]}};
  e = error_of([&] { optim::apply_updates(p, missing); });
  EXPECT_NE(e.find("'dense.bias'"), std::string::npos) << e;
  Tree ints = Tree{{"x", nx::tensor({1, 2})}};
  e = error_of([&] { optim::apply_updates(ints, ints); });
  EXPECT_NE(e.find("floating-point"), std::string::npos) << e;
}

TEST(OptimTransform, ErrorsNameTransformationAndPath) {
  auto adam = optim::scale_by_adam();
  Tree p = sample_params();
  Tree s = adam.init(p);
  // Gradients missing a leaf.
  Tree g = Tree{{"dense", Tree{{"kernel", nx::zeros({2, 3})}}}, {"blocks", p["blocks"]}};
  std::string e = error_of([&] { adam.update(g, s, p); });
  EXPECT_NE(e.find("axon::optim::scale_by_adam"), std::string::npos) << e;
  EXPECT_NE(e.find("'dense.bias'"), std::string::npos) << e;
  // A leaf of the wrong shape.
  Tree g2 = sample_grads(0).set("blocks", Tree::list({Tree(nx::zeros({})), Tree(nx::zeros({3}))}));
  e = error_of([&] { adam.update(g2, s, p); });
  EXPECT_NE(e.find("'blocks.1'"), std::string::npos) << e;
  EXPECT_NE(e.find("shape"), std::string::npos) << e;
  // Integer gradients.
  Tree g3 = sample_grads(0).set(
      "dense", Tree{{"kernel", nx::zeros({2, 3})}, {"bias", nx::tensor({1, 2, 3})}});
  e = error_of([&] { adam.update(g3, s, p); });
  EXPECT_NE(e.find("'dense.bias'"), std::string::npos) << e;
  EXPECT_NE(e.find("s32"), std::string::npos) << e;
  // Integer parameters at init.
  e = error_of([&] { optim::adam().init(Tree{{"w", nx::tensor({1, 2})}}); });
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  // A state from another transformation.
  e = error_of([&] { adam.update(sample_grads(0), optim::trace().init(p), p); });
  EXPECT_NE(e.find("\"mu\""), std::string::npos) << e;
  // Params that do not match the updates, for a transformation that reads them.
  auto decay = optim::add_decayed_weights({.decay = 0.1});
  Tree other = Tree{{"w", nx::zeros({2})}};
  e = error_of([&] { decay.update(sample_grads(0), decay.init(p), other); });
  EXPECT_NE(e.find("axon::optim::add_decayed_weights"), std::string::npos) << e;
  e = error_of([&] { decay.update(sample_grads(0), decay.init(p), Tree()); });
  EXPECT_NE(e.find("needs the parameters"), std::string::npos) << e;
}

TEST(OptimTransform, OptimizerErrorsNameTheOptimizer) {
  auto opt = optim::adamw();
  Tree p = sample_params();
  std::string e = error_of([&] { opt.update(sample_grads(0), Tree(), p); });
  EXPECT_NE(e.find("axon::optim::adamw"), std::string::npos) << e;
}

TEST(OptimTransform, ParamsMayBeOmittedWhenUnused) {
  auto opt = optim::adam();
  Tree p = sample_params();
  optim::UpdateResult with = opt.update(sample_grads(0), opt.init(p), p);
  optim::UpdateResult without = opt.update(sample_grads(0), opt.init(p), Tree());
  expect_tree_near(without.updates, with.updates, 0.0);
}

}  // namespace
}  // namespace optim_unit
