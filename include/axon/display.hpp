// Displaying models (Axon.Display): a summary table with every layer's input and output shapes,
// options and parameters; the graph as Mermaid or Graphviz; short printed forms of a model and
// of a model state.
//
//   auto x = axon::input("x", {axon::kDynamic, 784});
//   auto y = axon::dense(axon::dense(x, 128, {.activation = "relu"}), 10);
//   std::cout << axon::summary(y, nx::make_template({1, 784}, nx::f32));
//   // +--------------------------------------------------------------- ...
//   // | Layer              | Input Shape(s)        | Output Shape  | ...
//   // | dense_0 ( dense )  | x: f32[1][784]        | f32[1][128]   | ...
//   // Total Parameters: 101770
//   // Total Parameters Memory: 407.08 kilobytes
//   std::cout << axon::as_mermaid(y);  // graph TD; ... paste into any Mermaid renderer
//   std::cout << y;                    // #Axon< inputs: {"x": [?, 784]} outputs: "dense_1" nodes:
//   4 >
//
// Shapes come from tracing the model once (nx::jit) on the templates: nothing heavy runs, and
// every kind of model works (several inputs, container or recurrent tree outputs, dropout).
#pragma once

#include <iosfwd>
#include <string>

#include "axon/model.hpp"
#include "axon/model_state.hpp"
#include "nx/tree.hpp"

namespace axon {

/// Options of summary.
struct SummaryOptions {
  /// The mode traced: Inference (train-only layers such as dropout pass their input through)
  /// or Train.
  Mode mode = Mode::Inference;
  /// Draw the table with Unicode box-drawing characters instead of ASCII.
  bool unicode = false;
};
/// A table of the model's layers (parents first): Layer ("name ( op )"), Input Shape(s) (parent
/// name: type), Output Shape, Options and Parameters, followed by the total number of
/// parameters and their memory (decimal units, as Axon). `input_templates` are what init_fn
/// takes: a tensor or template for a single input, or a map by input name.
std::string summary(const Model& model, const nx::Tree& input_templates, SummaryOptions opts = {});

/// Direction of a Mermaid flowchart.
enum class GraphDirection { TopDown, LeftRight };

/// Options of as_mermaid and as_dot.
struct GraphOptions {
  GraphDirection direction = GraphDirection::TopDown;
  /// When set (not an empty map), nodes are also labelled with their output types, traced
  /// from these input templates.
  nx::Tree input_templates = nx::Tree();
};
/// The graph as a Mermaid flowchart: inputs as parallelograms, other nodes labelled
/// "name (op)", one edge per parent.
std::string as_mermaid(const Model& model, const GraphOptions& opts = {});
/// The graph in Graphviz dot: inputs as parallelograms, nodes labelled "name (op)".
std::string as_dot(const Model& model, const GraphOptions& opts = {});

/// `#Axon< inputs: {"x": [?, 784]} outputs: "dense_1" nodes: 4 >`.
std::ostream& operator<<(std::ostream& os, const Model& model);
/// The counts and sizes of a state's parameters, trainable parameters and trainable state,
/// as Axon's ModelState inspect.
std::ostream& operator<<(std::ostream& os, const ModelState& state);

/// A byte count in decimal units: "512 bytes", "407.08 kilobytes", "1.2 megabytes".
std::string format_memory(int64_t bytes);

}  // namespace axon
