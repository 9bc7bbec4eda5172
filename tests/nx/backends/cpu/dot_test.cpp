// dot_general on the CPU: PyTorch references for every dtype and many layouts
// (dot_cases.inc, from gen_dot_cases.py), hand-derived integer wrapping, and larger products
// that cross the oneDNN / own-loop boundary and the blocking of our loops, checked against a
// naive float64 loop.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "contract_test_util.hpp"
#include "nx/backends/cpu/dnnl_matmul.hpp"

namespace nx {
namespace {

using detail::DotParams;
using detail::Prim;
using namespace contract_test;

struct DotCase {
  const char* name;
  Shape a, b;
  Axes contract_a, batch_a, contract_b, batch_b;
  Shape out;
  std::vector<std::pair<DType, std::vector<double>>> expected;
};

const std::vector<DotCase>& dot_cases() {
  static const std::vector<DotCase> cases = {
#include "dot_cases.inc"
  };
  return cases;
}

Tensor dot(const Tensor& a, const Tensor& b, const DotParams& p) {
  return detail::bind1(Prim::dot_general, {a, b}, p);
}

TEST(DotGeneral, MatchesPyTorchForEveryDtypeAndLayout) {
  int checked = 0;
  for (const DotCase& c : dot_cases()) {
    DotParams p{c.contract_a, c.batch_a, c.contract_b, c.batch_b};
    for (const auto& [dt, want] : c.expected) {
      SCOPED_TRACE(std::string(c.name) + " " + std::string(dtype_name(dt)));
      Tensor out = dot(generated_input(c.a, 1, dt), generated_input(c.b, 2, dt), p);
      EXPECT_EQ(out.shape(), c.out);
      EXPECT_EQ(out.dtype(), dt);
      expect_close(out, want);
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST(DotGeneral, IntegersWrapInTheirDtype) {
  DotParams inner{{0}, {}, {0}, {}};
  // 65537^2 = 2^32 + 2^17 + 1.
  EXPECT_EQ(dot(tensor<int32_t>({65537}), tensor<int32_t>({65537}), inner).item<int64_t>(), 131073);
  EXPECT_EQ(dot(tensor<uint32_t>({65536, 3}), tensor<uint32_t>({65536, 5}), inner).item<uint64_t>(),
            15u);
  // (2^32 + 1)^2 = 2^64 + 2^33 + 1; INT64_MIN * -1 wraps to INT64_MIN.
  EXPECT_EQ(
      dot(tensor<int64_t>({4294967297}), tensor<int64_t>({4294967297}), inner).item<int64_t>(),
      8589934593);
  EXPECT_EQ(dot(tensor<int64_t>({INT64_MIN}), tensor<int64_t>({-1}), inner).item<int64_t>(),
            INT64_MIN);
  EXPECT_EQ(dot(tensor<uint64_t>({uint64_t{1} << 63, 7}), tensor<uint64_t>({2, 3}), inner)
                .item<uint64_t>(),
            21u);
  // s8: 100 * 100 + 100 * 100 = 20000 = 78 * 256 + 32.
  EXPECT_EQ(dot(tensor<int8_t>({100, 100}), tensor<int8_t>({100, 100}), inner).item<int64_t>(), 32);
  EXPECT_EQ(dot(tensor<int16_t>({-32768}), tensor<int16_t>({-1}), inner).item<int64_t>(), -32768);
}

TEST(DotGeneral, EmptyOperands) {
  // k == 0: every output is an empty sum.
  Tensor z = dot(zeros({3, 0}, f32), zeros({0, 4}, f32), DotParams{{1}, {}, {0}, {}});
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_EQ(z.to_vector<double>(), std::vector<double>(12, 0.0));
  Tensor zi = dot(zeros({2, 0}, s64), zeros({0, 2}, s64), DotParams{{1}, {}, {0}, {}});
  EXPECT_EQ(zi.to_vector<int64_t>(), std::vector<int64_t>(4, 0));
  Tensor zb = dot(zeros({2, 0}, bf16), zeros({0, 2}, bf16), DotParams{{1}, {}, {0}, {}});
  EXPECT_EQ(zb.to_vector<double>(), std::vector<double>(4, 0.0));
  // m == 0 or batch == 0: an empty result.
  EXPECT_EQ(dot(zeros({0, 4}, f32), zeros({4, 3}, f32), DotParams{{1}, {}, {0}, {}}).shape(),
            (Shape{0, 3}));
  EXPECT_EQ(
      dot(zeros({0, 2, 4}, f64), zeros({0, 4, 3}, f64), DotParams{{2}, {0}, {1}, {0}}).shape(),
      (Shape{0, 2, 3}));
}

// Naive float64 contraction of generated operands of a batched matmul layout given as
// row-major strides: out[b, i, j] = sum_p A(b, i, p) * B(b, p, j).
struct Naive {
  std::vector<double> out, scale;
};

Naive naive(const std::vector<double>& a, const std::vector<double>& b, int64_t batch, int64_t m,
            int64_t n, int64_t k, std::vector<int64_t> sa, std::vector<int64_t> sb) {
  Naive r{std::vector<double>(static_cast<size_t>(batch * m * n)),
          std::vector<double>(static_cast<size_t>(batch * m * n))};
  for (int64_t bi = 0; bi < batch; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          double t = a[bi * sa[0] + i * sa[1] + p * sa[2]] * b[bi * sb[0] + p * sb[1] + j * sb[2]];
          s += t;
          mag += std::abs(t);
        }
        r.out[(bi * m + i) * n + j] = s;
        r.scale[(bi * m + i) * n + j] = mag;
      }
  return r;
}

struct Layout {
  const char* name;
  bool transpose_a, transpose_b, batch_last;
};

// Products around the oneDNN threshold and past every block size of our own loops (rows past
// 96, columns past 384, k past 256), in plain, transposed and batch-last layouts.
TEST(DotGeneral, LargerProductsMatchNaiveLoop) {
  struct Size {
    int64_t batch, m, n, k;
  };
  const Size sizes[] = {{1, 100, 70, 300}, {1, 130, 400, 65}, {2, 64, 64, 64},
                        {1, 1, 1, 500},    {3, 50, 60, 40},   {1, 257, 17, 33}};
  const Layout layouts[] = {{"plain", false, false, false},
                            {"transposed a", true, false, false},
                            {"transposed b", false, true, false},
                            {"batch last", false, false, true}};
  for (DType dt : {f32, bf16, f16, f64, s32, s8, u16, s64}) {
    for (const Size& s : sizes) {
      for (const Layout& l : layouts) {
        SCOPED_TRACE(std::string(dtype_name(dt)) + " " + l.name + " b" + std::to_string(s.batch) +
                     " m" + std::to_string(s.m) + " n" + std::to_string(s.n) + " k" +
                     std::to_string(s.k));
        // a is [batch, m, k] (or [batch, k, m], or [m, k, batch]); b likewise.
        Shape as, bs;
        std::vector<int64_t> sa, sb;
        DotParams p;
        if (l.batch_last) {
          as = {s.m, s.k, s.batch}, bs = {s.k, s.n, s.batch};
          sa = {1, s.k * s.batch, s.batch}, sb = {1, s.n * s.batch, s.batch};
          p = DotParams{{1}, {2}, {0}, {2}};
        } else {
          as = l.transpose_a ? Shape{s.batch, s.k, s.m} : Shape{s.batch, s.m, s.k};
          bs = l.transpose_b ? Shape{s.batch, s.n, s.k} : Shape{s.batch, s.k, s.n};
          sa = l.transpose_a ? std::vector<int64_t>{s.m * s.k, 1, s.m}
                             : std::vector<int64_t>{s.m * s.k, s.k, 1};
          sb = l.transpose_b ? std::vector<int64_t>{s.k * s.n, 1, s.k}
                             : std::vector<int64_t>{s.k * s.n, s.n, 1};
          p = DotParams{{l.transpose_a ? 1 : 2}, {0}, {l.transpose_b ? 2 : 1}, {0}};
        }
        auto av = random_values(num_elements(as), dt, 1);
        auto bv = random_values(num_elements(bs), dt, 2);
        Tensor out = dot(make_tensor(av, as, dt), make_tensor(bv, bs, dt), p);
        ASSERT_EQ(out.shape(), (Shape{s.batch, s.m, s.n}));
        Naive want = naive(av, bv, s.batch, s.m, s.n, s.k, sa, sb);
        if (!is_float(dt)) {
          expect_close(out, wrapped(want.out, dt));
        } else {
          // Summation in f32 (f64 for f64): error up to about k roundings of the partial sums.
          double acc_u = dt == f64 ? unit_roundoff(f64) : unit_roundoff(f32);
          expect_close(out, want.out, want.scale, 2.0 * acc_u * static_cast<double>(s.k));
        }
      }
    }
  }
}

TEST(DotGeneral, RepeatedCallsReuseCachedPrimitive) {
  if (!cpu::dnnl_matmul_supports(f32)) GTEST_SKIP() << "oneDNN has no f32 matmul here";
  Tensor a = generated_input({150, 160}, 1, f32), b = generated_input({160, 170}, 2, f32);
  DotParams p{{1}, {}, {0}, {}};
  Tensor first = dot(a, b, p);
  size_t cached = cpu::dnnl_matmul_cache_size();
  EXPECT_GE(cached, 1u);
  Tensor second = dot(a, b, p);
  EXPECT_EQ(cpu::dnnl_matmul_cache_size(), cached);
  EXPECT_EQ(first.to_vector<float>(), second.to_vector<float>());
}

}  // namespace
}  // namespace nx
