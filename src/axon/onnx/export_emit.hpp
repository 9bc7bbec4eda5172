// The ONNX exporter's emitter: writes nx graphs of primitives as ONNX nodes (internal).
//
// A graph is emitted from two traces of the same model at two batch sizes (kBatchA, kBatchB);
// they have the same nodes, and where a shape differs between them the dim is the affine function
// a * batch + c of the batch size, which the emitter computes in the graph (from the tensor named
// Emitter::batch). Without a dynamic batch both traces are the same graph.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "nx/defn/graph.hpp"

namespace axon::onnx::detail {

using nx::detail::Graph;
using nx::detail::Node;

inline constexpr int64_t kBatchA = 2;
inline constexpr int64_t kBatchB = 3;

/// Thrown when the batch size cannot stay symbolic (the caller exports a fixed batch instead).
struct NotDynamic : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The ONNX element type of an nx dtype.
int32_t onnx_dtype(nx::DType t);
/// A TensorProto of a concrete tensor.
void to_tensor_proto(const nx::Tensor& t, const std::string& name, ::onnx::TensorProto* out);

inline void attr_i(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void attr_ints(::onnx::NodeProto* n, const std::string& name,
                      const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
inline void attr_s(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

/// Throws nx::Error naming the primitive that has no ONNX form.
[[noreturn]] void unsupported(nx::detail::Prim p, const std::string& why);

class Emitter {
 public:
  /// `main` receives initializers; `dynamic`: whether dims may depend on the batch; `batch`
  /// names an int64[1] tensor holding the batch size (defined when dynamic).
  Emitter(::onnx::GraphProto* main, bool dynamic, std::string batch)
      : main_(main), dynamic_(dynamic), batch_(std::move(batch)) {}

  /// Emits `a` (and its twin `b`) into `g`; Param i reads params[i]. Returns the names of the
  /// graph's outputs (not copied: they may be params).
  std::vector<std::string> emit_graph(const Graph& a, const Graph& b, ::onnx::GraphProto* g,
                                      const std::vector<std::string>& params);

  /// Fills a ValueInfo with the type of value `v` (dims that differ between a and b symbolic).
  void set_type(::onnx::ValueInfoProto* vi, const nx::TensorType& a, const nx::TensorType& b) const;

  /// A fresh unique name.
  std::string fresh(const std::string& prefix);

  /// One graph being emitted: the twin traces, the proto and the value names.
  struct Ctx {
    const Graph& a;
    const Graph& b;
    ::onnx::GraphProto* g;
    std::vector<std::string> names;
    std::map<std::string, std::string> ints_cache;  ///< batch-dependent vectors of this graph
    std::vector<nx::Tensor> known;  ///< per value: its concrete value when it is a constant
    const std::string& in(const Node& n, size_t i) const {
      return names[static_cast<size_t>(n.in[i])];
    }
    const nx::TensorType& ta(int32_t v) const { return a.type(v); }
    const nx::TensorType& tb(int32_t v) const { return b.type(v); }
  };

 private:
  std::vector<std::string> emit_node(Ctx& c, const Node& na, const Node& nb);
  /// Start indices of a dynamic slice (inputs first..), clamped to [0, limit]: known values
  /// when they are constants, else an int64 vector the graph computes.
  struct Starts {
    bool known = false;
    std::vector<int64_t> a, b;
    std::string name;
  };
  Starts clamped_starts(Ctx& c, const Node& na, size_t first, const std::vector<int64_t>& la,
                        const std::vector<int64_t>& lb);
  bool fold(Ctx& c, const Node& na, const Node& nb, std::vector<std::string>& outs);
  std::vector<std::string> emit_prim(Ctx& c, const Node& na, const Node& nb);
  std::vector<std::string> emit_window(Ctx& c, const Node& na, const Node& nb);
  std::vector<std::string> emit_index(Ctx& c, const Node& na, const Node& nb);
  std::vector<std::string> emit_control(Ctx& c, const Node& na, const Node& nb);
  std::vector<std::string> emit_cumulative(Ctx& c, const Node& na, const Node& nb);

 public:
  /// Adds a node to the current graph; returns its first output.
  ::onnx::NodeProto* add(Ctx& c, const std::string& op, const std::vector<std::string>& in,
                         const std::vector<std::string>& out);
  std::string op1(Ctx& c, const std::string& op, const std::vector<std::string>& in);
  /// An int64 vector: an initializer when a == b, else computed from the batch size.
  std::string ints(Ctx& c, const std::vector<int64_t>& a, const std::vector<int64_t>& b);
  std::string ints(Ctx& c, const std::vector<int64_t>& a) { return ints(c, a, a); }
  /// A scalar constant initializer of dtype t.
  std::string scalar(double v, nx::DType t);
  std::string int_scalar(int64_t v);
  /// v reshaped to sa (twin sb), with -1 for a single batch-dependent dim.
  std::string reshape_to(Ctx& c, const std::string& v, const nx::Shape& sa, const nx::Shape& sb);
  /// v broadcast to shape a (twin b).
  std::string expand(Ctx& c, const std::string& v, const nx::Shape& a, const nx::Shape& b,
                     nx::DType dt);
  std::string initializer(const nx::Tensor& t, const std::string& prefix);

 private:
  ::onnx::GraphProto* main_;
  bool dynamic_;
  std::string batch_;
  int64_t counter_ = 0;
  std::map<std::string, std::string> const_cache_;
};

}  // namespace axon::onnx::detail
