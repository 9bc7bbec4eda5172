// Host memory for tensor buffers. Blocks of 64 KiB and more are cached after use and handed out
// again, so an eager op does not pay the kernel's page faults for a fresh output every call (the
// dominant cost of a memory-bound op on a 64 MB tensor, and of an eager training step whose
// temporaries malloc would otherwise hand back to the OS). Small blocks go to malloc, which
// reuses them.
#pragma once

#include <cstddef>

namespace nx::detail {

/// 64-byte aligned memory of at least `bytes` bytes (uninitialised).
void* allocate(size_t bytes);
/// Returns a block from allocate(); `bytes` is the size that was asked for.
void deallocate(void* p, size_t bytes);
/// Frees every cached block (for tests and memory-pressure handling).
void release_cached_memory();
/// Bytes currently held in the cache.
size_t cached_bytes();

}  // namespace nx::detail
