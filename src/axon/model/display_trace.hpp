// Tracing a model once for its shapes (private to the display and graph tools): every node's
// output type and every parameter's type, without running the computation.
#pragma once

#include <array>
#include <string>

#include <cstdint>
#include <set>
#include <unordered_map>

#include "axon/model/program.hpp"

namespace axon::detail {

/// A node's traced output: a tree of templates, or None.
struct NodeTrace {
  Tree types = Tree();
  bool present = true;
};

/// What tracing a program gives.
struct ModelTrace {
  std::unordered_map<int64_t, NodeTrace> nodes;  ///< by node id (the program's own nodes)
  Tree params = Tree();                          ///< every parameter's template, by path
  std::set<ParamPath> state_paths;               ///< paths of kind State
};

/// Traces `program` on inputs shaped like `templates` (a tensor for a single input, or a map by
/// input name) in `mode`: parameters are created as initialisation does, under nx::jit, so
/// nothing is computed.
ModelTrace trace_model(const Program& program, const Tree& templates, Mode mode);

/// A byte count in decimal units (1000, as Axon prints them): below 1000 as "<n> <units[0]>",
/// else two decimals and units[1..4] (kilo to tera); `trim` drops trailing zeros as Elixir's
/// Float.round(x, 2) prints ("407.08", "1.2", "3.0").
std::string decimal_size(int64_t bytes, const std::array<const char*, 5>& units, bool trim);

}  // namespace axon::detail
