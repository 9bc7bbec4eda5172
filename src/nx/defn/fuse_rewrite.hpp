// The rewrites fuse() runs before it clusters (step 0 of fuse.cpp's comment): sums taken
// through factors constant along their axes, reductions over more than one block of axes split
// in two, and cheap shared elementwise values recomputed for each reader. Each returns its
// input unchanged when nothing applies.
#pragma once

#include "graph.hpp"

namespace nx::detail {

/// sum(-a) = -sum(a), sum(a + a) = 2 sum(a), sum(a * c) = sum(a) * c for c constant over the
/// reduced axes (f32/f64 sums of at least kFuseRewriteElements elements).
Graph factor_sums(const Graph& g);
/// A reduction over axes that form more than one block (NCHW statistics over N, H, W) becomes
/// a reduction over its trailing block, which a cluster can end in, then one over the rest.
Graph split_reductions(const Graph& g);
/// An elementwise value computed by one operation from values that are read rather than
/// computed (x - mean), read by several fusible nodes, gets one copy per extra reader.
Graph rematerialize(const Graph& g);

/// Values smaller than this are left alone by the rewrites.
inline constexpr int64_t kFuseRewriteElements = int64_t(1) << 14;

}  // namespace nx::detail
