// Constant folding: primitives whose inputs are all constants are run at compile time (on the
// CPU kernels, through bind_concrete) when their result is small; elementwise primitives whose
// inputs are all splats (one value everywhere: a scalar constant broadcast, say) are run on the
// scalars and become a broadcast of the scalar result, however large. Constants flow into
// control flow: constant captures and operands become constants of the subgraphs, and a Cond
// with a constant predicate is replaced by the branch it takes.
#include <utility>

#include "../core/dispatch.hpp"
#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

int64_t output_elements(const Graph& g, const Node& n) {
  int64_t total = 0;
  for (int32_t v : n.out) total += num_elements(g.type(v).shape);
  return total;
}

// Runs `n` on concrete inputs; nullopt when the kernel rejects them (the error is then left for
// run time, where it belongs).
std::optional<std::vector<Tensor>> evaluate(const Node& n, std::span<const Tensor> in) {
  try {
    return bind_concrete(n.prim, in, n.params);
  } catch (const Error&) {
    return std::nullopt;
  }
}

bool fold_prim(GraphBuilder& b, const Graph& g, const Node& n) {
  std::vector<int32_t> in = b.get(n.in);
  std::vector<Tensor> consts;
  for (int32_t v : in) {
    const Tensor* c = b.constant(v);
    if (c == nullptr) break;
    consts.push_back(*c);
  }
  if (consts.size() == in.size() && output_elements(g, n) <= kFoldElements) {
    auto outs = evaluate(n, consts);
    if (!outs) return false;
    for (size_t i = 0; i < outs->size(); ++i) {
      b.set(n.out[i], b.emit_constant((*outs)[i]));
    }
    return true;
  }
  if (!is_elementwise(n.prim) || in.empty()) return false;
  std::vector<Tensor> scalars;
  for (int32_t v : in) {
    std::optional<Tensor> s = splat_scalar(b, v);
    if (!s) return false;
    scalars.push_back(std::move(*s));
  }
  auto outs = evaluate(n, scalars);
  if (!outs) return false;
  const TensorType& t = g.type(n.out[0]);
  b.set(n.out[0], b.broadcast_to(b.emit_constant((*outs)[0]), t.shape));
  return true;
}

// The constants among `in[from..]` (undefined where not constant), and which stay inputs.
std::pair<std::vector<bool>, std::vector<Tensor>> constant_inputs(const GraphBuilder& b,
                                                                  const std::vector<int32_t>& in,
                                                                  size_t from) {
  std::vector<bool> keep(in.size(), true);
  std::vector<Tensor> fixed(in.size());
  for (size_t i = from; i < in.size(); ++i) {
    if (const Tensor* c = b.constant(in[i])) {
      keep[i] = false;
      fixed[i] = *c;
    }
  }
  return {keep, fixed};
}

template <class T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<bool>& keep) {
  std::vector<T> r;
  for (size_t i = 0; i < keep.size(); ++i) {
    if (keep[i]) r.push_back(v[i]);
  }
  return r;
}

std::shared_ptr<const Graph> folded(const Graph& sub, const std::vector<bool>& keep,
                                    std::span<const Tensor> fixed) {
  return std::make_shared<const Graph>(fold_constants(restrict_graph(sub, keep, fixed)));
}

void fold_cond(GraphBuilder& b, const Node& n) {
  std::vector<int32_t> in = b.get(n.in);
  std::vector<int32_t> ops(in.begin() + 1, in.end());
  auto [keep, fixed] = constant_inputs(b, ops, 0);
  Node m = n;
  m.subgraphs = {folded(*n.subgraphs[0], keep, fixed), folded(*n.subgraphs[1], keep, fixed)};
  std::vector<int32_t> args = pick(ops, keep);
  if (const Tensor* p = b.constant(in[0])) {
    const Graph& branch = *m.subgraphs[element_as_int64(*p, 0) != 0 ? 0 : 1];
    std::vector<int32_t> outs = b.inline_graph(branch, args);
    for (size_t i = 0; i < outs.size(); ++i) b.set(n.out[i], outs[i]);
    return;
  }
  m.in = {in[0]};
  m.in.insert(m.in.end(), args.begin(), args.end());
  b.copy_rewired(m);
}

// While and Scan: inputs from `first_capture` on are loop-invariant captures.
void fold_loop(GraphBuilder& b, const Node& n, size_t first_capture) {
  std::vector<int32_t> in = b.get(n.in);
  auto [keep, fixed] = constant_inputs(b, in, first_capture);
  Node m = n;
  for (auto& sg : m.subgraphs) sg = folded(*sg, keep, fixed);
  m.in = pick(in, keep);
  b.copy_rewired(m);
}

}  // namespace

Graph fold_constants(const Graph& g) {
  GraphBuilder b(g);
  for (const Node& n : g.nodes) {
    switch (n.kind) {
      case NodeKind::Prim:
        if (!fold_prim(b, g, n)) b.copy(n);
        break;
      case NodeKind::Cond:
        fold_cond(b, n);
        break;
      case NodeKind::While:
        fold_loop(b, n, static_cast<size_t>(n.scan.num_carry));
        break;
      case NodeKind::Scan:
        fold_loop(b, n, static_cast<size_t>(n.scan.num_carry + n.scan.num_xs));
        break;
      default:
        b.copy(with_subgraphs(n, &fold_constants));
    }
  }
  return b.finish();
}

}  // namespace nx::detail
