// CPU kernel of iota (IotaParams): with axis -1, element i (row-major) holds i; otherwise each
// element holds its index along `axis`. The count is converted to the dtype with the rules of
// convert (convert.hpp): integers wrap (a u8 iota of 300 elements restarts at 256 -> 0), floats
// round to nearest even (f16 counts above 2048 are rounded, above 65519 inf), pred is 0 then 1.
#include <algorithm>

#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "convert.hpp"
#include "elementwise.hpp"

namespace nx::cpu {

void kernel_iota(const Params& params, std::span<const Tensor>, std::span<Tensor> out) {
  const auto& p = std::get<detail::IotaParams>(params);
  const int64_t n = out[0].size();
  if (n == 0) return;
  // Element i has index (i / inner) % len along the axis; axis -1 is one axis of all elements.
  int64_t len = n, inner = 1;
  if (p.axis >= 0) {
    len = p.shape[static_cast<size_t>(p.axis)];
    for (size_t k = static_cast<size_t>(p.axis) + 1; k < p.shape.size(); ++k) inner *= p.shape[k];
  }
  detail::visit_dtype(out[0].dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    using S = ew::storage_t<T>;
    S* o = static_cast<S*>(detail::mutable_data(out[0]));
    parallel_for(n, ew::kGrainCheap, [&](int64_t begin, int64_t end) {
      int64_t k = (begin / inner) % len, j = begin % inner;
      for (int64_t i = begin; i < end;) {
        const S v = static_cast<S>(conv::convert_value<T, int64_t>(k));
        const int64_t run = std::min(inner - j, end - i);
        for (int64_t r = 0; r < run; ++r) o[i + r] = v;
        i += run;
        j = 0;
        if (++k == len) k = 0;
      }
    });
  });
}

}  // namespace nx::cpu
