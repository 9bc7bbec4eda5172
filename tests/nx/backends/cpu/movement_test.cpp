// Movement kernels: hand-derived cases, then random shapes and params for every dtype against
// naive multi-index references (movement_test_util.hpp), large cases that take the tiled and
// parallel paths, and the shape rules' errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "movement_test_util.hpp"

namespace nx {
namespace {

using detail::bind1;
using detail::Prim;
using namespace movement_test;

Tensor s32s(std::vector<int32_t> v, Shape s) {
  return from_vector(v, s);
}
std::vector<int32_t> vals(const Tensor& t) {
  return t.to_vector<int32_t>();
}

// ---- naive references, straight from the definitions in params.hpp ---------------------------

std::vector<uint64_t> ref_broadcast(const std::vector<uint64_t>& x, const Shape& in,
                                    const Shape& out, const Axes& axes) {
  std::vector<uint64_t> r(static_cast<size_t>(num_elements(out)));
  for_each_index(out, [&](const std::vector<int64_t>& o, int64_t flat) {
    std::vector<int64_t> i(in.size());
    for (size_t k = 0; k < in.size(); ++k) i[k] = in[k] == 1 ? 0 : o[axes[k]];
    r[flat] = x[flat_of(in, i)];
  });
  return r;
}

std::vector<uint64_t> ref_transpose(const std::vector<uint64_t>& x, const Shape& in,
                                    const Axes& perm, Shape* out_shape) {
  Shape out(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) out[k] = in[perm[k]];
  std::vector<uint64_t> r(static_cast<size_t>(num_elements(out)));
  for_each_index(out, [&](const std::vector<int64_t>& o, int64_t flat) {
    std::vector<int64_t> i(in.size());
    for (size_t k = 0; k < perm.size(); ++k) i[perm[k]] = o[k];
    r[flat] = x[flat_of(in, i)];
  });
  *out_shape = out;
  return r;
}

std::vector<uint64_t> ref_pad(const std::vector<uint64_t>& x, const Shape& in,
                              const detail::PadParams& p, uint64_t value, Shape* out_shape) {
  Shape out(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    int64_t dil = in[k] == 0 ? 0 : in[k] + (in[k] - 1) * p.interior[k];
    out[k] = p.lo[k] + dil + p.hi[k];
  }
  std::vector<uint64_t> r(static_cast<size_t>(num_elements(out)));
  for_each_index(out, [&](const std::vector<int64_t>& o, int64_t flat) {
    std::vector<int64_t> i(in.size());
    bool from_x = true;
    for (size_t k = 0; k < in.size(); ++k) {
      int64_t rel = o[k] - p.lo[k], step = p.interior[k] + 1;
      if (rel < 0 || rel % step != 0 || rel / step >= in[k])
        from_x = false;
      else
        i[k] = rel / step;
    }
    r[flat] = from_x ? x[flat_of(in, i)] : value;
  });
  *out_shape = out;
  return r;
}

// ---- broadcast_in_dim ------------------------------------------------------------------------

TEST(MovementBroadcast, HandDerived) {
  Tensor row = s32s({1, 2, 3}, {3});
  Tensor b = bind1(Prim::broadcast_in_dim, {row}, detail::BroadcastParams{{2, 3}, {1}});
  EXPECT_EQ(b.shape(), (Shape{2, 3}));
  EXPECT_EQ(vals(b), (std::vector<int32_t>{1, 2, 3, 1, 2, 3}));
  Tensor col = s32s({1, 2}, {2, 1});
  b = bind1(Prim::broadcast_in_dim, {col}, detail::BroadcastParams{{2, 3}, {0, 1}});
  EXPECT_EQ(vals(b), (std::vector<int32_t>{1, 1, 1, 2, 2, 2}));
  b = bind1(Prim::broadcast_in_dim, {s32s({7}, {})}, detail::BroadcastParams{{2, 2}, {}});
  EXPECT_EQ(vals(b), (std::vector<int32_t>{7, 7, 7, 7}));
  b = bind1(Prim::broadcast_in_dim, {s32s({7}, {1})}, detail::BroadcastParams{{0, 4}, {1}});
  EXPECT_EQ(b.shape(), (Shape{0, 4}));
  b = bind1(Prim::broadcast_in_dim, {s32s({5, 6}, {2})}, detail::BroadcastParams{{2, 3, 2}, {2}});
  EXPECT_EQ(vals(b), (std::vector<int32_t>{5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6}));
}

TEST(MovementBroadcast, RandomAgainstReference) {
  std::mt19937_64 rng(1);
  for (int it = 0; it < 150; ++it) {
    Shape out = random_shape(rng, 4, 4);
    Axes axes;
    for (int64_t k = 0; k < static_cast<int64_t>(out.size()); ++k)
      if (rng() % 2) axes.push_back(k);
    Shape in;
    for (int64_t a : axes) in.push_back(rng() % 3 == 0 ? 1 : out[a]);
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt);
    Tensor r =
        bind1(Prim::broadcast_in_dim, {from_ids(x, in, dt)}, detail::BroadcastParams{out, axes});
    ASSERT_EQ(r.shape(), out);
    EXPECT_EQ(to_ids(r), ref_broadcast(x, in, out, axes))
        << shape_repr(in) << " -> " << shape_repr(out) << " " << dtype_name(dt);
  }
}

TEST(MovementBroadcast, LargeRowsAndColumns) {
  for (DType dt : {DType::U8, DType::F16, DType::F32, DType::F64}) {
    auto x = ids(700, dt);
    Tensor row = from_ids(x, {700}, dt), col = from_ids(x, {700, 1}, dt);
    Tensor a = bind1(Prim::broadcast_in_dim, {row}, detail::BroadcastParams{{300, 700}, {1}});
    EXPECT_EQ(to_ids(a), ref_broadcast(x, {700}, {300, 700}, {1}));
    Tensor b = bind1(Prim::broadcast_in_dim, {col}, detail::BroadcastParams{{700, 300}, {0, 1}});
    EXPECT_EQ(to_ids(b), ref_broadcast(x, {700, 1}, {700, 300}, {0, 1}));
  }
}

// ---- reshape -----------------------------------------------------------------------------------

TEST(MovementReshape, IsAViewOfTheSameBuffer) {
  Tensor x = s32s({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor r = bind1(Prim::reshape, {x}, detail::ReshapeParams{{3, 1, 2}});
  EXPECT_EQ(r.shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(r.dtype(), DType::S32);
  EXPECT_EQ(r.raw_data(), x.raw_data());
  EXPECT_EQ(vals(r), vals(x));
  Tensor s = bind1(Prim::reshape, {s32s({9}, {1, 1})}, detail::ReshapeParams{{}});
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.item<int32_t>(), 9);
  Tensor e = bind1(Prim::reshape, {from_vector(std::vector<float>{}, Shape{0, 3})},
                   detail::ReshapeParams{{3, 0}});
  EXPECT_EQ(e.shape(), (Shape{3, 0}));
}

// ---- transpose ---------------------------------------------------------------------------------

TEST(MovementTranspose, HandDerived) {
  Tensor x = s32s({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor t = bind1(Prim::transpose, {x}, detail::AxesParams{{1, 0}});
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(vals(t), (std::vector<int32_t>{1, 4, 2, 5, 3, 6}));
  Tensor y = s32s({0, 1, 2, 3, 4, 5, 6, 7}, {2, 2, 2});
  t = bind1(Prim::transpose, {y}, detail::AxesParams{{2, 0, 1}});
  EXPECT_EQ(vals(t), (std::vector<int32_t>{0, 2, 4, 6, 1, 3, 5, 7}));
  t = bind1(Prim::transpose, {s32s({4}, {})}, detail::AxesParams{{}});
  EXPECT_EQ(vals(t), (std::vector<int32_t>{4}));
}

TEST(MovementTranspose, RandomAgainstReference) {
  std::mt19937_64 rng(2);
  for (int it = 0; it < 200; ++it) {
    Shape in = random_shape(rng, 5, 5);
    Axes perm(in.size());
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt);
    Shape out;
    auto want = ref_transpose(x, in, perm, &out);
    Tensor r = bind1(Prim::transpose, {from_ids(x, in, dt)}, detail::AxesParams{perm});
    ASSERT_EQ(r.shape(), out);
    EXPECT_EQ(to_ids(r), want) << shape_repr(in) << " perm " << shape_repr(perm);
  }
}

// Sizes that are not multiples of the tiles, batched and general permutations, every width:
// these take the tiled and the parallel paths.
TEST(MovementTranspose, LargeTiledCases) {
  struct Case {
    Shape in;
    Axes perm;
  };
  std::vector<Case> cases = {{{301, 517}, {1, 0}},
                             {{3, 130, 270}, {0, 2, 1}},
                             {{40, 50, 61}, {2, 0, 1}},
                             {{40, 50, 61}, {1, 2, 0}},
                             {{7, 1, 300, 5}, {3, 2, 1, 0}},
                             {{2, 65, 3, 129}, {0, 3, 2, 1}},
                             {{1024, 1}, {1, 0}},
                             {{5, 2000}, {1, 0}}};
  for (const Case& c : cases) {
    for (DType dt : {DType::U8, DType::BF16, DType::F32, DType::S64}) {
      auto x = ids(num_elements(c.in), dt);
      Shape out;
      auto want = ref_transpose(x, c.in, c.perm, &out);
      Tensor r = bind1(Prim::transpose, {from_ids(x, c.in, dt)}, detail::AxesParams{c.perm});
      EXPECT_EQ(to_ids(r), want) << shape_repr(c.in) << " " << dtype_name(dt);
    }
  }
}

// ---- slice and reverse -------------------------------------------------------------------------

TEST(MovementSlice, HandDerived) {
  Tensor x = s32s({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  Tensor s = bind1(Prim::slice, {x}, detail::SliceParams{{1, 0}, {3, 4}, {1, 2}});
  EXPECT_EQ(s.shape(), (Shape{2, 2}));
  EXPECT_EQ(vals(s), (std::vector<int32_t>{4, 6, 8, 10}));
  s = bind1(Prim::slice, {x}, detail::SliceParams{{0, 1}, {3, 4}, {2, 3}});
  EXPECT_EQ(vals(s), (std::vector<int32_t>{1, 9}));
  s = bind1(Prim::slice, {x}, detail::SliceParams{{2, 2}, {2, 4}, {1, 1}});
  EXPECT_EQ(s.shape(), (Shape{0, 2}));
}

TEST(MovementSlice, RandomAgainstReference) {
  std::mt19937_64 rng(3);
  for (int it = 0; it < 150; ++it) {
    Shape in = random_shape(rng, 4, 6);
    detail::SliceParams p;
    Shape out;
    for (int64_t d : in) {
      int64_t a = static_cast<int64_t>(rng() % static_cast<uint64_t>(d + 1));
      int64_t b = a + static_cast<int64_t>(rng() % static_cast<uint64_t>(d - a + 1));
      int64_t st = 1 + static_cast<int64_t>(rng() % 3);
      p.start.push_back(a), p.limit.push_back(b), p.strides.push_back(st);
      out.push_back((b - a + st - 1) / st);
    }
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt);
    std::vector<uint64_t> want(static_cast<size_t>(num_elements(out)));
    for_each_index(out, [&](const std::vector<int64_t>& o, int64_t flat) {
      std::vector<int64_t> i(in.size());
      for (size_t k = 0; k < in.size(); ++k) i[k] = p.start[k] + o[k] * p.strides[k];
      want[flat] = x[flat_of(in, i)];
    });
    Tensor r = bind1(Prim::slice, {from_ids(x, in, dt)}, p);
    ASSERT_EQ(r.shape(), out);
    EXPECT_EQ(to_ids(r), want) << shape_repr(in);
  }
}

TEST(MovementReverse, HandDerived) {
  Tensor x = s32s({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(vals(bind1(Prim::reverse, {x}, detail::AxesParams{{1}})),
            (std::vector<int32_t>{3, 2, 1, 6, 5, 4}));
  EXPECT_EQ(vals(bind1(Prim::reverse, {x}, detail::AxesParams{{0}})),
            (std::vector<int32_t>{4, 5, 6, 1, 2, 3}));
  EXPECT_EQ(vals(bind1(Prim::reverse, {x}, detail::AxesParams{{0, 1}})),
            (std::vector<int32_t>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(vals(bind1(Prim::reverse, {x}, detail::AxesParams{{}})), vals(x));
  EXPECT_EQ(bind1(Prim::reverse, {s32s({}, {0, 3})}, detail::AxesParams{{0, 1}}).shape(),
            (Shape{0, 3}));
}

TEST(MovementReverse, RandomAgainstReference) {
  std::mt19937_64 rng(4);
  for (int it = 0; it < 150; ++it) {
    Shape in = random_shape(rng, 5, 5);
    if (it % 10 == 0) in = {3, 70000 + it};  // large enough to run in parallel
    Axes axes;
    for (int64_t k = 0; k < static_cast<int64_t>(in.size()); ++k)
      if (rng() % 2) axes.push_back(k);
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt);
    std::vector<uint64_t> want(x.size());
    for_each_index(in, [&](const std::vector<int64_t>& o, int64_t flat) {
      std::vector<int64_t> i = o;
      for (int64_t a : axes) i[a] = in[a] - 1 - o[a];
      want[flat] = x[flat_of(in, i)];
    });
    Tensor r = bind1(Prim::reverse, {from_ids(x, in, dt)}, detail::AxesParams{axes});
    EXPECT_EQ(to_ids(r), want) << shape_repr(in) << " axes " << shape_repr(axes);
  }
}

// ---- pad ---------------------------------------------------------------------------------------

TEST(MovementPad, HandDerived) {
  Tensor x = s32s({1, 2, 3}, {3});
  Tensor z = s32s({0}, {});
  auto pad = [&](const Tensor& t, detail::PadParams p) {
    return vals(bind1(Prim::pad, {t, z}, p));
  };
  EXPECT_EQ(pad(x, {{2}, {1}, {0}}), (std::vector<int32_t>{0, 0, 1, 2, 3, 0}));
  EXPECT_EQ(pad(x, {{0}, {0}, {2}}), (std::vector<int32_t>{1, 0, 0, 2, 0, 0, 3}));
  EXPECT_EQ(pad(x, {{-1}, {0}, {0}}), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(pad(x, {{-1}, {-1}, {1}}), (std::vector<int32_t>{0, 2, 0}));
  EXPECT_EQ(pad(x, {{-3}, {1}, {0}}), (std::vector<int32_t>{0}));
  EXPECT_EQ(pad(x, {{1}, {-3}, {0}}), (std::vector<int32_t>{0}));
  EXPECT_EQ(pad(x, {{-2}, {-1}, {0}}), (std::vector<int32_t>{}));
  Tensor m = s32s({1, 2, 3, 4}, {2, 2});
  Tensor nine = s32s({9}, {});
  EXPECT_EQ(vals(bind1(Prim::pad, {m, nine}, detail::PadParams{{1, 0}, {0, -1}, {1, 1}})),
            (std::vector<int32_t>{9, 9, 1, 9, 9, 9, 3, 9}));
  EXPECT_EQ(vals(bind1(Prim::pad, {s32s({5}, {}), nine}, detail::PadParams{{}, {}, {}})),
            (std::vector<int32_t>{5}));
  EXPECT_EQ(vals(bind1(Prim::pad, {s32s({}, {0}), nine}, detail::PadParams{{1}, {1}, {3}})),
            (std::vector<int32_t>{9, 9}));
}

TEST(MovementPad, RandomAgainstReference) {
  std::mt19937_64 rng(5);
  for (int it = 0; it < 200; ++it) {
    Shape in = random_shape(rng, 4, 5);
    if (it % 20 == 0) in = {300, 257};  // parallel rows
    detail::PadParams p;
    for (int64_t d : in) {
      int64_t interior = static_cast<int64_t>(rng() % 3);
      int64_t dil = d == 0 ? 0 : d + (d - 1) * interior;
      int64_t lo = static_cast<int64_t>(rng() % 7) - 3, hi = static_cast<int64_t>(rng() % 7) - 3;
      if (lo + dil + hi < 0) lo = -dil - hi;  // keep the output size >= 0
      p.lo.push_back(lo), p.hi.push_back(hi), p.interior.push_back(interior);
    }
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    auto x = ids(num_elements(in), dt);
    uint64_t value = fit(id_of(-1), dt);
    Shape out;
    auto want = ref_pad(x, in, p, value, &out);
    Tensor r = bind1(Prim::pad, {from_ids(x, in, dt), from_ids({value}, {}, dt)}, p);
    ASSERT_EQ(r.shape(), out);
    EXPECT_EQ(to_ids(r), want) << shape_repr(in) << " lo " << shape_repr(p.lo) << " hi "
                               << shape_repr(p.hi) << " interior " << shape_repr(p.interior);
  }
}

// ---- concatenate -------------------------------------------------------------------------------

TEST(MovementConcatenate, HandDerived) {
  Tensor a = s32s({1, 2, 3, 4}, {2, 2}), b = s32s({5, 6}, {2, 1}), e = s32s({}, {2, 0});
  Tensor c = bind1(Prim::concatenate, {a, e, b}, detail::ConcatParams{1});
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(vals(c), (std::vector<int32_t>{1, 2, 5, 3, 4, 6}));
  c = bind1(Prim::concatenate, {a, s32s({7, 8}, {1, 2})}, detail::ConcatParams{0});
  EXPECT_EQ(vals(c), (std::vector<int32_t>{1, 2, 3, 4, 7, 8}));
  c = bind1(Prim::concatenate, {a}, detail::ConcatParams{0});
  EXPECT_EQ(vals(c), vals(a));
}

TEST(MovementConcatenate, RandomAgainstReference) {
  std::mt19937_64 rng(6);
  for (int it = 0; it < 100; ++it) {
    Shape base = random_shape(rng, 4, 4);
    if (base.empty()) base = {3};
    int64_t axis = static_cast<int64_t>(rng() % base.size());
    DType dt = kAllDTypes[rng() % kAllDTypes.size()];
    int parts = 1 + static_cast<int>(rng() % 4);
    std::vector<Tensor> in;
    std::vector<std::vector<uint64_t>> xs;
    std::vector<Shape> shapes;
    Shape out = base;
    out[axis] = 0;
    for (int k = 0; k < parts; ++k) {
      Shape s = base;
      s[axis] = static_cast<int64_t>(rng() % 4);
      if (it % 25 == 0) s[axis] = 20000;  // large enough to run in parallel
      xs.push_back(ids(num_elements(s), dt, k));
      shapes.push_back(s);
      in.push_back(from_ids(xs.back(), s, dt));
      out[axis] += s[axis];
    }
    std::vector<uint64_t> want(static_cast<size_t>(num_elements(out)));
    for_each_index(out, [&](const std::vector<int64_t>& o, int64_t flat) {
      std::vector<int64_t> i = o;
      size_t k = 0;
      while (i[axis] >= shapes[k][axis]) i[axis] -= shapes[k++][axis];
      want[flat] = xs[k][flat_of(shapes[k], i)];
    });
    Tensor r =
        detail::bind1(Prim::concatenate, std::span<const Tensor>(in), detail::ConcatParams{axis});
    ASSERT_EQ(r.shape(), out);
    EXPECT_EQ(to_ids(r), want) << shape_repr(out) << " axis " << axis;
  }
}

}  // namespace
}  // namespace nx
