// The model graph and its compiler: names, init shapes, predict against a hand computation,
// partial initialisation, special nodes (container, elem, optional, namespace, block), hooks,
// frozen parameters and errors.
#include <gtest/gtest.h>

#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/linear.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/linear.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;

void expect_equal(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), 1e-5)).item<bool>());
}

axon::Model mlp() {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto h = axon::dense(x, 8, {.activation = "relu"});
  return axon::dense(h, 3);
}

TEST(ModelCore, InitCreatesParametersWithResolvedNames) {
  auto [init_fn, predict_fn] = axon::build(mlp());
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  EXPECT_EQ(s.data["dense_0"]["kernel"].leaf().shape(), (nx::Shape{4, 8}));
  EXPECT_EQ(s.data["dense_0"]["bias"].leaf().shape(), (nx::Shape{8}));
  EXPECT_EQ(s.data["dense_1"]["kernel"].leaf().shape(), (nx::Shape{8, 3}));
  EXPECT_EQ(s.num_parameters(), 4 * 8 + 8 + 8 * 3 + 3);
  // Same seed, same parameters; kernels are not zero.
  axon::ModelState again = init_fn(nx::make_template({5, 4}, nx::f32));
  expect_equal(s.data["dense_1"]["kernel"].leaf(), again.data["dense_1"]["kernel"].leaf());
  EXPECT_GT(nx::sum(nx::abs(s.data["dense_0"]["kernel"].leaf())).item<float>(), 0.0f);
}

TEST(ModelCore, PredictMatchesTheFunctionalComputation) {
  auto [init_fn, predict_fn] = axon::build(mlp());
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  Tensor x = nx::reshape(nx::arange(0, 8, 1), {2, 4});
  Tensor y = predict_fn(s, x).leaf();
  Tensor h = axon::fn::relu(
      axon::fn::dense(x, s.data["dense_0"]["kernel"].leaf(), s.data["dense_0"]["bias"].leaf()));
  expect_equal(
      y, axon::fn::dense(h, s.data["dense_1"]["kernel"].leaf(), s.data["dense_1"]["bias"].leaf()));
  // By name too, and a second call hits the cache.
  expect_equal(predict_fn(s, Tree{{"x", x}}).leaf(), y);
  EXPECT_EQ(predict_fn.stats().compiles, 1);
}

TEST(ModelCore, PartialInitialStateIsKept) {
  auto [init_fn, predict_fn] = axon::build(mlp());
  Tensor k = nx::ones({4, 8});
  axon::ModelState given = axon::ModelState::from_tree(Tree{{"dense_0", Tree{{"kernel", k}}}});
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32), given);
  expect_equal(s.data["dense_0"]["kernel"].leaf(), k);
  EXPECT_TRUE(s.data["dense_1"].contains("kernel"));
  axon::ModelState bad =
      axon::ModelState::from_tree(Tree{{"dense_0", Tree{{"kernel", nx::ones({3, 8})}}}});
  try {
    init_fn(nx::make_template({1, 4}, nx::f32), bad);
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("dense_0 (dense) built at core_test.cpp"), std::string::npos) << m;
    EXPECT_NE(m.find("{3, 8}"), std::string::npos) << m;
  }
}

TEST(ModelCore, InputShapeAndNameErrors) {
  auto [init_fn, predict_fn] = axon::build(mlp());
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32));
  EXPECT_THROW(predict_fn(s, nx::ones({2, 5})), nx::Error);
  EXPECT_THROW(predict_fn(s, Tree{{"y", nx::ones({2, 4})}}), nx::Error);
  auto a = axon::input("a", {axon::kDynamic, 2});
  auto b = axon::input("a", {axon::kDynamic, 2});
  EXPECT_THROW(axon::build(axon::container(std::vector<axon::Model>{a, b})), nx::Error);
}

TEST(ModelCore, ContainerElemAndMultipleInputs) {
  auto a = axon::input("a", {axon::kDynamic, 2});
  auto b = axon::input("b", {axon::kDynamic, 3});
  auto out = axon::container({{"left", axon::dense(a, 4)}, {"right", axon::dense(b, 5)}});
  auto [init_fn, predict_fn] = axon::build(out);
  axon::ModelState s = init_fn(
      Tree{{"a", nx::make_template({1, 2}, nx::f32)}, {"b", nx::make_template({1, 3}, nx::f32)}});
  Tree y = predict_fn(s, Tree{{"a", nx::ones({2, 2})}, {"b", nx::ones({2, 3})}});
  EXPECT_EQ(y["left"].leaf().shape(), (nx::Shape{2, 4}));
  EXPECT_EQ(y["right"].leaf().shape(), (nx::Shape{2, 5}));
  auto right = axon::elem(out, "right");
  auto [i2, p2] = axon::build(right);
  Tree only = p2(s, Tree{{"a", nx::ones({2, 2})}, {"b", nx::ones({2, 3})}});
  expect_equal(only.leaf(), y["right"].leaf());
}

TEST(ModelCore, OptionalInputsAndOrElse) {
  auto x = axon::input("x", {axon::kDynamic, 2});
  auto extra = axon::input("extra", {axon::kDynamic, 2}, {.optional = true});
  auto y = axon::or_else(extra, x);
  auto [init_fn, predict_fn] = axon::build(y);
  axon::ModelState s = init_fn(Tree{{"x", nx::make_template({1, 2}, nx::f32)}});
  Tensor xv = nx::ones({1, 2}), ev = nx::full({1, 2}, 3.0);
  expect_equal(predict_fn(s, Tree{{"x", xv}}).leaf(), xv);
  expect_equal(predict_fn(s, Tree{{"x", xv}, {"extra", ev}}).leaf(), ev);
  // A layer on a missing optional input is None; predicting only it is an error.
  auto [i2, p2] = axon::build(axon::dense(extra, 2));
  EXPECT_THROW(p2(s, Tree{{"x", xv}}), nx::Error);
}

TEST(ModelCore, NamespaceNestsParametersAndTakesGivenOnes) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto body = axon::namespace_(axon::dense(x, 6, {.activation = "tanh"}), "backbone");
  auto head = axon::dense(body, 2, {.name = "head"});
  auto [init_fn, predict_fn] = axon::build(head);
  axon::ModelState pre = init_fn(nx::make_template({1, 4}, nx::f32));
  EXPECT_TRUE(pre.data["backbone"]["dense_0"].contains("kernel"));
  EXPECT_TRUE(pre.data["head"].contains("kernel"));
  // Fine-tuning: take the backbone from the pre-trained state, initialise the rest.
  axon::ModelState given = axon::ModelState::from_tree(Tree{{"backbone", pre.data["backbone"]}});
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32), given);
  expect_equal(s.data["backbone"]["dense_0"]["kernel"].leaf(),
               pre.data["backbone"]["dense_0"]["kernel"].leaf());
}

TEST(ModelCore, BlockSharesParameters) {
  auto shared =
      axon::block([](const std::vector<axon::Model>& in) { return axon::dense(in[0], 3); }, 1);
  auto a = axon::input("a", {axon::kDynamic, 3});
  auto b = axon::input("b", {axon::kDynamic, 3});
  auto out = axon::container(std::vector<axon::Model>{shared({a}), shared({b})});
  auto [init_fn, predict_fn] = axon::build(out);
  axon::ModelState s = init_fn(
      Tree{{"a", nx::make_template({1, 3}, nx::f32)}, {"b", nx::make_template({1, 3}, nx::f32)}});
  ASSERT_EQ(s.data.size(), 1u);
  EXPECT_EQ(s.data["block_0"]["dense_0"]["kernel"].leaf().shape(), (nx::Shape{3, 3}));
  Tensor v = nx::ones({2, 3});
  Tree y = predict_fn(s, Tree{{"a", v}, {"b", v}});
  expect_equal(y[0].leaf(), y[1].leaf());
}

TEST(ModelCore, FrozenParametersGetNoGradient) {
  auto built_predict_fn = axon::build(mlp());
  auto& init_fn = built_predict_fn.first;
  auto& predict_fn = built_predict_fn.second;
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32));
  s = s.freeze([](const axon::ParamPath& p) { return p[0] == "dense_0"; });
  EXPECT_EQ(s.trainable_parameters().size(), 1u);
  Tensor x = nx::ones({2, 4});
  Tree g = nx::grad(s.data, [&](const Tree& d) {
    axon::ModelState t = s;
    t.data = d;
    return nx::sum(predict_fn(t, x).leaf());
  });
  EXPECT_EQ(nx::sum(nx::abs(g["dense_0"]["kernel"].leaf())).item<float>(), 0.0f);
  EXPECT_GT(nx::sum(nx::abs(g["dense_1"]["kernel"].leaf())).item<float>(), 0.0f);
}

TEST(ModelCore, ForwardHooksSeeLayerOutputs) {
  int calls = 0;
  nx::Shape seen;
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto h = axon::attach_hook(axon::dense(x, 5), {.fn = [&](const Tree& t) {
                               ++calls;
                               seen = t.leaf().shape();
                             }});
  auto [init_fn, predict_fn] = axon::build(axon::dense(h, 1));
  axon::ModelState s = init_fn(nx::make_template({1, 4}, nx::f32));
  predict_fn(s, nx::ones({3, 4}));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen, (nx::Shape{3, 5}));
}

TEST(ModelCore, LayerErrorsNameTheLayerAndWhereItWasBuilt) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto bad = axon::layer(
      [](const axon::LayerCall& c) {
        return axon::LayerResult{nx::dot(c.input(0), nx::ones({5, 2}))};
      },
      {x}, {.op_name = "my_op"});
  auto [init_fn, predict_fn] = axon::build(bad);
  try {
    init_fn(nx::make_template({1, 4}, nx::f32));
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("my_op_0 (my_op) built at core_test.cpp"), std::string::npos) << m;
  }
}

TEST(ModelCore, SafetensorsRoundTrip) {
  auto [init_fn, predict_fn] = axon::build(mlp());
  axon::ModelState s =
      init_fn(nx::make_template({1, 4}, nx::f32)).freeze([](const axon::ParamPath& p) {
        return p[0] == "dense_1";
      });
  auto path = std::filesystem::temp_directory_path() / "axon_model_core_test.safetensors";
  s.save(path);
  axon::ModelState back = axon::ModelState::load(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.frozen, s.frozen);
  expect_equal(back.data["dense_0"]["kernel"].leaf(), s.data["dense_0"]["kernel"].leaf());
  expect_equal(predict_fn(back, nx::ones({2, 4})).leaf(), predict_fn(s, nx::ones({2, 4})).leaf());
}

}  // namespace
