// to_channels_last (pass_layout.cpp): channels-first convolution networks run on channels-last
// values with the transposes between convolutions cancelled, their convolutions as oneDNN
// primitives that read and write those values in place (conv_epilogue/conv_layout programs
// over transposed operands). Graph dumps check where transposes are left; every network also
// runs compiled and eager, forward and gradients, and must agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "graph_build_util.hpp"
#include "nx/defn.hpp"
#include "nx/defn/passes.hpp"
#include "nx/defn/trace.hpp"
#include "nx/nx.hpp"

namespace nx::detail {
namespace {

using nx::testing::count_kind;
using nx::testing::count_prim;
using nx::testing::random_tensor;

/// A network's geometry: spatial rank, sizes and the first convolution's options.
struct Net {
  int spatial = 2;
  int64_t batch = 2, channels = 16, size = 10;
  int64_t groups = 1, dilation = 1, stride = 1;
  DType dtype = DType::F32;
  bool max_pool = true;

  Shape with_spatial(Shape lead, int64_t s) const {
    for (int i = 0; i < spatial; ++i) lead.push_back(s);
    return lead;
  }
  std::vector<TensorType> types() const {
    return {TensorType{with_spatial({batch, channels}, size), dtype},
            TensorType{with_spatial({channels, channels / groups}, 3), dtype},
            TensorType{with_spatial({channels, channels}, 1), dtype},
            TensorType{{channels}, dtype}};
  }
  std::vector<int64_t> ones(int64_t lead_value, int64_t v) const {
    std::vector<int64_t> r{lead_value, lead_value};
    for (int i = 0; i < spatial; ++i) r.push_back(v);
    return r;
  }

  /// A residual block with bias and relu, a pooling, a strided convolution, a global mean.
  Tensor operator()(const Tensor& x, const Tensor& k1, const Tensor& k2, const Tensor& b) const {
    ConvOptions first{
        .strides = std::vector<int64_t>(static_cast<size_t>(spatial), stride),
        .padding = Padding::same(),
        .kernel_dilation = std::vector<int64_t>(static_cast<size_t>(spatial), dilation),
        .feature_group_size = groups};
    Shape bias_shape = with_spatial({1, channels}, 1);
    Tensor y = nx::max(nx::conv(x, k1, first) + nx::reshape(b, bias_shape), 0.0);
    Tensor skip = stride == 1 ? x : nx::conv(x, k2, {.strides = first.strides});
    Tensor z = nx::max(nx::conv(y, k2) + skip, 0.0);
    const std::vector<int64_t> w = ones(1, 2);
    Shape window(w.begin(), w.end());
    WindowOptions pool{.strides = ones(1, 2)};
    Tensor p = max_pool ? nx::window_max(z, window, pool) : nx::window_mean(z, window, pool);
    Tensor q = nx::tanh(
        nx::conv(p, k2, {.strides = std::vector<int64_t>(static_cast<size_t>(spatial), 2)}));
    Axes spatial_axes;
    for (int i = 0; i < spatial; ++i) spatial_axes.push_back(2 + i);
    return nx::mean(q * nx::reshape(b, bias_shape), {.axes = spatial_axes});
  }
};

std::vector<Tensor> inputs(const Net& net) {
  std::vector<Tensor> in;
  const auto types = net.types();
  for (size_t i = 0; i < types.size(); ++i)
    in.push_back(random_tensor(types[i], static_cast<uint32_t>(i + 1)));
  return in;
}

void expect_close(const Tensor& got, const Tensor& want, double rel) {
  ASSERT_EQ(got.type(), want.type());
  std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double scale = 1;
  for (double v : w) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_NEAR(g[i], w[i], rel * scale) << "element " << i << " of " << g.size();
}

double tolerance(const Net& net) {
  // bf16: eager rounds every intermediate to bf16, fused kernels keep f32 between operations;
  // a wrong layout is off by the values' whole size.
  return net.dtype == DType::BF16 ? 8e-2 : 1e-4;
}

Graph traced(const Net& net) {
  Traced t = trace_function(net.types(), [&](std::span<const Tensor> p) {
    return std::vector<Tensor>{net(p[0], p[1], p[2], p[3])};
  });
  return *t.graph;
}

int transposes(const Graph& g) {
  return count_prim(g, Prim::transpose);
}

/// Fused nodes of kind `name` whose program holds a transpose.
int fused_with_transpose(const Graph& g, const std::string& name) {
  int c = 0;
  for (const Node& n : g.nodes)
    if (n.kind == NodeKind::Fused && n.name == name && transposes(*n.subgraphs[0]) > 0) ++c;
  return c;
}

TEST(DefnLayoutPass, TransposesCancelBetweenConvolutions) {
  Net net;  // large enough for every convolution to go to oneDNN
  net.channels = 32, net.size = 24;
  const Graph g = traced(net);
  EXPECT_EQ(transposes(g), 0);
  const Graph r = optimize(g);
  verify(r);
  // Only the input is transposed (to channels-last, once for both its readers); the pooling,
  // the residual add and the mean run channels-last, and the mean's result is plain again.
  EXPECT_EQ(transposes(r), 1) << dump_text(r);
  EXPECT_EQ(count_prim(r, Prim::conv_general), 0) << dump_text(r);
  // conv + bias + relu and the 1x1 convolutions: epilogues over transposed operands.
  EXPECT_GE(fused_with_transpose(r, "conv_epilogue"), 2) << dump_text(r);
  for (const Node& n : r.nodes) {
    if (n.kind == NodeKind::Prim && n.prim == Prim::window_max) {
      // Pooled channels-last: the window covers the middle axes.
      const auto& p = std::get<WindowParams>(n.params);
      EXPECT_EQ(p.window, (Shape{1, 2, 2, 1})) << dump_text(r);
    }
  }
}

TEST(DefnLayoutPass, EpilogueReadsAndWritesChannelsLast) {
  // Two conv + bias + relu: two epilogues whose programs transpose their input and result; the
  // transposes to and from channels-last around the pair are all that is copied.
  const std::vector<TensorType> types{nx::testing::f32t({2, 16, 12, 12}),
                                      nx::testing::f32t({16, 16, 3, 3}), nx::testing::f32t({16})};
  Traced t = trace_function(types, [](std::span<const Tensor> p) {
    const Tensor b = nx::reshape(p[2], {1, 16, 1, 1});
    Tensor y = p[0];
    for (int i = 0; i < 2; ++i)
      y = nx::max(nx::conv(y, p[1], {.padding = Padding::same()}) + b, 0.0);
    return std::vector<Tensor>{y};
  });
  const Graph r = optimize(*t.graph);
  ASSERT_EQ(fused_with_transpose(r, "conv_epilogue"), 2) << dump_text(r);
  for (const Node& n : r.nodes) {
    if (n.kind != NodeKind::Fused) continue;
    EXPECT_EQ(transposes(*n.subgraphs[0]), 2) << dump_text(*n.subgraphs[0]);
  }
  EXPECT_EQ(transposes(r), 2) << dump_text(r);
}

TEST(DefnLayoutPass, ASingleConvolutionIsLeftAlone) {
  // Its input and result would both be copied: nothing to gain over oneDNN's own reorders.
  const std::vector<TensorType> types{nx::testing::f32t({2, 16, 12, 12}),
                                      nx::testing::f32t({32, 16, 3, 3})};
  Traced t = trace_function(types, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::max(nx::conv(p[0], p[1]), 0.0)};
  });
  EXPECT_EQ(transposes(optimize(*t.graph)), 0);
}

TEST(DefnLayoutPass, SmallConvolutionsAreLeftAlone) {
  // Below oneDNN's size nothing changes: no transposes appear.
  const std::vector<TensorType> types{nx::testing::f32t({1, 2, 5, 5}),
                                      nx::testing::f32t({2, 2, 3, 3})};
  Traced t = trace_function(types, [](std::span<const Tensor> p) {
    return std::vector<Tensor>{nx::max(nx::conv(p[0], p[1]), 0.0)};
  });
  EXPECT_EQ(transposes(optimize(*t.graph)), 0);
}

TEST(DefnLayoutPass, CustomGradientsAndStopGradPassThrough) {
  // A relu with a custom gradient (as axon's activations are) and a stop_grad between two
  // convolutions: identities once compiled, so the values stay channels-last across them.
  const std::vector<TensorType> types{nx::testing::f32t({2, 16, 12, 12}),
                                      nx::testing::f32t({16, 16, 3, 3})};
  auto f = [](const Tensor& x, const Tensor& k) {
    Tensor y = nx::conv(x, k, {.padding = Padding::same()});
    Tensor r = nx::custom_grad(nx::max(y, 0.0), {y}, [y](const Tensor& g) {
      return std::vector<Tensor>{g * nx::as_type(nx::greater(y, 0.0), g.dtype())};
    });
    return nx::conv(nx::stop_grad(r), k, {.padding = Padding::same()});
  };
  Traced t = trace_function(
      types, [&](std::span<const Tensor> p) { return std::vector<Tensor>{f(p[0], p[1])}; });
  const Graph r = optimize(*t.graph);
  EXPECT_EQ(transposes(r), 2) << dump_text(r);
  EXPECT_EQ(count_kind(r, NodeKind::CustomGrad), 0) << dump_text(r);
  const Tensor x = random_tensor(types[0], 1), k = random_tensor(types[1], 2);
  expect_close(nx::jit(f)(x, k), f(x, k), 1e-4);
}

void expect_compiled_matches_eager(const Net& net) {
  std::vector<Tensor> in = inputs(net);
  Tensor want = net(in[0], in[1], in[2], in[3]);
  auto jf = nx::jit([&](const Tensor& x, const Tensor& k1, const Tensor& k2, const Tensor& b) {
    return net(x, k1, k2, b);
  });
  expect_close(jf(in[0], in[1], in[2], in[3]), want, tolerance(net));
}

TEST(DefnLayoutPass, CompiledMatchesEager) {
  std::vector<Net> nets;
  for (int spatial : {1, 2, 3}) {
    Net n;
    n.spatial = spatial;
    n.size = spatial == 1 ? 40 : spatial == 2 ? 10 : 6;
    nets.push_back(n);
    n.max_pool = false;
    nets.push_back(n);
  }
  Net strided;
  strided.stride = 2, strided.size = 12;
  nets.push_back(strided);
  Net grouped;
  grouped.groups = 4;
  nets.push_back(grouped);
  Net depthwise;
  depthwise.groups = depthwise.channels;
  nets.push_back(depthwise);
  Net dilated;
  dilated.dilation = 2;
  nets.push_back(dilated);
  for (Net n : std::vector<Net>(nets)) {
    n.dtype = DType::BF16;
    nets.push_back(n);
  }
  for (const Net& n : nets) {
    SCOPED_TRACE("spatial " + std::to_string(n.spatial) + " stride " + std::to_string(n.stride) +
                 " groups " + std::to_string(n.groups) + " dilation " + std::to_string(n.dilation) +
                 (n.max_pool ? " max" : " mean") + " pool, " + std::string(dtype_name(n.dtype)));
    expect_compiled_matches_eager(n);
  }
}

TEST(DefnLayoutPass, GradientsCompiledMatchEager) {
  for (int spatial : {1, 2}) {
    for (int64_t stride : {1, 2}) {
      Net net;
      net.spatial = spatial;
      net.stride = stride;
      net.size = spatial == 1 ? 48 : 12;
      SCOPED_TRACE("spatial " + std::to_string(spatial) + " stride " + std::to_string(stride));
      std::vector<Tensor> in = inputs(net);
      auto grads = [&](const Tensor& x, const Tensor& k1, const Tensor& k2, const Tensor& b) {
        Tensor gk = nx::grad(k1, [&](const Tensor& k) { return nx::sum(net(x, k, k2, b)); });
        Tensor gx = nx::grad(x, [&](const Tensor& v) { return nx::sum(net(v, k1, k2, b)); });
        return std::vector<Tensor>{gk, gx};
      };
      std::vector<Tensor> want = grads(in[0], in[1], in[2], in[3]);
      auto jg = nx::jit([&](const Tensor& x, const Tensor& k1, const Tensor& k2, const Tensor& b) {
        std::vector<Tensor> r = grads(x, k1, k2, b);
        return nx::concatenate({nx::reshape(r[0], {-1}), nx::reshape(r[1], {-1})});
      });
      Tensor got = jg(in[0], in[1], in[2], in[3]);
      expect_close(got, nx::concatenate({nx::reshape(want[0], {-1}), nx::reshape(want[1], {-1})}),
                   1e-4);
    }
  }
}

}  // namespace
}  // namespace nx::detail
