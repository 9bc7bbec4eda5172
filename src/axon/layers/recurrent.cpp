// The recurrent layers: lstm, gru and conv_lstm as one node each (output: the list
// {output_sequence, carry}) plus elem nodes, and bidirectional as a shared block.
#include "axon/layers/recurrent.hpp"

#include "axon/fn/activations.hpp"
#include "axon/fn/reshaping.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/shape.hpp"

namespace axon {

namespace {

std::string unroll_name(fn::Unroll u) {
  return u == fn::Unroll::Dynamic ? "dynamic" : "static";
}

const nx::Shape& input_shape(const std::vector<nx::Shape>& s, const std::string& op,
                             int64_t min_rank) {
  if (s.empty() || static_cast<int64_t>(s[0].size()) < min_rank) {
    throw nx::Error("axon::" + op + ": the input must be a tensor of rank " +
                    (min_rank == 3 ? std::string("3 {batch, time, features}")
                                   : ">= 4 {batch, time, channels, spatial...}") +
                    ", got " + (s.empty() ? std::string("none") : nx::shape_repr(s[0])));
  }
  return s[0];
}

Tree list_of(const std::vector<Tensor>& ts) {
  Tree::List items;
  for (const Tensor& t : ts) items.emplace_back(t);
  return Tree::list(std::move(items));
}

// The given hidden state as `n` tensors (a list of n, or for n == 1 also a single tensor).
std::vector<Tensor> given_carry(const Tree& t, size_t n, const std::string& op) {
  if (n == 1 && t.is_leaf()) return {t.leaf()};
  if (!t.is_list() || t.size() != n) {
    throw nx::Error("axon::" + op + ": the hidden state must be a list of " + std::to_string(n) +
                    (n == 2 ? " tensors {c, h}" : " tensor {h}") + ", got " + t.to_string());
  }
  std::vector<Tensor> out;
  for (size_t i = 0; i < n; ++i) {
    if (!t[i].is_leaf()) {
      throw nx::Error("axon::" + op + ": hidden state entry " + std::to_string(i) +
                      " must be a tensor, got " + t[i].to_string());
    }
    out.push_back(t[i].leaf());
  }
  return out;
}

// The layer's inputs and where the optional ones are.
struct Inputs {
  std::vector<Model> models;
  int hidden = -1, mask = -1;
};

Inputs inputs_of(const Model& x, const std::optional<Model>& hidden,
                 const std::optional<Model>& mask) {
  Inputs in{{x}};
  if (hidden) {
    in.hidden = static_cast<int>(in.models.size());
    in.models.push_back(*hidden);
  }
  if (mask) {
    in.mask = static_cast<int>(in.models.size());
    in.models.push_back(*mask);
  }
  return in;
}

RecurrentLayer outputs_of(const Model& node, size_t carry_size, const std::string& name,
                          SourceLocation where) {
  auto named = [&](const std::string& suffix) {
    return NodeOptions{name.empty() ? std::string() : name + suffix};
  };
  RecurrentLayer r;
  r.layer = node;
  r.output_sequence = elem(node, 0, named("_output_sequence"), where);
  r.carry = elem(node, 1, named("_carry"), where);
  if (carry_size == 2) {
    r.states.push_back(elem(r.carry, 0, named("_c_hidden_state"), where));
    r.states.push_back(elem(r.carry, 1, named("_h_hidden_state"), where));
  } else {
    r.states.push_back(elem(r.carry, 0, named("_hidden_state"), where));
  }
  return r;
}

// LSTM and GRU share everything but the parameter names and the fn call.
struct GatedSpec {
  const char* op;
  std::vector<std::string> input_kernel, hidden_kernel, bias;
  size_t carry_size;
};

const GatedSpec kLstm{"lstm",
                      {"wii", "wif", "wig", "wio"},
                      {"whi", "whf", "whg", "who"},
                      {"bi", "bf", "bg", "bo"},
                      2};
const GatedSpec kGru{
    "gru", {"wir", "wiz", "win"}, {"whr", "whz", "whn"}, {"br", "bz", "bin", "bhn"}, 1};

RecurrentLayer gated(const GatedSpec& spec, const Model& x, const std::optional<Model>& hidden,
                     int64_t units, RecurrentOptions opts, SourceLocation where) {
  const std::string op = spec.op;
  if (units <= 0) {
    throw nx::Error("axon::" + op + ": units must be positive, got " + std::to_string(units));
  }
  fn::RecurrentOptions ro{.unroll = opts.unroll,
                          .gate = fn::activation(opts.gate),
                          .activation = fn::activation(opts.activation)};
  std::vector<Param> params;
  for (const auto& n : spec.input_kernel) {
    params.push_back(param(n, ShapeRule([units, op](const std::vector<nx::Shape>& s) {
                             return nx::Shape{input_shape(s, op, 3)[2], units};
                           }),
                           {.initializer = opts.kernel_initializer}));
  }
  for (const auto& n : spec.hidden_kernel) {
    params.push_back(param(n, nx::Shape{units, units}, {.initializer = opts.kernel_initializer}));
  }
  if (opts.use_bias) {
    for (const auto& n : spec.bias) {
      params.push_back(param(n, nx::Shape{units}, {.initializer = opts.bias_initializer}));
    }
  }
  Inputs in = inputs_of(x, hidden, opts.mask);
  const bool use_bias = opts.use_bias;
  const bool is_lstm = spec.carry_size == 2;
  const size_t carry_size = spec.carry_size;
  const int hidden_at = in.hidden, mask_at = in.mask;
  LayerFn f = [=](const LayerCall& c) {
    const Tensor& xv = c.input(0);
    if (xv.rank() != 3) {
      throw nx::Error("axon::" + op + ": the input must have rank 3 {batch, time, features}, got " +
                      nx::shape_repr(xv.shape()));
    }
    std::vector<Tensor> carry =
        hidden_at >= 0
            ? given_carry(c.inputs[static_cast<size_t>(hidden_at)], carry_size, op)
            : std::vector<Tensor>(carry_size, nx::zeros({xv.axis_size(0), units}, xv.dtype()));
    Tensor mask = mask_at >= 0 ? c.input(static_cast<size_t>(mask_at)) : Tensor();
    auto p = [&](const std::string& n) { return c.param(n); };
    auto b = [&](const std::string& n) { return use_bias ? c.param(n) : Tensor(); };
    fn::RecurrentOutput r;
    if (is_lstm) {
      fn::LstmWeights w{p("wii"), p("wif"), p("wig"), p("wio"), p("whi"), p("whf"),
                        p("whg"), p("who"), b("bi"),  b("bf"),  b("bg"),  b("bo")};
      r = fn::lstm(xv, carry, mask, w, ro);
    } else {
      fn::GruWeights w{p("wir"), p("wiz"), p("win"), p("whr"), p("whz"),
                       p("whn"), b("br"),  b("bz"),  b("bin"), b("bhn")};
      r = fn::gru(xv, carry, mask, w, ro);
    }
    return LayerResult{Tree::list({Tree(r.output), list_of(r.carry)})};
  };
  std::string name = opts.name;
  Model node = layer(std::move(f), std::move(in.models),
                     {.name = std::move(opts.name),
                      .op_name = op,
                      .params = std::move(params),
                      .options = {{"units", std::to_string(units)},
                                  {"activation", opts.activation},
                                  {"gate", opts.gate},
                                  {"unroll", unroll_name(opts.unroll)},
                                  {"use_bias", use_bias ? "true" : "false"}}},
                     where);
  return outputs_of(node, carry_size, name, where);
}

fn::Sizes expand(const fn::Sizes& s, size_t n, const char* what) {
  if (s.size() == 1) return fn::Sizes(n, s[0]);
  if (s.size() != n) {
    throw nx::Error(std::string("axon::conv_lstm: ") + what + " needs 1 or " + std::to_string(n) +
                    " values (one per spatial axis), got " + std::to_string(s.size()));
  }
  return s;
}

RecurrentLayer conv_lstm_impl(const Model& x, const std::optional<Model>& hidden, int64_t units,
                              ConvLstmOptions opts, SourceLocation where) {
  if (units <= 0) {
    throw nx::Error("axon::conv_lstm: units must be positive, got " + std::to_string(units));
  }
  if (opts.kernel_size.empty() || opts.strides.empty()) {
    throw nx::Error("axon::conv_lstm: kernel_size and strides need at least one value");
  }
  for (int64_t v : opts.kernel_size) {
    if (v <= 0) throw nx::Error("axon::conv_lstm: kernel sizes must be positive");
  }
  for (int64_t v : opts.strides) {
    if (v <= 0) throw nx::Error("axon::conv_lstm: strides must be positive");
  }
  const fn::Sizes ks = opts.kernel_size;
  auto kernel_shape = [units, ks](const std::vector<nx::Shape>& s, bool hidden_kernel) {
    const nx::Shape& in = input_shape(s, "conv_lstm", 4);
    nx::Shape k{4 * units, hidden_kernel ? units : in[2]};
    for (int64_t v : expand(ks, in.size() - 3, "kernel_size")) k.push_back(v);
    return k;
  };
  std::vector<Param> params{
      param("input_kernel", ShapeRule([kernel_shape](const std::vector<nx::Shape>& s) {
              return kernel_shape(s, false);
            }),
            {.initializer = opts.kernel_initializer}),
      param("hidden_kernel", ShapeRule([kernel_shape](const std::vector<nx::Shape>& s) {
              return kernel_shape(s, true);
            }),
            {.initializer = opts.kernel_initializer})};
  if (opts.use_bias) {
    params.push_back(param("bias", nx::Shape{4 * units}, {.initializer = opts.bias_initializer}));
  }
  Inputs in = inputs_of(x, hidden, std::nullopt);
  const bool use_bias = opts.use_bias;
  const fn::Sizes strides = opts.strides;
  const nx::Padding padding = opts.padding;
  const fn::Unroll unroll = opts.unroll;
  const int hidden_at = in.hidden;
  LayerFn f = [=](const LayerCall& c) {
    const Tensor& xv = c.input(0);
    if (xv.rank() < 4) {
      throw nx::Error(
          "axon::conv_lstm: the input must have rank >= 4 {batch, time, channels, spatial...}, "
          "got " +
          nx::shape_repr(xv.shape()));
    }
    const size_t spatial = static_cast<size_t>(xv.rank() - 3);
    std::vector<Tensor> carry;
    if (hidden_at >= 0) {
      carry = given_carry(c.inputs[static_cast<size_t>(hidden_at)], 2, "conv_lstm");
    } else {
      // The carry has the input convolution's output size.
      const fn::Sizes k = expand(ks, spatial, "kernel_size"),
                      s = expand(strides, spatial, "strides");
      nx::Shape shape{xv.axis_size(0), units};
      for (size_t d = 0; d < spatial; ++d) {
        const int64_t size = xv.axis_size(static_cast<int64_t>(d) + 3);
        int64_t out = 0;
        if (padding.kind == nx::Padding::Kind::Same) {
          out = (size + s[d] - 1) / s[d];
        } else {
          int64_t padded = size;
          if (padding.kind == nx::Padding::Kind::Explicit && d < padding.pairs.size()) {
            padded += padding.pairs[d].first + padding.pairs[d].second;
          }
          out = padded >= k[d] ? (padded - k[d]) / s[d] + 1 : 0;
        }
        shape.push_back(out);
      }
      carry = {nx::zeros(shape, xv.dtype()), nx::zeros(shape, xv.dtype())};
    }
    fn::ConvLstmWeights w{c.param("input_kernel"), c.param("hidden_kernel"),
                          use_bias ? c.param("bias") : Tensor()};
    fn::RecurrentOutput r = fn::conv_lstm(
        xv, carry, Tensor(), w, {.unroll = unroll, .strides = strides, .padding = padding});
    return LayerResult{Tree::list({Tree(r.output), list_of(r.carry)})};
  };
  auto sizes = [](const fn::Sizes& v) {
    std::string out = "{";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return out + "}";
  };
  std::string name = opts.name;
  Model node = layer(std::move(f), std::move(in.models),
                     {.name = std::move(opts.name),
                      .op_name = "conv_lstm",
                      .params = std::move(params),
                      .options = {{"units", std::to_string(units)},
                                  {"kernel_size", sizes(ks)},
                                  {"strides", sizes(strides)},
                                  {"unroll", unroll_name(unroll)},
                                  {"use_bias", use_bias ? "true" : "false"}}},
                     where);
  return outputs_of(node, 2, name, where);
}

}  // namespace

RecurrentLayer lstm(const Model& x, int64_t units, RecurrentOptions opts,
                    SourceLocation where) {
  return gated(kLstm, x, std::nullopt, units, std::move(opts), where);
}
RecurrentLayer lstm(const Model& x, const Model& hidden_state, int64_t units, RecurrentOptions opts,
                    SourceLocation where) {
  return gated(kLstm, x, hidden_state, units, std::move(opts), where);
}
RecurrentLayer gru(const Model& x, int64_t units, RecurrentOptions opts,
                   SourceLocation where) {
  return gated(kGru, x, std::nullopt, units, std::move(opts), where);
}
RecurrentLayer gru(const Model& x, const Model& hidden_state, int64_t units, RecurrentOptions opts,
                   SourceLocation where) {
  return gated(kGru, x, hidden_state, units, std::move(opts), where);
}
RecurrentLayer conv_lstm(const Model& x, int64_t units, ConvLstmOptions opts,
                         SourceLocation where) {
  return conv_lstm_impl(x, std::nullopt, units, std::move(opts), where);
}
RecurrentLayer conv_lstm(const Model& x, const Model& hidden_state, int64_t units,
                         ConvLstmOptions opts, SourceLocation where) {
  return conv_lstm_impl(x, hidden_state, units, std::move(opts), where);
}

Model bidirectional(const Model& x, std::function<Model(const Model&)> forward_fn, MergeFn merge_fn,
                    BidirectionalOptions opts, SourceLocation where) {
  if (!forward_fn) throw nx::Error("axon::bidirectional: forward_fn is empty");
  if (!merge_fn) {
    merge_fn = [](const Tensor& a, const Tensor& b) { return fn::concatenate({a, b}, -1); };
  }
  const int64_t axis = opts.axis;
  Block shared = block([forward_fn](const std::vector<Model>& in) { return forward_fn(in[0]); }, 1,
                       {.name = opts.name});
  Model forward = shared({x}, where);
  Model reversed = layer(
      [axis](const LayerCall& c) {
        const Tensor& v = c.input(0);
        return LayerResult{
            nx::reverse(v, {nx::normalize_axis(axis, v.rank(), "axon::bidirectional")})};
      },
      {x}, {.op_name = "reverse", .options = {{"axis", std::to_string(axis)}}}, where);
  Model backward = shared({reversed}, where);
  return layer(
      [axis, merge_fn](const LayerCall& c) {
        const int64_t rank = c.input(0).rank();
        const int64_t a = nx::normalize_axis(axis, rank, "axon::bidirectional");
        Tree back = nx::tree_map(c.inputs[2], [&](const Tensor& t) {
          return t.rank() == rank ? nx::reverse(t, {a}) : t;
        });
        return LayerResult{nx::tree_map(c.inputs[1], back, merge_fn)};
      },
      {x, forward, backward},
      {.op_name = "bidirectional", .options = {{"axis", std::to_string(axis)}}}, where);
}

}  // namespace axon
