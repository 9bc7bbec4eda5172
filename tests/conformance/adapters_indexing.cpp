// Adapters of include/nx/ops/indexing.hpp and include/nx/ops/sort.hpp.
#include "harness.hpp"

namespace nx::conformance {
namespace {

using In = std::vector<Tensor>;
using Scatter = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const std::optional<Axes>&);

Adapter scatter(Scatter f) {
  return [f](const In& in, const Json& at) {
    return one(f(in.at(0), in.at(1), in.at(2), opt_ints_attr(at, "axes")));
  };
}

SortOptions sort_options(const Json& at) {
  return {.axis = int_attr(at, "axis", -1), .descending = bool_attr(at, "descending")};
}

const bool kReg = register_adapters({
    {"take", [](const In& in,
                const Json& at) { return one(take(in.at(0), in.at(1), int_attr(at, "axis", 0))); }},
    {"take_along_axis",
     [](const In& in, const Json& at) {
       return one(take_along_axis(in.at(0), in.at(1), int_attr(at, "axis")));
     }},
    {"gather",
     [](const In& in, const Json& at) {
       return one(gather(in.at(0), in.at(1), opt_ints_attr(at, "axes")));
     }},
    {"indexed_add", scatter(&nx::indexed_add)},
    {"indexed_put", scatter(&nx::indexed_put)},
    {"scatter_add_along_axis",
     [](const In& in, const Json& at) {
       return one(scatter_add_along_axis(in.at(0), in.at(1), in.at(2), int_attr(at, "axis")));
     }},
    {"one_hot",
     [](const In& in, const Json& at) {
       DType dtype = at.contains("dtype") ? dtype_attr(at, "dtype") : f32;
       return one(one_hot(in.at(0), int_attr(at, "depth"), dtype, int_attr(at, "axis", -1)));
     }},
    {"sort", [](const In& in, const Json& at) { return one(sort(in.at(0), sort_options(at))); }},
    {"argsort",
     [](const In& in, const Json& at) { return one(argsort(in.at(0), sort_options(at))); }},
    {"top_k",
     [](const In& in, const Json& at) {
       auto [values, indices] = top_k(in.at(0), int_attr(at, "k"));
       return std::vector<Tensor>{values, indices};
     }},
});

}  // namespace
}  // namespace nx::conformance
