// The ONNX operator table of the importer: one converter per ONNX op type, each a function of
// the node's input tensors and attributes that returns its output tensors using nx ops and
// axon::fn functions only (so an imported model traces, compiles and trains like any other).
//
// How a node runs: the importer turns every ONNX node into one axon layer. When the model is
// traced, the layer calls the op's converter with an OpCall: the input tensors in ONNX order
// (traced tensors for values computed by the graph; concrete tensors for constant inputs such
// as integer initializers, Constant nodes and everything computed from shapes), the attributes
// and the opset. Shapes are static in a trace, so `Shape` returns a concrete tensor, and the
// importer runs a node whose inputs are all concrete eagerly (under nx::detail::SuspendTracing:
// nx would otherwise record even ops on constants), so shape arithmetic (Gather, Concat,
// Unsqueeze on shapes) gives concrete results. A converter that needs a value at trace time
// (Reshape's shape, Slice's starts, Resize's sizes) asks for it with `call.concrete(i)` /
// `call.ints_input(i)`, which throw a clear error when the value is computed from data. That
// is how dynamic batch dimensions work (AxonOnnx #47).
//
// Converters live in src/axon/onnx/ops_<family>*.cpp; each family has one registration
// function (below) that the table calls once, explicitly: axon is a static library, and
// self-registering objects that nothing references would be dropped by the linker. A converter
// throws nx::Error for what it does not support (an attribute value, a dtype); the importer adds
// the node's name and op type.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nx/tensor.hpp"

namespace onnx {
class AttributeProto;
class GraphProto;
}  // namespace onnx

namespace axon::onnx_import {

/// A subgraph attribute (If/Loop/Scan bodies) ready to run: called with the body's inputs in
/// order, it returns the body's outputs in order. Outer-scope values it reads are bound already.
using Subgraph = std::function<std::vector<nx::Tensor>(const std::vector<nx::Tensor>&)>;

/// What a converter sees of one node.
class OpCall {
 public:
  /// The node's op type ("Conv") and name (for messages).
  const std::string& op_type() const { return op_type_; }
  const std::string& name() const { return name_; }
  /// The opset of the default domain the model imports.
  int64_t opset() const { return opset_; }

  /// Number of inputs listed by the node (including empty optional ones).
  size_t num_inputs() const { return inputs_.size(); }
  /// Whether input i is given (ONNX marks a missing optional input with an empty name).
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i].defined(); }
  /// Input i; throws nx::Error naming the node when it is missing.
  const nx::Tensor& input(size_t i) const;
  /// Input i as a concrete tensor (a constant at trace time); throws nx::Error explaining that
  /// the value must not depend on the model's data when it does.
  const nx::Tensor& concrete(size_t i) const;
  /// Input i's integer values (concrete), e.g. a shape or axes.
  std::vector<int64_t> ints_input(size_t i) const;
  /// The number of outputs the node declares (some may be unused: empty names).
  size_t num_outputs() const { return num_outputs_; }

  /// Attributes (ONNX defaults are the caller's `fallback`).
  bool has_attr(const std::string& name) const;
  int64_t attr_int(const std::string& name, int64_t fallback) const;
  double attr_float(const std::string& name, double fallback) const;
  std::string attr_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> attr_ints(const std::string& name,
                                 const std::vector<int64_t>& fallback = {}) const;
  std::vector<double> attr_floats(const std::string& name,
                                  const std::vector<double>& fallback = {}) const;
  std::vector<std::string> attr_strings(const std::string& name) const;
  /// A tensor attribute (Constant's value, ConstantOfShape's value); nullopt when absent.
  std::optional<nx::Tensor> attr_tensor(const std::string& name) const;
  /// A graph attribute (If's then_branch, Loop's body), runnable; throws when absent.
  Subgraph attr_graph(const std::string& name) const;

  /// Throws nx::Error("<op_type> node <name>: <what>").
  [[noreturn]] void fail(const std::string& what) const;

  // Set by the importer.
  std::string op_type_, name_;
  int64_t opset_ = 17;
  std::vector<nx::Tensor> inputs_;
  size_t num_outputs_ = 1;
  std::vector<const ::onnx::AttributeProto*> attrs_;
  /// Builds a runnable subgraph from a graph attribute (the importer's recursion).
  std::function<Subgraph(const ::onnx::GraphProto&)> make_subgraph_;
};

/// A converter: the node's outputs, in order (as many as num_outputs(); trailing optional
/// outputs that are unused may be left out).
using Converter = std::function<std::vector<nx::Tensor>(const OpCall& call)>;

/// One entry of the table.
struct OpEntry {
  std::string op_type;
  Converter convert;
  /// The oldest opset whose version of the op the converter implements (it implements every
  /// later one up to 17): a model of an older opset that uses the op is refused at import.
  int64_t since_opset = 1;
};

/// Registers a converter (called by the family registration functions below).
void register_op(OpEntry entry);
/// The converter for op_type, or nullptr.
const OpEntry* find_op(const std::string& op_type);
/// Every registered op type, sorted.
std::vector<std::string> supported_ops();

// The families, each defined in its own files (ops_math*.cpp, ops_tensor*.cpp, ops_nn*.cpp,
// ops_control*.cpp, ops_signal.cpp, ops_quant.cpp) and called once by the table.
void register_math_ops();     ///< elementwise, logic, comparison, cast, reductions, activations
void register_tensor_ops();   ///< shape, movement, indexing, creation, Resize, Einsum, TopK, ...
void register_nn_ops();       ///< Conv*, pools, normalisations, Gemm/MatMul, Softmax, RNNs, ...
void register_control_ops();  ///< If, Loop, Scan
void register_signal_ops();   ///< DFT, STFT, Hann/Hamming/BlackmanWindow, MelWeightMatrix
void register_quant_ops();    ///< Quantize/DequantizeLinear, MatMulInteger, QLinearConv, ...

}  // namespace axon::onnx_import
