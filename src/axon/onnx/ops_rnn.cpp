// ONNX recurrent ops: LSTM, GRU and RNN (opsets 7..17; `layout` from 14).
//
// Each direction runs as one nx::scan over time, so an imported recurrent network traces into a
// single Scan node and its gradient is a reverse scan (O(sequence length)), not an unrolled
// graph. The input projection X W^T + biases is one matmul over every step, done before the
// scan; the step only multiplies the hidden state by R.
//
// ONNX layouts: W {directions, gates * hidden, input}, R {directions, gates * hidden, hidden},
// B {directions, 2 * gates * hidden} = [Wb, Rb]; gates in the order i, o, f, c (LSTM), z, r, h
// (GRU). sequence_lens {batch}: steps past an example's length leave its state unchanged and
// give zeros in Y (as ONNX Runtime does); the reverse direction of such an example starts at its
// last valid step. Y {seq, directions, batch, hidden} (layout 1: {batch, seq, directions,
// hidden}), Y_h / Y_c {directions, batch, hidden} (layout 1: {batch, directions, hidden}).
#include <algorithm>
#include <cctype>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/indexing.hpp"
#include "nx/ops/linalg.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace axon::onnx_import {

namespace {

using nx::Tensor;
using Activation = std::function<Tensor(const Tensor&)>;

enum class Kind { Rnn, Gru, Lstm };

int64_t num_gates(Kind k) {
  return k == Kind::Lstm ? 4 : k == Kind::Gru ? 3 : 1;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One activation of the `activations` list. Parameters are taken in order from the alpha and
// beta lists by the activations that use them (ONNX Runtime's rule); missing ones get the
// defaults of the corresponding ONNX operators.
Activation make_activation(const OpCall& call, const std::string& name,
                           const std::vector<double>& alphas, size_t& next_alpha,
                           const std::vector<double>& betas, size_t& next_beta) {
  auto alpha = [&](double fallback) {
    return next_alpha < alphas.size() ? alphas[next_alpha++] : fallback;
  };
  auto beta = [&](double fallback) {
    return next_beta < betas.size() ? betas[next_beta++] : fallback;
  };
  std::string n = lower(name);
  if (n == "sigmoid") return [](const Tensor& x) { return nx::sigmoid(x); };
  if (n == "tanh") return [](const Tensor& x) { return nx::tanh(x); };
  if (n == "relu") return [](const Tensor& x) { return nx::max(x, 0.0); };
  if (n == "softsign") return [](const Tensor& x) { return x / (nx::abs(x) + 1.0); };
  if (n == "softplus") {
    // log(1 + e^x), stable for large |x|.
    return [](const Tensor& x) { return nx::max(x, 0.0) + nx::log1p(nx::exp(-nx::abs(x))); };
  }
  if (n == "leakyrelu") {
    double a = alpha(0.01);
    return [a](const Tensor& x) { return nx::select(nx::less(x, 0.0), x * a, x); };
  }
  if (n == "thresholdedrelu") {
    double a = alpha(1.0);
    return [a](const Tensor& x) { return nx::select(nx::greater(x, a), x, nx::zeros_like(x)); };
  }
  if (n == "elu") {
    double a = alpha(1.0);
    return [a](const Tensor& x) { return nx::select(nx::less(x, 0.0), nx::expm1(x) * a, x); };
  }
  if (n == "affine") {
    double a = alpha(1.0), b = beta(0.0);
    return [a, b](const Tensor& x) { return x * a + b; };
  }
  if (n == "scaledtanh") {
    double a = alpha(1.0), b = beta(1.0);
    return [a, b](const Tensor& x) { return nx::tanh(x * b) * a; };
  }
  if (n == "hardsigmoid") {
    double a = alpha(0.2), b = beta(0.5);
    return [a, b](const Tensor& x) { return nx::clip(x * a + b, 0.0, 1.0); };
  }
  call.fail("unsupported activation '" + name +
            "' (expected Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, "
            "HardSigmoid, Elu, Softsign or Softplus)");
}

// Everything one direction's step needs.
struct Direction {
  Tensor r_t;                   // R transposed: {hidden, gates * hidden}
  Tensor rbh;                   // GRU with linear_before_reset: the recurrent bias of h, {hidden}
  Tensor p_i, p_o, p_f;         // LSTM peepholes, {hidden} (undefined: none)
  std::vector<Activation> act;  // f, g (, h)
};

struct Config {
  Kind kind = Kind::Rnn;
  int64_t hidden = 0;
  double clip = 0;  // 0: no clipping
  bool input_forget = false;
  bool linear_before_reset = false;
};

Tensor clipped(const Config& cfg, const Tensor& x) {
  return cfg.clip > 0 ? nx::clip(x, -cfg.clip, cfg.clip) : x;
}

// One step: (carry, projected input xw) -> new carry; carry is {h} or {h, c}.
std::vector<Tensor> step(const Config& cfg, const Direction& d, const std::vector<Tensor>& carry,
                         const Tensor& xw) {
  const Tensor& h = carry[0];
  int64_t n = cfg.hidden;
  auto part = [n](const Tensor& g, int64_t k) { return nx::slice_along_axis(g, k * n, n, 1); };
  if (cfg.kind == Kind::Rnn) {
    return {d.act[0](clipped(cfg, xw + nx::dot(h, d.r_t)))};
  }
  if (cfg.kind == Kind::Gru) {
    if (cfg.linear_before_reset) {
      Tensor hr = nx::dot(h, d.r_t);
      Tensor z = d.act[0](clipped(cfg, part(xw, 0) + part(hr, 0)));
      Tensor r = d.act[0](clipped(cfg, part(xw, 1) + part(hr, 1)));
      Tensor hh = d.act[1](clipped(cfg, part(xw, 2) + r * (part(hr, 2) + d.rbh)));
      return {(1.0 - z) * hh + z * h};
    }
    Tensor hr = nx::dot(h, nx::slice_along_axis(d.r_t, 0, 2 * n, 1));
    Tensor z = d.act[0](clipped(cfg, part(xw, 0) + part(hr, 0)));
    Tensor r = d.act[0](clipped(cfg, part(xw, 1) + part(hr, 1)));
    Tensor hh = d.act[1](
        clipped(cfg, part(xw, 2) + nx::dot(r * h, nx::slice_along_axis(d.r_t, 2 * n, n, 1))));
    return {(1.0 - z) * hh + z * h};
  }
  const Tensor& c = carry[1];
  Tensor g = xw + nx::dot(h, d.r_t);
  Tensor gi = part(g, 0), go = part(g, 1), gf = part(g, 2), gc = part(g, 3);
  if (d.p_i.defined()) {
    gi = gi + d.p_i * c;
    gf = gf + d.p_f * c;
  }
  Tensor i = d.act[0](clipped(cfg, gi));
  Tensor f = cfg.input_forget ? 1.0 - i : d.act[0](clipped(cfg, gf));
  Tensor ct = d.act[1](clipped(cfg, gc));
  Tensor c_new = f * c + i * ct;
  if (d.p_o.defined()) go = go + d.p_o * c_new;
  Tensor o = d.act[0](clipped(cfg, go));
  return {o * d.act[2](c_new), c_new};
}

// The sequence-length handling of one call: none (every example runs the whole sequence), or a
// {T, B, 1} mask of valid steps and the {T, B} step order that reverses each example within its
// length.
struct Lengths {
  bool masked = false;
  Tensor mask;     // pred {T, B, 1}
  Tensor reverse;  // s64 {T, B}
};

Lengths make_lengths(const OpCall& call, int64_t steps, int64_t batch) {
  Lengths l;
  if (!call.has_input(4)) return l;
  Tensor lens = call.input(4);
  if (lens.rank() != 1 || lens.shape()[0] != batch) {
    call.fail("sequence_lens must have shape {" + std::to_string(batch) + "}, got " +
              nx::type_string(lens.type()));
  }
  if (!lens.is_traced()) {
    std::vector<int64_t> v = lens.to_vector<int64_t>();
    for (int64_t x : v) {
      if (x < 0 || x > steps) {
        call.fail("sequence_lens values must lie in [0, " + std::to_string(steps) + "], got " +
                  std::to_string(x));
      }
    }
    if (std::all_of(v.begin(), v.end(), [&](int64_t x) { return x == steps; })) return l;
  }
  Tensor t = nx::iota({steps, batch}, 0, nx::DType::S64);
  Tensor len = nx::broadcast(nx::as_type(lens, nx::DType::S64), {steps, batch}, {1});
  Tensor valid = nx::less(t, len);
  l.masked = true;
  l.mask = nx::reshape(valid, {steps, batch, 1});
  l.reverse = nx::select(valid, len - 1 - t, t);
  return l;
}

// Reorders the steps of x {T, B, F} per example with `order` {T, B}.
Tensor reorder_steps(const Tensor& x, const Tensor& order) {
  const nx::Shape& s = x.shape();
  return nx::take_along_axis(x, nx::broadcast(order, s, {0, 1}), 0);
}

struct DirectionResult {
  Tensor y;                   // {T, B, H}
  std::vector<Tensor> carry;  // final {h} or {h, c}
};

DirectionResult run_direction(const Config& cfg, const Direction& d, Tensor xw,
                              const std::vector<Tensor>& init, const Lengths& lens, bool reverse) {
  nx::Tree::List init_list;
  for (const Tensor& t : init) init_list.push_back(nx::Tree(t));
  nx::Tree xs;
  if (lens.masked) {
    if (reverse) xw = reorder_steps(xw, lens.reverse);
    xs = nx::Tree::list({nx::Tree(xw), nx::Tree(lens.mask)});
  } else {
    xs = nx::Tree::list({nx::Tree(xw)});
  }
  nx::ScanOptions opts;
  opts.reverse = reverse && !lens.masked;
  nx::ScanResult r = nx::scan(
      nx::Tree::list(std::move(init_list)), xs,
      [&](const nx::Tree& carry, const nx::Tree& x) {
        std::vector<Tensor> old = nx::tree_leaves(carry);
        std::vector<Tensor> next = step(cfg, d, old, x[0].leaf());
        Tensor y = next[0];
        if (lens.masked) {
          const Tensor& m = x[1].leaf();
          for (size_t k = 0; k < next.size(); ++k) next[k] = nx::select(m, next[k], old[k]);
          y = nx::select(m, y, nx::zeros_like(y));
        }
        nx::Tree::List out;
        for (const Tensor& t : next) out.push_back(nx::Tree(t));
        return std::pair<nx::Tree, nx::Tree>(nx::Tree::list(std::move(out)), nx::Tree(y));
      },
      opts);
  DirectionResult res;
  res.y = r.ys.leaf();
  if (lens.masked && reverse) res.y = reorder_steps(res.y, lens.reverse);
  res.carry = nx::tree_leaves(r.carry);
  return res;
}

std::string shape_text(const Tensor& t) {
  return nx::type_string(t.type());
}

void expect_shape(const OpCall& call, const char* what, const Tensor& t, const nx::Shape& want) {
  if (t.shape() != want) {
    std::string w = "{";
    for (size_t i = 0; i < want.size(); ++i) w += (i ? ", " : "") + std::to_string(want[i]);
    call.fail(std::string(what) + " must have shape " + w + "}, got " + shape_text(t));
  }
}

std::vector<Tensor> convert_recurrent(const OpCall& call, Kind kind) {
  const int64_t gates = num_gates(kind);
  Config cfg;
  cfg.kind = kind;
  int64_t layout = call.opset() >= 14 ? call.attr_int("layout", 0) : 0;
  if (layout != 0 && layout != 1) call.fail("layout must be 0 or 1, got " + std::to_string(layout));

  Tensor x = call.input(0), w = call.input(1), r = call.input(2);
  if (x.rank() != 3) call.fail("X must have rank 3, got " + shape_text(x));
  if (!nx::is_float(x.dtype())) call.fail("X must be floating point, got " + shape_text(x));
  if (layout == 1) x = nx::transpose(x, {1, 0, 2});
  const int64_t steps = x.shape()[0], batch = x.shape()[1], input = x.shape()[2];

  std::string direction = call.attr_string("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    call.fail("direction must be forward, reverse or bidirectional, got '" + direction + "'");
  }
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  if (r.rank() != 3) call.fail("R must have rank 3, got " + shape_text(r));
  cfg.hidden = call.attr_int("hidden_size", r.shape()[2]);
  const int64_t n = cfg.hidden;
  expect_shape(call, "W", w, {dirs, gates * n, input});
  expect_shape(call, "R", r, {dirs, gates * n, n});
  cfg.clip = call.attr_float("clip", 0.0);
  if (call.has_attr("clip") && cfg.clip <= 0) call.fail("clip must be positive");
  cfg.input_forget = kind == Kind::Lstm && call.attr_int("input_forget", 0) != 0;
  cfg.linear_before_reset = kind == Kind::Gru && call.attr_int("linear_before_reset", 0) != 0;

  // Activations: per direction f (, g (, h)).
  const size_t per_dir = kind == Kind::Lstm ? 3 : kind == Kind::Gru ? 2 : 1;
  std::vector<std::string> names = call.attr_strings("activations");
  if (names.empty()) {
    std::vector<std::string> defaults =
        kind == Kind::Lstm  ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
        : kind == Kind::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                            : std::vector<std::string>{"Tanh"};
    for (int64_t k = 0; k < dirs; ++k) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (dirs == 2 && names.size() == per_dir) {
    // ONNX Runtime accepts one direction's list for both directions.
    std::vector<std::string> once = names;
    names.insert(names.end(), once.begin(), once.end());
  }
  if (names.size() != per_dir * static_cast<size_t>(dirs)) {
    call.fail("activations must list " + std::to_string(per_dir * static_cast<size_t>(dirs)) +
              " functions, got " + std::to_string(names.size()));
  }
  std::vector<double> alphas = call.attr_floats("activation_alpha");
  std::vector<double> betas = call.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;

  Tensor b;
  if (call.has_input(3)) {
    b = call.input(3);
    expect_shape(call, "B", b, {dirs, 2 * gates * n});
  }
  auto initial = [&](size_t idx, const char* what) -> Tensor {
    if (!call.has_input(idx)) return nx::zeros({dirs, batch, n}, x.dtype());
    Tensor t = call.input(idx);
    if (layout == 1) {
      expect_shape(call, what, t, {batch, dirs, n});
      t = nx::transpose(t, {1, 0, 2});
    }
    expect_shape(call, what, t, {dirs, batch, n});
    return t;
  };
  Tensor h0 = initial(5, "initial_h");
  Tensor c0 = kind == Kind::Lstm ? initial(6, "initial_c") : Tensor();
  Tensor p;
  if (kind == Kind::Lstm && call.has_input(7)) {
    p = call.input(7);
    expect_shape(call, "P", p, {dirs, 3 * n});
  }
  Lengths lens = make_lengths(call, steps, batch);

  std::vector<Tensor> ys, hs, cs;
  for (int64_t k = 0; k < dirs; ++k) {
    Direction d;
    for (size_t a = 0; a < per_dir; ++a) {
      d.act.push_back(make_activation(call, names[static_cast<size_t>(k) * per_dir + a], alphas,
                                      next_alpha, betas, next_beta));
    }
    Tensor wk = nx::squeeze(nx::slice_along_axis(w, k, 1, 0), {0});  // {G n, I}
    Tensor rk = nx::squeeze(nx::slice_along_axis(r, k, 1, 0), {0});  // {G n, n}
    d.r_t = nx::transpose(rk);
    Tensor xw = nx::dot(x, {2}, wk, {1});  // {T, B, G n}
    if (b.defined()) {
      Tensor bk = nx::squeeze(nx::slice_along_axis(b, k, 1, 0), {0});
      Tensor wb = nx::slice_along_axis(bk, 0, gates * n, 0);
      Tensor rb = nx::slice_along_axis(bk, gates * n, gates * n, 0);
      if (cfg.linear_before_reset) {
        // h's recurrent bias sits inside r * (...): keep it for the step.
        d.rbh = nx::slice_along_axis(rb, 2 * n, n, 0);
        rb = nx::concatenate({nx::slice_along_axis(rb, 0, 2 * n, 0), nx::zeros_like(d.rbh)}, 0);
      }
      xw = xw + (wb + rb);
    } else if (cfg.linear_before_reset) {
      d.rbh = nx::zeros({n}, x.dtype());
    }
    if (p.defined()) {
      Tensor pk = nx::squeeze(nx::slice_along_axis(p, k, 1, 0), {0});
      d.p_i = nx::slice_along_axis(pk, 0, n, 0);
      d.p_o = nx::slice_along_axis(pk, n, n, 0);
      d.p_f = nx::slice_along_axis(pk, 2 * n, n, 0);
    }
    std::vector<Tensor> init;
    init.reserve(2);
    init.push_back(nx::squeeze(nx::slice_along_axis(h0, k, 1, 0), {0}));
    if (kind == Kind::Lstm) init.push_back(nx::squeeze(nx::slice_along_axis(c0, k, 1, 0), {0}));
    bool reverse = direction == "reverse" || k == 1;
    DirectionResult res = run_direction(cfg, d, xw, init, lens, reverse);
    ys.push_back(res.y);
    hs.push_back(res.carry[0]);
    if (kind == Kind::Lstm) cs.push_back(res.carry[1]);
  }

  Tensor y = nx::stack(ys, 1);    // {T, D, B, n}
  Tensor y_h = nx::stack(hs, 0);  // {D, B, n}
  Tensor y_c = kind == Kind::Lstm ? nx::stack(cs, 0) : Tensor();
  if (layout == 1) {
    y = nx::transpose(y, {2, 0, 1, 3});
    y_h = nx::transpose(y_h, {1, 0, 2});
    if (y_c.defined()) y_c = nx::transpose(y_c, {1, 0, 2});
  }
  std::vector<Tensor> out = {y, y_h};
  if (kind == Kind::Lstm) out.push_back(y_c);
  out.resize(std::min(out.size(), std::max<size_t>(call.num_outputs(), 1)));
  return out;
}

}  // namespace

void register_rnn_ops() {
  register_op({"RNN", [](const OpCall& c) { return convert_recurrent(c, Kind::Rnn); }, 7});
  register_op({"GRU", [](const OpCall& c) { return convert_recurrent(c, Kind::Gru); }, 7});
  register_op({"LSTM", [](const OpCall& c) { return convert_recurrent(c, Kind::Lstm); }, 7});
}

}  // namespace axon::onnx_import
