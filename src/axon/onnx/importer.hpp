// Internals shared by the importer's files: tensor decoding (tensor_proto.cpp), evaluation of
// nested graphs (subgraph.cpp) and running one node's converter (op_call.cpp).
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "axon/onnx.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/dtype.hpp"
#include "nx/tensor.hpp"

namespace axon::onnx_import {

/// What every part of one import shares: the parsed model (kept alive by the layers, whose
/// OpCalls point into it), where external data lives and the opset.
struct ImportContext {
  std::shared_ptr<const ::onnx::ModelProto> proto;
  std::filesystem::path base_dir;  ///< empty: external data is refused
  std::string what;                ///< the file's name, for messages
  int64_t opset = 17;
};

/// The nx dtype of an ONNX TensorProto.DataType; throws nx::Error (naming `where`) for types nx
/// lacks (string, complex, float8).
nx::DType dtype_from_onnx(int32_t elem_type, const std::string& where);
/// The ONNX name of a TensorProto.DataType ("FLOAT", "STRING"), for messages.
std::string onnx_type_name(int32_t elem_type);

/// Decodes a TensorProto (raw_data, typed fields or external data); checks that the data fills
/// the shape exactly. `where` names it in messages.
nx::Tensor tensor_from_proto(const ::onnx::TensorProto& t, const ImportContext& ctx,
                             const std::string& where);

/// The names a graph reads from its enclosing scopes: used by its nodes (and their nested
/// graphs) but defined by none of its inputs, initializers or nodes.
std::set<std::string> free_variables(const ::onnx::GraphProto& g);

/// Values visible to a node by ONNX name.
using Env = std::map<std::string, nx::Tensor>;

/// Runs one node: builds its OpCall from `inputs` (empty tensors for missing optional inputs)
/// and `outer` (what nested graphs may read), calls its converter and returns its outputs
/// (at least as many as the node's non-empty output names need). Errors name the node.
std::vector<nx::Tensor> run_node(const ::onnx::NodeProto& node, const std::string& name,
                                 const std::vector<nx::Tensor>& inputs,
                                 std::shared_ptr<const Env> outer,
                                 std::shared_ptr<const ImportContext> ctx);

/// A runnable nested graph (If/Loop/Scan bodies) reading outer-scope values from `outer`.
Subgraph make_subgraph(const ::onnx::GraphProto& g, std::shared_ptr<const Env> outer,
                       std::shared_ptr<const ImportContext> ctx);

/// Checks that a node's op is one the importer converts (default domain, in the table, and
/// `opset` no older than the converter's since_opset); throws nx::Error naming the node, op and
/// opset otherwise. Recurses into graph attributes.
void check_node_supported(const ::onnx::NodeProto& node, const std::string& name,
                          const std::string& what, int64_t opset);

/// The model of a parsed file (graph_builder.cpp): inputs, parameters, one layer per node and
/// the outputs. Fills everything of Imported but opset and producer.
axon::onnx::Imported build_graph(std::shared_ptr<const ImportContext> ctx,
                                 const axon::onnx::ImportOptions& opts);

/// A name usable as a model-state path part: '.' (the path separator) and braces (the
/// layer-name counter syntax) become '_'; an empty name becomes "_".
std::string sanitize_name(const std::string& name);

}  // namespace axon::onnx_import
