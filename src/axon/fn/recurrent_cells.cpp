// Recurrent weights (Axon's names, to and from parameter trees), their packing into one kernel
// per gate group, and the single-step cells lstm_cell, gru_cell and conv_lstm_cell.
//
// Every cell computes its gates from concatenated kernels ({F, 4 units} for LSTM): one matmul
// per operand instead of four, the same arithmetic as Axon's four dense calls.
#include <string>

#include "axon/fn/check.hpp"
#include "axon/fn/recurrent.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/shape.hpp"
#include "recurrent_internal.hpp"

namespace axon::fn {

namespace {

using detail::describe;
using detail::fail;

const Tensor& param(std::string_view fn, const nx::Tree& params, const char* group,
                    const char* name) {
  const nx::Tree* g = params.is_map() ? params.find(group) : nullptr;
  const nx::Tree* p = g != nullptr && g->is_map() ? g->find(name) : nullptr;
  if (p == nullptr || !p->is_leaf()) {
    fail(fn, std::string("the parameter tree has no tensor \"") + group + "." + name + "\"");
  }
  return p->leaf();
}

bool has_bias(const nx::Tree& params) {
  return params.is_map() && params.contains("bias");
}

nx::Tree group(std::initializer_list<std::pair<const char*, const Tensor*>> entries) {
  nx::Tree::Map m;
  for (const auto& [name, t] : entries) m.emplace_back(name, nx::Tree(*t));
  return nx::Tree::map(std::move(m));
}

// Checks that every tensor of `ts` has `shape`, naming each by `names`.
void check_shapes(std::string_view fn, std::initializer_list<const Tensor*> ts,
                  std::initializer_list<const char*> names, const nx::Shape& shape) {
  auto name = names.begin();
  for (const Tensor* t : ts) {
    if (!t->defined()) fail(fn, std::string(*name) + " is missing");
    if (t->shape() != shape) {
      fail(fn, std::string(*name) + " must have shape " + nx::shape_repr(shape) + ", got " +
                   describe(*t));
    }
    detail::check_float(fn, *name, *t);
    ++name;
  }
}

// Bias tensors: all empty (no bias) or all of shape {units}.
bool check_bias(std::string_view fn, std::initializer_list<const Tensor*> ts,
                std::initializer_list<const char*> names, int64_t units) {
  bool any = false, all = true;
  for (const Tensor* t : ts) {
    if (t->defined()) {
      any = true;
    } else {
      all = false;
    }
  }
  if (!any) return false;
  if (!all) fail(fn, "give every bias tensor or none");
  check_shapes(fn, ts, names, {units});
  return true;
}

void check_kernel(std::string_view fn, const char* name, const Tensor& k) {
  if (!k.defined()) fail(fn, std::string(name) + " is missing");
  detail::check_rank(fn, name, k, 2);
}

}  // namespace

// ---- Weights ------------------------------------------------------------------------------------

LstmWeights LstmWeights::from_tree(const nx::Tree& p) {
  constexpr std::string_view fn = "LstmWeights::from_tree";
  LstmWeights w{param(fn, p, "input_kernel", "wii"),
                param(fn, p, "input_kernel", "wif"),
                param(fn, p, "input_kernel", "wig"),
                param(fn, p, "input_kernel", "wio"),
                param(fn, p, "hidden_kernel", "whi"),
                param(fn, p, "hidden_kernel", "whf"),
                param(fn, p, "hidden_kernel", "whg"),
                param(fn, p, "hidden_kernel", "who"),
                {},
                {},
                {},
                {}};
  if (has_bias(p)) {
    w.bi = param(fn, p, "bias", "bi");
    w.bf = param(fn, p, "bias", "bf");
    w.bg = param(fn, p, "bias", "bg");
    w.bo = param(fn, p, "bias", "bo");
  }
  return w;
}

nx::Tree LstmWeights::to_tree() const {
  nx::Tree::Map m{
      {"input_kernel", group({{"wii", &wii}, {"wif", &wif}, {"wig", &wig}, {"wio", &wio}})},
      {"hidden_kernel", group({{"whi", &whi}, {"whf", &whf}, {"whg", &whg}, {"who", &who}})}};
  if (bi.defined()) {
    m.emplace_back("bias", group({{"bi", &bi}, {"bf", &bf}, {"bg", &bg}, {"bo", &bo}}));
  }
  return nx::Tree::map(std::move(m));
}

GruWeights GruWeights::from_tree(const nx::Tree& p) {
  constexpr std::string_view fn = "GruWeights::from_tree";
  GruWeights w{param(fn, p, "input_kernel", "wir"),
               param(fn, p, "input_kernel", "wiz"),
               param(fn, p, "input_kernel", "win"),
               param(fn, p, "hidden_kernel", "whr"),
               param(fn, p, "hidden_kernel", "whz"),
               param(fn, p, "hidden_kernel", "whn"),
               {},
               {},
               {},
               {}};
  if (has_bias(p)) {
    w.br = param(fn, p, "bias", "br");
    w.bz = param(fn, p, "bias", "bz");
    w.bin = param(fn, p, "bias", "bin");
    w.bhn = param(fn, p, "bias", "bhn");
  }
  return w;
}

nx::Tree GruWeights::to_tree() const {
  nx::Tree::Map m{{"input_kernel", group({{"wir", &wir}, {"wiz", &wiz}, {"win", &win}})},
                  {"hidden_kernel", group({{"whr", &whr}, {"whz", &whz}, {"whn", &whn}})}};
  if (br.defined()) {
    m.emplace_back("bias", group({{"br", &br}, {"bz", &bz}, {"bin", &bin}, {"bhn", &bhn}}));
  }
  return nx::Tree::map(std::move(m));
}

ConvLstmWeights ConvLstmWeights::from_tree(const nx::Tree& p) {
  constexpr std::string_view fn = "ConvLstmWeights::from_tree";
  ConvLstmWeights w{param(fn, p, "input_kernel", "wi"), param(fn, p, "hidden_kernel", "wh"), {}};
  if (has_bias(p)) w.b = param(fn, p, "bias", "b");
  return w;
}

nx::Tree ConvLstmWeights::to_tree() const {
  nx::Tree::Map m{{"input_kernel", group({{"wi", &wi}})}, {"hidden_kernel", group({{"wh", &wh}})}};
  if (b.defined()) m.emplace_back("bias", group({{"b", &b}}));
  return nx::Tree::map(std::move(m));
}

namespace detail::rnn {

PackedLstm pack(std::string_view fn, const LstmWeights& w) {
  check_kernel(fn, "wii", w.wii);
  const int64_t f = w.wii.axis_size(0), u = w.wii.axis_size(1);
  check_shapes(fn, {&w.wii, &w.wif, &w.wig, &w.wio}, {"wii", "wif", "wig", "wio"}, {f, u});
  check_shapes(fn, {&w.whi, &w.whf, &w.whg, &w.who}, {"whi", "whf", "whg", "who"}, {u, u});
  PackedLstm p;
  p.features = f;
  p.units = u;
  p.wi = nx::concatenate({w.wii, w.wif, w.wig, w.wio}, 1);
  p.wh = nx::concatenate({w.whi, w.whf, w.whg, w.who}, 1);
  if (check_bias(fn, {&w.bi, &w.bf, &w.bg, &w.bo}, {"bi", "bf", "bg", "bo"}, u)) {
    p.b = nx::concatenate({w.bi, w.bf, w.bg, w.bo}, 0);
  }
  return p;
}

PackedGru pack(std::string_view fn, const GruWeights& w) {
  check_kernel(fn, "wir", w.wir);
  const int64_t f = w.wir.axis_size(0), u = w.wir.axis_size(1);
  check_shapes(fn, {&w.wir, &w.wiz, &w.win}, {"wir", "wiz", "win"}, {f, u});
  check_shapes(fn, {&w.whr, &w.whz, &w.whn}, {"whr", "whz", "whn"}, {u, u});
  PackedGru p;
  p.features = f;
  p.units = u;
  p.wi = nx::concatenate({w.wir, w.wiz, w.win}, 1);
  p.wh = nx::concatenate({w.whr, w.whz, w.whn}, 1);
  if (check_bias(fn, {&w.br, &w.bz, &w.bin, &w.bhn}, {"br", "bz", "bin", "bhn"}, u)) {
    p.b = nx::concatenate({w.br, w.bz, w.bin}, 0);
    p.bhn = w.bhn;
  }
  return p;
}

std::vector<Tensor> lstm_gates(const Tensor& z, const Tensor& c, const Activation& gate,
                               const Activation& activation) {
  const int64_t u = c.axis_size(-1);
  const int64_t ax = z.rank() - 1;
  Tensor i = gate(nx::slice_along_axis(z, 0, u, ax));
  Tensor f = gate(nx::slice_along_axis(z, u, u, ax));
  Tensor g = activation(nx::slice_along_axis(z, 2 * u, u, ax));
  Tensor o = gate(nx::slice_along_axis(z, 3 * u, u, ax));
  Tensor new_c = f * c + i * g;
  Tensor new_h = o * activation(new_c);
  return {new_c, new_h};
}

Tensor gru_gates(const Tensor& xp, const Tensor& hp, const Tensor& h, const Tensor& bhn,
                 const Activation& gate, const Activation& activation) {
  const int64_t u = h.axis_size(-1);
  const int64_t ax = xp.rank() - 1;
  auto part = [&](const Tensor& t, int64_t k) { return nx::slice_along_axis(t, k * u, u, ax); };
  Tensor r = gate(part(xp, 0) + part(hp, 0));
  Tensor z = gate(part(xp, 1) + part(hp, 1));
  Tensor hn = bhn.defined() ? part(hp, 2) + bhn : part(hp, 2);
  Tensor n = activation(part(xp, 2) + r * hn);
  return (1.0 - z) * n + z * h;
}

std::vector<Tensor> conv_lstm_gates(const Tensor& gates, const Tensor& c) {
  const int64_t u = c.axis_size(1);
  auto part = [&](int64_t k) { return nx::slice_along_axis(gates, k * u, u, 1); };
  Tensor i = nx::sigmoid(part(0));
  Tensor g = nx::tanh(part(1));
  Tensor f = nx::sigmoid(part(2) + 1.0);
  Tensor o = nx::sigmoid(part(3));
  Tensor new_c = f * c + i * g;
  Tensor new_h = o * nx::tanh(new_c);
  return {new_c, new_h};
}

Tensor keep_where(const Tensor& mask, const Tensor& old_value, const Tensor& new_value) {
  if (!mask.defined()) return new_value;
  nx::Shape s(static_cast<size_t>(new_value.rank()), 1);
  s[0] = mask.axis_size(0);
  return nx::select(nx::reshape(mask, s), old_value, new_value);
}

void check_carry(std::string_view fn, const std::vector<Tensor>& carry, size_t n,
                 const nx::Shape& shape) {
  if (carry.size() != n) {
    fail(fn, "the carry must have " + std::to_string(n) +
                 (n == 2 ? " tensors {c, h}" : " tensor {h}") + ", got " +
                 std::to_string(carry.size()));
  }
  const char* names[] = {"c", "h"};
  for (size_t k = 0; k < n; ++k) {
    const char* name = n == 2 ? names[k] : "h";
    if (!carry[k].defined()) fail(fn, std::string("carry ") + name + " is missing");
    if (carry[k].shape() != shape) {
      fail(fn, std::string("carry ") + name + " must have shape " + nx::shape_repr(shape) +
                   ", got " + describe(carry[k]));
    }
  }
}

}  // namespace detail::rnn

namespace {

// A single step's mask: {B} (or empty); returned as pred.
Tensor step_mask(std::string_view fn, const Tensor& mask, int64_t batch) {
  if (!mask.defined()) return {};
  if (mask.rank() == 0) return nx::broadcast(nx::not_equal(mask, 0.0), {batch});
  if (mask.shape() != nx::Shape{batch}) {
    fail(fn, "mask must have shape " + nx::shape_repr({batch}) + " (one entry per example), got " +
                 describe(mask));
  }
  return nx::not_equal(mask, 0.0);
}

void check_step_input(std::string_view fn, const Tensor& x, int64_t features) {
  detail::check_rank(fn, "x", x, 2);
  detail::check_float(fn, "x", x);
  if (x.axis_size(1) != features) {
    fail(fn, "x must have " + std::to_string(features) +
                 " features (the input kernel's first "
                 "axis), got " +
                 describe(x));
  }
}

}  // namespace

RecurrentOutput lstm_cell(const Tensor& x, const std::vector<Tensor>& carry, const Tensor& mask,
                          const LstmWeights& w, const CellOptions& opts) {
  constexpr std::string_view fn = "lstm_cell";
  detail::rnn::PackedLstm p = detail::rnn::pack(fn, w);
  check_step_input(fn, x, p.features);
  const int64_t batch = x.axis_size(0);
  detail::rnn::check_carry(fn, carry, 2, {batch, p.units});
  Tensor z = nx::dot(x, p.wi) + nx::dot(carry[1], p.wh);
  if (p.b.defined()) z = z + p.b;
  std::vector<Tensor> next = detail::rnn::lstm_gates(z, carry[0], opts.gate, opts.activation);
  Tensor m = step_mask(fn, mask, batch);
  Tensor c = detail::rnn::keep_where(m, carry[0], next[0]);
  Tensor h = detail::rnn::keep_where(m, carry[1], next[1]);
  return {h, {c, h}};
}

RecurrentOutput gru_cell(const Tensor& x, const std::vector<Tensor>& carry, const Tensor& mask,
                         const GruWeights& w, const CellOptions& opts) {
  constexpr std::string_view fn = "gru_cell";
  detail::rnn::PackedGru p = detail::rnn::pack(fn, w);
  check_step_input(fn, x, p.features);
  const int64_t batch = x.axis_size(0);
  detail::rnn::check_carry(fn, carry, 1, {batch, p.units});
  Tensor xp = nx::dot(x, p.wi);
  if (p.b.defined()) xp = xp + p.b;
  Tensor next = detail::rnn::gru_gates(xp, nx::dot(carry[0], p.wh), carry[0], p.bhn, opts.gate,
                                       opts.activation);
  Tensor h = detail::rnn::keep_where(step_mask(fn, mask, batch), carry[0], next);
  return {h, {h}};
}

}  // namespace axon::fn
