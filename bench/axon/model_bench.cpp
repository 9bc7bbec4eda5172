// axon model benchmarks, against PyTorch eager on the same workload:
//  - model.predict_overhead: the fixed cost of calling a compiled model (predict_fn on a dense
//    4->4 model: binding the inputs, the executable cache lookup, the run) vs nn.Linear(4, 4);
//  - model.resnet18_infer_b1 / _b16: ResNet-18 built with the layer API (random weights,
//    inference mode, PyTorch's NCHW layout: channels First) vs torchvision's layout in eval()
//    under no_grad (bench/refs/torch_steps.py ResNet18). The _last rows build it channels last
//    (Axon's default layout) with NHWC input, for information.
#include <memory>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/compiler.hpp"
#include "axon/layers/activation.hpp"
#include "axon/layers/combinators.hpp"
#include "axon/layers/conv.hpp"
#include "axon/layers/linear.hpp"
#include "axon/layers/normalization.hpp"
#include "axon/layers/pooling.hpp"

namespace nx_bench {
namespace {

Benchmark predict_overhead() {
  Benchmark b;
  b.name = "model.predict_overhead";
  b.unit = Unit::kUsPerCall;
  b.description =
      "predict_fn(state, x) of axon::dense(input {?, 4}, 4), x f32[1][4]; microseconds per call";
  b.setup = [] {
    auto model = axon::dense(axon::input("x", {axon::kDynamic, 4}), 4);
    auto [init_fn, predict_fn] = axon::build(model);
    auto state = std::make_shared<axon::ModelState>(init_fn(nx::make_template({1, 4}, nx::f32)));
    auto x = ramp({1, 4}, 4, -1.0f, 1.0f);
    auto out = std::make_shared<nx::Tree>(predict_fn(*state, x));
    return RunOnce([predict_fn, state, x, out] { *out = predict_fn(*state, x); });
  };
  b.references = {external("torch")};
  return b;
}

const Registrar predict_overhead_bench{predict_overhead()};

using axon::fn::Channels;

nx::Padding pads(int64_t p) {
  return nx::Padding::explicit_pairs({{p, p}, {p, p}});
}

axon::Model conv_bn(const axon::Model& x, int64_t units, int64_t k, int64_t stride, int64_t pad,
                    Channels ch, bool relu) {
  auto h = axon::conv(x, units,
                      {.kernel_size = {k},
                       .strides = {stride},
                       .padding = pads(pad),
                       .channels = ch,
                       .use_bias = false});
  h = axon::batch_norm(h, {.channel_index = ch == Channels::First ? 1 : -1});
  return relu ? axon::relu(h) : h;
}

axon::Model basic_block(const axon::Model& x, int64_t cin, int64_t cout, int64_t stride,
                        Channels ch) {
  auto h = conv_bn(x, cout, 3, stride, 1, ch, true);
  h = conv_bn(h, cout, 3, 1, 1, ch, false);
  auto skip = stride != 1 || cin != cout ? conv_bn(x, cout, 1, stride, 0, ch, false) : x;
  return axon::relu(axon::add(h, skip));
}

// torchvision's resnet18 layout.
axon::Model resnet18(Channels ch) {
  nx::Shape shape = ch == Channels::First ? nx::Shape{axon::kDynamic, 3, 224, 224}
                                          : nx::Shape{axon::kDynamic, 224, 224, 3};
  auto h = conv_bn(axon::input("image", shape), 64, 7, 2, 3, ch, true);
  h = axon::max_pool(h, {.kernel_size = {3}, .strides = {2}, .padding = pads(1), .channels = ch});
  int64_t cin = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t cout = int64_t{64} << stage;
    h = basic_block(h, cin, cout, stage == 0 ? 1 : 2, ch);
    h = basic_block(h, cout, cout, 1, ch);
    cin = cout;
  }
  return axon::dense(axon::global_avg_pool(h, {.channels = ch}), 1000);
}

Benchmark resnet18_infer(int64_t batch, Channels ch) {
  const bool first = ch == Channels::First;
  Benchmark b;
  b.name = "model.resnet18_infer_b" + std::to_string(batch) + (first ? "" : "_last");
  b.unit = Unit::kMs;
  b.description =
      "predict_fn of ResNet-18 built with the layer API (random weights, inference), "
      "input f32[" +
      std::to_string(batch) + (first ? "][3][224][224]" : "][224][224][3]") +
      "; milliseconds per call";
  b.setup = [batch, ch, first] {
    auto [init_fn, predict_fn] = axon::build(resnet18(ch));
    nx::Shape shape = first ? nx::Shape{batch, 3, 224, 224} : nx::Shape{batch, 224, 224, 3};
    auto state = std::make_shared<axon::ModelState>(init_fn(nx::make_template(shape, nx::f32)));
    auto x = ramp(shape, 251, -1.0f, 1.0f);
    auto out = std::make_shared<nx::Tree>(predict_fn(*state, x));
    return RunOnce([predict_fn, state, x, out] { *out = predict_fn(*state, x); });
  };
  if (first) b.references = {external("torch")};
  return b;
}

const Registrar resnet18_b1{resnet18_infer(1, Channels::First)};
const Registrar resnet18_b16{resnet18_infer(16, Channels::First)};
const Registrar resnet18_b1_last{resnet18_infer(1, Channels::Last)};
const Registrar resnet18_b16_last{resnet18_infer(16, Channels::Last)};

}  // namespace
}  // namespace nx_bench
