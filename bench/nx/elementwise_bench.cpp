// Memory-bound eager ops on 16 Mi f32 elements (64 MiB per tensor): add, exp and a full sum.
// Each reports bandwidth as (bytes read + bytes written) / time and is compared with memcpy of
// the same traffic (the ">= 0.7x the copy bandwidth") and with PyTorch (">= 1.0").
#include <memory>

#include "../harness/copy_reference.hpp"
#include "../harness/registry.hpp"
#include "inputs.hpp"

namespace nx_bench {
namespace {

constexpr int64_t kElems = int64_t{16} << 20;
constexpr double kTensorBytes = static_cast<double>(kElems) * sizeof(float);

Benchmark memory_bound(std::string name, double bytes, std::string description, Setup setup) {
  Benchmark b;
  b.name = std::move(name);
  b.unit = Unit::kGBps;
  b.work = bytes;
  b.description = std::move(description);
  b.setup = std::move(setup);
  b.references = {copy_reference(static_cast<size_t>(bytes / 2)), external("torch")};
  return b;
}

const Registrar add_16m{memory_bound(
    "nx.add_f32_16M", 3 * kTensorBytes,
    "nx::add(a, b), a and b f32[16Mi] (ramps over [-1, 1)); reads 2 x 64 MiB, writes 64 MiB", [] {
      auto a = ramp({kElems}, 1024, -1.0f, 1.0f);
      auto b = ramp({kElems}, 1000, -1.0f, 1.0f);
      auto out = std::make_shared<nx::Tensor>();
      return RunOnce([a, b, out] { *out = nx::add(a, b); });
    })};

const Registrar exp_16m{
    memory_bound("nx.exp_f32_16M", 2 * kTensorBytes,
                 "nx::exp(x), x f32[16Mi] (ramp over [-4, 4)); reads 64 MiB, writes 64 MiB", [] {
                   auto x = ramp({kElems}, 1024, -4.0f, 4.0f);
                   auto out = std::make_shared<nx::Tensor>();
                   return RunOnce([x, out] { *out = nx::exp(x); });
                 })};

const Registrar sum_16m{memory_bound(
    "nx.sum_f32_16M", kTensorBytes + sizeof(float),
    "nx::sum(x) over all axes to an f32 scalar, x f32[16Mi] (ramp over [-1, 1)); reads 64 MiB", [] {
      auto x = ramp({kElems}, 1024, -1.0f, 1.0f);
      auto out = std::make_shared<nx::Tensor>();
      return RunOnce([x, out] { *out = nx::sum(x); });
    })};

}  // namespace
}  // namespace nx_bench
