// axon::fn convolutions against PyTorch (tests/axon/fn/data/gen_conv.py): forward values and
// gradients with respect to input, kernel and bias, eager and compiled, for channels first and
// last; conv_transpose both in Axon's convention and from PyTorch's weights; argument checks.
#include "axon/fn/conv.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fn_test_helpers.hpp"
#include "nx/defn.hpp"
#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/ops/elementwise.hpp"
#include "nx/ops/reduce.hpp"
#include "nx/ops/shape.hpp"

namespace {

using nx::Tensor;
namespace fn = axon::fn;
using fn::Channels;
using Pairs = std::vector<std::pair<int64_t, int64_t>>;

constexpr double kRtol = 1e-4, kAtol = 1e-4;

const char* layout(Channels c) {
  return c == Channels::First ? "first" : "last";
}

// Runs one reference case: `args` name the inputs (x, k, b, ...), all differentiated.
void check_case(const std::string& name, Channels ch, const std::vector<std::string>& args,
                const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  const std::string p = name + "_" + layout(ch) + "_";
  std::vector<Tensor> in, grads;
  std::vector<size_t> wrt;
  for (size_t i = 0; i < args.size(); ++i) {
    in.push_back(fn_test::ref("conv", p + args[i]));
    grads.push_back(fn_test::ref("conv", p + "g" + args[i]));
    wrt.push_back(i);
  }
  fn_test::check_forward_and_grads(f, in, fn_test::ref("conv", p + "out"),
                                   fn_test::ref("conv", p + "ct"), wrt, grads, kRtol, kAtol,
                                   p.substr(0, p.size() - 1));
}

// A conv case with inputs x, k and an optional b.
void check_conv(const std::string& name, bool with_bias, fn::ConvOptions o) {
  for (Channels ch : {Channels::First, Channels::Last}) {
    o.channels = ch;
    if (with_bias) {
      check_case(name, ch, {"x", "k", "b"},
                 [o](const std::vector<Tensor>& in) { return fn::conv(in[0], in[1], in[2], o); });
    } else {
      check_case(name, ch, {"x", "k"},
                 [o](const std::vector<Tensor>& in) { return fn::conv(in[0], in[1], {}, o); });
    }
  }
}

void expect_throws_with(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error containing \"" << needle << "\"";
  } catch (const nx::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(FnConv, Conv1d) {
  check_conv("c1d", true, {});
  check_conv(
      "c1d_s2_pad_dil", false,
      {.strides = {2}, .padding = nx::Padding::explicit_pairs({{1, 2}}), .kernel_dilation = {2}});
  check_conv("c1d_neg_pad", false, {.padding = nx::Padding::explicit_pairs({{-1, 2}})});
}

TEST(FnConv, Conv2dPaddingStridesDilation) {
  check_conv("c2d_same_s2", true, {.strides = {2}, .padding = nx::Padding::same()});
  check_conv("c2d_same_even", false, {.padding = nx::Padding::same()});
  check_conv("c2d_explicit_kdil", true,
             {.strides = {1, 2},
              .padding = nx::Padding::explicit_pairs({{2, 1}, {0, 1}}),
              .kernel_dilation = {2, 1}});
}

TEST(FnConv, Conv2dInputDilation) {
  check_conv("c2d_input_dil", false,
             {.padding = nx::Padding::explicit_pairs({{1, 1}, {0, 2}}), .input_dilation = {2, 3}});
  check_conv("c2d_input_dil_s2", true,
             {.strides = {2},
              .padding = nx::Padding::same(),
              .input_dilation = {2},
              .kernel_dilation = {2}});
}

TEST(FnConv, Groups) {
  check_conv("c2d_groups", true,
             {.padding = nx::Padding::explicit_pairs({{1, 1}, {1, 1}}), .feature_group_size = 2});
  check_conv("c3d_groups_valid", false, {.strides = {2}, .feature_group_size = 2});
  check_conv("c2d_batch_groups", false, {.batch_group_size = 2});
}

TEST(FnConv, Conv3d) {
  check_conv("c3d", true,
             {.strides = {1, 2, 1}, .padding = nx::Padding::same(), .kernel_dilation = {1, 1, 2}});
}

TEST(FnConv, Depthwise) {
  for (Channels ch : {Channels::First, Channels::Last}) {
    check_case("dw2d", ch, {"x", "k", "b"}, [ch](const std::vector<Tensor>& in) {
      return fn::depthwise_conv(in[0], in[1], in[2],
                                {.padding = nx::Padding::same(), .channels = ch});
    });
    check_case("dw1d_s2", ch, {"x", "k"}, [ch](const std::vector<Tensor>& in) {
      return fn::depthwise_conv(in[0], in[1], {}, {.strides = {2}, .channels = ch});
    });
    check_case("dw3d", ch, {"x", "k", "b"}, [ch](const std::vector<Tensor>& in) {
      return fn::depthwise_conv(in[0], in[1], in[2],
                                {.padding = nx::Padding::explicit_pairs({{1, 0}, {0, 1}, {1, 1}}),
                                 .kernel_dilation = {1, 2, 1},
                                 .channels = ch});
    });
  }
}

TEST(FnConv, Separable) {
  for (Channels ch : {Channels::First, Channels::Last}) {
    check_case("sep2d", ch, {"x", "k1", "b1", "k2", "b2"}, [ch](const std::vector<Tensor>& in) {
      return fn::separable_conv2d(in[0], in[1], in[2], in[3], in[4],
                                  {.padding = nx::Padding::same(), .channels = ch});
    });
    // Strides apply in both depthwise convolutions (Axon), so 9 -> 4 -> 2.
    check_case("sep2d_s2", ch, {"x", "k1", "b1", "k2", "b2"}, [ch](const std::vector<Tensor>& in) {
      return fn::separable_conv2d(in[0], in[1], in[2], in[3], in[4],
                                  {.strides = {2}, .channels = ch});
    });
    check_case("sep3d", ch, {"x", "k1", "b1", "k2", "b2", "k3", "b3"},
               [ch](const std::vector<Tensor>& in) {
                 return fn::separable_conv3d(in[0], in[1], in[2], in[3], in[4], in[5], in[6],
                                             {.padding = nx::Padding::same(), .channels = ch});
               });
  }
}

// Axon's conv_transpose (kernel in conv's layout, not flipped; computed padding).
void check_transpose(const std::string& name, bool with_bias, fn::ConvTransposeOptions o) {
  for (Channels ch : {Channels::First, Channels::Last}) {
    o.channels = ch;
    if (with_bias) {
      check_case(name, ch, {"x", "k", "b"}, [o](const std::vector<Tensor>& in) {
        return fn::conv_transpose(in[0], in[1], in[2], o);
      });
    } else {
      check_case(name, ch, {"x", "k"}, [o](const std::vector<Tensor>& in) {
        return fn::conv_transpose(in[0], in[1], {}, o);
      });
    }
  }
}

TEST(FnConv, ConvTransposeAxonConvention) {
  check_transpose("t1d_valid_s2", true, {.strides = {2}});
  check_transpose("t2d_valid_s3", false, {.strides = {3, 2}});
  check_transpose("t2d_same_s2", true, {.strides = {2}, .padding = nx::Padding::same()});
  check_transpose("t2d_same_dil", false,
                  {.strides = {1, 2}, .padding = nx::Padding::same(), .kernel_dilation = {2, 1}});
  check_transpose("t2d_explicit", false,
                  {.strides = {2}, .padding = nx::Padding::explicit_pairs({{1, 2}, {0, 1}})});
  check_transpose(
      "t3d_same", true,
      {.strides = {2, 1, 3}, .padding = nx::Padding::same(), .kernel_dilation = {1, 2, 1}});
}

TEST(FnConv, ConvTransposeOutputSizes) {
  // valid: in*s + max(k-s, 0); same: in*s.
  Tensor x = nx::zeros({1, 5, 2}), k = nx::zeros({3, 2, 4});
  EXPECT_EQ(fn::conv_transpose(x, k, {}, {.strides = {2}}).shape(), (nx::Shape{1, 11, 4}));
  EXPECT_EQ(fn::conv_transpose(x, k, {}, {.strides = {4}}).shape(), (nx::Shape{1, 20, 4}));
  EXPECT_EQ(fn::conv_transpose(x, k, {}, {.strides = {2}, .padding = nx::Padding::same()}).shape(),
            (nx::Shape{1, 10, 4}));
}

// PyTorch's F.conv_transpose*d(x, w, b, stride, padding, output_padding, 1, dilation) with w
// {in, out, k..}, through the two conversion helpers.
struct TorchTranspose {
  std::string name;
  bool bias;
  fn::Sizes k, s, p, op, d;
};

TEST(FnConv, ConvTransposeMatchesPyTorch) {
  const std::vector<TorchTranspose> cases{
      {"tt1d", true, {3}, {2}, {1}, {1}, {1}},
      {"tt2d", true, {3, 2}, {2, 3}, {1, 0}, {1, 2}, {1, 2}},
      {"tt2d_big_pad", false, {3, 3}, {1}, {3, 2}, {0}, {1}},
      {"tt3d", true, {3, 3, 2}, {2}, {1}, {0, 1, 1}, {1}},
  };
  for (const TorchTranspose& c : cases) {
    for (Channels ch : {Channels::First, Channels::Last}) {
      const fn::ConvTransposeOptions o{
          .strides = c.s,
          .padding = fn::conv_transpose_padding_from_torch(c.k, c.p, c.op, c.d),
          .kernel_dilation = c.d,
          .channels = ch};
      auto f = [o, ch, bias = c.bias](const std::vector<Tensor>& in) {
        Tensor k = fn::conv_transpose_kernel_from_torch(in[1], ch);
        return fn::conv_transpose(in[0], k, bias ? std::optional<Tensor>(in[2]) : std::nullopt, o);
      };
      check_case(
          c.name, ch,
          c.bias ? std::vector<std::string>{"x", "w", "b"} : std::vector<std::string>{"x", "w"}, f);
    }
  }
}

TEST(FnConv, JitEqualsEager) {
  Tensor x = fn_test::ref("conv", "c2d_same_s2_last_x"),
         k = fn_test::ref("conv", "c2d_same_s2_last_k"),
         b = fn_test::ref("conv", "c2d_same_s2_last_b");
  const fn::ConvOptions o{.strides = {2}, .padding = nx::Padding::same()};
  auto f = nx::jit(
      [o](const Tensor& a, const Tensor& kk, const Tensor& bb) { return fn::conv(a, kk, bb, o); });
  fn_test::expect_close(f(x, k, b), fn::conv(x, k, b, o), 1e-6, 1e-6, "conv jit");
  Tensor xt = fn_test::ref("conv", "t3d_same_first_x"),
         kt = fn_test::ref("conv", "t3d_same_first_k");
  const fn::ConvTransposeOptions ot{.strides = {2, 1, 3},
                                    .padding = nx::Padding::same(),
                                    .kernel_dilation = {1, 2, 1},
                                    .channels = Channels::First};
  auto g = nx::jit(
      [ot](const Tensor& a, const Tensor& kk) { return fn::conv_transpose(a, kk, {}, ot); });
  fn_test::expect_close(g(xt, kt), fn::conv_transpose(xt, kt, {}, ot), 1e-6, 1e-6,
                        "conv_transpose jit");
}

// Problems large enough for oneDNN, where the compiled forward and gradients read channels-last
// operands and the kernel gradient's transposed operands through strides ("conv_layout" Fused
// nodes): compiled equals eager (whose convolutions run on contiguous copies).
TEST(FnConv, CompiledGradientsOnOneDnnSizes) {
  struct Case {
    nx::Shape x, k;  // channels first
    fn::ConvOptions o;
  };
  const std::vector<Case> cases{
      {{4, 16, 12, 12}, {32, 16, 3, 3}, {.strides = {2}, .padding = nx::Padding::same()}},
      {{2, 16, 10, 9},
       {24, 8, 3, 2},
       {.padding = nx::Padding::explicit_pairs({{1, 2}, {0, 1}}),
        .kernel_dilation = {2, 1},
        .feature_group_size = 2}},
      {{2, 8, 6, 5, 6}, {16, 8, 2, 3, 2}, {.strides = {1, 2, 1}, .padding = nx::Padding::same()}},
      {{3, 12, 20},
       {16, 12, 5},
       {.strides = {3}, .padding = nx::Padding::explicit_pairs({{2, 1}})}},
      {{2, 12, 7, 7}, {16, 12, 3, 3}, {.padding = nx::Padding::same(), .input_dilation = {2}}},
      {{4, 32, 14, 14}, {64, 32, 1, 1}, {.strides = {2}}},
  };
  for (const Case& c : cases) {
    for (Channels ch : {Channels::First, Channels::Last}) {
      fn::ConvOptions o = c.o;
      o.channels = ch;
      const auto r = static_cast<int64_t>(c.x.size());
      Tensor x = nx::sin(nx::iota(c.x, nx::f32) * 0.37);
      Tensor k = nx::cos(nx::iota(c.k, nx::f32) * 0.11) * 0.2;
      if (ch == Channels::Last) {
        nx::Axes xp{0}, kp;
        for (int64_t a = 2; a < r; ++a) xp.push_back(a), kp.push_back(a);
        xp.push_back(1), kp.push_back(1), kp.push_back(0);
        x = nx::transpose(x, xp);
        k = nx::transpose(k, kp);
      }
      Tensor y = fn::conv(x, k, {}, o);
      Tensor ct = nx::cos(nx::iota(y.shape(), nx::f32) * 0.23);
      auto f = [o, ct](const nx::Tree& p) {
        return nx::sum(fn::conv(p[0].leaf(), p[1].leaf(), {}, o) * ct);
      };
      const nx::Tree args = nx::Tree::list({nx::Tree(x), nx::Tree(k)});
      nx::Tree eager = nx::grad(args, f);
      auto step = nx::jit([f](const nx::Tree& a) { return nx::grad(a, f); });
      nx::Tree compiled = step(args);
      auto fwd = nx::jit([o](const Tensor& a, const Tensor& b) { return fn::conv(a, b, {}, o); });
      const std::string what = nx::shape_string(c.x) + " " + layout(ch);
      fn_test::expect_close(fwd(x, k), y, 1e-4, 1e-4, what + " forward");
      fn_test::expect_close(compiled[0].leaf(), eager[0].leaf(), 1e-4, 1e-3, what + " d/dx");
      fn_test::expect_close(compiled[1].leaf(), eager[1].leaf(), 1e-4, 1e-3, what + " d/dk");
    }
  }
}

TEST(FnConv, Errors) {
  Tensor x = nx::zeros({2, 8, 8, 3});  // channels last, C = 3
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3}));
      },
      "axon::fn::conv: kernel must have the input's rank (4), got f32{3, 3, 3}");
  expect_throws_with(
      [&] {
        fn::conv(nx::zeros({2, 3}), nx::zeros({2, 3}));
      },
      "axon::fn::conv: input must have rank 3 to 5");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 4, 5}));
      },
      "axon::fn::conv: channel mismatch: the input has 3 channels, the kernel "
      "expects 4");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3, 5}), {}, {.channels = Channels::First});
      },
      "axon::fn::conv: channel mismatch: the input has 8 channels, the kernel expects 3");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 1, 4}), {}, {.feature_group_size = 2});
      },
      "input channels (3) must be divisible by feature_group_size (2)");
  expect_throws_with(
      [&] {
        fn::conv(nx::zeros({2, 8, 8, 4}), nx::zeros({3, 3, 2, 5}), {}, {.feature_group_size = 2});
      },
      "kernel output features (5) must be divisible by feature_group_size (2)");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3, 4}), {}, {.batch_group_size = 3});
      },
      "batch size (2) must be divisible by batch_group_size (3)");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3, 4}), {}, {.feature_group_size = 0});
      },
      "must be >= 1");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3, 4}), nx::zeros({3}));
      },
      "axon::fn::conv: bias must be a scalar or have shape [4]");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({9, 3, 3, 4}));
      },
      "axon::fn::conv: spatial axis 0: the kernel (9, dilated 9) is larger");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3, 4}), {},
                 {.padding = nx::Padding::explicit_pairs({{1, 1}})});
      },
      "explicit padding needs one {lo, hi} pair per spatial axis (2), got 1");
  expect_throws_with(
      [&] {
        fn::conv(x, nx::zeros({3, 3, 3, 4}), {}, {.strides = {1, 2, 3}});
      },
      "axon::fn::conv: strides needs 1 or 2 values");
  expect_throws_with(
      [&] {
        fn::conv_transpose(x, nx::zeros({3, 3, 4, 2}));
      },
      "axon::fn::conv_transpose: channel mismatch: the input has 3 channels");
  expect_throws_with(
      [&] {
        fn::depthwise_conv(x, nx::zeros({3, 3, 2, 6}));
      },
      "axon::fn::depthwise_conv: channel mismatch");
  expect_throws_with(
      [&] {
        fn::separable_conv2d(nx::zeros({2, 8, 3}), x, {}, x, {});
      },
      "axon::fn::separable_conv2d: ");
}

}  // namespace
