// Reading and changing the hyperparameters that transformations keep in their state.
#include <string>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim {

using detail::join_path;

namespace {

constexpr const char* kHyperparams = "hyperparams";

// A name with a '.' is a full path ("1.hyperparams.learning_rate"); otherwise a bare name.
bool matches(const std::string& name, const std::string& path, const std::string& key) {
  return name.find('.') != std::string::npos ? name == path : name == key;
}

// Every hyperparameter leaf: the leaves of "hyperparams" maps, wherever they sit.
void collect(const Tree& t, const std::string& path, std::vector<nx::PathLeaf>& out) {
  if (t.is_leaf()) return;
  for (size_t i = 0; i < t.size(); ++i) {
    std::string segment = t.is_map() ? t.keys()[i] : std::to_string(i);
    std::string p = join_path(path, segment);
    if (t.is_map() && segment == kHyperparams && t[i].is_map()) {
      const Tree& hp = t[i];
      for (size_t j = 0; j < hp.size(); ++j) {
        if (hp[j].is_leaf()) out.push_back({join_path(p, hp.keys()[j]), hp[j].leaf()});
      }
    } else {
      collect(t[i], p, out);
    }
  }
}

std::string list_of(const Tree& state) {
  std::vector<nx::PathLeaf> all;
  collect(state, "", all);
  if (all.empty()) return "the state has no hyperparameters";
  std::string s = "the state has";
  for (size_t i = 0; i < all.size(); ++i) s += (i ? ", " : " ") + all[i].path;
  return s;
}

// The state with each matching hyperparameter replaced by `value` converted to its dtype.
Tree replace(const Tree& t, const std::string& path, const std::string& name, const Tensor& value,
             int& count) {
  if (t.is_leaf()) return t;
  Tree out = t;
  for (size_t i = 0; i < t.size(); ++i) {
    std::string segment = t.is_map() ? t.keys()[i] : std::to_string(i);
    std::string p = join_path(path, segment);
    int before = count;
    Tree child;
    if (t.is_map() && segment == kHyperparams && t[i].is_map()) {
      child = t[i];
      for (size_t j = 0; j < t[i].size(); ++j) {
        const std::string& key = t[i].keys()[j];
        const Tree& leaf = t[i][j];
        if (!leaf.is_leaf() || !matches(name, join_path(p, key), key)) continue;
        child = child.set(key, Tree(detail::cast(value, leaf.leaf().dtype())));
        ++count;
      }
    } else {
      child = replace(t[i], p, name, value, count);
    }
    if (count == before) continue;  // untouched subtrees are shared, not rebuilt
    out = t.is_map() ? out.set(segment, child) : out.set(i, child);
  }
  return out;
}

}  // namespace

std::vector<nx::PathLeaf> find_hyperparameters(const Tree& state, const std::string& name) {
  std::vector<nx::PathLeaf> all, found;
  collect(state, "", all);
  for (nx::PathLeaf& pl : all) {
    std::string key = pl.path.substr(pl.path.rfind('.') + 1);
    if (matches(name, pl.path, key)) found.push_back(std::move(pl));
  }
  return found;
}

Tree set_hyperparameter(const Tree& state, const std::string& name, double value) {
  return set_hyperparameter(state, name, nx::scalar(value, nx::f64));
}

Tree set_hyperparameter(const Tree& state, const std::string& name, const Tensor& value) {
  if (!value.defined() || value.rank() != 0 || !nx::is_numeric(value.dtype())) {
    throw nx::Error("axon::optim::set_hyperparameter: the value of \"" + name +
                    "\" must be a numeric scalar, got " +
                    (value.defined() ? nx::type_string(value.type()) : std::string("nothing")));
  }
  int count = 0;
  Tree out = replace(state, "", name, value, count);
  if (count == 0) {
    throw nx::Error("axon::optim::set_hyperparameter: no hyperparameter \"" + name + "\"; " +
                    list_of(state));
  }
  return out;
}

Tensor get_hyperparameter(const Tree& state, const std::string& name) {
  std::vector<nx::PathLeaf> found = find_hyperparameters(state, name);
  if (found.size() == 1) return found[0].tensor;
  if (found.empty()) {
    throw nx::Error("axon::optim::get_hyperparameter: no hyperparameter \"" + name + "\"; " +
                    list_of(state));
  }
  std::string paths;
  for (const nx::PathLeaf& pl : found) paths += (paths.empty() ? "" : ", ") + pl.path;
  throw nx::Error("axon::optim::get_hyperparameter: \"" + name + "\" names " +
                  std::to_string(found.size()) + " hyperparameters (" + paths +
                  "); pass one of these paths");
}

}  // namespace axon::optim
