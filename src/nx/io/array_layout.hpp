// Element-level helpers for loaders: checked sizes, byte order, booleans, Fortran order.
#pragma once

#include <cstdint>
#include <string>

#include "nx/tensor.hpp"

namespace nx::io::detail {

/// Product of the dimensions; throws nx::Error naming `where` if a dimension is negative or the
/// product of the non-zero dimensions does not fit in int64 (even for an empty array).
int64_t checked_num_elements(const Shape& shape, const std::string& where);
/// count * byte_size(dtype), throwing if it does not fit in int64.
uint64_t checked_byte_size(int64_t count, DType dtype, const std::string& where);
/// Makes freshly read data valid in place: byte-swaps big-endian elements and turns any non-zero
/// boolean byte into 1 (pred holds only 0 and 1).
void fix_elements(const Tensor& fresh, bool big_endian);
/// A row-major copy of t with its axes reversed (the transpose of a Fortran-order array).
Tensor reverse_axes(const Tensor& t);

}  // namespace nx::io::detail
