// Tests of axon::fn::losses::ctc_loss and connectionist_temporal_classification against
// torch.nn.functional.ctc_loss (values; gradients through log_softmax) and against autograd of a
// plain forward algorithm (exact gradients w.r.t. the log-probabilities); see gen_losses.py.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "axon/fn/losses.hpp"
#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace {

namespace losses = axon::fn::losses;
using losses::Reduction;
using nx::Tensor;

Tensor ref(const std::string& c, const std::string& field) {
  return fn_test::ref("losses", c + "__" + field);
}

Reduction reduction_of(const std::string& name) {
  return name == "mean" ? Reduction::Mean : name == "sum" ? Reduction::Sum : Reduction::None;
}

// Gradients w.r.t. the log-probabilities (exact) and w.r.t. logits through log_softmax
// (PyTorch's), eagerly and compiled, and the compiled forward equal to the eager one.
void check_ctc(const std::string& name, double rtol, double atol, bool zero_infinity = false) {
  for (const std::string red : {"none", "mean", "sum"}) {
    const std::string c = name + "_" + red;
    SCOPED_TRACE(c);
    const losses::CtcOptions o{.blank = name == "ctc_blank" ? 3 : 0,
                               .reduction = reduction_of(red),
                               .zero_infinity = zero_infinity};
    Tensor in_len = ref(c, "input_lengths"), labels = ref(c, "labels");
    Tensor lab_len = ref(c, "label_lengths");
    Tensor lp = ref(c, "log_probs"), logits = ref(c, "logits");
    Tensor ct = nx::as_type(ref(c, "ct"), lp.dtype());
    auto on_lp = [&](const std::vector<Tensor>& x) {
      return losses::ctc_loss(x[0], in_len, labels, lab_len, o);
    };
    auto on_logits = [&](const std::vector<Tensor>& x) {
      return losses::ctc_loss(nx::log_softmax(x[0]), in_len, labels, lab_len, o);
    };
    fn_test::check_forward_and_grads(on_lp, {lp}, ref(c, "out"), ct, {0},
                                     {ref(c, "grad_log_probs")}, rtol, atol, c + " log_probs");
    fn_test::check_forward_and_grads(on_logits, {logits}, ref(c, "out"), ct, {0},
                                     {ref(c, "grad_logits")}, rtol, atol, c + " logits");
    auto compiled = nx::jit([&](const Tensor& x) { return on_lp({x}); });
    fn_test::expect_close(compiled(lp), on_lp({lp}), 1e-12, 1e-12, c + " jit vs eager");
  }
}

TEST(LossesCtc, Float32) {
  check_ctc("ctc_f32", 2e-5, 2e-5);
}

TEST(LossesCtc, Float64) {
  check_ctc("ctc_f64", 1e-10, 1e-12);
}

TEST(LossesCtc, OtherBlankEmptyLabelsAndOneFrame) {
  check_ctc("ctc_blank", 1e-10, 1e-12);
}

TEST(LossesCtc, ZeroInfinity) {
  check_ctc("ctc_zero_inf", 1e-10, 1e-12, true);
}

TEST(LossesCtc, ImpossibleAlignmentIsInfinite) {
  for (const std::string red : {"none", "mean", "sum"}) {
    const std::string c = "ctc_impossible_" + red;
    Tensor out = losses::ctc_loss(ref(c, "log_probs"), ref(c, "input_lengths"), ref(c, "labels"),
                                  ref(c, "label_lengths"), {.reduction = reduction_of(red)});
    fn_test::expect_close(out, ref(c, "out"), 1e-10, 1e-12, c);
  }
  // The finite sample's gradient is unaffected; the impossible one gets zero (not NaN).
  const std::string c = "ctc_zero_inf_none";
  Tensor g = nx::grad(ref(c, "log_probs"), [&](const Tensor& lp) {
    Tensor l =
        losses::ctc_loss(lp, ref(c, "input_lengths"), ref(c, "labels"), ref(c, "label_lengths"));
    return nx::sum(nx::select(nx::is_infinity(l), 0.0, l) * nx::as_type(ref(c, "ct"), lp.dtype()));
  });
  fn_test::expect_close(g, ref(c, "grad_log_probs"), 1e-10, 1e-12, "grad without zero_infinity");
}

TEST(LossesCtc, NoLabelsAtAll) {
  // S = 0: the only path is all blanks, so the loss is -sum_t log p_t(blank) over each input.
  Tensor lp = nx::log_softmax(nx::reshape(nx::cos(nx::iota({2 * 4 * 3}, nx::f64)), {2, 4, 3}));
  Tensor in_len = nx::tensor({4, 2});
  Tensor out =
      losses::ctc_loss(lp, in_len, nx::zeros({2, 0}, nx::s64), nx::tensor({0, 0}), {.blank = 1});
  std::vector<double> v = fn_test::values(lp);
  const double l0 = -(v[1] + v[4] + v[7] + v[10]);
  const double l1 = -(v[13] + v[16]);
  fn_test::expect_close(out, nx::tensor({l0, l1}, nx::f64), 1e-12, 1e-12, "all blank");
}

TEST(LossesCtc, AxonSignatureUsesAllFrames) {
  Tensor lp = ref("ctc_f64_none", "log_probs");
  Tensor labels = ref("ctc_f64_none", "labels"), lab_len = ref("ctc_f64_none", "label_lengths");
  Tensor frames = nx::full({3}, 8, nx::s64);
  for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
    fn_test::expect_close(
        losses::connectionist_temporal_classification({lab_len, labels}, lp, {.reduction = r}),
        losses::ctc_loss(lp, frames, labels, lab_len, {.reduction = r}), 1e-12, 1e-12, "axon");
  }
}

TEST(LossesCtc, Errors) {
  Tensor lp = nx::zeros({2, 4, 3});
  Tensor len = nx::tensor({4, 4}), labels = nx::tensor({{1, 2}, {2, 1}});
  auto expect_error = [](const std::function<void()>& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "expected nx::Error with " << part;
    } catch (const nx::Error& e) {
      EXPECT_NE(std::string(e.what()).find("axon::fn::ctc_loss"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error([&] { losses::ctc_loss(nx::zeros({2, 4}), len, labels, len); }, "rank 3");
  expect_error([&] { losses::ctc_loss(lp, len, labels, len, {.blank = 3}); }, "blank");
  expect_error(
      [&] {
        losses::ctc_loss(lp, nx::tensor({5, 4}), labels, nx::tensor({2, 2}));
      },
      "input_lengths must lie in [0, 4]");
  expect_error(
      [&] {
        losses::ctc_loss(lp, len, labels, nx::tensor({3, 2}));
      },
      "label_lengths must lie in [0, 2]");
  expect_error(
      [&] {
        losses::ctc_loss(lp, len, nx::tensor({{1, 3}, {2, 1}}), nx::tensor({2, 2}));
      },
      "labels must be class ids in [0, 3)");
  expect_error(
      [&] {
        losses::ctc_loss(lp, len, nx::zeros({2, 2}), nx::tensor({2, 2}));
      },
      "labels must be an integer tensor");
}

}  // namespace
