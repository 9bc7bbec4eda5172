// nx::Tree: nested containers of tensors (Nx containers, JAX pytrees).
//
// Parameters, optimizer state, loop state and multi-output models are trees: a tensor leaf, a
// list of trees, or a map of trees whose keys keep their insertion order.
//
//   nx::Tree params = {{"dense_0", {{"kernel", w}, {"bias", b}}}};
//   nx::Tensor k = params["dense_0"]["kernel"].leaf();
//   nx::Tree zeros = nx::tree_map(params, [](const nx::Tensor& t) { return nx::zeros_like(t); });
//   auto [leaves, structure] = nx::tree_flatten(params);   // leaves in insertion order
//   nx::Tree back = nx::tree_unflatten(structure, leaves);
//   for (auto& [path, t] : nx::tree_flatten_with_paths(params)) { /* "dense_0.kernel", ... */ }
//
// Trees are immutable values: copying one copies a reference, and the "modifying" functions
// (set) return a new tree that shares every untouched subtree with the old one.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nx/tensor.hpp"

namespace nx {

namespace detail {
struct TreeNode;
}

/// A tensor, a list of trees, or an insertion-ordered string-keyed map of trees.
class Tree {
 public:
  /// What a tree node is.
  enum class Kind : uint8_t { Leaf, List, Map };
  /// The children of a list.
  using List = std::vector<Tree>;
  /// One key and its subtree.
  using Entry = std::pair<std::string, Tree>;
  /// The entries of a map, in order.
  using Map = std::vector<Entry>;

  /// An empty map (Axon's empty model state).
  Tree();
  /// A leaf; throws nx::Error for an empty (default-constructed) tensor.
  Tree(Tensor tensor);  // NOLINT(google-explicit-constructor)
  /// A map literal: `{{"kernel", w}, {"bias", b}}`; throws nx::Error on a repeated key.
  Tree(std::initializer_list<Entry> entries);
  /// A list of subtrees.
  explicit Tree(List items);
  /// A map of subtrees, in the given order; throws nx::Error on a repeated key.
  explicit Tree(Map entries);

  /// A list of subtrees: `nx::Tree::list({a, b, c})`.
  static Tree list(List items) { return Tree(std::move(items)); }
  /// A map of subtrees: `nx::Tree::map({{"a", x}})`.
  static Tree map(Map entries) { return Tree(std::move(entries)); }

  /// Leaf, list or map.
  Kind kind() const;
  /// True for a tensor leaf.
  bool is_leaf() const { return kind() == Kind::Leaf; }
  /// True for a list.
  bool is_list() const { return kind() == Kind::List; }
  /// True for a map.
  bool is_map() const { return kind() == Kind::Map; }

  /// The tensor of a leaf; throws nx::Error for a list or map.
  const Tensor& leaf() const;
  /// Number of children of a list or map (0 for a leaf).
  size_t size() const;
  /// Number of tensor leaves in the whole tree.
  int64_t num_leaves() const;
  /// The children of a list or map, in order (empty for a leaf).
  const std::vector<Tree>& children() const;
  /// The keys of a map, in insertion order (empty for a leaf or list).
  const std::vector<std::string>& keys() const;

  /// Child `i` of a list or map (maps count in insertion order); throws nx::Error if out of range.
  const Tree& operator[](size_t i) const;
  /// The subtree under `key` of a map; throws nx::Error naming the known keys if absent.
  const Tree& operator[](std::string_view key) const;
  /// Same as operator[](key).
  const Tree& at(std::string_view key) const { return (*this)[key]; }
  /// The subtree under `key`, or nullptr when this is not a map or has no such key.
  const Tree* find(std::string_view key) const;
  /// True when this is a map with `key`.
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  /// A map like this one with `key` bound to `value` (replaced in place, or appended).
  Tree set(std::string_view key, Tree value) const;
  /// A list like this one with child `i` replaced.
  Tree set(size_t i, Tree value) const;

  /// A one-line rendering: leaves as their type, `{dense_0: {kernel: f32[784][128]}}`, `[s64,
  /// f32[2]]`.
  std::string to_string() const;

  /// Internal: the node behind a list or map (null for a leaf).
  const detail::TreeNode* node() const { return node_.get(); }

 private:
  Tensor leaf_;                                   // set for a leaf
  std::shared_ptr<const detail::TreeNode> node_;  // set for a list or map
};

/// Prints `t.to_string()`.
std::ostream& operator<<(std::ostream& os, const Tree& t);

/// The shape of a tree without its tensors: what tree_unflatten needs to rebuild it.
class TreeDef {
 public:
  /// The structure of a single leaf.
  TreeDef();
  /// Number of leaves a tree of this structure has.
  int64_t num_leaves() const;
  /// Renders the structure with `*` for each leaf: `{dense_0: {kernel: *, bias: *}}`.
  std::string to_string() const;
  /// Same kinds, same list lengths, same map keys in the same order.
  bool operator==(const TreeDef& other) const;

  /// Internal: a tree whose leaves stand for "a leaf goes here".
  explicit TreeDef(Tree skeleton) : skeleton_(std::move(skeleton)) {}
  /// Internal: that tree.
  const Tree& skeleton() const { return skeleton_; }

 private:
  Tree skeleton_;
};

/// The leaves of a tree in order and its structure.
struct FlatTree {
  std::vector<Tensor> leaves;  ///< depth-first; lists by index, maps in insertion order
  TreeDef structure;           ///< what tree_unflatten needs to rebuild the tree
};

/// A tensor leaf with its dotted path ("dense_0.kernel", "layers.2.bias"; "" for a root leaf).
struct PathLeaf {
  std::string path;  ///< map keys and list indices joined by '.'
  Tensor tensor;     ///< the leaf
};

/// The leaves and structure of `tree` (JAX's tree_flatten).
FlatTree tree_flatten(const Tree& tree);
/// Rebuilds a tree of `structure` from leaves in tree_flatten order; throws nx::Error when the
/// number of leaves differs from structure.num_leaves().
Tree tree_unflatten(const TreeDef& structure, std::span<const Tensor> leaves);
/// The structure of `tree`.
TreeDef tree_structure(const Tree& tree);
/// The leaves of `tree` in tree_flatten order.
std::vector<Tensor> tree_leaves(const Tree& tree);
/// The leaves of `tree` with their dotted paths, in tree_flatten order.
std::vector<PathLeaf> tree_flatten_with_paths(const Tree& tree);
/// Nested maps built from dotted paths (the inverse of tree_flatten_with_paths for trees of maps):
/// {"a.b": x, "a.c": y} becomes {a: {b: x, c: y}}. Throws nx::Error when one path is both a leaf
/// and a prefix of another, repeats, or has an empty segment.
Tree tree_from_paths(std::span<const PathLeaf> leaves);
/// True when both trees have the same structure (see TreeDef::operator==).
bool same_structure(const Tree& a, const Tree& b);

/// A tree of the same structure with `fn` applied to every leaf.
Tree tree_map(const Tree& tree, const std::function<Tensor(const Tensor&)>& fn);
/// Like tree_map, also passing each leaf's dotted path.
Tree tree_map_with_path(const Tree& tree,
                        const std::function<Tensor(const std::string&, const Tensor&)>& fn);
/// Zips two trees of one structure leaf by leaf; throws nx::Error naming the first path where
/// the structures differ.
Tree tree_map(const Tree& a, const Tree& b,
              const std::function<Tensor(const Tensor&, const Tensor&)>& fn);
/// Zips any number of trees of one structure (an optimizer's params, grads and moments);
/// `fn` gets the leaves at one position, in the order of `trees`.
Tree tree_map(std::span<const Tree> trees,
              const std::function<Tensor(std::span<const Tensor>)>& fn);
/// Calls `fn` on every leaf in tree_flatten order.
void tree_for_each(const Tree& tree, const std::function<void(const Tensor&)>& fn);
/// Shape/dtype templates of all leaves (nx::make_template), for describing inputs.
Tree tree_templates(const Tree& tree);

}  // namespace nx
