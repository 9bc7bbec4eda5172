// gather, scatter_add and scatter_put against NumPy references (gen_window_index_refs.py) and
// hand-derived edge cases.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "window_index_test_util.hpp"

namespace nx {
namespace {

using detail::bind1;
using detail::GatherParams;
using detail::Prim;
using namespace window_index_test;

struct IndexCase {
  const char* name;
  Shape shape;
  Axes axes;
  Shape index_shape;
  std::vector<int64_t> indices;
  std::vector<double> x;
  Shape gathered_shape;
  std::vector<double> gathered, updates, added, put;
};

#include "index_test_data.inc"

const DType kAllTypes[] = {u8, u16, u32, u64, s8, s16, s32, s64, f16, bf16, f32, f64, pred};
const DType kIndexTypes[] = {s8, s16, s32, s64, u8, u16, u32, u64};

/// The case's indices in dtype dt; negative entries only exist in signed dtypes, so unsigned
/// dtypes get them replaced by a large out-of-range value (clamped to the top instead).
Tensor indices_of(const IndexCase& c, DType dt) {
  std::vector<double> v;
  for (int64_t i : c.indices) v.push_back(static_cast<double>(i));
  return typed(v, c.index_shape, dt);
}

bool has_negative(const IndexCase& c) {
  for (int64_t i : c.indices)
    if (i < 0) return true;
  return false;
}

std::vector<double> as_pred(const std::vector<double>& v) {
  std::vector<double> out;
  for (double d : v) out.push_back(d != 0 ? 1 : 0);
  return out;
}

TEST(IndexKernels, GatherMatchesNumpyOnEveryDtype) {
  for (const IndexCase& c : kIndexCases) {
    for (DType dt : kAllTypes) {
      Tensor x = typed(c.x, c.shape, dt);
      Tensor y = bind1(Prim::gather, {x, indices_of(c, s64)}, GatherParams{c.axes});
      EXPECT_EQ(y.dtype(), dt);
      expect_values(y, c.gathered_shape, c.gathered, 0,
                    std::string(c.name) + " gather " + std::string(dtype_name(dt)));
    }
  }
}

TEST(IndexKernels, EveryIndexDtypeAddressesTheSameRows) {
  for (const IndexCase& c : kIndexCases) {
    if (has_negative(c)) continue;  // unsigned dtypes cannot hold them
    for (DType it : kIndexTypes) {
      Tensor y =
          bind1(Prim::gather, {typed(c.x, c.shape, f32), indices_of(c, it)}, GatherParams{c.axes});
      expect_values(y, c.gathered_shape, c.gathered, 0,
                    std::string(c.name) + " indices " + std::string(dtype_name(it)));
    }
  }
}

TEST(IndexKernels, ScatterAddMatchesNumpyOnEveryDtype) {
  for (const IndexCase& c : kIndexCases) {
    for (DType dt : kAllTypes) {
      if (dt == pred) continue;  // scatter_add is numeric
      Tensor y = bind1(
          Prim::scatter_add,
          {typed(c.x, c.shape, dt), indices_of(c, s32), typed(c.updates, c.gathered_shape, dt)},
          GatherParams{c.axes});
      expect_values(y, c.shape, c.added, 0,
                    std::string(c.name) + " scatter_add " + std::string(dtype_name(dt)));
    }
  }
}

TEST(IndexKernels, ScatterPutLastUpdateWinsOnEveryDtype) {
  for (const IndexCase& c : kIndexCases) {
    for (DType dt : kAllTypes) {
      bool p = dt == pred;
      Tensor y = bind1(
          Prim::scatter_put,
          {typed(c.x, c.shape, dt), indices_of(c, s64), typed(c.updates, c.gathered_shape, dt)},
          GatherParams{c.axes});
      expect_values(y, c.shape, p ? as_pred(c.put) : c.put, 0,
                    std::string(c.name) + " scatter_put " + std::string(dtype_name(dt)));
    }
  }
}

TEST(IndexKernels, UnsignedIndicesPastTheEndClampToTheLastEntry) {
  Tensor x = from_vector(std::vector<float>{10, 20, 30});
  Tensor idx = from_vector(std::vector<uint64_t>{~uint64_t{0}, 1}, Shape{2, 1});
  EXPECT_EQ(bind1(Prim::gather, {x, idx}, GatherParams{{0}}).to_vector<float>(),
            (std::vector<float>{30, 20}));
  Tensor idx8 = from_vector(std::vector<int8_t>{-128, 127}, Shape{2, 1});
  EXPECT_EQ(bind1(Prim::gather, {x, idx8}, GatherParams{{0}}).to_vector<float>(),
            (std::vector<float>{10, 30}));
}

TEST(IndexKernels, ScatterAddWrapsAndAccumulatesHalfInFloat) {
  Tensor x = from_vector(std::vector<int8_t>{100, 0});
  Tensor idx = from_vector(std::vector<int32_t>{0, 0}, Shape{2, 1});
  Tensor upd = from_vector(std::vector<int8_t>{100, 100});
  EXPECT_EQ(bind1(Prim::scatter_add, {x, idx, upd}, GatherParams{{0}}).to_vector<int8_t>(),
            (std::vector<int8_t>{44, 0}));  // 300 mod 256
  // In f16, 2048 + 1 rounds back to 2048; four ones summed in float give 2052 exactly.
  Tensor h = typed({2048, 0}, {2}, f16);
  Tensor idx4 = from_vector(std::vector<int32_t>{0, 0, 0, 0}, Shape{4, 1});
  Tensor ones = typed({1, 1, 1, 1}, {4}, f16);
  expect_values(bind1(Prim::scatter_add, {h, idx4, ones}, GatherParams{{0}}), {2}, {2052, 0}, 0,
                "f16 scatter_add");
}

TEST(IndexKernels, LargeScattersRunInParallelDeterministically) {
  // 4096 rows of 64-wide slices into 100 positions: many duplicates, split over slice columns.
  const int64_t rows = 4096, width = 64, n = 100;
  std::vector<int32_t> idx(static_cast<size_t>(rows));
  std::vector<double> upd(static_cast<size_t>(rows * width));
  std::vector<double> sum(static_cast<size_t>(n * width), 0.0), last(sum);
  for (int64_t r = 0; r < rows; ++r) {
    idx[static_cast<size_t>(r)] = static_cast<int32_t>((r * 37) % n);
    for (int64_t j = 0; j < width; ++j) {
      double u = static_cast<double>((r + j) % 5);
      upd[static_cast<size_t>(r * width + j)] = u;
      sum[static_cast<size_t>(idx[static_cast<size_t>(r)] * width + j)] += u;
      last[static_cast<size_t>(idx[static_cast<size_t>(r)] * width + j)] = u;
    }
  }
  Tensor x = typed(std::vector<double>(static_cast<size_t>(n * width), 0.0), {n, width}, f64);
  Tensor i = from_vector(idx, Shape{rows, 1});
  Tensor u = typed(upd, {rows, width}, f64);
  expect_values(bind1(Prim::scatter_add, {x, i, u}, GatherParams{{0}}), {n, width}, sum, 0,
                "parallel add");
  expect_values(bind1(Prim::scatter_put, {x, i, u}, GatherParams{{0}}), {n, width}, last, 0,
                "parallel put");
  Tensor g = bind1(Prim::gather, {u, from_vector(std::vector<int32_t>{4095, 0}, Shape{2, 1})},
                   GatherParams{{0}});
  std::vector<double> want(upd.end() - width, upd.end());
  want.insert(want.end(), upd.begin(), upd.begin() + width);
  expect_values(g, {2, width}, want, 0, "gather rows");
}

}  // namespace
}  // namespace nx
