// Graph tools: traversal order, map_nodes, reduce_nodes, rewrite_nodes (an activation swap and a
// LoRA-style edit checked through predict), pop_node, get_output_shape, get_inputs,
// get_op_counts, properties, and a 1000-node chain.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/fn/activations.hpp"
#include "axon/fn/linear.hpp"
#include "axon/graph.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/linear.hpp"
#include "nx/nx.hpp"

namespace {

using nx::Tensor;
using nx::Tree;

void expect_close(const Tensor& a, const Tensor& b, double tol = 1e-5) {
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_TRUE(nx::all(nx::less_equal(nx::abs(a - b), tol)).item<bool>());
}

axon::Model mlp() {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto h = axon::dense(x, 8, {.activation = "relu"});
  return axon::dense(h, 3);
}

axon::Model add(const axon::Model& a, const axon::Model& b) {
  return axon::layer(
      [](const axon::LayerCall& c) { return axon::LayerResult{c.input(0) + c.input(1)}; }, {a, b},
      {.op_name = "add"});
}

Tensor inputs() {
  return nx::reshape(nx::arange(-4, 4, 1), {2, 4}) * 0.25;
}

TEST(ModelGraph, NodesAreParentsFirstEachOnce) {
  auto x = axon::input("x", {axon::kDynamic, 4});
  auto h = axon::dense(x, 4);
  auto y = add(h, h);  // h reached twice
  auto ns = axon::nodes(y);
  ASSERT_EQ(ns.size(), 3u);
  EXPECT_EQ(ns[0]->op_name, "input");
  EXPECT_EQ(ns[1]->op_name, "dense");
  EXPECT_EQ(ns[2]->op_name, "add");
  auto ops = axon::reduce_nodes<std::vector<std::string>>(
      y, {}, [](std::vector<std::string> acc, const axon::Node& n) {
        acc.push_back(n.op_name);
        return acc;
      });
  EXPECT_EQ(ops, (std::vector<std::string>{"input", "dense", "add"}));
  auto names = axon::node_names(y);
  EXPECT_EQ(names.at(h.id()), "dense_0");
  EXPECT_EQ(names.at(y.id()), "add_0");
}

TEST(ModelGraph, InspectionHelpers) {
  auto a = axon::input("a", {axon::kDynamic, 3});
  auto b = axon::input("b", {2, axon::kDynamic});
  auto y = axon::container({axon::dense(a, 4, {.activation = "relu"}), axon::dense(b, 5)});
  auto inputs = axon::get_inputs(y);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs.at("a"), (nx::Shape{axon::kDynamic, 3}));
  EXPECT_EQ(inputs.at("b"), (nx::Shape{2, axon::kDynamic}));
  auto counts = axon::get_op_counts(y);
  EXPECT_EQ(counts, (std::map<std::string, int64_t>{
                        {"container", 1}, {"dense", 2}, {"input", 2}, {"relu", 1}}));
  auto props = axon::properties(y);
  EXPECT_EQ(props.at("dense_0"), "dense");
  EXPECT_EQ(props.at("dense_1"), "dense");
  EXPECT_EQ(props.at("relu_0"), "relu");
  EXPECT_EQ(props.at("a"), "input");
  EXPECT_EQ(props.at("container_0"), "container");
  auto popped = axon::pop_node(y);
  EXPECT_EQ(popped.node->op_name, "container");
  ASSERT_EQ(popped.parents.size(), 2u);
  EXPECT_EQ(popped.parents[0].node().op_name, "relu");
  EXPECT_EQ(popped.parents[1].node().op_name, "dense");
}

TEST(ModelGraph, OutputShapeOfAMultiOutputModel) {
  auto a = axon::input("a", {axon::kDynamic, 3});
  auto b = axon::input("b", {axon::kDynamic, 2});
  auto y = axon::container(
      {{"first", axon::dense(a, 4)}, {"pair", axon::container({axon::dense(b, 5), a})}});
  Tree shapes = axon::get_output_shape(y, Tree{{"a", nx::make_template({7, 3}, nx::f32)},
                                               {"b", nx::make_template({7, 2}, nx::f32)}});
  ASSERT_TRUE(shapes.is_map());
  EXPECT_TRUE(shapes["first"].leaf().is_template());
  EXPECT_EQ(shapes["first"].leaf().shape(), (nx::Shape{7, 4}));
  EXPECT_EQ(shapes["pair"][0].leaf().shape(), (nx::Shape{7, 5}));
  EXPECT_EQ(shapes["pair"][1].leaf().shape(), (nx::Shape{7, 3}));
  EXPECT_EQ(shapes["pair"][1].leaf().dtype(), nx::f32);
  // Single output, concrete tensor as template.
  EXPECT_EQ(axon::get_output_shape(mlp(), nx::ones({5, 4})).leaf().shape(), (nx::Shape{5, 3}));
}

TEST(ModelGraph, MapNodesReplacesNodesAndKeepsParameterNames) {
  auto model = mlp();
  // Double every dense layer's output.
  auto doubled = axon::map_nodes(model, [](axon::Node n) {
    if (n.op_name == "dense") {
      auto f = n.fn;
      n.fn = [f](const axon::LayerCall& c) {
        axon::LayerResult r = f(c);
        r.output = Tree(r.output.leaf() * 2.0);
        return r;
      };
    }
    return n;
  });
  EXPECT_EQ(doubled.id(), model.id());  // ids kept
  EXPECT_NE(doubled.ptr(), model.ptr());
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  Tensor x = inputs();
  Tensor y = predict_fn(s, x).leaf();
  Tensor y2 = axon::predict(doubled, s, x).leaf();  // same state fits
  Tensor h = axon::fn::relu(2.0 * axon::fn::dense(x, s.data["dense_0"]["kernel"].leaf(),
                                                  s.data["dense_0"]["bias"].leaf()));
  expect_close(y2, 2.0 * axon::fn::dense(h, s.data["dense_1"]["kernel"].leaf(),
                                         s.data["dense_1"]["bias"].leaf()));
  // The original is untouched.
  expect_close(axon::predict(model, s, x).leaf(), y);
}

TEST(ModelGraph, RewriteSwapsReluForGelu) {
  auto model = mlp();
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  auto swapped = axon::rewrite_nodes(model, [](const axon::Node& n) -> axon::Rewriter {
    if (n.op_name != "relu") return std::nullopt;
    return [](std::vector<axon::Model> parents, axon::Model) {
      return axon::activation(parents[0], "gelu");
    };
  });
  EXPECT_EQ(axon::get_op_counts(swapped),
            (std::map<std::string, int64_t>{{"dense", 2}, {"gelu", 1}, {"input", 1}}));
  Tensor x = inputs();
  Tensor y = axon::predict(swapped, s, x).leaf();
  Tensor h = axon::fn::gelu(
      axon::fn::dense(x, s.data["dense_0"]["kernel"].leaf(), s.data["dense_0"]["bias"].leaf()));
  expect_close(
      y, axon::fn::dense(h, s.data["dense_1"]["kernel"].leaf(), s.data["dense_1"]["bias"].leaf()));
  // The original model still uses relu.
  EXPECT_EQ(axon::get_op_counts(model).count("relu"), 1u);
}

TEST(ModelGraph, RewriteAddsALoraUpdateAndKeepsTheOriginalNames) {
  auto model = mlp();
  auto [init_fn, predict_fn] = axon::build(model);
  axon::ModelState s = init_fn(nx::make_template({2, 4}, nx::f32));
  std::vector<std::string> seen;
  // Unnamed new dense layers come before the original dense_1 in the new graph: the original
  // keeps its name anyway, and the new ones get names that do not collide.
  auto lora = axon::rewrite_nodes(model, [&](const axon::Node& n) -> axon::Rewriter {
    if (n.op_name != "dense") return std::nullopt;
    seen.push_back(n.name);
    return [](std::vector<axon::Model> parents, axon::Model wx) {
      auto a = axon::dense(parents[0], 2, {.use_bias = false});
      auto b = axon::dense(a, wx.node().name == "dense_0" ? 8 : 3,
                           {.use_bias = false, .kernel_initializer = axon::fn::init::zeros()});
      return add(b, wx);
    };
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"dense_0", "dense_1"}));
  auto props = axon::properties(lora);
  EXPECT_EQ(props.size(), 1u + 6u + 2u + 1u);  // input, 6 dense, 2 add, relu
  EXPECT_EQ(props.at("dense_0"), "dense");
  EXPECT_EQ(props.at("dense_1"), "dense");
  EXPECT_EQ(props.at("dense_2"), "dense");
  EXPECT_EQ(props.at("dense_5"), "dense");
  // The pre-trained state initialises the original layers; the LoRA layers are new.
  axon::ModelState ls = axon::init(lora, nx::make_template({2, 4}, nx::f32), s);
  expect_close(ls.data["dense_0"]["kernel"].leaf(), s.data["dense_0"]["kernel"].leaf());
  expect_close(ls.data["dense_1"]["kernel"].leaf(), s.data["dense_1"]["kernel"].leaf());
  EXPECT_EQ(ls.paths().size(), 4u + 4u);
  Tensor x = inputs();
  // B is zero: the LoRA model starts equal to the original.
  expect_close(axon::predict(lora, ls, x).leaf(), predict_fn(s, x).leaf());
  // With a non-zero B for the second layer the output moves by (h A) B.
  std::string b1;
  for (const auto& [name, op] : props) {
    if (op == "dense" && name != "dense_0" && name != "dense_1" &&
        ls.data[name]["kernel"].leaf().shape() == nx::Shape{2, 3})
      b1 = name;
  }
  ASSERT_FALSE(b1.empty());
  Tensor bk = nx::ones({2, 3});
  axon::ModelState moved = ls.update(Tree{{b1, Tree{{"kernel", bk}}}});
  Tensor diff = axon::predict(lora, moved, x).leaf() - axon::predict(lora, ls, x).leaf();
  EXPECT_GT(nx::sum(nx::abs(diff)).item<float>(), 1e-3f);
}

TEST(ModelGraph, ToolsHandleAThousandNodeChain) {
  auto x = axon::input("x", {axon::kDynamic, 2});
  axon::Model y = x;
  for (int i = 0; i < 1000; ++i) y = axon::nx_layer(y, [](const Tensor& t) { return t + 1.0; });
  EXPECT_EQ(axon::nodes(y).size(), 1001u);
  EXPECT_EQ(axon::get_op_counts(y).at("nx"), 1000);
  auto doubled = axon::map_nodes(y, [](axon::Node n) { return n; });
  auto swapped = axon::rewrite_nodes(y, [](const axon::Node& n) -> axon::Rewriter {
    if (n.name != "nx_999") return std::nullopt;
    return [](std::vector<axon::Model> parents, axon::Model) {
      return axon::nx_layer(parents[0], [](const Tensor& t) { return t * 0.0; });
    };
  });
  EXPECT_EQ(axon::get_output_shape(doubled, nx::make_template({3, 2}, nx::f32)).leaf().shape(),
            (nx::Shape{3, 2}));
  Tensor out = axon::predict(swapped, axon::ModelState{}, nx::zeros({1, 2})).leaf();
  expect_close(out, nx::zeros({1, 2}));
}

TEST(ModelGraph, ErrorsNameTheFunction) {
  try {
    axon::get_op_counts(axon::Model());
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("axon::get_op_counts"), std::string::npos) << e.what();
  }
  auto rewriter = [](const axon::Node&) -> axon::Rewriter {
    return [](std::vector<axon::Model>, axon::Model) { return axon::Model(); };
  };
  EXPECT_THROW(axon::rewrite_nodes(mlp(), rewriter), nx::Error);
}

}  // namespace
