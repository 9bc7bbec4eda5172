// The elementwise drivers: same-shape, one-value and general broadcasting paths at sizes that
// split into parallel chunks (boundaries falling inside rows), f16/bf16 runs longer than the
// float staging chunk, empty and rank-0 tensors, pred bytes, and the errors of the shape rules.
// Expected values come from naive index arithmetic written here from the definitions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "elementwise_test_util.hpp"

namespace nx::ew_test {
namespace {

/// Row-major strides of `s` aligned right to a rank-r output, 0 on broadcast axes.
std::vector<int64_t> bcast_strides(const Shape& s, const Shape& out) {
  const size_t r = out.size(), lead = r - s.size();
  std::vector<int64_t> st(r, 0);
  int64_t stride = 1;
  for (size_t k = r; k-- > lead;) {
    st[k] = s[k - lead] == 1 ? 0 : stride;
    stride *= s[k - lead];
  }
  return st;
}

/// Offset of output element `flat` in an operand with the given broadcast strides.
int64_t offset_of(int64_t flat, const Shape& out, const std::vector<int64_t>& st) {
  int64_t off = 0;
  for (size_t k = out.size(); k-- > 0;) {
    off += (flat % out[k]) * st[k];
    flat /= out[k];
  }
  return off;
}

std::vector<int32_t> ramp(int64_t n, int32_t scale) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<int32_t>((i * 7919) % 100003) * scale;
  return v;
}

void check_add_s32(const Shape& sa, const Shape& sb) {
  SCOPED_TRACE(shape_repr(sa) + " + " + shape_repr(sb));
  const auto a = ramp(num_elements(sa), 3), b = ramp(num_elements(sb), -1000);
  Tensor out = run(Prim::add, {from_vector(a, sa), from_vector(b, sb)});
  const Shape so = broadcast_shapes(sa, sb, "test");
  ASSERT_EQ(out.shape(), so);
  const auto sta = bcast_strides(sa, so), stb = bcast_strides(sb, so);
  const int32_t* y = out.data<int32_t>();
  for (int64_t i = 0; i < out.size(); ++i) {
    int32_t want = a[offset_of(i, so, sta)] + b[offset_of(i, so, stb)];
    if (y[i] != want) {
      ADD_FAILURE() << "element " << i << ": got " << y[i] << ", want " << want;
      return;
    }
  }
}

TEST(ElementwiseBroadcastKernels, LargeShapesThroughEveryPath) {
  check_add_s32({333, 217}, {333, 217});         // same shape, parallel chunks
  check_add_s32({200001}, {});                   // one value on the right
  check_add_s32({1, 1}, {401, 301});             // one value on the left (rank differs)
  check_add_s32({300, 1, 129}, {1, 77, 129});    // general: inner run of both operands
  check_add_s32({1000, 1}, {1, 97});             // general: short rows, one side repeated
  check_add_s32({97, 1}, {97, 1013});            // general: left repeated along the row
  check_add_s32({2, 3, 1, 5, 1}, {3, 4, 1, 7});  // rank 5, several collapsed axes
  check_add_s32({70001, 1}, {1, 3});             // chunk boundaries inside short rows
}

TEST(ElementwiseBroadcastKernels, EmptyAndRankZero) {
  Tensor e = run(Prim::multiply, {nx::zeros({0, 3}), nx::zeros({3})});
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  Tensor e2 = run(Prim::less, {nx::zeros({2, 0}), nx::zeros({1, 1})});
  EXPECT_EQ(e2.shape(), (Shape{2, 0}));
  EXPECT_EQ(e2.dtype(), DType::Pred);
  Tensor s = run(Prim::subtract, {nx::scalar(5, DType::S64), nx::scalar(7, DType::S64)});
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.item<int64_t>(), -2);
  Tensor u = run(Prim::exp, {nx::zeros({0}, DType::F16)});
  EXPECT_EQ(u.size(), 0);
  Tensor sel = run(Prim::select, {nx::zeros({0}, DType::Pred), nx::zeros({0}), nx::zeros({1})});
  EXPECT_EQ(sel.shape(), Shape{0});
}

// f16 and bf16 run through float in chunks; lengths around and beyond the chunk, and the
// scalar forms, against per-element float arithmetic rounded once.
TEST(ElementwiseBroadcastKernels, HalfTypesAcrossChunks) {
  for (DType dt : {DType::F16, DType::BF16}) {
    for (int64_t n : {1, 7, 511, 512, 513, 1500, 70000}) {
      std::vector<double> av(static_cast<size_t>(n)), bv(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        av[i] = (i % 251) * 0.37 - 40.0;
        bv[i] = (i % 17) * 1.25 + 0.5;
      }
      Tensor a = run(Prim::convert, {from_vector(av)}, detail::ConvertParams{dt});
      Tensor b = run(Prim::convert, {from_vector(bv)}, detail::ConvertParams{dt});
      Tensor s = run(Prim::convert, {nx::scalar(3.0, DType::F64)}, detail::ConvertParams{dt});
      const std::vector<float> xa = a.to_vector<float>(), xb = b.to_vector<float>();
      const auto round = [&](float f) {
        return dt == DType::F16 ? half(f).bits : bfloat16(f).bits;
      };
      const auto vv = to_bits(run(Prim::divide, {a, b}));
      const auto vs = to_bits(run(Prim::subtract, {a, s}));
      const auto sv = to_bits(run(Prim::multiply, {s, b}));
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(vv[i], round(xa[i] / xb[i])) << dtype_name(dt) << " n=" << n << " i=" << i;
        ASSERT_EQ(vs[i], round(xa[i] - 3.0f)) << dtype_name(dt) << " n=" << n << " i=" << i;
        ASSERT_EQ(sv[i], round(3.0f * xb[i])) << dtype_name(dt) << " n=" << n << " i=" << i;
      }
    }
  }
}

TEST(ElementwiseBroadcastKernels, SelectLargeThreeWay) {
  const int64_t rows = 701, cols = 503;
  std::vector<bool> p(rows);
  for (int64_t i = 0; i < rows; ++i) p[i] = i % 3 == 0;
  std::vector<double> a(cols);
  for (int64_t j = 0; j < cols; ++j) a[j] = j * 0.5;
  Tensor out = run(Prim::select, {from_vector(p, Shape{rows, 1}), from_vector(a, Shape{1, cols}),
                                  nx::scalar(-1.0, DType::F64)});
  ASSERT_EQ(out.shape(), (Shape{rows, cols}));
  const double* y = out.data<double>();
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      ASSERT_EQ(y[i * cols + j], p[i] ? j * 0.5 : -1.0) << i << "," << j;
    }
  }
}

// Pred is one byte; kernels read any nonzero byte as true and write only 0 or 1.
TEST(ElementwiseBroadcastKernels, PredBytesAreNormalized) {
  const unsigned char raw[4] = {0, 1, 2, 255};
  Tensor p = from_data(raw, {4}, DType::Pred);
  EXPECT_EQ(to_bits(run(Prim::bitwise_not, {p})), (std::vector<uint64_t>{1, 0, 0, 0}));
  EXPECT_EQ(to_bits(run(Prim::bitwise_and, {p, p})), (std::vector<uint64_t>{0, 1, 1, 1}));
  EXPECT_EQ(to_bits(run(Prim::bitwise_xor, {p, nx::scalar(1, DType::Pred)})),
            (std::vector<uint64_t>{1, 0, 0, 0}));
  EXPECT_EQ(to_bits(run(Prim::equal, {p, nx::scalar(1, DType::Pred)})),
            (std::vector<uint64_t>{0, 1, 1, 1}));
  EXPECT_EQ(to_bits(run(Prim::convert, {p}, detail::ConvertParams{DType::S32})),
            (std::vector<uint64_t>{0, 1, 1, 1}));
  Tensor sel = run(Prim::select, {p, nx::full({4}, 7.0), nx::full({4}, 8.0)});
  EXPECT_EQ(sel.to_vector<float>(), (std::vector<float>{8, 7, 7, 7}));
  EXPECT_EQ(to_bits(run(Prim::select, {p, p, p})), (std::vector<uint64_t>{0, 1, 1, 1}));
  EXPECT_EQ(to_bits(run(Prim::convert, {p}, detail::ConvertParams{DType::Pred})),
            (std::vector<uint64_t>{0, 1, 1, 1}));
}

void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected nx::Error";
  } catch (const nx::Error& e) {
    for (const std::string& s : parts) {
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what() << " lacks " << s;
    }
  }
}

TEST(ElementwiseBroadcastKernels, RulesRejectBadOperands) {
  Tensor f = nx::zeros({2}), i = nx::zeros({2}, DType::S32);
  expect_error([&] { run(Prim::add, {f, i}); }, {"nx::add", "one dtype", "f32[2]", "s32[2]"});
  expect_error([&] { run(Prim::add, {f, nx::zeros({3})}); }, {"nx::add"});
  expect_error([&] { run(Prim::quotient, {f, f}); }, {"nx::quotient", "integer", "f32[2]"});
  expect_error([&] { run(Prim::divide, {i, i}); }, {"nx::divide", "float", "s32[2]"});
  expect_error([&] { run(Prim::exp, {i}); }, {"nx::exp", "float", "s32[2]"});
  expect_error(
      [&] {
        run(Prim::add, {nx::zeros({2}, DType::Pred), nx::zeros({2}, DType::Pred)});
      },
      {"nx::add", "numeric", "pred[2]"});
  expect_error([&] { run(Prim::population_count, {f}); }, {"nx::population_count", "integer"});
  expect_error([&] { run(Prim::bitwise_and, {f, f}); }, {"nx::bitwise_and", "integer or pred"});
  expect_error([&] { run(Prim::select, {f, f, f}); }, {"nx::select", "pred", "f32[2]"});
  expect_error(
      [&] {
        run(Prim::select, {nx::zeros({2}, DType::Pred), f, i});
      },
      {"nx::select", "one dtype"});
  expect_error([&] { run(Prim::less, {f, i}); }, {"nx::less", "one dtype"});
}

}  // namespace
}  // namespace nx::ew_test
