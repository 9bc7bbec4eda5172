// Text and Graphviz renderings of graphs (graph.hpp), for dumps, error messages and tests.
#include <charconv>
#include <cmath>
#include <sstream>
#include <string>
#include <type_traits>

#include "../core/visit_dtype.hpp"
#include "graph.hpp"

namespace nx::detail {

namespace {

std::string value_name(int32_t v) {
  return "%" + std::to_string(v);
}

std::string boolean(bool b) {
  return b ? "true" : "false";
}

}  // namespace

// ---- dump_text ---------------------------------------------------------------------------------

namespace {

constexpr int64_t kShownConstantElements = 16;

template <class T>
std::string format_float(T v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string format_element(const Tensor& t, int64_t i) {
  return visit_dtype(t.dtype(), [&](auto tag) -> std::string {
    using T = typename decltype(tag)::type;
    T v = static_cast<const T*>(t.raw_data())[i];
    if constexpr (std::is_same_v<T, bool>) {
      return v ? "true" : "false";
    } else if constexpr (is_half_v<T>) {
      return format_float(static_cast<float>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
      return format_float(v);
    } else {
      return std::to_string(v);
    }
  });
}

// "2", "[1, 2, 3]" (row-major) or "{1000 elements}".
std::string constant_string(const Tensor& t) {
  if (!t.defined() || t.is_template() || t.is_traced()) return "<no data>";
  if (t.shape().empty()) return format_element(t, 0);
  if (t.size() > kShownConstantElements) return "{" + std::to_string(t.size()) + " elements}";
  std::string s = "[";
  for (int64_t i = 0; i < t.size(); ++i) {
    if (i) s += ", ";
    s += format_element(t, i);
  }
  return s + "]";
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Names of a node's subgraphs, in order.
std::string_view subgraph_name(const Node& n, size_t i) {
  switch (n.kind) {
    case NodeKind::While:
      return i == 0 ? "cond" : "body";
    case NodeKind::Cond:
      return i == 0 ? "true" : "false";
    case NodeKind::Fused:
      return "program";
    default:
      return "body";
  }
}

// The operation part of a node's line: "add(%1, %2) {...}".
std::string op_string(const Node& n) {
  std::string s;
  switch (n.kind) {
    case NodeKind::Param:
      return "param " + std::to_string(n.index);
    case NodeKind::Constant:
      return "constant " + constant_string(n.constant);
    case NodeKind::Prim:
      s = std::string(prim_name(n.prim));
      break;
    default:
      s = std::string(node_kind_name(n.kind));
  }
  s += "(";
  for (size_t i = 0; i < n.in.size(); ++i) {
    if (i) s += ", ";
    s += value_name(n.in[i]);
  }
  s += ")";
  std::string attrs;
  auto add = [&](const std::string& a) {
    if (a.empty()) return;
    if (!attrs.empty()) attrs += ", ";
    attrs += a;
  };
  if (n.kind == NodeKind::Prim) add(params_string(n.params));
  if (n.kind == NodeKind::Scan) {
    add("num_carry=" + std::to_string(n.scan.num_carry) +
        ", num_xs=" + std::to_string(n.scan.num_xs) + ", num_ys=" + std::to_string(n.scan.num_ys) +
        ", length=" + std::to_string(n.scan.length) + ", reverse=" + boolean(n.scan.reverse));
  }
  if (n.kind == NodeKind::Fused && info(n.prim).group == PrimGroup::Reduce) {
    add("reduce=" + std::string(prim_name(n.prim)));
    add(params_string(n.params));
  }
  if (!n.name.empty()) add("name=" + quoted(n.name));
  if (!attrs.empty()) s += " {" + attrs + "}";
  return s;
}

void write_text(std::ostringstream& os, const Graph& g, const std::string& indent) {
  for (const Node& n : g.nodes) {
    os << indent;
    for (size_t i = 0; i < n.out.size(); ++i) {
      if (i) os << ", ";
      os << value_name(n.out[i]) << ":" << type_string(g.type(n.out[i]));
    }
    if (!n.out.empty()) os << " = ";
    os << op_string(n);
    if (!n.subgraphs.empty()) {
      os << " {\n";
      for (size_t i = 0; i < n.subgraphs.size(); ++i) {
        os << indent << "  " << subgraph_name(n, i) << " {\n";
        if (n.subgraphs[i]) write_text(os, *n.subgraphs[i], indent + "    ");
        os << indent << "  }\n";
      }
      os << indent << "}";
    }
    os << "\n";
  }
  os << indent << "return";
  for (size_t i = 0; i < g.outputs.size(); ++i) os << (i ? ", " : " ") << value_name(g.outputs[i]);
  os << "\n";
}

}  // namespace

std::string dump_text(const Graph& g) {
  std::ostringstream os;
  write_text(os, g, "");
  return os.str();
}

// ---- dump_dot ----------------------------------------------------------------------------------

namespace {

std::string dot_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Writes graph g with node ids prefixed by `prefix` (unique across nesting). Returns the id of
// its "return" node, which an enclosing graph links to the node owning g.
std::string write_dot(std::ostringstream& os, const Graph& g, const std::string& prefix,
                      const std::string& indent) {
  std::vector<int32_t> def(g.num_values(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int32_t v : g.nodes[i].out) {
      if (v >= 0 && static_cast<size_t>(v) < def.size()) def[static_cast<size_t>(v)] = int32_t(i);
    }
  }
  auto id = [&](size_t i) { return prefix + "n" + std::to_string(i); };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::string label = op_string(n);
    if (n.kind != NodeKind::Param && n.kind != NodeKind::Constant) {
      // Inputs show as edges; the label keeps the operation and its attributes.
      label = n.kind == NodeKind::Prim ? std::string(prim_name(n.prim))
                                       : std::string(node_kind_name(n.kind));
      std::string attrs = op_string(n);
      size_t brace = attrs.find(" {");
      if (brace != std::string::npos)
        label += "\n" + attrs.substr(brace + 2, attrs.size() - brace - 3);
    }
    for (int32_t v : n.out) {
      label += "\n" + value_name(v) + ": " +
               (static_cast<size_t>(v) < g.num_values() ? type_string(g.type(v)) : "?");
    }
    std::string style;
    switch (n.kind) {
      case NodeKind::Param:
        style = ", shape=invhouse, style=filled, fillcolor=\"#d8e8ff\"";
        break;
      case NodeKind::Constant:
        style = ", shape=note, style=filled, fillcolor=\"#eeeeee\"";
        break;
      case NodeKind::Fused:
        style = ", shape=box3d, style=\"filled,bold\", fillcolor=\"#ffd27f\"";
        break;
      case NodeKind::Hook:
        style = ", style=filled, fillcolor=\"#c8f0c8\"";
        break;
      case NodeKind::While:
      case NodeKind::Cond:
      case NodeKind::Scan:
        style = ", shape=hexagon";
        break;
      default:
        break;
    }
    os << indent << id(i) << " [label=\"" << dot_escape(label) << "\"" << style << "];\n";
    for (int32_t v : n.in) {
      if (v < 0 || static_cast<size_t>(v) >= def.size() || def[static_cast<size_t>(v)] < 0)
        continue;
      os << indent << id(static_cast<size_t>(def[static_cast<size_t>(v)])) << " -> " << id(i)
         << ";\n";
    }
    for (size_t s = 0; s < n.subgraphs.size(); ++s) {
      if (!n.subgraphs[s]) continue;
      std::string sub = id(i) + "s" + std::to_string(s) + "_";
      std::string name = std::string(node_kind_name(n.kind)) + " " +
                         value_name(n.out.empty() ? -1 : n.out[0]) + ": " +
                         std::string(subgraph_name(n, s));
      os << indent << "subgraph cluster_" << sub << " {\n";
      os << indent << "  label=\"" << dot_escape(name) << "\";\n";
      if (n.kind == NodeKind::Fused) {
        os << indent << "  style=\"filled,bold\"; fillcolor=\"#fff3d6\"; color=\"#e0a030\";\n";
      } else {
        os << indent << "  style=dashed;\n";
      }
      std::string ret = write_dot(os, *n.subgraphs[s], sub, indent + "  ");
      os << indent << "}\n";
      os << indent << ret << " -> " << id(i) << " [style=dashed, label=\"" << subgraph_name(n, s)
         << "\"];\n";
    }
  }
  std::string ret = prefix + "ret";
  os << indent << ret << " [label=\"return\", shape=oval];\n";
  for (int32_t v : g.outputs) {
    if (v < 0 || static_cast<size_t>(v) >= def.size() || def[static_cast<size_t>(v)] < 0) continue;
    os << indent << id(static_cast<size_t>(def[static_cast<size_t>(v)])) << " -> " << ret << ";\n";
  }
  return ret;
}

}  // namespace

std::string dump_dot(const Graph& g, std::string_view title) {
  std::ostringstream os;
  os << "digraph \"" << dot_escape(title) << "\" {\n";
  os << "  label=\"" << dot_escape(title) << "\";\n";
  os << "  node [shape=box, fontname=\"monospace\", fontsize=10];\n";
  os << "  edge [fontname=\"monospace\", fontsize=9];\n";
  write_dot(os, g, "", "  ");
  os << "}\n";
  return os.str();
}

}  // namespace nx::detail
