// cumulative_sum, _product, _max, _min: PyTorch references (gen_reduce_scan_sort_refs.py),
// hand-derived cases (reverse, wrapping, NaN, f16 accumulation), and random shapes for every
// numeric dtype against a naive scan.
#include <cmath>
#include <gtest/gtest.h>

#include "reduce_test_util.hpp"

namespace nx {
namespace {

using detail::bind1;
using detail::Prim;
using detail::ScanParams;
using namespace reduce_test;

struct ScanRef {
  Shape shape;
  int64_t axis;
  bool reverse;
  std::vector<double> x, sum, prod, max, min;
};
#include "scan_test_data.inc"

const std::vector<Prim> kScans = {Prim::cumulative_sum, Prim::cumulative_product,
                                  Prim::cumulative_max, Prim::cumulative_min};

std::vector<double> scan(Prim p, const Tensor& x, int64_t axis, bool reverse = false) {
  Tensor r = bind1(p, {x}, ScanParams{axis, reverse});
  EXPECT_EQ(r.type(), x.type());
  return r.to_vector<double>();
}

TEST(ScanKernels, MatchPyTorch) {
  for (const ScanRef& r : kScanRefs) {
    for (DType dt : {DType::F32, DType::F64}) {
      Tensor x = typed(r.x, r.shape, dt);
      std::string what = shape_repr(r.shape) + " axis " + std::to_string(r.axis) +
                         (r.reverse ? " reverse " : " ") + std::string(dtype_name(dt));
      expect_close(scan(Prim::cumulative_sum, x, r.axis, r.reverse), r.sum, 1e-5, what);
      expect_close(scan(Prim::cumulative_product, x, r.axis, r.reverse), r.prod, 1e-4, what);
      expect_close(scan(Prim::cumulative_max, x, r.axis, r.reverse), r.max, 0, what);
      expect_close(scan(Prim::cumulative_min, x, r.axis, r.reverse), r.min, 0, what);
    }
  }
}

TEST(ScanKernels, HandDerived) {
  Tensor v = tensor({1, 2, 3, 4});
  EXPECT_EQ(scan(Prim::cumulative_sum, v, 0), (std::vector<double>{1, 3, 6, 10}));
  EXPECT_EQ(scan(Prim::cumulative_sum, v, 0, true), (std::vector<double>{10, 9, 7, 4}));
  EXPECT_EQ(scan(Prim::cumulative_product, v, 0), (std::vector<double>{1, 2, 6, 24}));
  EXPECT_EQ(scan(Prim::cumulative_product, v, 0, true), (std::vector<double>{24, 24, 12, 4}));
  Tensor m = tensor({{3, 1, 2}, {0, 5, 1}});
  EXPECT_EQ(scan(Prim::cumulative_max, m, 1), (std::vector<double>{3, 3, 3, 0, 5, 5}));
  EXPECT_EQ(scan(Prim::cumulative_min, m, 1, true), (std::vector<double>{1, 1, 2, 0, 1, 1}));
  EXPECT_EQ(scan(Prim::cumulative_sum, m, 0), (std::vector<double>{3, 1, 2, 3, 6, 3}));
  EXPECT_EQ(scan(Prim::cumulative_sum, m, 0, true), (std::vector<double>{3, 6, 3, 0, 5, 1}));
  Tensor f = tensor({1.0, 3.0, kNaN, 5.0, 0.0});
  expect_close(scan(Prim::cumulative_max, f, 0), {1, 3, kNaN, kNaN, kNaN}, 0, "cummax NaN");
  expect_close(scan(Prim::cumulative_min, f, 0, true), {kNaN, kNaN, kNaN, 0, 0}, 0, "cummin NaN");
  expect_close(scan(Prim::cumulative_sum, f, 0), {1, 4, kNaN, kNaN, kNaN}, 0, "cumsum NaN");
  for (Prim p : kScans) {
    EXPECT_EQ(bind1(p, {typed({}, {0, 3}, f32)}, ScanParams{1}).shape(), (Shape{0, 3}));
    EXPECT_EQ(scan(p, typed({7}, {1, 1}, s16), 1, true), (std::vector<double>{7}));
  }
}

TEST(ScanKernels, IntegersWrapAndHalfFloatsAccumulateInF32) {
  EXPECT_EQ(scan(Prim::cumulative_sum, typed({100, 100, 100}, {3}, s8), 0),
            (std::vector<double>{100, -56, 44}));
  EXPECT_EQ(scan(Prim::cumulative_product, typed({16, 16, 2}, {3}, u8), 0),
            (std::vector<double>{16, 0, 0}));
  EXPECT_EQ(scan(Prim::cumulative_product, typed({300, 300}, {2}, u16), 0),
            (std::vector<double>{300, 90000 % 65536}));
  // Running sums of ones in f16: 2049 rounds to 2048 (ties to even) in the output, but the
  // f32 accumulator goes on counting, so the next output is 2050 and the last 4096.
  for (int64_t inner : {1, 3}) {
    auto c = scan(Prim::cumulative_sum, full({4096, inner}, 1, f16), 0);
    EXPECT_EQ(c[2047 * inner], 2048);
    EXPECT_EQ(c[2048 * inner], 2048);
    EXPECT_EQ(c[2049 * inner], 2050);
    EXPECT_EQ(c[4095 * inner], 4096);
  }
}

// Naive scan along axis: out[i] combines x[0..i] (x[i..n) when reverse) in scan order.
std::vector<double> ref_scan(const std::vector<double>& x, const Shape& s, int64_t axis,
                             bool reverse, Prim p, DType dt) {
  int64_t outer = 1, n = s[axis], inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (int64_t i = axis + 1; i < static_cast<int64_t>(s.size()); ++i) inner *= s[i];
  std::vector<double> out(x.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < inner; ++j) {
      double acc = 0;
      uint64_t iacc = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t i = reverse ? n - 1 - k : k;
        size_t at = static_cast<size_t>((o * n + i) * inner + j);
        double v = x[at];
        // The integer reference only matters for integer inputs; keep the float ones (NaN,
        // inf, huge values) out of a conversion that would be undefined.
        bool representable = std::isfinite(v) && std::fabs(v) < 9.0e18;
        uint64_t u = representable ? static_cast<uint64_t>(static_cast<int64_t>(v)) : 0;
        if (k == 0)
          acc = v, iacc = u;
        else if (p == Prim::cumulative_sum)
          acc += v, iacc += u;
        else if (p == Prim::cumulative_product)
          acc *= v, iacc *= u;
        else if (p == Prim::cumulative_max)
          acc = ref_max(acc, v);
        else
          acc = ref_min(acc, v);
        bool wraps = is_integer(dt) && (p == Prim::cumulative_sum || p == Prim::cumulative_product);
        out[at] = wraps ? (is_signed_int(dt)
                               ? static_cast<double>(static_cast<int64_t>(wrap_to(iacc, dt)))
                               : static_cast<double>(wrap_to(iacc, dt)))
                        : acc;
      }
    }
  }
  return out;
}

TEST(ScanKernels, RandomAgainstReference) {
  std::mt19937_64 rng(31);
  for (int it = 0; it < 300; ++it) {
    Shape s = movement_test::random_shape(rng, 4, 6);
    if (s.empty()) s = {4};
    if (it % 60 == 0) s = {2, 300, 700};  // parallel, several column tiles
    if (it % 60 == 1) s = {5000, 9};
    int64_t axis = static_cast<int64_t>(rng() % s.size());
    DType dt = kNumericDTypes[rng() % kNumericDTypes.size()];
    Prim p = kScans[rng() % kScans.size()];
    bool reverse = rng() % 2;
    std::vector<double> v = small_values(num_elements(s), rng, dt);
    if (p == Prim::cumulative_product)  // keep float products exact: factors of +-1 and +-2, few 2s
      for (double& d : v)
        d = is_unsigned_int(dt) ? 1.0 + (rng() % 9 == 0)
                                : (rng() % 2 ? 1.0 : -1.0) * (1.0 + (rng() % 9 == 0));
    if (is_float(dt) && p != Prim::cumulative_product)
      for (double& d : v)
        if (rng() % 31 == 0) d = kNaN;
    Tensor x = typed(v, s, dt);
    std::vector<double> want = ref_scan(v, s, axis, reverse, p, dt);
    if (is_float(dt)) want = typed(want, s, dt).to_vector<double>();  // each output rounds once
    expect_close(scan(p, x, axis, reverse), want, 0,
                 std::string(prim_name(p)) + " " + shape_repr(s) + " axis " + std::to_string(axis) +
                     " " + std::string(dtype_name(dt)));
  }
}

}  // namespace
}  // namespace nx
