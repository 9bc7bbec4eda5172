// The machinery under the contractions: the primitive cache, per-thread scratch memory, strided
// copies with conversion, and the gemm paths on strided views (checked against a naive loop).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "contract_test_util.hpp"
#include "nx/backends/cpu/contract_gemm.hpp"
#include "nx/backends/cpu/contract_pack.hpp"
#include "nx/backends/cpu/dnnl_common.hpp"
#include "nx/core/tensor_impl.hpp"

namespace nx {
namespace {

using cpu::dnnl_util::PrimitiveCache;
using cpu::dnnl_util::Scratch;

TEST(ContractCache, EvictsLeastRecentlyUsed) {
  PrimitiveCache<int> cache(2);
  int made = 0;
  auto make = [&](int v) {
    return [&made, v] {
      ++made;
      return std::make_shared<const int>(v);
    };
  };
  EXPECT_EQ(*cache.get({1}, make(1)), 1);
  EXPECT_EQ(*cache.get({2}, make(2)), 2);
  EXPECT_EQ(*cache.get({1}, make(-1)), 1);  // hit: refreshes {1}
  EXPECT_EQ(*cache.get({3}, make(3)), 3);   // evicts {2}, the least recently used
  EXPECT_EQ(made, 3);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(*cache.get({1}, make(-1)), 1);
  EXPECT_EQ(*cache.get({2}, make(22)), 22);  // made again
  EXPECT_EQ(made, 4);
}

TEST(ContractCache, RemembersFailures) {
  PrimitiveCache<int> cache(4);
  int made = 0;
  auto fail = [&] {
    ++made;
    return std::shared_ptr<const int>();
  };
  EXPECT_EQ(cache.get({7, 7}, fail), nullptr);
  EXPECT_EQ(cache.get({7, 7}, fail), nullptr);
  EXPECT_EQ(made, 1);
}

TEST(ContractCache, ConcurrentLookupsAgree) {
  PrimitiveCache<int64_t> cache(16);
  std::atomic<int> made{0};
  std::vector<std::thread> threads;
  std::atomic<bool> wrong{false};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        int64_t key = i % 8;
        auto v = cache.get({key}, [&] {
          ++made;
          return std::make_shared<const int64_t>(key * 10);
        });
        if (*v != key * 10) wrong = true;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(wrong);
  EXPECT_GE(made.load(), 8);
  EXPECT_LE(made.load(), 8 * 4);  // a race may create a value twice, never more per thread
  EXPECT_EQ(cache.size(), 8u);
}

TEST(ContractScratch, AlignedDistinctAndNested) {
  Scratch outer;
  auto* a = static_cast<unsigned char*>(outer.take(100));
  auto* b = static_cast<unsigned char*>(outer.take(1 << 22));  // larger than the arena yet
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  for (int i = 0; i < 100; ++i) a[i] = 1;
  for (int i = 0; i < (1 << 22); ++i) b[i] = 2;
  {
    Scratch inner;
    auto* c = static_cast<unsigned char*>(inner.take(256));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(c) % 64, 0u);
    for (int i = 0; i < 256; ++i) c[i] = 3;
  }
  EXPECT_EQ(a[99], 1);
  EXPECT_EQ(b[(1 << 22) - 1], 2);
}

TEST(ContractPack, StridedCopyTransposesAndConverts) {
  // A 2x3 f32 matrix read transposed ([3, 2] with strides {1, 3}).
  std::vector<float> src{1, 2, 3, 4, 5, 6};
  std::vector<int64_t> dims{3, 2}, strides{1, 3};
  std::vector<float> t(6);
  cpu::strided_copy(f32, f32, src.data(), dims, strides, t.data());
  EXPECT_EQ(t, (std::vector<float>{1, 4, 2, 5, 3, 6}));
  std::vector<bfloat16> b(6);
  cpu::strided_copy(f32, bf16, src.data(), dims, strides, b.data());
  std::vector<float> back(6);
  cpu::convert_copy(bf16, f32, b.data(), 6, back.data());
  EXPECT_EQ(back, t);
  std::vector<half> h{half(0.5f), half(-2.0f)};
  std::vector<float> hf(2);
  cpu::convert_copy(f16, f32, h.data(), 2, hf.data());
  EXPECT_EQ(hf, (std::vector<float>{0.5f, -2.0f}));
  EXPECT_THROW(cpu::convert_copy(f64, f32, src.data(), 1, hf.data()), Error);
}

// gemm on a view with every stride non-trivial: A read transposed, B with a column stride of 2,
// C written into every other row of a wider buffer. Both gemm (oneDNN for f32/bf16 once large)
// and our own loops must match a naive loop, and leave the gaps in C untouched.
TEST(ContractGemm, StridedViewsOnBothPaths) {
  for (DType dt : {f32, bf16, f16, f64, s32, u8}) {
    for (int64_t size : {5, 70}) {
      SCOPED_TRACE(std::string(dtype_name(dt)) + " " + std::to_string(size));
      int64_t batch = 2, m = size, n = size + 3, k = size + 1;
      cpu::GemmView g;
      g.batch = batch, g.m = m, g.n = n, g.k = k;
      g.a_sb = m * k, g.a_sm = 1, g.a_sk = m;          // A stored as [batch, k, m]
      g.b_sb = k * 2 * n, g.b_sk = 2 * n, g.b_sn = 2;  // B stored as [batch, k, 2n]
      g.c_sb = 2 * m * (n + 1), g.c_sm = 2 * (n + 1);  // C rows 2(n+1) apart
      auto av = contract_test::random_values(batch * m * k, dt, 5);
      auto bv = contract_test::random_values(batch * k * 2 * n, dt, 6);
      Tensor a = contract_test::make_tensor(av, {batch * m * k}, dt);
      Tensor b = contract_test::make_tensor(bv, {batch * k * 2 * n}, dt);
      // Gaps in C hold 7 and must keep it.
      std::vector<double> want(static_cast<size_t>(batch * g.c_sb), 7.0);
      std::vector<double> scale(want.size(), 1.0);
      for (int64_t bi = 0; bi < batch; ++bi)
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double s = 0, mag = 0;
            for (int64_t p = 0; p < k; ++p) {
              double t = av[bi * g.a_sb + i * g.a_sm + p * g.a_sk] *
                         bv[bi * g.b_sb + p * g.b_sk + j * g.b_sn];
              s += t, mag += std::abs(t);
            }
            want[bi * g.c_sb + i * g.c_sm + j] = s;
            scale[bi * g.c_sb + i * g.c_sm + j] = mag;
          }
      want = contract_test::wrapped(want, dt);
      double acc_u = contract_test::unit_roundoff(dt == f64 ? f64 : f32);
      double tol = 2.0 * static_cast<double>(k) * acc_u;
      for (bool own : {false, true}) {
        SCOPED_TRACE(own ? "own loops" : "gemm");
        Tensor c = contract_test::make_tensor(std::vector<double>(want.size(), 7.0),
                                              {static_cast<int64_t>(want.size())}, dt);
        void* out = detail::mutable_data(c);
        if (own) {
          cpu::own_gemm(dt, g, a.raw_data(), b.raw_data(), out);
        } else {
          cpu::gemm(dt, g, a.raw_data(), b.raw_data(), out);
        }
        contract_test::expect_close(c, want, scale, tol);
      }
    }
  }
}

}  // namespace
}  // namespace nx
