// Functions over trees: flatten/unflatten, paths, and tree_map in its unary, binary and n-ary
// forms.
#include <memory>
#include <unordered_map>

#include "nx/ops/creation.hpp"
#include "nx/tree.hpp"
#include "tree_node.hpp"

namespace nx {

namespace {

using detail::join_path;
using detail::kind_name;
using detail::path_label;

// The leaf a TreeDef keeps in place of each tensor: it records structure, never data.
const Tensor& structure_leaf() {
  static const Tensor t = make_template({}, f32);
  return t;
}

std::string segment_of(const Tree& t, size_t i) {
  return t.is_map() ? t.keys()[i] : std::to_string(i);
}

// Whether a and b have one structure (first_difference without building its message).
bool structure_equal(const Tree& a, const Tree& b) {
  if (a.kind() != b.kind()) return false;
  if (a.is_leaf()) return true;
  if (a.size() != b.size()) return false;
  if (a.is_map() && a.keys() != b.keys()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!structure_equal(a.children()[i], b.children()[i])) return false;
  }
  return true;
}

// Empty when a and b have one structure; otherwise what differs first (depth-first) and where.
std::string first_difference(const Tree& a, const Tree& b, const std::string& path) {
  if (a.kind() != b.kind()) {
    return "at " + path_label(path) + ": " + kind_name(a.kind()) + " vs " + kind_name(b.kind());
  }
  if (a.is_leaf()) return {};
  if (a.size() != b.size()) {
    return "at " + path_label(path) + ": " + kind_name(a.kind()) + " of " +
           std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " entries";
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a.is_map() && a.keys()[i] != b.keys()[i]) {
      return "at " + path_label(path) + ": entry " + std::to_string(i) + " is keyed \"" +
             a.keys()[i] + "\" vs \"" + b.keys()[i] + "\"";
    }
    std::string d =
        first_difference(a.children()[i], b.children()[i], join_path(path, segment_of(a, i)));
    if (!d.empty()) return d;
  }
  return {};
}

void flatten_into(const Tree& t, std::vector<Tensor>& out) {
  if (t.is_leaf()) {
    out.push_back(t.leaf());
    return;
  }
  for (const Tree& c : t.children()) flatten_into(c, out);
}

void flatten_paths_into(const Tree& t, const std::string& path, std::vector<PathLeaf>& out) {
  if (t.is_leaf()) {
    out.push_back({path, t.leaf()});
    return;
  }
  for (size_t i = 0; i < t.size(); ++i)
    flatten_paths_into(t.children()[i], join_path(path, segment_of(t, i)), out);
}

// Rebuilds `t`'s structure with each leaf replaced by leaf_fn(leaf, path).
template <class F>
Tree rebuild(const Tree& t, const std::string& path, const F& leaf_fn) {
  if (t.is_leaf()) return Tree(leaf_fn(t.leaf(), path));
  if (t.is_list()) {
    Tree::List items;
    items.reserve(t.size());
    for (size_t i = 0; i < t.size(); ++i) {
      items.push_back(rebuild(t.children()[i], join_path(path, std::to_string(i)), leaf_fn));
    }
    return Tree(std::move(items));
  }
  Tree::Map entries;
  entries.reserve(t.size());
  for (size_t i = 0; i < t.size(); ++i) {
    entries.emplace_back(t.keys()[i],
                         rebuild(t.children()[i], join_path(path, t.keys()[i]), leaf_fn));
  }
  return Tree(std::move(entries));
}

Tree unflatten_from(const Tree& skel, std::span<const Tensor> leaves, size_t& next) {
  if (skel.is_leaf()) return Tree(leaves[next++]);
  if (skel.is_list()) {
    Tree::List items;
    items.reserve(skel.size());
    for (const Tree& c : skel.children()) items.push_back(unflatten_from(c, leaves, next));
    return Tree(std::move(items));
  }
  Tree::Map entries;
  entries.reserve(skel.size());
  for (size_t i = 0; i < skel.size(); ++i) {
    entries.emplace_back(skel.keys()[i], unflatten_from(skel.children()[i], leaves, next));
  }
  return Tree(std::move(entries));
}

Tree zip_n(std::span<const Tree> trees, const std::string& path,
           const std::function<Tensor(std::span<const Tensor>)>& fn) {
  const Tree& t0 = trees[0];
  if (t0.is_leaf()) {
    std::vector<Tensor> args;
    args.reserve(trees.size());
    for (const Tree& t : trees) args.push_back(t.leaf());
    return Tree(fn(args));
  }
  std::vector<Tree> kids(trees.size());
  if (t0.is_list()) {
    Tree::List items;
    items.reserve(t0.size());
    for (size_t i = 0; i < t0.size(); ++i) {
      for (size_t k = 0; k < trees.size(); ++k) kids[k] = trees[k].children()[i];
      items.push_back(zip_n(kids, join_path(path, std::to_string(i)), fn));
    }
    return Tree(std::move(items));
  }
  Tree::Map entries;
  entries.reserve(t0.size());
  for (size_t i = 0; i < t0.size(); ++i) {
    for (size_t k = 0; k < trees.size(); ++k) kids[k] = trees[k].children()[i];
    entries.emplace_back(t0.keys()[i], zip_n(kids, join_path(path, t0.keys()[i]), fn));
  }
  return Tree(std::move(entries));
}

void render_def(const Tree& t, std::string& out) {
  if (t.is_leaf()) {
    out += '*';
    return;
  }
  out += t.is_list() ? '[' : '{';
  for (size_t i = 0; i < t.size(); ++i) {
    if (i) out += ", ";
    if (t.is_map()) out += t.keys()[i] + ": ";
    render_def(t.children()[i], out);
  }
  out += t.is_list() ? ']' : '}';
}

// A mutable trie used by tree_from_paths; converted to a Tree at the end.
struct PathTrie {
  Tensor leaf;
  std::vector<std::string> keys;
  std::vector<std::unique_ptr<PathTrie>> children;
  std::unordered_map<std::string, size_t> index;

  Tree to_tree() const {
    if (leaf.defined()) return Tree(leaf);
    Tree::Map entries;
    entries.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) entries.emplace_back(keys[i], children[i]->to_tree());
    return Tree(std::move(entries));
  }
};

}  // namespace

TreeDef::TreeDef() : skeleton_(structure_leaf()) {}

int64_t TreeDef::num_leaves() const {
  return skeleton_.num_leaves();
}

std::string TreeDef::to_string() const {
  std::string out;
  render_def(skeleton_, out);
  return out;
}

bool TreeDef::operator==(const TreeDef& other) const {
  return structure_equal(skeleton_, other.skeleton_);
}

FlatTree tree_flatten(const Tree& tree) {
  return {tree_leaves(tree), tree_structure(tree)};
}

TreeDef tree_structure(const Tree& tree) {
  return TreeDef(
      rebuild(tree, "", [](const Tensor&, const std::string&) { return structure_leaf(); }));
}

Tree tree_unflatten(const TreeDef& structure, std::span<const Tensor> leaves) {
  if (static_cast<int64_t>(leaves.size()) != structure.num_leaves()) {
    throw Error("nx::tree_unflatten: the structure " + structure.to_string() + " has " +
                std::to_string(structure.num_leaves()) + " leaves, got " +
                std::to_string(leaves.size()) + " tensors");
  }
  size_t next = 0;
  return unflatten_from(structure.skeleton(), leaves, next);
}

std::vector<Tensor> tree_leaves(const Tree& tree) {
  std::vector<Tensor> out;
  out.reserve(static_cast<size_t>(tree.num_leaves()));
  flatten_into(tree, out);
  return out;
}

std::vector<PathLeaf> tree_flatten_with_paths(const Tree& tree) {
  std::vector<PathLeaf> out;
  out.reserve(static_cast<size_t>(tree.num_leaves()));
  flatten_paths_into(tree, "", out);
  return out;
}

Tree tree_from_paths(std::span<const PathLeaf> leaves) {
  if (leaves.size() == 1 && leaves[0].path.empty()) return Tree(leaves[0].tensor);
  PathTrie root;
  for (const PathLeaf& pl : leaves) {
    PathTrie* node = &root;
    size_t start = 0;
    while (true) {
      size_t dot = pl.path.find('.', start);
      std::string seg =
          pl.path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (seg.empty()) {
        throw Error("nx::tree_from_paths: the path \"" + pl.path + "\" has an empty segment");
      }
      if (node->leaf.defined()) {
        throw Error("nx::tree_from_paths: \"" + pl.path + "\" extends the path of a leaf");
      }
      auto [it, added] = node->index.try_emplace(seg, node->children.size());
      if (added) {
        node->keys.push_back(seg);
        node->children.push_back(std::make_unique<PathTrie>());
      }
      node = node->children[it->second].get();
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (node->leaf.defined())
      throw Error("nx::tree_from_paths: the path \"" + pl.path + "\" repeats");
    if (!node->keys.empty()) {
      throw Error("nx::tree_from_paths: \"" + pl.path +
                  "\" is both a leaf and a prefix of other paths");
    }
    if (!pl.tensor.defined()) {
      throw Error("nx::tree_from_paths: the tensor at \"" + pl.path + "\" is an empty handle");
    }
    node->leaf = pl.tensor;
  }
  return root.to_tree();
}

bool same_structure(const Tree& a, const Tree& b) {
  return structure_equal(a, b);
}

Tree tree_map(const Tree& tree, const std::function<Tensor(const Tensor&)>& fn) {
  return rebuild(tree, "", [&](const Tensor& t, const std::string&) { return fn(t); });
}

Tree tree_map_with_path(const Tree& tree,
                        const std::function<Tensor(const std::string&, const Tensor&)>& fn) {
  return rebuild(tree, "", [&](const Tensor& t, const std::string& path) { return fn(path, t); });
}

Tree tree_map(const Tree& a, const Tree& b,
              const std::function<Tensor(const Tensor&, const Tensor&)>& fn) {
  const Tree both[] = {a, b};
  return tree_map(both, [&](std::span<const Tensor> x) { return fn(x[0], x[1]); });
}

Tree tree_map(std::span<const Tree> trees,
              const std::function<Tensor(std::span<const Tensor>)>& fn) {
  if (trees.empty()) throw Error("nx::tree_map: needs at least one tree");
  for (size_t k = 1; k < trees.size(); ++k) {
    std::string d = first_difference(trees[0], trees[k], "");
    if (!d.empty()) {
      throw Error("nx::tree_map: tree " + std::to_string(k) + " differs in structure from tree 0 " +
                  d);
    }
  }
  return zip_n(trees, "", fn);
}

void tree_for_each(const Tree& tree, const std::function<void(const Tensor&)>& fn) {
  if (tree.is_leaf()) {
    fn(tree.leaf());
    return;
  }
  for (const Tree& c : tree.children()) tree_for_each(c, fn);
}

Tree tree_templates(const Tree& tree) {
  return tree_map(tree, [](const Tensor& t) { return make_template(t.shape(), t.dtype()); });
}

}  // namespace nx
