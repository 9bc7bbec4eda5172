// Prepared kernels (prepared.hpp): what compiled code runs instead of the eager kernels. For every
// family prepare_kernel plans, the prepared kernel run on poisoned, reused scratch gives the
// eager kernel's bits; primitives whose kernels need no plan get none. Also the pieces plans are
// made of: parallel_chunks, the copy and broadcast plans.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>

#include "nx/backends/cpu/backend.hpp"
#include "nx/backends/cpu/elementwise.hpp"
#include "nx/backends/cpu/movement_copy.hpp"
#include "nx/backends/cpu/prepared.hpp"
#include "nx/core/tensor_impl.hpp"
#include "nx/nx.hpp"
#include "nx/random.hpp"

namespace nx {
namespace {

using detail::Params;
using detail::Prim;

Tensor uniform(const Shape& s, DType t = f32, uint32_t seed = 1) {
  return random::uniform(random::key(seed), s, {.min = -2, .max = 2, .dtype = t});
}
Tensor ints(const Shape& s, int64_t hi, uint32_t seed, DType t = s32) {
  return random::randint(random::key(seed), s, 0, hi, t);
}

std::vector<TensorType> types_of(const std::vector<Tensor>& ts) {
  std::vector<TensorType> out;
  for (const Tensor& t : ts) out.push_back(t.type());
  return out;
}

struct Case {
  std::string name;
  Prim prim;
  Params params;
  std::vector<Tensor> in;
};

std::vector<Case> planned_cases() {
  using namespace detail;
  Tensor x3 = uniform({5, 6, 7}, f32, 3);
  return {
      {"add, general broadcast", Prim::add, NoParams{}, {uniform({3, 1, 5}), uniform({1, 4, 1})}},
      {"less, general broadcast",
       Prim::less,
       NoParams{},
       {uniform({4, 1}), uniform({1, 6}, f32, 2)}},
      {"select, broadcast",
       Prim::select,
       NoParams{},
       {as_type(ints({1, 4, 1}, 2, 4), pred), uniform({3, 4, 5}), uniform({5}, f32, 2)}},
      {"reduce_sum, rows split", Prim::reduce_sum, AxesParams{{0}}, {uniform({100000, 3})}},
      {"reduce_sum, long run split", Prim::reduce_sum, AxesParams{{1}}, {uniform({2, 40000})}},
      {"reduce_sum, inner and outer", Prim::reduce_sum, AxesParams{{0, 2}}, {x3}},
      {"reduce_max", Prim::reduce_max, AxesParams{{1}}, {uniform({64, 300}, bf16)}},
      {"reduce_prod", Prim::reduce_prod, AxesParams{{0}}, {uniform({64, 300}, f64)}},
      {"reduce_and", Prim::reduce_and, AxesParams{{1}}, {ints({9, 33}, 3, 5)}},
      {"reduce_or", Prim::reduce_or, AxesParams{{0}}, {uniform({9, 33}, f16)}},
      {"transpose, tiled", Prim::transpose, AxesParams{{1, 0}}, {uniform({200, 130})}},
      {"transpose, rows", Prim::transpose, AxesParams{{2, 0, 1}}, {x3}},
      {"broadcast_in_dim", Prim::broadcast_in_dim, BroadcastParams{{4, 5, 6, 7}, {1, 2, 3}}, {x3}},
      {"slice", Prim::slice, SliceParams{{1, 0, 2}, {4, 6, 7}, {2, 3, 1}}, {x3}},
      {"reverse", Prim::reverse, AxesParams{{0, 2}}, {x3}},
      {"concatenate", Prim::concatenate, ConcatParams{1}, {x3, uniform({5, 2, 7}, f32, 4)}},
      {"pad", Prim::pad, PadParams{{1, 0, -2}, {2, 0, 1}, {1, 0, 2}}, {x3, scalar(0.5, f32)}},
      {"dynamic_slice",
       Prim::dynamic_slice,
       DynamicSliceParams{{2, 3, 4}},
       {x3, scalar(4, s32), scalar(-1, s32), scalar(2, s64)}},
      {"dynamic_update_slice",
       Prim::dynamic_update_slice,
       NoParams{},
       {x3, uniform({2, 3, 4}), scalar(1, s32), scalar(9, s32), scalar(0, u8)}},
      {"gather", Prim::gather, GatherParams{{0}}, {uniform({50, 8}), ints({30, 1}, 60, 6)}},
      {"scatter_add f16",
       Prim::scatter_add,
       GatherParams{{0}},
       {uniform({50, 8}, f16), ints({30, 1}, 50, 7), uniform({30, 8}, f16, 8)}},
      {"scatter_put",
       Prim::scatter_put,
       GatherParams{{1}},
       {uniform({8, 50}), ints({12, 1}, 50, 9), uniform({12, 8}, f32, 10)}},
      {"sort, radix", Prim::sort, SortParams{1, false}, {uniform({6, 3000})}},
      {"sort, merge", Prim::sort, SortParams{0, true}, {uniform({300, 7}, f64)}},
      {"qr", Prim::qr, QrParams{false}, {uniform({2, 40, 30})}},
      {"qr, complete", Prim::qr, QrParams{true}, {uniform({33, 20}, f64)}},
  };
}

TEST(CpuPrepared, EveryPlannedFamilyGivesTheEagerBitsOnReusedScratch) {
  for (const Case& c : planned_cases()) {
    SCOPED_TRACE(c.name);
    const std::vector<TensorType> out_types =
        detail::info(c.prim).rule(static_cast<int>(c.prim), c.in, c.params);
    const std::vector<Tensor> want = cpu::run(c.prim, c.in, c.params, out_types);
    const std::vector<TensorType> in_types = types_of(c.in);
    std::unique_ptr<cpu::PreparedKernel> k =
        cpu::prepare_kernel(c.prim, c.params, in_types, out_types);
    ASSERT_NE(k, nullptr);
    // Scratch as an arena leaves it: whatever another node wrote there. Guard bytes around it
    // catch a kernel writing past what it planned.
    constexpr size_t kGuard = 256;
    std::vector<std::byte> scratch(k->scratch_bytes() + 64 + 2 * kGuard, std::byte{0xCD});
    std::byte* s = scratch.data() + kGuard;
    s += (64 - reinterpret_cast<uintptr_t>(s) % 64) % 64;
    auto guards_intact = [&] {
      for (std::byte* p = scratch.data(); p < scratch.data() + scratch.size(); ++p) {
        if ((p < s || p >= s + k->scratch_bytes()) && *p != std::byte{0xCD}) return false;
      }
      return true;
    };
    for (int run = 0; run < 2; ++run) {
      std::vector<Tensor> out;
      for (const TensorType& t : out_types) out.push_back(detail::make_tensor(t));
      k->run(c.in, out, s);
      EXPECT_TRUE(guards_intact()) << "run " << run << " wrote outside its scratch";
      for (size_t i = 0; i < out.size(); ++i) {
        ASSERT_EQ(out[i].type(), want[i].type());
        EXPECT_EQ(std::memcmp(out[i].raw_data(), want[i].raw_data(),
                              static_cast<size_t>(want[i].byte_size())),
                  0)
            << "run " << run << ", output " << i;
      }
    }
  }
}

TEST(CpuPrepared, KernelsThatAllocateNothingGetNoPlan) {
  using namespace detail;
  const TensorType v{{4, 5}, f32};
  EXPECT_EQ(cpu::prepare_kernel(Prim::exp, NoParams{}, std::vector{v}, std::vector{v}), nullptr);
  EXPECT_EQ(cpu::prepare_kernel(Prim::convert, ConvertParams{f64}, std::vector{v},
                                std::vector{TensorType{{4, 5}, f64}}),
            nullptr);
  EXPECT_EQ(
      cpu::prepare_kernel(Prim::cumulative_sum, ScanParams{0}, std::vector{v}, std::vector{v}),
      nullptr);
  // Operands in step, or one a single value: the binary kernels' loops need no walk.
  EXPECT_EQ(cpu::prepare_kernel(Prim::add, NoParams{}, std::vector{v, v}, std::vector{v}), nullptr);
  EXPECT_EQ(cpu::prepare_kernel(Prim::add, NoParams{}, std::vector{v, TensorType{{1, 1}, f32}},
                                std::vector{v}),
            nullptr);
  EXPECT_EQ(cpu::prepare_kernel(Prim::reshape, ReshapeParams{{20}}, std::vector{v},
                                std::vector{TensorType{{20}, f32}}),
            nullptr);
}

TEST(CpuPrepared, ParallelChunksCoverTheRangeWithinTheirCap) {
  for (int64_t cap : {1, 2, 64}) {
    std::mutex m;
    std::set<int64_t> chunks;
    std::vector<int> seen(100000, 0);
    cpu::parallel_chunks(100000, 1000, cap, [&](int64_t c, int64_t b, int64_t e) {
      std::lock_guard<std::mutex> lock(m);
      EXPECT_TRUE(chunks.insert(c).second) << "chunk " << c << " twice";
      for (int64_t i = b; i < e; ++i) ++seen[static_cast<size_t>(i)];
    });
    EXPECT_LE(static_cast<int64_t>(chunks.size()), cap);
    EXPECT_LE(static_cast<int64_t>(chunks.size()), cpu::chunk_count(100000, 1000));
    for (int64_t c : chunks) EXPECT_LT(c, cap);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 100000);
  }
  // Below two grains: one chunk on the calling thread.
  EXPECT_EQ(cpu::chunk_count(1999, 1000), 1);
}

TEST(CpuPrepared, CopyPlansCollapseAndPickTheirPath) {
  // A contiguous [4, 5, 6] copy is one run.
  std::vector<cpu::CopyDim> plain = {{4, 30, 30}, {5, 6, 6}, {6, 1, 1}};
  cpu::CopyPlan p = cpu::plan_copy(4, plain);
  EXPECT_EQ(p.kind, cpu::CopyPlan::Kind::Rows);
  ASSERT_EQ(p.nd, 1u);
  EXPECT_EQ(p.dims[0].size, 120);
  // A transpose reads along the destination's outer loop.
  std::vector<cpu::CopyDim> t = {{8, 1, 16}, {16, 8, 1}};
  EXPECT_EQ(cpu::plan_copy(4, t).kind, cpu::CopyPlan::Kind::Transpose);
  // Size-1 loops vanish; an empty loop empties the copy.
  std::vector<cpu::CopyDim> ones = {{1, 5, 5}, {1, 1, 1}};
  EXPECT_EQ(cpu::plan_copy(2, ones).kind, cpu::CopyPlan::Kind::One);
  std::vector<cpu::CopyDim> none = {{3, 1, 1}, {0, 1, 1}};
  EXPECT_EQ(cpu::plan_copy(2, none).kind, cpu::CopyPlan::Kind::Empty);
}

TEST(CpuPrepared, BroadcastPlansMergeAxesBroadcastAlike) {
  // [2, 3, 4, 5] from [2, 3, 1, 1] and [1, 1, 4, 5]: two loops, each operand broadcast on one.
  const Shape a{2, 3, 1, 1}, b{1, 1, 4, 5}, out{2, 3, 4, 5};
  const Shape* shapes[2] = {&a, &b};
  const DType dtypes[2] = {f32, f32};
  cpu::ew::BroadcastPlan p = cpu::ew::plan_broadcast(shapes, dtypes, 2, out, f32);
  ASSERT_EQ(p.nd, 2u);
  EXPECT_EQ(p.dims[0], 6);
  EXPECT_EQ(p.dims[1], 20);
  EXPECT_EQ(p.strides[0 * 2 + 0], 1);  // loop 0: a steps, b is broadcast
  EXPECT_EQ(p.strides[0 * 2 + 1], 0);
  EXPECT_EQ(p.strides[1 * 2 + 0], 0);  // loop 1: the other way round
  EXPECT_EQ(p.strides[1 * 2 + 1], 1);
  EXPECT_EQ(p.inner, 20);
  // Size-1 output axes drop out; a rank-0 output is one element with no loops.
  const Shape s{}, one{1, 1};
  const Shape* scalars[2] = {&s, &one};
  cpu::ew::BroadcastPlan q = cpu::ew::plan_broadcast(scalars, dtypes, 2, one, f32);
  EXPECT_EQ(q.nd, 0u);
  EXPECT_EQ(q.n, 1);
}

}  // namespace
}  // namespace nx
