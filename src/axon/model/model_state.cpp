// ModelState: the parameter tree with its state and frozen masks; safetensors save and load.
#include "axon/model_state.hpp"

#include <algorithm>
#include <sstream>

#include "axon/model.hpp"
#include "axon/model/program.hpp"
#include "nx/dtype.hpp"
#include "nx/error.hpp"
#include "nx/io.hpp"

namespace axon {

namespace {

void walk(const nx::Tree& t, ParamPath& path,
          const std::function<void(const ParamPath&, const nx::Tensor&)>& fn) {
  if (t.is_leaf()) {
    fn(path, t.leaf());
    return;
  }
  if (!t.is_map()) {
    throw nx::Error("axon::ModelState: data must be nested maps of tensors, found a list at " +
                    (path.empty() ? std::string("the root") : path.back()));
  }
  for (size_t i = 0; i < t.size(); ++i) {
    path.push_back(t.keys()[i]);
    walk(t[i], path, fn);
    path.pop_back();
  }
}

void for_each_leaf(const nx::Tree& t,
                   const std::function<void(const ParamPath&, const nx::Tensor&)>& fn) {
  ParamPath path;
  walk(t, path, fn);
}

nx::Tree set_path(const nx::Tree& t, const ParamPath& path, size_t i, const nx::Tensor& v) {
  if (i == path.size()) return nx::Tree(v);
  const nx::Tree* child = t.is_map() ? t.find(path[i]) : nullptr;
  nx::Tree base = t.is_map() ? t : nx::Tree();
  return base.set(path[i], set_path(child ? *child : nx::Tree(), path, i + 1, v));
}

nx::Tree select(const nx::Tree& data, const std::function<bool(const ParamPath&)>& keep) {
  nx::Tree out;
  for_each_leaf(data, [&](const ParamPath& p, const nx::Tensor& t) {
    if (keep(p)) out = set_path(out, p, 0, t);
  });
  return out;
}

std::string dotted(const ParamPath& p) {
  std::string s;
  for (const auto& part : p) {
    if (part.find('.') != std::string::npos) {
      throw nx::Error("axon::ModelState::save: the name " + part +
                      " contains '.', which safetensors paths use as the separator");
    }
    s += (s.empty() ? "" : ".") + part;
  }
  return s;
}

ParamPath undotted(const std::string& s) {
  ParamPath p;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, '.')) p.push_back(part);
  return p;
}

std::string join_paths(const std::set<ParamPath>& paths) {
  std::string s;
  for (const auto& p : paths) s += (s.empty() ? "" : "\n") + dotted(p);
  return s;
}

std::set<ParamPath> split_paths(const std::string& s) {
  std::set<ParamPath> out;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line)) {
    if (!line.empty()) out.insert(undotted(line));
  }
  return out;
}

}  // namespace

ModelState ModelState::from_tree(nx::Tree data) {
  for_each_leaf(data, [](const ParamPath&, const nx::Tensor&) {});
  return ModelState{std::move(data), {}, {}};
}

nx::Tree ModelState::trainable_parameters() const {
  return select(data, [&](const ParamPath& p) { return !state.count(p) && !frozen.count(p); });
}
nx::Tree ModelState::frozen_parameters() const {
  return select(data, [&](const ParamPath& p) { return !state.count(p) && frozen.count(p); });
}
nx::Tree ModelState::trainable_state() const {
  return select(data, [&](const ParamPath& p) { return state.count(p) && !frozen.count(p); });
}
nx::Tree ModelState::frozen_state() const {
  return select(data, [&](const ParamPath& p) { return state.count(p) && frozen.count(p); });
}

std::vector<ParamPath> ModelState::paths() const {
  std::vector<ParamPath> out;
  for_each_leaf(data, [&](const ParamPath& p, const nx::Tensor&) { out.push_back(p); });
  return out;
}

ModelState ModelState::freeze(const std::function<bool(const ParamPath&)>& pred) const {
  ModelState out = *this;
  for (const ParamPath& p : paths()) {
    if (!pred || pred(p)) out.frozen.insert(p);
  }
  return out;
}

ModelState ModelState::unfreeze(const std::function<bool(const ParamPath&)>& pred) const {
  ModelState out = *this;
  for (const ParamPath& p : paths()) {
    if (!pred || pred(p)) out.frozen.erase(p);
  }
  return out;
}

ModelState ModelState::update(const nx::Tree& params, const nx::Tree& new_state) const {
  ModelState out = *this;
  auto apply = [&](const ParamPath& p, const nx::Tensor& t) {
    if (out.frozen.count(p)) return;
    nx::Tree cur = out.data;
    for (const auto& part : p) {
      const nx::Tree* c = cur.is_map() ? cur.find(part) : nullptr;
      if (!c) {
        std::string d;
        for (const auto& s : p) d += (d.empty() ? "" : ".") + s;
        throw nx::Error("axon::ModelState::update: " + d + " is not in the model state");
      }
      cur = *c;
    }
    out.data = set_path(out.data, p, 0, t);
  };
  for_each_leaf(params, apply);
  for_each_leaf(new_state, apply);
  return out;
}

int64_t ModelState::num_parameters() const {
  int64_t n = 0;
  for_each_leaf(data, [&](const ParamPath&, const nx::Tensor& t) { n += t.size(); });
  return n;
}

int64_t ModelState::num_bytes() const {
  int64_t n = 0;
  for_each_leaf(data, [&](const ParamPath&, const nx::Tensor& t) {
    n += t.size() * static_cast<int64_t>(nx::byte_size(t.dtype()));
  });
  return n;
}

void ModelState::save(const std::filesystem::path& path) const {
  nx::Tree::Map flat;
  for_each_leaf(data, [&](const ParamPath& p, const nx::Tensor& t) {
    flat.emplace_back(dotted(p), nx::Tree(t));
  });
  nx::io::Metadata meta{
      {"format", "pt"}, {"axon.state", join_paths(state)}, {"axon.frozen", join_paths(frozen)}};
  nx::io::save_safetensors(path, nx::Tree(std::move(flat)), meta);
}

ModelState ModelState::load(const std::filesystem::path& path) {
  nx::io::Safetensors file = nx::io::load_safetensors(path);
  ModelState out;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    out.data = set_path(out.data, undotted(file.tensors.keys()[i]), 0, file.tensors[i].leaf());
  }
  if (auto it = file.metadata.find("axon.state"); it != file.metadata.end()) {
    out.state = split_paths(it->second);
  }
  if (auto it = file.metadata.find("axon.frozen"); it != file.metadata.end()) {
    out.frozen = split_paths(it->second);
  }
  return out;
}

namespace {

// Each layer with trainable parameters (and the paths of all its parameters), parents first.
void collect_layers(const detail::Program& program, const ParamPath& prefix,
                    std::vector<std::pair<ParamPath, std::vector<ParamPath>>>& out,
                    std::set<ParamPath>& seen) {
  for (const Node* node : program.order) {
    ParamPath path = prefix;
    for (const auto& s : program.scopes.at(node->id)) path.push_back(s);
    if (node->kind == NodeKind::Block) {
      const auto& def = *static_cast<const detail::BlockDef*>(node->sub.get());
      path.push_back(program.block_names.at(def.id));
      collect_layers(*program.blocks.at(def.id), path, out, seen);
      continue;
    }
    path.push_back(program.names.at(node->id));
    bool trainable = false;
    for (const Param& p : node->params) trainable = trainable || p.kind == ParamKind::Parameter;
    if (!trainable || !seen.insert(path).second) continue;
    std::vector<ParamPath> params;
    for (const Param& p : node->params) {
      params.push_back(path);
      params.back().push_back(p.name);
    }
    out.emplace_back(path, std::move(params));
  }
}

std::vector<std::pair<ParamPath, std::vector<ParamPath>>> layers_of(const Model& model) {
  std::vector<std::pair<ParamPath, std::vector<ParamPath>>> out;
  std::set<ParamPath> seen;
  collect_layers(*detail::make_program(model), {}, out, seen);
  return out;
}

ModelState by_depth(const Model& model, const ModelState& state, FreezeDepth depth, bool freeze) {
  const char* what = freeze ? "axon::freeze" : "axon::unfreeze";
  if (depth.up.has_value() == depth.down.has_value()) {
    throw nx::Error(std::string(what) + ": give exactly one of up and down");
  }
  int64_t n = depth.up ? *depth.up : *depth.down;
  if (n < 0) {
    throw nx::Error(std::string(what) + ": the number of layers must be >= 0, got " +
                    std::to_string(n));
  }
  auto layers = layers_of(model);
  const size_t count = std::min(static_cast<size_t>(n), layers.size());
  const size_t begin = depth.up ? 0 : layers.size() - count;
  ModelState out = state;
  for (size_t i = begin; i < begin + count; ++i) {
    for (const ParamPath& p : layers[i].second) {
      const nx::Tree* at = &state.data;
      for (const auto& part : p) at = at && at->is_map() ? at->find(part) : nullptr;
      if (!at) {
        throw nx::Error(std::string(what) + ": the model state has no parameter " + dotted(p) +
                        " (was it initialised from this model?)");
      }
      if (freeze) {
        out.frozen.insert(p);
      } else {
        out.frozen.erase(p);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<ParamPath> parameter_layers(const Model& model) {
  std::vector<ParamPath> out;
  for (auto& [path, params] : layers_of(model)) out.push_back(path);
  return out;
}

ModelState freeze(const Model& model, const ModelState& state, FreezeDepth depth) {
  return by_depth(model, state, depth, true);
}

ModelState unfreeze(const Model& model, const ModelState& state, FreezeDepth depth) {
  return by_depth(model, state, depth, false);
}

}  // namespace axon
