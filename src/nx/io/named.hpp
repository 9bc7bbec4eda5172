// The tensors of a tree to save, each under its dotted path.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "npy.hpp"
#include "nx/tree.hpp"

namespace nx::io::detail {

/// The leaves of `tensors` with their paths; throws nx::Error naming `where` for a bare leaf
/// (it has no name), a template, or two leaves with one path (a key containing '.').
inline std::vector<PathLeaf> named_leaves(const Tree& tensors, const std::string& where) {
  if (tensors.is_leaf()) {
    fail(where, "needs a map or list of tensors to name them, got a single tensor");
  }
  std::vector<PathLeaf> leaves = tree_flatten_with_paths(tensors);
  std::unordered_set<std::string> seen;
  for (const PathLeaf& l : leaves) {
    check_savable(l.tensor, where, l.path);
    if (!seen.insert(l.path).second) {
      fail(where, "two tensors have the path \"" + l.path + "\" (a key contains '.')");
    }
  }
  return leaves;
}

}  // namespace nx::io::detail
