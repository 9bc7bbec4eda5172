// Adapters of include/nx/ops/reduce.hpp.
#include "harness.hpp"

namespace nx::conformance {
namespace {

using In = std::vector<Tensor>;
using Reduce = Tensor (*)(const Tensor&, const ReduceOptions&);
using Variance = Tensor (*)(const Tensor&, const VarianceOptions&);
using Arg = Tensor (*)(const Tensor&, const ArgOptions&);
using Scan = Tensor (*)(const Tensor&, const CumulativeOptions&);

Adapter reduce(Reduce f) {
  return [f](const In& in, const Json& at) {
    return one(
        f(in.at(0), {.axes = opt_ints_attr(at, "axes"), .keep_axes = bool_attr(at, "keep_axes")}));
  };
}

Adapter variance_like(Variance f) {
  return [f](const In& in, const Json& at) {
    return one(f(in.at(0), {.axes = opt_ints_attr(at, "axes"),
                            .keep_axes = bool_attr(at, "keep_axes"),
                            .ddof = int_attr(at, "ddof", 0)}));
  };
}

Adapter arg(Arg f) {
  return [f](const In& in, const Json& at) {
    ArgOptions o;
    if (at.contains("axis")) o.axis = int_attr(at, "axis");
    o.keep_axis = bool_attr(at, "keep_axis");
    o.tie_high = bool_attr(at, "tie_high");
    return one(f(in.at(0), o));
  };
}

Adapter scan(Scan f) {
  return [f](const In& in, const Json& at) {
    return one(f(in.at(0), {.axis = int_attr(at, "axis", 0), .reverse = bool_attr(at, "reverse")}));
  };
}

const bool kReg = register_adapters({
    {"sum", reduce(&nx::sum)},
    {"product", reduce(&nx::product)},
    {"reduce_max", reduce(&nx::reduce_max)},
    {"reduce_min", reduce(&nx::reduce_min)},
    {"all", reduce(&nx::all)},
    {"any", reduce(&nx::any)},
    {"mean", reduce(&nx::mean)},
    {"logsumexp", reduce(&nx::logsumexp)},
    {"variance", variance_like(&nx::variance)},
    {"standard_deviation", variance_like(&nx::standard_deviation)},
    // Without "axes" the call leaves the argument out, to exercise its default ({-1}).
    {"softmax",
     [](const In& in, const Json& at) {
       auto axes = opt_ints_attr(at, "axes");
       return one(axes ? softmax(in.at(0), *axes) : softmax(in.at(0)));
     }},
    {"log_softmax",
     [](const In& in, const Json& at) {
       auto axes = opt_ints_attr(at, "axes");
       return one(axes ? log_softmax(in.at(0), *axes) : log_softmax(in.at(0)));
     }},
    {"argmax", arg(&nx::argmax)},
    {"argmin", arg(&nx::argmin)},
    {"cumulative_sum", scan(&nx::cumulative_sum)},
    {"cumulative_product", scan(&nx::cumulative_product)},
    {"cumulative_max", scan(&nx::cumulative_max)},
    {"cumulative_min", scan(&nx::cumulative_min)},
});

}  // namespace
}  // namespace nx::conformance
