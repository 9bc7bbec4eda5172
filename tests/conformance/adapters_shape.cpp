// Adapters of include/nx/ops/shape.hpp. Dynamic slice starts arrive as extra scalar inputs.
#include "harness.hpp"

namespace nx::conformance {
namespace {

using In = std::vector<Tensor>;

std::vector<Tensor> rest(const In& in, size_t from) {
  return std::vector<Tensor>(in.begin() + static_cast<std::ptrdiff_t>(from), in.end());
}

const bool kReg = register_adapters({
    {"reshape",
     [](const In& in, const Json& at) { return one(reshape(in.at(0), ints_attr(at, "shape"))); }},
    {"broadcast",
     [](const In& in, const Json& at) {
       auto axes = opt_ints_attr(at, "axes");
       return one(axes ? broadcast(in.at(0), ints_attr(at, "shape"), *axes)
                       : broadcast(in.at(0), ints_attr(at, "shape")));
     }},
    {"transpose",
     [](const In& in, const Json& at) {
       auto axes = opt_ints_attr(at, "axes");
       return one(axes ? transpose(in.at(0), *axes) : transpose(in.at(0)));
     }},
    {"squeeze",
     [](const In& in, const Json& at) {
       auto axes = opt_ints_attr(at, "axes");
       return one(axes ? squeeze(in.at(0), *axes) : squeeze(in.at(0)));
     }},
    {"new_axis",
     [](const In& in, const Json& at) { return one(new_axis(in.at(0), int_attr(at, "axis"))); }},
    {"flatten",
     [](const In& in, const Json& at) {
       return one(flatten(in.at(0), int_attr(at, "start_axis", 0), int_attr(at, "end_axis", -1)));
     }},
    {"slice",
     [](const In& in, const Json& at) {
       return one(slice(in.at(0), ints_attr(at, "start"), ints_attr(at, "lengths"),
                        ints_attr(at, "strides", std::vector<int64_t>{})));
     }},
    {"slice_along_axis",
     [](const In& in, const Json& at) {
       return one(slice_along_axis(in.at(0), int_attr(at, "start"), int_attr(at, "length"),
                                   int_attr(at, "axis", 0), int_attr(at, "stride", 1)));
     }},
    {"dynamic_slice",
     [](const In& in, const Json& at) {
       return one(dynamic_slice(in.at(0), rest(in, 1), ints_attr(at, "lengths")));
     }},
    {"put_slice",
     [](const In& in, const Json& at) {
       return one(put_slice(in.at(0), ints_attr(at, "start"), in.at(1)));
     }},
    {"dynamic_put_slice",
     [](const In& in, const Json& at) {
       return one(dynamic_put_slice(in.at(0), rest(in, 2), in.at(1)));
     }},
    {"pad",
     [](const In& in, const Json& at) {
       std::vector<PadConfig> config;
       for (const Json& c : at.at("config")) {
         config.push_back({c.at(0).get<int64_t>(), c.at(1).get<int64_t>(), c.at(2).get<int64_t>()});
       }
       return one(pad(in.at(0), in.at(1), config));
     }},
    {"concatenate",
     [](const In& in, const Json& at) { return one(concatenate(in, int_attr(at, "axis", 0))); }},
    {"stack", [](const In& in, const Json& at) { return one(stack(in, int_attr(at, "axis", 0))); }},
    {"reverse",
     [](const In& in, const Json& at) {
       return one(reverse(in.at(0), ints_attr(at, "axes", std::vector<int64_t>{})));
     }},
    {"tile",
     [](const In& in, const Json& at) { return one(tile(in.at(0), ints_attr(at, "reps"))); }},
    {"split",
     [](const In& in, const Json& at) {
       int64_t axis = int_attr(at, "axis", 0);
       if (at.contains("n")) return split(in.at(0), int_attr(at, "n"), axis);
       return split(in.at(0), ints_attr(at, "sizes"), axis);
     }},
    {"tril",
     [](const In& in, const Json& at) { return one(tril(in.at(0), int_attr(at, "k", 0))); }},
    {"triu",
     [](const In& in, const Json& at) { return one(triu(in.at(0), int_attr(at, "k", 0))); }},
});

}  // namespace
}  // namespace nx::conformance
