// oneDNN's matmul called directly: how fast the library under nx's CPU matmul is on its own.
#pragma once

#include <cstdint>

#include "../harness/registry.hpp"
#include "nx/nx.hpp"

namespace nx_bench {

/// A native reference ("onednn"): an n x n by n x n product of plain row-major `dtype` (f32 or
/// bf16) matrices, result in `dtype`, through one dnnl::matmul primitive created at setup and a
/// preallocated output: the library's own speed on the workload, without any framework around it.
Reference onednn_matmul_reference(int64_t n, nx::DType dtype);

}  // namespace nx_bench
