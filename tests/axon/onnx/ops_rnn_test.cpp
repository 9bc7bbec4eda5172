// The ONNX LSTM, GRU and RNN converters, called through a hand-filled OpCall, against
// tests/axon/onnx/data/ops_rnn.npz (gen_ops_rnn.py: a float64 transcription of the ONNX formulas,
// itself checked against torch.nn.LSTM/GRU/RNN): outputs Y, Y_h, Y_c and the gradients of all of
// them with respect to every float input, eagerly and under nx::jit.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <string>
#include <vector>

#include "axon/compiler.hpp"
#include "axon/fn/fn_test_helpers.hpp"
#include "axon/onnx.hpp"
#include "axon/onnx/ops.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/io.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"
#include "op_test_util.hpp"

namespace {

using axon::onnx_import::OpCall;
using nx::Tensor;

const nx::Tree& data() {
  static const nx::Tree t =
      nx::io::load_npz(std::filesystem::path(__FILE__).parent_path() / "data" / "ops_rnn.npz");
  return t;
}

Tensor ref(const std::string& c, const std::string& key) {
  const nx::Tree* t = data().find(c + "." + key);
  return t ? t->leaf() : Tensor();
}

using op_test::Attrs;

std::vector<Tensor> run(const std::string& op, const Attrs& attrs,
                        const std::vector<Tensor>& inputs, int64_t opset = 17, size_t outputs = 3) {
  OpCall call;
  call.op_type_ = op;
  call.name_ = "n";
  call.opset_ = opset;
  call.inputs_ = inputs;
  call.num_outputs_ = outputs;
  attrs.attach(call);
  const auto* entry = axon::onnx_import::find_op(op);
  if (!entry) throw nx::Error("no converter for " + op);
  return entry->convert(call);
}

Tensor flat_concat(const std::vector<Tensor>& outs) {
  std::vector<Tensor> flat;
  for (const Tensor& t : outs) flat.push_back(nx::reshape(t, {t.size()}));
  return nx::concatenate(flat, 0);
}

struct RnnCase {
  std::string name, op;
  Attrs attrs;
};

void check_case(const RnnCase& c) {
  const std::vector<std::string> slots =
      c.op == "LSTM" ? std::vector<std::string>{"X",         "W",         "R", "B", "sequence_lens",
                                                "initial_h", "initial_c", "P"}
                     : std::vector<std::string>{"X", "W", "R", "B", "sequence_lens", "initial_h"};
  std::vector<Tensor> all;
  std::vector<Tensor> diff_inputs, grads;
  std::vector<size_t> diff_slot;
  for (size_t k = 0; k < slots.size(); ++k) {
    Tensor t = ref(c.name, slots[k]);
    all.push_back(t);
    if (t.defined() && slots[k] != "sequence_lens") {
      diff_slot.push_back(k);
      diff_inputs.push_back(t);
      grads.push_back(ref(c.name, "grad_" + slots[k]));
    }
  }
  std::vector<Tensor> expected_outs = {ref(c.name, "Y"), ref(c.name, "Y_h")};
  if (c.op == "LSTM") expected_outs.push_back(ref(c.name, "Y_c"));
  auto f = [&](const std::vector<Tensor>& xs) {
    std::vector<Tensor> ins = all;
    for (size_t j = 0; j < xs.size(); ++j) ins[diff_slot[j]] = xs[j];
    return flat_concat(run(c.op, c.attrs, ins));
  };
  // Shapes of each output.
  std::vector<Tensor> outs = run(c.op, c.attrs, all);
  ASSERT_EQ(outs.size(), expected_outs.size()) << c.name;
  for (size_t k = 0; k < outs.size(); ++k) {
    fn_test::expect_close(outs[k], expected_outs[k], 1e-4, 2e-5,
                          c.name + " output " + std::to_string(k));
  }
  std::vector<size_t> wrt;
  for (size_t j = 0; j < diff_inputs.size(); ++j) wrt.push_back(j);
  fn_test::check_forward_and_grads(f, diff_inputs, flat_concat(expected_outs),
                                   ref(c.name, "cotangent"), wrt, grads, 1e-4, 5e-5, c.name);
  // Compiled forward, with the float inputs as arguments.
  auto jf = nx::jit([&](const nx::Tree& xs) {
    std::vector<Tensor> v;
    for (const auto& l : xs.children()) v.push_back(l.leaf());
    return f(v);
  });
  nx::Tree::List args;
  for (const Tensor& t : diff_inputs) args.push_back(nx::Tree(t));
  fn_test::expect_close(jf(nx::Tree::list(args)), flat_concat(expected_outs), 1e-4, 2e-5,
                        c.name + " jit forward");
}

TEST(OnnxRnnOps, LstmMatchesTorchForward) {
  check_case({"lstm_fwd", "LSTM", Attrs().i("hidden_size", 3)});
}
TEST(OnnxRnnOps, LstmMatchesTorchBidirectional) {
  check_case({"lstm_bidir", "LSTM", Attrs().i("hidden_size", 3).s("direction", "bidirectional")});
}
TEST(OnnxRnnOps, LstmReversePeepholesClipSequenceLengths) {
  check_case({"lstm_rev_peep_clip_lens", "LSTM",
              Attrs().i("hidden_size", 3).s("direction", "reverse").f("clip", 0.7f)});
}
TEST(OnnxRnnOps, LstmBidirectionalSequenceLengthsPeepholes) {
  check_case({"lstm_bidir_lens_peep", "LSTM",
              Attrs().i("hidden_size", 2).s("direction", "bidirectional")});
}
TEST(OnnxRnnOps, LstmLayout1InputForgetActivations) {
  check_case({"lstm_layout1_forget_acts", "LSTM",
              Attrs()
                  .i("hidden_size", 2)
                  .i("layout", 1)
                  .i("input_forget", 1)
                  .strings("activations", {"HardSigmoid", "LeakyRelu", "ScaledTanh"})
                  .floats("activation_alpha", {0.3f, 0.2f, 0.9f})
                  .floats("activation_beta", {0.6f, 1.1f})});
}
TEST(OnnxRnnOps, LstmDefaults) {
  check_case({"lstm_defaults", "LSTM", Attrs().i("hidden_size", 4)});
}
TEST(OnnxRnnOps, GruLinearBeforeResetMatchesTorch) {
  check_case({"gru_lbr", "GRU", Attrs().i("hidden_size", 3).i("linear_before_reset", 1)});
}
TEST(OnnxRnnOps, GruLinearBeforeResetBidirectionalMatchesTorch) {
  check_case(
      {"gru_lbr_bidir", "GRU",
       Attrs().i("hidden_size", 3).i("linear_before_reset", 1).s("direction", "bidirectional")});
}
TEST(OnnxRnnOps, GruReverseSequenceLengthsClip) {
  check_case({"gru_rev_lens_clip", "GRU",
              Attrs().i("hidden_size", 2).s("direction", "reverse").f("clip", 0.5f)});
}
TEST(OnnxRnnOps, GruLayout1Activations) {
  check_case({"gru_layout1_acts", "GRU",
              Attrs()
                  .i("hidden_size", 3)
                  .i("layout", 1)
                  .strings("activations", {"Softsign", "Elu"})
                  .floats("activation_alpha", {0.5f})});
}
TEST(OnnxRnnOps, GruBidirectionalSequenceLengths) {
  check_case(
      {"gru_bidir_lens", "GRU", Attrs().i("hidden_size", 2).s("direction", "bidirectional")});
}
TEST(OnnxRnnOps, GruDefaults) {
  check_case({"gru_defaults", "GRU", Attrs().i("hidden_size", 3)});
}
TEST(OnnxRnnOps, RnnBidirectionalMatchesTorch) {
  check_case({"rnn_bidir", "RNN", Attrs().i("hidden_size", 3).s("direction", "bidirectional")});
}
TEST(OnnxRnnOps, RnnReluReverseLayout1SequenceLengths) {
  check_case({"rnn_relu_rev_layout1", "RNN",
              Attrs()
                  .i("hidden_size", 2)
                  .s("direction", "reverse")
                  .i("layout", 1)
                  .strings("activations", {"Relu"})});
}
TEST(OnnxRnnOps, RnnBidirectionalAffineSoftplusClip) {
  check_case({"rnn_bidir_acts", "RNN",
              Attrs()
                  .i("hidden_size", 3)
                  .s("direction", "bidirectional")
                  .strings("activations", {"Affine", "Softplus"})
                  .floats("activation_alpha", {0.8f})
                  .floats("activation_beta", {0.1f})
                  .f("clip", 1.5f)});
}

// sequence_lens computed from data (traced) gives the same result as a constant one.
TEST(OnnxRnnOps, TracedSequenceLengths) {
  const std::string c = "gru_bidir_lens";
  Attrs attrs = Attrs().i("hidden_size", 2).s("direction", "bidirectional");
  std::vector<Tensor> ins = {
      ref(c, "X"),        ref(c, "W"), ref(c, "R"), ref(c, "B"), ref(c, "sequence_lens"),
      ref(c, "initial_h")};
  auto f = nx::jit([&](const Tensor& x, const Tensor& lens) {
    std::vector<Tensor> in = ins;
    in[0] = x;
    in[4] = lens;
    return flat_concat(run("GRU", attrs, in));
  });
  fn_test::expect_close(f(ins[0], ins[4]), flat_concat({ref(c, "Y"), ref(c, "Y_h")}), 1e-4, 2e-5,
                        "traced lens");
}

// Only the outputs the node declares are returned; the older opsets have no layout.
TEST(OnnxRnnOps, OutputCountAndOpset) {
  const std::string c = "lstm_fwd";
  std::vector<Tensor> ins = {ref(c, "X"), ref(c, "W"),         ref(c, "R"),        ref(c, "B"),
                             Tensor(),    ref(c, "initial_h"), ref(c, "initial_c")};
  std::vector<Tensor> outs = run("LSTM", Attrs().i("hidden_size", 3), ins, 7, 1);
  ASSERT_EQ(outs.size(), 1u);
  fn_test::expect_close(outs[0], ref(c, "Y"), 1e-4, 2e-5, "Y only");
}

void expect_error(const std::string& op, const Attrs& attrs, const std::vector<Tensor>& ins,
                  const std::string& part) {
  try {
    run(op, attrs, ins);
    ADD_FAILURE() << "expected an error mentioning '" << part << "'";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(op + " node n:"), std::string::npos) << e.what();
  }
}

TEST(OnnxRnnOps, BadInputsThrow) {
  const std::string c = "lstm_fwd";
  std::vector<Tensor> ins = {ref(c, "X"), ref(c, "W"), ref(c, "R"), ref(c, "B")};
  expect_error("LSTM", Attrs().i("hidden_size", 3).s("direction", "sideways"), ins,
               "direction must be forward, reverse or bidirectional");
  expect_error("LSTM", Attrs().i("hidden_size", 3).s("direction", "bidirectional"), ins,
               "W must have shape {2, 12, 4}");
  expect_error("LSTM", Attrs().i("hidden_size", 3).strings("activations", {"Sigmoid", "Tanh"}), ins,
               "activations must list 3 functions, got 2");
  expect_error("LSTM",
               Attrs().i("hidden_size", 3).strings("activations", {"Sigmoid", "Tanh", "Gelu"}), ins,
               "unsupported activation 'Gelu'");
  std::vector<Tensor> bad_x = ins;
  bad_x[0] = nx::reshape(ins[0], {ins[0].size()});
  expect_error("LSTM", Attrs().i("hidden_size", 3), bad_x, "X must have rank 3");
  std::vector<Tensor> bad_lens = ins;
  bad_lens.push_back(nx::tensor<int32_t>({9, 1, 1}));
  expect_error("LSTM", Attrs().i("hidden_size", 3), bad_lens, "sequence_lens values must lie in");
  expect_error("GRU", Attrs().i("hidden_size", 3), ins, "W must have shape {1, 9, 4}");
}

// ---- Models exported by torch.onnx.export (gen_rnn_torch_export.py) --------------------------

const nx::Tree& torch_data() {
  static const nx::Tree t = nx::io::load_npz(std::filesystem::path(__FILE__).parent_path() /
                                             "data" / "rnn_torch_export.npz");
  return t;
}

Tensor tref(const std::string& c, const std::string& key) {
  return torch_data()[c + "." + key].leaf();
}

// Imports data/rnn_<kind>.onnx, runs it on the recorded inputs and compares every output with
// torch's; then differentiates through the imported model: with respect to the input (against
// torch's gradient) and with respect to its parameters (the weights train).
void check_torch_export(const std::string& kind, const std::vector<std::string>& outputs) {
  axon::onnx::Imported m = axon::onnx::import_file(std::filesystem::path(__FILE__).parent_path() /
                                                   "data" / ("rnn_" + kind + ".onnx"));
  axon::PredictFn predict = axon::build(m.model).second;
  auto inputs = [&](const Tensor& x) {
    nx::Tree::Map in;
    for (size_t i = 0; i < m.inputs.size(); ++i) {
      in.emplace_back(m.inputs[i], nx::Tree(i == 0 ? x : tref(kind, "in" + std::to_string(i))));
    }
    return nx::Tree(std::move(in));
  };
  Tensor x = tref(kind, "in0");
  nx::Tree out = predict(m.state, inputs(x));
  for (const std::string& o : outputs) {
    fn_test::expect_close(out[o].leaf(), tref(kind, o), 1e-4, 1e-5, kind + " output " + o);
  }
  Tensor ct = tref(kind, "cotangent");
  Tensor gx = nx::grad(
      x, [&](const Tensor& v) { return nx::sum(predict(m.state, inputs(v))["y"].leaf() * ct); });
  fn_test::expect_close(gx, tref(kind, "grad_x"), 1e-4, 1e-5, kind + " grad of x");
  ASSERT_GT(m.state.trainable_parameters().num_leaves(), 0u) << kind;
  nx::Tree gp = nx::grad(m.state.trainable_parameters(), [&](const nx::Tree& p) {
    return nx::sum(predict(m.state.update(p), inputs(x))["y"].leaf() * ct);
  });
  for (const Tensor& g : nx::tree_leaves(gp)) {
    EXPECT_GT(nx::sum(nx::abs(g)).item<double>(), 0.0) << kind << ": a weight gets no gradient";
  }
}

TEST(OnnxRnnOps, TorchExportedLstmTwoLayersBidirectionalBatchFirst) {
  check_torch_export("lstm", {"y", "h", "c"});
}
TEST(OnnxRnnOps, TorchExportedGruBidirectionalWithInitialState) {
  check_torch_export("gru", {"y", "h"});
}
TEST(OnnxRnnOps, TorchExportedRnnReluTwoLayers) {
  check_torch_export("rnn", {"y", "h"});
}

}  // namespace
