#include "nx/tree.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "nx/ops/creation.hpp"

namespace {

using nx::Tensor;
using nx::Tree;

Tensor vec(std::vector<float> v) {
  return nx::from_vector(v);
}

// {dense_0: {kernel: f32[2][2], bias: f32[2]}, layers: [s32[3], f32]}
Tree sample() {
  Tensor k = nx::from_vector(std::vector<float>{1, 2, 3, 4}, nx::Shape{2, 2});
  Tensor b = vec({5, 6});
  Tensor l0 = nx::from_vector(std::vector<int32_t>{7, 8, 9});
  Tensor l1 = nx::from_vector(std::vector<float>{10}, nx::Shape{});
  return Tree{{"dense_0", {{"kernel", k}, {"bias", b}}}, {"layers", Tree::list({l0, l1})}};
}

TEST(Tree, KindsAndAccess) {
  Tree t = sample();
  EXPECT_TRUE(t.is_map());
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.num_leaves(), 4);
  EXPECT_EQ(t.keys(), (std::vector<std::string>{"dense_0", "layers"}));
  EXPECT_TRUE(t["dense_0"].is_map());
  EXPECT_TRUE(t["layers"].is_list());
  EXPECT_TRUE(t["layers"][1].is_leaf());
  EXPECT_EQ(t["dense_0"]["kernel"].leaf().to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(t["layers"][0].leaf().dtype(), nx::s32);
  // Maps index by position too, in insertion order.
  EXPECT_EQ(t[1].size(), 2u);
  EXPECT_EQ(t["dense_0"].keys(), (std::vector<std::string>{"kernel", "bias"}));
  EXPECT_TRUE(t.contains("layers"));
  EXPECT_FALSE(t.contains("nope"));
  EXPECT_EQ(t.find("nope"), nullptr);
  EXPECT_EQ(t["layers"].find("x"), nullptr);
}

TEST(Tree, DefaultIsEmptyMap) {
  Tree t;
  EXPECT_TRUE(t.is_map());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.num_leaves(), 0);
  EXPECT_EQ(t.to_string(), "{}");
  EXPECT_EQ(Tree::list({}).to_string(), "[]");
}

TEST(Tree, LookupInLargeMapKeepsInsertionOrder) {
  Tree::Map entries;
  for (int i = 99; i >= 0; --i)
    entries.emplace_back("k" + std::to_string(i), Tree(vec({float(i)})));
  Tree t(entries);
  EXPECT_EQ(t.keys().front(), "k99");
  EXPECT_EQ(t.keys().back(), "k0");
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(t["k" + std::to_string(i)].leaf().item<float>(), float(i));
}

TEST(Tree, Errors) {
  Tree t = sample();
  EXPECT_THROW(t.leaf(), nx::Error);
  EXPECT_THROW(t["dense_0"]["kernel"]["x"], nx::Error);
  EXPECT_THROW(t["layers"][2], nx::Error);
  EXPECT_THROW(t["layers"]["x"], nx::Error);
  EXPECT_THROW(Tree{Tensor{}}, nx::Error);
  EXPECT_THROW((Tree{{"a", vec({1})}, {"a", vec({2})}}), nx::Error);
  try {
    t["dense_1"];
    FAIL();
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find("dense_0, layers"), std::string::npos) << e.what();
  }
}

TEST(Tree, SetSharesUntouchedSubtrees) {
  Tree t = sample();
  Tree u = t.set("extra", vec({1}));
  EXPECT_EQ(u.keys().back(), "extra");
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(u["dense_0"].node(), t["dense_0"].node());
  Tree v = t.set("dense_0", vec({3}));
  EXPECT_EQ(v.keys(), t.keys());
  EXPECT_TRUE(v["dense_0"].is_leaf());
  Tree w = t["layers"].set(size_t{0}, vec({4}));
  EXPECT_EQ(w[0].leaf().dtype(), nx::f32);
  EXPECT_THROW(t.set(size_t{0}, vec({1})), nx::Error);
  EXPECT_THROW(t["layers"].set("a", vec({1})), nx::Error);
  EXPECT_THROW(t["layers"].set(size_t{5}, vec({1})), nx::Error);
}

TEST(Tree, PrintsTypes) {
  EXPECT_EQ(sample().to_string(),
            "{dense_0: {kernel: f32[2][2], bias: f32[2]}, layers: [s32[3], f32]}");
  std::ostringstream os;
  os << Tree(vec({1}));
  EXPECT_EQ(os.str(), "f32[1]");
  EXPECT_EQ(nx::tree_structure(sample()).to_string(),
            "{dense_0: {kernel: *, bias: *}, layers: [*, *]}");
}

TEST(Tree, FlattenUnflattenRoundTrip) {
  Tree t = sample();
  auto [leaves, structure] = nx::tree_flatten(t);
  ASSERT_EQ(leaves.size(), 4u);
  EXPECT_EQ(leaves[0].shape(), (nx::Shape{2, 2}));
  EXPECT_EQ(leaves[1].shape(), (nx::Shape{2}));
  EXPECT_EQ(leaves[2].dtype(), nx::s32);
  EXPECT_EQ(structure.num_leaves(), 4);
  Tree back = nx::tree_unflatten(structure, leaves);
  EXPECT_TRUE(nx::same_structure(back, t));
  EXPECT_EQ(back["dense_0"]["bias"].leaf().impl(), t["dense_0"]["bias"].leaf().impl());
  EXPECT_THROW(nx::tree_unflatten(structure, std::span<const Tensor>(leaves).first(3)), nx::Error);
  // A single leaf flattens to itself.
  auto single = nx::tree_flatten(Tree(vec({1})));
  EXPECT_EQ(single.structure, nx::TreeDef());
  EXPECT_EQ(nx::tree_leaves(Tree()).size(), 0u);
}

TEST(Tree, StructureEquality) {
  Tree t = sample();
  EXPECT_EQ(nx::tree_structure(t), nx::tree_structure(nx::tree_templates(t)));
  EXPECT_FALSE(nx::tree_structure(t) == nx::tree_structure(t.set("x", vec({1}))));
  Tree reordered{{"layers", t["layers"]}, {"dense_0", t["dense_0"]}};
  EXPECT_FALSE(nx::same_structure(t, reordered));
  EXPECT_FALSE(nx::same_structure(Tree(vec({1})), Tree::list({vec({1})})));
}

TEST(Tree, PathsAndBack) {
  auto paths = nx::tree_flatten_with_paths(sample());
  ASSERT_EQ(paths.size(), 4u);
  EXPECT_EQ(paths[0].path, "dense_0.kernel");
  EXPECT_EQ(paths[1].path, "dense_0.bias");
  EXPECT_EQ(paths[2].path, "layers.0");
  EXPECT_EQ(paths[3].path, "layers.1");
  EXPECT_EQ(nx::tree_flatten_with_paths(Tree(vec({1})))[0].path, "");

  Tree nested = nx::tree_from_paths(paths);
  EXPECT_EQ(nested.to_string(),
            "{dense_0: {kernel: f32[2][2], bias: f32[2]}, layers: {0: s32[3], 1: f32}}");
  std::vector<nx::PathLeaf> root{{"", vec({1})}};
  EXPECT_TRUE(nx::tree_from_paths(root).is_leaf());
  std::vector<nx::PathLeaf> dup{{"a.b", vec({1})}, {"a.b", vec({2})}};
  EXPECT_THROW(nx::tree_from_paths(dup), nx::Error);
  std::vector<nx::PathLeaf> prefix1{{"a", vec({1})}, {"a.b", vec({2})}};
  EXPECT_THROW(nx::tree_from_paths(prefix1), nx::Error);
  std::vector<nx::PathLeaf> prefix2{{"a.b", vec({1})}, {"a", vec({2})}};
  EXPECT_THROW(nx::tree_from_paths(prefix2), nx::Error);
  std::vector<nx::PathLeaf> empty_seg{{"a..b", vec({1})}};
  EXPECT_THROW(nx::tree_from_paths(empty_seg), nx::Error);
}

TEST(Tree, MapUnaryAndWithPath) {
  Tree t = sample();
  Tree sizes = nx::tree_map(t, [](const Tensor& x) {
    return nx::from_vector(std::vector<int64_t>{x.size()}, nx::Shape{});
  });
  EXPECT_TRUE(nx::same_structure(sizes, t));
  EXPECT_EQ(sizes["dense_0"]["kernel"].leaf().item<int64_t>(), 4);
  EXPECT_EQ(sizes["layers"][1].leaf().item<int64_t>(), 1);
  std::vector<std::string> seen;
  nx::tree_map_with_path(t, [&](const std::string& path, const Tensor& x) {
    seen.push_back(path);
    return x;
  });
  EXPECT_EQ(seen,
            (std::vector<std::string>{"dense_0.kernel", "dense_0.bias", "layers.0", "layers.1"}));
  int64_t count = 0;
  nx::tree_for_each(t, [&](const Tensor& x) { count += x.size(); });
  EXPECT_EQ(count, 4 + 2 + 3 + 1);
}

TEST(Tree, ZipTwoAndMany) {
  Tree a{{"x", vec({1, 2})}, {"y", Tree::list({vec({3})})}};
  Tree b{{"x", vec({10, 20})}, {"y", Tree::list({vec({30})})}};
  Tree sum = nx::tree_map(a, b, [](const Tensor& p, const Tensor& q) {
    auto u = p.to_vector<float>(), v = q.to_vector<float>();
    for (size_t i = 0; i < u.size(); ++i) u[i] += v[i];
    return nx::from_vector(u);
  });
  EXPECT_EQ(sum["x"].leaf().to_vector<float>(), (std::vector<float>{11, 22}));
  EXPECT_EQ(sum["y"][0].leaf().to_vector<float>(), (std::vector<float>{33}));

  std::vector<Tree> three{a, b, a};
  Tree n = nx::tree_map(three, [](std::span<const Tensor> xs) {
    EXPECT_EQ(xs.size(), 3u);
    return xs[1];
  });
  EXPECT_EQ(n["y"][0].leaf().impl(), b["y"][0].leaf().impl());
}

TEST(Tree, ZipNamesThePathWhereStructuresDiffer) {
  Tree a{{"x", vec({1})}, {"y", Tree::list({vec({3}), vec({4})})}};
  auto keep = [](const Tensor& p, const Tensor&) { return p; };
  auto message = [&](const Tree& b) {
    try {
      nx::tree_map(a, b, keep);
    } catch (const nx::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      message(Tree{{"x", vec({1})}, {"y", Tree::list({vec({3})})}}).find("at y: a list of 2 vs 1"),
      std::string::npos);
  EXPECT_NE(message(Tree{{"x", vec({1})}, {"y", Tree::list({vec({3}), Tree{{"z", vec({1})}}})}})
                .find("at y.1: a leaf vs a map"),
            std::string::npos);
  EXPECT_NE(message(Tree{{"x", vec({1})}, {"z", Tree::list({vec({3}), vec({4})})}})
                .find("keyed \"y\" vs \"z\""),
            std::string::npos);
  EXPECT_NE(message(Tree(vec({1}))).find("at (root): a map vs a leaf"), std::string::npos);
  EXPECT_THROW(
      nx::tree_map(std::span<const Tree>(), [](std::span<const Tensor> x) { return x[0]; }),
      nx::Error);
}

TEST(Tree, Templates) {
  Tree t = nx::tree_templates(sample());
  EXPECT_TRUE(t["dense_0"]["kernel"].leaf().is_template());
  EXPECT_EQ(t["dense_0"]["kernel"].leaf().shape(), (nx::Shape{2, 2}));
  EXPECT_EQ(t["layers"][0].leaf().dtype(), nx::s32);
  EXPECT_EQ(t.to_string(), sample().to_string());
}

}  // namespace
