// Machine code for the body of an elementwise program (fused_program.hpp): the tile's
// instruction list generated once, at compile time, as one AVX-512 loop (Xbyak) that keeps every
// value in a zmm register and reads and writes each buffer once per 16 elements, instead of one
// interpreted loop call per instruction over L1 registers.
//
// What is compiled: programs without reductions or gathers whose body is f32 add, subtract,
// multiply, divide, sqrt, negate, abs, max, min, the f32 compares feeding select (predicates live
// in opmask registers), over contiguous leaves, uniforms and outputs. Everything else, a program
// that needs more than the 32 zmm / 5 opmask registers, and a CPU without AVX-512F (or BMI2) get
// no kernel: the interpreter runs them as before.
//
// Exactness: the generated code computes what the interpreter computes, bit for bit: add,
// subtract, multiply, divide and sqrt are single IEEE operations (never fused multiply-add), and
// max, min, the compares and select are instruction sequences equal to the functors of
// fused_functors.hpp (NaN propagation and payload, the order of -0 and +0).
//
// Aliasing: every iteration loads all it reads before it stores any output, so an output may be
// the very buffer of an input (an in-place update over a donated buffer); run_program falls back
// to the interpreter when an output overlaps an input in any other way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace nx::cpu::fused {

struct Program;

/// Computes elements [begin, end) of a program's domain: leaf, out and uni are run_program's
/// frame (leaf and output base pointers, uniform slots of 16 bytes each).
using NativeFn = void (*)(const std::byte* const* leaf, std::byte* const* out, const std::byte* uni,
                          int64_t begin, int64_t end);

/// A generated kernel: fn is null when the program has none. The code is immutable and shared
/// (identical programs share one kernel, process-wide); it may run on several threads at once.
struct NativeKernel {
  NativeFn fn = nullptr;
  std::shared_ptr<const void> code;  ///< owns the executable memory
};

/// The kernel of a compiled program's body (its body_safe list), or an empty one when the program
/// holds something the generator does not take, or the CPU lacks AVX-512F.
NativeKernel compile_native(const Program& p);

/// Whether run_program uses generated kernels (default on); for tests and benchmarks.
void set_native_code(bool on);
bool native_code();

}  // namespace nx::cpu::fused
