// Tracing: recording the primitives a C++ function runs into a Graph.
//
// Each thread has a stack of frames. A recording frame (one per trace_function call) turns every
// bind into a graph node whose outputs are traced tensors (TensorImpl::trace = the frame's id).
// Inputs of a node are looked up in the top recording frame:
//   - its own traced tensors are its values;
//   - concrete tensors become Constant nodes;
//   - traced tensors of an enclosing recording frame are *captured*: they become extra Param
//     inputs of the inner graph, and Traced::captures lists them for the caller to pass in.
// A substitution frame maps the traced tensors of a finished trace to tensors of the current
// context (autodiff replays a traced graph and then runs user closures, such as custom_grad's vjp,
// that still hold the old traced tensors). A traced tensor of no live frame has escaped its trace
// and using it is an error.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

/// A function traced into a graph.
struct Traced {
  std::shared_ptr<Graph> graph;
  size_t num_params = 0;         ///< explicit parameters (graph inputs before the captures)
  std::vector<Tensor> captures;  ///< enclosing-trace tensors for the trailing graph inputs
  uint64_t id = 0;               ///< the trace id its traced tensors carry (for Substitution)
};

/// What a traced function receives (one traced tensor per parameter) and returns.
using TraceFn = std::function<std::vector<Tensor>(std::span<const Tensor> params)>;

/// Traces `f` over parameters of the given types (`weak[i]` marks a weakly typed scalar
/// parameter; may be empty). Runs f once on this thread.
Traced trace_function(std::span<const TensorType> params, const TraceFn& f,
                      std::span<const bool> weak = {});

/// True when this thread has any frame (bind's fast check).
bool tracing_active();
/// True when some recording frame is active on this thread.
bool recording();

/// While alive, this thread has no frames: binds run eagerly even inside a trace (the frames are
/// set aside and restored on destruction). For code whose inputs are all concrete, to fold it at
/// trace time (the ONNX importer's shape computations); a traced tensor used meanwhile is an
/// error (it has escaped).
class SuspendTracing {
 public:
  SuspendTracing();
  ~SuspendTracing();
  SuspendTracing(const SuspendTracing&) = delete;
  SuspendTracing& operator=(const SuspendTracing&) = delete;

 private:
  std::shared_ptr<void> saved_;
};

/// bind under tracing: resolves substitutions, then records a node into the top recording frame,
/// or runs eagerly when there is none.
std::vector<Tensor> trace_bind(Prim p, std::span<const Tensor> in, const Params& params);

/// Records a non-primitive node (StopGrad, CustomGrad, Hook, While, Cond, Scan, Fused) into the
/// top recording frame: `node` carries everything but in/out, which come from `inputs` and
/// `out_types`. Returns the traced outputs. Requires recording().
std::vector<Tensor> record_node(Node node, std::span<const Tensor> inputs,
                                std::span<const TensorType> out_types);

/// `t` with substitutions applied (unchanged when concrete or traced by a recording frame).
Tensor resolve(const Tensor& t);
/// Throws nx::Error unless `t` is concrete after resolve(); `what` names the caller.
Tensor resolve_concrete(const Tensor& t, std::string_view what);

/// While alive, traced tensors of the finished trace `trace_id` resolve to env[value].
class Substitution {
 public:
  Substitution(uint64_t trace_id, std::shared_ptr<const std::vector<Tensor>> env);
  ~Substitution();
  Substitution(const Substitution&) = delete;
  Substitution& operator=(const Substitution&) = delete;

 private:
  uint64_t id_;
};

}  // namespace nx::detail
