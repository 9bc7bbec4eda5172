// QR against numpy.linalg.qr (sign-normalized; gen_window_index_refs.py) and the defining
// properties: Q R = x, Q orthonormal, R upper triangular with a non-negative diagonal.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "window_index_test_util.hpp"

namespace nx {
namespace {

using detail::bind;
using detail::Prim;
using detail::QrParams;
using namespace window_index_test;

struct QrCase {
  const char* name;
  Shape shape;  // [batch, m, n]
  bool complete;
  int64_t rank;
  std::vector<double> x, q, r;  // q, r: numpy's factors with R's diagonal made non-negative
};

#include "qr_test_data.inc"

double qr_tolerance(DType dt) {
  return dt == f64 ? 1e-12 : dt == f32 ? 2e-5 : dt == f16 ? 4e-3 : 3e-2;
}

/// Checks the factor properties of batch element b.
void check_properties(const std::vector<double>& x, const std::vector<double>& q,
                      const std::vector<double>& r, int64_t b, int64_t m, int64_t n, int64_t qc,
                      int64_t rr, double tol, const std::string& what) {
  const double* xb = x.data() + b * m * n;
  const double* qb = q.data() + b * m * qc;
  const double* rb = r.data() + b * rr * n;
  double scale = 1;
  for (int64_t i = 0; i < m * n; ++i) scale = std::max(scale, std::abs(xb[i]));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t l = 0; l < std::min(qc, rr); ++l) s += qb[i * qc + l] * rb[l * n + j];
      EXPECT_NEAR(s, xb[i * n + j], tol * scale * 4) << what << " Q R at " << i << "," << j;
    }
  }
  for (int64_t a = 0; a < qc; ++a) {
    for (int64_t c = 0; c < qc; ++c) {
      double s = 0;
      for (int64_t i = 0; i < m; ++i) s += qb[i * qc + a] * qb[i * qc + c];
      EXPECT_NEAR(s, a == c ? 1.0 : 0.0, tol * 4) << what << " Q^T Q at " << a << "," << c;
    }
  }
  for (int64_t i = 0; i < rr; ++i) {
    for (int64_t j = 0; j < std::min(i, n); ++j) {
      EXPECT_EQ(rb[i * n + j], 0.0) << what << " R below the diagonal at " << i << "," << j;
    }
    if (i < n) {
      EXPECT_GE(rb[i * n + i], 0.0) << what << " R diagonal " << i;
    }
  }
}

TEST(QrKernel, MatchesNumpyAndFactorProperties) {
  for (const QrCase& c : kQrCases) {
    const int64_t batch = c.shape[0], m = c.shape[1], n = c.shape[2], k = std::min(m, n);
    const int64_t qc = c.complete ? m : k, rr = c.complete ? m : k;
    for (DType dt : {f16, bf16, f32, f64}) {
      std::string what = std::string(c.name) + " " + std::string(dtype_name(dt));
      Tensor x = typed(c.x, c.shape, dt);
      std::vector<Tensor> out = bind(Prim::qr, {x}, QrParams{c.complete});
      ASSERT_EQ(out.size(), 2u);
      ASSERT_EQ(out[0].shape(), (Shape{batch, m, qc})) << what;
      ASSERT_EQ(out[1].shape(), (Shape{batch, rr, n})) << what;
      EXPECT_EQ(out[0].dtype(), dt);
      std::vector<double> q = out[0].to_vector<double>(), r = out[1].to_vector<double>();
      // The 16-bit dtypes round the input first: check them against their own input.
      std::vector<double> xin = x.to_vector<double>();
      double tol = qr_tolerance(dt);
      for (int64_t b = 0; b < batch; ++b) check_properties(xin, q, r, b, m, n, qc, rr, tol, what);
      if (dt != f32 && dt != f64) continue;
      // Unique parts agree with LAPACK: R's first `rank` rows and Q's first `rank` columns.
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t i = 0; i < c.rank; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            size_t at = static_cast<size_t>(b * rr * n + i * n + j);
            EXPECT_NEAR(r[at], c.r[at], 4 * tol * (1 + std::abs(c.r[at]))) << what << " R";
          }
        }
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < c.rank; ++j) {
            size_t at = static_cast<size_t>(b * m * qc + i * qc + j);
            EXPECT_NEAR(q[at], c.q[at], 4 * tol * (1 + std::abs(c.q[at]))) << what << " Q";
          }
        }
      }
    }
  }
}

TEST(QrKernel, LeadingBatchAxesAndEmptyMatrices) {
  Tensor x = typed({1, 2, 3, 4, 5, 6, 7, 8}, {2, 1, 2, 2}, f64);
  std::vector<Tensor> out = bind(Prim::qr, {x}, QrParams{});
  EXPECT_EQ(out[0].shape(), (Shape{2, 1, 2, 2}));
  EXPECT_EQ(out[1].shape(), (Shape{2, 1, 2, 2}));
  // [[1, 2], [3, 4]]: R[0][0] = sqrt(10).
  EXPECT_NEAR(out[1].to_vector<double>()[0], std::sqrt(10.0), 1e-14);

  std::vector<Tensor> e = bind(Prim::qr, {typed({}, {3, 0}, f32)}, QrParams{true});
  EXPECT_EQ(e[0].shape(), (Shape{3, 3}));
  EXPECT_EQ(e[1].shape(), (Shape{3, 0}));
  expect_values(e[0], {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, 0, "complete Q of a 3x0 matrix");
  std::vector<Tensor> r = bind(Prim::qr, {typed({}, {3, 0}, f32)}, QrParams{false});
  EXPECT_EQ(r[0].shape(), (Shape{3, 0}));
  EXPECT_EQ(r[1].shape(), (Shape{0, 0}));
  EXPECT_EQ(bind(Prim::qr, {typed({}, {0, 2, 2}, f32)}, QrParams{})[0].shape(), (Shape{0, 2, 2}));
}

TEST(QrKernel, ZeroAndNonFiniteInputDoNotCrash) {
  std::vector<Tensor> z = bind(Prim::qr, {typed({0, 0, 0, 0, 0, 0}, {3, 2}, f32)}, QrParams{});
  expect_values(z[1], {2, 2}, {0, 0, 0, 0}, 0, "R of zeros");
  expect_values(z[0], {3, 2}, {1, 0, 0, 1, 0, 0}, 0, "Q of zeros");
  std::vector<Tensor> n = bind(Prim::qr, {typed({kNaN, 2, 3, 4}, {2, 2}, f64)}, QrParams{});
  EXPECT_TRUE(std::isnan(n[1].to_vector<double>()[0]));
  std::vector<Tensor> big = bind(Prim::qr, {typed({3e200, 0, 4e200, 1}, {2, 2}, f64)}, QrParams{});
  EXPECT_NEAR(big[1].to_vector<double>()[0] / 5e200, 1.0, 1e-14);  // no overflow in the norm
}

TEST(QrKernel, LargeMatricesSpanSeveralReflectorBlocks) {
  // Shapes past the kernel's 32-reflector blocks: tall, wide, complete, and a batch.
  struct Case {
    Shape shape;
    bool complete;
    DType dt;
  };
  for (const Case& c : {Case{{300, 200}, false, f64}, Case{{70, 40}, true, f64},
                        Case{{40, 100}, false, f32}, Case{{3, 45, 45}, true, f32}}) {
    const int64_t r = static_cast<int64_t>(c.shape.size());
    const int64_t m = c.shape[r - 2], n = c.shape[r - 1], k = std::min(m, n);
    const int64_t batch = num_elements(c.shape) / (m * n);
    std::vector<double> v(static_cast<size_t>(num_elements(c.shape)));
    for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(static_cast<double>(i) * 0.37) + (i % 7);
    Tensor x = typed(v, c.shape, c.dt);
    std::vector<Tensor> out = bind(Prim::qr, {x}, QrParams{c.complete});
    const int64_t qc = c.complete ? m : k;
    std::vector<double> q = out[0].to_vector<double>(), rr = out[1].to_vector<double>();
    for (int64_t b = 0; b < batch; ++b) {
      check_properties(x.to_vector<double>(), q, rr, b, m, n, qc, qc, c.dt == f64 ? 1e-12 : 1e-5,
                       shape_repr(c.shape));
    }
  }
}

}  // namespace
}  // namespace nx
