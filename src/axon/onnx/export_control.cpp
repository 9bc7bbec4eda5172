// The ONNX exporter: control flow. while_loop -> Loop (the condition evaluated before the loop
// and at the end of each body), cond -> If, scan -> Loop with a trip count whose body gathers the
// step's slices; values a body reads from the enclosing graph are outer-scope references.
#include <limits>
#include <string>
#include <variant>

#include "axon/onnx/export_emit.hpp"
#include "nx/error.hpp"

namespace axon::onnx::detail {

using nx::DType;
using nx::TensorType;
using nx::detail::NodeKind;

namespace {

void attr_graph(::onnx::NodeProto* n, const std::string& name, ::onnx::GraphProto g) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::GRAPH);
  *a->mutable_g() = std::move(g);
}

}  // namespace

std::vector<std::string> Emitter::emit_control(Ctx& c, const Node& na, const Node& nb) {
  auto x = [&](size_t i) { return c.in(na, i); };
  // Adds typed outputs (through Identity, so that a body never returns an outer name as is).
  auto finish = [&](::onnx::GraphProto& g, Ctx& sub, const std::vector<std::string>& outs,
                    const std::vector<std::pair<TensorType, TensorType>>& types) {
    for (size_t i = 0; i < outs.size(); ++i) {
      std::string o = fresh("out");
      add(sub, "Identity", {outs[i]}, {o});
      auto* vi = g.add_output();
      vi->set_name(o);
      set_type(vi, types[i].first, types[i].second);
    }
  };
  auto typed_input = [&](::onnx::GraphProto& g, const std::string& name, const TensorType& a,
                         const TensorType& b) {
    auto* vi = g.add_input();
    vi->set_name(name);
    set_type(vi, a, b);
  };
  const TensorType scalar_s64{{}, DType::S64};
  const TensorType scalar_pred{{}, DType::Pred};
  auto as_pred = [&](Ctx& cc, const std::string& v, const TensorType& t) {
    if (t.dtype == DType::Pred) return v;
    return op1(cc, "Not", {op1(cc, "Equal", {v, scalar(0, t.dtype)})});
  };
  std::vector<std::string> results;
  for (int32_t v : na.out) {
    (void)v;
    results.push_back(fresh(std::string(nx::detail::node_kind_name(na.kind))));
  }
  auto out_types = [&](const Graph& ga, const Graph& gb) {
    std::vector<std::pair<TensorType, TensorType>> t;
    for (size_t i = 0; i < ga.outputs.size(); ++i)
      t.emplace_back(ga.type(ga.outputs[i]), gb.type(gb.outputs[i]));
    return t;
  };

  if (na.kind == NodeKind::Cond) {
    std::vector<std::string> caps;
    for (size_t i = 1; i < na.in.size(); ++i) caps.push_back(x(i));
    std::string pred = as_pred(c, x(0), c.ta(na.in[0]));
    auto* n = add(c, "If", {pred}, results);
    const char* names[2] = {"then_branch", "else_branch"};
    for (int k = 0; k < 2; ++k) {
      const Graph& ga = *na.subgraphs[static_cast<size_t>(k)];
      const Graph& gb = *nb.subgraphs[static_cast<size_t>(k)];
      ::onnx::GraphProto g;
      g.set_name(fresh(names[k]));
      Ctx sub{ga, gb, &g, {}, {}, {}};
      std::vector<std::string> outs = emit_graph(ga, gb, &g, caps);
      finish(g, sub, outs, out_types(ga, gb));
      attr_graph(n, names[k], std::move(g));
    }
    return results;
  }

  const size_t nc = static_cast<size_t>(na.scan.num_carry);
  ::onnx::GraphProto body;
  body.set_name(fresh(na.kind == NodeKind::While ? "while_body" : "scan_body"));
  Ctx sub{*na.subgraphs.back(), *nb.subgraphs.back(), &body, {}, {}, {}};
  std::string iter = fresh("iter"), cond_in = fresh("cond_in");
  typed_input(body, iter, scalar_s64, scalar_s64);
  typed_input(body, cond_in, scalar_pred, scalar_pred);
  std::vector<std::string> carry_in;
  const Graph& bodya = *na.subgraphs.back();
  const Graph& bodyb = *nb.subgraphs.back();
  for (size_t i = 0; i < nc; ++i) {
    carry_in.push_back(fresh("carry"));
    typed_input(body, carry_in.back(), bodya.type(bodya.inputs[i]), bodyb.type(bodyb.inputs[i]));
  }
  std::vector<std::pair<TensorType, TensorType>> body_out_types = {{scalar_pred, scalar_pred}};

  if (na.kind == NodeKind::While) {
    const Graph& conda = *na.subgraphs[0];
    const Graph& condb = *nb.subgraphs[0];
    std::vector<std::string> carries, caps;
    for (size_t i = 0; i < na.in.size(); ++i) (i < nc ? carries : caps).push_back(x(i));
    std::vector<std::string> init_args = carries;
    init_args.insert(init_args.end(), caps.begin(), caps.end());
    std::string c0 = emit_graph(conda, condb, c.g, init_args)[0];
    c0 = as_pred(c, c0, conda.type(conda.outputs[0]));
    std::vector<std::string> args = carry_in;
    args.insert(args.end(), caps.begin(), caps.end());
    std::vector<std::string> outs = emit_graph(bodya, bodyb, &body, args);
    std::vector<std::string> cargs = outs;
    cargs.insert(cargs.end(), caps.begin(), caps.end());
    std::string cn = emit_graph(conda, condb, &body, cargs)[0];
    cn = as_pred(sub, cn, conda.type(conda.outputs[0]));
    outs.insert(outs.begin(), cn);
    auto t = out_types(bodya, bodyb);
    body_out_types.insert(body_out_types.end(), t.begin(), t.end());
    finish(body, sub, outs, body_out_types);
    std::vector<std::string> loop_in = {"", c0};
    loop_in.insert(loop_in.end(), carries.begin(), carries.end());
    attr_graph(add(c, "Loop", loop_in, results), "body", std::move(body));
    return results;
  }

  // Scan.
  const auto& si = na.scan;
  if (si.length != nb.scan.length) throw NotDynamic("a scan's length depends on the batch");
  const size_t nx_ = static_cast<size_t>(si.num_xs);
  std::vector<std::string> carries, xs, caps;
  for (size_t i = 0; i < na.in.size(); ++i)
    (i < nc ? carries : i < nc + nx_ ? xs : caps).push_back(x(i));
  std::string idx = iter;
  if (si.reverse) idx = op1(sub, "Sub", {int_scalar(si.length - 1), iter});
  std::vector<std::string> args = carry_in;
  for (const std::string& xv : xs) {
    auto* g = add(sub, "Gather", {xv, idx}, {fresh("x_t")});
    attr_i(g, "axis", 0);
    args.push_back(g->output(0));
  }
  args.insert(args.end(), caps.begin(), caps.end());
  std::vector<std::string> outs = emit_graph(bodya, bodyb, &body, args);
  outs.insert(outs.begin(), cond_in);
  auto t = out_types(bodya, bodyb);
  body_out_types.insert(body_out_types.end(), t.begin(), t.end());
  finish(body, sub, outs, body_out_types);
  std::vector<std::string> loop_in = {int_scalar(si.length), ""};
  loop_in.insert(loop_in.end(), carries.begin(), carries.end());
  std::vector<std::string> loop_out = results;
  if (si.reverse) {
    for (size_t i = nc; i < loop_out.size(); ++i) loop_out[i] = fresh("ys_rev");
  }
  attr_graph(add(c, "Loop", loop_in, loop_out), "body", std::move(body));
  if (si.reverse) {
    for (size_t i = nc; i < loop_out.size(); ++i) {
      add(c, "Slice",
          {loop_out[i], ints(c, {-1}), ints(c, {std::numeric_limits<int64_t>::min()}), ints(c, {0}),
           ints(c, {-1})},
          {results[i]});
    }
  }
  return results;
}

std::vector<std::string> Emitter::emit_cumulative(Ctx& c, const Node& na, const Node& nb) {
  // cumulative_max/min/product: a Loop over the axis whose carry is the running value and whose
  // scan output stacks it (ONNX has CumSum only).
  const auto& sp = std::get<nx::detail::ScanParams>(na.params);
  const TensorType& xa = c.ta(na.in[0]);
  const TensorType& xb = c.tb(na.in[0]);
  const size_t ax = static_cast<size_t>(sp.axis);
  const int64_t len = xa.shape[ax];
  if (len != xb.shape[ax]) throw NotDynamic("a cumulative op runs along the batch axis");
  const nx::detail::Prim p = na.prim;
  const char* op = p == nx::detail::Prim::cumulative_max   ? "Max"
                   : p == nx::detail::Prim::cumulative_min ? "Min"
                                                           : "Mul";
  TensorType ca = xa, cb = xb;
  ca.shape.erase(ca.shape.begin() + static_cast<std::ptrdiff_t>(ax));
  cb.shape.erase(cb.shape.begin() + static_cast<std::ptrdiff_t>(ax));
  if (len <= 1) return {op1(c, "Identity", {c.in(na, 0)})};
  // The first slice (in walking order) starts the carry, so no identity element is needed; the
  // loop walks the other len - 1 slices.
  std::string first = fresh("first");
  auto* g0 = add(c, "Gather", {c.in(na, 0), int_scalar(sp.reverse ? len - 1 : 0)}, {first});
  attr_i(g0, "axis", sp.axis);

  ::onnx::GraphProto body;
  body.set_name(fresh("cumulative_body"));
  Ctx sub{c.a, c.b, &body, {}, {}, {}};
  std::string iter = fresh("iter"), cond_in = fresh("cond_in"), carry = fresh("carry");
  const TensorType s64{{}, DType::S64}, pr{{}, DType::Pred};
  auto in = [&](const std::string& n, const TensorType& a, const TensorType& b) {
    auto* vi = body.add_input();
    vi->set_name(n);
    set_type(vi, a, b);
  };
  in(iter, s64, s64);
  in(cond_in, pr, pr);
  in(carry, ca, cb);
  std::string idx = sp.reverse ? op1(sub, "Sub", {int_scalar(len - 2), iter})
                               : op1(sub, "Add", {iter, int_scalar(1)});
  auto* g = add(sub, "Gather", {c.in(na, 0), idx}, {fresh("x_t")});
  attr_i(g, "axis", sp.axis);
  std::string next = op1(sub, op, {carry, g->output(0)});
  std::vector<std::pair<std::string, TensorType>> outs;
  std::string o0 = fresh("out"), o1 = fresh("out"), o2 = fresh("out");
  add(sub, "Identity", {cond_in}, {o0});
  add(sub, "Identity", {next}, {o1});
  add(sub, "Identity", {next}, {o2});
  auto out = [&](const std::string& n, const TensorType& a, const TensorType& b) {
    auto* vi = body.add_output();
    vi->set_name(n);
    set_type(vi, a, b);
  };
  out(o0, pr, pr);
  out(o1, ca, cb);
  out(o2, ca, cb);
  std::string final_carry = fresh("carry_final"), ys = fresh("cumulative");
  auto* loop = add(c, "Loop", {int_scalar(len - 1), "", first}, {final_carry, ys});
  attr_graph(loop, "body", std::move(body));
  std::string r = fresh("stacked");
  auto* cat = add(c, "Concat", {op1(c, "Unsqueeze", {first, ints(c, {0})}), ys}, {r});
  attr_i(cat, "axis", 0);
  if (sp.reverse) {
    r = op1(c, "Slice",
            {r, ints(c, {-1}), ints(c, {std::numeric_limits<int64_t>::min()}), ints(c, {0}),
             ints(c, {-1})});
  }
  if (ax != 0) {
    std::vector<int64_t> perm;
    for (size_t i = 1; i <= ax; ++i) perm.push_back(static_cast<int64_t>(i));
    perm.push_back(0);
    for (size_t i = ax + 1; i < xa.shape.size(); ++i) perm.push_back(static_cast<int64_t>(i));
    auto* t = add(c, "Transpose", {r}, {fresh("cumulative_t")});
    attr_ints(t, "perm", perm);
    r = t->output(0);
  }
  return {r};
}

}  // namespace axon::onnx::detail
