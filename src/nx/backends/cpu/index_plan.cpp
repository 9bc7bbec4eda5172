#include "index_plan.hpp"

#include <algorithm>
#include <type_traits>

#include "../../core/visit_dtype.hpp"
#include "parallel.hpp"

namespace nx::cpu {

namespace {

/// v clamped into [0, size - 1] (size >= 1), for any integer type.
template <class I>
int64_t clamp_index(I v, int64_t size) {
  if constexpr (std::is_signed_v<I>) {
    if (v < 0) return 0;
  }
  return static_cast<uint64_t>(v) >= static_cast<uint64_t>(size) ? size - 1
                                                                 : static_cast<int64_t>(v);
}

}  // namespace

IndexPlan make_index_plan(const Shape& x, const Shape& is, const Axes& axes) {
  IndexPlan p;
  p.rows = num_elements(Shape(is.begin(), is.end() - 1));
  std::vector<int64_t> stride = strides_of(x);
  std::vector<bool> indexed(x.size(), false);
  int64_t last_indexed = -1;
  for (int64_t a : axes) {
    indexed[static_cast<size_t>(a)] = true;
    last_indexed = std::max(last_indexed, a);
  }
  // Axes after the last indexed one form the contiguous run; the non-indexed axes before it
  // enumerate the runs.
  for (size_t a = static_cast<size_t>(last_indexed + 1); a < x.size(); ++a) p.inner *= x[a];
  std::vector<size_t> outer_axes;
  for (size_t a = 0; a < static_cast<size_t>(last_indexed + 1); ++a)
    if (!indexed[a]) outer_axes.push_back(a);
  p.outer.assign(1, 0);
  for (size_t a : outer_axes) {
    std::vector<int64_t> next;
    next.reserve(p.outer.size() * static_cast<size_t>(x[a]));
    for (int64_t off : p.outer)
      for (int64_t i = 0; i < x[a]; ++i) next.push_back(off + i * stride[a]);
    p.outer = std::move(next);
  }
  for (int64_t a : axes) {
    p.size.push_back(x[static_cast<size_t>(a)]);
    p.step.push_back(stride[static_cast<size_t>(a)]);
  }
  return p;
}

void index_bases(const IndexPlan& p, const Tensor& indices, int64_t* base) {
  const int64_t k = static_cast<int64_t>(p.size.size());
  if (k == 0) {
    std::fill_n(base, p.rows, int64_t{0});
    return;
  }
  if (p.rows == 0) return;
  const int64_t* size = p.size.data();
  const int64_t* step = p.step.data();
  detail::visit_dtype(indices.dtype(), [&](auto tag) {
    using I = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<I> && !std::is_same_v<I, bool>) {
      const I* idx = indices.data<I>();
      parallel_for(p.rows, kParallelGrain / k + 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          int64_t off = 0;
          for (int64_t j = 0; j < k; ++j) off += clamp_index(idx[r * k + j], size[j]) * step[j];
          base[r] = off;
        }
      });
    }
  });
}

}  // namespace nx::cpu
