// The gradient convolutions on oneDNN's backward primitives: the conv_general calls that
// vjp_conv_general emits (traced from nx::grad, so the test follows the rule) run through the
// oneDNN path and through the reference path, and must agree, for strides, padding (negative
// too), both dilations, feature and batch groups and 1 to 3 spatial axes. The kernel gradients
// that are weight gradients in oneDNN's sense, and the input gradients of strided
// convolutions, must take the backward primitives rather than a forward one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "contract_test_util.hpp"
#include "nx/backends/cpu/contract_conv.hpp"
#include "nx/backends/cpu/prepared.hpp"
#include "nx/defn.hpp"
#include "nx/defn/graph.hpp"
#include "nx/defn/graph_rewrite.hpp"
#include "nx/defn/trace.hpp"
#include "nx/nx.hpp"

namespace nx {
namespace {

using detail::ConvParams;
using detail::Prim;
using Kind = cpu::DnnlConvKind;
using namespace contract_test;

struct Forward {
  const char* name;
  Shape x, w;
  ConvParams p;
  // The oneDNN primitives expected for the input and the kernel gradient.
  Kind input_grad, kernel_grad;
};

// One conv_general call of a traced graph.
struct Call {
  ConvParams p;
  TensorType x, w, y;
};

// The conv_general calls of d/dx, d/dw sum(conv(x, w) * r): the forward, then the gradients.
std::vector<Call> gradient_calls(const Forward& f, DType dt) {
  const TensorType operands[] = {{f.x, dt}, {f.w, dt}};
  Shape out = detail::prim_output_types(Prim::conv_general, operands, f.p)[0].shape;
  TensorType types[] = {{f.x, dt}, {f.w, dt}, {out, dt}};
  detail::Traced t = detail::trace_function(types, [&](std::span<const Tensor> in) {
    Tree args = Tree::list({Tree(in[0]), Tree(in[1])});
    Tensor r = in[2];
    Tree g = nx::grad(args, [&](const Tree& a) -> Tensor {
      return nx::sum(
          detail::bind1(Prim::conv_general, {a[size_t{0}].leaf(), a[size_t{1}].leaf()}, f.p) * r);
    });
    return std::vector<Tensor>{g[size_t{0}].leaf(), g[size_t{1}].leaf()};
  });
  std::vector<Call> calls;
  for (const detail::Node& n : t.graph->nodes) {
    if (n.kind != detail::NodeKind::Prim || n.prim != Prim::conv_general) continue;
    calls.push_back({std::get<ConvParams>(n.params), t.graph->type(n.in[0]), t.graph->type(n.in[1]),
                     t.graph->type(n.out[0])});
  }
  return calls;
}

// Runs one call through oneDNN (which must take it) and the reference; returns the kind.
Kind check_call(const Call& c, uint32_t seed) {
  const DType dt = c.x.dtype;
  cpu::ConvGeometry g = cpu::conv_geometry(c.p, c.x.shape, c.w.shape, c.y.shape);
  std::shared_ptr<const cpu::DnnlConv> prepared = cpu::dnnl_conv_prepare(dt, g);
  EXPECT_NE(prepared, nullptr) << "oneDNN should take this call";
  if (!prepared) return Kind::Forward;
  Tensor x = make_tensor(random_values(num_elements(c.x.shape), dt, seed), c.x.shape, dt);
  Tensor w = make_tensor(random_values(num_elements(c.w.shape), dt, seed + 1), c.w.shape, dt);
  const size_t n = static_cast<size_t>(num_elements(c.y.shape));
  std::vector<float> ref32(n), got32(n);
  std::vector<uint16_t> ref16(n), got16(n);
  void* ref = dt == f32 ? static_cast<void*>(ref32.data()) : ref16.data();
  void* got = dt == f32 ? static_cast<void*>(got32.data()) : got16.data();
  cpu::reference_conv(dt, g, x.raw_data(), w.raw_data(), ref);
  // Poisoned output: every element must be written.
  std::fill(got32.begin(), got32.end(), std::nanf(""));
  std::fill(got16.begin(), got16.end(), uint16_t{0x7fc0});
  std::vector<std::byte> scratch(cpu::dnnl_conv_scratch_bytes(*prepared) + 64);
  void* aligned =
      reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
  cpu::dnnl_conv_execute(*prepared, dt, g, x.raw_data(), w.raw_data(), got, aligned);
  // Both sum in f32 in different orders; inputs are within [-1, 1].
  double terms = static_cast<double>(g.i * num_elements(g.k));
  std::vector<double> scale(n, terms);
  double tol = dt == bf16 ? 1.0 / 256 : 1e-6;
  expect_close(from_data(got, c.y.shape, dt), from_data(ref, c.y.shape, dt).to_vector<double>(),
               scale, tol);
  return cpu::dnnl_conv_kind(*prepared);
}

ConvParams params(std::vector<int64_t> strides, std::vector<int64_t> lo, std::vector<int64_t> hi,
                  std::vector<int64_t> rhs_dilation, int64_t feature_groups = 1,
                  int64_t batch_groups = 1) {
  std::vector<int64_t> ones(strides.size(), 1);
  return ConvParams{strides, lo, hi, ones, rhs_dilation, feature_groups, batch_groups};
}

const std::vector<Forward>& forwards() {
  static const std::vector<Forward> f = {
      {"3x3 stride 1",
       {2, 8, 14, 14},
       {16, 8, 3, 3},
       params({1, 1}, {1, 1}, {1, 1}, {1, 1}),
       Kind::Forward,
       Kind::BackwardWeights},
      {"3x3 stride 2",
       {2, 8, 14, 14},
       {16, 8, 3, 3},
       params({2, 2}, {1, 1}, {1, 1}, {1, 1}),
       Kind::BackwardData,
       Kind::BackwardWeights},
      // The last input row and column are never read: their input gradient is zero.
      {"1x1 stride 2",
       {2, 8, 14, 14},
       {16, 8, 1, 1},
       params({2, 2}, {0, 0}, {0, 0}, {1, 1}),
       Kind::BackwardData,
       Kind::BackwardWeights},
      {"stem 7x7 stride 2, 3 channels",
       {2, 3, 32, 32},
       {16, 3, 7, 7},
       params({2, 2}, {3, 3}, {3, 3}, {1, 1}),
       Kind::BackwardData,
       Kind::BackwardWeights},
      {"dilated",
       {2, 8, 13, 12},
       {8, 8, 3, 3},
       params({1, 1}, {2, 1}, {2, 3}, {2, 2}),
       Kind::Forward,
       Kind::BackwardWeights},
      {"strided and dilated, odd sizes",
       {2, 6, 17, 15},
       {12, 6, 3, 2},
       params({2, 3}, {1, 0}, {2, 1}, {2, 2}),
       Kind::BackwardData,
       Kind::BackwardWeights},
      {"negative padding",
       {2, 6, 16, 15},
       {10, 6, 3, 3},
       params({1, 2}, {-2, 1}, {-1, 0}, {1, 1}),
       Kind::BackwardData,
       Kind::BackwardWeights},
      {"grouped",
       {2, 8, 12, 12},
       {12, 4, 3, 3},
       params({1, 1}, {1, 1}, {1, 1}, {1, 1}, 2),
       Kind::Forward,
       Kind::BackwardWeights},
      {"grouped strided",
       {2, 12, 12, 12},
       {12, 4, 3, 3},
       params({2, 2}, {1, 1}, {0, 0}, {1, 1}, 3),
       Kind::BackwardData,
       Kind::BackwardWeights},
      {"depthwise",
       {2, 8, 12, 12},
       {8, 1, 3, 3},
       params({1, 1}, {1, 1}, {1, 1}, {1, 1}, 8),
       Kind::Forward,
       Kind::BackwardWeights},
      {"1-D",
       {3, 5, 40},
       {7, 5, 5},
       params({2}, {2}, {1}, {3}),
       Kind::BackwardData,
       Kind::BackwardWeights},
      {"3-D",
       {2, 4, 8, 7, 6},
       {6, 4, 3, 2, 3},
       params({1, 2, 1}, {1, 0, 1}, {1, 1, 0}, {1, 1, 1}),
       Kind::BackwardData,
       Kind::BackwardWeights},
  };
  return f;
}

TEST(ConvBackward, GradientCallsRunOnBackwardPrimitivesAndMatchTheReference) {
  for (DType dt : {f32, bf16}) {
    for (const Forward& f : forwards()) {
      SCOPED_TRACE(std::string(f.name) + " " + std::string(dtype_name(dt)));
      std::vector<Call> calls = gradient_calls(f, dt);
      // The forward, the input gradient, the kernel gradient (vjp_conv_general's order).
      ASSERT_EQ(calls.size(), 3u);
      EXPECT_EQ(calls[0].p, f.p);
      {
        SCOPED_TRACE("forward");
        EXPECT_EQ(check_call(calls[0], 1), Kind::Forward);
      }
      {
        SCOPED_TRACE("input gradient");
        EXPECT_EQ(check_call(calls[1], 3), f.input_grad);
      }
      {
        SCOPED_TRACE("kernel gradient");
        EXPECT_EQ(check_call(calls[2], 5), f.kernel_grad);
      }
    }
  }
}

// A convolution with batch groups (itself the kernel gradient of a grouped convolution) is a
// weight gradient in oneDNN's sense; its own gradients have feature groups.
TEST(ConvBackward, BatchGroupsRunAsBackwardWeights) {
  Forward f{"batch groups", {4, 6, 9, 9},
            {8, 6, 9, 9},   params({1, 1}, {0, 0}, {0, 0}, {1, 1}, 1, 2),
            Kind::Forward,  Kind::Forward};
  for (DType dt : {f32, bf16}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<Call> calls = gradient_calls(f, dt);
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(check_call(calls[0], 7), Kind::BackwardWeights);
    for (size_t i = 1; i < calls.size(); ++i) {
      cpu::ConvGeometry g =
          cpu::conv_geometry(calls[i].p, calls[i].x.shape, calls[i].w.shape, calls[i].y.shape);
      if (cpu::dnnl_conv_prepare(dt, g)) check_call(calls[i], 9 + static_cast<uint32_t>(i));
    }
  }
}

// A transposed convolution (input dilation) and its gradients: the forward and the kernel
// gradient (which has input dilation too) are backward-data convolutions.
TEST(ConvBackward, InputDilatedConvolutionsAndTheirGradients) {
  ConvParams p = params({1, 1}, {1, 2}, {2, 1}, {1, 1});
  p.lhs_dilation = {2, 2};
  Forward f{"transposed", {2, 8, 7, 6}, {6, 8, 3, 3}, p, Kind::Forward, Kind::BackwardData};
  for (DType dt : {f32, bf16}) {
    SCOPED_TRACE(dtype_name(dt));
    std::vector<Call> calls = gradient_calls(f, dt);
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(check_call(calls[0], 21), Kind::BackwardData);
    EXPECT_EQ(check_call(calls[1], 23), f.input_grad);
    EXPECT_EQ(check_call(calls[2], 25), f.kernel_grad);
  }
}

// A forward convolution of a small feature map can have a kernel larger than its output; with a
// small batch and many channels it stays a forward primitive (much faster there).
TEST(ConvBackward, SmallFeatureMapsStayForward) {
  ConvParams p = params({1, 1}, {1, 1}, {1, 1}, {1, 1});
  for (int64_t n : {1, 8}) {
    Call c{p, {{n, 64, 2, 2}, f32}, {{64, 64, 3, 3}, f32}, {{n, 64, 2, 2}, f32}};
    EXPECT_EQ(check_call(c, 11), Kind::Forward) << "batch " << n;
  }
  // The same shape with the roles of a kernel gradient (many "batch" rows, few channels).
  Call grad{p, {{64, 8, 2, 2}, f32}, {{64, 8, 3, 3}, f32}, {{64, 64, 2, 2}, f32}};
  EXPECT_EQ(check_call(grad, 13), Kind::BackwardWeights);
}

// Eager calls and compiled plans take the same path: the plan names the primitive.
TEST(ConvBackward, PlansDescribeTheBackwardPrimitives) {
  const Forward& f = forwards()[1];  // 3x3 stride 2
  std::vector<Call> calls = gradient_calls(f, f32);
  ASSERT_EQ(calls.size(), 3u);
  auto describe = [](const Call& c) {
    return std::string(cpu::describe(cpu::plan_conv(c.p, c.x, c.w, c.y)));
  };
  EXPECT_EQ(describe(calls[0]), "onednn");
  EXPECT_EQ(describe(calls[1]), "onednn backward data");
  EXPECT_EQ(describe(calls[2]), "onednn backward weights");
  std::vector<Call> half = gradient_calls(f, f16);
  ASSERT_EQ(half.size(), 3u);
  EXPECT_EQ(describe(half[2]), "f32+onednn backward weights");
}

}  // namespace
}  // namespace nx
