// ONNX control flow: If, Loop and Scan (opsets 7..17), and the registration of the recurrent
// family (ops_rnn.cpp).
//
// The bodies are Subgraphs (OpCall::attr_graph) that run the same converters as the main graph,
// so they trace into nx's control-flow nodes:
// - If: a condition known at trace time (a constant, or computed from shapes) runs one branch;
//   one computed from data becomes nx::cond, whose branches must then agree on output types.
// - Loop: a loop whose termination is known at trace time is run as nx::scan (trip count M and
//   no condition, or a condition that the body keeps constant true): O(n) gradient, scan outputs
//   stacked. A loop whose inputs and outputs are all constants (shape arithmetic) runs eagerly
//   step by step, so its carried values may even change shape. A condition computed from data
//   becomes nx::while_loop; it cannot have scan outputs (their length would depend on the data)
//   and its gradient costs O(n^2) body evaluations (nx::while_loop's rule).
// - Scan (opset 8 with its batch axis, 9+ with scan_input/output_axes and _directions):
//   nx::scan over the scanned axes moved to the front.
// Loop-carried values and Scan states must keep their shape and type from step to step when
// traced (nx's loops have fixed state types); the error says so.
#include <algorithm>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import {

void register_rnn_ops();

namespace {

using nx::Tensor;
using nx::Tree;

Tree list_tree(const std::vector<Tensor>& ts) {
  Tree::List items;
  items.reserve(ts.size());
  for (const Tensor& t : ts) items.push_back(Tree(t));
  return Tree::list(std::move(items));
}

std::vector<Tensor> leaves(const Tree& t) {
  return nx::tree_leaves(t);
}

bool any_traced(const std::vector<Tensor>& ts) {
  return std::any_of(ts.begin(), ts.end(), [](const Tensor& t) { return t.is_traced(); });
}

// A one-element condition as a pred scalar.
Tensor as_condition(const OpCall& call, const Tensor& c, const std::string& what) {
  if (c.size() != 1) {
    call.fail(what + " must have one element, got " + nx::type_string(c.type()));
  }
  Tensor s = nx::reshape(c, {});
  return s.dtype() == nx::DType::Pred ? s : nx::not_equal(s, 0);
}

bool truth(const Tensor& c) {
  return c.item<double>() != 0;
}

// Runs `f`; an error of nx's loops themselves (a state that changed type) gets `hint`
// appended and names the node; any other error passes unchanged.
template <class F>
auto with_hint(const OpCall& call, const std::string& hint, F&& f) {
  try {
    return f();
  } catch (const nx::Error& e) {
    std::string msg = e.what();
    bool from_loop = msg.find("nx::scan:") != std::string::npos ||
                     msg.find("nx::while_loop:") != std::string::npos ||
                     msg.find("nx::cond:") != std::string::npos;
    if (!from_loop) throw;
    call.fail(msg + " (" + hint + ")");
  }
}

// ---- If ---------------------------------------------------------------------------------------

std::vector<Tensor> convert_if(const OpCall& call) {
  const Tensor& c = call.input(0);
  Tensor pred = as_condition(call, c, "the condition");
  Subgraph then_branch = call.attr_graph("then_branch");
  Subgraph else_branch = call.attr_graph("else_branch");
  if (!c.is_traced()) return truth(c) ? then_branch({}) : else_branch({});
  Tree r = with_hint(
      call,
      "the condition is computed from the model's data, so both branches are compiled and must "
      "give outputs of the same shapes and types",
      [&] {
        return nx::cond(
            pred, [&] { return list_tree(then_branch({})); },
            [&] { return list_tree(else_branch({})); });
      });
  return leaves(r);
}

// ---- Loop -------------------------------------------------------------------------------------

// Thrown out of a traced scan body when the loop turns out not to be a counted loop.
struct NotCounted : std::exception {};

// The most steps a counted loop is unrolled into a trace when its body cannot be one step.
constexpr int64_t kMaxUnrolled = 1024;

// Whether nx is tracing on this thread (an op on constants then gives a traced tensor).
bool tracing() {
  return (nx::scalar(0, nx::DType::F32) + 1.0).is_traced();
}

struct LoopSpec {
  Subgraph body;
  bool has_trip = false, has_cond = false;
  Tensor trip;  // s64 scalar
  Tensor cond;  // pred scalar
  std::vector<Tensor> carried;
};

std::vector<Tensor> body_outputs(const OpCall& call, const LoopSpec& s, const Tensor& iter,
                                 const Tensor& cond, const std::vector<Tensor>& carried) {
  std::vector<Tensor> args = {iter, cond};
  args.insert(args.end(), carried.begin(), carried.end());
  std::vector<Tensor> outs = s.body(args);
  if (outs.size() < 1 + carried.size()) {
    call.fail("the body returns " + std::to_string(outs.size()) +
              " outputs; it must return the "
              "condition and the " +
              std::to_string(carried.size()) + " loop-carried values");
  }
  return outs;
}

std::vector<Tensor> stack_outputs(const std::vector<std::vector<Tensor>>& per_step) {
  std::vector<Tensor> out;
  for (const std::vector<Tensor>& ys : per_step) out.push_back(nx::stack(ys, 0));
  return out;
}

// Step by step in C++, with concrete iteration numbers: eagerly when nothing is traced, else
// unrolled into the trace (so a body may use its iteration number where a converter needs a
// constant, e.g. as a Slice start, and its carried values may change shape). Runs at most
// `max_steps` steps; returns nullopt when the condition output of some step is computed from
// data (the caller then needs a while loop).
std::optional<std::vector<Tensor>> loop_unrolled(const OpCall& call, const LoopSpec& s,
                                                 int64_t max_steps) {
  const int64_t trip = s.has_trip ? s.trip.item<int64_t>() : -1;
  bool go = !s.has_cond || truth(s.cond);
  const size_t n = s.carried.size();
  std::vector<Tensor> carried = s.carried;
  std::vector<std::vector<Tensor>> scans;
  int64_t i = 0;
  for (; go && (trip < 0 || i < trip); ++i) {
    if (i >= max_steps) {
      call.fail("the loop would be unrolled past " + std::to_string(max_steps) + " steps");
    }
    std::vector<Tensor> outs = body_outputs(call, s, nx::scalar_int(i, nx::DType::S64),
                                            nx::scalar(1, nx::DType::Pred), carried);
    if (s.has_cond) {
      as_condition(call, outs[0], "the body's condition output");
      if (outs[0].is_traced()) return std::nullopt;
      go = truth(outs[0]);
    }
    carried.assign(outs.begin() + 1, outs.begin() + 1 + static_cast<std::ptrdiff_t>(n));
    size_t k = outs.size() - 1 - n;
    if (i == 0) scans.resize(k);
    if (scans.size() != k) call.fail("the body's number of outputs changed between steps");
    for (size_t j = 0; j < k; ++j) scans[j].push_back(outs[1 + n + j]);
  }
  std::vector<Tensor> result = carried;
  if (i == 0) {
    // No step ran: the scan outputs are empty, with the types one step would give.
    std::vector<Tensor> outs = body_outputs(call, s, nx::scalar_int(0, nx::DType::S64),
                                            nx::scalar(1, nx::DType::Pred), carried);
    for (size_t j = 1 + n; j < outs.size(); ++j) {
      nx::Shape shape = outs[j].shape();
      shape.insert(shape.begin(), 0);
      result.push_back(nx::zeros(shape, outs[j].dtype()));
    }
    return result;
  }
  for (size_t j = 0; j < scans.size(); ++j) {
    try {
      result.push_back(nx::stack(scans[j], 0));
    } catch (const nx::Error& e) {
      call.fail("scan output " + std::to_string(j) + " changes shape between steps: " + e.what());
    }
  }
  return result;
}

// As nx::scan over a known trip count. Throws NotCounted when the body's condition output is
// not a constant true while the loop has a condition input.
std::vector<Tensor> loop_counted(const OpCall& call, const LoopSpec& s, int64_t trip) {
  const size_t n = s.carried.size();
  nx::ScanOptions opts;
  opts.length = trip;
  Tensor iters = nx::iota({trip}, nx::DType::S64);
  nx::ScanResult r = nx::scan(
      list_tree(s.carried), Tree::list({Tree(iters)}),
      [&](const Tree& carry, const Tree& x) {
        std::vector<Tensor> outs =
            body_outputs(call, s, x[0].leaf(), nx::scalar(1, nx::DType::Pred), leaves(carry));
        if (s.has_cond) {
          const Tensor& c = outs[0];
          if (c.is_traced() || c.size() != 1 || !truth(c)) {
            throw NotCounted();
          }
        }
        std::vector<Tensor> next(outs.begin() + 1,
                                 outs.begin() + 1 + static_cast<std::ptrdiff_t>(n));
        std::vector<Tensor> ys(outs.begin() + 1 + static_cast<std::ptrdiff_t>(n), outs.end());
        return std::pair<Tree, Tree>(list_tree(next), list_tree(ys));
      },
      opts);
  std::vector<Tensor> result = leaves(r.carry);
  std::vector<Tensor> ys = leaves(r.ys);
  result.insert(result.end(), ys.begin(), ys.end());
  return result;
}

// As nx::while_loop: the condition is computed from data.
std::vector<Tensor> loop_while(const OpCall& call, const LoopSpec& s) {
  const size_t n = s.carried.size();
  std::vector<Tensor> init = {nx::scalar_int(0, nx::DType::S64),
                              s.has_cond ? s.cond : nx::scalar(1, nx::DType::Pred)};
  init.insert(init.end(), s.carried.begin(), s.carried.end());
  Tree final_state = nx::while_loop(
      list_tree(init),
      [&](const Tree& st) {
        Tensor go = st[1].leaf();
        if (s.has_trip) go = nx::logical_and(go, nx::less(st[0].leaf(), s.trip));
        return go;
      },
      [&](const Tree& st) {
        std::vector<Tensor> l = leaves(st);
        std::vector<Tensor> carried(l.begin() + 2, l.end());
        std::vector<Tensor> outs = body_outputs(call, s, l[0], l[1], carried);
        if (outs.size() != 1 + n) {
          call.fail(
              "the loop's condition is computed from the model's data, so its number of "
              "steps is unknown when compiling, and its " +
              std::to_string(outs.size() - 1 - n) +
              " scan output(s) cannot be stacked (only loops with a trip count and no "
              "data-dependent condition may have scan outputs)");
        }
        std::vector<Tensor> next = {
            l[0] + 1, s.has_cond ? as_condition(call, outs[0], "the body's condition") : l[1]};
        next.insert(next.end(), outs.begin() + 1, outs.end());
        return list_tree(next);
      });
  std::vector<Tensor> l = leaves(final_state);
  return std::vector<Tensor>(l.begin() + 2, l.end());
}

std::vector<Tensor> convert_loop(const OpCall& call) {
  LoopSpec s;
  s.body = call.attr_graph("body");
  s.has_trip = call.has_input(0);
  s.has_cond = call.has_input(1);
  if (s.has_trip) {
    const Tensor& m = call.input(0);
    if (m.size() != 1 || !nx::is_integer(m.dtype())) {
      call.fail("the trip count M must be one integer, got " + nx::type_string(m.type()));
    }
    s.trip = m.is_traced() ? nx::as_type(nx::reshape(m, {}), nx::DType::S64)
                           : nx::scalar_int(m.item<int64_t>(), nx::DType::S64);
  }
  if (s.has_cond) {
    const Tensor& c = call.input(1);
    s.cond = as_condition(call, c, "the condition");
    if (!c.is_traced()) s.cond = nx::scalar(truth(c) ? 1 : 0, nx::DType::Pred);
  }
  for (size_t i = 2; i < call.num_inputs(); ++i) s.carried.push_back(call.input(i));
  if (!s.has_trip && !s.has_cond) {
    call.fail("a loop with neither a trip count nor a condition never ends");
  }

  const bool all_concrete = (!s.has_trip || !s.trip.is_traced()) &&
                            (!s.has_cond || !s.cond.is_traced()) && !any_traced(s.carried);
  if (all_concrete && !tracing()) {
    if (auto r = loop_unrolled(call, s, std::numeric_limits<int64_t>::max())) return *r;
  }
  const bool counted =
      s.has_trip && !s.trip.is_traced() && (!s.has_cond || (!s.cond.is_traced() && truth(s.cond)));
  if (counted) {
    const int64_t trip = std::max<int64_t>(s.trip.item<int64_t>(), 0);
    try {
      return loop_counted(call, s, trip);
    } catch (const NotCounted&) {
      // The body's condition depends on data: a while loop below.
    } catch (const nx::Error& e) {
      // A body that needs its iteration number as a constant (a Slice start, say) or whose
      // carried values change shape cannot be one traced step: unroll it, when short enough.
      std::string msg = e.what();
      bool needs_unroll =
          msg.find("must be known when the model is compiled") != std::string::npos ||
          msg.find("nx::scan:") != std::string::npos;
      if (!needs_unroll) throw;
      if (trip > kMaxUnrolled) {
        call.fail(msg + " (the body cannot be compiled as one step, and " + std::to_string(trip) +
                  " steps are too many to unroll: at most " + std::to_string(kMaxUnrolled) + ")");
      }
      if (auto r = loop_unrolled(call, s, trip)) return *r;
      throw;
    }
  } else if (s.has_cond && !s.cond.is_traced() && !truth(s.cond)) {
    return *loop_unrolled(call, s, 0);  // no step runs
  }
  return with_hint(call,
                   "the loop is compiled, so its loop-carried values must keep their shapes and "
                   "types",
                   [&] { return loop_while(call, s); });
}

// ---- Scan -------------------------------------------------------------------------------------

int64_t normalize_axis(const OpCall& call, int64_t axis, int64_t rank, const std::string& what) {
  if (axis < -rank || axis >= rank) {
    call.fail(what + " " + std::to_string(axis) + " is out of range for rank " +
              std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

// x with `axis` moved to the front.
Tensor axis_to_front(const Tensor& x, int64_t axis) {
  if (axis == 0) return x;
  nx::Axes perm = {axis};
  for (int64_t a = 0; a < x.rank(); ++a) {
    if (a != axis) perm.push_back(a);
  }
  return nx::transpose(x, perm);
}

// x with its leading axis moved to `axis`.
Tensor front_to_axis(const Tensor& x, int64_t axis) {
  if (axis == 0) return x;
  nx::Axes perm;
  for (int64_t a = 1; a < x.rank(); ++a) perm.push_back(a);
  perm.insert(perm.begin() + axis, 0);
  return nx::transpose(x, perm);
}

std::vector<int64_t> per_input(const OpCall& call, const std::string& name, size_t count) {
  std::vector<int64_t> v = call.attr_ints(name, std::vector<int64_t>(count, 0));
  if (v.size() != count) {
    call.fail("attribute " + name + " must have " + std::to_string(count) + " values, got " +
              std::to_string(v.size()));
  }
  return v;
}

// One scan over the leading axis of `xs`: (final states, scan outputs {T, ...}).
std::pair<std::vector<Tensor>, std::vector<Tensor>> scan_body(const OpCall& call,
                                                              const Subgraph& body,
                                                              const std::vector<Tensor>& states,
                                                              const std::vector<Tensor>& xs) {
  const size_t n = states.size();
  nx::ScanResult r = with_hint(
      call, "the scan is compiled, so its state variables must keep their shapes and types", [&] {
        return nx::scan(list_tree(states), list_tree(xs), [&](const Tree& carry, const Tree& x) {
          std::vector<Tensor> args = leaves(carry);
          std::vector<Tensor> xl = leaves(x);
          args.insert(args.end(), xl.begin(), xl.end());
          std::vector<Tensor> outs = body(args);
          if (outs.size() < n) {
            call.fail("the body returns " + std::to_string(outs.size()) +
                      " outputs, fewer than the " + std::to_string(n) + " state variables");
          }
          std::vector<Tensor> next(outs.begin(), outs.begin() + static_cast<std::ptrdiff_t>(n));
          std::vector<Tensor> ys(outs.begin() + static_cast<std::ptrdiff_t>(n), outs.end());
          return std::pair<Tree, Tree>(list_tree(next), list_tree(ys));
        });
      });
  return {leaves(r.carry), leaves(r.ys)};
}

std::vector<Tensor> convert_scan9(const OpCall& call) {
  Subgraph body = call.attr_graph("body");
  const int64_t m = call.attr_int("num_scan_inputs", -1);
  const size_t total = call.num_inputs();
  if (m < 1 || static_cast<size_t>(m) > total) {
    call.fail("num_scan_inputs must be between 1 and the number of inputs (" +
              std::to_string(total) + "), got " + std::to_string(m));
  }
  const size_t n = total - static_cast<size_t>(m);
  std::vector<Tensor> states, xs;
  for (size_t i = 0; i < n; ++i) states.push_back(call.input(i));
  std::vector<int64_t> axes = per_input(call, "scan_input_axes", static_cast<size_t>(m));
  std::vector<int64_t> dirs = per_input(call, "scan_input_directions", static_cast<size_t>(m));
  for (size_t j = 0; j < static_cast<size_t>(m); ++j) {
    Tensor x = call.input(n + j);
    if (x.rank() < 1) call.fail("scan input " + std::to_string(j) + " is a scalar");
    x = axis_to_front(x, normalize_axis(call, axes[j], x.rank(), "scan_input_axes value"));
    if (dirs[j] != 0) x = nx::reverse(x, {0});
    xs.push_back(x);
  }
  auto [final_states, ys] = scan_body(call, body, states, xs);
  std::vector<int64_t> out_axes = per_input(call, "scan_output_axes", ys.size());
  std::vector<int64_t> out_dirs = per_input(call, "scan_output_directions", ys.size());
  std::vector<Tensor> result = final_states;
  for (size_t k = 0; k < ys.size(); ++k) {
    Tensor y = ys[k];
    if (out_dirs[k] != 0) y = nx::reverse(y, {0});
    result.push_back(
        front_to_axis(y, normalize_axis(call, out_axes[k], y.rank(), "scan_output_axes value")));
  }
  return result;
}

// Opset 8: inputs (sequence_lens, states..., scan inputs...), every input has a leading batch
// axis, the scanned axis is 1. Each example is scanned on its own (the batch is static in a
// trace); steps past an example's length give zeros.
std::vector<Tensor> convert_scan8(const OpCall& call) {
  Subgraph body = call.attr_graph("body");
  const int64_t m = call.attr_int("num_scan_inputs", -1);
  const size_t total = call.num_inputs();
  if (m < 1 || static_cast<size_t>(m) + 1 > total) {
    call.fail("num_scan_inputs must be between 1 and the number of inputs after sequence_lens (" +
              std::to_string(total - 1) + "), got " + std::to_string(m));
  }
  const size_t n = total - 1 - static_cast<size_t>(m);
  std::vector<int64_t> dirs = per_input(call, "directions", static_cast<size_t>(m));
  const Tensor& first = call.input(1 + n);
  if (first.rank() < 2) call.fail("scan inputs need a batch and a sequence axis");
  const int64_t batch = first.shape()[0], steps = first.shape()[1];
  std::vector<int64_t> lens(static_cast<size_t>(batch), steps);
  if (call.has_input(0)) {
    lens = call.ints_input(0);
    if (static_cast<int64_t>(lens.size()) != batch) {
      call.fail("sequence_lens must have " + std::to_string(batch) + " values");
    }
    for (int64_t l : lens) {
      if (l < 0 || l > steps)
        call.fail("sequence_lens values must lie in [0, " + std::to_string(steps) + "], got " +
                  std::to_string(l));
    }
  }
  std::vector<std::vector<Tensor>> per_output;
  for (int64_t b = 0; b < batch; ++b) {
    auto pick = [&](const Tensor& t) {
      if (t.rank() < 1 || t.shape()[0] != batch) {
        call.fail("every input needs the batch axis of size " + std::to_string(batch) + ", got " +
                  nx::type_string(t.type()));
      }
      return nx::squeeze(nx::slice_along_axis(t, b, 1, 0), {0});
    };
    const int64_t len = lens[static_cast<size_t>(b)];
    if (len == 0) call.fail("sequence_lens values of 0 are not supported");
    std::vector<Tensor> states, xs;
    for (size_t i = 0; i < n; ++i) states.push_back(pick(call.input(1 + i)));
    for (size_t j = 0; j < static_cast<size_t>(m); ++j) {
      Tensor x = pick(call.input(1 + n + j));
      if (x.rank() < 1 || x.shape()[0] != steps) {
        call.fail("every scan input needs the sequence axis of size " + std::to_string(steps));
      }
      x = nx::slice_along_axis(x, 0, len, 0);
      if (dirs[j] != 0) x = nx::reverse(x, {0});
      xs.push_back(x);
    }
    auto [final_states, ys] = scan_body(call, body, states, xs);
    std::vector<Tensor> outs = final_states;
    for (Tensor y : ys) {
      if (len < steps) {
        std::vector<nx::PadConfig> pad(static_cast<size_t>(y.rank()));
        pad[0].hi = steps - len;
        y = nx::pad(y, nx::scalar(0, y.dtype()), pad);
      }
      outs.push_back(y);
    }
    per_output.resize(outs.size());
    for (size_t k = 0; k < outs.size(); ++k) per_output[k].push_back(outs[k]);
  }
  return stack_outputs(per_output);
}

std::vector<Tensor> convert_scan(const OpCall& call) {
  if (call.opset() < 8) call.fail("Scan needs opset 8 or later");
  return call.opset() == 8 ? convert_scan8(call) : convert_scan9(call);
}

}  // namespace

void register_control_ops() {
  register_op({"If", convert_if, 1});
  register_op({"Loop", convert_loop, 1});
  register_op({"Scan", convert_scan, 8});
  register_rnn_ops();
}

}  // namespace axon::onnx_import
