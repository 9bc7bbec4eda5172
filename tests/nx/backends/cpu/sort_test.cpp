// sort: PyTorch references (gen_reduce_scan_sort_refs.py, stable=True), hand-derived orders of
// NaN, infinities and signed zeros, stability, and random rows of every numeric dtype (short
// rows, medium rows and the long rows the radix sort takes) against std::stable_sort with a
// comparator written from the definition.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "reduce_test_util.hpp"

namespace nx {
namespace {

using detail::bind;
using detail::Prim;
using detail::SortParams;
using namespace reduce_test;

struct SortRef {
  DType dtype;
  Shape shape;
  int64_t axis;
  bool descending;
  std::vector<double> x, values;
  std::vector<int64_t> indices;
};
#include "sort_test_data.inc"

struct Sorted {
  Tensor values, indices;
};
Sorted sort(const Tensor& x, int64_t axis, bool descending = false) {
  auto r = bind(Prim::sort, {x}, SortParams{axis, descending});
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].type(), x.type());
  EXPECT_EQ(r[1].type(), (TensorType{x.shape(), DType::S64}));
  return {r[0], r[1]};
}

// Values compared bit for bit, so that -0.0 vs 0.0 and NaN positions count.
std::vector<uint64_t> bits(const Tensor& t) {
  return movement_test::to_ids(t);
}

TEST(SortKernels, MatchPyTorch) {
  for (const SortRef& r : kSortRefs) {
    Tensor x = typed(r.x, r.shape, r.dtype);
    Sorted s = sort(x, r.axis, r.descending);
    std::string what = std::string(dtype_name(r.dtype)) + shape_repr(r.shape) + " axis " +
                       std::to_string(r.axis) + (r.descending ? " descending" : "");
    EXPECT_EQ(s.indices.to_vector<int64_t>(), r.indices) << what;
    EXPECT_EQ(bits(s.values), bits(typed(r.values, r.shape, r.dtype))) << what;
  }
}

TEST(SortKernels, NaNInfinitiesAndSignedZeros) {
  std::vector<double> v = {3.0, kNaN, -0.0, 0.0, kInf, -kInf, 1.0, kNaN, -0.0};
  for (DType dt : {DType::F16, DType::BF16, DType::F32, DType::F64}) {
    Tensor x = typed(v, {9}, dt);
    Sorted a = sort(x, 0), d = sort(x, 0, true);
    EXPECT_EQ(a.indices.to_vector<int64_t>(), (std::vector<int64_t>{5, 2, 3, 8, 6, 0, 4, 1, 7}));
    EXPECT_EQ(d.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 7, 4, 0, 6, 2, 3, 8, 5}));
    std::vector<double> av = {-kInf, -0.0, 0.0, -0.0, 1.0, 3.0, kInf, kNaN, kNaN};
    EXPECT_EQ(bits(a.values), bits(typed(av, {9}, dt))) << dtype_name(dt);
  }
}

TEST(SortKernels, IntegersAndStability) {
  Tensor x = from_vector(std::vector<int64_t>{5, INT64_MIN, -1, 5, INT64_MAX, 0, -1});
  Sorted a = sort(x, 0), d = sort(x, 0, true);
  EXPECT_EQ(a.values.to_vector<int64_t>(),
            (std::vector<int64_t>{INT64_MIN, -1, -1, 0, 5, 5, INT64_MAX}));
  EXPECT_EQ(a.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 6, 5, 0, 3, 4}));
  EXPECT_EQ(d.indices.to_vector<int64_t>(), (std::vector<int64_t>{4, 0, 3, 5, 2, 6, 1}));
  Tensor u = from_vector(std::vector<uint8_t>{200, 3, 255, 0, 3});
  EXPECT_EQ(sort(u, 0).indices.to_vector<int64_t>(), (std::vector<int64_t>{3, 1, 4, 0, 2}));
  Tensor m = tensor({{3, 1}, {1, 1}, {2, 0}});
  Sorted c = sort(m, 0);
  EXPECT_EQ(c.values.to_vector<int32_t>(), (std::vector<int32_t>{1, 0, 2, 1, 3, 1}));
  EXPECT_EQ(c.indices.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 2, 0, 0, 1}));
  EXPECT_EQ(sort(typed({}, {0, 4}, f32), 1).values.shape(), (Shape{0, 4}));
  EXPECT_EQ(sort(typed({}, {3, 0}, f32), 1).indices.shape(), (Shape{3, 0}));
  EXPECT_EQ(sort(typed({9}, {1}, u32), 0).indices.to_vector<int64_t>(), (std::vector<int64_t>{0}));
}

// The order from the definition: NaN above everything and equal to NaN, -0.0 == 0.0.
bool less_by_definition(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return a < b;
}

// Stable sorted positions of one row by the definition (descending: reversed order, ties kept).
std::vector<int64_t> ref_order(const std::vector<double>& row, bool descending) {
  std::vector<int64_t> idx(row.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t i, int64_t j) {
    return descending ? less_by_definition(row[j], row[i]) : less_by_definition(row[i], row[j]);
  });
  return idx;
}

TEST(SortKernels, RandomRowsAgainstStableSort) {
  std::mt19937_64 rng(41);
  for (int it = 0; it < 120; ++it) {
    Shape s = movement_test::random_shape(rng, 3, 6);
    if (s.empty()) s = {6};
    if (it % 8 == 1) s = {2, 300};   // merge sort rows
    if (it % 8 == 2) s = {5000};     // radix sort
    if (it % 8 == 3) s = {2100, 3};  // radix sort down columns
    if (it % 8 == 4) s = {700, 40};  // many short rows, in parallel
    int64_t axis = static_cast<int64_t>(rng() % s.size());
    if (it % 8 == 3) axis = 0;
    DType dt = kNumericDTypes[rng() % kNumericDTypes.size()];
    bool descending = rng() % 2;
    std::vector<double> v(static_cast<size_t>(num_elements(s)));
    // Values with many ties; wide-range integers so that every key byte matters; specials.
    for (double& d : v) {
      uint64_t k = rng() % 10;
      if (k < 6)
        d = static_cast<double>(rng() % 7) - (is_unsigned_int(dt) ? 0 : 3);
      else if (k < 8 && is_integer(dt))
        d = static_cast<double>(
            rng() % (uint64_t{1} << (byte_size(dt) * 8 - 1 < 40 ? byte_size(dt) * 8 - 1 : 40)));
      else if (is_float(dt))
        d = std::vector<double>{kNaN, kInf, -kInf, -0.0, 0.0, 0.5, -1e3}[rng() % 7];
      else
        d = 1;
    }
    Tensor x = typed(v, s, dt);
    std::vector<double> xr = x.to_vector<double>();  // the values as stored (rounded for f16/bf16)
    Sorted r = sort(x, axis, descending);
    int64_t outer = 1, n = s[axis], inner = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= s[i];
    for (int64_t i = axis + 1; i < static_cast<int64_t>(s.size()); ++i) inner *= s[i];
    std::vector<int64_t> want_idx(xr.size());
    std::vector<uint64_t> xb = bits(x), want_bits(xr.size());
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < inner; ++j) {
        std::vector<double> row;
        for (int64_t i = 0; i < n; ++i) row.push_back(xr[(o * n + i) * inner + j]);
        auto ord = ref_order(row, descending);
        for (int64_t i = 0; i < n; ++i) {
          size_t at = static_cast<size_t>((o * n + i) * inner + j);
          want_idx[at] = ord[i];
          want_bits[at] = xb[static_cast<size_t>((o * n + ord[i]) * inner + j)];
        }
      }
    }
    std::string what = std::string(dtype_name(dt)) + shape_repr(s) + " axis " +
                       std::to_string(axis) + (descending ? " descending" : "");
    EXPECT_EQ(r.indices.to_vector<int64_t>(), want_idx) << what;
    EXPECT_EQ(bits(r.values), want_bits) << what;
  }
}

}  // namespace
}  // namespace nx
