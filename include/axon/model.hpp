// axon::Model: a neural network as data. A model is an immutable graph of layer nodes; building
// one computes nothing. Initialising and predicting are two compilations of the graph
// (axon/compiler.hpp).
//
//   auto x = axon::input("image", {axon::kDynamic, 28, 28, 1});
//   auto h = axon::flatten(x);
//   h = axon::dense(h, 128, {.activation = "relu"});
//   auto y = axon::dense(h, 10, {.activation = "softmax"});
//   auto [init_fn, predict_fn] = axon::build(y);
//   axon::ModelState state = init_fn(nx::make_template({1, 28, 28, 1}, nx::f32));
//   nx::Tensor probs = predict_fn(state, images).leaf();
//
// Every built-in layer is made with axon::layer, the path user layers take too: a function of
// the layer's inputs and declared parameters (any traceable nx code), with parameter shapes given
// as rules over the input shapes. Users compose their own blocks as plain C++ functions of Model.
//
// A node records where the user built it (SourceLocation); errors raised while compiling
// or running a layer name the layer, its op and that place, as Axon.CompileError does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include "axon/source_location.hpp"
#include <string>
#include <utility>
#include <vector>

#include "axon/fn/common.hpp"
#include "axon/fn/initializers.hpp"
#include "nx/tensor.hpp"
#include "nx/tree.hpp"

namespace axon {

using fn::Mode;
using nx::Tensor;
using nx::Tree;

/// An input dimension known only when the model runs (Axon's nil), e.g. the batch size.
inline constexpr int64_t kDynamic = -1;

/// Whether a parameter is trained (Parameter) or updated by the forward pass in train mode
/// (State: batch-norm statistics, dropout keys).
enum class ParamKind { Parameter, State };

/// A parameter's shape from the shapes of its layer's inputs (inputs that are not tensors give
/// an empty shape).
using ShapeRule = std::function<nx::Shape(const std::vector<nx::Shape>& input_shapes)>;

/// Options of param.
struct ParamOptions {
  fn::init::Initializer initializer = fn::init::glorot_uniform();  ///< Axon's default
  nx::DType dtype = nx::f32;
  ParamKind kind = ParamKind::Parameter;
};

/// A parameter declared by a layer: stored in the model state as state[layer][name].
struct Param {
  std::string name;
  ShapeRule shape;
  fn::init::Initializer initializer;
  nx::DType dtype = nx::f32;
  ParamKind kind = ParamKind::Parameter;
};
/// A parameter of a fixed shape.
Param param(std::string name, nx::Shape shape, ParamOptions opts = {});
/// A parameter whose shape depends on the layer's input shapes.
Param param(std::string name, ShapeRule shape, ParamOptions opts = {});

/// What a layer's function receives when the model runs (or is traced).
struct LayerCall {
  std::vector<Tree> inputs;   ///< the parents' outputs, in order (a tensor leaf for most)
  std::vector<bool> present;  ///< false where an optional input is missing (Axon's None)
  Tree params;                ///< this layer's parameters and state, by name
  Mode mode = Mode::Inference;
  std::string name;  ///< the layer's resolved name (for hooks and messages)

  /// Input i as a tensor (throws nx::Error naming the layer if it is not one).
  const Tensor& input(size_t i) const;
  /// Parameter `name` (throws nx::Error naming the layer if it has none of that name).
  const Tensor& param(const std::string& name) const;
};

/// What a layer's function returns: its output, and in train mode the new values of its
/// State parameters by name (e.g. {"mean", "var"}; empty when nothing changes).
struct LayerResult {
  Tree output;
  Tree state = Tree();
};

/// A layer's computation.
using LayerFn = std::function<LayerResult(const LayerCall& call)>;

/// In which build modes a node computes: Both, or Train only (in inference it passes its first
/// input through, as Axon removes dropout), or Inference only (passes through in training).
enum class NodeMode { Both, Train, Inference };

/// What kind of node this is; the compiler treats the special ones specially.
enum class NodeKind { Layer, Input, Constant, Container, Elem, Optional, Namespace, Block };

class Model;

namespace mixed_precision {
/// A mixed precision policy (Axon.MixedPrecision.Policy): the dtype parameters are stored in,
/// the dtype a layer computes in (its inputs and parameters are cast to it), and the dtype of
/// its output. Each unset means "no cast". Only floating-point tensors are ever cast.
/// axon/mixed_precision.hpp has create_policy and apply_policy.
struct Policy {
  std::optional<nx::DType> params = std::nullopt;
  std::optional<nx::DType> compute = std::nullopt;
  std::optional<nx::DType> output = std::nullopt;
};
}  // namespace mixed_precision

/// Events a hook can run on (Axon's attach_hook `on:`).
enum class HookEvent { Forward, Backward, PreForward };

/// A hook attached to a node: `fn` sees the layer's output (Forward), the gradient reaching the
/// output (Backward) or each input (PreForward).
struct Hook {
  std::function<void(const Tree&)> fn;
  HookEvent on = HookEvent::Forward;
  NodeMode mode = NodeMode::Both;
};

/// Input descriptor of an input node.
struct InputSpec {
  nx::Shape shape;  ///< may contain kDynamic; empty with has_shape false: any shape
  bool has_shape = false;
  bool optional = false;  ///< a missing value becomes None instead of an error
  nx::DType dtype = nx::f32;
};

/// One immutable node of a model graph.
struct Node {
  int64_t id = 0;
  NodeKind kind = NodeKind::Layer;
  std::string name;     ///< given name ("" = "<op_name>_<n>" at build; "{n}" is replaced)
  std::string op_name;  ///< "dense", "conv", "input", ...
  std::vector<Model> parents;
  std::vector<Param> params;
  LayerFn fn;  ///< Layer kinds: the computation
  NodeMode mode = NodeMode::Both;
  /// Options shown by the summary table: (name, printed value).
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<Hook> hooks;
  SourceLocation where;
  InputSpec input;                     ///< Input nodes
  Tensor constant;                     ///< Constant nodes
  Tree container_keys;                 ///< Container nodes: the output tree's structure
  std::vector<std::string> elem_path;  ///< Elem nodes: the path into the parent's output tree
  std::shared_ptr<const void> sub;     ///< Namespace/Block nodes: their inner graph
  /// Layer nodes: the mixed precision policy set by mixed_precision::apply_policy (unset: none).
  std::optional<mixed_precision::Policy> policy = std::nullopt;
};

/// A handle to the node that produces a model's output, and through its parents to the whole
/// graph. Cheap to copy; immutable.
class Model {
 public:
  Model() = default;
  explicit Model(std::shared_ptr<const Node> node) : node_(std::move(node)) {}

  /// The output node.
  const Node& node() const;
  /// Whether this handle refers to a node.
  bool valid() const { return node_ != nullptr; }
  /// The node's id (unique in the process).
  int64_t id() const { return node().id; }
  /// The node shared pointer (for graph tools).
  const std::shared_ptr<const Node>& ptr() const { return node_; }

 private:
  std::shared_ptr<const Node> node_;
};

// ---- special nodes ------------------------------------------------------------------------------

/// Options of input.
struct InputOptions {
  bool optional = false;      ///< missing at predict time -> None (see optional())
  nx::DType dtype = nx::f32;  ///< the dtype templates get when only a shape is given
};
/// A named input with a shape whose unknown dims are kDynamic. Names must be unique in a model;
/// predict addresses inputs by name (or takes a single tensor when there is one input).
Model input(std::string name, nx::Shape shape, InputOptions opts = {},
            SourceLocation where = SourceLocation::current());
/// A named input of any shape.
Model input(std::string name, InputOptions opts = {},
            SourceLocation where = SourceLocation::current());

/// Options shared by the special nodes.
struct NodeOptions {
  std::string name = {};
};
/// A constant tensor (no parameters).
Model constant(Tensor value, NodeOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// A multi-output node: its output is a list of the given models' outputs.
Model container(std::vector<Model> outputs, NodeOptions opts = {},
                SourceLocation where = SourceLocation::current());
/// A multi-output node whose output is a map from the given names.
Model container(std::vector<std::pair<std::string, Model>> outputs, NodeOptions opts = {},
                SourceLocation where = SourceLocation::current());
/// Element i of a list output (a container, a recurrent layer's {sequence, carry}).
Model elem(const Model& x, size_t i, NodeOptions opts = {},
           SourceLocation where = SourceLocation::current());
/// Entry `key` of a map output.
Model elem(const Model& x, const std::string& key, NodeOptions opts = {},
           SourceLocation where = SourceLocation::current());

/// Options of layer.
struct LayerOptions {
  std::string name = {};
  std::string op_name = "custom";
  NodeMode mode = NodeMode::Both;
  std::vector<Param> params = {};
  std::vector<std::pair<std::string, std::string>> options = {};  ///< for display
};
/// A layer: any traceable function of its inputs and declared parameters. The built-in layers
/// are made with this same function.
Model layer(LayerFn fn, std::vector<Model> inputs, LayerOptions opts = {},
            SourceLocation where = SourceLocation::current());
/// A parameterless layer applying an nx function to one input (Axon.nx).
Model nx_layer(const Model& x, std::function<Tensor(const Tensor&)> f, NodeOptions opts = {},
               SourceLocation where = SourceLocation::current());

/// Marks x so that a missing (None) value reaches its consumer instead of making it None too.
Model optional(const Model& x, NodeOptions opts = {},
               SourceLocation where = SourceLocation::current());
/// `a` unless it is None, else `b`.
Model or_else(const Model& a, const Model& b, NodeOptions opts = {},
              SourceLocation where = SourceLocation::current());

/// A sub-graph whose parameters nest under `name` in the model state (state[name][layer]...),
/// so that it can be initialised from given parameters (fine-tuning a pre-trained part).
Model namespace_(const Model& inner, std::string name,
                 SourceLocation where = SourceLocation::current());

/// A function of models whose every call shares one parameter set, stored under the block's
/// name (Axon.block): `auto shared = axon::block(f, 1); auto a = shared({x}); auto b =
/// shared({y});`
class Block {
 public:
  /// Applies the block to inputs (as many as its arity).
  Model operator()(std::vector<Model> inputs,
                   SourceLocation where = SourceLocation::current()) const;
  /// The shared definition (for the compiler).
  const std::shared_ptr<const void>& definition() const { return def_; }

 private:
  friend Block block(std::function<Model(const std::vector<Model>&)>, size_t, NodeOptions);
  std::shared_ptr<const void> def_;
};
/// A block of `arity` inputs built by `fn` (called once, on placeholders).
Block block(std::function<Model(const std::vector<Model>&)> fn, size_t arity,
            NodeOptions opts = {});

/// Attaches a hook to x's node (returns the new model; x is unchanged).
Model attach_hook(const Model& x, Hook hook);

}  // namespace axon
