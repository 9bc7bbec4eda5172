// Window reductions and select-and-scatter against NumPy/PyTorch references
// (gen_window_index_refs.py) and hand-derived edge cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "window_index_test_util.hpp"

namespace nx {
namespace {

using detail::bind1;
using detail::Ints;
using detail::Prim;
using detail::WindowParams;
using namespace window_index_test;

struct WindowCase {
  const char* name;
  Shape shape, window;
  Ints strides, lo, hi, dil;
  Shape out;
  std::vector<double> xs;
  std::vector<std::vector<double>> xs_ref;  // sum, product, max, min
  std::vector<double> xu;
  std::vector<std::vector<double>> xu_ref;
  std::vector<double> xf;
  std::vector<std::vector<double>> xf_ref;
  std::vector<double> src, srcf;
  std::vector<std::vector<double>> scatter_s, scatter_u, scatter_f;  // max, min; init 1
};

struct TorchPoolCase {
  Shape shape;
  int64_t k, stride, pad, dil;
  Shape out;
  std::vector<double> x, max, sum, grad_out, grad_in;
};

#include "window_test_data.inc"

const Prim kReductions[] = {Prim::window_sum, Prim::window_product, Prim::window_max,
                            Prim::window_min};
const DType kSignedTypes[] = {s8, s16, s32, s64, f16, bf16, f32, f64};
const DType kUnsignedTypes[] = {u8, u16, u32, u64};

WindowParams params_of(const WindowCase& c) {
  return WindowParams{c.window, c.strides, c.lo, c.hi, c.dil};
}

std::string label(const WindowCase& c, Prim p, DType dt) {
  return std::string(c.name) + " " + std::string(detail::prim_name(p)) + " " +
         std::string(dtype_name(dt));
}

void check_reductions(const WindowCase& c, const std::vector<double>& x,
                      const std::vector<std::vector<double>>& ref, DType dt, double tol) {
  Tensor t = typed(x, c.shape, dt);
  for (int i = 0; i < 4; ++i) {
    Tensor y = bind1(kReductions[i], {t}, params_of(c));
    EXPECT_EQ(y.dtype(), dt);
    expect_values(y, c.out, ref[static_cast<size_t>(i)], tol, label(c, kReductions[i], dt));
  }
}

void check_scatters(const WindowCase& c, const std::vector<double>& x,
                    const std::vector<double>& src, const std::vector<std::vector<double>>& ref,
                    DType dt, double tol) {
  Tensor t = typed(x, c.shape, dt);
  Tensor s = typed(src, c.out, dt);
  Tensor init = typed({1.0}, {}, dt);
  Prim prims[] = {Prim::window_scatter_max, Prim::window_scatter_min};
  for (int i = 0; i < 2; ++i) {
    Tensor y = bind1(prims[i], {t, s, init}, params_of(c));
    expect_values(y, c.shape, ref[static_cast<size_t>(i)], tol, label(c, prims[i], dt));
  }
}

TEST(WindowKernels, ReductionsMatchNumpyOnEveryDtype) {
  for (const WindowCase& c : kWindowCases) {
    for (DType dt : kSignedTypes) check_reductions(c, c.xs, c.xs_ref, dt, 0);
    for (DType dt : kUnsignedTypes) check_reductions(c, c.xu, c.xu_ref, dt, 0);
    check_reductions(c, c.xf, c.xf_ref, f32, tolerance(f32));
    check_reductions(c, c.xf, c.xf_ref, f64, tolerance(f64));
  }
}

TEST(WindowKernels, SelectAndScatterMatchesReferenceOnEveryDtype) {
  for (const WindowCase& c : kWindowCases) {
    for (DType dt : kSignedTypes) check_scatters(c, c.xs, c.src, c.scatter_s, dt, 0);
    for (DType dt : kUnsignedTypes) check_scatters(c, c.xu, c.src, c.scatter_u, dt, 0);
    check_scatters(c, c.xf, c.srcf, c.scatter_f, f32, tolerance(f32));
    check_scatters(c, c.xf, c.srcf, c.scatter_f, f64, tolerance(f64));
  }
}

TEST(WindowKernels, PoolingMatchesTorch) {
  for (const TorchPoolCase& c : kTorchPoolCases) {
    WindowParams p{{1, 1, c.k, c.k},
                   {1, 1, c.stride, c.stride},
                   {0, 0, c.pad, c.pad},
                   {0, 0, c.pad, c.pad},
                   {1, 1, c.dil, c.dil}};
    for (DType dt : {f32, f64}) {
      Tensor x = typed(c.x, c.shape, dt);
      std::string what = "torch pool " + shape_repr(c.shape) + " " + std::string(dtype_name(dt));
      // Max of rounded values is the rounded max: exact in both dtypes.
      expect_values(bind1(Prim::window_max, {x}, p), c.out, c.max, 0, what + " max");
      if (!c.sum.empty()) {
        expect_values(bind1(Prim::window_sum, {x}, p), c.out, c.sum, tolerance(dt), what + " sum");
      }
      Tensor g = typed(c.grad_out, c.out, dt);
      Tensor grad = bind1(Prim::window_scatter_max, {x, g, typed({0.0}, {}, dt)}, p);
      expect_values(grad, c.shape, c.grad_in, tolerance(dt), what + " max_pool2d gradient");
    }
  }
}

WindowParams params_1d(int64_t w, int64_t s = 1, int64_t lo = 0, int64_t hi = 0, int64_t d = 1) {
  return WindowParams{{w}, {s}, {lo}, {hi}, {d}};
}

TEST(WindowKernels, MaxAndMinPropagateNaN) {
  for (DType dt : {f16, bf16, f32, f64}) {
    Tensor x = typed({1, kNaN, 3, 2}, {4}, dt);
    expect_values(bind1(Prim::window_max, {x}, params_1d(2)), {3}, {kNaN, kNaN, 3}, 0, "max");
    expect_values(bind1(Prim::window_min, {x}, params_1d(2)), {3}, {kNaN, kNaN, 2}, 0, "min");
    Tensor first = typed({kNaN, 1}, {2}, dt);
    expect_values(bind1(Prim::window_max, {first}, params_1d(2)), {1}, {kNaN}, 0, "max first");
    expect_values(bind1(Prim::window_min, {first}, params_1d(2)), {1}, {kNaN}, 0, "min first");
    expect_values(bind1(Prim::window_sum, {x}, params_1d(2)), {3}, {kNaN, kNaN, 5}, 0, "sum");
  }
}

TEST(WindowKernels, PaddingOnlyWindowsGiveTheIdentity) {
  // Window 1 with two padding elements in front: outputs 0 and 1 see only padding.
  WindowParams p = params_1d(1, 1, 2, 0);
  Tensor f = typed({5}, {1}, f32);
  expect_values(bind1(Prim::window_max, {f}, p), {3}, {-kInf, -kInf, 5}, 0, "f32 max");
  expect_values(bind1(Prim::window_min, {f}, p), {3}, {kInf, kInf, 5}, 0, "f32 min");
  expect_values(bind1(Prim::window_sum, {f}, p), {3}, {0, 0, 5}, 0, "f32 sum");
  expect_values(bind1(Prim::window_product, {f}, p), {3}, {1, 1, 5}, 0, "f32 product");
  Tensor i = from_vector(std::vector<int32_t>{5});
  EXPECT_EQ(bind1(Prim::window_max, {i}, p).to_vector<int32_t>(),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::lowest(),
                                  std::numeric_limits<int32_t>::lowest(), 5}));
  Tensor u = from_vector(std::vector<uint8_t>{5});
  EXPECT_EQ(bind1(Prim::window_min, {u}, p).to_vector<uint8_t>(),
            (std::vector<uint8_t>{255, 255, 5}));
}

TEST(WindowKernels, IntegerSumsAndProductsWrap) {
  EXPECT_EQ(bind1(Prim::window_sum, {from_vector(std::vector<uint8_t>{200, 100})}, params_1d(2))
                .to_vector<uint8_t>(),
            std::vector<uint8_t>{44});
  EXPECT_EQ(bind1(Prim::window_sum, {from_vector(std::vector<int8_t>{100, 100})}, params_1d(2))
                .to_vector<int8_t>(),
            std::vector<int8_t>{-56});
  EXPECT_EQ(bind1(Prim::window_product, {from_vector(std::vector<int16_t>{300, 300})}, params_1d(2))
                .to_vector<int16_t>(),
            std::vector<int16_t>{24464});  // 90000 mod 65536
  EXPECT_EQ(bind1(Prim::window_product, {from_vector(std::vector<int64_t>{int64_t{1} << 62, 4})},
                  params_1d(2))
                .to_vector<int64_t>(),
            std::vector<int64_t>{0});
  EXPECT_EQ(
      bind1(Prim::window_product, {from_vector(std::vector<uint16_t>{65535, 65535})}, params_1d(2))
          .to_vector<uint16_t>(),
      std::vector<uint16_t>{1});  // (2^16 - 1)^2 mod 2^16
}

TEST(WindowKernels, HalfFloatsAccumulateInFloat) {
  // In f16, 2048 + 1 rounds back to 2048; summed in float, 2052 is exact in f16.
  Tensor x = typed({2048, 1, 1, 1, 1}, {5}, f16);
  expect_values(bind1(Prim::window_sum, {x}, params_1d(5)), {1}, {2052}, 0, "f16 sum");
  // Five overlapping windows select the 9; their sources add up in float.
  Tensor op = typed({0, 9, 0}, {3}, f16);
  Tensor src = typed({1, 1, 1, 1, 1}, {5}, f16);
  Tensor y =
      bind1(Prim::window_scatter_max, {op, src, typed({2048}, {}, f16)}, params_1d(3, 1, 2, 2));
  expect_values(y, {3}, {2048, 2052, 2048}, 0, "f16 scatter");
}

TEST(WindowKernels, SelectAndScatterTiesNaNAndPadding) {
  Tensor init = typed({0}, {}, f32);
  // Ties select the first element of the window.
  Tensor x = typed({2, 2, 1}, {3}, f32);
  Tensor src = typed({10, 20}, {2}, f32);
  expect_values(bind1(Prim::window_scatter_max, {x, src, init}, params_1d(2)), {3}, {10, 20, 0}, 0,
                "max ties");
  expect_values(bind1(Prim::window_scatter_min, {x, src, init}, params_1d(2)), {3}, {10, 0, 20}, 0,
                "min ties");
  // A NaN counts as the extreme: the first NaN is selected.
  Tensor n = typed({1, kNaN, kNaN, 3}, {4}, f32);
  Tensor one = typed({7}, {1}, f32);
  expect_values(bind1(Prim::window_scatter_max, {n, one, init}, params_1d(4)), {4}, {0, 7, 0, 0}, 0,
                "max NaN");
  expect_values(bind1(Prim::window_scatter_min, {n, one, init}, params_1d(4)), {4}, {0, 7, 0, 0}, 0,
                "min NaN");
  // A window made only of padding drops its source value.
  Tensor single = typed({5}, {1}, f32);
  expect_values(bind1(Prim::window_scatter_max, {single, typed({7, 8}, {2}, f32), init},
                      params_1d(1, 1, 1, 0)),
                {1}, {8}, 0, "padding-only window");
}

TEST(WindowKernels, EmptyShapes) {
  // Empty operand, empty source: the output is empty or all init.
  Tensor e = typed({}, {0, 3}, f32);
  WindowParams p{{1, 2}, {1, 1}, {0, 0}, {0, 0}, {1, 1}};
  EXPECT_EQ(bind1(Prim::window_sum, {e}, p).shape(), (Shape{0, 2}));
  EXPECT_EQ(
      bind1(Prim::window_scatter_max, {e, typed({}, {0, 2}, f32), typed({1}, {}, f32)}, p).shape(),
      (Shape{0, 3}));
  Tensor x = typed({1, 2, 3}, {3}, f32);
  Tensor y =
      bind1(Prim::window_scatter_max, {x, typed({}, {0}, f32), typed({4}, {}, f32)}, params_1d(5));
  expect_values(y, {3}, {4, 4, 4}, 0, "no windows");
}

TEST(WindowKernels, LargeRowsSplitIntoColumnChunks) {
  // Rows longer than the kernel's column chunk, windowed along the row and along the rows.
  const int64_t n = 5000;
  std::vector<float> v(static_cast<size_t>(2 * n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 7919) % 1000);
  Tensor x = from_vector(v, Shape{2, n});
  WindowParams row{{1, 3}, {1, 2}, {0, 1}, {0, 1}, {1, 1}};
  std::vector<float> y = bind1(Prim::window_max, {x}, row).to_vector<float>();
  const int64_t out = (n + 2 - 3) / 2 + 1;
  ASSERT_EQ(y.size(), static_cast<size_t>(2 * out));
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t o = 0; o < out; ++o) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < 3; ++k) {
        int64_t i = 2 * o - 1 + k;
        if (i >= 0 && i < n) m = std::max(m, v[static_cast<size_t>(r * n + i)]);
      }
      ASSERT_EQ(y[static_cast<size_t>(r * out + o)], m) << r << "," << o;
    }
  }
  WindowParams col{{2, 1}, {1, 1}, {0, 0}, {0, 0}, {1, 1}};
  std::vector<float> s = bind1(Prim::window_sum, {x}, col).to_vector<float>();
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(s[static_cast<size_t>(i)], v[static_cast<size_t>(i)] + v[static_cast<size_t>(n + i)]);
  }
}

}  // namespace
}  // namespace nx
