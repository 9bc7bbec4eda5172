// The graph IR of defn: what tracing records, autodiff transforms, passes rewrite and the
// compiler lowers. A graph is a list of nodes in topological order over numbered values (SSA):
// every value is defined by exactly one node, and a node only reads values defined before it.
//
//   value ids   0..types.size()-1, each with a TensorType
//   inputs      the Param nodes' values, in parameter order (explicit parameters first, then
//               values captured from an enclosing trace)
//   outputs     value ids (a value may appear more than once, or be an input)
//
// Control flow nodes (While, Cond, Scan) hold closed subgraphs: everything a body reads from the
// enclosing graph is an explicit input of the node.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../core/primitive.hpp"

namespace nx::detail {

struct Graph;

/// What a node does.
enum class NodeKind : uint8_t {
  Param,       ///< an input of the graph (index: its position in Graph::inputs)
  Constant,    ///< a concrete tensor baked into the graph
  Prim,        ///< a primitive of primitives.def
  StopGrad,    ///< identity whose cotangent is zero
  CustomGrad,  ///< in[0] is the value; in[1..] get cotangents from `fn`, in[0]'s graph none
  Hook,        ///< identity that calls `hook` with the concrete value when it runs
  While,       ///< subgraphs {cond, body}, each over (carries..., captures...); in = carries
               ///< then captures; scan.num_carry = number of carries; out = final carries
  Cond,        ///< subgraphs {true branch, false branch}, each over the captures; in = pred
               ///< then captures; out = the taken branch's results
  Scan,        ///< subgraphs {body}; see ScanInfo
  Fused,       ///< subgraphs {program}: a cluster of elementwise nodes (and a trailing
               ///< reduction) that runs as one kernel; in/out are the cluster's boundary values
};

std::string_view node_kind_name(NodeKind k);

/// The user function behind a CustomGrad node: cotangent of the value -> cotangents of in[1..].
using CustomVjp = std::function<std::vector<Tensor>(const Tensor& g)>;
/// The user function behind a Hook node.
using HookFn = std::function<void(const Tensor&)>;

/// Scan: body(carries..., x slices..., captures...) -> (new carries..., y slices...).
/// in = init carries, xs (leading axis `length`), captures; out = final carries, ys (stacked).
struct ScanInfo {
  int num_carry = 0;
  int num_xs = 0;
  int num_ys = 0;
  int64_t length = 0;
  bool reverse = false;
  bool operator==(const ScanInfo&) const = default;
};

struct Node {
  NodeKind kind = NodeKind::Prim;
  Prim prim{};               ///< Prim (for Fused: the trailing reduction, or add when none)
  Params params;             ///< Prim
  std::vector<int32_t> in;   ///< value ids read
  std::vector<int32_t> out;  ///< value ids defined
  int32_t index = -1;        ///< Param: position in Graph::inputs
  Tensor constant;           ///< Constant
  std::vector<std::shared_ptr<const Graph>> subgraphs;  ///< While, Cond, Scan, Fused
  ScanInfo scan;                                        ///< Scan
  std::shared_ptr<const CustomVjp> vjp;                 ///< CustomGrad
  std::shared_ptr<const HookFn> hook;                   ///< Hook
  std::string name;    ///< Hook: the label; Fused: the cluster kind; others: notes
  uint64_t trace = 0;  ///< the trace that recorded the node (CustomGrad's vjp closure
                       ///< may hold that trace's tensors; autodiff substitutes them)
};

struct Graph {
  std::vector<TensorType> types;  ///< per value id
  std::vector<Node> nodes;        ///< topological order
  std::vector<int32_t> inputs;    ///< Param values in parameter order
  std::vector<int32_t> outputs;   ///< result values

  /// A new value of type `t`; returns its id.
  int32_t add_value(const TensorType& t) {
    types.push_back(t);
    return static_cast<int32_t>(types.size() - 1);
  }
  /// Appends a node (its `out` must already be filled with fresh values); returns its index.
  size_t add_node(Node n) {
    nodes.push_back(std::move(n));
    return nodes.size() - 1;
  }
  const TensorType& type(int32_t v) const { return types[static_cast<size_t>(v)]; }
  size_t num_values() const { return types.size(); }
};

/// Throws nx::Error naming the first broken invariant: a value read before it is defined or
/// defined twice, an input that is not a Param, a Prim whose recorded types disagree with its
/// shape rule, a subgraph whose inputs/outputs do not match its node. Used by tests and after
/// every pass in debug dumps.
void verify(const Graph& g);

/// Human-readable text of a graph, one node per line:
///   %3:f32[128][10] = dot_general(%0, %1) {contract_a=[1], ...}
std::string dump_text(const Graph& g);
/// Graphviz DOT of a graph (subgraphs as clusters).
std::string dump_dot(const Graph& g, std::string_view title = "graph");

/// A short rendering of a node's params ("axes=[0, 1]"), for dumps and error messages.
std::string params_string(const Params& p);

}  // namespace nx::detail
