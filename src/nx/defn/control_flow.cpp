// while_loop, cond and scan: eager execution, tracing into While/Cond/Scan nodes, and their
// reverse-mode rules. The rules are written with the public control-flow functions themselves,
// so the backward pass is traced, compiled and differentiated like any other code.
//
// Gradients:
//   cond   the VJP is a cond over the two branches' VJPs.
//   scan   the forward pass is re-run with the carry before each step, and the outputs of the
//          body's per-step contractions (matmuls, convolutions), stacked as extra outputs; the
//          backward pass is a scan in the opposite direction over those residuals, which reads
//          the contractions' values instead of recomputing them.
//   while  the trip count is unknown when compiling, so residuals cannot be stacked in a
//          planned buffer: the backward pass recomputes the state before step k from the initial
//          state (a while loop of k steps) for k = n-1 .. 0. That costs O(n^2) body evaluations;
//          loops with a known trip count should use scan, which is O(n).
#include "control_flow.hpp"

#include <algorithm>
#include <string>

#include "autodiff.hpp"
#include "interpret.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"
#include "trace.hpp"

namespace nx {

namespace detail {

namespace {

std::vector<TensorType> types_of(std::span<const Tensor> ts) {
  std::vector<TensorType> r;
  r.reserve(ts.size());
  for (const Tensor& t : ts) r.push_back(t.type());
  return r;
}

std::vector<Tensor> resolved_leaves(const Tree& t) {
  std::vector<Tensor> leaves = tree_leaves(t);
  if (tracing_active()) {
    for (Tensor& l : leaves) l = resolve(l);
  }
  return leaves;
}

// Throws unless `got` (a tree a body returned) matches the expected structure and leaf types.
void check_tree(const char* who, const char* what, const TreeDef& want_def,
                std::span<const TensorType> want, const Tree& got) {
  TreeDef got_def = tree_structure(got);
  if (!(got_def == want_def)) {
    throw Error(std::string(who) + ": " + what + " must keep the structure " +
                want_def.to_string() + ", got " + got_def.to_string());
  }
  std::vector<PathLeaf> leaves = tree_flatten_with_paths(got);
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (leaves[i].tensor.type() != want[i]) {
      std::string where = leaves[i].path.empty() ? "the state" : "leaf '" + leaves[i].path + "'";
      throw Error(std::string(who) + ": " + what + " changed " + where + " from " +
                  type_string(want[i]) + " to " + type_string(leaves[i].tensor.type()));
    }
  }
}

// Adds unused Param inputs of the given types at input position `pos` and renumbers Params.
void insert_inputs(Graph& g, size_t pos, std::span<const TensorType> types) {
  if (types.empty()) return;
  std::vector<int32_t> added;
  std::vector<Node> params;
  for (const TensorType& t : types) {
    Node n;
    n.kind = NodeKind::Param;
    n.out = {g.add_value(t)};
    added.push_back(n.out[0]);
    params.push_back(std::move(n));
  }
  g.nodes.insert(g.nodes.begin(), params.begin(), params.end());
  g.inputs.insert(g.inputs.begin() + static_cast<std::ptrdiff_t>(pos), added.begin(), added.end());
  std::vector<int32_t> index_of(g.num_values(), -1);
  for (size_t i = 0; i < g.inputs.size(); ++i) index_of[g.inputs[i]] = static_cast<int32_t>(i);
  for (Node& n : g.nodes) {
    if (n.kind == NodeKind::Param) n.index = index_of[n.out[0]];
  }
}

Tensor as_pred_scalar(const char* who, const Tensor& p) {
  if (p.rank() != 0) {
    throw Error(std::string(who) + ": the condition must be a scalar, got " +
                type_string(p.type()));
  }
  return p.dtype() == DType::Pred ? p : nx::not_equal(p, 0);
}

bool concrete_truth(const char* who, const Tensor& p) {
  Tensor c = resolve_concrete(as_pred_scalar(who, p), who);
  return c.item<bool>();
}

Tensor slice_step(const Tensor& x, int64_t i) {
  return nx::squeeze(nx::slice_along_axis(x, i, 1, 0), Axes{0});
}

std::vector<Tensor> concat_vec(std::span<const Tensor> a, std::span<const Tensor> b) {
  std::vector<Tensor> r(a.begin(), a.end());
  r.insert(r.end(), b.begin(), b.end());
  return r;
}

Tensor zeros_if_empty(const Tensor& t, const TensorType& type) {
  return t.defined() ? t : nx::zeros(type.shape, type.dtype);
}

// ---- The three nodes run eagerly (interpreting their subgraphs) -------------------------------

std::vector<Tensor> eager_while(const Node& n, std::span<const Tensor> in) {
  size_t nc = static_cast<size_t>(n.scan.num_carry);
  std::vector<Tensor> carry(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(nc));
  std::span<const Tensor> caps = in.subspan(nc);
  for (;;) {
    std::vector<Tensor> args = concat_vec(carry, caps);
    if (!interpret(*n.subgraphs[0], args)[0].item<bool>()) break;
    carry = interpret(*n.subgraphs[1], args);
  }
  return carry;
}

std::vector<Tensor> eager_scan(const Node& n, std::span<const Tensor> in) {
  const ScanInfo& s = n.scan;
  size_t nc = static_cast<size_t>(s.num_carry), nxs = static_cast<size_t>(s.num_xs);
  std::vector<Tensor> carry(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(nc));
  std::span<const Tensor> xs = in.subspan(nc, nxs);
  std::span<const Tensor> caps = in.subspan(nc + nxs);
  std::vector<std::vector<Tensor>> ys(static_cast<size_t>(s.num_ys));
  for (int64_t k = 0; k < s.length; ++k) {
    int64_t i = s.reverse ? s.length - 1 - k : k;
    std::vector<Tensor> args = carry;
    for (const Tensor& x : xs) args.push_back(slice_step(x, i));
    args.insert(args.end(), caps.begin(), caps.end());
    std::vector<Tensor> outs = interpret(*n.subgraphs[0], args);
    for (size_t c = 0; c < nc; ++c) carry[c] = outs[c];
    for (size_t y = 0; y < ys.size(); ++y) ys[y].push_back(outs[nc + y]);
  }
  std::vector<Tensor> result = carry;
  const Graph& body = *n.subgraphs[0];
  for (size_t y = 0; y < ys.size(); ++y) {
    if (s.reverse) std::reverse(ys[y].begin(), ys[y].end());
    if (ys[y].empty()) {
      TensorType t = body.type(body.outputs[nc + y]);
      Shape shape = t.shape;
      shape.insert(shape.begin(), 0);
      result.push_back(nx::zeros(shape, t.dtype));
    } else {
      result.push_back(nx::stack(ys[y], 0));
    }
  }
  return result;
}

}  // namespace

std::vector<Tensor> run_control(const Node& n, std::span<const Tensor> in) {
  if (recording()) {
    std::vector<TensorType> out_types;
    // The node's output types are those of the node being replayed: take them from the
    // subgraphs' outputs.
    if (n.kind == NodeKind::While) {
      const Graph& body = *n.subgraphs[1];
      for (int32_t v : body.outputs) out_types.push_back(body.type(v));
    } else if (n.kind == NodeKind::Cond) {
      const Graph& br = *n.subgraphs[0];
      for (int32_t v : br.outputs) out_types.push_back(br.type(v));
    } else {
      const Graph& body = *n.subgraphs[0];
      for (int i = 0; i < n.scan.num_carry; ++i) out_types.push_back(body.type(body.outputs[i]));
      for (int i = 0; i < n.scan.num_ys; ++i) {
        TensorType t = body.type(body.outputs[static_cast<size_t>(n.scan.num_carry + i)]);
        t.shape.insert(t.shape.begin(), n.scan.length);
        out_types.push_back(t);
      }
    }
    Node copy = n;
    return record_node(std::move(copy), in, out_types);
  }
  std::vector<Tensor> concrete;
  for (const Tensor& t : in) concrete.push_back(resolve_concrete(t, "nx: control flow"));
  switch (n.kind) {
    case NodeKind::While:
      return eager_while(n, concrete);
    case NodeKind::Cond: {
      bool p = concrete[0].item<bool>();
      return interpret(*n.subgraphs[p ? 0 : 1], std::span<const Tensor>(concrete).subspan(1));
    }
    default:
      return eager_scan(n, concrete);
  }
}

// ---- Reverse mode ----------------------------------------------------------------------------

namespace {

// Cotangents of a closed graph's inputs at `args`, given its output cotangents (zeros filled in
// for every input that is differentiable, so that the result has a fixed structure).
std::vector<Tensor> graph_vjp(const Graph& g, std::span<const Tensor> args,
                              std::span<const Tensor> cts, std::span<const bool> wanted) {
  std::vector<Tensor> env;
  interpret(g, args, &env);
  std::vector<Tensor> r = backward(g, env, cts, wanted);
  for (size_t i = 0; i < r.size(); ++i) {
    if (wanted[i]) r[i] = zeros_if_empty(r[i], args[i].type());
  }
  return r;
}

// The values of a scan body that its reverse pass should read from the forward pass instead of
// recomputing them: the outputs of contractions (matmuls, convolutions) that depend on the
// carries or the x slices (the first `num_varying` inputs). Empty when the body has a
// custom_grad node, whose replay needs interpret's own environment.
std::vector<int32_t> scan_residuals(const Graph& body, size_t num_varying) {
  std::vector<char> varies(body.num_values(), 0);
  std::vector<int32_t> saved;
  for (const Node& n : body.nodes) {
    if (n.kind == NodeKind::CustomGrad) return {};
    bool v = n.kind == NodeKind::Param && static_cast<size_t>(n.index) < num_varying;
    for (int32_t i : n.in) v = v || varies[static_cast<size_t>(i)] != 0;
    for (int32_t o : n.out) varies[static_cast<size_t>(o)] = v ? 1 : 0;
    if (v && n.kind == NodeKind::Prim &&
        (n.prim == Prim::dot_general || n.prim == Prim::conv_general)) {
      saved.push_back(n.out[0]);
    }
  }
  return saved;
}

// graph_vjp where the values `saved` (value ids of g) are given, so the nodes defining them are
// not replayed.
std::vector<Tensor> graph_vjp_given(const Graph& g, std::span<const Tensor> args,
                                    std::span<const int32_t> saved, std::span<const Tensor> values,
                                    std::span<const Tensor> cts, std::span<const bool> wanted) {
  std::vector<Tensor> env(g.num_values());
  std::vector<char> given(g.num_values(), 0);
  for (size_t k = 0; k < saved.size(); ++k) {
    env[static_cast<size_t>(saved[k])] = values[k];
    given[static_cast<size_t>(saved[k])] = 1;
  }
  std::vector<Tensor> in;
  for (const Node& n : g.nodes) {
    if (n.kind == NodeKind::Param) {
      env[static_cast<size_t>(n.out[0])] = args[static_cast<size_t>(n.index)];
      continue;
    }
    bool all_given = true;
    for (int32_t o : n.out) all_given = all_given && given[static_cast<size_t>(o)] != 0;
    if (all_given) continue;
    in.clear();
    for (int32_t v : n.in) in.push_back(env[static_cast<size_t>(v)]);
    std::vector<Tensor> outs = interpret_node(n, in, g);
    for (size_t i = 0; i < n.out.size(); ++i) env[static_cast<size_t>(n.out[i])] = outs[i];
  }
  std::vector<Tensor> r = backward(g, env, cts, wanted);
  for (size_t i = 0; i < r.size(); ++i) {
    if (wanted[i]) r[i] = zeros_if_empty(r[i], args[i].type());
  }
  return r;
}

std::unique_ptr<bool[]> float_mask(std::span<const Tensor> ts, std::span<const bool> wanted,
                                   size_t offset) {
  std::unique_ptr<bool[]> m(new bool[ts.size() + 1]);
  for (size_t i = 0; i < ts.size(); ++i) {
    bool w = offset + i >= wanted.size() ? true : wanted[offset + i];
    m[i] = w && is_float(ts[i].dtype());
  }
  return m;
}

std::vector<Tensor> pick(std::span<const Tensor> all, std::span<const bool> mask) {
  std::vector<Tensor> r;
  for (size_t i = 0; i < all.size(); ++i) {
    if (mask[i]) r.push_back(all[i]);
  }
  return r;
}

std::vector<Tensor> vjp_cond(const Node& n, std::span<const Tensor> in, std::span<const Tensor> ct,
                             std::span<const bool> wanted) {
  std::span<const Tensor> caps = in.subspan(1);
  auto mask = float_mask(caps, wanted, 1);
  std::span<const bool> want(mask.get(), caps.size());
  std::vector<Tensor> cts;
  const Graph& br = *n.subgraphs[0];
  for (size_t i = 0; i < ct.size(); ++i)
    cts.push_back(zeros_if_empty(ct[i], br.type(br.outputs[i])));
  auto branch = [&](size_t b) {
    return [&, b]() {
      return Tree::list([&] {
        Tree::List items;
        for (const Tensor& t : pick(graph_vjp(*n.subgraphs[b], caps, cts, want), want)) {
          items.push_back(Tree(t));
        }
        return items;
      }());
    };
  };
  Tree r = nx::cond(in[0], branch(0), branch(1));
  std::vector<Tensor> flat = tree_leaves(r);
  std::vector<Tensor> result(in.size());
  size_t k = 0;
  for (size_t i = 0; i < caps.size(); ++i) {
    if (want[i]) result[1 + i] = flat[k++];
  }
  return result;
}

Tree list_tree(std::span<const Tensor> ts) {
  Tree::List items;
  for (const Tensor& t : ts) items.push_back(Tree(t));
  return Tree::list(std::move(items));
}

std::vector<Tensor> vjp_scan(const Node& n, std::span<const Tensor> in, std::span<const Tensor> ct,
                             std::span<const bool> wanted) {
  const ScanInfo& s = n.scan;
  const Graph& body = *n.subgraphs[0];
  size_t nc = static_cast<size_t>(s.num_carry), nxs = static_cast<size_t>(s.num_xs);
  size_t ny = static_cast<size_t>(s.num_ys);
  std::span<const Tensor> init = in.subspan(0, nc);
  std::span<const Tensor> xs = in.subspan(nc, nxs);
  std::span<const Tensor> caps = in.subspan(nc + nxs);

  // Forward again, stacking the carry before each step and the residuals (the contractions'
  // outputs, so that the reverse pass does not recompute its matmuls).
  const std::vector<int32_t> saved = scan_residuals(body, nc + nxs);
  ScanResult fwd = nx::scan(
      list_tree(init), list_tree(xs),
      [&](const Tree& carry, const Tree& x) {
        std::vector<Tensor> args = concat_vec(tree_leaves(carry), tree_leaves(x));
        args.insert(args.end(), caps.begin(), caps.end());
        std::vector<Tensor> env;
        std::vector<Tensor> outs = interpret(body, args, saved.empty() ? nullptr : &env);
        std::vector<Tensor> ys = tree_leaves(carry);
        for (int32_t v : saved) ys.push_back(env[static_cast<size_t>(v)]);
        return std::pair<Tree, Tree>(list_tree(std::span<const Tensor>(outs).subspan(0, nc)),
                                     list_tree(ys));
      },
      ScanOptions{s.reverse, s.length});
  std::vector<Tensor> stacked = tree_leaves(fwd.ys);
  std::vector<Tensor> carries_before(stacked.begin(),
                                     stacked.begin() + static_cast<std::ptrdiff_t>(nc));

  // Body inputs: carries, x slices, captures. Which need cotangents: float carries always (they
  // chain), x slices and captures when wanted.
  size_t nb = nc + nxs + caps.size();
  std::unique_ptr<bool[]> want(new bool[nb + 1]);
  for (size_t i = 0; i < nb; ++i) {
    const TensorType& t = body.type(body.inputs[i]);
    bool w = i < nc ? true : (i < wanted.size() ? wanted[i] : false);
    want[i] = w && is_float(t.dtype);
  }
  std::span<const bool> want_span(want.get(), nb);

  std::vector<Tensor> ct_init;
  for (size_t c = 0; c < nc; ++c) {
    const TensorType& t = body.type(body.inputs[c]);
    if (want[c]) ct_init.push_back(zeros_if_empty(ct[c], t));
  }
  std::vector<Tensor> ct_caps0;
  for (size_t i = 0; i < caps.size(); ++i) {
    if (want[nc + nxs + i]) ct_caps0.push_back(nx::zeros_like(caps[i]));
  }
  // Scanned in the opposite direction: residual carries, x slices, and the ys' cotangents.
  std::vector<Tensor> scanned = carries_before;
  scanned.insert(scanned.end(), xs.begin(), xs.end());
  for (size_t y = 0; y < ny; ++y) {
    TensorType t = body.type(body.outputs[nc + y]);
    t.shape.insert(t.shape.begin(), s.length);
    scanned.push_back(zeros_if_empty(ct[nc + y], t));
  }
  scanned.insert(scanned.end(), stacked.begin() + static_cast<std::ptrdiff_t>(nc), stacked.end());
  Tree carry0 = Tree::list({list_tree(ct_init), list_tree(ct_caps0)});
  ScanResult bwd = nx::scan(
      carry0, list_tree(scanned),
      [&](const Tree& carry, const Tree& x) {
        std::vector<Tensor> sl = tree_leaves(x);
        std::vector<Tensor> args(sl.begin(), sl.begin() + static_cast<std::ptrdiff_t>(nc + nxs));
        args.insert(args.end(), caps.begin(), caps.end());
        std::vector<Tensor> ct_c = tree_leaves(carry[0]);
        std::vector<Tensor> cts;
        size_t k = 0;
        for (size_t c = 0; c < nc; ++c) cts.push_back(want[c] ? ct_c[k++] : Tensor());
        for (size_t y = 0; y < ny; ++y) cts.push_back(sl[nc + nxs + y]);
        std::vector<Tensor> g =
            saved.empty() ? graph_vjp(body, args, cts, want_span)
                          : graph_vjp_given(body, args, saved,
                                            std::span<const Tensor>(sl).subspan(nc + nxs + ny), cts,
                                            want_span);
        std::vector<Tensor> new_c, new_caps, ct_x;
        for (size_t c = 0; c < nc; ++c) {
          if (want[c]) new_c.push_back(g[c]);
        }
        std::vector<Tensor> acc = tree_leaves(carry[1]);
        k = 0;
        for (size_t i = 0; i < caps.size(); ++i) {
          if (want[nc + nxs + i]) {
            new_caps.push_back(nx::add(acc[k], g[nc + nxs + i]));
            ++k;
          }
        }
        for (size_t i = 0; i < nxs; ++i) {
          if (want[nc + i]) ct_x.push_back(g[nc + i]);
        }
        return std::pair<Tree, Tree>(Tree::list({list_tree(new_c), list_tree(new_caps)}),
                                     list_tree(ct_x));
      },
      ScanOptions{!s.reverse, s.length});

  std::vector<Tensor> result(in.size());
  std::vector<Tensor> fc = tree_leaves(bwd.carry[0]);
  std::vector<Tensor> fcap = tree_leaves(bwd.carry[1]);
  std::vector<Tensor> fx = tree_leaves(bwd.ys);
  size_t k = 0;
  for (size_t c = 0; c < nc; ++c) {
    if (want[c]) result[c] = fc[k++];
  }
  k = 0;
  for (size_t i = 0; i < nxs; ++i) {
    if (want[nc + i]) result[nc + i] = fx[k++];
  }
  k = 0;
  for (size_t i = 0; i < caps.size(); ++i) {
    if (want[nc + nxs + i]) result[nc + nxs + i] = fcap[k++];
  }
  return result;
}

std::vector<Tensor> vjp_while(const Node& n, std::span<const Tensor> in,
                              std::span<const Tensor> ct) {
  const Graph& cg = *n.subgraphs[0];
  const Graph& body = *n.subgraphs[1];
  size_t nc = static_cast<size_t>(n.scan.num_carry);
  std::span<const Tensor> init = in.subspan(0, nc);
  std::span<const Tensor> caps = in.subspan(nc);
  auto run_cond = [&](std::span<const Tensor> carry) {
    return interpret(cg, concat_vec(carry, caps))[0];
  };
  auto run_body = [&](std::span<const Tensor> carry) {
    return interpret(body, concat_vec(carry, caps));
  };
  // The trip count.
  Tree counted = nx::while_loop(
      Tree::list({list_tree(init), Tree(nx::scalar_int(0, DType::S64))}),
      [&](const Tree& s) { return run_cond(tree_leaves(s[0])); },
      [&](const Tree& s) {
        return Tree::list({list_tree(run_body(tree_leaves(s[0]))), Tree(nx::add(s[1].leaf(), 1))});
      });
  Tensor trips = counted[1].leaf();

  size_t nb = nc + caps.size();
  std::unique_ptr<bool[]> want(new bool[nb + 1]);
  for (size_t i = 0; i < nb; ++i) want[i] = is_float(body.type(body.inputs[i]).dtype);
  std::span<const bool> want_span(want.get(), nb);
  std::vector<Tensor> ct_c, ct_caps;
  for (size_t c = 0; c < nc; ++c) {
    if (want[c]) ct_c.push_back(zeros_if_empty(ct[c], body.type(body.inputs[c])));
  }
  for (size_t i = 0; i < caps.size(); ++i) {
    if (want[nc + i]) ct_caps.push_back(nx::zeros_like(caps[i]));
  }
  // k = trips-1 .. 0: recompute the state before step k, then pull the cotangent through it.
  Tree state = nx::while_loop(
      Tree::list({Tree(nx::subtract(trips, 1)), list_tree(ct_c), list_tree(ct_caps)}),
      [&](const Tree& s) { return nx::greater_equal(s[0].leaf(), 0); },
      [&](const Tree& s) {
        Tensor k = s[0].leaf();
        Tree before = nx::while_loop(
            Tree::list({list_tree(init), Tree(nx::scalar_int(0, DType::S64))}),
            [&](const Tree& r) { return nx::less(r[1].leaf(), k); },
            [&](const Tree& r) {
              return Tree::list(
                  {list_tree(run_body(tree_leaves(r[0]))), Tree(nx::add(r[1].leaf(), 1))});
            });
        std::vector<Tensor> args = concat_vec(tree_leaves(before[0]), caps);
        std::vector<Tensor> cc = tree_leaves(s[1]);
        std::vector<Tensor> cts;
        size_t j = 0;
        for (size_t c = 0; c < nc; ++c) cts.push_back(want[c] ? cc[j++] : Tensor());
        std::vector<Tensor> g = graph_vjp(body, args, cts, want_span);
        std::vector<Tensor> new_c, new_caps;
        for (size_t c = 0; c < nc; ++c) {
          if (want[c]) new_c.push_back(g[c]);
        }
        std::vector<Tensor> acc = tree_leaves(s[2]);
        j = 0;
        for (size_t i = 0; i < caps.size(); ++i) {
          if (want[nc + i]) {
            new_caps.push_back(nx::add(acc[j], g[nc + i]));
            ++j;
          }
        }
        return Tree::list({Tree(nx::subtract(k, 1)), list_tree(new_c), list_tree(new_caps)});
      });
  std::vector<Tensor> result(in.size());
  std::vector<Tensor> fc = tree_leaves(state[1]);
  std::vector<Tensor> fcap = tree_leaves(state[2]);
  size_t j = 0;
  for (size_t c = 0; c < nc; ++c) {
    if (want[c]) result[c] = fc[j++];
  }
  j = 0;
  for (size_t i = 0; i < caps.size(); ++i) {
    if (want[nc + i]) result[nc + i] = fcap[j++];
  }
  return result;
}

}  // namespace

std::vector<Tensor> vjp_control(const Node& n, std::span<const Tensor> in,
                                std::span<const Tensor> out, std::span<const Tensor> ct,
                                std::span<const bool> wanted) {
  (void)out;
  switch (n.kind) {
    case NodeKind::Cond:
      return vjp_cond(n, in, ct, wanted);
    case NodeKind::Scan:
      return vjp_scan(n, in, ct, wanted);
    default:
      return vjp_while(n, in, ct);
  }
}

}  // namespace detail

// ---- Public entry points ---------------------------------------------------------------------

using detail::Graph;
using detail::Node;
using detail::NodeKind;

Tree while_loop(const Tree& init, const std::function<Tensor(const Tree&)>& cond,
                const std::function<Tree(const Tree&)>& body) {
  const char* who = "nx::while_loop";
  if (!cond || !body) throw Error("nx::while_loop: the condition and body must be set");
  std::vector<Tensor> leaves = detail::resolved_leaves(init);
  TreeDef def = tree_structure(init);
  std::vector<TensorType> types = detail::types_of(leaves);
  if (!detail::recording()) {
    Tree state = tree_unflatten(def, leaves);
    while (detail::concrete_truth(who, cond(state))) {
      Tree next = body(state);
      detail::check_tree(who, "the body", def, types, next);
      state = tree_unflatten(def, detail::resolved_leaves(next));
    }
    return state;
  }
  detail::Traced c = detail::trace_function(types, [&](std::span<const Tensor> p) {
    return std::vector<Tensor>{detail::as_pred_scalar(who, cond(tree_unflatten(def, p)))};
  });
  detail::Traced b = detail::trace_function(types, [&](std::span<const Tensor> p) {
    Tree next = body(tree_unflatten(def, p));
    detail::check_tree(who, "the body", def, types, next);
    return tree_leaves(next);
  });
  std::vector<TensorType> bcap = detail::types_of(b.captures);
  std::vector<TensorType> ccap = detail::types_of(c.captures);
  detail::insert_inputs(*c.graph, c.graph->inputs.size(), bcap);
  detail::insert_inputs(*b.graph, leaves.size(), ccap);
  Node n;
  n.kind = NodeKind::While;
  n.subgraphs = {c.graph, b.graph};
  n.scan.num_carry = static_cast<int>(leaves.size());
  std::vector<Tensor> in = leaves;
  in.insert(in.end(), c.captures.begin(), c.captures.end());
  in.insert(in.end(), b.captures.begin(), b.captures.end());
  return tree_unflatten(def, detail::record_node(std::move(n), in, types));
}

Tree cond(const Tensor& pred, const std::function<Tree()>& on_true,
          const std::function<Tree()>& on_false) {
  const char* who = "nx::cond";
  if (!pred.defined()) throw Error("nx::cond: argument pred is an empty tensor");
  if (!on_true || !on_false) throw Error("nx::cond: both branches must be set");
  if (!detail::recording()) {
    Tree r = detail::concrete_truth(who, pred) ? on_true() : on_false();
    return tree_unflatten(tree_structure(r), detail::resolved_leaves(r));
  }
  Tensor p = detail::as_pred_scalar(who, pred);
  TreeDef def;
  std::vector<TensorType> types;
  detail::Traced t = detail::trace_function({}, [&](std::span<const Tensor>) {
    Tree r = on_true();
    def = tree_structure(r);
    std::vector<Tensor> leaves = tree_leaves(r);
    types = detail::types_of(leaves);
    return leaves;
  });
  detail::Traced f = detail::trace_function({}, [&](std::span<const Tensor>) {
    Tree r = on_false();
    detail::check_tree(who, "the false branch (compared with the true branch)", def, types, r);
    return tree_leaves(r);
  });
  std::vector<TensorType> tcap = detail::types_of(t.captures);
  std::vector<TensorType> fcap = detail::types_of(f.captures);
  detail::insert_inputs(*t.graph, t.graph->inputs.size(), fcap);
  detail::insert_inputs(*f.graph, 0, tcap);
  Node n;
  n.kind = NodeKind::Cond;
  n.subgraphs = {t.graph, f.graph};
  std::vector<Tensor> in = {p};
  in.insert(in.end(), t.captures.begin(), t.captures.end());
  in.insert(in.end(), f.captures.begin(), f.captures.end());
  return tree_unflatten(def, detail::record_node(std::move(n), in, types));
}

ScanResult scan(const Tree& init, const Tree& xs,
                const std::function<std::pair<Tree, Tree>(const Tree& carry, const Tree& x)>& f,
                const ScanOptions& opts) {
  const char* who = "nx::scan";
  if (!f) throw Error("nx::scan: the step function is empty");
  std::vector<Tensor> carry = detail::resolved_leaves(init);
  std::vector<Tensor> xl = detail::resolved_leaves(xs);
  TreeDef cdef = tree_structure(init), xdef = tree_structure(xs);
  std::vector<TensorType> ctypes = detail::types_of(carry);
  int64_t length = opts.length;
  for (size_t i = 0; i < xl.size(); ++i) {
    if (xl[i].rank() == 0) {
      throw Error("nx::scan: every leaf of xs needs a leading axis to scan over, got a scalar " +
                  type_string(xl[i].type()));
    }
    int64_t n = xl[i].shape()[0];
    if (length < 0) length = n;
    if (n != length) {
      throw Error("nx::scan: xs leaves disagree on the scanned length: " + std::to_string(length) +
                  " and " + std::to_string(n));
    }
  }
  if (length < 0) throw Error("nx::scan: xs has no leaves, so ScanOptions::length must be set");
  std::vector<TensorType> xtypes;
  for (const Tensor& x : xl) {
    TensorType t = x.type();
    t.shape.erase(t.shape.begin());
    xtypes.push_back(t);
  }
  std::vector<TensorType> all = ctypes;
  all.insert(all.end(), xtypes.begin(), xtypes.end());
  TreeDef ydef;
  std::vector<TensorType> ytypes;
  size_t nc = carry.size();
  // The body is traced in both modes: under tracing it becomes the Scan node's subgraph; eagerly
  // it is interpreted step by step (the same code path, so eager and compiled agree).
  detail::Traced b = detail::trace_function(all, [&](std::span<const Tensor> p) {
    Tree c = tree_unflatten(cdef, p.subspan(0, nc));
    Tree x = tree_unflatten(xdef, p.subspan(nc));
    auto [next, y] = f(c, x);
    detail::check_tree(who, "the step function's carry", cdef, ctypes, next);
    ydef = tree_structure(y);
    std::vector<Tensor> outs = tree_leaves(next);
    std::vector<Tensor> yl = tree_leaves(y);
    ytypes = detail::types_of(yl);
    outs.insert(outs.end(), yl.begin(), yl.end());
    return outs;
  });
  Node n;
  n.kind = NodeKind::Scan;
  n.subgraphs = {b.graph};
  n.scan = detail::ScanInfo{static_cast<int>(nc), static_cast<int>(xl.size()),
                            static_cast<int>(ytypes.size()), length, opts.reverse};
  std::vector<Tensor> in = carry;
  in.insert(in.end(), xl.begin(), xl.end());
  in.insert(in.end(), b.captures.begin(), b.captures.end());
  std::vector<Tensor> outs = detail::run_control(n, in);
  ScanResult r;
  r.carry = tree_unflatten(cdef, std::span<const Tensor>(outs).subspan(0, nc));
  r.ys = tree_unflatten(ydef, std::span<const Tensor>(outs).subspan(nc));
  return r;
}

}  // namespace nx
