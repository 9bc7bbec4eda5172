// The combinators: identity, chain, stateless, stateful, masked, and apply_updates.
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common.hpp"
#include "nx/error.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::optim {

using detail::join_path;

Transformation identity() {
  return {[](const Tree&) { return Tree(); },
          [](const Tree& updates, const Tree& state, const Tree&) {
            return UpdateResult{updates, state};
          }};
}

namespace detail {

Transformation named_chain(std::string_view name, std::vector<Transformation> transformations) {
  std::string w = who(name);
  for (size_t i = 0; i < transformations.size(); ++i) {
    if (!transformations[i].init || !transformations[i].update) {
      throw nx::Error(w + ": transformation " + std::to_string(i) +
                      " has an empty init or update function");
    }
  }
  auto ts = std::make_shared<const std::vector<Transformation>>(std::move(transformations));
  return {[ts](const Tree& params) {
            Tree::List states;
            states.reserve(ts->size());
            for (const Transformation& t : *ts) states.push_back(t.init(params));
            return Tree::list(std::move(states));
          },
          [ts, w](const Tree& updates, const Tree& state, const Tree& params) {
            if (!state.is_list() || state.size() != ts->size()) {
              throw nx::Error(w + ": the state must be a list of " + std::to_string(ts->size()) +
                              " states, one per transformation; got " + state.to_string());
            }
            Tree u = updates;
            Tree::List states;
            states.reserve(ts->size());
            for (size_t i = 0; i < ts->size(); ++i) {
              UpdateResult r = (*ts)[i].update(u, state[i], params);
              u = std::move(r.updates);
              states.push_back(std::move(r.state));
            }
            return UpdateResult{u, Tree::list(std::move(states))};
          }};
}

}  // namespace detail

Transformation chain(std::vector<Transformation> transformations) {
  return detail::named_chain("chain", std::move(transformations));
}

Transformation stateless(std::function<Tree(const Tree& updates, const Tree& params)> fn) {
  if (!fn) throw nx::Error("axon::optim::stateless: the function is empty");
  return {[](const Tree&) { return Tree(); },
          [fn = std::move(fn)](const Tree& updates, const Tree& state, const Tree& params) {
            return UpdateResult{fn(updates, params), state};
          }};
}

Transformation stateful(
    std::function<Tree(const Tree& params)> init,
    std::function<UpdateResult(const Tree& updates, const Tree& state, const Tree& params)>
        update) {
  if (!init || !update) {
    throw nx::Error("axon::optim::stateful: init and update must both be set");
  }
  return {std::move(init), std::move(update)};
}

namespace {

using Mask = std::function<bool(const std::string& path)>;

// The selected leaves of `t` as nested maps keyed by the original path segments, so paths inside
// the subtree are the paths outside; nullopt when nothing under `t` is selected.
std::optional<Tree> select_subtree(const Tree& t, const std::string& path, const Mask& mask) {
  if (t.is_leaf()) return mask(path) ? std::optional<Tree>(t) : std::nullopt;
  Tree::Map entries;
  for (size_t i = 0; i < t.size(); ++i) {
    std::string segment = t.is_map() ? t.keys()[i] : std::to_string(i);
    if (auto sub = select_subtree(t[i], join_path(path, segment), mask)) {
      entries.emplace_back(segment, std::move(*sub));
    }
  }
  if (entries.empty()) return std::nullopt;
  return Tree::map(std::move(entries));
}

Tree selected(const Tree& t, const Mask& mask) {
  std::optional<Tree> s = select_subtree(t, "", mask);
  return s ? *s : Tree();
}

}  // namespace

Transformation masked(Transformation inner, std::function<bool(const std::string& path)> mask) {
  if (!inner.init || !inner.update) {
    throw nx::Error("axon::optim::masked: the inner transformation has an empty function");
  }
  if (!mask) throw nx::Error("axon::optim::masked: the mask is empty");
  const std::string w = detail::who("masked");
  return {[inner, mask](const Tree& params) { return inner.init(selected(params, mask)); },
          [inner, mask, w](const Tree& updates, const Tree& state, const Tree& params) {
            Tree sub_updates = selected(updates, mask);
            Tree sub_params;
            if (detail::has_params(params, updates)) {
              detail::check_like(w, updates, "the updates", params, "the parameters");
              sub_params = selected(params, mask);
            }
            UpdateResult r = inner.update(sub_updates, state, sub_params);
            detail::check_like(w, sub_updates, "the selected updates", r.updates,
                               "the inner transformation's updates");
            std::unordered_map<std::string, Tensor> by_path;
            for (nx::PathLeaf& pl : nx::tree_flatten_with_paths(r.updates)) {
              by_path.emplace(std::move(pl.path), std::move(pl.tensor));
            }
            Tree out =
                nx::tree_map_with_path(updates, [&](const std::string& path, const Tensor& u) {
                  auto it = by_path.find(path);
                  return it == by_path.end() ? u : it->second;
                });
            return UpdateResult{out, r.state};
          }};
}

Tree apply_updates(const Tree& params, const Tree& updates) {
  const std::string w = detail::who("apply_updates");
  detail::check_like(w, params, "the parameters", updates, "the updates");
  detail::check_float_leaves(w, params, "parameter");
  detail::check_float_leaves(w, updates, "update");
  return nx::tree_map(params, updates, [](const Tensor& p, const Tensor& u) {
    return p + detail::cast(u, p.dtype());
  });
}

}  // namespace axon::optim
