// Adapters of include/nx/ops/conv.hpp and include/nx/ops/window.hpp.
#include "harness.hpp"

namespace nx::conformance {
namespace {

using In = std::vector<Tensor>;
using WindowReduce = Tensor (*)(const Tensor&, const Shape&, const WindowOptions&);
using WindowScatter = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Shape&,
                                 const WindowOptions&);

ConvOptions conv_options(const Json& at) {
  ConvOptions o;
  o.strides = ints_attr(at, "strides", std::vector<int64_t>{});
  o.padding = padding_attr(at);
  o.input_dilation = ints_attr(at, "input_dilation", std::vector<int64_t>{});
  o.kernel_dilation = ints_attr(at, "kernel_dilation", std::vector<int64_t>{});
  o.feature_group_size = int_attr(at, "feature_group_size", 1);
  o.batch_group_size = int_attr(at, "batch_group_size", 1);
  o.input_permutation = ints_attr(at, "input_permutation", std::vector<int64_t>{});
  o.kernel_permutation = ints_attr(at, "kernel_permutation", std::vector<int64_t>{});
  o.output_permutation = ints_attr(at, "output_permutation", std::vector<int64_t>{});
  return o;
}

WindowOptions window_options(const Json& at) {
  WindowOptions o;
  o.strides = ints_attr(at, "strides", std::vector<int64_t>{});
  o.padding = padding_attr(at);
  o.window_dilations = ints_attr(at, "window_dilations", std::vector<int64_t>{});
  return o;
}

Adapter window_reduce(WindowReduce f) {
  return [f](const In& in, const Json& at) {
    return one(f(in.at(0), ints_attr(at, "window"), window_options(at)));
  };
}

Adapter window_scatter(WindowScatter f) {
  return [f](const In& in, const Json& at) {
    return one(f(in.at(0), in.at(1), in.at(2), ints_attr(at, "window"), window_options(at)));
  };
}

const bool kReg = register_adapters({
    {"conv",
     [](const In& in, const Json& at) { return one(conv(in.at(0), in.at(1), conv_options(at))); }},
    {"window_sum", window_reduce(&nx::window_sum)},
    {"window_mean", window_reduce(&nx::window_mean)},
    {"window_product", window_reduce(&nx::window_product)},
    {"window_max", window_reduce(&nx::window_max)},
    {"window_min", window_reduce(&nx::window_min)},
    {"window_scatter_max", window_scatter(&nx::window_scatter_max)},
    {"window_scatter_min", window_scatter(&nx::window_scatter_min)},
});

}  // namespace
}  // namespace nx::conformance
