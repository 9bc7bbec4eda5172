#include "reduce_plan.hpp"

#include <algorithm>

namespace nx::cpu {

ReducePlan make_reduce_plan(const Shape& shape, const Axes& axes) {
  ReducePlan plan;
  std::vector<int64_t> st = strides_of(shape);
  bool last_reduced = false;
  bool any = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool red = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(i));
    int64_t d = shape[i];
    if (red)
      plan.reduce_count *= d;
    else
      plan.out_size *= d;
    if (d == 1) continue;  // contributes nothing; its neighbours stay adjacent in memory
    std::vector<ReduceLoop>& loops = red ? plan.reduced : plan.kept;
    if (any && red == last_reduced) {
      // Same kind as the previous loop: the input is contiguous, so they merge exactly.
      loops.back().size *= d;
      loops.back().stride = st[i];
    } else {
      loops.push_back({d, st[i]});
    }
    any = true;
    last_reduced = red;
  }
  plan.inner_reduced = any && last_reduced;
  return plan;
}

}  // namespace nx::cpu
