// axon::fn convolution benchmark: the 11 distinct convolution shapes of ResNet-18 (torchvision's
// layout, 224x224 images, batch 16), each run once per call as forward + input gradient + kernel
// gradient from a fixed cotangent, against torch.nn.functional.conv2d + torch.autograd.grad on
// the same operands (bench/refs/torch_fn_conv.py).
//
// Our side: one nx::jit function per shape, built and compiled in setup, computing
// (y, dx, dw) = (conv(x, w), d/dx, d/dw of sum(conv(x, w) * ct)) with axon::fn::conv; y is
// returned so that the forward convolution is part of the work on both sides. Inputs are ramps
// that torch_fn_conv.py rebuilds identically. Work = 3 convolutions' FLOPs per shape (forward,
// backward data, backward weights: 2 * N * O * Ho * Wo * C * k^2 each).
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../harness/registry.hpp"
#include "../nx/inputs.hpp"
#include "axon/fn/conv.hpp"
#include "nx/defn.hpp"
#include "nx/nx.hpp"

namespace nx_bench {
namespace {

constexpr int64_t kBatch = 16;

// One convolution of ResNet-18: square input of side `hw`, square kernel k, stride, padding.
struct ConvShape {
  int64_t c, o, hw, k, stride, pad;
  int64_t out_hw() const { return (hw + 2 * pad - k) / stride + 1; }
  double flops() const { return 2.0 * kBatch * o * out_hw() * out_hw() * c * k * k; }
};

// The stem, then per stage the 3x3 convolutions (stride 1), the first block's strided 3x3 and
// its 1x1 strided downsample. torch_fn_conv.py lists the same shapes in the same order.
const std::vector<ConvShape>& resnet18_convs() {
  static const std::vector<ConvShape> shapes{
      {3, 64, 224, 7, 2, 3},   {64, 64, 56, 3, 1, 1},   {64, 128, 56, 3, 2, 1},
      {64, 128, 56, 1, 2, 0},  {128, 128, 28, 3, 1, 1}, {128, 256, 28, 3, 2, 1},
      {128, 256, 28, 1, 2, 0}, {256, 256, 14, 3, 1, 1}, {256, 512, 14, 3, 2, 1},
      {256, 512, 14, 1, 2, 0}, {512, 512, 7, 3, 1, 1},
  };
  return shapes;
}

double total_flops() {
  double f = 0;
  for (const ConvShape& s : resnet18_convs()) f += 3 * s.flops();
  return f;
}

// Operands laid out for `channels`: x [N, C, H, W] or [N, H, W, C], w [O, C, k, k] or
// [k, k, C, O], built as channels-first ramps (as torch has them) and transposed for Last.
struct Operands {
  nx::Tensor x, w, ct;
};

Operands operands(const ConvShape& s, size_t i, axon::fn::Channels channels) {
  const auto p = static_cast<int64_t>(i);
  Operands o{ramp({kBatch, s.c, s.hw, s.hw}, 17 + p, -1.0f, 1.0f),
             ramp({s.o, s.c, s.k, s.k}, 13 + p, -0.1f, 0.1f),
             ramp({kBatch, s.o, s.out_hw(), s.out_hw()}, 11 + p, -1.0f, 1.0f)};
  if (channels == axon::fn::Channels::Last) {
    o.x = nx::transpose(o.x, {0, 2, 3, 1});
    o.w = nx::transpose(o.w, {2, 3, 1, 0});
    o.ct = nx::transpose(o.ct, {0, 2, 3, 1});
  }
  return o;
}

axon::fn::ConvOptions conv_options(const ConvShape& s, axon::fn::Channels channels) {
  return {.strides = {s.stride},
          .padding = nx::Padding::explicit_pairs({{s.pad, s.pad}, {s.pad, s.pad}}),
          .channels = channels};
}

// (y, dx, dw) of one shape.
nx::Tree fwd_bwd(const nx::Tensor& x, const nx::Tensor& w, const nx::Tensor& ct,
                 const axon::fn::ConvOptions& o) {
  nx::ValueAndGrad r =
      nx::value_and_grad_aux(nx::Tree::list({nx::Tree(x), nx::Tree(w)}), [&](const nx::Tree& p) {
        nx::Tensor y = axon::fn::conv(p[0].leaf(), p[1].leaf(), {}, o);
        return std::pair<nx::Tensor, nx::Tree>(nx::sum(y * ct), nx::Tree(y));
      });
  return nx::Tree::list({r.aux, r.grad[0], r.grad[1]});
}

double max_rel_diff(const nx::Tensor& a, const nx::Tensor& b) {
  std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  if (x.size() != y.size()) return INFINITY;
  double worst = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    const double d = std::abs(double{x[k]} - y[k]) / (1 + std::abs(double{y[k]}));
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

Setup conv_setup(axon::fn::Channels channels) {
  return [channels] {
    struct Step {
      std::function<nx::Tree(const nx::Tensor&, const nx::Tensor&, const nx::Tensor&)> run;
      Operands in;
    };
    auto steps = std::make_shared<std::vector<Step>>();
    const auto& shapes = resnet18_convs();
    for (size_t i = 0; i < shapes.size(); ++i) {
      const axon::fn::ConvOptions o = conv_options(shapes[i], channels);
      auto f = nx::jit([o](const nx::Tensor& x, const nx::Tensor& w,
                           const nx::Tensor& ct) { return fwd_bwd(x, w, ct, o); },
                       {.name = "resnet18_conv_" + std::to_string(i)});
      Operands in = operands(shapes[i], i, channels);
      nx::Tree compiled = f(in.x, in.w, in.ct);  // compiles
      if (i + 1 == shapes.size()) {
        // Correctness first, on the smallest problem: compiled equals eager.
        nx::Tree eager = fwd_bwd(in.x, in.w, in.ct, o);
        for (size_t j = 0; j < 3; ++j) {
          const double d = max_rel_diff(compiled[j].leaf(), eager[j].leaf());
          if (!(d <= 1e-4)) {
            std::ostringstream os;
            os << "fn.conv2d_fwd_bwd_resnet: output " << j << " of the compiled step differs "
               << "from the eager one by " << d << " (relative); expected <= 1e-4";
            throw nx::Error(os.str());
          }
        }
      }
      steps->push_back({f, in});
    }
    auto outs = std::make_shared<std::vector<nx::Tree>>(shapes.size());
    return RunOnce([steps, outs] {
      for (size_t i = 0; i < steps->size(); ++i) {
        const Step& s = (*steps)[i];
        (*outs)[i] = s.run(s.in.x, s.in.w, s.in.ct);
      }
    });
  };
}

Benchmark resnet_convs(axon::fn::Channels channels, const std::string& suffix) {
  Benchmark b;
  b.name = "fn.conv2d_fwd_bwd_resnet" + suffix;
  b.unit = Unit::kGFlops;
  b.work = total_flops();
  b.description =
      "the 11 distinct conv shapes of ResNet-18 at batch 16 (224x224), once each: y = "
      "axon::fn::conv(x, w) and the gradients of sum(y * ct) w.r.t. x and w, one nx::jit "
      "function per shape, f32, channels " +
      std::string(channels == axon::fn::Channels::First ? "first (NCHW, OIHW)"
                                                        : "last (NHWC, HWIO)") +
      "; work = 3 convolutions' FLOPs per shape";
  b.setup = conv_setup(channels);
  b.references = {external("torch")};
  return b;
}

const Registrar first{resnet_convs(axon::fn::Channels::First, "")};
const Registrar last{resnet_convs(axon::fn::Channels::Last, "_nhwc")};

}  // namespace
}  // namespace nx_bench
