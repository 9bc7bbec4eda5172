// Common subexpression elimination: a node that does what an earlier node did (same kind,
// primitive, params and inputs; constants with equal data; control flow with equal subgraphs)
// is replaced by that node's outputs. Commutative primitives match with their operands swapped.
// Nodes with effects and CustomGrad nodes (whose gradient function is opaque) are never merged.
// Random bits (threefry2x32) are a pure function of key and counters, so they merge like any
// primitive.
#include <algorithm>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

// Bytes of a constant that go into its hash (equality compares all of them).
constexpr size_t kHashedConstantBytes = 256;

bool commutative(Prim p) {
  // max/min are left out: kernels may pick an operand on NaN, so the order can matter.
  switch (p) {
    case Prim::add:
    case Prim::multiply:
    case Prim::equal:
    case Prim::not_equal:
    case Prim::bitwise_and:
    case Prim::bitwise_or:
    case Prim::bitwise_xor:
      return true;
    default:
      return false;
  }
}

void mix(size_t& h, size_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
}

size_t node_hash(const Node& n) {
  size_t h = static_cast<size_t>(n.kind);
  mix(h, static_cast<size_t>(n.prim));
  mix(h, n.params.index());
  for (int32_t v : n.in) mix(h, static_cast<size_t>(v));
  if (n.kind == NodeKind::Constant) {
    const Tensor& t = n.constant;
    mix(h, static_cast<size_t>(t.dtype()));
    for (int64_t d : t.shape()) mix(h, static_cast<size_t>(d));
    size_t bytes = std::min(static_cast<size_t>(t.byte_size()), kHashedConstantBytes);
    if (bytes > 0) {
      mix(h, std::hash<std::string_view>{}(
                 std::string_view(static_cast<const char*>(t.raw_data()), bytes)));
    }
  }
  return h;
}

bool mergeable(const Node& n) {
  if (n.kind == NodeKind::Param || n.kind == NodeKind::CustomGrad) return false;
  if (n.kind == NodeKind::Constant) {
    return n.constant.defined() && !n.constant.is_template() && !n.constant.is_traced();
  }
  return !has_effects(n);
}

// The inputs of a node in canonical order: sorted for commutative primitives.
std::vector<int32_t> canonical_inputs(const Node& n) {
  std::vector<int32_t> in = n.in;
  if (n.kind == NodeKind::Prim && commutative(n.prim)) std::sort(in.begin(), in.end());
  return in;
}

// Whether `a` (an old node with its inputs renumbered, its outputs of types `out_types`) does
// what node `b` of the new graph `g` does.
bool same_work(const Node& a, const std::vector<TensorType>& out_types, const Node& b,
               const Graph& g) {
  if (a.kind != b.kind || a.prim != b.prim || !(a.params == b.params) ||
      canonical_inputs(a) != canonical_inputs(b) || !(a.scan == b.scan) ||
      a.subgraphs.size() != b.subgraphs.size() || out_types.size() != b.out.size()) {
    return false;
  }
  for (size_t i = 0; i < out_types.size(); ++i) {
    if (g.type(b.out[i]) != out_types[i]) return false;
  }
  // A Fused node's name says which kernel runs it.
  if (a.kind == NodeKind::Fused && a.name != b.name) return false;
  if (a.kind == NodeKind::Constant && !constants_equal(a.constant, b.constant)) return false;
  for (size_t i = 0; i < a.subgraphs.size(); ++i) {
    if (a.subgraphs[i] != b.subgraphs[i] && !graphs_equal(*a.subgraphs[i], *b.subgraphs[i])) {
      return false;
    }
  }
  return true;
}

// A control-flow node that passes one value twice (as two captures, say: each branch of a cond
// captures what it reads on its own) gets it once: equal branches then look equal.
Node merge_duplicate_operands(const GraphBuilder& b, const Node& n) {
  if (n.kind != NodeKind::While && n.kind != NodeKind::Cond && n.kind != NodeKind::Scan) return n;
  std::vector<int32_t> in = b.get(n.in);
  // Ranges of node inputs whose duplicates may merge; carries never do (each is updated).
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t offset = 0;  // node input index of subgraph input 0
  if (n.kind == NodeKind::Cond) {
    offset = 1;
    ranges = {{1, in.size()}};
  } else if (n.kind == NodeKind::While) {
    ranges = {{static_cast<size_t>(n.scan.num_carry), in.size()}};
  } else {
    size_t nc = static_cast<size_t>(n.scan.num_carry), nx = static_cast<size_t>(n.scan.num_xs);
    ranges = {{nc, nc + nx}, {nc + nx, in.size()}};
  }
  std::vector<int32_t> same_as(in.size() - offset);
  for (size_t i = 0; i < same_as.size(); ++i) same_as[i] = static_cast<int32_t>(i);
  bool any = false;
  for (auto [from, to] : ranges) {
    for (size_t i = from; i < to; ++i) {
      for (size_t j = from; j < i; ++j) {
        if (in[j] == in[i] && same_as[j - offset] == static_cast<int32_t>(j - offset)) {
          same_as[i - offset] = static_cast<int32_t>(j - offset);
          any = true;
          break;
        }
      }
    }
  }
  if (!any) return n;
  Node m = n;
  for (auto& sg : m.subgraphs) sg = std::make_shared<const Graph>(merge_inputs(*sg, same_as));
  m.in.resize(offset);
  for (size_t i = 0; i < same_as.size(); ++i) {
    if (same_as[i] == static_cast<int32_t>(i)) m.in.push_back(n.in[offset + i]);
  }
  if (n.kind == NodeKind::Scan) {
    size_t nc = static_cast<size_t>(n.scan.num_carry), nx = static_cast<size_t>(n.scan.num_xs);
    int kept = 0;
    for (size_t i = nc; i < nc + nx; ++i) kept += same_as[i] == static_cast<int32_t>(i) ? 1 : 0;
    m.scan.num_xs = kept;
  }
  return m;
}

}  // namespace

Graph eliminate_common_subexpressions(const Graph& g) {
  GraphBuilder b(g);
  std::unordered_map<size_t, std::vector<size_t>> seen;  // hash -> indices of new nodes
  for (const Node& old : g.nodes) {
    Node n = with_subgraphs(merge_duplicate_operands(b, old), &eliminate_common_subexpressions);
    if (!mergeable(n)) {
      b.copy(n);
      continue;
    }
    Node renamed = n;
    renamed.in = b.get(n.in);
    std::vector<TensorType> out_types;
    for (int32_t v : n.out) out_types.push_back(g.type(v));
    Node key = renamed;
    key.in = canonical_inputs(renamed);
    auto& bucket = seen[node_hash(key)];
    const Node* match = nullptr;
    for (size_t idx : bucket) {
      const Node& cand = b.graph().nodes[idx];
      if (same_work(renamed, out_types, cand, b.graph())) {
        match = &cand;
        break;
      }
    }
    if (match != nullptr) {
      for (size_t i = 0; i < n.out.size(); ++i) b.set(n.out[i], match->out[i]);
      continue;
    }
    b.copy(n);
    bucket.push_back(b.graph().nodes.size() - 1);
  }
  return b.finish();
}

}  // namespace nx::detail
