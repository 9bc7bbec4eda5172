// Unrolling over time (static: a C++ loop; dynamic: nx::scan), the lstm and gru sequence
// functions, and bidirectional runs.
//
// lstm and gru compute the input projections of every step as one matmul on the time-major
// input ({T, B, F} x {F, 4 units}) before the loop, so the loop body is one {B, units} x
// {units, 4 units} matmul plus elementwise gates; nx::jit fuses the gates, and the gradient of
// the scan is a reverse scan whose weight gradients accumulate in the loop carry.
#include <string>

#include "axon/fn/check.hpp"
#include "axon/fn/recurrent.hpp"
#include "nx/defn.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/shape.hpp"
#include "recurrent_internal.hpp"

namespace axon::fn {

namespace detail::rnn {

Tensor swap_batch_time(const Tensor& x) {
  nx::Axes perm;
  for (int64_t a = 0; a < x.rank(); ++a) perm.push_back(a);
  std::swap(perm[0], perm[1]);
  return nx::transpose(x, perm);
}

Tensor sequence_mask(std::string_view fn, const Tensor& mask, int64_t batch, int64_t time) {
  if (!mask.defined()) return {};
  if (mask.rank() == 0) {
    if (!mask.is_traced() && mask.item<double>() == 0.0) return {};
    return nx::broadcast(nx::not_equal(mask, 0.0), {batch, time});
  }
  if (mask.shape() != nx::Shape{batch, time}) {
    fail(fn, "mask must be a scalar or have shape " + nx::shape_repr({batch, time}) +
                 " (batch, time), got " + describe(mask));
  }
  return nx::not_equal(mask, 0.0);
}

namespace {

nx::Tree list_of(const std::vector<Tensor>& ts) {
  nx::Tree::List items;
  for (const Tensor& t : ts) items.emplace_back(t);
  return nx::Tree::list(std::move(items));
}

std::vector<Tensor> leaves_of(const nx::Tree& t) {
  std::vector<Tensor> out;
  for (const nx::Tree& c : t.children()) out.push_back(c.leaf());
  return out;
}

Tensor time_slice(const Tensor& x, int64_t t) {
  return nx::squeeze(nx::slice_along_axis(x, t, 1, 0), {0});
}

}  // namespace

RecurrentOutput unroll_time_major(const StepFn& step, const std::vector<Tensor>& xs,
                                  const std::vector<Tensor>& carry, const Tensor& mask,
                                  Unroll unroll) {
  if (unroll == Unroll::Static) {
    const int64_t time = xs.at(0).axis_size(0);
    std::vector<Tensor> outputs, c = carry, x(xs.size());
    for (int64_t t = 0; t < time; ++t) {
      for (size_t k = 0; k < xs.size(); ++k) x[k] = time_slice(xs[k], t);
      RecurrentOutput r = step(x, c, mask.defined() ? time_slice(mask, t) : Tensor());
      outputs.push_back(r.output);
      c = std::move(r.carry);
    }
    return {nx::stack(outputs, 0), c};
  }
  std::vector<Tensor> scanned = xs;
  if (mask.defined()) scanned.push_back(mask);
  const size_t nx_in = xs.size();
  nx::ScanResult r =
      nx::scan(list_of(carry), list_of(scanned), [&](const nx::Tree& c, const nx::Tree& slice) {
        std::vector<Tensor> s = leaves_of(slice);
        Tensor m = s.size() > nx_in ? s.back() : Tensor();
        s.resize(nx_in);
        RecurrentOutput o = step(s, leaves_of(c), m);
        return std::pair<nx::Tree, nx::Tree>(list_of(o.carry), nx::Tree(o.output));
      });
  return {r.ys.leaf(), leaves_of(r.carry)};
}

}  // namespace detail::rnn

namespace {

using detail::describe;
using detail::fail;

// Checks a {B, T, ...} input and returns {B, T}.
std::pair<int64_t, int64_t> check_sequence(std::string_view fn, const Tensor& input,
                                           int64_t min_rank) {
  if (!input.defined()) fail(fn, "input is missing");
  detail::check_min_rank(fn, "input", input, min_rank);
  if (input.axis_size(1) < 1)
    fail(fn, "input must have at least one time step, got " + describe(input));
  return {input.axis_size(0), input.axis_size(1)};
}

RecurrentOutput unroll_cell(std::string_view fn, const CellFn& cell, const Tensor& input,
                            const std::vector<Tensor>& carry, const Tensor& mask, Unroll unroll) {
  if (!cell) fail(fn, "the cell function is empty");
  auto [batch, time] = check_sequence(fn, input, 2);
  Tensor m = detail::rnn::sequence_mask(fn, mask, batch, time);
  detail::rnn::StepFn step = [&](const std::vector<Tensor>& x, const std::vector<Tensor>& c,
                                 const Tensor& mt) { return cell(x[0], c, mt); };
  RecurrentOutput r =
      detail::rnn::unroll_time_major(step, {detail::rnn::swap_batch_time(input)}, carry,
                                     m.defined() ? nx::transpose(m) : Tensor(), unroll);
  return {detail::rnn::swap_batch_time(r.output), r.carry};
}

void check_features(std::string_view fn, const Tensor& input, int64_t features) {
  detail::check_rank(fn, "input", input, 3);
  detail::check_float(fn, "input", input);
  if (input.axis_size(2) != features) {
    fail(fn, "input must have " + std::to_string(features) +
                 " features (the input kernel's first axis) on axis 2, got " + describe(input));
  }
}

}  // namespace

RecurrentOutput static_unroll(const CellFn& cell, const Tensor& input,
                              const std::vector<Tensor>& carry, const Tensor& mask) {
  return unroll_cell("static_unroll", cell, input, carry, mask, Unroll::Static);
}

RecurrentOutput dynamic_unroll(const CellFn& cell, const Tensor& input,
                               const std::vector<Tensor>& carry, const Tensor& mask) {
  return unroll_cell("dynamic_unroll", cell, input, carry, mask, Unroll::Dynamic);
}

RecurrentOutput lstm(const Tensor& input, const std::vector<Tensor>& carry, const Tensor& mask,
                     const LstmWeights& w, const RecurrentOptions& opts) {
  constexpr std::string_view fn = "lstm";
  detail::rnn::PackedLstm p = detail::rnn::pack(fn, w);
  auto [batch, time] = check_sequence(fn, input, 3);
  check_features(fn, input, p.features);
  detail::rnn::check_carry(fn, carry, 2, {batch, p.units});
  Tensor m = detail::rnn::sequence_mask(fn, mask, batch, time);
  // {T, B, F} x {F, 4u}: every step's input projection at once.
  Tensor xp = nx::dot(detail::rnn::swap_batch_time(input), {2}, p.wi, {0});
  if (p.b.defined()) xp = xp + p.b;
  // The hidden kernel as {4u, u}, contracted on its second axis: the gradient of the step's
  // matmul with respect to it is then dz^T h ({4u, u}) with no per-step transpose.
  Tensor wh_t = nx::transpose(p.wh);
  detail::rnn::StepFn step = [&](const std::vector<Tensor>& x, const std::vector<Tensor>& c,
                                 const Tensor& mt) {
    Tensor z = x[0] + nx::dot(c[1], {1}, wh_t, {1});
    std::vector<Tensor> next = detail::rnn::lstm_gates(z, c[0], opts.gate, opts.activation);
    Tensor nc = detail::rnn::keep_where(mt, c[0], next[0]);
    Tensor nh = detail::rnn::keep_where(mt, c[1], next[1]);
    return RecurrentOutput{nh, {nc, nh}};
  };
  RecurrentOutput r = detail::rnn::unroll_time_major(
      step, {xp}, carry, m.defined() ? nx::transpose(m) : Tensor(), opts.unroll);
  return {detail::rnn::swap_batch_time(r.output), r.carry};
}

RecurrentOutput gru(const Tensor& input, const std::vector<Tensor>& carry, const Tensor& mask,
                    const GruWeights& w, const RecurrentOptions& opts) {
  constexpr std::string_view fn = "gru";
  detail::rnn::PackedGru p = detail::rnn::pack(fn, w);
  auto [batch, time] = check_sequence(fn, input, 3);
  check_features(fn, input, p.features);
  detail::rnn::check_carry(fn, carry, 1, {batch, p.units});
  Tensor m = detail::rnn::sequence_mask(fn, mask, batch, time);
  Tensor xp = nx::dot(detail::rnn::swap_batch_time(input), {2}, p.wi, {0});
  if (p.b.defined()) xp = xp + p.b;
  Tensor wh_t = nx::transpose(p.wh);  // as in lstm
  detail::rnn::StepFn step = [&](const std::vector<Tensor>& x, const std::vector<Tensor>& c,
                                 const Tensor& mt) {
    Tensor next = detail::rnn::gru_gates(x[0], nx::dot(c[0], {1}, wh_t, {1}), c[0], p.bhn,
                                         opts.gate, opts.activation);
    Tensor nh = detail::rnn::keep_where(mt, c[0], next);
    return RecurrentOutput{nh, {nh}};
  };
  RecurrentOutput r = detail::rnn::unroll_time_major(
      step, {xp}, carry, m.defined() ? nx::transpose(m) : Tensor(), opts.unroll);
  return {detail::rnn::swap_batch_time(r.output), r.carry};
}

namespace {

Tensor merge(std::string_view fn, const Tensor& a, const Tensor& b, const BidirectionalOptions& o,
             bool has_time_axis) {
  if (a.shape() != b.shape()) {
    fail(fn, "the two directions must give the same shapes, got " + describe(a) + " and " +
                 describe(b));
  }
  switch (o.merge) {
    case Merge::Sum:
      return a + b;
    case Merge::Mean:
      return (a + b) * 0.5;
    case Merge::Concatenate:
      break;
  }
  int64_t axis = o.concat_axis;
  if (!has_time_axis && axis > 1) --axis;  // carries have no time axis
  return nx::concatenate({a, b}, detail::normalize_axis(fn, "concat_axis", axis, a.rank()));
}

}  // namespace

BidirectionalOutput bidirectional(const Tensor& input, const Tensor& mask,
                                  const RecurrentFn& forward_fn, const RecurrentFn& backward_fn,
                                  const BidirectionalOptions& opts) {
  constexpr std::string_view fn = "bidirectional";
  if (!forward_fn || !backward_fn) fail(fn, "the recurrent functions must not be empty");
  check_sequence(fn, input, 2);
  if (mask.defined() && mask.rank() != 0 && mask.rank() < 2) {
    fail(fn, "mask must be a scalar or {batch, time, ...}, got " + describe(mask));
  }
  BidirectionalOutput out;
  out.forward = forward_fn(input, mask);
  Tensor rmask = mask.defined() && mask.rank() >= 2 ? nx::reverse(mask, {1}) : mask;
  out.backward = backward_fn(nx::reverse(input, {1}), rmask);
  out.backward.output = nx::reverse(out.backward.output, {1});
  out.output = merge(fn, out.forward.output, out.backward.output, opts, true);
  if (out.forward.carry.size() != out.backward.carry.size()) {
    fail(fn, "the two directions return carries of different sizes");
  }
  for (size_t k = 0; k < out.forward.carry.size(); ++k) {
    out.carry.push_back(merge(fn, out.forward.carry[k], out.backward.carry[k], opts, false));
  }
  return out;
}

}  // namespace axon::fn
