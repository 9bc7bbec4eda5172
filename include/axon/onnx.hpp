// axon::onnx: importing ONNX models as axon models that predict, compile and train.
//
//   axon::onnx::Imported m = axon::onnx::import_file("mlp.onnx");
//   // m.inputs == {"x"}, m.outputs == {"y"}, m.opset == 13; x is declared f32[?, 784]
//   auto [init_fn, predict_fn] = axon::build(m.model);
//   nx::Tensor y = predict_fn(m.state, nx::random::uniform(key, {7, 784})).leaf();  // any batch
//
//   // Fine-tuning: the weights are trainable parameters, so any training loop works.
//   auto loop = axon::loop::trainer(m.model, "mean_squared_error",
//                                   axon::optim::adam({.learning_rate = 1e-3}));
//   axon::ModelState tuned = loop.run(loader, m.state, {.epochs = 3}).model_state();
//
// Semantics of the import:
// - One axon layer per ONNX node (named after the node, or "<op_type>_<n>" when it has none;
//   '.' becomes '_', since model state paths use '.' as their separator). A node with several
//   outputs returns a list; axon::elem nodes pick the outputs other nodes use.
// - Graph inputs that are not initializers become axon::input nodes named as in the file, with
//   their element type and shape; a symbolic or unknown dimension (dim_param, no dim_value) is
//   axon::kDynamic, so a model exported with a symbolic batch runs at any batch size.
//   ImportOptions::input_shapes overrides declared shapes. Predict checks the declared dims.
// - Initializers used as weights (floating point, rank >= 1, consumed by exactly one node in
//   an input that is data rather than a setting such as Resize's scales or Clip's bounds) become
//   that layer's parameters, named after the initializer: state[node][initializer] in
//   Imported::state, all trainable. BatchNormalization's mean and variance become state (not
//   trained). Every other initializer (integers, scalars, shared weights, settings) is an
//   axon::constant, concrete when the model is traced, so shapes computed from it are static.
// - Shapes are static in a trace: Shape gives a concrete tensor and shape arithmetic runs
//   eagerly, so Reshape/Slice/Expand/Resize read their settings at trace time.
// - Graph outputs: the single output's tensor, or a map from output name to tensor.
// - Opsets 1 to 17 of the default domain (""/"ai.onnx"). Each converter implements its op from
//   some opset on (most from the op's first version; e.g. PRelu, RNNs and Upsample from 7, Cast
//   and Tile from 6): a node of another domain, an op the table lacks (supported_operators()),
//   an op older than its converter or an opset outside that range is an nx::Error at import.
// - Element types: float, double, float16, bfloat16, int8..int64, uint8..uint64 and bool;
//   tensor data in raw_data or the typed fields, or in external files (data_location EXTERNAL,
//   "location"/"offset"/"length" relative to the model's directory, which must stay inside it).
// - Malformed, truncated or inconsistent files (a tensor whose data does not fill its shape, an
//   external range past the file's end) throw nx::Error naming the file; nothing crashes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "axon/model.hpp"
#include "axon/model_state.hpp"
#include "nx/shape.hpp"

namespace axon::onnx {

/// Options of import_file and import_bytes.
struct ImportOptions {
  /// Shapes to declare for inputs by name (fixing symbolic dims, or overriding declared ones;
  /// kDynamic keeps a dim dynamic). The rank may differ from the file's.
  std::map<std::string, nx::Shape> input_shapes = {};
  /// False: every initializer is a constant (no parameters; Imported::state is empty).
  bool trainable_initializers = true;
  /// Files larger than this are refused (protobuf's own limit is 2 GiB).
  int64_t max_bytes = int64_t{2} * 1024 * 1024 * 1024 - 1;
};

/// An imported model.
struct Imported {
  Model model;                       ///< the graph: one layer per ONNX node
  ModelState state;                  ///< the initializers that became parameters (trainable)
  std::vector<std::string> inputs;   ///< input names, in the file's order
  std::vector<std::string> outputs;  ///< output names, in the file's order
  int64_t opset = 0;                 ///< the default domain's opset the model imports
  std::string producer;              ///< producer_name and producer_version ("pytorch 1.13.1")
};

/// Imports an ONNX file; external data is read relative to its directory.
Imported import_file(const std::filesystem::path& path, const ImportOptions& opts = {});
/// Imports a serialized ModelProto; external data is read relative to `base_dir` (empty: a
/// model with external data is refused). `what` names the source in error messages.
Imported import_bytes(std::span<const uint8_t> bytes, const ImportOptions& opts = {},
                      const std::filesystem::path& base_dir = {},
                      const std::string& what = "<bytes>");

/// The op types the importer converts, sorted.
std::vector<std::string> supported_operators();

}  // namespace axon::onnx
