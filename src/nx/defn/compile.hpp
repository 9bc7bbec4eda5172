// Lowering: a graph becomes an Executable, a flat schedule of thunks over pre-bound buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "graph.hpp"

namespace nx::detail {

struct CompileOptions {
  std::string name = "jit";
  /// Graph inputs whose buffers may be reused for outputs or temporaries when the caller holds
  /// the only reference to them.
  std::vector<bool> donated;
};

/// Facts about a compiled executable, for tests, dumps and stats.
struct ExecutableInfo {
  size_t num_thunks = 0;
  size_t arena_bytes = 0;  ///< planned bytes of temporaries per call
  size_t naive_bytes = 0;  ///< bytes temporaries would take without reuse
  size_t in_place = 0;     ///< thunks writing over one of their inputs
  std::string schedule;    ///< one line per thunk: what runs, which buffers
};

/// A compiled graph. run() may be called from several threads at once.
class Executable {
 public:
  virtual ~Executable() = default;
  /// Runs the graph on concrete inputs (graph input order; shapes and dtypes as compiled).
  /// Returns fresh output tensors.
  virtual std::vector<Tensor> run(std::span<const Tensor> inputs) const = 0;
  virtual const ExecutableInfo& info() const = 0;
};

/// Lowers `g` for the CPU.
std::unique_ptr<Executable> compile(std::shared_ptr<const Graph> g, const CompileOptions& opts);

}  // namespace nx::detail
