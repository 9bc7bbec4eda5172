// conv_general on the CPU: PyTorch references for every float dtype (conv_cases.inc, from
// gen_conv_cases.py: strides, positive/negative padding, both dilations, feature and batch
// groups, 1-D to 4-D), empty and degenerate geometries, and agreement between the oneDNN path
// and the reference path on larger problems.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "contract_test_util.hpp"
#include "nx/backends/cpu/contract_conv.hpp"

namespace nx {
namespace {

using detail::ConvParams;
using detail::Prim;
using namespace contract_test;

struct ConvCase {
  const char* name;
  Shape x, w;
  std::vector<int64_t> strides, pad_lo, pad_hi, lhs_dilation, rhs_dilation;
  int64_t feature_groups, batch_groups;
  Shape out;
  std::vector<std::pair<DType, std::vector<double>>> expected;
};

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
#include "conv_cases.inc"
  };
  return cases;
}

Tensor conv(const Tensor& x, const Tensor& w, const ConvParams& p) {
  return detail::bind1(Prim::conv_general, {x, w}, p);
}

ConvParams plain(int64_t spatial) {
  std::vector<int64_t> ones(static_cast<size_t>(spatial), 1), zero(static_cast<size_t>(spatial));
  return ConvParams{ones, zero, zero, ones, ones, 1, 1};
}

// Small problems run on the reference path whatever their dtype; each one oneDNN can take is
// also run through oneDNN directly, so both paths meet the PyTorch values.
TEST(ConvGeneral, MatchesPyTorchForEveryFloatDtype) {
  int checked = 0, onednn = 0;
  for (const ConvCase& c : conv_cases()) {
    ConvParams p{c.strides,      c.pad_lo,         c.pad_hi,      c.lhs_dilation,
                 c.rhs_dilation, c.feature_groups, c.batch_groups};
    for (const auto& [dt, want] : c.expected) {
      SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(dt)));
      Tensor x = generated_input(c.x, 1, dt), w = generated_input(c.w, 2, dt);
      Tensor out = conv(x, w, p);
      EXPECT_EQ(out.shape(), c.out);
      EXPECT_EQ(out.dtype(), dt);
      expect_close(out, want);
      ++checked;
      if (dt != f32 && dt != bf16) continue;
      cpu::ConvGeometry g = cpu::conv_geometry(p, c.x, c.w, c.out);
      std::vector<uint32_t> buf(want.size());
      if (cpu::dnnl_conv(dt, g, x.raw_data(), w.raw_data(), buf.data())) {
        SCOPED_TRACE("oneDNN");
        expect_close(from_data(buf.data(), c.out, dt), want);
        ++onednn;
      }
    }
  }
  EXPECT_EQ(checked, 4 * static_cast<int>(conv_cases().size()));
  EXPECT_GE(onednn, 30);
}

TEST(ConvGeneral, HandDerivedSmallCase) {
  // [1, 2, 3] * [1, -1] with padding 1 on both sides: [0-1, 1-2, 2-3, 3-0] = [-1, -1, -1, 3].
  ConvParams p = plain(1);
  p.pad_lo = {1}, p.pad_hi = {1};
  Tensor out = conv(tensor<float>({{{1, 2, 3}}}), tensor<float>({{{1, -1}}}), p);
  EXPECT_EQ(out.shape(), (Shape{1, 1, 4}));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{-1, -1, -1, 3}));
  // Input dilation 2 makes [1, 0, 2, 0, 3]; kernel [1, 1] gives [1, 2, 2, 3].
  ConvParams d = plain(1);
  d.lhs_dilation = {2};
  Tensor dil = conv(tensor<double>({{{1, 2, 3}}}), tensor<double>({{{1, 1}}}), d);
  EXPECT_EQ(dil.to_vector<double>(), (std::vector<double>{1, 2, 2, 3}));
}

TEST(ConvGeneral, EmptyAndDegenerateGeometries) {
  // Kernel wider than the padded input: zero output positions (as XLA), not an error.
  Tensor none = conv(zeros({1, 1, 2}, f32), zeros({1, 1, 4}, f32), plain(1));
  EXPECT_EQ(none.shape(), (Shape{1, 1, 0}));
  // No input channels: every output is an empty sum.
  Tensor c0 = conv(zeros({2, 0, 5}, f32), zeros({3, 0, 2}, f32), plain(1));
  EXPECT_EQ(c0.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(c0.to_vector<double>(), std::vector<double>(24, 0.0));
  // Empty input padded to a positive size: all padding, so zeros.
  ConvParams padded = plain(1);
  padded.pad_lo = {2}, padded.pad_hi = {1};
  Tensor pad_only = conv(zeros({1, 1, 0}, bf16), ones({2, 1, 2}, bf16), padded);
  EXPECT_EQ(pad_only.shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(pad_only.to_vector<double>(), std::vector<double>(4, 0.0));
  // Kernel of spatial size 0: an empty window, zeros.
  Tensor k0 = conv(ones({1, 1, 3}, f64), ones({1, 1, 0}, f64), plain(1));
  EXPECT_EQ(k0.shape(), (Shape{1, 1, 4}));
  EXPECT_EQ(k0.to_vector<double>(), std::vector<double>(4, 0.0));
  // Empty batch and empty output channels.
  EXPECT_EQ(conv(zeros({0, 2, 4, 4}, f32), zeros({3, 2, 3, 3}, f32), plain(2)).shape(),
            (Shape{0, 3, 2, 2}));
  EXPECT_EQ(conv(zeros({1, 2, 4, 4}, f16), zeros({0, 2, 3, 3}, f16), plain(2)).shape(),
            (Shape{1, 0, 2, 2}));
}

// A geometry oneDNN accepts, run through both paths.
struct Geometry {
  const char* name;
  Shape x, w;
  ConvParams p;
};

TEST(ConvGeneral, OneDnnAndReferencePathsAgree) {
  const Geometry geometries[] = {
      {"resnet-like 3x3",
       {2, 16, 14, 14},
       {32, 16, 3, 3},
       {{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, 1}},
      {"strided dilated",
       {2, 8, 17, 15},
       {12, 8, 3, 2},
       {{2, 1}, {1, 0}, {2, 1}, {1, 1}, {2, 2}, 1, 1}},
      {"grouped", {1, 12, 9, 9}, {18, 4, 3, 3}, {{1, 1}, {0, 0}, {0, 0}, {1, 1}, {1, 1}, 3, 1}},
      {"depthwise", {2, 8, 10, 10}, {8, 1, 3, 3}, {{1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 8, 1}},
      {"1-D", {3, 5, 40}, {7, 5, 5}, {{2}, {2}, {1}, {1}, {3}, 1, 1}},
      {"3-D",
       {1, 4, 6, 7, 5},
       {6, 4, 3, 2, 3},
       {{1, 2, 1}, {1, 0, 1}, {1, 1, 0}, {1, 1, 1}, {1, 1, 1}, 1, 1}},
      {"1x1", {2, 32, 7, 7}, {16, 32, 1, 1}, {{1, 1}, {0, 0}, {0, 0}, {1, 1}, {1, 1}, 1, 1}},
      {"cropped (negative padding)",
       {2, 6, 12, 11},
       {5, 6, 3, 3},
       {{1, 2}, {-2, 1}, {-1, -3}, {1, 1}, {1, 1}, 1, 1}},
      // The input gradient of a stride-2 3x3 convolution with padding 1: input dilation 2.
      {"input dilation 2-D",
       {2, 16, 7, 7},
       {8, 16, 3, 3},
       {{1, 1}, {1, 1}, {2, 2}, {2, 2}, {1, 1}, 1, 1}},
      {"input dilation cropping", {1, 4, 9}, {6, 4, 4}, {{1}, {-1}, {2}, {3}, {2}, 1, 1}},
      {"input dilation grouped 3-D",
       {1, 6, 3, 4, 3},
       {4, 3, 2, 3, 2},
       {{1, 1, 1}, {1, 2, 0}, {0, 1, 1}, {2, 1, 3}, {1, 1, 2}, 2, 1}},
  };
  for (DType dt : {f32, bf16}) {
    for (const Geometry& geo : geometries) {
      SCOPED_TRACE(std::string(geo.name) + " " + std::string(dtype_name(dt)));
      Tensor x = make_tensor(random_values(num_elements(geo.x), dt, 3), geo.x, dt);
      Tensor w = make_tensor(random_values(num_elements(geo.w), dt, 4), geo.w, dt);
      Tensor via_bind = conv(x, w, geo.p);
      cpu::ConvGeometry g = cpu::conv_geometry(geo.p, geo.x, geo.w, via_bind.shape());
      std::vector<uint16_t> buf16(static_cast<size_t>(via_bind.size()));
      std::vector<float> buf32(static_cast<size_t>(via_bind.size()));
      void* ref = dt == f32 ? static_cast<void*>(buf32.data()) : buf16.data();
      cpu::reference_conv(dt, g, x.raw_data(), w.raw_data(), ref);
      Tensor reference = from_data(ref, via_bind.shape(), dt);
      ASSERT_TRUE(cpu::dnnl_conv(dt, g, x.raw_data(), w.raw_data(), ref))
          << "oneDNN should take this geometry";
      Tensor onednn = from_data(ref, via_bind.shape(), dt);
      // Both sum in f32 in different orders; inputs are within [-1, 1].
      double terms = static_cast<double>(g.i * num_elements(g.k));
      std::vector<double> scale(static_cast<size_t>(via_bind.size()), terms);
      double tol = dt == bf16 ? 1.0 / 256 : 1e-6;
      expect_close(onednn, reference.to_vector<double>(), scale, tol);
      expect_close(via_bind, reference.to_vector<double>(), scale, tol);
    }
  }
}

TEST(ConvGeneral, OneDnnDeclinesWhatItCannotDo) {
  cpu::ConvGeometry g = cpu::conv_geometry(plain(1), {2, 1, 4}, {2, 1, 2}, {1, 2, 3});
  std::vector<float> x(8), w(4), y(12);
  EXPECT_FALSE(cpu::dnnl_conv(f64, g, x.data(), w.data(), y.data()));
  // Input dilation with a window stride is no backward-data convolution.
  g.lhs_dilation = {2}, g.strides = {2};
  EXPECT_FALSE(cpu::dnnl_conv(f32, g, x.data(), w.data(), y.data()));
  // Batch groups run as a backward-weights convolution, which has no input dilation.
  g.strides = {1}, g.batch_groups = 2;
  EXPECT_FALSE(cpu::dnnl_conv(f32, g, x.data(), w.data(), y.data()));
  cpu::ConvGeometry four =
      cpu::conv_geometry(plain(4), {1, 1, 2, 2, 2, 2}, {1, 1, 1, 1, 1, 1}, {1, 1, 2, 2, 2, 2});
  EXPECT_FALSE(cpu::dnnl_conv(f32, four, x.data(), w.data(), y.data()));
}

TEST(ConvGeneral, RepeatedCallsReuseCachedPrimitive) {
  Tensor x = generated_input({2, 8, 12, 12}, 1, f32), w = generated_input({8, 8, 3, 3}, 2, f32);
  ConvParams p = plain(2);
  Tensor first = conv(x, w, p);
  size_t cached = cpu::dnnl_conv_cache_size();
  Tensor second = conv(x, w, p);
  EXPECT_EQ(cpu::dnnl_conv_cache_size(), cached);
  EXPECT_EQ(first.to_vector<float>(), second.to_vector<float>());
}

}  // namespace
}  // namespace nx
