// TEMPORARY scaffolding while kernels are written in parallel; removed before the first commit
// that claims any op works. A pending kernel throws instead of computing.
#pragma once
#include <span>
#include "backend.hpp"
#define NX_PENDING_KERNEL(name)                                                       \
  void kernel_##name(const Params&, std::span<const Tensor>, std::span<Tensor>) {     \
    throw nx::Error("nx::" #name ": CPU kernel pending");                              \
  }
