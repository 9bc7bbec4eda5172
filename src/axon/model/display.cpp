// The summary table (Axon.Display.as_table): one row per node, parents first, with the shapes
// traced once on the input templates.
#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "axon/display.hpp"
#include "axon/model/defs.hpp"
#include "axon/model/display_trace.hpp"
#include "axon/model/program.hpp"
#include "nx/error.hpp"

namespace axon {

namespace {

using Cell = std::vector<std::string>;  // lines

// Display width: UTF-8 code points (names and the Unicode borders are one column each).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

struct Borders {
  std::string h, v, top_l, top_m, top_r, mid_l, mid_m, mid_r, bot_l, bot_m, bot_r;
  std::string hh, head_l, head_m, head_r;  // the double rule under the title and the header
  std::string title_m;                     // where a column starts under the title
};

const Borders kAscii{"-", "|", "+", "+", "+", "+", "+", "+",
                     "+", "+", "+", "=", "+", "+", "+", "+"};
const Borders kUnicode{"─", "│", "┌", "┬", "┐", "├", "┼", "┤",
                       "└", "┴", "┘", "═", "╞", "╪", "╡", "╤"};

std::string render(const std::string& title, const std::vector<Cell>& header,
                   const std::vector<std::vector<Cell>>& rows, const Borders& b) {
  size_t cols = header.size();
  std::vector<size_t> w(cols, 0);
  auto measure = [&](const std::vector<Cell>& row) {
    for (size_t c = 0; c < cols; ++c)
      for (const auto& line : row[c]) w[c] = std::max(w[c], width(line));
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  size_t inner = cols - 1;  // the separators between columns
  for (size_t c = 0; c < cols; ++c) inner += w[c] + 2;
  if (width(title) + 2 > inner) {  // widen the last column for a long title
    w[cols - 1] += width(title) + 2 - inner;
    inner = width(title) + 2;
  }
  auto rule = [&](const std::string& l, const std::string& m, const std::string& r,
                  const std::string& h) {
    std::string s = l;
    for (size_t c = 0; c < cols; ++c) s += repeat(h, w[c] + 2) + (c + 1 < cols ? m : r);
    return s + "\n";
  };
  auto row = [&](const std::vector<Cell>& cells) {
    size_t height = 1;
    for (const auto& cell : cells) height = std::max(height, cell.size());
    std::string s;
    for (size_t line = 0; line < height; ++line) {
      s += b.v;
      for (size_t c = 0; c < cols; ++c) {
        std::string text = line < cells[c].size() ? cells[c][line] : "";
        s += " " + text + std::string(w[c] - width(text), ' ') + " " + b.v;
      }
      s += "\n";
    }
    return s;
  };
  std::string out = b.top_l + repeat(b.h, inner) + b.top_r + "\n";
  size_t left = (inner - width(title)) / 2;
  out += b.v + std::string(left, ' ') + title + std::string(inner - left - width(title), ' ') +
         b.v + "\n";
  out += rule(b.head_l, b.title_m, b.head_r, b.hh);
  out += row(header);
  out += rule(b.head_l, b.head_m, b.head_r, b.hh);
  for (size_t i = 0; i < rows.size(); ++i) {
    out += row(rows[i]);
    out += i + 1 < rows.size() ? rule(b.mid_l, b.mid_m, b.mid_r, b.h)
                               : rule(b.bot_l, b.bot_m, b.bot_r, b.h);
  }
  if (rows.empty()) out += rule(b.bot_l, b.bot_m, b.bot_r, b.h);
  return out;
}

std::string type_of(const detail::NodeTrace& t) {
  if (!t.present) return "None";
  return t.types.is_leaf() ? nx::type_string(t.types.leaf().type()) : t.types.to_string();
}

std::string dims(const nx::Shape& shape) {
  std::string s = "[";
  for (size_t d = 0; d < shape.size(); ++d)
    s += (d ? ", " : "") + (shape[d] == kDynamic ? std::string("?") : std::to_string(shape[d]));
  return s + "]";
}

const Tree* find_path(const Tree& t, const detail::ParamPath& path) {
  const Tree* at = &t;
  for (const auto& p : path) {
    at = at->find(p);
    if (!at) return nullptr;
  }
  return at;
}

Cell options_of(const Node& node) {
  Cell out;
  switch (node.kind) {
    case NodeKind::Input:
      out.push_back("shape: " + (node.input.has_shape ? dims(node.input.shape) : "any"));
      if (node.input.optional) out.push_back("optional: true");
      break;
    case NodeKind::Elem:
      if (!node.elem_path.empty()) {
        const std::string& k = node.elem_path[0];
        out.push_back(k[0] == '#' ? "index: " + k.substr(1) : "key: " + k);
      }
      break;
    case NodeKind::Container:
      if (node.container_keys.is_map()) {
        std::string keys;
        for (const auto& k : node.container_keys.keys()) keys += (keys.empty() ? "" : ", ") + k;
        out.push_back("keys: " + keys);
      }
      break;
    default:
      break;
  }
  for (const auto& [k, v] : node.options) out.push_back(k + ": " + v);
  if (node.mode == NodeMode::Train) out.push_back("mode: train only");
  if (node.mode == NodeMode::Inference) out.push_back("mode: inference only");
  return out;
}

}  // namespace

std::string format_memory(int64_t bytes) {
  return detail::decimal_size(bytes, {"bytes", "kilobytes", "megabytes", "gigabytes", "terabytes"},
                              true);
}

std::string summary(const Model& model, const nx::Tree& input_templates, SummaryOptions opts) {
  if (!model.valid()) throw nx::Error("axon::summary: the model is empty (default-constructed)");
  auto program = detail::make_program(model);
  detail::ModelTrace trace = detail::trace_model(*program, input_templates, opts.mode);

  std::vector<std::vector<Cell>> rows;
  std::set<int64_t> blocks_shown;
  for (const Node* node : program->order) {
    const std::string& name = program->names.at(node->id);
    Cell ins;
    for (const Model& p : node->parents) {
      ins.push_back(program->names.at(p.id()) + ": " + type_of(trace.nodes.at(p.id())));
    }
    Cell params;
    detail::ParamPath path = program->scopes.at(node->id);
    if (node->kind == NodeKind::Block) {
      const auto& def = *static_cast<const detail::BlockDef*>(node->sub.get());
      path.push_back(program->block_names.at(def.id));
      const Tree* sub = find_path(trace.params, path);
      if (blocks_shown.insert(def.id).second && sub) {
        for (const auto& leaf : nx::tree_flatten_with_paths(*sub))
          params.push_back(leaf.path + ": " + nx::type_string(leaf.tensor.type()));
      } else if (sub) {
        params.push_back("(shared with the first call of " + path.back() + ")");
      }
    } else {
      path.push_back(name);
      for (const Param& p : node->params) {
        detail::ParamPath full = path;
        full.push_back(p.name);
        const Tree* t = find_path(trace.params, full);
        if (!t) continue;
        std::string line = p.name + ": " + nx::type_string(t->leaf().type());
        if (p.kind == ParamKind::State) line += " (state)";
        params.push_back(line);
      }
    }
    rows.push_back({{name + " ( " + node->op_name + " )"},
                    ins,
                    {type_of(trace.nodes.at(node->id))},
                    options_of(*node),
                    params});
  }

  int64_t count = 0, bytes = 0, state_count = 0, state_bytes = 0;
  for (const auto& leaf : nx::tree_flatten_with_paths(trace.params)) {
    count += leaf.tensor.size();
    bytes += leaf.tensor.byte_size();
  }
  for (const auto& p : trace.state_paths) {
    if (const Tree* t = find_path(trace.params, p)) {
      state_count += t->leaf().size();
      state_bytes += t->leaf().byte_size();
    }
  }
  std::string out = render(
      "Model", {{"Layer"}, {"Input Shape(s)"}, {"Output Shape"}, {"Options"}, {"Parameters"}}, rows,
      opts.unicode ? kUnicode : kAscii);
  out += "Total Parameters: " + std::to_string(count) + "\n";
  out += "Total Parameters Memory: " + format_memory(bytes) + "\n";
  if (state_count > 0) {
    out += "  of which state: " + std::to_string(state_count) + " (" + format_memory(state_bytes) +
           ")\n";
  }
  return out;
}

}  // namespace axon
