// The per-primitive loops a fused elementwise program (fused_program.hpp) is made of: the same
// loop shapes as the eager kernels (elementwise.hpp: contiguous runs, one operand possibly a
// single value) for every elementwise primitive and dtype the eager kernels accept, computing
// bit for bit what the eager kernels compute.
#pragma once

#include <cstdint>

#include "../../core/primitive.hpp"
#include "elementwise.hpp"

namespace nx::cpu::fused {

using detail::Prim;

/// out[i] = p(in[i]) for a Unary-group primitive on operands of dtype t; null when the eager
/// kernel rejects t or the fused programs do not implement p (erf_inv).
ew::UnaryLoop unary_loop(Prim p, DType t);
/// The loops of a Binary- or Compare-group primitive on operands of dtype t; all null when
/// unsupported.
ew::BinaryLoops binary_loops(Prim p, DType t);
/// Conversion between any two dtypes, as the convert primitive does.
ew::UnaryLoop convert_loop(DType from, DType to);

/// select(c, a, b) over n elements: c is pred (one byte, nonzero = true); a, b and out have
/// dtype t. Each *_one flag says that operand is a single value used for every element.
using SelectLoop = void (*)(const void* c, const void* a, const void* b, void* out, int64_t n);
SelectLoop select_loop(DType t, bool c_one, bool a_one, bool b_one);

/// Whether the fused programs can run primitive p (elementwise group) on operands of dtype t.
bool supports(Prim p, DType t);

}  // namespace nx::cpu::fused
