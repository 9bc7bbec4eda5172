// The shared, immutable node behind a list or map Tree.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nx/tree.hpp"

namespace nx::detail {

struct TreeNode {
  Tree::Kind kind = Tree::Kind::Map;
  std::vector<Tree> children;
  std::vector<std::string> keys;  ///< maps: parallel to children, in insertion order
  std::vector<uint32_t> by_key;   ///< maps: child indices sorted by key, for binary search
  int64_t num_leaves = 0;
};

/// Joins a parent path and a child segment with '.' ("" + "a" is "a").
inline std::string join_path(const std::string& parent, const std::string& segment) {
  return parent.empty() ? segment : parent + "." + segment;
}

/// "a leaf", "a list" or "a map", for error messages.
inline const char* kind_name(Tree::Kind k) {
  switch (k) {
    case Tree::Kind::Leaf:
      return "a leaf";
    case Tree::Kind::List:
      return "a list";
    case Tree::Kind::Map:
      return "a map";
  }
  return "a tree";
}

/// How a path is named in error messages: "(root)" for the empty path.
inline std::string path_label(const std::string& path) {
  return path.empty() ? "(root)" : path;
}

}  // namespace nx::detail
