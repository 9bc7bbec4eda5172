// Nested graphs (If branches, Loop and Scan bodies): evaluated node by node with the same
// converters as the main graph, reading the enclosing scopes' values by name. They run inside
// the layer of the node that owns them, so they trace, compile and differentiate with it.
#include <map>

#include "axon/onnx/importer.hpp"
#include "nx/error.hpp"

namespace axon::onnx_import {

namespace {

void collect_free(const ::onnx::GraphProto& g, std::set<std::string>& out) {
  std::set<std::string> defined;
  for (const auto& i : g.input()) defined.insert(i.name());
  for (const auto& t : g.initializer()) defined.insert(t.name());
  for (const auto& t : g.sparse_initializer()) defined.insert(t.values().name());
  for (const auto& n : g.node()) {
    for (const auto& in : n.input()) {
      if (!in.empty() && !defined.count(in)) out.insert(in);
    }
    for (const auto& a : n.attribute()) {
      std::set<std::string> inner;
      if (a.has_g()) collect_free(a.g(), inner);
      for (const auto& sub : a.graphs()) collect_free(sub, inner);
      for (const auto& v : inner) {
        if (!defined.count(v)) out.insert(v);
      }
    }
    for (const auto& o : n.output()) {
      if (!o.empty()) defined.insert(o);
    }
  }
  for (const auto& o : g.output()) {
    if (!defined.count(o.name())) out.insert(o.name());
  }
}

}  // namespace

std::set<std::string> free_variables(const ::onnx::GraphProto& g) {
  std::set<std::string> out;
  collect_free(g, out);
  return out;
}

std::string sanitize_name(const std::string& name) {
  if (name.empty()) return "_";
  std::string s = name;
  for (char& c : s) {
    if (c == '.' || c == '{' || c == '}') c = '_';
  }
  return s;
}

void check_node_supported(const ::onnx::NodeProto& node, const std::string& name,
                          const std::string& what, int64_t opset) {
  const std::string& d = node.domain();
  if (!d.empty() && d != "ai.onnx") {
    throw nx::Error(what + ": node " + name + " (" + node.op_type() + ") is in domain '" + d +
                    "'; only the default ONNX domain is supported");
  }
  if (!find_op(node.op_type())) {
    throw nx::Error(what + ": node " + name + " has op type " + node.op_type() +
                    ", which the importer does not support (axon::onnx::supported_operators() "
                    "lists those it does)");
  }
  const int64_t since = find_op(node.op_type())->since_opset;
  if (opset < since) {
    throw nx::Error(what + ": node " + name + " (" + node.op_type() + ") at opset " +
                    std::to_string(opset) + ": the importer converts " + node.op_type() +
                    " as defined from opset " + std::to_string(since) +
                    " on, and its older form differs");
  }
  for (const auto& a : node.attribute()) {
    std::vector<const ::onnx::GraphProto*> graphs;
    if (a.has_g()) graphs.push_back(&a.g());
    for (const auto& g : a.graphs()) graphs.push_back(&g);
    for (const auto* g : graphs) {
      int k = 0;
      for (const auto& inner : g->node()) {
        std::string inner_name =
            inner.name().empty() ? inner.op_type() + "_" + std::to_string(k) : inner.name();
        check_node_supported(inner, name + "/" + a.name() + "/" + inner_name, what, opset);
        ++k;
      }
    }
  }
}

Subgraph make_subgraph(const ::onnx::GraphProto& g, std::shared_ptr<const Env> outer,
                       std::shared_ptr<const ImportContext> ctx) {
  // The graph's initializers once, here (they are constants of the body).
  auto consts = std::make_shared<Env>();
  for (const auto& t : g.initializer()) {
    (*consts)[t.name()] = tensor_from_proto(
        t, *ctx, ctx->what + ": subgraph " + g.name() + " initializer " + t.name());
  }
  const ::onnx::GraphProto* graph = &g;  // kept alive by ctx->proto
  return [graph, outer, ctx, consts](const std::vector<nx::Tensor>& args) {
    const std::string gname = graph->name().empty() ? std::string("subgraph") : graph->name();
    if (args.size() != static_cast<size_t>(graph->input_size())) {
      throw nx::Error(ctx->what + ": " + gname + " takes " + std::to_string(graph->input_size()) +
                      " inputs, got " + std::to_string(args.size()));
    }
    // Scope: outer values, shadowed by this graph's initializers, inputs and node outputs.
    auto env = std::make_shared<Env>(outer ? *outer : Env{});
    for (const auto& [k, v] : *consts) (*env)[k] = v;
    for (int i = 0; i < graph->input_size(); ++i) (*env)[graph->input(i).name()] = args[i];
    int k = 0;
    for (const auto& node : graph->node()) {
      std::string name =
          node.name().empty() ? node.op_type() + "_" + std::to_string(k) : node.name();
      ++k;
      std::vector<nx::Tensor> ins;
      for (const auto& in : node.input()) {
        if (in.empty()) {
          ins.emplace_back();
          continue;
        }
        auto it = env->find(in);
        if (it == env->end()) {
          throw nx::Error(ctx->what + ": " + gname + ": input " + in + " of node " + name +
                          " is not defined before it");
        }
        ins.push_back(it->second);
      }
      // Nested graphs of this node see everything defined so far.
      auto snapshot = std::make_shared<const Env>(*env);
      std::vector<nx::Tensor> outs = run_node(node, name, ins, snapshot, ctx);
      for (int o = 0; o < node.output_size() && static_cast<size_t>(o) < outs.size(); ++o) {
        if (!node.output(o).empty()) (*env)[node.output(o)] = outs[o];
      }
    }
    std::vector<nx::Tensor> results;
    for (const auto& o : graph->output()) {
      auto it = env->find(o.name());
      if (it == env->end()) {
        throw nx::Error(ctx->what + ": " + gname + ": output " + o.name() + " is not computed");
      }
      results.push_back(it->second);
    }
    return results;
  };
}

}  // namespace axon::onnx_import
