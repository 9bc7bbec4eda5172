// The pass pipeline: cleanup passes to a fixed point, then fusion, then a last sweep.
#include "passes.hpp"

#include <utility>

#include "graph_rewrite.hpp"

namespace nx::detail {

namespace {

// Rounds of the cleanup passes; each round that changes the graph enables the next (a folded
// constant makes an identity visible, a removed identity makes two nodes equal). Real graphs
// settle in two or three.
constexpr int kMaxRounds = 8;

}  // namespace

Graph optimize(const Graph& g, const PassObserver& observe) {
  auto note = [&](std::string_view name, const Graph& r) {
    if (observe) observe(name, r);
  };
  Graph cur = g;
  for (int round = 0; round < kMaxRounds; ++round) {
    Graph next = simplify(cur);
    note("simplify", next);
    next = fold_constants(next);
    note("fold_constants", next);
    next = eliminate_common_subexpressions(next);
    note("cse", next);
    next = eliminate_dead_code(next);
    note("dce", next);
    bool settled = graphs_equal(next, cur);
    cur = std::move(next);
    if (settled) break;
  }
  // After the cleanup: simplify would fold the transposes it inserts back into each other.
  cur = to_channels_last(cur);
  note("to_channels_last", cur);
  // Convolutions that took no epilogue may still absorb the transposes around them.
  cur = fuse_conv_layouts(fuse(cur));
  note("fuse", cur);
  cur = eliminate_dead_code(cur);
  note("dce", cur);
  return cur;
}

}  // namespace nx::detail
