// Storage planning for compiled graphs: which buffer every value lives in.
//
// Values that share memory form one *storage*: a view (reshape, bitcast, stop_grad, custom_grad,
// hook) lives in its operand's storage, and an elementwise node whose operand dies at that node
// may write its result over the operand (in place). A storage is one of
//   Input     a graph input's buffer (bound per call, never written)
//   Constant  a constant's buffer (bound at compile time, never written)
//   Arena     a temporary at a planned offset of the arena, live from its first write to its last
//             read; storages whose live ranges do not overlap share bytes
//   Output    holds a graph output: written in place into the caller's result buffer (a fresh
//             allocation, or a donated input's buffer when the caller gave it up)
// A node's scratch request (oneDNN scratchpads, packed operands, control-flow state) is an Arena
// storage live during that node only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "graph.hpp"

namespace nx::detail::exec {

/// Every storage starts at a multiple of this many bytes.
inline constexpr size_t kAlign = 64;
inline size_t align_up(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

enum class StorageKind : uint8_t { Input, Constant, Arena, Output };

struct Storage {
  StorageKind kind = StorageKind::Arena;
  size_t bytes = 0;
  int32_t root = -1;    ///< the value that defines it; -1 for a scratch request
  int32_t input = -1;   ///< Input: position in Graph::inputs
  Tensor constant;      ///< Constant: the tensor whose buffer it is
  int32_t first = 0;    ///< Arena/Output: node index of the first write
  int32_t last = 0;     ///< Arena: node index of the last read
  size_t offset = 0;    ///< Arena: byte offset in the arena
  int32_t output = -1;  ///< Output: the first graph output (index into Graph::outputs) in it
  int32_t donor = -1;   ///< Output: a donated input whose buffer may hold it (top level only)
};

/// An output written over the buffer of one of the node's inputs.
struct InPlace {
  int32_t out = 0;  ///< output position
  int32_t in = 0;   ///< input position
};

struct StoragePlan {
  std::vector<int32_t> storage_of;  ///< per value id
  std::vector<Storage> storages;
  std::vector<int32_t> scratch_of;             ///< per node: its scratch storage, or -1
  std::vector<std::vector<InPlace>> in_place;  ///< per node: outputs written over inputs
  size_t arena_bytes = 0;                      ///< planned arena size
  size_t naive_bytes = 0;                      ///< the arena without sharing or in-place writes
};

/// True for nodes whose (single) output is their first input's memory under another type.
bool is_alias_node(const Node& n);

/// True when node `n` may write output `out` over input `in` (same element count and element
/// width, so that element i of one is element i of the other). Only
/// kernels that read element i of that input before writing element i of that output, and no
/// other element of it afterwards, qualify:
///   - the unary, binary and comparison primitives, and convert between two dtypes of one width
///     (their loops and broadcast drivers walk operand and result in step); select is excluded
///     (its broadcast row may memcpy an operand onto the output, undefined when they overlap),
///     as is convert to the same dtype (a memcpy);
///   - Fused nodes where fused_may_write_in_place says so (an elementwise program reading that
///     input only at the positions it writes).
bool may_write_in_place(const Graph& g, const Node& n, size_t out, size_t in);

/// Plans storage for `g`. `scratch[i]` is node i's scratch request in bytes (0: none).
/// `donated[i]` marks graph inputs whose buffers may hold outputs (empty: none).
StoragePlan plan_storage(const Graph& g, std::span<const size_t> scratch,
                         const std::vector<bool>& donated);

/// "arena[64,+256)", "in#0", "const", "out#1", for schedule dumps.
std::string storage_label(const StoragePlan& plan, int32_t storage);

}  // namespace nx::detail::exec
