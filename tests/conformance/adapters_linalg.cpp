// Adapters of include/nx/ops/linalg.hpp. The dot overload is chosen by the attrs present:
// none (numpy.dot), contract_a/contract_b, or those plus batch_a/batch_b.
#include <cmath>

#include "harness.hpp"

namespace nx::conformance {
namespace {

using In = std::vector<Tensor>;

NormOptions norm_options(const Json& at) {
  NormOptions o;
  if (at.contains("ord")) {
    const Json& v = at["ord"];
    if (v.is_string()) {  // JSON has no infinity: "inf" / "-inf"
      o.ord = v.get<std::string>() == "inf" ? INFINITY : -INFINITY;
    } else {
      o.ord = v.get<double>();
    }
  }
  o.frobenius = bool_attr(at, "frobenius");
  o.axes = opt_ints_attr(at, "axes");
  o.keep_axes = bool_attr(at, "keep_axes");
  return o;
}

const bool kReg = register_adapters({
    {"dot",
     [](const In& in, const Json& at) {
       if (!at.contains("contract_a")) return one(dot(in.at(0), in.at(1)));
       Axes ca = ints_attr(at, "contract_a"), cb = ints_attr(at, "contract_b");
       if (!at.contains("batch_a")) return one(dot(in.at(0), ca, in.at(1), cb));
       return one(
           dot(in.at(0), ca, ints_attr(at, "batch_a"), in.at(1), cb, ints_attr(at, "batch_b")));
     }},
    {"matmul", [](const In& in, const Json&) { return one(matmul(in.at(0), in.at(1))); }},
    {"outer", [](const In& in, const Json&) { return one(outer(in.at(0), in.at(1))); }},
    {"tensordot",
     [](const In& in, const Json& at) {
       return one(tensordot(in.at(0), in.at(1), ints_attr(at, "axes_a"), ints_attr(at, "axes_b")));
     }},
    {"norm", [](const In& in, const Json& at) { return one(norm(in.at(0), norm_options(at))); }},
    {"qr",
     [](const In& in, const Json& at) {
       auto [q, r] = qr(in.at(0), bool_attr(at, "complete"));
       return std::vector<Tensor>{q, r};
     }},
});

}  // namespace
}  // namespace nx::conformance
