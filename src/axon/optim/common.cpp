#include "common.hpp"

#include <string>

#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim::detail {

std::string who(std::string_view name) {
  return "axon::optim::" + std::string(name);
}

std::string path_label(const std::string& path) {
  return path.empty() ? std::string("the root leaf") : "'" + path + "'";
}

std::string join_path(const std::string& path, const std::string& segment) {
  return path.empty() ? segment : path + "." + segment;
}

void check_float_leaves(const std::string& who, const Tree& tree, const char* what) {
  for (const nx::PathLeaf& pl : nx::tree_flatten_with_paths(tree)) {
    if (!nx::is_float(pl.tensor.dtype())) {
      throw nx::Error(who + ": " + what + " " + path_label(pl.path) + " is " +
                      nx::type_string(pl.tensor.type()) + "; expected a floating-point tensor");
    }
  }
}

namespace {

const char* kind_name(const Tree& t) {
  return t.is_leaf() ? "a tensor" : t.is_list() ? "a list" : "a map";
}

std::string segment_of(const Tree& t, size_t i) {
  return t.is_map() ? t.keys()[i] : std::to_string(i);
}

// The first difference between trees a and b (named a_name, b_name), or "" when they match.
std::string first_difference(const Tree& a, const Tree& b, const std::string& path, bool shapes,
                             const char* a_name, const char* b_name) {
  std::string at = "at " + path_label(path) + ": ";
  if (a.kind() != b.kind()) {
    return at + kind_name(a) + " in " + a_name + ", " + kind_name(b) + " in " + b_name;
  }
  if (a.is_leaf()) {
    if (shapes && a.leaf().shape() != b.leaf().shape()) {
      return at + "shape " + nx::shape_repr(a.leaf().shape()) + " in " + a_name + ", " +
             nx::shape_repr(b.leaf().shape()) + " in " + b_name;
    }
    return "";
  }
  if (a.is_map()) {
    // Name a missing key rather than a positional mismatch, as that is the usual mistake.
    for (const std::string& k : a.keys()) {
      if (!b.contains(k)) {
        return "at " + path_label(join_path(path, k)) + ": present in " + a_name +
               ", missing from " + b_name;
      }
    }
    for (const std::string& k : b.keys()) {
      if (!a.contains(k)) {
        return "at " + path_label(join_path(path, k)) + ": present in " + b_name +
               ", missing from " + a_name;
      }
    }
    if (a.keys() != b.keys()) return at + "the same keys in another order";
  } else if (a.size() != b.size()) {
    return at + "a list of " + std::to_string(a.size()) + " in " + a_name + ", of " +
           std::to_string(b.size()) + " in " + b_name;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    std::string d =
        first_difference(a[i], b[i], join_path(path, segment_of(a, i)), shapes, a_name, b_name);
    if (!d.empty()) return d;
  }
  return "";
}

}  // namespace

void check_like(const std::string& who, const Tree& want, const char* want_name, const Tree& got,
                const char* got_name, bool shapes) {
  std::string d = first_difference(want, got, "", shapes, want_name, got_name);
  if (!d.empty()) {
    throw nx::Error(who + ": " + got_name + " must have the structure of " + want_name + "; " + d);
  }
}

void check_same_types(const std::string& who, const Tree& before, const Tree& after,
                      const char* what) {
  check_like(who, before, "the state it was given", after, what, false);
  std::vector<nx::PathLeaf> a = nx::tree_flatten_with_paths(before);
  std::vector<nx::PathLeaf> b = nx::tree_flatten_with_paths(after);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].tensor.type() != b[i].tensor.type()) {
      throw nx::Error(who + ": " + what + " changed " + path_label(a[i].path) + " from " +
                      nx::type_string(a[i].tensor.type()) + " to " +
                      nx::type_string(b[i].tensor.type()) +
                      "; a state must keep its types from step to step");
    }
  }
}

const Tree& field(const std::string& who, const Tree& state, std::string_view key) {
  const Tree* t = state.find(key);
  if (t == nullptr) {
    throw nx::Error(who + ": the state has no entry \"" + std::string(key) +
                    "\" (was it made by this transformation's init?); got " + state.to_string());
  }
  return *t;
}

Tensor count_field(const std::string& who, const Tree& state, std::string_view key) {
  const Tree& t = field(who, state, key);
  if (!t.is_leaf() || t.leaf().rank() != 0 || !nx::is_integer(t.leaf().dtype())) {
    throw nx::Error(who + ": state entry \"" + std::string(key) +
                    "\" must be an integer scalar (a step count), got " + t.to_string());
  }
  return t.leaf();
}

bool has_params(const Tree& params, const Tree& updates) {
  return !(params.is_map() && params.size() == 0) || nx::same_structure(params, updates);
}

void require_params(const std::string& who, const Tree& params, const Tree& updates) {
  if (!has_params(params, updates)) {
    throw nx::Error(who + ": needs the parameters, got an empty map");
  }
  check_like(who, updates, "the updates", params, "the parameters");
  check_float_leaves(who, params, "parameter");
}

nx::DType moment_dtype(nx::DType t) {
  return t == nx::f64 ? nx::f64 : nx::f32;
}

Tree fill_moments(const Tree& like, double value) {
  return nx::tree_map(
      like, [&](const Tensor& p) { return nx::full(p.shape(), value, moment_dtype(p.dtype())); });
}

Tensor zero_count() {
  return nx::scalar_int(0, nx::s64);
}

Tensor f64(double value) {
  return nx::scalar(value, nx::f64);
}

Tensor cast(const Tensor& x, nx::DType dtype) {
  return x.dtype() == dtype && !x.is_weak() ? x : nx::as_type(x, dtype);
}

Tree make_hyperparams(std::initializer_list<std::pair<const char*, double>> values) {
  Tree::Map m;
  for (const auto& [name, v] : values) m.emplace_back(name, Tree(f64(v)));
  return Tree::map(std::move(m));
}

Tensor hyperparam(const std::string& who, const Tree& state, std::string_view name) {
  const Tree& hp = field(who, state, "hyperparams");
  const Tree* t = hp.find(name);
  if (t == nullptr || !t->is_leaf() || t->leaf().rank() != 0 || !nx::is_float(t->leaf().dtype())) {
    throw nx::Error(who + ": the state's hyperparams need a floating-point scalar \"" +
                    std::string(name) + "\", got " + hp.to_string());
  }
  return cast(t->leaf(), nx::f64);
}

const std::vector<Tensor>& Scalars::in(nx::DType dtype) {
  for (const auto& [dt, vs] : converted_) {
    if (dt == dtype) return vs;
  }
  std::vector<Tensor> vs;
  vs.reserve(values_.size());
  // Predicates (which branch to take) stay predicates.
  for (const Tensor& v : values_) vs.push_back(v.dtype() == nx::pred ? v : cast(v, dtype));
  converted_.emplace_back(dtype, std::move(vs));
  return converted_.back().second;
}

std::vector<Tree> zip(std::span<const Tree> trees, size_t n_out,
                      const std::function<std::vector<Tensor>(std::span<const Tensor>)>& fn) {
  std::vector<std::vector<Tensor>> leaves;
  leaves.reserve(trees.size());
  for (const Tree& t : trees) leaves.push_back(nx::tree_leaves(t));
  nx::TreeDef structure = nx::tree_structure(trees[0]);
  size_t n = leaves[0].size();
  std::vector<std::vector<Tensor>> outs(n_out);
  std::vector<Tensor> args(trees.size());
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < trees.size(); ++k) args[k] = leaves[k][i];
    std::vector<Tensor> r = fn(args);
    for (size_t j = 0; j < n_out; ++j) outs[j].push_back(std::move(r[j]));
  }
  std::vector<Tree> result;
  result.reserve(n_out);
  for (auto& o : outs) result.push_back(nx::tree_unflatten(structure, o));
  return result;
}

}  // namespace axon::optim::detail
