// Exporting an axon model to ONNX (opset 17).
//
//   auto x = axon::input("x", {axon::kDynamic, 784});
//   auto y = axon::dense(axon::dense(x, 128, {.activation = "relu"}), 10);
//   axon::ModelState s = axon::init(y, nx::make_template({1, 784}, nx::f32));
//   axon::onnx::export_onnx(y, s, "mlp.onnx");   // input "x": float[batch][784]
//
// The exporter does not know layers: it traces the model's inference-mode predict into nx's
// graph of primitives (the unoptimised trace) and writes one or a few ONNX nodes per primitive,
// so every layer, built-in or user-written, exports with no per-layer code. Parameters become
// initializers named by their state path ("dense_0.kernel"); parameters the inference graph
// does not read (dropout keys) are left out. Control flow (while_loop, cond, scan) becomes
// Loop/If subgraphs.
//
// Dynamic batch: inputs declared with kDynamic as their first dim get the symbolic dim "batch".
// The model is traced at two batch sizes and every shape that depends on the batch (reshape
// targets, broadcast shapes, slice bounds, splat constants) is written as an affine function of
// the input's batch size computed in the graph. When the graph bakes the batch into something
// that cannot be expressed that way, the export falls back to a fixed batch (ExportResult says
// so and why).
//
// Primitives with no exact ONNX equivalent (e.g. erf_inv, bitcast, random bits, interior
// padding, window products) throw nx::Error naming the primitive.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "axon/model.hpp"
#include "axon/model_state.hpp"
#include "nx/tree.hpp"

namespace axon::onnx {

/// Options of export_onnx.
struct ExportOptions {
  int64_t opset = 17;  ///< only 17 is supported
  /// Input templates (nx::make_template): one tensor for a single-input model or a map from input
  /// name to template. Empty: the declared input shapes with kDynamic dims set to 1 (only the
  /// first dim may be kDynamic then).
  nx::Tree input_templates = nx::Tree();
  bool dynamic_batch = true;        ///< keep a kDynamic first input dim symbolic ("batch")
  std::string producer = "axon";    ///< ModelProto.producer_name
  std::string graph_name = "axon";  ///< GraphProto.name
};

/// What export_onnx_model made.
struct ExportResult {
  std::string bytes;           ///< the serialized ModelProto
  bool dynamic_batch = false;  ///< whether the batch dim is symbolic in the file
  std::string note;            ///< why the batch was fixed (empty when it was not)
};

/// Exports `model` with `state` as an ONNX model; the serialized bytes and how it went.
ExportResult export_onnx_model(const Model& model, const ModelState& state,
                               const ExportOptions& opts = {});
/// The serialized ONNX ModelProto of `model` with `state`.
std::string export_onnx_bytes(const Model& model, const ModelState& state,
                              const ExportOptions& opts = {});
/// Writes the ONNX model to `path` (throws nx::Error when the file cannot be written).
void export_onnx(const Model& model, const ModelState& state, const std::filesystem::path& path,
                 const ExportOptions& opts = {});

}  // namespace axon::onnx
