#include "trace.hpp"

#include <atomic>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>

#include "../backends/cpu/backend.hpp"
#include "../core/dispatch.hpp"
#include "../core/tensor_impl.hpp"

namespace nx::detail {

namespace {

std::atomic<uint64_t> g_next_trace_id{1};

struct Frame {
  uint64_t id = 0;
  bool recording = false;
  // Recording frames.
  Graph* graph = nullptr;
  std::unordered_map<const TensorImpl*, int32_t> constants;  // concrete tensor -> value
  std::map<std::pair<uint64_t, int32_t>, int32_t> captured;  // outer traced value -> value
  std::vector<Tensor>* captures = nullptr;
  std::vector<Tensor> constant_keepalive;  // keeps keys of `constants` alive
  // Substitution frames.
  std::shared_ptr<const std::vector<Tensor>> env;
};

thread_local std::vector<Frame*> t_frames;

Frame* find_frame(uint64_t id) {
  for (auto it = t_frames.rbegin(); it != t_frames.rend(); ++it) {
    if ((*it)->id == id) return *it;
  }
  return nullptr;
}

Frame* top_recording() {
  for (auto it = t_frames.rbegin(); it != t_frames.rend(); ++it) {
    if ((*it)->recording) return *it;
  }
  return nullptr;
}

[[noreturn]] void throw_escaped(const Tensor& t) {
  throw Error("nx: a traced tensor (" + type_string(t.type()) +
              ") was used outside the nx::jit, nx::grad or control-flow function that made it; "
              "return it from that function instead of storing it");
}

Tensor make_traced(const TensorType& type, uint64_t trace, int32_t value, bool weak = false) {
  auto impl = std::make_shared<TensorImpl>();
  impl->type = type;
  impl->trace = trace;
  impl->value = value;
  impl->weak = weak;
  return Tensor(std::move(impl));
}

// The value standing for (resolved) tensor t in recording frame f.
int32_t value_in(Frame& f, const Tensor& t) {
  const TensorImpl* impl = t.impl();
  if (impl->trace == f.id) return impl->value;
  if (impl->trace == 0) {
    if (impl->buffer == nullptr) {
      throw Error("nx: a template (" + type_string(t.type()) +
                  ") has no data and cannot be "
                  "used as a value in a traced function");
    }
    auto it = f.constants.find(impl);
    if (it != f.constants.end()) return it->second;
    Node n;
    n.kind = NodeKind::Constant;
    n.constant = t;
    int32_t v = f.graph->add_value(t.type());
    n.out = {v};
    f.graph->add_node(std::move(n));
    f.constants.emplace(impl, v);
    f.constant_keepalive.push_back(t);
    return v;
  }
  Frame* owner = find_frame(impl->trace);
  if (owner == nullptr || !owner->recording) throw_escaped(t);
  auto key = std::make_pair(impl->trace, impl->value);
  auto it = f.captured.find(key);
  if (it != f.captured.end()) return it->second;
  // A value of an enclosing trace: a new trailing Param of this graph.
  int32_t v = f.graph->add_value(t.type());
  Node n;
  n.kind = NodeKind::Param;
  n.index = static_cast<int32_t>(f.graph->inputs.size());
  n.out = {v};
  f.graph->add_node(std::move(n));
  f.graph->inputs.push_back(v);
  f.captures->push_back(t);
  f.captured.emplace(key, v);
  return v;
}

struct FramePush {
  explicit FramePush(Frame* f) { t_frames.push_back(f); }
  ~FramePush() { t_frames.pop_back(); }
  FramePush(const FramePush&) = delete;
  FramePush& operator=(const FramePush&) = delete;
};

}  // namespace

SuspendTracing::SuspendTracing() {
  auto saved = std::make_shared<std::vector<Frame*>>();
  saved->swap(t_frames);
  saved_ = std::move(saved);
}

SuspendTracing::~SuspendTracing() {
  std::static_pointer_cast<std::vector<Frame*>>(saved_)->swap(t_frames);
}

bool tracing_active() {
  return !t_frames.empty();
}

bool recording() {
  return top_recording() != nullptr;
}

Tensor resolve(const Tensor& t) {
  Tensor r = t;
  // Each substitution maps to tensors of an older context, so this terminates.
  for (;;) {
    uint64_t id = r.impl()->trace;
    if (id == 0) return r;
    Frame* f = find_frame(id);
    if (f == nullptr) throw_escaped(r);
    if (f->recording) return r;
    const Tensor& next = (*f->env)[static_cast<size_t>(r.impl()->value)];
    if (!next.defined()) throw_escaped(r);
    r = next;
  }
}

Tensor resolve_concrete(const Tensor& t, std::string_view what) {
  Tensor r = tracing_active() ? resolve(t) : t;
  if (r.is_traced()) {
    throw Error(std::string(what) + ": needs a concrete tensor here, got a traced " +
                type_string(r.type()) + " (its value is only known when the compiled code runs)");
  }
  return r;
}

Traced trace_function(std::span<const TensorType> params, const TraceFn& f,
                      std::span<const bool> weak) {
  Traced result;
  result.graph = std::make_shared<Graph>();
  result.num_params = params.size();
  result.id = g_next_trace_id.fetch_add(1, std::memory_order_relaxed);
  Frame frame;
  frame.id = result.id;
  frame.recording = true;
  frame.graph = result.graph.get();
  frame.captures = &result.captures;
  FramePush push(&frame);

  std::vector<Tensor> args;
  args.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    int32_t v = result.graph->add_value(params[i]);
    Node n;
    n.kind = NodeKind::Param;
    n.index = static_cast<int32_t>(i);
    n.out = {v};
    result.graph->add_node(std::move(n));
    result.graph->inputs.push_back(v);
    args.push_back(make_traced(params[i], frame.id, v, i < weak.size() && weak[i]));
  }
  std::vector<Tensor> outs = f(args);
  for (const Tensor& o : outs) {
    if (!o.defined()) throw Error("nx: a traced function returned an empty tensor");
    result.graph->outputs.push_back(value_in(frame, resolve(o)));
  }
  return result;
}

std::vector<Tensor> record_node(Node node, std::span<const Tensor> inputs,
                                std::span<const TensorType> out_types) {
  Frame* f = top_recording();
  if (f == nullptr) throw Error("nx: internal error: record_node without a recording trace");
  node.in.clear();
  node.out.clear();
  node.trace = f->id;
  for (const Tensor& t : inputs) node.in.push_back(value_in(*f, resolve(t)));
  std::vector<Tensor> outs;
  outs.reserve(out_types.size());
  for (const TensorType& t : out_types) {
    int32_t v = f->graph->add_value(t);
    node.out.push_back(v);
    outs.push_back(make_traced(t, f->id, v));
  }
  f->graph->add_node(std::move(node));
  return outs;
}

std::vector<Tensor> trace_bind(Prim p, std::span<const Tensor> in, const Params& params) {
  std::vector<Tensor> resolved;
  resolved.reserve(in.size());
  for (const Tensor& t : in) resolved.push_back(t.defined() ? resolve(t) : t);
  Frame* f = top_recording();
  if (f == nullptr) {
    for (const Tensor& t : resolved) {
      if (t.defined() && t.is_traced()) throw_escaped(t);
    }
    return bind_concrete(p, resolved, params);
  }
  const PrimInfo& pi = info(p);
  check_bind(p, resolved, params);
  std::vector<TensorType> out_types = pi.rule(static_cast<int>(p), resolved, params);
  Node n;
  n.kind = NodeKind::Prim;
  n.prim = p;
  n.params = params;
  return record_node(std::move(n), resolved, out_types);
}

Substitution::Substitution(uint64_t trace_id, std::shared_ptr<const std::vector<Tensor>> env)
    : id_(trace_id) {
  auto* f = new Frame;
  f->id = trace_id;
  f->env = std::move(env);
  t_frames.push_back(f);
}

Substitution::~Substitution() {
  // Frames nest: the top one is ours.
  Frame* f = t_frames.back();
  t_frames.pop_back();
  delete f;
  (void)id_;
}

}  // namespace nx::detail
