// Dataset: validation of the example axis, and cutting and reordering every leaf along it.
#include "axon/data/dataset.hpp"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "nx/error.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/shape.hpp"
#include "nx/random.hpp"

namespace axon::data {
namespace {

// Checks that every leaf of `tree` is a concrete tensor of rank >= 1 whose axis 0 has `size`
// examples (the first leaf seen sets it when `size` is negative). `what` names the tree.
void check_leaves(const char* fn, const nx::Tree& tree, const char* what, int64_t& size,
                  std::string& first_path) {
  for (const auto& [path, t] : nx::tree_flatten_with_paths(tree)) {
    std::string name = std::string(what) + (path.empty() ? "" : "." + path);
    if (t.is_template() || t.is_traced()) {
      throw nx::Error(std::string(fn) + ": " + name + " must be a concrete tensor, got " +
                      (t.is_traced() ? "a traced " : "a template ") + nx::type_string(t.type()));
    }
    if (t.rank() == 0) {
      throw nx::Error(std::string(fn) + ": " + name +
                      " must have an example axis (rank >= 1), got a scalar " +
                      nx::type_string(t.type()));
    }
    if (size < 0) {
      size = t.axis_size(0);
      first_path = name;
    } else if (t.axis_size(0) != size) {
      throw nx::Error(std::string(fn) +
                      ": every input and target needs the same number of "
                      "examples (axis 0), but " +
                      first_path + " has " + std::to_string(size) + " and " + name + " has " +
                      std::to_string(t.axis_size(0)) + " (" + nx::type_string(t.type()) + ")");
    }
  }
}

int64_t example_count(const char* fn, const nx::Tree& inputs, const nx::Tree& targets) {
  if (inputs.num_leaves() == 0) {
    throw nx::Error(std::string(fn) + ": inputs must hold at least one tensor, got " +
                    inputs.to_string());
  }
  int64_t size = -1;
  std::string first;
  check_leaves(fn, inputs, "inputs", size, first);
  check_leaves(fn, targets, "targets", size, first);
  return size;
}

nx::Tree map_leaves(const nx::Tree& tree, const std::function<nx::Tensor(const nx::Tensor&)>& f) {
  if (tree.num_leaves() == 0) return tree;
  return nx::tree_map(tree, f);
}

}  // namespace

Dataset Dataset::from_tensors(nx::Tree inputs, nx::Tree targets) {
  int64_t n = example_count("axon::data::Dataset::from_tensors", inputs, targets);
  return Dataset(std::move(inputs), std::move(targets), n);
}

Dataset Dataset::cut(int64_t start, int64_t length) const {
  if (start == 0 && length == size_) return *this;
  auto f = [&](const nx::Tensor& t) { return nx::slice_along_axis(t, start, length, 0); };
  return Dataset(map_leaves(inputs_, f), map_leaves(targets_, f), length);
}

Dataset Dataset::slice(int64_t start, int64_t length) const {
  if (start < 0 || length < 0 || start > size_ || length > size_ - start) {
    throw nx::Error("axon::data::Dataset::slice: examples " + std::to_string(start) + " .. " +
                    std::to_string(start + length) + " (start " + std::to_string(start) +
                    ", length " + std::to_string(length) + ") are not inside a dataset of " +
                    std::to_string(size_) + " examples");
  }
  return cut(start, length);
}

Dataset Dataset::take(int64_t n) const {
  if (n < 0) {
    throw nx::Error("axon::data::Dataset::take: expected a count >= 0, got " + std::to_string(n));
  }
  return cut(0, std::min(n, size_));
}

Dataset Dataset::skip(int64_t n) const {
  if (n < 0) {
    throw nx::Error("axon::data::Dataset::skip: expected a count >= 0, got " + std::to_string(n));
  }
  int64_t k = std::min(n, size_);
  return cut(k, size_ - k);
}

Dataset Dataset::gather(const nx::Tensor& indices) const {
  const char* fn = "axon::data::Dataset::gather";
  if (!indices.defined() || indices.rank() != 1 || !nx::is_integer(indices.dtype())) {
    throw nx::Error(std::string(fn) + ": expected a rank-1 integer tensor of indices, got " +
                    (indices.defined() ? nx::type_string(indices.type()) : "an empty tensor"));
  }
  for (int64_t i : indices.to_vector<int64_t>()) {
    if (i < 0 || i >= size_) {
      throw nx::Error(std::string(fn) + ": index " + std::to_string(i) +
                      " is outside a dataset of " + std::to_string(size_) + " examples");
    }
  }
  auto f = [&](const nx::Tensor& t) { return nx::take(t, indices, 0); };
  return Dataset(map_leaves(inputs_, f), map_leaves(targets_, f), indices.size());
}

Dataset Dataset::shuffle(const nx::Tensor& key) const {
  return gather(nx::random::permutation(key, size_));
}

std::pair<Dataset, Dataset> Dataset::split(double fraction) const {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    throw nx::Error("axon::data::Dataset::split: expected a fraction in [0, 1], got " +
                    std::to_string(fraction));
  }
  auto k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(size_)));
  return {cut(0, k), cut(k, size_ - k)};
}

Batch Dataset::batch(int64_t start, int64_t length) const {
  if (start < 0 || length < 0 || start > size_) {
    throw nx::Error("axon::data::Dataset::batch: start " + std::to_string(start) + " and length " +
                    std::to_string(length) + " do not address a dataset of " +
                    std::to_string(size_) + " examples");
  }
  Dataset d = cut(start, std::min(length, size_ - start));
  return Batch{d.inputs_, d.targets_};
}

Dataset Dataset::map_all(const std::function<Batch(Batch)>& fn) const {
  Batch out = fn(Batch{inputs_, targets_});
  int64_t n = example_count("axon::data::Dataset::map_all", out.inputs, out.targets);
  return Dataset(std::move(out.inputs), std::move(out.targets), n);
}

}  // namespace axon::data
