// The benchmark registry: named workloads that nx_bench can set up and time on request.
//
// A benchmark is a stable name (`nx.add_f32_16M`), a unit, the work one call does in that unit's
// terms (bytes moved, floating-point operations, or one call), and a setup function that builds
// the inputs once and returns the closure to time. It also lists its references, in the order
// that bench/run.py turns them into result rows: native ones measured inside this binary (a
// memcpy of the same bytes, a oneDNN primitive) and external ones that a reference worker process
// implements under the same name (PyTorch). bench/README.md describes every workload.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace nx_bench {

/// How one call's work turns into the reported figure.
enum class Unit {
  kGBps,              ///< work is bytes read + written; reports 1e9 bytes per second.
  kGFlops,            ///< work is floating-point operations; reports 1e9 per second.
  kUsPerCall,         ///< reports microseconds per call (lower is better); work is ignored.
  kSamplesPerSecond,  ///< work is samples (a batch's size); reports samples per second.
  kMs,                ///< reports milliseconds per call (lower is better); work is ignored.
  /// Peak resident memory in MiB (lower is better), not a time: bench/run.py runs the workload
  /// in a fresh process (`nx_bench --peak-rss NAME STEPS`) and reads its high-water mark.
  kPeakRssMiB,
};

/// "GB/s", "GFLOP/s", "us/call", ...: the unit as results.json spells it.
const char* unit_name(Unit unit);
/// False for time-per-call and memory units.
bool higher_is_better(Unit unit);

/// One timed call of a workload. It keeps its result until the next call replaces it, so that
/// freeing a result is part of the cost exactly as it is in an eager framework's loop.
using RunOnce = std::function<void()>;
/// Builds the inputs (untimed) and returns the closure to time; the closure owns the inputs.
using Setup = std::function<RunOnce()>;

/// What a benchmark is compared with. Either measured inside nx_bench (`setup` set: a memcpy of
/// the same bytes, a oneDNN primitive called directly) or by the external reference worker named
/// `kind` ("torch": bench/refs/torch_ref.py), which implements a workload of the same name.
struct Reference {
  std::string kind;    ///< Short name: "memcpy", "onednn", "torch". Unique per benchmark.
  std::string system;  ///< For native references: reference.system in results.json.
  Setup setup;         ///< Native references only.
};

/// An external reference: the worker named `kind` times its workload of the same name.
inline Reference external(std::string kind) {
  return Reference{std::move(kind), "", {}};
}

/// A registered benchmark.
struct Benchmark {
  std::string name;  ///< Stable identifier; issues and results.json use it.
  Unit unit = Unit::kGBps;
  double work = 1.0;        ///< Per call, in the unit's terms (see Unit).
  std::string description;  ///< One line: the exact workload.
  Setup setup;              ///< Our side.
  /// In row order: the first gives the row NAME, each further one the row NAME.vs_KIND.
  std::vector<Reference> references;
};

/// Adds a benchmark; names must be unique.
void register_benchmark(Benchmark benchmark);
/// Every registered benchmark, sorted by name (static initialisation order is unspecified).
const std::vector<Benchmark>& benchmarks();
/// The benchmark called `name`, or nullptr.
const Benchmark* find_benchmark(const std::string& name);

/// Registers a benchmark from a namespace-scope static: `static Registrar r{{...}};`.
struct Registrar {
  explicit Registrar(Benchmark benchmark) { register_benchmark(std::move(benchmark)); }
};

}  // namespace nx_bench
