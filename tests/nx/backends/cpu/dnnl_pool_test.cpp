// The oneDNN pooling path of window_max, window_sum and window_scatter_max (dnnl_pool.cpp)
// against our own window kernels, on random operands full of ties, with padding, odd sizes,
// overlapping and gapped windows, in f32 and bf16; and the inputs it must hand back.
//
// Our kernels are reached by moving the pooled axes in front (x transposed to [spatial...,
// leading...]): the same windows in the same row-major order, but no longer a pooling over
// trailing axes, so oneDNN never sees them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nx/backends/cpu/dnnl_pool.hpp"
#include "nx/core/tensor_impl.hpp"
#include "nx/ops/shape.hpp"
#include "window_index_test_util.hpp"

namespace nx {
namespace {

using detail::bind1;
using detail::Ints;
using detail::Prim;
using detail::WindowParams;
using namespace window_index_test;

struct PoolCase {
  const char* name;
  Shape shape, window;
  Ints strides, lo, hi;
  bool onednn;  ///< whether oneDNN takes window_max in f32 (on a machine with its JIT kernel)
};

// clang-format off
const PoolCase kCases[] = {
  {"cnn 2x2/2",           {4, 32, 28, 28},   {1, 1, 2, 2},    {1, 1, 2, 2},    {0, 0, 0, 0},    {0, 0, 0, 0},    true},
  {"odd sizes, ragged",   {3, 5, 13, 11},    {1, 1, 3, 2},    {1, 1, 2, 1},    {0, 0, 1, 0},    {0, 0, 1, 1},    true},
  {"resnet 3x3/2 pad 1",  {2, 16, 15, 16},   {1, 1, 3, 3},    {1, 1, 2, 2},    {0, 0, 1, 1},    {0, 0, 1, 1},    true},
  {"stride 1 overlap",    {2, 8, 9, 10},     {1, 1, 3, 3},    {1, 1, 1, 1},    {0, 0, 2, 1},    {0, 0, 2, 1},    true},
  {"gaps, stride > win",  {2, 16, 11, 10},   {1, 1, 2, 2},    {1, 1, 3, 4},    {0, 0, 1, 0},    {0, 0, 0, 1},    true},
  {"3d",                  {2, 16, 5, 6, 7},  {1, 1, 2, 3, 2}, {1, 1, 1, 2, 2}, {0, 0, 1, 1, 0}, {0, 0, 0, 1, 1}, true},
  {"3d one axis left",    {1, 4, 4, 5, 6},   {1, 1, 2, 1, 3}, {1, 1, 2, 1, 3}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}, true},
  {"leading axes merged", {2, 3, 4, 10, 9},  {1, 1, 1, 3, 3}, {1, 1, 1, 2, 2}, {0, 0, 0, 1, 1}, {0, 0, 0, 1, 0}, true},
  {"rank 3",              {20, 9, 9},        {1, 2, 2},       {1, 2, 2},       {0, 0, 0},       {0, 1, 1},       true},
  {"1d",                  {2, 8, 17},        {1, 1, 3},       {1, 1, 2},       {0, 0, 1},       {0, 0, 1},       false},
  {"global 7x7",          {2, 16, 7, 7},     {1, 1, 7, 7},    {1, 1, 1, 1},    {0, 0, 0, 0},    {0, 0, 0, 0},    true},
  {"whole plane + pad",   {3, 16, 4, 4},     {1, 1, 4, 4},    {1, 1, 4, 4},    {0, 0, 2, 2},    {0, 0, 2, 2},    true},
};
// clang-format on

WindowParams params_of(const PoolCase& c) {
  Ints ones(c.shape.size(), 1);
  return WindowParams{c.window, c.strides, c.lo, c.hi, ones};
}

std::string label(const PoolCase& c, DType dt) {
  return std::string(c.name) + " " + std::string(dtype_name(dt));
}

// ---- our kernels, through the transposed layout ------------------------------------------------

/// The number of leading axes the window leaves alone.
size_t leading_axes(const WindowParams& p) {
  size_t lead = 0;
  while (lead < p.window.size() && p.window[lead] == 1 && p.strides[lead] == 1 &&
         p.pad_lo[lead] == 0 && p.pad_hi[lead] == 0) {
    ++lead;
  }
  return lead;
}

/// [spatial..., leading...]: moves the pooled axes in front.
Ints front_order(size_t rank, size_t lead) {
  Ints order;
  for (size_t a = lead; a < rank; ++a) order.push_back(static_cast<int64_t>(a));
  for (size_t a = 0; a < lead; ++a) order.push_back(static_cast<int64_t>(a));
  return order;
}

Ints inverse(const Ints& order) {
  Ints inv(order.size());
  for (size_t i = 0; i < order.size(); ++i) inv[static_cast<size_t>(order[i])] = int64_t(i);
  return inv;
}

WindowParams permuted(const WindowParams& p, const Ints& order) {
  WindowParams q;
  for (int64_t a : order) {
    size_t i = static_cast<size_t>(a);
    q.window.push_back(p.window[i]);
    q.strides.push_back(p.strides[i]);
    q.pad_lo.push_back(p.pad_lo[i]);
    q.pad_hi.push_back(p.pad_hi[i]);
    q.window_dilation.push_back(p.window_dilation[i]);
  }
  return q;
}

Tensor own_window(Prim prim, const Tensor& x, const WindowParams& p) {
  Ints order = front_order(p.window.size(), leading_axes(p));
  Tensor y = bind1(prim, {transpose(x, order)}, permuted(p, order));
  return transpose(y, inverse(order));
}

Tensor own_scatter(const Tensor& x, const Tensor& src, const Tensor& init, const WindowParams& p) {
  Ints order = front_order(p.window.size(), leading_axes(p));
  Tensor y = bind1(Prim::window_scatter_max, {transpose(x, order), transpose(src, order), init},
                   permuted(p, order));
  return transpose(y, inverse(order));
}

// ---- data and comparison ----------------------------------------------------------------------

/// Random values from a few levels (so that windows hold tied maxima), some of them zeros of
/// either sign.
std::vector<double> tied_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(-4, 4);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& d : v) {
    int l = level(rng);
    d = l == 0 && rng() % 2 ? -0.0 : 0.5 * l;
  }
  return v;
}

std::vector<double> normal_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& d : v) d = normal(rng);
  return v;
}

/// Equal element by element (NaN matches NaN; -0 matches +0), or within tol * (|want| + scale)
/// (scale: the size of the terms a sum cancelled).
void expect_same(const Tensor& got, const Tensor& want, double tol, const std::string& what,
                 double scale = 0) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  int reported = 0;
  for (size_t i = 0; i < g.size() && reported < 5; ++i) {
    bool ok = std::isnan(w[i])
                  ? std::isnan(g[i])
                  : g[i] == w[i] || std::abs(g[i] - w[i]) <= tol * (std::abs(w[i]) + scale);
    if (!ok) {
      ADD_FAILURE() << what << " at " << i << ": got " << g[i] << ", want " << w[i];
      ++reported;
    }
  }
}

/// The most windows that cover one operand element.
int64_t max_overlap(const WindowParams& p) {
  int64_t n = 1;
  for (size_t a = 0; a < p.window.size(); ++a) n *= (p.window[a] + p.strides[a] - 1) / p.strides[a];
  return n;
}

Shape window_shape(const Tensor& x, const WindowParams& p) {
  return bind1(Prim::window_max, {x}, p).shape();
}

/// Whether this machine has the oneDNN kernel the path needs (AVX-512): the CNN case decides.
bool have_onednn() {
  static const bool have = [] {
    const PoolCase& c = kCases[0];
    return cpu::dnnl_pool_prepare(cpu::PoolOp::Max, DType::F32, params_of(c), c.shape,
                                  {4, 32, 14, 14}) != nullptr;
  }();
  return have;
}

void expect_taken(cpu::PoolOp op, const PoolCase& c, DType dt, const Shape& out, bool want) {
  if (!have_onednn()) return;
  bool taken = cpu::dnnl_pool_prepare(op, dt, params_of(c), c.shape, out) != nullptr;
  EXPECT_EQ(taken, want) << label(c, dt) << " op " << static_cast<int>(op);
}

const DType kTypes[] = {DType::F32, DType::BF16};

// ---- the three ops ----------------------------------------------------------------------------

TEST(DnnlPool, WindowMaxIsOurs) {
  if (!have_onednn()) GTEST_LOG_(INFO) << "no oneDNN JIT pooling here: testing the fallback only";
  uint32_t seed = 1;
  for (const PoolCase& c : kCases) {
    for (DType dt : kTypes) {
      WindowParams p = params_of(c);
      Tensor x = typed(tied_values(num_elements(c.shape), seed++), c.shape, dt);
      Tensor y = bind1(Prim::window_max, {x}, p);
      expect_same(y, own_window(Prim::window_max, x, p), 0, label(c, dt));
      // bf16 goes wherever f32 goes.
      if (c.onednn) expect_taken(cpu::PoolOp::Max, c, dt, y.shape(), true);
      if (dt == DType::F32) expect_taken(cpu::PoolOp::Max, c, dt, y.shape(), c.onednn);
    }
  }
}

TEST(DnnlPool, WindowScatterMaxIsOurs) {
  uint32_t seed = 100;
  for (const PoolCase& c : kCases) {
    for (DType dt : kTypes) {
      WindowParams p = params_of(c);
      Tensor x = typed(tied_values(num_elements(c.shape), seed++), c.shape, dt);
      Shape out = window_shape(x, p);
      Tensor zero = typed({0.0}, {}, dt);
      // Small integers add exactly in any order: the selected positions must match exactly.
      Tensor ints = typed(tied_values(num_elements(out), seed++), out, dt);
      Tensor y = bind1(Prim::window_scatter_max, {x, ints, zero}, p);
      expect_same(y, own_scatter(x, ints, zero, p), 0, label(c, dt) + " integer source");
      // Arbitrary sources: where three or more windows overlap, oneDNN adds in another order.
      Tensor src = typed(normal_values(num_elements(out), seed++), out, dt);
      double tol = max_overlap(p) <= 2 ? 0 : dt == DType::F32 ? 1e-6 : 8e-3;
      y = bind1(Prim::window_scatter_max, {x, src, zero}, p);
      expect_same(y, own_scatter(x, src, zero, p), tol, label(c, dt) + " normal source",
                  double(max_overlap(p)));
      if (c.onednn) expect_taken(cpu::PoolOp::ScatterMax, c, dt, out, true);
    }
  }
}

TEST(DnnlPool, WindowSumIsOurs) {
  uint32_t seed = 200;
  for (const PoolCase& c : kCases) {
    for (DType dt : kTypes) {
      WindowParams p = params_of(c);
      int64_t k = num_elements(c.window);
      bool pow2 = (k & (k - 1)) == 0;
      // Small integers: every order of addition, and the scaling by a power of two, is exact.
      Tensor x = typed(tied_values(num_elements(c.shape), seed++), c.shape, dt);
      Tensor y = bind1(Prim::window_sum, {x}, p);
      expect_same(y, own_window(Prim::window_sum, x, p), 0, label(c, dt) + " integers");
      x = typed(normal_values(num_elements(c.shape), seed++), c.shape, dt);
      y = bind1(Prim::window_sum, {x}, p);
      expect_same(y, own_window(Prim::window_sum, x, p), dt == DType::F32 ? 1e-6 : 8e-3,
                  label(c, dt) + " normal", double(k));
      if (c.onednn) expect_taken(cpu::PoolOp::Sum, c, dt, y.shape(), pow2);
      if (!pow2) expect_taken(cpu::PoolOp::Sum, c, dt, y.shape(), false);
    }
  }
}

// window_sum of ones counts the operand elements in each window: exact for windows of any size
// (the ones oneDNN cannot scale exactly stay with our kernel).
TEST(DnnlPool, WindowSumCountsExactly) {
  for (const PoolCase& c : kCases) {
    WindowParams p = params_of(c);
    Tensor ones = typed(std::vector<double>(static_cast<size_t>(num_elements(c.shape)), 1.0),
                        c.shape, DType::F32);
    Tensor y = bind1(Prim::window_sum, {ones}, p);
    Tensor mask = typed(std::vector<double>(static_cast<size_t>(num_elements(c.shape)), 1.0),
                        c.shape, DType::F64);
    Tensor want = bind1(Prim::window_sum, {mask}, p);
    expect_same(y, typed(want.to_vector<double>(), want.shape(), DType::F32), 0, c.name);
  }
}

// ---- values and calls oneDNN must leave to our kernels ------------------------------------------

TEST(DnnlPool, UnorderedValuesFallBack) {
  const double kLowest = std::numeric_limits<float>::lowest();
  const double kSpecials[] = {kNaN, -kInf, kLowest, kInf};
  const PoolCase& c = kCases[2];  // padded, overlapping
  WindowParams p = params_of(c);
  uint32_t seed = 300;
  for (DType dt : kTypes) {
    for (double special : kSpecials) {
      if (dt == DType::BF16 && special == kLowest) continue;  // not a bf16 value
      std::string what = label(c, dt) + " with " + std::to_string(special);
      // A few specials among ordinary values, and whole planes of them (windows whose every
      // element, padding aside, is the special).
      std::vector<double> v = tied_values(num_elements(c.shape), seed++);
      for (size_t i = 0; i < v.size(); i += 37) v[i] = special;
      int64_t plane = c.shape[2] * c.shape[3];
      std::fill(v.begin() + plane, v.begin() + 2 * plane, special);
      Tensor x = typed(v, c.shape, dt);
      Tensor y = bind1(Prim::window_max, {x}, p);
      expect_same(y, own_window(Prim::window_max, x, p), 0, what + " max");
      Shape out = y.shape();
      Tensor src = typed(tied_values(num_elements(out), seed++), out, dt);
      Tensor zero = typed({0.0}, {}, dt);
      expect_same(bind1(Prim::window_scatter_max, {x, src, zero}, p), own_scatter(x, src, zero, p),
                  0, what + " scatter");
      // The path itself declines (+inf is ordered: it stays on oneDNN).
      auto pool = cpu::dnnl_pool_prepare(cpu::PoolOp::Max, dt, p, c.shape, out);
      if (pool) {
        Tensor dst = detail::make_tensor(y.type());
        std::vector<std::byte> scratch(cpu::dnnl_pool_scratch_bytes(*pool) + 64);
        void* aligned =
            reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(scratch.data()) + 63) / 64 * 64);
        bool ran = cpu::dnnl_pool_execute(*pool, x.raw_data(), nullptr, detail::mutable_data(dst),
                                          aligned);
        EXPECT_EQ(ran, special == kInf) << what;
        if (ran) expect_same(dst, y, 0, what + " direct");
      }
    }
  }
}

TEST(DnnlPool, ScatterInitOtherThanPositiveZeroFallsBack) {
  const PoolCase& c = kCases[1];
  WindowParams p = params_of(c);
  for (DType dt : kTypes) {
    Tensor x = typed(tied_values(num_elements(c.shape), 400), c.shape, dt);
    Shape out = window_shape(x, p);
    Tensor src = typed(normal_values(num_elements(out), 401), out, dt);
    for (double init : {1.0, -0.0, 0.0}) {
      Tensor t = typed({init}, {}, dt);
      std::vector<Tensor> in{x, src, t};
      Tensor y = detail::make_tensor(x.type());
      bool taken = cpu::dnnl_pool(cpu::PoolOp::ScatterMax, p, in, y);
      EXPECT_EQ(taken, have_onednn() && init == 0 && !std::signbit(init)) << init;
      Tensor got = bind1(Prim::window_scatter_max, {x, src, t}, p);
      // Four windows overlap here: sums of three or more sources may round differently.
      expect_same(got, own_scatter(x, src, t, p), dt == DType::F32 ? 1e-6 : 8e-3,
                  label(c, dt) + " init " + std::to_string(init), 4);
      // Elements no window selects keep init, with its sign.
      std::vector<double> g = got.to_vector<double>();
      std::vector<double> w = own_scatter(x, src, t, p).to_vector<double>();
      for (size_t i = 0; i < g.size(); ++i) {
        if (w[i] == 0) {
          EXPECT_EQ(std::signbit(g[i]), std::signbit(w[i])) << i;
        }
      }
    }
  }
}

TEST(DnnlPool, DeclinesWhatIsNotAPooling) {
  auto prepare = [](cpu::PoolOp op, DType dt, const Shape& in, const WindowParams& p) {
    Tensor x = typed(std::vector<double>(static_cast<size_t>(num_elements(in)), 0.0), in, dt);
    return cpu::dnnl_pool_prepare(op, dt, p, in, window_shape(x, p));
  };
  Shape nchw{2, 16, 8, 8};
  WindowParams pool{{1, 1, 2, 2}, {1, 1, 2, 2}, {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  if (have_onednn()) {
    EXPECT_NE(prepare(cpu::PoolOp::Max, DType::F32, nchw, pool), nullptr);
  }
  // Other dtypes.
  for (DType dt : {DType::F16, DType::F64, DType::S32}) {
    EXPECT_EQ(prepare(cpu::PoolOp::Max, dt, nchw, pool), nullptr) << dtype_name(dt);
  }
  // Window dilation.
  WindowParams dilated = pool;
  dilated.window_dilation = {1, 1, 2, 1};
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, nchw, dilated), nullptr);
  // A window over the channels; over the spatial axes of a channels-last layout.
  WindowParams channels = pool;
  channels.window = {1, 2, 2, 2};
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, nchw, channels), nullptr);
  WindowParams nhwc{{1, 2, 2, 1}, {1, 2, 2, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, {2, 8, 8, 16}, nhwc), nullptr);
  // Four spatial axes; fewer than 4 planes; a single spatial element.
  WindowParams four{
      {1, 2, 2, 2, 2}, {1, 2, 2, 2, 2}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {1, 1, 1, 1, 1}};
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, {16, 4, 4, 4, 4}, four), nullptr);
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, {1, 3, 8, 8}, pool), nullptr);
  WindowParams padded{{1, 1, 2, 2}, {1, 1, 1, 1}, {0, 0, 1, 1}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, {2, 16, 1, 1}, padded), nullptr);
  // Window sums that cannot be scaled back exactly.
  WindowParams three{{1, 1, 3, 3}, {1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  EXPECT_EQ(prepare(cpu::PoolOp::Sum, DType::F32, nchw, three), nullptr);
  // Windows made only of padding: oneDNN refuses them, our kernels give the identity.
  WindowParams outside{{1, 1, 2, 2}, {1, 1, 2, 2}, {0, 0, 2, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}};
  EXPECT_EQ(prepare(cpu::PoolOp::Max, DType::F32, nchw, outside), nullptr);
  Tensor x = typed(normal_values(num_elements(nchw), 500), nchw, DType::F32);
  Tensor y = bind1(Prim::window_max, {x}, outside);
  expect_same(y, own_window(Prim::window_max, x, outside), 0, "all-padding windows");
}

TEST(DnnlPool, PrimitivesAreCachedPerShape) {
  if (!have_onednn()) GTEST_SKIP() << "no oneDNN JIT pooling here";
  const PoolCase& c = kCases[3];
  WindowParams p = params_of(c);
  Tensor x = typed(normal_values(num_elements(c.shape), 600), c.shape, DType::F32);
  Tensor first = bind1(Prim::window_max, {x}, p);
  size_t cached = cpu::dnnl_pool_cache_size();
  Tensor again = bind1(Prim::window_max, {x}, p);
  EXPECT_EQ(cpu::dnnl_pool_cache_size(), cached);
  expect_same(again, first, 0, "cached");
}

// One primitive runs from several threads at once, each call on its own scratch.
TEST(DnnlPool, ConcurrentCalls) {
  const PoolCase& c = kCases[2];
  WindowParams p = params_of(c);
  Tensor x = typed(tied_values(num_elements(c.shape), 700), c.shape, DType::F32);
  Shape out = window_shape(x, p);
  Tensor src = typed(normal_values(num_elements(out), 701), out, DType::F32);
  Tensor zero = typed({0.0}, {}, DType::F32);
  Tensor want_max = own_window(Prim::window_max, x, p);
  Tensor want_scatter = bind1(Prim::window_scatter_max, {x, src, zero}, p);
  std::vector<Tensor> got(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      got[t] = t % 2 ? bind1(Prim::window_max, {x}, p)
                     : bind1(Prim::window_scatter_max, {x, src, zero}, p);
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t t = 0; t < got.size(); ++t) {
    expect_same(got[t], t % 2 ? want_max : want_scatter, 0, "thread " + std::to_string(t));
  }
}

}  // namespace
}  // namespace nx
