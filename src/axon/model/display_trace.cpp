// Tracing a model for its shapes: the evaluator runs under nx::jit with a per-node callback
// recording output types; the compiled function returns a constant, so the traced graph is
// dead code and nothing but shapes is ever computed.
#include "axon/model/display_trace.hpp"
#include <cstdio>

#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/random.hpp"

namespace axon::detail {

ModelTrace trace_model(const Program& program, const Tree& templates, Mode mode) {
  // A jit argument needs a buffer: templates become zeros (small; never read).
  Tree concrete = nx::tree_map(templates, [](const Tensor& t) {
    return t.is_template() ? nx::zeros(t.shape(), t.dtype()) : t;
  });
  std::map<std::string, Tree> bound = bind_inputs(program, concrete);
  Tree::Map args;
  for (auto& [name, value] : bound) args.emplace_back(name, value);

  ModelTrace trace;
  nx::JitFunction jit(
      [&](const Tree& a, const void*) -> Tree {
        std::map<std::string, Tree> ins;
        for (size_t i = 0; i < a[0].size(); ++i) ins[a[0].keys()[i]] = a[0][i];
        EvalOptions eo;
        eo.mode = mode;
        eo.initialize = true;
        eo.root_key = a[1].leaf();
        eo.on_node = [&](const Node& node, const Tree& out, bool present) {
          trace.nodes[node.id] = NodeTrace{present ? nx::tree_templates(out) : Tree(), present};
        };
        EvalResult r = evaluate(program, ins, Tree(), eo);
        trace.params = nx::tree_templates(r.params);
        trace.state_paths = r.state_paths;
        return Tree(nx::zeros({}, nx::f32));
      },
      nx::JitOptions{.name = "axon_trace"});
  jit(Tree::list({Tree(std::move(args)), Tree(nx::random::key(0))}));
  return trace;
}

std::string decimal_size(int64_t bytes, const std::array<const char*, 5>& units, bool trim) {
  if (bytes < 1000) return std::to_string(bytes) + " " + units[0];
  double v = static_cast<double>(bytes) / 1000.0;
  size_t u = 1;
  while (v >= 1000.0 && u < 4) {
    v /= 1000.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (trim && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s + " " + units[u];
}

}  // namespace axon::detail
