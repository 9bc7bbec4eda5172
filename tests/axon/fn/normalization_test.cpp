// axon::fn normalisation layers against PyTorch (tests/axon/fn/data/gen_normalization.py):
// forward values, gradients of x, gamma and beta, and the running statistics, for channels
// first and last and ranks 2 to 5.
#include "axon/fn/normalization.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/random.hpp"

namespace {

using axon::fn::Mode;
using fn_test::check_forward_and_grads;
using fn_test::expect_close;
using fn_test::ref;
using nx::Tensor;

constexpr double kRtol = 1e-4, kAtol = 1e-5;

Tensor r(const std::string& c, const std::string& k) {
  return ref("normalization", c + "_" + k);
}

std::string layout_name(int64_t channel_index) {
  return channel_index == 1 ? "first" : "last";
}

// batch_norm or instance_norm case <prefix>_r<rank>_<layout>_<train|infer>.
void check_stateful(const std::string& prefix, int rank, int64_t channel_index, Mode mode) {
  const std::string c = prefix + "_r" + std::to_string(rank) + "_" + layout_name(channel_index) +
                        (mode == Mode::Train ? "_train" : "_infer");
  SCOPED_TRACE(c);
  const Tensor mean = r(c, "mean"), var = r(c, "var");
  const axon::fn::BatchNormOptions opts{.channel_index = channel_index, .mode = mode};
  auto layer = [&](const Tensor& x, const Tensor& g, const Tensor& b) {
    return prefix == "bn" ? axon::fn::batch_norm(x, g, b, mean, var, opts)
                          : axon::fn::instance_norm(x, g, b, mean, var, opts);
  };
  check_forward_and_grads(
      [&](const std::vector<Tensor>& in) { return layer(in[0], in[1], in[2]).output; },
      {r(c, "x"), r(c, "gamma"), r(c, "beta")}, r(c, "out"), r(c, "ct"), {0, 1, 2},
      {r(c, "gx"), r(c, "ggamma"), r(c, "gbeta")}, kRtol, kAtol, c);

  axon::fn::StatefulOutput eager = layer(r(c, "x"), r(c, "gamma"), r(c, "beta"));
  auto compiled = nx::jit([&](const Tensor& x, const Tensor& g, const Tensor& b) {
    axon::fn::StatefulOutput o = layer(x, g, b);
    return nx::Tree::list({o.output, o.state});
  });
  nx::Tree jitted = compiled(r(c, "x"), r(c, "gamma"), r(c, "beta"));
  expect_close(jitted[0].leaf(), eager.output, 1e-5, 1e-6, c + " jit output");
  if (mode == Mode::Inference) {
    EXPECT_TRUE(eager.state.is_map() && eager.state.children().empty()) << c;
    return;
  }
  expect_close(eager.state["mean"].leaf(), r(c, "new_mean"), kRtol, kAtol, c + " mean");
  expect_close(eager.state["var"].leaf(), r(c, "new_var"), kRtol, kAtol, c + " var");
  expect_close(jitted[1]["mean"].leaf(), r(c, "new_mean"), kRtol, kAtol, c + " jit mean");
  expect_close(jitted[1]["var"].leaf(), r(c, "new_var"), kRtol, kAtol, c + " jit var");
}

TEST(FnBatchNorm, MatchesTorchTrainAndInference) {
  for (Mode mode : {Mode::Train, Mode::Inference}) {
    check_stateful("bn", 2, 1, mode);
    for (int rank : {3, 4, 5}) {
      for (int64_t ch : {1, -1}) check_stateful("bn", rank, ch, mode);
    }
  }
}

TEST(FnInstanceNorm, MatchesTorchTrainAndInference) {
  for (Mode mode : {Mode::Train, Mode::Inference}) {
    for (int rank : {3, 4, 5}) {
      for (int64_t ch : {1, -1}) check_stateful("in", rank, ch, mode);
    }
  }
}

TEST(FnBatchNorm, RunningStatisticsFollowPyTorch) {
  // Batch [1, 3] per channel: mean 2, biased var 2/3, unbiased var 1.
  Tensor ones = nx::ones({2}), zeros = nx::zeros({2});
  axon::fn::StatefulOutput o =
      axon::fn::batch_norm(nx::tensor<float>({{1, 1}, {2, 2}, {3, 3}}), ones, zeros, zeros, ones,
                           {.momentum = 0.25, .mode = Mode::Train});
  expect_close(o.state["mean"].leaf(), nx::full({2}, 0.25 * 2), 1e-6, 0, "mean");
  expect_close(o.state["var"].leaf(), nx::full({2}, 0.75 + 0.25 * 1), 1e-6, 0, "var");
}

TEST(FnBatchNorm, JitMatchesEagerOnLargeInputs) {
  // Large enough for the compiler's reduction splitting, sum factoring and recomputation of
  // x - mean (src/nx/defn/fuse.cpp): the compiled forward and gradients equal the eager ones.
  for (int64_t ch : {1, -1}) {
    const nx::Shape shape = ch == 1 ? nx::Shape{8, 16, 24, 24} : nx::Shape{8, 24, 24, 16};
    const Tensor x = nx::random::normal(nx::random::key(1), shape, {.mean = 0.5, .std = 2.0});
    const Tensor ct = nx::random::normal(nx::random::key(2), shape);
    const Tensor g = nx::random::uniform(nx::random::key(3), {16}, {.min = 0.5, .max = 1.5});
    const Tensor b = nx::random::normal(nx::random::key(4), {16});
    const Tensor mean = nx::zeros({16}), var = nx::ones({16});
    auto step = [&](const nx::Tree& p) {
      nx::ValueAndGrad vg = nx::value_and_grad_aux(p, [&](const nx::Tree& q) {
        axon::fn::StatefulOutput o =
            axon::fn::batch_norm(q[0].leaf(), q[1].leaf(), q[2].leaf(), mean, var,
                                 {.channel_index = ch, .mode = Mode::Train});
        return std::pair<Tensor, nx::Tree>{nx::sum(o.output * ct),
                                           nx::Tree::list({o.output, o.state})};
      });
      return nx::Tree::list({vg.aux, vg.grad});
    };
    const nx::Tree params = nx::Tree::list({x, g, b});
    const nx::Tree eager = step(params);
    const nx::Tree jitted = nx::jit(step)(params);
    const std::vector<Tensor> e = nx::tree_leaves(eager), j = nx::tree_leaves(jitted);
    ASSERT_EQ(e.size(), j.size());
    for (size_t i = 0; i < e.size(); ++i) {
      expect_close(j[i], e[i], 1e-4, 1e-4,
                   "leaf " + std::to_string(i) + " ch " + std::to_string(ch));
    }
  }
}

TEST(FnLayerNorm, MatchesTorch) {
  for (int rank : {2, 3, 4, 5}) {
    for (int64_t ch : {1, -1}) {
      if (rank == 2 && ch == 1) continue;
      const std::string c = "ln_r" + std::to_string(rank) + "_" + layout_name(ch);
      check_forward_and_grads(
          [&](const std::vector<Tensor>& in) {
            return axon::fn::layer_norm(in[0], in[1], in[2], {.channel_index = ch});
          },
          {r(c, "x"), r(c, "gamma"), r(c, "beta")}, r(c, "out"), r(c, "ct"), {0, 1, 2},
          {r(c, "gx"), r(c, "ggamma"), r(c, "gbeta")}, kRtol, kAtol, c);
    }
  }
}

TEST(FnGroupNorm, MatchesTorch) {
  for (int rank : {2, 3, 4, 5}) {
    for (int64_t groups : {3, 2}) {
      if (groups == 2 && rank != 4) continue;
      for (int64_t ch : {1, -1}) {
        if (rank == 2 && ch == -1) continue;
        const std::string c =
            "gn_r" + std::to_string(rank) + "_g" + std::to_string(groups) + "_" + layout_name(ch);
        check_forward_and_grads(
            [&](const std::vector<Tensor>& in) {
              return axon::fn::group_norm(in[0], in[1], in[2],
                                          {.num_groups = groups, .channel_index = ch});
            },
            {r(c, "x"), r(c, "gamma"), r(c, "beta")}, r(c, "out"), r(c, "ct"), {0, 1, 2},
            {r(c, "gx"), r(c, "ggamma"), r(c, "gbeta")}, kRtol, kAtol, c);
      }
    }
  }
}

TEST(FnRmsNorm, MatchesTranscriptionWithUpcast) {
  struct DT {
    std::string name;
    nx::DType dtype;
    double rtol;
  };
  for (const DT& d :
       {DT{"f32", nx::f32, 1e-4}, DT{"bf16", nx::bf16, 2e-2}, DT{"f16", nx::f16, 4e-3}}) {
    for (axon::fn::RmsUpcast upcast :
         {axon::fn::RmsUpcast::Normalization, axon::fn::RmsUpcast::All}) {
      for (int64_t ch : {1, -1}) {
        for (double shift : {0.0, 1.0}) {
          const std::string c = "rms_" + d.name + "_" +
                                (upcast == axon::fn::RmsUpcast::All ? "all" : "normalization") +
                                "_" + layout_name(ch) + "_s" +
                                std::to_string(static_cast<int>(shift));
          SCOPED_TRACE(c);
          const Tensor x = nx::as_type(r(c, "x"), d.dtype);
          const Tensor g = nx::as_type(r(c, "gamma"), d.dtype);
          const axon::fn::RmsNormOptions opts{
              .channel_index = ch, .shift = shift, .upcast = upcast};
          Tensor out = axon::fn::rms_norm(x, g, opts);
          EXPECT_EQ(out.dtype(), upcast == axon::fn::RmsUpcast::All ? nx::f32 : d.dtype) << c;
          expect_close(out, r(c, "out"), d.rtol, d.rtol, c + " out");
          if (d.dtype != nx::f32) continue;
          check_forward_and_grads(
              [&](const std::vector<Tensor>& in) { return axon::fn::rms_norm(in[0], in[1], opts); },
              {x, g}, r(c, "out"), r(c, "ct"), {0, 1}, {r(c, "gx"), r(c, "ggamma")}, kRtol, kAtol,
              c);
        }
      }
    }
  }
}

TEST(FnRmsNorm, LowPrecisionGradientsFollowTranscription) {
  for (const std::string dt : {"bf16", "f16"}) {
    const std::string c = "rms_" + dt + "_normalization_last_s1";
    const nx::DType t = dt == "bf16" ? nx::bf16 : nx::f16;
    const Tensor x = nx::as_type(r(c, "x"), t), g = nx::as_type(r(c, "gamma"), t);
    const Tensor ct = nx::as_type(r(c, "ct"), t);
    nx::Tree grads = nx::grad(nx::Tree::list({x, g}), [&](const nx::Tree& in) {
      return nx::sum(axon::fn::rms_norm(in[0].leaf(), in[1].leaf(), {.shift = 1.0}) * ct);
    });
    const double tol = dt == "bf16" ? 5e-2 : 1e-2;
    expect_close(grads[0].leaf(), r(c, "gx"), tol, tol, c + " gx");
    expect_close(grads[1].leaf(), r(c, "ggamma"), tol, tol * 10, c + " ggamma");
  }
}

TEST(FnNormalization, RejectsBadInput) {
  const Tensor x = nx::ones({2, 4, 3}), p4 = nx::ones({4}), p3 = nx::ones({3});
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const nx::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message([&] { axon::fn::batch_norm(x, p4, p4, p4, p4); }),
            "axon::fn::batch_norm: gamma must be a vector of 3 values (the size of channel axis "
            "2), got f32{4}");
  EXPECT_EQ(message([&] { axon::fn::batch_norm(x, p3, p3, p3, p3, {.channel_index = 3}); }),
            "axon::fn::batch_norm: channel_index 3 is out of range for rank 3");
  EXPECT_EQ(message([&] {
              axon::fn::instance_norm(nx::ones({2, 4}), p4, p4, p4, p4);
            }),
            "axon::fn::instance_norm: input must have rank at least 3, got f32{2, 4}");
  EXPECT_EQ(message([&] {
              axon::fn::batch_norm(nx::ones({1, 3}), p3, p3, p3, p3, {.mode = Mode::Train});
            }),
            "axon::fn::batch_norm: Train mode needs more than 1 value per channel to compute "
            "the unbiased batch variance, got input f32{1, 3}");
  EXPECT_EQ(message([&] { axon::fn::group_norm(x, p3, p3, {}); }),
            "axon::fn::group_norm: num_groups must be positive and divide the 3 channels, got 0");
  EXPECT_EQ(message([&] { axon::fn::group_norm(x, p3, p3, {.num_groups = 2}); }),
            "axon::fn::group_norm: num_groups must be positive and divide the 3 channels, got 2");
  EXPECT_EQ(message([&] {
              axon::fn::layer_norm(nx::iota({2, 3}, nx::s64), p3, p3);
            }),
            "axon::fn::layer_norm: input must be floating point, got s64{2, 3}");
  EXPECT_EQ(message([&] { axon::fn::rms_norm(x, p4); }),
            "axon::fn::rms_norm: gamma must be a vector of 3 values (the size of channel axis "
            "2), got f32{4}");
}

}  // namespace
