// Private definitions of the model graph shared by the builders and the compiler.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "axon/model.hpp"

namespace axon::detail {

/// A fresh node id (unique in the process, increasing).
int64_t next_node_id();

/// A new node of `kind` built at `where`.
std::shared_ptr<Node> make_node(NodeKind kind, std::string op_name, std::string name,
                                std::vector<Model> parents, SourceLocation where);

/// The shared definition behind an axon::Block: its inner graph, built once on placeholder
/// input nodes, and the name its parameters are stored under.
struct BlockDef {
  int64_t id = 0;
  std::string name;  ///< given name ("" = "block_<n>")
  size_t arity = 0;
  Model inner;
  std::vector<int64_t> placeholders;  ///< ids of the inner graph's placeholder inputs
};

/// "dense_0 (dense) built at model.cpp:12": a node for error messages.
std::string describe_node(const Node& node, const std::string& resolved_name);

}  // namespace axon::detail
