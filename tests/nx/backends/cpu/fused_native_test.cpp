// The native kernels of elementwise programs (fused_native.hpp) against the interpreter they
// replace: every program runs with native code on and off, and the outputs must be the same bits
// (NaN payloads and signs, -0 and +0, denormals included), over domain sizes that exercise the
// masked tail, with uniforms in registers and in memory, and with outputs written over their
// inputs' buffers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "nx/backends/cpu/fused_native.hpp"
#include "nx/backends/cpu/fused_program.hpp"
#include "nx/core/tensor_impl.hpp"
#include "nx/defn.hpp"
#include "nx/defn/trace.hpp"
#include "nx/nx.hpp"

namespace nx::cpu::fused {
namespace {

using detail::Graph;

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("bmi2");
}

/// Restores native code (the default) when a test ends, also on failure.
struct NativeOn {
  ~NativeOn() { set_native_code(true); }
};

TensorType f32t(Shape s) {
  return TensorType{std::move(s), DType::F32};
}

Graph trace(const std::vector<TensorType>& types, const detail::TraceFn& f) {
  return *detail::trace_function(types, f).graph;
}

Tensor from_bits(const std::vector<uint32_t>& bits, const Shape& shape) {
  Tensor t = detail::make_tensor(f32t(shape));
  std::memcpy(detail::mutable_data(t), bits.data(), bits.size() * sizeof(uint32_t));
  return t;
}

/// The elements of t as unsigned integers of their width (1, 4 or 8 bytes).
std::vector<uint64_t> bits_of(const Tensor& t) {
  const auto n = static_cast<size_t>(num_elements(t.shape()));
  const size_t w = n == 0 ? 1 : static_cast<size_t>(t.byte_size()) / n;
  std::vector<uint64_t> b(n, 0);
  const auto* p = static_cast<const std::byte*>(t.raw_data());
  for (size_t i = 0; i < n; ++i) std::memcpy(&b[i], p + i * w, w);  // little-endian
  return b;
}

Tensor clone(const Tensor& t) {
  Tensor c = detail::make_tensor(t.type());
  std::memcpy(detail::mutable_data(c), t.raw_data(), static_cast<size_t>(t.byte_size()));
  return c;
}

/// Edge values: NaNs of both signs with distinct payloads (quiet and signaling), infinities,
/// zeros, denormals, extremes, and values that several inputs share (so that a == b, -0 == +0 and
/// NaN against NaN happen between operands).
const std::vector<uint32_t> kSpecials = {
    0x7FC00000u, 0xFFC00000u, 0x7FC12345u, 0xFFD00001u, 0x7FA00000u, 0xFF800001u,  // NaNs
    0x7F800000u, 0xFF800000u,                                                      // +-inf
    0x00000000u, 0x80000000u,                                                      // +-0
    0x00000001u, 0x807FFFFFu, 0x00400000u,                                         // denormals
    0x7F7FFFFFu, 0xFF7FFFFFu, 0x00800000u, 0x80800000u,  // largest, smallest normal
    0x3F800000u, 0xBF800000u, 0x40000000u, 0x3F000000u,  // 1, -1, 2, 0.5
};

/// n elements: a third specials, a third random magnitudes from 2^-140 to 2^120, a third normal.
Tensor edge_tensor(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t n = num_elements(shape);
  std::vector<uint32_t> b(static_cast<size_t>(n));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& x : b) {
    float f = 0;
    switch (rng() % 3) {
      case 0:
        x = kSpecials[rng() % kSpecials.size()];
        continue;
      case 1:
        f = std::ldexp(normal(rng), static_cast<int>(rng() % 260) - 140);
        break;
      default:
        f = normal(rng);
        break;
    }
    std::memcpy(&x, &f, sizeof(x));
  }
  return from_bits(b, shape);
}

std::vector<Tensor> edge_inputs(const Graph& g, uint32_t seed) {
  std::vector<Tensor> in;
  for (int32_t v : g.inputs) in.push_back(edge_tensor(g.type(v).shape, seed++));
  return in;
}

std::vector<Tensor> run(const Program& p, const Graph& g, const std::vector<Tensor>& in,
                        bool native) {
  NativeOn restore;
  set_native_code(native);
  std::vector<Tensor> out;
  for (int32_t v : g.outputs) out.push_back(detail::make_tensor(g.type(v)));
  run_program(p, in, out);
  return out;
}

void expect_same_bits(const std::vector<Tensor>& want, const std::vector<Tensor>& got,
                      const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t j = 0; j < want.size(); ++j) {
    ASSERT_EQ(want[j].type(), got[j].type()) << what;
    const std::vector<uint64_t> a = bits_of(want[j]), b = bits_of(got[j]);
    ASSERT_EQ(a.size(), b.size()) << what;
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i], b[i]) << what << ": output " << j << ", element " << i << " of " << a.size()
                            << std::hex << " (interpreter 0x" << a[i] << ", native 0x" << b[i]
                            << ")";
    }
  }
}

const std::vector<int64_t> kSizes = [] {
  std::vector<int64_t> s;
  for (int64_t n = 1; n <= 40; ++n) s.push_back(n);
  for (int64_t n : {255, 256, 257, 1000, 4099, 100352}) s.push_back(n);
  return s;
}();

/// A program over a domain of n elements.
using MakeGraph = std::function<Graph(int64_t n)>;

/// Compiles make(n) for every size and compares native code with the interpreter; `native`
/// says whether the program must have a kernel (on a CPU with AVX-512).
void check(const MakeGraph& make, bool native = true, uint32_t seed = 1) {
  for (int64_t n : kSizes) {
    const Graph g = make(n);
    std::unique_ptr<Program> p = compile_program(g);
    ASSERT_NE(p, nullptr) << "n = " << n;
    // One element is all uniform: the prologue computes everything, the kernel only stores.
    if (cpu_has_avx512() && n > 1) {
      ASSERT_EQ(p->native.fn != nullptr, native) << "n = " << n;
    }
    const std::vector<Tensor> in = edge_inputs(g, seed + static_cast<uint32_t>(n));
    expect_same_bits(run(*p, g, in, false), run(*p, g, in, true), "n = " + std::to_string(n));
  }
}

// ---- programs ----------------------------------------------------------------------------------

std::vector<Tensor> adam(std::span<const Tensor> a) {
  // grad, m, v, scale (scalar), lr (scalar), p: the program of the MLP's Adam step.
  Tensor m = 0.9 * a[1] + 0.1 * a[0];
  Tensor v = 0.999 * a[2] + 0.001 * (a[0] * a[0]);
  Tensor p = a[5] - a[4] * m / (nx::sqrt(v) / a[3] + 1e-8);
  return {m, v, p};
}

Graph adam_graph(int64_t n) {
  const TensorType t = f32t({n}), s = f32t({});
  return trace({t, t, t, s, s, t}, adam);
}

TEST(FusedNative, AdamUpdate) {
  check(adam_graph);
}

TEST(FusedNative, ArithmeticWithUniformsOnEitherSide) {
  check([](int64_t n) {
    const TensorType t = f32t({n}), s = f32t({});
    return trace({t, t, s}, [](std::span<const Tensor> a) -> std::vector<Tensor> {
      const Tensor &x = a[0], &y = a[1], &u = a[2];
      return {x + y, x - y,       x * y, x / y,      u - x,   x - u,       u / x,
              x / u, nx::sqrt(x), -x,    nx::abs(y), 2.5 - x, x * 0.3 + u, (y - u) / (x * x)};
    });
  });
}

TEST(FusedNative, MaxMinFollowTheFunctors) {
  check([](int64_t n) {
    const TensorType t = f32t({n}), s = f32t({});
    return trace({t, t, s}, [](std::span<const Tensor> a) -> std::vector<Tensor> {
      const Tensor &x = a[0], &y = a[1], &u = a[2];
      return {nx::max(x, y), nx::min(x, y), nx::max(y, x),   nx::min(y, x),
              nx::max(x, u), nx::min(u, x), nx::max(x, 0.0), nx::min(-0.0, y)};
    });
  });
}

TEST(FusedNative, ComparesFeedSelect) {
  check([](int64_t n) {
    const TensorType t = f32t({n}), s = f32t({});
    return trace({t, t, s}, [](std::span<const Tensor> a) -> std::vector<Tensor> {
      const Tensor &x = a[0], &g = a[1], &u = a[2];
      const Tensor zero(0.0f);
      return {nx::select(nx::greater(x, zero), g, zero),  // relu backward
              nx::select(nx::less(x, g), zero, g),         nx::select(nx::equal(x, g), x, g),
              nx::select(nx::not_equal(x, g), x * 2.0, g), nx::select(nx::less_equal(x, u), u, x),
              nx::select(nx::greater_equal(u, g), g, u)};
    });
  });
}

TEST(FusedNative, UniformsInMemoryWhenRegistersRunOut) {
  // 20 values alive at once and 20 scalars: the scalars stay in memory ({1to16} broadcasts).
  check([](int64_t n) {
    std::vector<TensorType> types(20, f32t({n}));
    types.resize(40, f32t({}));
    return trace(types, [](std::span<const Tensor> a) -> std::vector<Tensor> {
      std::vector<Tensor> y;
      for (size_t i = 0; i < 20; ++i) y.push_back(a[i] * a[20 + i]);
      Tensor sum = y[19];
      for (size_t i = 19; i-- > 0;) sum = sum + y[i];
      return {sum,
              a[20] - a[0],
              nx::max(a[21], a[1]),
              nx::min(a[2], a[22]),
              nx::select(nx::greater(a[3], a[23]), a[24], a[4]),
              nx::select(nx::greater(a[25], a[5]), a[6], a[26])};
    });
  });
}

TEST(FusedNative, OutputsAndCopiesOfInputs) {
  // An input returned as is, a scalar broadcast to the domain, the same value twice.
  check([](int64_t n) {
    const TensorType t = f32t({n}), s = f32t({});
    return trace({t, t, s}, [](std::span<const Tensor> a) -> std::vector<Tensor> {
      Tensor z = a[0] * a[1];
      return {a[1], nx::broadcast(a[2], {a[0].shape()[0]}), z, z};
    });
  });
}

TEST(FusedNative, TooManyRegistersFallsBack) {
  // 40 products alive at once need more than 30 zmm registers: the interpreter runs it.
  check(
      [](int64_t n) {
        std::vector<TensorType> types(40, f32t({n}));
        return trace(types, [](std::span<const Tensor> a) -> std::vector<Tensor> {
          std::vector<Tensor> y;
          for (const Tensor& x : a) y.push_back(x * x);
          Tensor sum = y.back();
          for (size_t i = y.size() - 1; i-- > 0;) sum = sum + y[i];
          return {sum};
        });
      },
      false);
}

TEST(FusedNative, UnsupportedOperationsFallBack) {
  const auto unary = [](Tensor (*f)(const Tensor&)) {
    return [f](int64_t n) {
      return trace({f32t({n}), f32t({n})}, [f](std::span<const Tensor> a) -> std::vector<Tensor> {
        return {f(a[0]) + a[1]};
      });
    };
  };
  check(unary(&nx::exp), false);
  check(unary(&nx::tanh), false);
  // A predicate output, and f64 arithmetic.
  check(
      [](int64_t n) {
        return trace({f32t({n}), f32t({n})}, [](std::span<const Tensor> a) -> std::vector<Tensor> {
          return {nx::greater(a[0], a[1]), a[0] + a[1]};
        });
      },
      false);
  check(
      [](int64_t n) {
        return trace({f32t({n}), f32t({n})}, [](std::span<const Tensor> a) -> std::vector<Tensor> {
          return {nx::as_type(nx::as_type(a[0], DType::F64) * 2.0, DType::F32) + a[1]};
        });
      },
      false);
}

TEST(FusedNative, OutputsOverTheirInputs) {
  // The Adam update in place: m, v and p written over the buffers they read (donation).
  for (int64_t n : {1, 15, 16, 17, 257, 4099, 100352}) {
    const Graph g = adam_graph(n);
    std::unique_ptr<Program> p = compile_program(g);
    ASSERT_NE(p, nullptr);
    const std::vector<Tensor> in = edge_inputs(g, 11);
    std::vector<std::vector<Tensor>> results;
    for (bool native : {false, true}) {
      NativeOn restore;
      set_native_code(native);
      std::vector<Tensor> args;
      for (const Tensor& t : in) args.push_back(clone(t));
      std::vector<Tensor> out = {args[1], args[2], args[5]};
      run_program(*p, args, out);
      EXPECT_EQ(out[0].raw_data(), args[1].raw_data());
      results.push_back(out);
    }
    expect_same_bits(results[0], results[1], "in place, n = " + std::to_string(n));
    // And the same as out of place.
    expect_same_bits(run(*p, g, in, false), results[1],
                     "in place vs not, n = " + std::to_string(n));
  }
}

TEST(FusedNative, IdenticalProgramsShareOneKernel) {
  if (!cpu_has_avx512()) GTEST_SKIP() << "no AVX-512";
  std::unique_ptr<Program> a = compile_program(adam_graph(1000));
  std::unique_ptr<Program> b = compile_program(adam_graph(5000));
  ASSERT_NE(a->native.fn, nullptr);
  EXPECT_EQ(a->native.fn, b->native.fn);
}

TEST(FusedNative, JitAdamStepWithDonationEqualsEager) {
  // An Adam-like update of a {784, 128} weight and a {128} bias, state donated and updated in
  // place, against the same function run eagerly.
  auto update = [](const Tree& p, const Tree& m, const Tree& v, const Tree& g, const Tensor& lr) {
    Tree m2 = tree_map(m, g, [](const Tensor& a, const Tensor& b) { return 0.9 * a + 0.1 * b; });
    Tree v2 = tree_map(
        v, g, [](const Tensor& a, const Tensor& b) { return 0.999 * a + 0.001 * (b * b); });
    Tree p2 = tree_map(p, m2, [&](const Tensor& w, const Tensor& mm) { return w - lr * mm; });
    p2 = tree_map(p2, v2,
                  [](const Tensor& w, const Tensor& vv) { return w / (nx::sqrt(vv) + 1e-8); });
    return Tree::list({p2, m2, v2});
  };
  auto tree_of = [](uint32_t seed) {
    return Tree{{"w", edge_tensor({784, 128}, seed)}, {"b", edge_tensor({128}, seed + 1)}};
  };
  const Tensor lr(0.001f);
  const Tree p0 = tree_of(1), m0 = tree_of(3), v0 = tree_of(5), g0 = tree_of(7);
  const Tree want = update(p0, m0, v0, g0, lr);
  auto step = nx::jit(update, JitOptions{.name = "adam", .donate = {0, 1, 2}});
  auto copy = [](const Tree& t) { return tree_map(t, [](const Tensor& x) { return clone(x); }); };
  for (int call = 0; call < 2; ++call) {  // the first call compiles, the second donates
    Tree p = copy(p0), m = copy(m0), v = copy(v0);
    const void* where = p["w"].leaf().raw_data();
    const Tree got = step(std::move(p), std::move(m), std::move(v), g0, lr);
    if (call == 1) {
      EXPECT_EQ(got[0]["w"].leaf().raw_data(), where);
    }
    for (size_t i = 0; i < 3; ++i) {
      for (const char* k : {"w", "b"}) {
        expect_same_bits(
            {want[i][k].leaf()}, {got[i][k].leaf()},
            "call " + std::to_string(call) + ", result " + std::to_string(i) + "." + k);
      }
    }
  }
}

}  // namespace
}  // namespace nx::cpu::fused
