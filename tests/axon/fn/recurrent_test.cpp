// Tests of axon::fn recurrent layers against tests/axon/fn/data/recurrent.npz (made by
// gen_recurrent.py): torch.nn.LSTM / GRU (also bidirectional), and torch transcriptions of
// Axon's cells for masks, other activations and ConvLSTM. Every case checks the output sequence,
// the final carry and the gradients w.r.t. the input, the initial carry and every weight, eagerly
// and under nx::jit, with both unrolls.
#include <gtest/gtest.h>

#include <string>

#include "axon/fn/recurrent.hpp"
#include "fn_test_helpers.hpp"
#include "nx/nx.hpp"

namespace {

namespace fn = axon::fn;
using fn_test::expect_close;
using nx::Tensor;
using nx::Tree;

constexpr double kRtol = 2e-4, kAtol = 2e-5;

Tensor R(const std::string& c, const std::string& k) {
  return fn_test::ref("recurrent", c + "_" + k);
}

fn::LstmWeights lstm_weights(const std::string& c, const std::string& pre = "") {
  auto r = [&](const char* k) { return R(c, pre + k); };
  return {r("wii"), r("wif"), r("wig"), r("wio"), r("whi"), r("whf"),
          r("whg"), r("who"), r("bi"),  r("bf"),  r("bg"),  r("bo")};
}

fn::GruWeights gru_weights(const std::string& c) {
  auto r = [&](const char* k) { return R(c, k); };
  return {r("wir"), r("wiz"), r("win"), r("whr"), r("whz"),
          r("whn"), r("br"),  r("bz"),  r("bin"), r("bhn")};
}

Tensor softsign(const Tensor& x) {
  return x / (1.0 + nx::abs(x));
}

// A recurrent run of the case's arguments {"x", "c0"?, "h0", "w" or "fwd"/"bwd"}.
using Run = std::function<fn::RecurrentOutput(const Tree& args)>;

// The reference's loss: sum(out * ct_out) + sum(carry * ct_carry).
Tensor loss_of(const std::string& c, const fn::RecurrentOutput& r) {
  Tensor l = nx::sum(r.output * R(c, "ct_out"));
  const char* names[] = {"c", "h"};
  for (size_t k = 0; k < r.carry.size(); ++k) {
    l = l + nx::sum(r.carry[k] * R(c, std::string("ct_") + (r.carry.size() == 2 ? names[k] : "h")));
  }
  return l;
}

// "w.input_kernel.wii" -> "g_wii"; "fwd.bias.bi" -> "g_fwd_bi"; "c0" -> "g_c0".
std::string grad_key(const std::string& path) {
  const size_t first = path.find('.'), last = path.rfind('.');
  if (first == std::string::npos) return "g_" + path;
  const std::string head = path.substr(0, first), leaf = path.substr(last + 1);
  return head == "w" ? "g_" + leaf : "g_" + head + "_" + leaf;
}

// Forward (output and carry) and gradients of the case `c`, eagerly and compiled.
void check_case(const std::string& c, const Tree& args, const Run& run) {
  SCOPED_TRACE(c);
  fn::RecurrentOutput r = run(args);
  expect_close(r.output, R(c, "out"), kRtol, kAtol, c + " output");
  if (r.carry.size() == 2) {
    expect_close(r.carry[0], R(c, "c"), kRtol, kAtol, c + " carry c");
    expect_close(r.carry[1], R(c, "h"), kRtol, kAtol, c + " carry h");
  } else {
    ASSERT_EQ(r.carry.size(), 1u);
    expect_close(r.carry[0], R(c, "h"), kRtol, kAtol, c + " carry h");
  }
  auto grad_fn = [c, run](const Tree& a) {
    return nx::grad(a, [&](const Tree& p) { return loss_of(c, run(p)); });
  };
  auto compiled = nx::jit(grad_fn);
  for (const auto& [mode, g] : {std::pair<std::string, Tree>{"eager", grad_fn(args)},
                                std::pair<std::string, Tree>{"jit", compiled(args)}}) {
    for (const nx::PathLeaf& leaf : nx::tree_flatten_with_paths(g)) {
      expect_close(leaf.tensor, R(c, grad_key(leaf.path)), kRtol, kAtol,
                   c + " grad " + leaf.path + " (" + mode + ")");
    }
  }
}

Tree lstm_args(const std::string& c, const Tree& w) {
  return Tree{{"x", R(c, "x")}, {"c0", R(c, "c0")}, {"h0", R(c, "h0")}, {"w", w}};
}
Tree gru_args(const std::string& c) {
  return Tree{{"x", R(c, "x")}, {"h0", R(c, "h0")}, {"w", gru_weights(c).to_tree()}};
}

const fn::Unroll kUnrolls[] = {fn::Unroll::Dynamic, fn::Unroll::Static};

Tensor mask_of(const std::string& c) {
  return c.find("mask") != std::string::npos ? R(c, "mask") : Tensor();
}

fn::RecurrentOptions options_of(const std::string& c, fn::Unroll u) {
  fn::RecurrentOptions o{.unroll = u};
  if (c.find("act") != std::string::npos) o.activation = softsign;
  return o;
}

TEST(AxonFnRecurrent, LstmMatchesTorchAndTranscriptions) {
  for (const std::string c : {"lstm", "lstm_mask", "lstm_act"}) {
    for (fn::Unroll u : kUnrolls) {
      check_case(c, lstm_args(c, lstm_weights(c).to_tree()), [c, u](const Tree& a) {
        return fn::lstm(a["x"].leaf(), {a["c0"].leaf(), a["h0"].leaf()}, mask_of(c),
                        fn::LstmWeights::from_tree(a["w"]), options_of(c, u));
      });
    }
  }
}

TEST(AxonFnRecurrent, GruMatchesTorchAndTranscriptions) {
  for (const std::string c : {"gru", "gru_mask", "gru_act"}) {
    for (fn::Unroll u : kUnrolls) {
      check_case(c, gru_args(c), [c, u](const Tree& a) {
        return fn::gru(a["x"].leaf(), {a["h0"].leaf()}, mask_of(c),
                       fn::GruWeights::from_tree(a["w"]), options_of(c, u));
      });
    }
  }
}

TEST(AxonFnRecurrent, GenericUnrollsOfCellsMatch) {
  // lstm_cell / gru_cell through static_unroll and dynamic_unroll give the sequence results.
  for (auto unroll : {&fn::static_unroll, &fn::dynamic_unroll}) {
    const std::string c = "lstm_mask";
    check_case(c, lstm_args(c, lstm_weights(c).to_tree()), [c, unroll](const Tree& a) {
      fn::LstmWeights w = fn::LstmWeights::from_tree(a["w"]);
      fn::CellFn cell = [w](const Tensor& x, const std::vector<Tensor>& carry, const Tensor& m) {
        return fn::lstm_cell(x, carry, m, w);
      };
      return unroll(cell, a["x"].leaf(), {a["c0"].leaf(), a["h0"].leaf()}, R(c, "mask"));
    });
    const std::string g = "gru_act";
    check_case(g, gru_args(g), [unroll](const Tree& a) {
      fn::GruWeights w = fn::GruWeights::from_tree(a["w"]);
      fn::CellFn cell = [w](const Tensor& x, const std::vector<Tensor>& carry, const Tensor& m) {
        return fn::gru_cell(x, carry, m, w, {.activation = softsign});
      };
      return unroll(cell, a["x"].leaf(), {a["h0"].leaf()}, Tensor());
    });
  }
}

TEST(AxonFnRecurrent, BidirectionalMatchesTorch) {
  const std::string c = "bilstm";
  Tree args{{"x", R(c, "x")},
            {"c0", R(c, "c0")},
            {"h0", R(c, "h0")},
            {"fwd", lstm_weights(c, "fwd_").to_tree()},
            {"bwd", lstm_weights(c, "bwd_").to_tree()}};
  for (fn::Unroll u : kUnrolls) {
    check_case(c, args, [u](const Tree& a) {
      std::vector<Tensor> carry = {a["c0"].leaf(), a["h0"].leaf()};
      auto dir = [&](const char* name) {
        return
            [w = fn::LstmWeights::from_tree(a[name]), carry, u](const Tensor& x, const Tensor& m) {
              return fn::lstm(x, carry, m, w, {.unroll = u});
            };
      };
      fn::BidirectionalOutput b = fn::bidirectional(a["x"].leaf(), {}, dir("fwd"), dir("bwd"));
      return fn::RecurrentOutput{b.output, b.carry};
    });
  }
}

TEST(AxonFnRecurrent, BidirectionalMergesAndReversesTheMask) {
  const std::string c = "lstm_mask";
  fn::LstmWeights w = lstm_weights(c);
  std::vector<Tensor> carry = {R(c, "c0"), R(c, "h0")};
  Tensor x = R(c, "x"), mask = R(c, "mask");
  fn::RecurrentFn run = [&](const Tensor& in, const Tensor& m) {
    return fn::lstm(in, carry, m, w);
  };
  fn::BidirectionalOutput sum = fn::bidirectional(x, mask, run, run, {.merge = fn::Merge::Sum});
  fn::BidirectionalOutput mean = fn::bidirectional(x, mask, run, run, {.merge = fn::Merge::Mean});
  // The backward run is the forward function on the reversed input and mask, reversed back.
  fn::RecurrentOutput back = run(nx::reverse(x, {1}), nx::reverse(mask, {1}));
  expect_close(sum.backward.output, nx::reverse(back.output, {1}), 1e-6, 1e-6, "backward");
  expect_close(sum.forward.output, R(c, "out"), kRtol, kAtol, "forward");
  expect_close(sum.output, sum.forward.output + sum.backward.output, 1e-6, 1e-6, "sum");
  expect_close(mean.output, (sum.forward.output + sum.backward.output) * 0.5, 1e-6, 1e-6, "mean");
  expect_close(sum.carry[1], sum.forward.carry[1] + back.carry[1], 1e-6, 1e-6, "carry sum");
  fn::BidirectionalOutput cat = fn::bidirectional(x, mask, run, run);
  EXPECT_EQ(cat.output.shape(), (nx::Shape{3, 5, 12}));
  EXPECT_EQ(cat.carry[0].shape(), (nx::Shape{3, 12}));
}

TEST(AxonFnRecurrent, ConvLstmMatchesTranscription) {
  for (const std::string c : {"conv", "conv_strided"}) {
    const bool strided = c == "conv_strided";
    fn::ConvLstmWeights w{R(c, "wi"), R(c, "wh"), R(c, "b")};
    Tree args{{"x", R(c, "x")}, {"c0", R(c, "c0")}, {"h0", R(c, "h0")}, {"w", w.to_tree()}};
    for (fn::Unroll u : kUnrolls) {
      check_case(c, args, [u, strided](const Tree& a) {
        fn::ConvLstmSequenceOptions o{.unroll = u};
        if (strided) {
          o.strides = {2};
          o.padding = nx::Padding::valid();
        }
        return fn::conv_lstm(a["x"].leaf(), {a["c0"].leaf(), a["h0"].leaf()}, {},
                             fn::ConvLstmWeights::from_tree(a["w"]), o);
      });
    }
    // The cell, unrolled generically, agrees.
    check_case(c, args, [strided](const Tree& a) {
      fn::ConvLstmWeights cw = fn::ConvLstmWeights::from_tree(a["w"]);
      fn::ConvLstmOptions o;
      if (strided) o = {.strides = {2}, .padding = nx::Padding::valid()};
      fn::CellFn cell = [cw, o](const Tensor& x, const std::vector<Tensor>& carry,
                                const Tensor& m) { return fn::conv_lstm_cell(x, carry, m, cw, o); };
      return fn::dynamic_unroll(cell, a["x"].leaf(), {a["c0"].leaf(), a["h0"].leaf()}, {});
    });
  }
}

TEST(AxonFnRecurrent, JitEqualsEagerAndScalarMaskIsNone) {
  const std::string c = "lstm";
  fn::LstmWeights w = lstm_weights(c);
  std::vector<Tensor> carry = {R(c, "c0"), R(c, "h0")};
  auto f = [&](const Tensor& x) { return fn::lstm(x, carry, Tensor(0), w).output; };
  expect_close(nx::jit(f)(R(c, "x")), f(R(c, "x")), 1e-6, 1e-6, "jit vs eager");
  expect_close(f(R(c, "x")), R(c, "out"), kRtol, kAtol, "scalar 0 mask");
  // A scalar 1 mask keeps the initial carry everywhere.
  fn::RecurrentOutput kept = fn::lstm(R(c, "x"), carry, Tensor(1), w);
  expect_close(kept.carry[1], carry[1], 0, 0, "scalar 1 mask");
}

TEST(AxonFnRecurrent, NoBiasMatchesZeroBias) {
  const std::string c = "gru";
  fn::GruWeights w = gru_weights(c), nb = w, zb = w;
  nb.br = nb.bz = nb.bin = nb.bhn = Tensor();
  zb.br = zb.bz = zb.bin = zb.bhn = nx::zeros({6});
  std::vector<Tensor> h0 = {R(c, "h0")};
  expect_close(fn::gru(R(c, "x"), h0, {}, nb).output, fn::gru(R(c, "x"), h0, {}, zb).output, 0,
               1e-6, "no bias");
  EXPECT_FALSE(nb.to_tree().contains("bias"));
  EXPECT_TRUE(fn::GruWeights::from_tree(nb.to_tree()).bhn.defined() == false);
}

TEST(AxonFnRecurrent, SecondOrderGradientMatchesFiniteDifferences) {
  // Hessian-vector product of an LSTM loss w.r.t. the input (grad of grad through the scan and
  // its reverse scan) against central differences of the gradient, in f64.
  const int64_t b = 2, t = 4, f = 3, u = 3;
  uint32_t seed = 0;
  auto r = [&](const nx::Shape& s) {
    return nx::random::uniform(nx::random::key(seed++), s,
                               {.min = -0.6, .max = 0.6, .dtype = nx::f64});
  };
  fn::LstmWeights w{r({f, u}), r({f, u}), r({f, u}), r({f, u}), r({u, u}), r({u, u}),
                    r({u, u}), r({u, u}), r({u}),    r({u}),    r({u}),    r({u})};
  Tensor x = r({b, t, f}), v = r({b, t, f}), ct = r({b, t, u}), z = nx::zeros({b, u}, nx::f64);
  auto loss = [&](const Tensor& xx) { return nx::sum(fn::lstm(xx, {z, z}, {}, w).output * ct); };
  auto gv = [&](const Tensor& xx) { return nx::sum(nx::grad(xx, loss) * v); };
  const double eps = 1e-5;
  Tensor fd = (nx::grad(x + v * eps, loss) - nx::grad(x - v * eps, loss)) / (2 * eps);
  expect_close(nx::grad(x, gv), fd, 1e-6, 1e-9, "Hv (eager)");
  expect_close(nx::jit([&](const Tensor& xx) { return nx::grad(xx, gv); })(x), fd, 1e-6, 1e-9,
               "Hv (jit)");
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one containing: " << part;
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(AxonFnRecurrent, BadInputsThrowNamingTheFunction) {
  const std::string c = "lstm";
  fn::LstmWeights w = lstm_weights(c);
  std::vector<Tensor> carry = {R(c, "c0"), R(c, "h0")};
  Tensor x = R(c, "x");
  expect_error(
      [&] {
        fn::lstm(nx::zeros({3, 5, 7}), carry, {}, w);
      },
      "axon::fn::lstm: input must have 4 features");
  expect_error([&] { fn::lstm(x, {carry[0]}, {}, w); },
               "axon::fn::lstm: the carry must have 2 tensors {c, h}, got 1");
  expect_error(
      [&] {
        fn::lstm(x, {carry[0], nx::zeros({3, 5})}, {}, w);
      },
      "axon::fn::lstm: carry h must have shape {3, 6}, got f32{3, 5}");
  expect_error(
      [&] {
        fn::lstm(x, carry, nx::zeros({3, 4}), w);
      },
      "axon::fn::lstm: mask must be a scalar or have shape {3, 5}");
  fn::LstmWeights bad = w;
  bad.whf = nx::zeros({6, 5});
  expect_error([&] { fn::lstm(x, carry, {}, bad); },
               "axon::fn::lstm: whf must have shape {6, 6}, got f32{6, 5}");
  bad = w;
  bad.bg = Tensor();
  expect_error([&] { fn::lstm(x, carry, {}, bad); }, "give every bias tensor or none");
  expect_error(
      [&] {
        fn::LstmWeights::from_tree(Tree{{"input_kernel", Tree{}}});
      },
      "axon::fn::LstmWeights::from_tree: the parameter tree has no tensor "
      "\"input_kernel.wii\"");
  expect_error(
      [&] {
        fn::gru_cell(nx::zeros({3, 4}), {R("gru", "h0")}, nx::zeros({2}), gru_weights("gru"));
      },
      "axon::fn::gru_cell: mask must have shape {3}");
  fn::ConvLstmWeights cw{R("conv", "wi"), R("conv", "wh"), R("conv", "b")};
  expect_error(
      [&] {
        fn::conv_lstm(nx::zeros({2, 3, 5, 5, 5}), {R("conv", "c0"), R("conv", "h0")}, {}, cw);
      },
      "axon::fn::conv_lstm: the input has 5 channels but the input kernel expects 2");
  expect_error([&] { fn::bidirectional(x, {}, nullptr, nullptr); },
               "axon::fn::bidirectional: the recurrent functions must not be empty");
}

}  // namespace
