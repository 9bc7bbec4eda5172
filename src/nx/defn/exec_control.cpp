// Thunks of While, Cond and Scan: their subgraphs are compiled into programs once, and each
// instance of the enclosing program holds one instance of each subprogram, whose arena is a
// region of the enclosing arena (the node's scratch). Subprograms run "into" buffers this thunk
// chooses, so a loop allocates nothing:
//
//   While  carries alternate between the node's output buffers and a second set in the scratch
//          (the body reads one set and writes the other); the final set is copied to the
//          outputs when it is the second one. cond writes its predicate into the scratch.
//   Scan   the same for carries; slice t of each xs is read in place, and the body writes y
//          slice t straight into the stacked output.
//   Cond   the chosen branch writes the node's outputs.
//
// cond and body (or the two branches) never run at once, so their arenas share one region.
#include <algorithm>
#include <cstring>

#include "../core/visit_dtype.hpp"
#include "exec_program.hpp"

namespace nx::detail::exec {

namespace {

size_t bytes_of(const TensorType& t) {
  return static_cast<size_t>(num_elements(t.shape)) * static_cast<size_t>(byte_size(t.dtype));
}

void* data_of(const Tensor& t) {
  return t.impl()->buffer->data();
}

bool truthy(const void* p, DType t) {
  return visit_dtype(t, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      return *static_cast<const uint8_t*>(p) != 0;
    } else {
      return static_cast<float>(*static_cast<const T*>(p)) != 0.0f;
    }
  });
}

// One subprogram's instance and the pointer arrays of its calls.
struct Sub {
  std::unique_ptr<Instance> inst;
  std::vector<const void*> in;
  std::vector<void*> out;

  Sub(const Program& p, std::byte* arena)
      : inst(p.make_instance(arena)), in(p.graph().inputs.size()), out(p.graph().outputs.size()) {}
  void run(const Program& p) {
    p.run(*inst, in, out);
    p.copy_outputs(*inst, out);
  }
};

struct LoopState final : ThunkState {
  std::vector<Sub> subs;
  std::vector<void*> spare;  ///< the second set of carries
  void* pred = nullptr;      ///< While: where cond writes its predicate
};

std::string nested_schedule(const std::string& indent, const char* label, const Program& p) {
  return indent + label + ":\n" + p.schedule(indent + "  ");
}

// Lays out a loop's scratch: the spare carries, then (While) the predicate, then the shared
// subprogram arena.
struct LoopLayout {
  std::vector<size_t> spare;
  size_t pred = 0, sub = 0, bytes = 0;

  LoopLayout(std::span<const size_t> carry_bytes, size_t pred_bytes, size_t sub_arena) {
    for (size_t b : carry_bytes) {
      spare.push_back(bytes);
      bytes += align_up(b);
    }
    pred = bytes;
    bytes += align_up(pred_bytes);
    sub = bytes;
    bytes += align_up(sub_arena);
  }
};

class WhileThunk final : public Thunk {
 public:
  WhileThunk(const Graph& g, const Node& n)
      : cond_(n.subgraphs.at(0), {}),
        body_(n.subgraphs.at(1), {}),
        num_carry_(static_cast<size_t>(n.scan.num_carry)),
        pred_type_(cond_.graph().type(cond_.graph().outputs.at(0))),
        layout_(carry_bytes(g, n), bytes_of(pred_type_),
                std::max(cond_.arena_bytes(), body_.arena_bytes())) {}

  size_t scratch_bytes() const override { return layout_.bytes; }

  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto s = std::make_unique<LoopState>();
    s->subs.emplace_back(cond_, scratch + layout_.sub);
    s->subs.emplace_back(body_, scratch + layout_.sub);
    for (size_t off : layout_.spare) s->spare.push_back(scratch + off);
    s->pred = scratch + layout_.pred;
    return s;
  }

  void run(const Frame& f) const override {
    auto& st = static_cast<LoopState&>(*f.state);
    Sub& cond = st.subs[0];
    Sub& body = st.subs[1];
    const size_t nc = num_carry_;
    for (size_t k = nc; k < f.in.size(); ++k) {  // captures
      cond.in[k] = body.in[k] = data_of(f.in[k]);
    }
    for (size_t k = 0; k < nc; ++k) cond.in[k] = data_of(f.in[k]);
    cond.out[0] = st.pred;
    bool in_outputs = false;  // whether the current carries are the node's outputs
    for (;;) {
      cond.run(cond_);
      if (!truthy(st.pred, pred_type_.dtype)) break;
      // Write the set the body does not read: outputs first, then the spare, alternating.
      for (size_t k = 0; k < nc; ++k) {
        body.in[k] = cond.in[k];
        body.out[k] = in_outputs ? st.spare[k] : data_of(f.out[k]);
      }
      body.run(body_);
      in_outputs = !in_outputs;
      for (size_t k = 0; k < nc; ++k) cond.in[k] = body.out[k];
    }
    if (!in_outputs) {
      for (size_t k = 0; k < nc; ++k) {
        std::memcpy(data_of(f.out[k]), cond.in[k], static_cast<size_t>(f.out[k].byte_size()));
      }
    }
  }

  std::string describe() const override { return "while"; }
  std::string nested(const std::string& indent) const override {
    return nested_schedule(indent, "cond", cond_) + nested_schedule(indent, "body", body_);
  }

 private:
  static std::vector<size_t> carry_bytes(const Graph& g, const Node& n) {
    std::vector<size_t> b;
    for (int32_t v : n.out) b.push_back(bytes_of(g.type(v)));
    return b;
  }

  Program cond_, body_;
  size_t num_carry_;
  TensorType pred_type_;
  LoopLayout layout_;
};

class CondThunk final : public Thunk {
 public:
  explicit CondThunk(const Node& n)
      : branches_{Program(n.subgraphs.at(0), {}), Program(n.subgraphs.at(1), {})} {}

  size_t scratch_bytes() const override {
    return std::max(branches_[0].arena_bytes(), branches_[1].arena_bytes());
  }

  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto s = std::make_unique<LoopState>();
    s->subs.emplace_back(branches_[0], scratch);
    s->subs.emplace_back(branches_[1], scratch);
    return s;
  }

  void run(const Frame& f) const override {
    auto& st = static_cast<LoopState&>(*f.state);
    const Tensor& pred = f.in[0];
    size_t b = truthy(data_of(pred), pred.dtype()) ? 0 : 1;
    Sub& sub = st.subs[b];
    for (size_t k = 1; k < f.in.size(); ++k) sub.in[k - 1] = data_of(f.in[k]);
    for (size_t k = 0; k < f.out.size(); ++k) sub.out[k] = data_of(f.out[k]);
    sub.run(branches_[b]);
  }

  std::string describe() const override { return "cond"; }
  std::string nested(const std::string& indent) const override {
    return nested_schedule(indent, "true", branches_[0]) +
           nested_schedule(indent, "false", branches_[1]);
  }

 private:
  Program branches_[2];
};

class ScanThunk final : public Thunk {
 public:
  ScanThunk(const Graph& g, const Node& n)
      : body_(n.subgraphs.at(0), {}),
        info_(n.scan),
        layout_(carry_bytes(g, n), 0, body_.arena_bytes()) {
    const Graph& b = body_.graph();
    size_t nc = static_cast<size_t>(info_.num_carry);
    for (int i = 0; i < info_.num_xs; ++i) {
      x_bytes_.push_back(bytes_of(b.type(b.inputs[nc + static_cast<size_t>(i)])));
    }
    for (int i = 0; i < info_.num_ys; ++i) {
      y_bytes_.push_back(bytes_of(b.type(b.outputs[nc + static_cast<size_t>(i)])));
    }
  }

  size_t scratch_bytes() const override { return layout_.bytes; }

  std::unique_ptr<ThunkState> make_state(std::byte* scratch) const override {
    auto s = std::make_unique<LoopState>();
    s->subs.emplace_back(body_, scratch + layout_.sub);
    for (size_t off : layout_.spare) s->spare.push_back(scratch + off);
    return s;
  }

  void run(const Frame& f) const override {
    auto& st = static_cast<LoopState&>(*f.state);
    Sub& body = st.subs[0];
    const size_t nc = static_cast<size_t>(info_.num_carry);
    const size_t nx = x_bytes_.size(), ny = y_bytes_.size();
    for (size_t k = nc + nx; k < f.in.size(); ++k) body.in[k] = data_of(f.in[k]);  // captures
    for (size_t k = 0; k < nc; ++k) body.in[k] = data_of(f.in[k]);
    bool in_outputs = false;
    for (int64_t t = 0; t < info_.length; ++t) {
      auto i = static_cast<size_t>(info_.reverse ? info_.length - 1 - t : t);
      for (size_t j = 0; j < nx; ++j) {
        body.in[nc + j] = static_cast<const std::byte*>(data_of(f.in[nc + j])) + i * x_bytes_[j];
      }
      for (size_t k = 0; k < nc; ++k) {
        body.out[k] = in_outputs ? st.spare[k] : data_of(f.out[k]);
      }
      for (size_t j = 0; j < ny; ++j) {
        body.out[nc + j] = static_cast<std::byte*>(data_of(f.out[nc + j])) + i * y_bytes_[j];
      }
      body.run(body_);
      in_outputs = !in_outputs;
      for (size_t k = 0; k < nc; ++k) body.in[k] = body.out[k];
    }
    if (!in_outputs) {
      for (size_t k = 0; k < nc; ++k) {
        std::memcpy(data_of(f.out[k]), body.in[k], static_cast<size_t>(f.out[k].byte_size()));
      }
    }
  }

  std::string describe() const override {
    return "scan length=" + std::to_string(info_.length) + (info_.reverse ? " reverse" : "");
  }
  std::string nested(const std::string& indent) const override {
    return nested_schedule(indent, "body", body_);
  }

 private:
  static std::vector<size_t> carry_bytes(const Graph& g, const Node& n) {
    std::vector<size_t> b;
    for (int i = 0; i < n.scan.num_carry; ++i) {
      b.push_back(bytes_of(g.type(n.out[static_cast<size_t>(i)])));
    }
    return b;
  }

  Program body_;
  ScanInfo info_;
  LoopLayout layout_;
  std::vector<size_t> x_bytes_, y_bytes_;
};

}  // namespace

std::unique_ptr<Thunk> lower_control(const Graph& g, const Node& n) {
  switch (n.kind) {
    case NodeKind::While:
      return std::make_unique<WhileThunk>(g, n);
    case NodeKind::Cond:
      return std::make_unique<CondThunk>(n);
    case NodeKind::Scan:
      return std::make_unique<ScanThunk>(g, n);
    default:
      throw Error("nx: compile: internal error: lower_control on a " +
                  std::string(node_kind_name(n.kind)) + " node");
  }
}

}  // namespace nx::detail::exec
