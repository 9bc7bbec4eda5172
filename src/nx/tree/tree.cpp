// nx::Tree: construction, access and printing.
#include "nx/tree.hpp"

#include <algorithm>
#include <ostream>

#include "tree_node.hpp"

namespace nx {

namespace {

using detail::kind_name;
using detail::TreeNode;

std::shared_ptr<const TreeNode> make_list_node(Tree::List items) {
  auto node = std::make_shared<TreeNode>();
  node->kind = Tree::Kind::List;
  for (const Tree& c : items) node->num_leaves += c.num_leaves();
  node->children = std::move(items);
  return node;
}

std::shared_ptr<const TreeNode> make_map_node(Tree::Map entries) {
  if (entries.size() > UINT32_MAX) throw Error("nx::Tree: a map holds at most 2^32 - 1 entries");
  auto node = std::make_shared<TreeNode>();
  node->kind = Tree::Kind::Map;
  node->children.reserve(entries.size());
  node->keys.reserve(entries.size());
  for (auto& [key, child] : entries) {
    node->num_leaves += child.num_leaves();
    node->keys.push_back(std::move(key));
    node->children.push_back(std::move(child));
  }
  node->by_key.resize(node->keys.size());
  for (uint32_t i = 0; i < node->by_key.size(); ++i) node->by_key[i] = i;
  std::sort(node->by_key.begin(), node->by_key.end(),
            [&](uint32_t a, uint32_t b) { return node->keys[a] < node->keys[b]; });
  for (size_t i = 1; i < node->by_key.size(); ++i) {
    if (node->keys[node->by_key[i]] == node->keys[node->by_key[i - 1]]) {
      throw Error("nx::Tree: the map has the key \"" + node->keys[node->by_key[i]] + "\" twice");
    }
  }
  return node;
}

const std::shared_ptr<const TreeNode>& empty_map_node() {
  static const std::shared_ptr<const TreeNode> node = make_map_node({});
  return node;
}

const std::vector<Tree>& no_children() {
  static const std::vector<Tree> none;
  return none;
}

const std::vector<std::string>& no_keys() {
  static const std::vector<std::string> none;
  return none;
}

void render(const Tree& t, std::string& out) {
  switch (t.kind()) {
    case Tree::Kind::Leaf:
      out += type_string(t.leaf().type());
      return;
    case Tree::Kind::List:
      out += '[';
      for (size_t i = 0; i < t.size(); ++i) {
        if (i) out += ", ";
        render(t.children()[i], out);
      }
      out += ']';
      return;
    case Tree::Kind::Map:
      out += '{';
      for (size_t i = 0; i < t.size(); ++i) {
        if (i) out += ", ";
        out += t.keys()[i];
        out += ": ";
        render(t.children()[i], out);
      }
      out += '}';
      return;
  }
}

}  // namespace

Tree::Tree() : node_(empty_map_node()) {}

Tree::Tree(Tensor tensor) : leaf_(std::move(tensor)) {
  if (!leaf_.defined()) throw Error("nx::Tree: a leaf must be a tensor, got an empty handle");
}

Tree::Tree(std::initializer_list<Entry> entries) : node_(make_map_node(Map(entries))) {}

Tree::Tree(List items) : node_(make_list_node(std::move(items))) {}

Tree::Tree(Map entries) : node_(make_map_node(std::move(entries))) {}

Tree::Kind Tree::kind() const {
  return node_ ? node_->kind : Kind::Leaf;
}

const Tensor& Tree::leaf() const {
  if (node_)
    throw Error(std::string("nx::Tree::leaf: the tree is ") + kind_name(kind()) + ", not a leaf");
  return leaf_;
}

size_t Tree::size() const {
  return node_ ? node_->children.size() : 0;
}

int64_t Tree::num_leaves() const {
  return node_ ? node_->num_leaves : 1;
}

const std::vector<Tree>& Tree::children() const {
  return node_ ? node_->children : no_children();
}

const std::vector<std::string>& Tree::keys() const {
  return node_ ? node_->keys : no_keys();
}

const Tree& Tree::operator[](size_t i) const {
  if (!node_) throw Error("nx::Tree: cannot index a leaf (" + type_string(leaf_.type()) + ")");
  if (i >= node_->children.size()) {
    throw Error("nx::Tree: index " + std::to_string(i) + " is out of range for " +
                kind_name(kind()) + " of " + std::to_string(node_->children.size()));
  }
  return node_->children[i];
}

const Tree* Tree::find(std::string_view key) const {
  if (!node_ || node_->kind != Kind::Map) return nullptr;
  const auto& keys = node_->keys;
  auto it = std::lower_bound(node_->by_key.begin(), node_->by_key.end(), key,
                             [&](uint32_t i, std::string_view k) { return keys[i] < k; });
  if (it == node_->by_key.end() || keys[*it] != key) return nullptr;
  return &node_->children[*it];
}

const Tree& Tree::operator[](std::string_view key) const {
  if (const Tree* t = find(key)) return *t;
  if (!is_map()) {
    throw Error("nx::Tree: cannot look up key \"" + std::string(key) + "\" in " +
                kind_name(kind()));
  }
  std::string known;
  for (size_t i = 0; i < node_->keys.size() && i < 20; ++i) {
    known += (i ? ", " : "") + node_->keys[i];
  }
  if (node_->keys.size() > 20) known += ", ...";
  throw Error("nx::Tree: no key \"" + std::string(key) + "\" in the map (keys: " + known + ")");
}

Tree Tree::set(std::string_view key, Tree value) const {
  if (!is_map()) {
    throw Error(std::string("nx::Tree::set: setting key \"") + std::string(key) +
                "\" needs a map, got " + kind_name(kind()));
  }
  Map entries;
  entries.reserve(size() + 1);
  bool replaced = false;
  for (size_t i = 0; i < size(); ++i) {
    if (node_->keys[i] == key) {
      entries.emplace_back(node_->keys[i], std::move(value));
      replaced = true;
    } else {
      entries.emplace_back(node_->keys[i], node_->children[i]);
    }
  }
  if (!replaced) entries.emplace_back(std::string(key), std::move(value));
  return Tree(std::move(entries));
}

Tree Tree::set(size_t i, Tree value) const {
  if (!is_list()) {
    throw Error(std::string("nx::Tree::set: setting index ") + std::to_string(i) +
                " needs a list, got " + kind_name(kind()));
  }
  if (i >= size()) {
    throw Error("nx::Tree::set: index " + std::to_string(i) + " is out of range for a list of " +
                std::to_string(size()));
  }
  List items = node_->children;
  items[i] = std::move(value);
  return Tree(std::move(items));
}

std::string Tree::to_string() const {
  std::string out;
  render(*this, out);
  return out;
}

std::ostream& operator<<(std::ostream& os, const Tree& t) {
  return os << t.to_string();
}

}  // namespace nx
