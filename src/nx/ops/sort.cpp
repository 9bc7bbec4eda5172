#include "nx/ops/sort.hpp"

#include <string>

#include "nx/ops/shape.hpp"
#include "promote.hpp"

namespace nx {

namespace {
std::vector<Tensor> sorted(const Tensor& x, const SortOptions& opts, const char* op) {
  detail::check_defined(x, op, "x");
  if (x.rank() == 0) throw Error(std::string(op) + ": cannot sort a scalar");
  int64_t axis = normalize_axis(opts.axis, x.rank(), op);
  Tensor in = x.dtype() == DType::Pred ? detail::cast(x, DType::U8) : x;
  std::vector<Tensor> out =
      detail::bind(detail::Prim::sort, {in}, detail::SortParams{axis, opts.descending});
  if (x.dtype() == DType::Pred) out[0] = detail::cast(out[0], DType::Pred);
  return out;
}
}  // namespace

Tensor sort(const Tensor& x, const SortOptions& opts) {
  return sorted(x, opts, "nx::sort")[0];
}

Tensor argsort(const Tensor& x, const SortOptions& opts) {
  return sorted(x, opts, "nx::argsort")[1];
}

std::pair<Tensor, Tensor> top_k(const Tensor& x, int64_t k) {
  detail::check_defined(x, "nx::top_k", "x");
  if (x.rank() == 0) throw Error("nx::top_k: cannot select from a scalar");
  int64_t n = x.shape().back();
  if (k < 0 || k > n) {
    throw Error("nx::top_k: k = " + std::to_string(k) + " is outside [0, " + std::to_string(n) +
                "] for " + type_string(x.type()));
  }
  std::vector<Tensor> s = sorted(x, {-1, true}, "nx::top_k");
  return {slice_along_axis(s[0], 0, k, -1), slice_along_axis(s[1], 0, k, -1)};
}

}  // namespace nx
