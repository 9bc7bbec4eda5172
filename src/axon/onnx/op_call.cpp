// OpCall: what a converter sees of one node (inputs, attributes, nested graphs), and run_node,
// which calls a node's converter and names the node in whatever goes wrong.
#include <cstring>
#include <set>

#include "axon/onnx/importer.hpp"
#include "nx/defn/trace.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace axon::onnx_import {

using ::onnx::AttributeProto;

namespace {

// The import whose node is running on this thread (run_node sets it): attr_tensor reads
// external data relative to its directory. Nested nodes (subgraphs) restore the outer one.
thread_local const ImportContext* current_context = nullptr;

struct ContextScope {
  const ImportContext* saved;
  explicit ContextScope(const ImportContext* c) : saved(current_context) { current_context = c; }
  ~ContextScope() { current_context = saved; }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;
};

const AttributeProto* find_attr(const OpCall& c, const std::string& name) {
  for (const AttributeProto* a : c.attrs_) {
    if (a->name() == name) return a;
  }
  return nullptr;
}

const char* attr_type_name(int t) {
  switch (t) {
    case AttributeProto::FLOAT:
      return "a float";
    case AttributeProto::INT:
      return "an int";
    case AttributeProto::STRING:
      return "a string";
    case AttributeProto::TENSOR:
      return "a tensor";
    case AttributeProto::GRAPH:
      return "a graph";
    case AttributeProto::FLOATS:
      return "floats";
    case AttributeProto::INTS:
      return "ints";
    case AttributeProto::STRINGS:
      return "strings";
    case AttributeProto::TENSORS:
      return "tensors";
    case AttributeProto::GRAPHS:
      return "graphs";
    case AttributeProto::SPARSE_TENSOR:
      return "a sparse tensor";
    default:
      return "an undefined type";
  }
}

const AttributeProto* typed_attr(const OpCall& c, const std::string& name, int type) {
  const AttributeProto* a = find_attr(c, name);
  if (a && a->type() != type) {
    // Files written without the type field (old exporters) still say which value is set.
    bool inferable = a->type() == AttributeProto::UNDEFINED;
    if (!inferable) {
      c.fail("attribute " + name + " must be " + attr_type_name(type) + ", got " +
             attr_type_name(a->type()));
    }
  }
  return a;
}

// Whether a node can be folded at trace time: it reads at least one tensor, all of them
// concrete (constants, initializers, shapes and what is computed from them), it has no nested
// graph (whose outer-scope reads may be traced) and it draws no random numbers (folding would
// freeze one draw into the compiled code).
bool foldable(const ::onnx::NodeProto& node, const std::vector<nx::Tensor>& inputs) {
  static const std::set<std::string> random = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
      "Multinomial",  "Bernoulli",     "Dropout"};
  if (random.count(node.op_type())) return false;
  for (const auto& a : node.attribute()) {
    if (a.has_g() || a.graphs_size() > 0) return false;
  }
  bool any = false;
  for (const nx::Tensor& t : inputs) {
    if (!t.defined()) continue;
    if (t.is_traced()) return false;
    any = true;
  }
  return any;
}

}  // namespace

const nx::Tensor& OpCall::input(size_t i) const {
  if (!has_input(i)) {
    fail("input " + std::to_string(i) + " is required but " +
         (i < inputs_.size()
              ? std::string("empty")
              : "not given (the node has " + std::to_string(inputs_.size()) + " inputs)"));
  }
  return inputs_[i];
}

const nx::Tensor& OpCall::concrete(size_t i) const {
  const nx::Tensor& t = input(i);
  if (t.is_traced()) {
    fail("input " + std::to_string(i) +
         " must be known when the model is compiled (a constant, an initializer or a value "
         "computed from shapes), but it is computed from the model's data");
  }
  return t;
}

std::vector<int64_t> OpCall::ints_input(size_t i) const {
  const nx::Tensor& t = concrete(i);
  if (!nx::is_integer(t.dtype())) {
    fail("input " + std::to_string(i) + " must be an integer tensor, got " +
         std::string(nx::dtype_name(t.dtype())));
  }
  return t.to_vector<int64_t>();
}

bool OpCall::has_attr(const std::string& name) const {
  return find_attr(*this, name) != nullptr;
}

int64_t OpCall::attr_int(const std::string& name, int64_t fallback) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::INT);
  return a ? a->i() : fallback;
}

double OpCall::attr_float(const std::string& name, double fallback) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::FLOAT);
  return a ? a->f() : fallback;
}

std::string OpCall::attr_string(const std::string& name, const std::string& fallback) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::STRING);
  return a ? a->s() : fallback;
}

std::vector<int64_t> OpCall::attr_ints(const std::string& name,
                                       const std::vector<int64_t>& fallback) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::INTS);
  if (!a) return fallback;
  return {a->ints().begin(), a->ints().end()};
}

std::vector<double> OpCall::attr_floats(const std::string& name,
                                        const std::vector<double>& fallback) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::FLOATS);
  if (!a) return fallback;
  return {a->floats().begin(), a->floats().end()};
}

std::vector<std::string> OpCall::attr_strings(const std::string& name) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::STRINGS);
  if (!a) return {};
  return {a->strings().begin(), a->strings().end()};
}

std::optional<nx::Tensor> OpCall::attr_tensor(const std::string& name) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::TENSOR);
  if (!a) return std::nullopt;
  if (!a->has_t()) fail("attribute " + name + " has no tensor");
  ImportContext none;  // outside an import (a converter's own test): no external data
  try {
    return tensor_from_proto(a->t(), current_context ? *current_context : none,
                             "attribute " + name);
  } catch (const nx::Error& e) {
    fail(e.what());
  }
}

Subgraph OpCall::attr_graph(const std::string& name) const {
  const AttributeProto* a = typed_attr(*this, name, AttributeProto::GRAPH);
  if (!a || !a->has_g()) fail("graph attribute " + name + " is missing");
  if (!make_subgraph_) fail("graph attribute " + name + " cannot be run here");
  return make_subgraph_(a->g());
}

void OpCall::fail(const std::string& what) const {
  throw nx::Error(op_type_ + " node " + name_ + ": " + what);
}

std::vector<nx::Tensor> run_node(const ::onnx::NodeProto& node, const std::string& name,
                                 const std::vector<nx::Tensor>& inputs,
                                 std::shared_ptr<const Env> outer,
                                 std::shared_ptr<const ImportContext> ctx) {
  OpCall call;
  call.op_type_ = node.op_type();
  call.name_ = name;
  call.opset_ = ctx->opset;
  call.inputs_ = inputs;
  call.num_outputs_ = static_cast<size_t>(node.output_size());
  call.attrs_.reserve(node.attribute_size());
  for (const auto& a : node.attribute()) call.attrs_.push_back(&a);
  call.make_subgraph_ = [outer, ctx](const ::onnx::GraphProto& g) {
    return make_subgraph(g, outer, ctx);
  };
  const OpEntry* entry = find_op(node.op_type());
  if (!entry) call.fail("no converter for op type " + node.op_type());
  std::vector<nx::Tensor> outs;
  ContextScope scope(ctx.get());
  std::string prefix = call.op_type_ + " node " + name + ":";
  try {
    if (foldable(node, inputs)) {
      // Shape arithmetic on concrete values runs now, so that Reshape, Expand, Slice and
      // Resize see concrete settings (nx records every op while a trace is active).
      nx::detail::SuspendTracing eager;
      outs = entry->convert(call);
    } else {
      outs = entry->convert(call);
    }
  } catch (const nx::Error& e) {
    std::string msg = e.what();
    if (msg.find(prefix) != std::string::npos) throw;
    call.fail(msg);
  }
  // Converters may compute optional outputs the node does not declare: drop them.
  if (outs.size() > call.num_outputs_) outs.resize(call.num_outputs_);
  for (int i = 0; i < node.output_size(); ++i) {
    if (node.output(i).empty()) continue;
    if (static_cast<size_t>(i) >= outs.size() || !outs[i].defined()) {
      call.fail("output " + std::to_string(i) + " (" + node.output(i) +
                ") is used but the converter does not compute it");
    }
  }
  return outs;
}

}  // namespace axon::onnx_import
