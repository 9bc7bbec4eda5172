// The registry behind register_benchmark: a function-local static, so that registrars in any
// translation unit may run during static initialisation in any order.
#include "registry.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace nx_bench {
namespace {

std::vector<Benchmark>& storage() {
  static std::vector<Benchmark> all;
  return all;
}

}  // namespace

const char* unit_name(Unit unit) {
  switch (unit) {
    case Unit::kGBps:
      return "GB/s";
    case Unit::kGFlops:
      return "GFLOP/s";
    case Unit::kUsPerCall:
      return "us/call";
    case Unit::kSamplesPerSecond:
      return "samples/s";
    case Unit::kMs:
      return "ms";
    case Unit::kPeakRssMiB:
      return "MiB";
  }
  return "?";
}

bool higher_is_better(Unit unit) {
  return unit == Unit::kGBps || unit == Unit::kGFlops || unit == Unit::kSamplesPerSecond;
}

void register_benchmark(Benchmark benchmark) {
  auto& all = storage();
  // Registration happens before main, where an exception cannot be reported usefully: a
  // duplicate name is a programming error in bench/, so say which and stop.
  if (find_benchmark(benchmark.name) != nullptr) {
    std::fprintf(stderr, "nx_bench: benchmark %s registered twice\n", benchmark.name.c_str());
    std::abort();
  }
  auto at = std::upper_bound(all.begin(), all.end(), benchmark.name,
                             [](const std::string& n, const Benchmark& b) { return n < b.name; });
  all.insert(at, std::move(benchmark));
}

const std::vector<Benchmark>& benchmarks() {
  return storage();
}

const Benchmark* find_benchmark(const std::string& name) {
  for (const Benchmark& b : storage()) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

}  // namespace nx_bench
