// Square matrix products through nx::dot, reported as GFLOP/s (2 n^3 per call) against
// torch.matmul on the same operands (the issue asks for >= 1.0), and against oneDNN's matmul
// called directly (.vs_onednn: how much of the library's speed nx keeps).
#include <memory>
#include <string>

#include "../harness/registry.hpp"
#include "inputs.hpp"
#include "onednn_matmul.hpp"

namespace nx_bench {
namespace {

Benchmark matmul(int64_t n, nx::DType dtype, const std::string& type_name) {
  const std::string n_str = std::to_string(n);
  Benchmark b;
  b.name = "nx.matmul_" + type_name + "_" + n_str;
  b.unit = Unit::kGFlops;
  b.work = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  b.description = "nx::dot(a, b), a and b " + type_name + "[" + n_str + "][" + n_str +
                  "] (ramps over [-1, 1)" +
                  (dtype == nx::f32 ? std::string(")") : ", made in f32 and converted)") +
                  ", result " + type_name;
  b.setup = [n, dtype] {
    auto a = nx::as_type(ramp({n, n}, 17, -1.0f, 1.0f), dtype);
    auto c = nx::as_type(ramp({n, n}, 13, -1.0f, 1.0f), dtype);
    auto out = std::make_shared<nx::Tensor>();
    return RunOnce([a, c, out] { *out = nx::dot(a, c); });
  };
  b.references = {external("torch"), onednn_matmul_reference(n, dtype)};
  return b;
}

const Registrar f32_1024{matmul(1024, nx::f32, "f32")};
const Registrar f32_4096{matmul(4096, nx::f32, "f32")};
const Registrar bf16_4096{matmul(4096, nx::bf16, "bf16")};

}  // namespace
}  // namespace nx_bench
