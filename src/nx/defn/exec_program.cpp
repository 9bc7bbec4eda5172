#include "exec_program.hpp"

#include <cstring>

namespace nx::detail::exec {

namespace {

bool is_binding(const Node& n) {
  return n.kind == NodeKind::Param || n.kind == NodeKind::Constant ||
         (is_alias_node(n) && n.kind != NodeKind::Hook);
}

}  // namespace

Program::Program(std::shared_ptr<const Graph> g, const std::vector<bool>& donated)
    : graph_(std::move(g)) {
  const Graph& graph = *graph_;
  std::vector<size_t> scratch(graph.nodes.size(), 0);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const Node& n = graph.nodes[i];
    if (is_binding(n)) continue;
    Step s;
    s.thunk = lower_node(graph, n);
    s.node = static_cast<int32_t>(i);
    s.num_in = n.in.size();
    s.num_out = n.out.size();
    s.args = num_args_;
    num_args_ += s.num_in + s.num_out;
    scratch[i] = s.thunk->scratch_bytes();
    steps_.push_back(std::move(s));
  }
  plan_ = plan_storage(graph, scratch, donated);
  for (Step& s : steps_) s.scratch = plan_.scratch_of[static_cast<size_t>(s.node)];
  for (size_t i = 0; i < plan_.storages.size(); ++i) {
    StorageKind k = plan_.storages[i].kind;
    if (k == StorageKind::Input) bound_inputs_.push_back(static_cast<int32_t>(i));
    if (k == StorageKind::Output) bound_outputs_.push_back(static_cast<int32_t>(i));
  }
  for (size_t k = 0; k < graph.outputs.size(); ++k) {
    int32_t s = plan_.storage_of[static_cast<size_t>(graph.outputs[k])];
    const Storage& st = plan_.storages[static_cast<size_t>(s)];
    bool in_place = st.kind == StorageKind::Output && st.output == static_cast<int32_t>(k);
    copies_.push_back(in_place ? -1 : s);
  }
}

size_t Program::num_in_place() const {
  size_t n = 0;
  for (const auto& p : plan_.in_place) n += p.empty() ? 0 : 1;
  return n;
}

const Storage& Program::output_storage(size_t k) const {
  return plan_
      .storages[static_cast<size_t>(plan_.storage_of[static_cast<size_t>(graph_->outputs[k])])];
}

const void* Program::data(const Instance& inst, int32_t s) {
  return inst.buffers[static_cast<size_t>(s)]->data();
}

std::unique_ptr<Instance> Program::make_instance(std::byte* arena) const {
  const Graph& g = *graph_;
  auto inst = std::make_unique<Instance>();
  inst->arena = arena;
  inst->buffers.reserve(plan_.storages.size());
  for (const Storage& s : plan_.storages) {
    switch (s.kind) {
      case StorageKind::Input:
      case StorageKind::Output:
        inst->buffers.push_back(std::make_shared<Buffer>(nullptr, s.bytes));
        break;
      case StorageKind::Constant:
        inst->buffers.push_back(s.constant.impl()->buffer);
        break;
      case StorageKind::Arena:
        inst->buffers.push_back(std::make_shared<Buffer>(arena + s.offset, s.bytes));
        break;
    }
  }
  // One tensor per value, shared by every step that reads or writes it.
  std::vector<Tensor> values(g.num_values());
  auto value = [&](int32_t v) -> const Tensor& {
    Tensor& t = values[static_cast<size_t>(v)];
    if (!t.defined()) {
      int32_t s = plan_.storage_of[static_cast<size_t>(v)];
      t = make_tensor(g.type(v), inst->buffers[static_cast<size_t>(s)]);
    }
    return t;
  };
  inst->args.reserve(num_args_);
  for (const Step& s : steps_) {
    const Node& n = g.nodes[static_cast<size_t>(s.node)];
    for (int32_t v : n.in) inst->args.push_back(value(v));
    for (int32_t v : n.out) inst->args.push_back(value(v));
  }
  inst->states.reserve(steps_.size());
  for (const Step& s : steps_) {
    std::byte* scratch =
        s.scratch >= 0 ? arena + plan_.storages[static_cast<size_t>(s.scratch)].offset : nullptr;
    inst->states.push_back(s.thunk->make_state(scratch));
  }
  return inst;
}

void Program::run(Instance& inst, std::span<const void* const> in, std::span<void* const> out,
                  std::span<const uint64_t> in_ids) const {
  for (int32_t s : bound_inputs_) {
    const Storage& st = plan_.storages[static_cast<size_t>(s)];
    const auto i = static_cast<size_t>(st.input);
    rebind(*inst.buffers[static_cast<size_t>(s)], const_cast<void*>(in[i]), st.bytes,
           i < in_ids.size() ? in_ids[i] : 0);
  }
  for (int32_t s : bound_outputs_) {
    const Storage& st = plan_.storages[static_cast<size_t>(s)];
    rebind(*inst.buffers[static_cast<size_t>(s)], out[static_cast<size_t>(st.output)], st.bytes);
  }
  Tensor* args = inst.args.data();
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    std::byte* scratch = s.scratch >= 0
                             ? inst.arena + plan_.storages[static_cast<size_t>(s.scratch)].offset
                             : nullptr;
    Frame f{std::span<const Tensor>(args + s.args, s.num_in),
            std::span<Tensor>(args + s.args + s.num_in, s.num_out), scratch, inst.states[i].get()};
    s.thunk->run(f);
  }
}

void Program::copy_outputs(Instance& inst, std::span<void* const> out) const {
  for (size_t k = 0; k < copies_.size(); ++k) {
    int32_t s = copies_[k];
    if (s < 0) continue;
    const Storage& st = plan_.storages[static_cast<size_t>(s)];
    std::memcpy(out[k], data(inst, s), st.bytes);
  }
}

std::string Program::schedule(const std::string& indent) const {
  const Graph& g = *graph_;
  auto operand = [&](int32_t v) {
    return "%" + std::to_string(v) + "@" +
           storage_label(plan_, plan_.storage_of[static_cast<size_t>(v)]);
  };
  std::string text;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& s = steps_[i];
    const Node& n = g.nodes[static_cast<size_t>(s.node)];
    text += indent + "#" + std::to_string(i) + " " + s.thunk->describe() + "(";
    for (size_t k = 0; k < n.in.size(); ++k) text += (k ? ", " : "") + operand(n.in[k]);
    text += ") -> ";
    for (size_t k = 0; k < n.out.size(); ++k) text += (k ? ", " : "") + operand(n.out[k]);
    for (const InPlace& p : plan_.in_place[static_cast<size_t>(s.node)]) {
      text += " %" + std::to_string(n.out[static_cast<size_t>(p.out)]) + " in place of %" +
              std::to_string(n.in[static_cast<size_t>(p.in)]);
    }
    if (s.scratch >= 0) text += " scratch " + storage_label(plan_, s.scratch);
    text += "\n";
    text += s.thunk->nested(indent + "    ");
  }
  return text;
}

}  // namespace nx::detail::exec
