// build_program: the closed program graph of a cluster (see fuse_program.hpp).
#include "fuse_program.hpp"

#include <algorithm>
#include <unordered_map>

namespace nx::detail {

namespace {

// One-element constants are copied into programs (the kernels then know their value: oneDNN
// post-ops take scalars as attributes); larger ones are inputs, shared with the outer graph.
constexpr int64_t kInlineConstant = 1;

class ProgramBuilder {
 public:
  ProgramBuilder(const Graph& g, const std::vector<int32_t>& producer,
                 const std::vector<int32_t>& members, bool epilogue)
      : g_(g), producer_(producer), epilogue_(epilogue) {
    for (size_t k = 0; k < members.size(); ++k) {
      const Node& n = g.nodes[static_cast<size_t>(members[k])];
      std::vector<int32_t> in;
      for (int32_t v : n.in) in.push_back(k == 0 && epilogue_ ? operand(n, v) : value(v));
      Node c = n;
      c.in = std::move(in);
      c.out.clear();
      for (int32_t v : n.out) {
        c.out.push_back(p_.graph.add_value(g.type(v)));
        map_[v] = c.out.back();
      }
      p_.graph.add_node(std::move(c));
    }
  }

  Program finish(const std::vector<int32_t>& outputs) {
    for (int32_t v : outputs) p_.graph.outputs.push_back(map_.at(v));
    // Param nodes first: the graph invariant wants every value defined before it is read.
    std::stable_partition(p_.graph.nodes.begin(), p_.graph.nodes.end(),
                          [](const Node& n) { return n.kind == NodeKind::Param; });
    return std::move(p_);
  }

 private:
  /// The program value for original value v read by a member.
  int32_t value(int32_t v) {
    auto it = map_.find(v);
    if (it != map_.end()) return it->second;
    const int32_t p = producer_[static_cast<size_t>(v)];
    const Node* n = p >= 0 ? &g_.nodes[static_cast<size_t>(p)] : nullptr;
    if (n != nullptr && n->kind == NodeKind::Prim &&
        (n->prim == Prim::broadcast_in_dim || n->prim == Prim::reshape)) {
      const int32_t x = value(n->in[0]);
      return copy(*n, {x}, v);
    }
    if (n != nullptr && n->kind == NodeKind::Constant && n->constant.size() <= kInlineConstant)
      return copy(*n, {}, v);
    return input(v);
  }

  /// An operand of the contraction: an input, or for a convolution a transpose of one (the
  /// primitive reads it through strides, so it is copied into the program, not materialized).
  int32_t operand(const Node& contraction, int32_t v) {
    const int32_t p = producer_[static_cast<size_t>(v)];
    const Node* n = p >= 0 ? &g_.nodes[static_cast<size_t>(p)] : nullptr;
    if (contraction.prim == Prim::conv_general && n != nullptr && n->kind == NodeKind::Prim &&
        n->prim == Prim::transpose) {
      auto it = map_.find(v);
      if (it != map_.end()) return it->second;
      return copy(*n, {input(n->in[0])}, v);
    }
    return input(v);
  }

  int32_t copy(const Node& n, std::vector<int32_t> in, int32_t v) {
    Node c = n;
    c.in = std::move(in);
    const int32_t nv = p_.graph.add_value(g_.type(v));
    c.out = {nv};
    p_.graph.add_node(std::move(c));
    map_[v] = nv;
    return nv;
  }

  int32_t input(int32_t v) {
    auto it = inputs_.find(v);
    if (it != inputs_.end()) return it->second;
    Node param;
    param.kind = NodeKind::Param;
    param.index = static_cast<int32_t>(p_.graph.inputs.size());
    param.out = {p_.graph.add_value(g_.type(v))};
    p_.graph.inputs.push_back(param.out[0]);
    p_.inputs.push_back(v);
    inputs_[v] = param.out[0];
    if (!epilogue_) map_[v] = param.out[0];
    p_.graph.add_node(std::move(param));
    return inputs_[v];
  }

  const Graph& g_;
  const std::vector<int32_t>& producer_;
  bool epilogue_;
  std::unordered_map<int32_t, int32_t> map_, inputs_;
  Program p_;
};

}  // namespace

Program build_program(const Graph& g, const std::vector<int32_t>& producer,
                      const std::vector<int32_t>& members, const std::vector<int32_t>& outputs,
                      bool epilogue) {
  return ProgramBuilder(g, producer, members, epilogue).finish(outputs);
}

std::vector<int32_t> program_inputs(const Graph& g, const std::vector<int32_t>& producer,
                                    const std::vector<int32_t>& members, bool epilogue) {
  return ProgramBuilder(g, producer, members, epilogue).finish({}).inputs;
}

}  // namespace nx::detail
