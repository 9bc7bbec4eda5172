// dynamic_slice and dynamic_update_slice (clamped starts of every integer dtype), and the
// errors the movement shape rules raise for bad params.
#include <gtest/gtest.h>

#include <limits>

#include "movement_test_util.hpp"

namespace nx {
namespace {

using detail::bind1;
using detail::Prim;
using namespace movement_test;

const std::vector<DType> kIntDTypes = {DType::U8,  DType::S8,  DType::U16, DType::S16,
                                       DType::U32, DType::S32, DType::U64, DType::S64};

Tensor grid() {
  return from_vector(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Shape{3, 4});
}
std::vector<int32_t> vals(const Tensor& t) {
  return t.to_vector<int32_t>();
}

Tensor dslice(const Tensor& x, std::vector<Tensor> starts, Shape sizes) {
  starts.insert(starts.begin(), x);
  return detail::bind1(Prim::dynamic_slice, std::span<const Tensor>(starts),
                       detail::DynamicSliceParams{sizes});
}

Tensor dupdate(const Tensor& x, const Tensor& u, std::vector<Tensor> starts) {
  starts.insert(starts.begin(), {x, u});
  return detail::bind1(Prim::dynamic_update_slice, std::span<const Tensor>(starts));
}

TEST(MovementDynamicSlice, HandDerivedAndClamped) {
  Tensor x = grid();
  EXPECT_EQ(vals(dslice(x, {scalar_int(1, s32), scalar_int(1, s32)}, {2, 2})),
            (std::vector<int32_t>{5, 6, 9, 10}));
  // Starts clamp to [0, dim - size]: (-5, 100) acts as (0, 2).
  EXPECT_EQ(vals(dslice(x, {scalar_int(-5, s64), scalar_int(100, s8)}, {2, 2})),
            (std::vector<int32_t>{2, 3, 6, 7}));
  // A u64 start past the s64 range is "past the end" too.
  Tensor huge = from_vector(std::vector<uint64_t>{std::numeric_limits<uint64_t>::max()}, Shape{});
  EXPECT_EQ(vals(dslice(x, {huge, scalar_int(0, u8)}, {2, 1})), (std::vector<int32_t>{4, 8}));
  EXPECT_EQ(vals(dslice(x, {scalar_int(2, u16), scalar_int(3, s16)}, {0, 2})),
            (std::vector<int32_t>{}));
  EXPECT_EQ(vals(dslice(x, {scalar_int(-1, s8), scalar_int(7, u32)}, {3, 4})), vals(x));
  Tensor s = from_vector(std::vector<float>{2.5f}, Shape{});
  EXPECT_EQ(dslice(s, {}, {}).item<float>(), 2.5f);
}

TEST(MovementDynamicSlice, RandomAgainstReference) {
  std::mt19937_64 rng(7);
  for (int it = 0; it < 150; ++it) {
    Shape in = random_shape(rng, 4, 5);
    Shape sizes;
    std::vector<Tensor> starts;
    std::vector<int64_t> clamped;
    for (int64_t d : in) {
      int64_t size = static_cast<int64_t>(rng() % static_cast<uint64_t>(d + 1));
      int64_t start = static_cast<int64_t>(rng() % 11) - 4;
      DType sdt = kIntDTypes[rng() % kIntDTypes.size()];
      if (is_unsigned_int(sdt) && start < 0) start = -start;
      sizes.push_back(size);
      starts.push_back(scalar_int(start, sdt));
      clamped.push_back(std::clamp<int64_t>(start, 0, d - size));
    }
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt);
    std::vector<uint64_t> want(static_cast<size_t>(num_elements(sizes)));
    for_each_index(sizes, [&](const std::vector<int64_t>& o, int64_t flat) {
      std::vector<int64_t> i(in.size());
      for (size_t k = 0; k < in.size(); ++k) i[k] = clamped[k] + o[k];
      want[flat] = x[flat_of(in, i)];
    });
    Tensor r = dslice(from_ids(x, in, dt), starts, sizes);
    ASSERT_EQ(r.shape(), sizes);
    EXPECT_EQ(to_ids(r), want) << shape_repr(in) << " sizes " << shape_repr(sizes);
  }
}

TEST(MovementDynamicUpdateSlice, HandDerivedAndClamped) {
  Tensor x = grid();
  Tensor u = from_vector(std::vector<int32_t>{100, 101}, Shape{1, 2});
  EXPECT_EQ(vals(dupdate(x, u, {scalar_int(1, s32), scalar_int(1, s32)})),
            (std::vector<int32_t>{0, 1, 2, 3, 4, 100, 101, 7, 8, 9, 10, 11}));
  // (2, 3) clamps to (2, 2); (-4, -4) to (0, 0).
  EXPECT_EQ(vals(dupdate(x, u, {scalar_int(2, u8), scalar_int(3, s64)})),
            (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101}));
  EXPECT_EQ(vals(dupdate(x, u, {scalar_int(-4, s8), scalar_int(-4, s16)})),
            (std::vector<int32_t>{100, 101, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  Tensor empty = from_vector(std::vector<int32_t>{}, Shape{0, 2});
  EXPECT_EQ(vals(dupdate(x, empty, {scalar_int(1, s32), scalar_int(1, s32)})), vals(x));
  // The operand is not modified: tensors are values.
  EXPECT_EQ(vals(x), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  Tensor s = from_vector(std::vector<double>{1.0}, Shape{});
  Tensor t = from_vector(std::vector<double>{2.0}, Shape{});
  EXPECT_EQ(dupdate(s, t, {}).item<double>(), 2.0);
}

TEST(MovementDynamicUpdateSlice, RandomAgainstReference) {
  std::mt19937_64 rng(8);
  for (int it = 0; it < 150; ++it) {
    Shape in = random_shape(rng, 4, 5);
    if (it % 30 == 0) in = {200, 700};  // large enough to copy in parallel
    Shape us;
    std::vector<Tensor> starts;
    std::vector<int64_t> clamped;
    for (int64_t d : in) {
      int64_t size = static_cast<int64_t>(rng() % static_cast<uint64_t>(d + 1));
      int64_t start = static_cast<int64_t>(rng() % 11) - 4;
      DType sdt = kIntDTypes[rng() % kIntDTypes.size()];
      if (is_unsigned_int(sdt) && start < 0) start = -start;
      us.push_back(size);
      starts.push_back(scalar_int(start, sdt));
      clamped.push_back(std::clamp<int64_t>(start, 0, d - size));
    }
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt), u = ids(num_elements(us), dt, 1);
    std::vector<uint64_t> want = x;
    for_each_index(us, [&](const std::vector<int64_t>& o, int64_t flat) {
      std::vector<int64_t> i(in.size());
      for (size_t k = 0; k < in.size(); ++k) i[k] = clamped[k] + o[k];
      want[flat_of(in, i)] = u[flat];
    });
    Tensor r = dupdate(from_ids(x, in, dt), from_ids(u, us, dt), starts);
    ASSERT_EQ(r.shape(), in);
    EXPECT_EQ(to_ids(r), want) << shape_repr(in) << " update " << shape_repr(us);
  }
}

// ---- errors of the movement shape rules --------------------------------------------------------

TEST(MovementErrors, BadParamsNameTheOpAndTheProblem) {
  Tensor x = grid();
  Tensor f = from_vector(std::vector<float>{1, 2}, Shape{2});
  expect_error(
      [&] {
        bind1(Prim::broadcast_in_dim, {x}, detail::BroadcastParams{{3, 5}, {0, 1}});
      },
      {"nx::broadcast_in_dim", "cannot broadcast", "s32[3][4]", "{3, 5}"});
  expect_error(
      [&] {
        bind1(Prim::reshape, {x}, detail::ReshapeParams{{5, 2}});
      },
      {"nx::reshape", "cannot reshape", "12 elements", "10 elements"});
  expect_error(
      [&] {
        bind1(Prim::transpose, {x}, detail::AxesParams{{0, 0}});
      },
      {"nx::transpose", "not a permutation", "{0, 0}"});
  expect_error(
      [&] {
        bind1(Prim::slice, {x}, detail::SliceParams{{0, 2}, {3, 5}, {1, 1}});
      },
      {"nx::slice", "axis 1", "limit 5"});
  expect_error(
      [&] {
        bind1(Prim::slice, {x}, detail::SliceParams{{0}, {3}, {1}});
      },
      {"nx::slice", "one entry per axis (2), got 1"});
  expect_error(
      [&] {
        dslice(x, {scalar_int(0, s32), scalar(0.0, f32)}, {1, 1});
      },
      {"nx::dynamic_slice", "integer scalars", "f32"});
  expect_error(
      [&] {
        dslice(x, {scalar_int(0, s32)}, {1, 1});
      },
      {"nx::dynamic_slice", "one start index per axis (2), got 1"});
  expect_error(
      [&] {
        dslice(x, {scalar_int(0, s32), scalar_int(0, s32)}, {4, 1});
      },
      {"nx::dynamic_slice", "does not fit"});
  expect_error(
      [&] {
        dupdate(x, from_vector(std::vector<int32_t>(5), Shape{1, 5}),
                {scalar_int(0, s32), scalar_int(0, s32)});
      },
      {"nx::dynamic_update_slice", "does not fit"});
  expect_error(
      [&] {
        dupdate(x, from_vector(std::vector<float>(2), Shape{1, 2}),
                {scalar_int(0, s32), scalar_int(0, s32)});
      },
      {"nx::dynamic_update_slice", "one dtype", "f32"});
  Tensor zero = scalar_int(0, s32);
  expect_error(
      [&] {
        bind1(Prim::pad, {x, x}, detail::PadParams{{0, 0}, {0, 0}, {0, 0}});
      },
      {"nx::pad", "must be a scalar"});
  expect_error(
      [&] {
        bind1(Prim::pad, {x, zero}, detail::PadParams{{0, 0}, {0, 0}, {0, -1}});
      },
      {"nx::pad", "interior padding must be >= 0"});
  expect_error(
      [&] {
        bind1(Prim::pad, {x, zero}, detail::PadParams{{-2, 0}, {-2, 0}, {0, 0}});
      },
      {"nx::pad", "removes more than axis 0"});
  expect_error(
      [&] {
        bind1(Prim::pad, {f, zero}, detail::PadParams{{0}, {0}, {0}});
      },
      {"nx::pad", "one dtype"});
  expect_error(
      [&] {
        bind1(Prim::concatenate, {x, f}, detail::ConcatParams{0});
      },
      {"nx::concatenate", "one dtype"});
  expect_error(
      [&] {
        bind1(Prim::concatenate, {x, grid()}, detail::ConcatParams{2});
      },
      {"nx::concatenate", "axis 2 out of range"});
  expect_error(
      [&] {
        bind1(Prim::concatenate, {zero, zero}, detail::ConcatParams{0});
      },
      {"nx::concatenate", "cannot concatenate scalars"});
  Tensor y = from_vector(std::vector<int32_t>(6), Shape{2, 3});
  expect_error(
      [&] {
        bind1(Prim::concatenate, {x, y}, detail::ConcatParams{0});
      },
      {"nx::concatenate", "differ outside axis 0"});
  expect_error([&] { bind1(Prim::reverse, {x}, detail::AxesParams{{2}}); },
               {"nx::reverse", "axis 2 out of range for rank 2"});
  expect_error(
      [&] {
        bind1(Prim::reverse, {x}, detail::AxesParams{{1, 0}});
      },
      {"nx::reverse", "strictly increasing"});
}

}  // namespace
}  // namespace nx
