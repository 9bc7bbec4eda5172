// The machine's copy bandwidth, as a native reference for memory-bound benchmarks.
#pragma once

#include <cstddef>
#include <string>

#include "registry.hpp"

namespace nx_bench {

/// A native reference ("memcpy") that copies `bytes` from one pre-faulted buffer to another with
/// memcpy, split into one contiguous share per OpenMP thread (the same pool nx uses). Counted as 2
/// * bytes of traffic: pick bytes = half the benchmark's read + write bytes, so that both sides
/// move, and touch, the same amount of memory.
Reference copy_reference(size_t bytes);

}  // namespace nx_bench
