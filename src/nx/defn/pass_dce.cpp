// Dead code elimination. A backward liveness walk from the outputs keeps the nodes whose results
// are read and the nodes with effects (hooks, and control flow holding hooks); Param nodes stay,
// since they are the graph's signature. Control-flow nodes are also narrowed: their subgraphs are
// cleaned recursively, outputs nobody reads are dropped (Cond results, Scan ys), and inputs their
// subgraphs no longer read are dropped (While and Scan captures, Scan xs, Cond operands).
#include <utility>

#include "graph_rewrite.hpp"
#include "passes.hpp"

namespace nx::detail {

namespace {

std::vector<bool> all_true(size_t n) {
  return std::vector<bool>(n, true);
}

std::vector<bool> either(const std::vector<bool>& a, const std::vector<bool>& b) {
  std::vector<bool> r(a.size());
  for (size_t i = 0; i < a.size(); ++i) r[i] = a[i] || b[i];
  return r;
}

template <class T>
std::vector<T> pick(const std::vector<T>& v, const std::vector<bool>& keep) {
  std::vector<T> r;
  for (size_t i = 0; i < v.size(); ++i) {
    if (keep[i]) r.push_back(v[i]);
  }
  return r;
}

size_t count(const std::vector<bool>& v, size_t from, size_t to) {
  size_t c = 0;
  for (size_t i = from; i < to; ++i) c += v[i] ? 1 : 0;
  return c;
}

// Which outputs to keep given their liveness: the live ones, but never none (a node kept only for
// its effects keeps its whole signature). `fixed` leading outputs are always kept.
std::vector<bool> outputs_to_keep(const std::vector<bool>& live, size_t fixed) {
  std::vector<bool> keep = live;
  for (size_t i = 0; i < fixed && i < keep.size(); ++i) keep[i] = true;
  if (count(keep, 0, keep.size()) == 0) return all_true(keep.size());
  return keep;
}

std::shared_ptr<const Graph> shared(Graph g) {
  return std::make_shared<const Graph>(std::move(g));
}

Node narrow_cond(const Node& n, const std::vector<bool>& out_live) {
  std::vector<bool> keep_out = outputs_to_keep(out_live, 0);
  size_t nops = n.in.size() - 1;
  Graph t = eliminate_dead_code(restrict_graph(*n.subgraphs[0], all_true(nops), {}, keep_out));
  Graph f = eliminate_dead_code(restrict_graph(*n.subgraphs[1], all_true(nops), {}, keep_out));
  std::vector<bool> used = either(used_inputs(t), used_inputs(f));
  Node m = n;
  m.subgraphs = {shared(restrict_graph(t, used)), shared(restrict_graph(f, used))};
  m.in = {n.in[0]};
  for (size_t i = 0; i < nops; ++i) {
    if (used[i]) m.in.push_back(n.in[1 + i]);
  }
  m.out = pick(n.out, keep_out);
  return m;
}

Node narrow_while(const Node& n) {
  size_t nc = n.out.size();
  Graph c = eliminate_dead_code(*n.subgraphs[0]);
  Graph b = eliminate_dead_code(*n.subgraphs[1]);
  std::vector<bool> keep = either(used_inputs(c), used_inputs(b));
  for (size_t i = 0; i < nc; ++i) keep[i] = true;
  Node m = n;
  m.subgraphs = {shared(restrict_graph(c, keep)), shared(restrict_graph(b, keep))};
  m.in = pick(n.in, keep);
  return m;
}

Node narrow_scan(const Node& n, const std::vector<bool>& out_live) {
  size_t nc = static_cast<size_t>(n.scan.num_carry), nx = static_cast<size_t>(n.scan.num_xs);
  std::vector<bool> keep_out = outputs_to_keep(out_live, nc);
  Graph b =
      eliminate_dead_code(restrict_graph(*n.subgraphs[0], all_true(n.in.size()), {}, keep_out));
  std::vector<bool> keep = used_inputs(b);
  for (size_t i = 0; i < nc; ++i) keep[i] = true;
  Node m = n;
  m.subgraphs = {shared(restrict_graph(b, keep))};
  m.in = pick(n.in, keep);
  m.out = pick(n.out, keep_out);
  m.scan.num_xs = static_cast<int>(count(keep, nc, nc + nx));
  m.scan.num_ys = static_cast<int>(count(keep_out, nc, keep_out.size()));
  return m;
}

}  // namespace

Graph eliminate_dead_code(const Graph& g) {
  std::vector<bool> live(g.num_values(), false);
  for (int32_t v : g.outputs) live[static_cast<size_t>(v)] = true;
  std::vector<std::optional<Node>> kept(g.nodes.size());
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const Node& n = g.nodes[k];
    std::vector<bool> out_live;
    for (int32_t v : n.out) out_live.push_back(live[static_cast<size_t>(v)]);
    bool any_live = count(out_live, 0, out_live.size()) > 0;
    if (n.kind != NodeKind::Param && !any_live && !has_effects(n)) continue;
    switch (n.kind) {
      case NodeKind::Cond:
        kept[k] = narrow_cond(n, out_live);
        break;
      case NodeKind::While:
        kept[k] = narrow_while(n);
        break;
      case NodeKind::Scan:
        kept[k] = narrow_scan(n, out_live);
        break;
      default:
        kept[k] = n;
    }
    for (int32_t v : kept[k]->in) live[static_cast<size_t>(v)] = true;
  }
  GraphBuilder b(g);
  for (const auto& n : kept) {
    if (n) b.copy(*n);
  }
  return b.finish();
}

}  // namespace nx::detail
