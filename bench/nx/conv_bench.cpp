// A ResNet-style 3x3 convolution through nx::conv (input [16, 64, 56, 56], kernel
// [64, 64, 3, 3], stride 1, padding 1), reported as GFLOP/s (2 * N*O*H*W*C*9 per call) against
// torch.nn.functional.conv2d on the same operands.
#include <memory>
#include <string>

#include "../harness/registry.hpp"
#include "inputs.hpp"

namespace nx_bench {
namespace {

constexpr int64_t kN = 16, kC = 64, kHW = 56, kK = 3;

Benchmark conv(nx::DType dtype, const std::string& type_name) {
  Benchmark b;
  b.name = "nx.conv2d_resnet3x3_" + type_name;
  b.unit = Unit::kGFlops;
  b.work = 2.0 * kN * kC * kHW * kHW * kC * kK * kK;
  b.description = "nx::conv(x, w, padding {1,1}x2), x " + type_name +
                  "[16][64][56][56], w [64][64][3][3] (ramps over [-1, 1))";
  b.setup = [dtype] {
    auto x = nx::as_type(ramp({kN, kC, kHW, kHW}, 17, -1.0f, 1.0f), dtype);
    auto w = nx::as_type(ramp({kC, kC, kK, kK}, 13, -1.0f, 1.0f), dtype);
    auto out = std::make_shared<nx::Tensor>();
    nx::ConvOptions opts{.padding = nx::Padding::explicit_pairs({{1, 1}, {1, 1}})};
    return RunOnce([x, w, out, opts] { *out = nx::conv(x, w, opts); });
  };
  b.references = {external("torch")};
  return b;
}

const Registrar f32{conv(nx::f32, "f32")};
const Registrar bf16{conv(nx::bf16, "bf16")};

}  // namespace
}  // namespace nx_bench
