// axon::fn linear layers against PyTorch (tests/axon/fn/data/gen_linear.py): forward values
// and gradients, eager and compiled, and the argument checks.
#include "axon/fn/linear.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"

namespace {

using nx::Tensor;
namespace fn = axon::fn;

constexpr double kRtol = 1e-5, kAtol = 1e-5;

Tensor lin(const std::string& key) {
  return fn_test::ref("linear", key);
}

void expect_throws_with(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing \"" << needle << "\"";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FnLinear, DenseWithBias) {
  for (const std::string c : {"dense2d", "dense1d"}) {
    fn_test::check_forward_and_grads(
        [](const std::vector<Tensor>& in) { return fn::dense(in[0], in[1], in[2]); },
        {lin(c + "_x"), lin(c + "_k"), lin(c + "_b")}, lin(c + "_out"), lin(c + "_ct"), {0, 1, 2},
        {lin(c + "_gx"), lin(c + "_gk"), lin(c + "_gb")}, kRtol, kAtol, c);
  }
}

TEST(FnLinear, DenseRank3WithoutBias) {
  fn_test::check_forward_and_grads(
      [](const std::vector<Tensor>& in) { return fn::dense(in[0], in[1]); },
      {lin("dense3d_x"), lin("dense3d_k")}, lin("dense3d_out"), lin("dense3d_ct"), {0, 1},
      {lin("dense3d_gx"), lin("dense3d_gk")}, kRtol, kAtol, "dense3d");
}

TEST(FnLinear, DenseScalarBias) {
  Tensor x = lin("dense2d_x"), k = lin("dense2d_k");
  fn_test::expect_close(fn::dense(x, k, Tensor(0.5)), nx::add(fn::dense(x, k), 0.5), 0, 0,
                        "scalar bias");
}

TEST(FnLinear, Bilinear) {
  fn_test::check_forward_and_grads(
      [](const std::vector<Tensor>& in) { return fn::bilinear(in[0], in[1], in[2], in[3]); },
      {lin("bilinear2d_x1"), lin("bilinear2d_x2"), lin("bilinear2d_k"), lin("bilinear2d_b")},
      lin("bilinear2d_out"), lin("bilinear2d_ct"), {0, 1, 2, 3},
      {lin("bilinear2d_gx1"), lin("bilinear2d_gx2"), lin("bilinear2d_gk"), lin("bilinear2d_gb")},
      kRtol, kAtol, "bilinear2d");
  fn_test::check_forward_and_grads(
      [](const std::vector<Tensor>& in) { return fn::bilinear(in[0], in[1], in[2]); },
      {lin("bilinear3d_x1"), lin("bilinear3d_x2"), lin("bilinear3d_k")}, lin("bilinear3d_out"),
      lin("bilinear3d_ct"), {0, 1, 2},
      {lin("bilinear3d_gx1"), lin("bilinear3d_gx2"), lin("bilinear3d_gk")}, kRtol, kAtol,
      "bilinear3d");
}

TEST(FnLinear, Embedding) {
  for (nx::DType t : {nx::s64, nx::s32, nx::u8}) {
    Tensor ids = nx::as_type(lin("embedding_i"), t);
    fn_test::check_forward_and_grads(
        [ids](const std::vector<Tensor>& in) { return fn::embedding(ids, in[0]); },
        {lin("embedding_k")}, lin("embedding_out"), lin("embedding_ct"), {0}, {lin("embedding_gk")},
        kRtol, kAtol, "embedding");
  }
}

TEST(FnLinear, Bias) {
  for (const std::string c : {"bias", "bias_col"}) {
    fn_test::check_forward_and_grads(
        [](const std::vector<Tensor>& in) { return fn::bias(in[0], in[1]); },
        {lin(c + "_x"), lin(c + "_b")}, lin(c + "_out"), lin(c + "_ct"), {0, 1},
        {lin(c + "_gx"), lin(c + "_gb")}, kRtol, kAtol, c);
  }
}

TEST(FnLinear, JitEqualsEager) {
  Tensor x = lin("bilinear2d_x1"), x2 = lin("bilinear2d_x2"), k = lin("bilinear2d_k"),
         b = lin("bilinear2d_b");
  auto f = nx::jit([](const Tensor& a, const Tensor& c, const Tensor& kk, const Tensor& bb) {
    return fn::bilinear(a, c, kk, bb);
  });
  fn_test::expect_close(f(x, x2, k, b), fn::bilinear(x, x2, k, b), 1e-6, 1e-6, "bilinear jit");
  auto g = nx::jit([](const Tensor& a, const Tensor& kk) { return fn::dense(a, kk); });
  fn_test::expect_close(g(lin("dense3d_x"), lin("dense3d_k")),
                        fn::dense(lin("dense3d_x"), lin("dense3d_k")), 1e-6, 1e-6, "dense jit");
}

TEST(FnLinear, Errors) {
  Tensor x = nx::zeros({3, 5}), k = nx::zeros({4, 2});
  expect_throws_with([&] { fn::dense(x, k); }, "axon::fn::dense: kernel must have 5 rows");
  expect_throws_with([&] { fn::dense(x, nx::zeros({5})); }, "axon::fn::dense");
  expect_throws_with(
      [&] {
        fn::dense(x, nx::zeros({5, 2}), nx::zeros({3}));
      },
      "axon::fn::dense: bias must be a scalar or have shape [2]");
  expect_throws_with(
      [&] {
        fn::bilinear(x, nx::zeros({2, 4}), nx::zeros({1, 5, 4}));
      },
      "axon::fn::bilinear: input1 and input2 must share");
  expect_throws_with(
      [&] {
        fn::bilinear(x, nx::zeros({3, 4}), nx::zeros({1, 5, 3}));
      },
      "axon::fn::bilinear: kernel must have shape [units][5][4]");
  expect_throws_with(
      [&] {
        fn::embedding(nx::zeros({3}), nx::zeros({4, 2}));
      },
      "axon::fn::embedding: indices must be integers, got f32{3}");
  expect_throws_with([&] { fn::bias(x, nx::zeros({3})); }, "axon::fn::bias: bias must broadcast");
}

}  // namespace
