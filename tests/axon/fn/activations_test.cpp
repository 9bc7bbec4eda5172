// axon::fn activations against PyTorch (tests/axon/fn/data/gen_activations.py): forward values
// and gradients, float32 and float64, eagerly and compiled; lookup by name; bad input.
#include "axon/fn/activations.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace {

namespace fn = axon::fn;
using nx::Tensor;

struct Case {
  std::string name;                     // reference case in activations.npz
  fn::Activation f;                     // the function under test
  double rtol32 = 2e-6, atol32 = 1e-6;  // float32 tolerances
};

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"celu", [](const Tensor& x) { return fn::celu(x); }},
      {"celu_a2", [](const Tensor& x) { return fn::celu(x, {.alpha = 2.0}); }},
      {"celu_a05", [](const Tensor& x) { return fn::celu(x, {.alpha = 0.5}); }},
      {"elu", [](const Tensor& x) { return fn::elu(x); }},
      {"elu_a05", [](const Tensor& x) { return fn::elu(x, {.alpha = 0.5}); }},
      {"exp", [](const Tensor& x) { return fn::exp(x); }},
      {"gelu", [](const Tensor& x) { return fn::gelu(x); }},
      {"hard_sigmoid", [](const Tensor& x) { return fn::hard_sigmoid(x); }},
      {"hard_sigmoid_a05_b03",
       [](const Tensor& x) { return fn::hard_sigmoid(x, {.alpha = 0.5, .beta = 0.3}); }},
      {"hard_sigmoid_keras",
       [](const Tensor& x) { return fn::hard_sigmoid(x, {.alpha = 1.0 / 6.0, .beta = 0.5}); }},
      {"hard_silu", [](const Tensor& x) { return fn::hard_silu(x); }},
      {"hard_silu_keras",
       [](const Tensor& x) { return fn::hard_silu(x, {.alpha = 1.0 / 6.0, .beta = 0.5}); }},
      {"hard_tanh", [](const Tensor& x) { return fn::hard_tanh(x); }},
      {"leaky_relu", [](const Tensor& x) { return fn::leaky_relu(x); }},
      {"leaky_relu_a02", [](const Tensor& x) { return fn::leaky_relu(x, {.alpha = 0.2}); }},
      {"linear", [](const Tensor& x) { return fn::linear(x); }},
      {"log_sigmoid", [](const Tensor& x) { return fn::log_sigmoid(x); }},
      {"mish", [](const Tensor& x) { return fn::mish(x); }},
      {"relu", [](const Tensor& x) { return fn::relu(x); }},
      {"relu6", [](const Tensor& x) { return fn::relu6(x); }},
      {"sigmoid", [](const Tensor& x) { return fn::sigmoid(x); }},
      {"silu", [](const Tensor& x) { return fn::silu(x); }},
      {"selu", [](const Tensor& x) { return fn::selu(x); }},
      {"selu_custom", [](const Tensor& x) { return fn::selu(x, {.alpha = 0.7, .gamma = 1.5}); }},
      {"softplus", [](const Tensor& x) { return fn::softplus(x); }},
      {"softsign", [](const Tensor& x) { return fn::softsign(x); }},
      {"tanh", [](const Tensor& x) { return fn::tanh(x); }},
      {"softmax", [](const Tensor& x) { return fn::softmax(x); }},
      {"softmax_ax1", [](const Tensor& x) { return fn::softmax(x, {.axis = {1}}); }},
      {"softmax_ax12",
       [](const Tensor& x) {
         return fn::softmax(x, {.axis = {1, -1}});
       }},
      {"log_softmax", [](const Tensor& x) { return fn::log_softmax(x); }},
      {"log_softmax_ax0", [](const Tensor& x) { return fn::log_softmax(x, {.axis = {0}}); }},
      {"log_softmax_ax12",
       [](const Tensor& x) {
         return fn::log_softmax(x, {.axis = {2, 1}});
       }},
      {"log_sumexp", [](const Tensor& x) { return fn::log_sumexp(x); }},
      {"log_sumexp_ax1", [](const Tensor& x) { return fn::log_sumexp(x, {.axis = {1}}); }},
      {"log_sumexp_ax02",
       [](const Tensor& x) {
         return fn::log_sumexp(x, {.axis = {0, 2}});
       }},
  };
  return all;
}

Tensor ref(const std::string& c, const std::string& member) {
  return fn_test::ref("activations", c + "_" + member);
}

void check_case(const Case& c, nx::DType dtype, double rtol, double atol) {
  SCOPED_TRACE(c.name + " " + std::string(nx::dtype_name(dtype)));
  Tensor x = nx::as_type(ref(c.name, "x"), dtype);
  Tensor ct = nx::as_type(ref(c.name, "ct"), dtype);
  Tensor out = c.f(x);
  EXPECT_EQ(out.dtype(), dtype);
  fn_test::check_forward_and_grads([&](const std::vector<Tensor>& in) { return c.f(in[0]); }, {x},
                                   ref(c.name, "out"), ct, {0}, {ref(c.name, "gx")}, rtol, atol,
                                   c.name);
}

TEST(AxonFnActivations, MatchTorchFloat32) {
  for (const Case& c : cases()) check_case(c, nx::f32, c.rtol32, c.atol32);
}

TEST(AxonFnActivations, MatchTorchFloat64) {
  for (const Case& c : cases()) check_case(c, nx::f64, 1e-12, 1e-14);
}

TEST(AxonFnActivations, JitEqualsEager) {
  for (const Case& c : cases()) {
    Tensor x = ref(c.name, "x");
    auto compiled = nx::jit([&](const Tensor& t) { return c.f(t); });
    fn_test::expect_close(compiled(x), c.f(x), 1e-6, 1e-7, c.name + " jit vs eager");
  }
}

TEST(AxonFnActivations, ByName) {
  const std::vector<std::string> names = {
      "celu",      "elu",        "exp",      "gelu",       "hard_sigmoid", "hard_silu",
      "hard_tanh", "leaky_relu", "linear",   "log_sumexp", "log_sigmoid",  "log_softmax",
      "mish",      "relu",       "relu6",    "sigmoid",    "silu",         "selu",
      "softmax",   "softplus",   "softsign", "tanh"};
  // Each name gives the activation of that name with default options: the default case.
  for (const std::string& n : names) {
    fn_test::expect_close(fn::activate(ref(n, "x"), n), ref(n, "out"), 2e-6, 1e-6, "activate " + n);
  }
  EXPECT_EQ(names.size(), 22u);
}

TEST(AxonFnActivations, UnknownNameListsValidOnes) {
  try {
    fn::activation("swish");
    FAIL() << "expected nx::Error";
  } catch (const nx::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("axon::fn::activation"), std::string::npos) << msg;
    EXPECT_NE(msg.find("\"swish\""), std::string::npos) << msg;
    EXPECT_NE(msg.find("hard_sigmoid"), std::string::npos) << msg;
    EXPECT_NE(msg.find("tanh"), std::string::npos) << msg;
  }
}

TEST(AxonFnActivations, BadOptionsThrow) {
  Tensor x = nx::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  auto expect_error = [](auto&& f, const std::string& needle) {
    try {
      f();
      FAIL() << "expected nx::Error containing " << needle;
    } catch (const nx::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error([&] { fn::celu(x, {.alpha = 0.0}); }, "axon::fn::celu: alpha must not be 0");
  expect_error([&] { fn::softmax(x, {.axis = {2}}); }, "axon::fn::softmax");
  expect_error([&] { fn::log_softmax(x, {.axis = {1, -1}}); }, "axon::fn::log_softmax");
  expect_error([&] { fn::log_sumexp(x, {.axis = {}}); }, "axon::fn::log_sumexp");
}

TEST(AxonFnActivations, StableAtLargeMagnitudes) {
  // Finite values and gradients where naive formulas overflow (f32: exp(89) = inf).
  Tensor x = nx::tensor({-1e4f, -500.0f, 500.0f, 1e4f});
  for (const auto& f : {fn::activation("softplus"), fn::activation("log_sigmoid"),
                        fn::activation("mish"), fn::activation("celu"), fn::activation("elu"),
                        fn::activation("selu"), fn::activation("silu"), fn::activation("gelu")}) {
    Tensor y = f(x);
    Tensor g = nx::grad(x, [&](const Tensor& t) { return nx::sum(f(t)); });
    for (double v : fn_test::values(y)) EXPECT_TRUE(std::isfinite(v));
    for (double v : fn_test::values(g)) EXPECT_TRUE(std::isfinite(v));
  }
  Tensor row = nx::tensor({{1e4f, 0.0f, -1e4f}});
  for (double v : fn_test::values(fn::log_softmax(row))) EXPECT_TRUE(std::isfinite(v));
  Tensor all_neg_inf = nx::full({1, 3}, -INFINITY, nx::f32);
  for (double v : fn_test::values(fn::log_sumexp(all_neg_inf))) EXPECT_EQ(v, -INFINITY);
}

TEST(AxonFnActivations, ReluGradientIsZeroAtZero) {
  Tensor x = nx::tensor({-1.0f, 0.0f, 2.0f});
  Tensor g = nx::grad(x, [](const Tensor& t) { return nx::sum(fn::relu(t)); });
  EXPECT_EQ(fn_test::values(g), (std::vector<double>{0.0, 0.0, 1.0}));
}

}  // namespace
