// The graph IR's names, parameter rendering and invariant checks (dumps: graph_dump.cpp).
#include "graph.hpp"

#include <string>
#include <variant>

#include "graph_rewrite.hpp"

namespace nx::detail {

std::string_view node_kind_name(NodeKind k) {
  switch (k) {
    case NodeKind::Param:
      return "param";
    case NodeKind::Constant:
      return "constant";
    case NodeKind::Prim:
      return "prim";
    case NodeKind::StopGrad:
      return "stop_grad";
    case NodeKind::CustomGrad:
      return "custom_grad";
    case NodeKind::Hook:
      return "hook";
    case NodeKind::While:
      return "while";
    case NodeKind::Cond:
      return "cond";
    case NodeKind::Scan:
      return "scan";
    case NodeKind::Fused:
      return "fused";
  }
  return "unknown";
}

// ---- params_string -----------------------------------------------------------------------------

namespace {

std::string ints(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

std::string boolean(bool b) {
  return b ? "true" : "false";
}

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

std::string params_string(const Params& p) {
  // One overload per alternative and no catch-all: a new Params alternative is a compile error
  // here until it has a rendering.
  return std::visit(
      Overloaded{
          [](const NoParams&) { return std::string(); },
          [](const ConvertParams& q) { return "dtype=" + std::string(dtype_name(q.dtype)); },
          [](const BroadcastParams& q) {
            return "shape=" + ints(q.shape) + ", axes=" + ints(q.axes);
          },
          [](const ReshapeParams& q) { return "shape=" + ints(q.shape); },
          [](const AxesParams& q) { return "axes=" + ints(q.axes); },
          [](const SliceParams& q) {
            return "start=" + ints(q.start) + ", limit=" + ints(q.limit) +
                   ", strides=" + ints(q.strides);
          },
          [](const DynamicSliceParams& q) { return "sizes=" + ints(q.sizes); },
          [](const PadParams& q) {
            return "lo=" + ints(q.lo) + ", hi=" + ints(q.hi) + ", interior=" + ints(q.interior);
          },
          [](const ConcatParams& q) { return "axis=" + std::to_string(q.axis); },
          [](const IotaParams& q) {
            return "shape=" + ints(q.shape) + ", dtype=" + std::string(dtype_name(q.dtype)) +
                   ", axis=" + std::to_string(q.axis);
          },
          [](const ArgParams& q) {
            return "axis=" + std::to_string(q.axis) + ", tie_high=" + boolean(q.tie_high);
          },
          [](const DotParams& q) {
            return "contract_a=" + ints(q.contract_a) + ", batch_a=" + ints(q.batch_a) +
                   ", contract_b=" + ints(q.contract_b) + ", batch_b=" + ints(q.batch_b);
          },
          [](const ConvParams& q) {
            return "strides=" + ints(q.strides) + ", pad_lo=" + ints(q.pad_lo) +
                   ", pad_hi=" + ints(q.pad_hi) + ", lhs_dilation=" + ints(q.lhs_dilation) +
                   ", rhs_dilation=" + ints(q.rhs_dilation) +
                   ", feature_groups=" + std::to_string(q.feature_groups) +
                   ", batch_groups=" + std::to_string(q.batch_groups);
          },
          [](const WindowParams& q) {
            return "window=" + ints(q.window) + ", strides=" + ints(q.strides) +
                   ", pad_lo=" + ints(q.pad_lo) + ", pad_hi=" + ints(q.pad_hi) +
                   ", window_dilation=" + ints(q.window_dilation);
          },
          [](const GatherParams& q) { return "axes=" + ints(q.axes); },
          [](const SortParams& q) {
            return "axis=" + std::to_string(q.axis) + ", descending=" + boolean(q.descending);
          },
          [](const ScanParams& q) {
            return "axis=" + std::to_string(q.axis) + ", reverse=" + boolean(q.reverse);
          },
          [](const QrParams& q) { return "complete=" + boolean(q.complete); },
      },
      p);
}

// ---- verify ------------------------------------------------------------------------------------

namespace {

std::string value_name(int32_t v) {
  return "%" + std::to_string(v);
}

std::string node_label(const Node& n) {
  if (n.kind == NodeKind::Prim && static_cast<int>(n.prim) < kNumPrims) {
    return std::string(prim_name(n.prim));
  }
  return std::string(node_kind_name(n.kind));
}

std::string types_string(const std::vector<TensorType>& ts) {
  std::string s = "(";
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i) s += ", ";
    s += type_string(ts[i]);
  }
  return s + ")";
}

std::vector<TensorType> types_of(const Graph& g, std::span<const int32_t> vs) {
  std::vector<TensorType> out;
  out.reserve(vs.size());
  for (int32_t v : vs) out.push_back(g.type(v));
  return out;
}

class Verifier {
 public:
  explicit Verifier(std::string where) : where_(std::move(where)) {}

  void run(const Graph& g) {
    const size_t nv = g.num_values();
    std::vector<char> defined(nv, 0);
    std::vector<int32_t> param_value(g.inputs.size(), -1);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      at_ = "node " + std::to_string(i) + " (" + node_label(n) + ")";
      for (int32_t v : n.in) {
        check_id(v, nv, "reads");
        if (!defined[static_cast<size_t>(v)])
          fail("reads " + value_name(v) + " before it is defined");
      }
      for (int32_t v : n.out) {
        check_id(v, nv, "defines");
        if (defined[static_cast<size_t>(v)]) fail("defines " + value_name(v) + " twice");
        defined[static_cast<size_t>(v)] = 1;
      }
      check_node(g, n, param_value);
    }
    at_.clear();
    for (size_t v = 0; v < nv; ++v) {
      if (!defined[v]) fail("value " + value_name(static_cast<int32_t>(v)) + " is never defined");
    }
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      if (param_value[i] < 0 || param_value[i] != g.inputs[i]) {
        fail("input " + std::to_string(i) + " (" + value_name(g.inputs[i]) +
             ") is not defined by Param node with index " + std::to_string(i));
      }
    }
    for (int32_t v : g.outputs) {
      check_id(v, nv, "returns");
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = "nx::detail::verify: " + where_;
    if (!at_.empty()) msg += ": " + at_;
    throw Error(msg + ": " + what);
  }

  void check_id(int32_t v, size_t nv, const char* verb) const {
    if (v < 0 || static_cast<size_t>(v) >= nv) {
      fail(std::string(verb) + " " + value_name(v) +
           ", which is not a value of the graph (it has " + std::to_string(nv) + ")");
    }
  }

  void expect_arity(const Node& n, size_t ins, size_t outs) const {
    if (n.in.size() != ins || n.out.size() != outs) {
      fail("expected " + std::to_string(ins) + " inputs and " + std::to_string(outs) +
           " outputs, got " + std::to_string(n.in.size()) + " and " + std::to_string(n.out.size()));
    }
  }

  void expect_types(const std::vector<TensorType>& want, const std::vector<TensorType>& got,
                    const std::string& what) const {
    if (want != got) fail(what + ": expected " + types_string(want) + ", got " + types_string(got));
  }

  void expect_subgraphs(const Node& n, size_t count) const {
    if (n.subgraphs.size() != count) {
      fail("expected " + std::to_string(count) + " subgraphs, got " +
           std::to_string(n.subgraphs.size()));
    }
    for (const auto& sg : n.subgraphs) {
      if (!sg) fail("has a null subgraph");
    }
  }

  // Verifies subgraph `sg` recursively and checks its signature.
  void check_subgraph(const Graph& sg, const std::string& name, const std::vector<TensorType>& ins,
                      const std::vector<TensorType>& outs) const {
    Verifier(where_ + ": " + at_ + ", " + name).run(sg);
    expect_types(ins, types_of(sg, sg.inputs), name + " inputs");
    expect_types(outs, types_of(sg, sg.outputs), name + " outputs");
  }

  void check_node(const Graph& g, const Node& n, std::vector<int32_t>& param_value) const {
    std::vector<TensorType> in_t = types_of(g, n.in), out_t = types_of(g, n.out);
    switch (n.kind) {
      case NodeKind::Param: {
        expect_arity(n, 0, 1);
        if (n.index < 0 || static_cast<size_t>(n.index) >= g.inputs.size()) {
          fail("index " + std::to_string(n.index) + " is not an input position (the graph has " +
               std::to_string(g.inputs.size()) + " inputs)");
        }
        if (param_value[static_cast<size_t>(n.index)] >= 0) {
          fail("a second Param node for input " + std::to_string(n.index));
        }
        param_value[static_cast<size_t>(n.index)] = n.out[0];
        break;
      }
      case NodeKind::Constant:
        expect_arity(n, 0, 1);
        if (!n.constant.defined() || n.constant.is_template() || n.constant.is_traced()) {
          fail("does not hold a concrete tensor");
        }
        expect_types({n.constant.type()}, out_t, "output type");
        break;
      case NodeKind::Prim: {
        if (static_cast<int>(n.prim) >= kNumPrims) fail("unknown primitive");
        std::vector<TensorType> want;
        try {
          want = prim_output_types(n.prim, in_t, n.params);
        } catch (const Error& e) {
          fail(std::string("shape rule rejects the inputs: ") + e.what());
        }
        expect_types(want, out_t, "output types");
        break;
      }
      case NodeKind::StopGrad:
      case NodeKind::Hook:
        expect_arity(n, 1, 1);
        expect_types(in_t, out_t, "output type");
        if (n.kind == NodeKind::Hook && !n.hook) fail("has no hook function");
        break;
      case NodeKind::CustomGrad:
        if (n.in.empty() || n.out.size() != 1) {
          fail("expected at least one input and one output, got " + std::to_string(n.in.size()) +
               " and " + std::to_string(n.out.size()));
        }
        expect_types({in_t[0]}, out_t, "output type");
        if (!n.vjp) fail("has no vjp function");
        break;
      case NodeKind::While: {
        expect_subgraphs(n, 2);
        size_t carries = n.out.size();
        if (n.scan.num_carry != static_cast<int>(carries)) {
          fail("scan.num_carry is " + std::to_string(n.scan.num_carry) + " for " +
               std::to_string(carries) + " outputs (the carries)");
        }
        if (n.in.size() < carries) {
          fail("has " + std::to_string(n.in.size()) + " inputs for " + std::to_string(carries) +
               " carries");
        }
        std::vector<TensorType> carry_t(in_t.begin(), in_t.begin() + static_cast<long>(carries));
        expect_types(carry_t, out_t, "output types (the carries)");
        check_subgraph(*n.subgraphs[0], "cond", in_t, {TensorType{{}, DType::Pred}});
        check_subgraph(*n.subgraphs[1], "body", in_t, out_t);
        break;
      }
      case NodeKind::Cond: {
        expect_subgraphs(n, 2);
        if (n.in.empty() || in_t[0] != TensorType{{}, DType::Pred}) {
          fail("expected a pred scalar as input 0");
        }
        std::vector<TensorType> ops(in_t.begin() + 1, in_t.end());
        check_subgraph(*n.subgraphs[0], "true branch", ops, out_t);
        check_subgraph(*n.subgraphs[1], "false branch", ops, out_t);
        break;
      }
      case NodeKind::Scan:
        check_scan(n, in_t, out_t);
        break;
      case NodeKind::Fused:
        expect_subgraphs(n, 1);
        check_subgraph(*n.subgraphs[0], "program", in_t, out_t);
        break;
      default:
        fail("unknown node kind");
    }
  }

  void check_scan(const Node& n, const std::vector<TensorType>& in_t,
                  const std::vector<TensorType>& out_t) const {
    expect_subgraphs(n, 1);
    const ScanInfo& s = n.scan;
    if (s.num_carry < 0 || s.num_xs < 0 || s.num_ys < 0 || s.length < 0) {
      fail("negative counts in its scan info");
    }
    size_t nc = static_cast<size_t>(s.num_carry), nx = static_cast<size_t>(s.num_xs),
           ny = static_cast<size_t>(s.num_ys);
    if (in_t.size() < nc + nx || out_t.size() != nc + ny) {
      fail("expected at least " + std::to_string(nc + nx) + " inputs and " +
           std::to_string(nc + ny) + " outputs (carries " + std::to_string(nc) + ", xs " +
           std::to_string(nx) + ", ys " + std::to_string(ny) + "), got " +
           std::to_string(in_t.size()) + " and " + std::to_string(out_t.size()));
    }
    std::vector<TensorType> body_in, body_out;
    for (size_t i = 0; i < in_t.size(); ++i) {
      TensorType t = in_t[i];
      if (i >= nc && i < nc + nx) {
        if (t.shape.empty() || t.shape[0] != s.length) {
          fail("xs input " + std::to_string(i) + " (" + type_string(t) +
               ") does not have leading axis " + std::to_string(s.length));
        }
        t.shape.erase(t.shape.begin());
      }
      body_in.push_back(t);
    }
    for (size_t i = 0; i < nc; ++i) {
      if (out_t[i] != in_t[i]) {
        fail("carry " + std::to_string(i) + " comes in as " + type_string(in_t[i]) +
             " and goes out as " + type_string(out_t[i]));
      }
      body_out.push_back(out_t[i]);
    }
    for (size_t i = nc; i < out_t.size(); ++i) {
      TensorType t = out_t[i];
      if (t.shape.empty() || t.shape[0] != s.length) {
        fail("ys output " + std::to_string(i) + " (" + type_string(t) +
             ") does not have leading axis " + std::to_string(s.length));
      }
      t.shape.erase(t.shape.begin());
      body_out.push_back(t);
    }
    check_subgraph(*n.subgraphs[0], "body", body_in, body_out);
  }

  std::string where_;
  std::string at_;
};

}  // namespace

void verify(const Graph& g) {
  Verifier("graph").run(g);
}

}  // namespace nx::detail
