// The graph drawn as Mermaid and Graphviz (Axon.Display.as_graph), and the short printed
// forms of a model and of a model state (Axon's Inspect implementations).
#include <cstdio>
#include <ostream>
#include <string>
#include <unordered_map>

#include "axon/display.hpp"
#include "axon/model/display_trace.hpp"
#include "axon/model/program.hpp"
#include "nx/error.hpp"

namespace axon {

namespace {

struct Drawn {
  std::shared_ptr<const detail::Program> program;
  std::unordered_map<int64_t, std::string> ids;     // node id -> "n<k>" in order
  std::unordered_map<int64_t, std::string> labels;  // node id -> "name (op)[ type]"
};

Drawn prepare(const Model& model, const GraphOptions& opts, const char* fn) {
  if (!model.valid()) {
    throw nx::Error(std::string("axon::") + fn + ": the model is empty (default-constructed)");
  }
  Drawn d;
  d.program = detail::make_program(model);
  bool typed = !(opts.input_templates.is_map() && opts.input_templates.size() == 0);
  detail::ModelTrace trace;
  if (typed) trace = detail::trace_model(*d.program, opts.input_templates, Mode::Inference);
  size_t k = 0;
  for (const Node* n : d.program->order) {
    d.ids[n->id] = "n" + std::to_string(k++);
    std::string label = d.program->names.at(n->id) + " (" + n->op_name + ")";
    if (typed) {
      const detail::NodeTrace& t = trace.nodes.at(n->id);
      label += " " + (!t.present          ? std::string("None")
                      : t.types.is_leaf() ? nx::type_string(t.types.leaf().type())
                                          : t.types.to_string());
    }
    d.labels[n->id] = label;
  }
  return d;
}

std::string mermaid_escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' ? std::string("#quot;") : std::string(1, c);
  return out;
}

std::string dot_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string human_size(int64_t bytes) {
  return detail::decimal_size(bytes, {"B", "KB", "MB", "GB", "TB"}, false);
}

void count(const nx::Tree& t, int64_t& n, int64_t& bytes) {
  n = 0;
  bytes = 0;
  nx::tree_for_each(t, [&](const Tensor& x) {
    n += x.size();
    bytes += x.byte_size();
  });
}

}  // namespace

std::string as_mermaid(const Model& model, const GraphOptions& opts) {
  Drawn d = prepare(model, opts, "as_mermaid");
  std::string out =
      std::string("graph ") + (opts.direction == GraphDirection::TopDown ? "TD" : "LR") + ";\n";
  for (const Node* n : d.program->order) {
    const std::string label = "\"" + mermaid_escape(d.labels.at(n->id)) + "\"";
    out += "  " + d.ids.at(n->id) +
           (n->kind == NodeKind::Input ? "[/" + label + "/]" : "[" + label + "]") + ";\n";
  }
  for (const Node* n : d.program->order) {
    for (const Model& p : n->parents)
      out += "  " + d.ids.at(p.id()) + " --> " + d.ids.at(n->id) + ";\n";
  }
  return out;
}

std::string as_dot(const Model& model, const GraphOptions& opts) {
  Drawn d = prepare(model, opts, "as_dot");
  std::string out = "digraph axon {\n";
  out += std::string("  rankdir=") + (opts.direction == GraphDirection::TopDown ? "TB" : "LR") +
         ";\n  node [shape=box];\n";
  for (const Node* n : d.program->order) {
    out += "  " + d.ids.at(n->id) + " [label=\"" + dot_escape(d.labels.at(n->id)) + "\"" +
           (n->kind == NodeKind::Input ? ", shape=parallelogram" : "") + "];\n";
  }
  for (const Node* n : d.program->order) {
    for (const Model& p : n->parents)
      out += "  " + d.ids.at(p.id()) + " -> " + d.ids.at(n->id) + ";\n";
  }
  return out + "}\n";
}

std::ostream& operator<<(std::ostream& os, const Model& model) {
  if (!model.valid()) return os << "#Axon< empty >";
  auto program = detail::make_program(model);
  os << "#Axon< inputs: {";
  bool first = true;
  for (const Node* in : program->inputs) {
    os << (first ? "" : ", ") << '"' << in->name << "\": ";
    if (!in->input.has_shape) {
      os << "any";
    } else {
      os << '[';
      for (size_t d = 0; d < in->input.shape.size(); ++d) {
        int64_t v = in->input.shape[d];
        os << (d ? ", " : "") << (v == kDynamic ? std::string("?") : std::to_string(v));
      }
      os << ']';
    }
    first = false;
  }
  return os << "} outputs: \"" << program->names.at(program->output)
            << "\" nodes: " << program->order.size() << " >";
}

std::ostream& operator<<(std::ostream& os, const ModelState& state) {
  int64_t n = 0, b = 0;
  count(state.data, n, b);
  os << "#axon::ModelState<\n  Parameters: " << n << " (" << human_size(b) << ")\n";
  count(state.trainable_parameters(), n, b);
  os << "  Trainable Parameters: " << n << " (" << human_size(b) << ")\n";
  count(state.trainable_state(), n, b);
  return os << "  Trainable State: " << n << " (" << human_size(b) << ")\n>";
}

}  // namespace axon
