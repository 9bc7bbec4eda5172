// Helpers shared by the nx::random implementation files.
#pragma once

#include <string>

#include "nx/error.hpp"
#include "nx/ops/creation.hpp"
#include "nx/tensor.hpp"

namespace nx::random::detail {

/// Throws nx::Error("nx::random::<fn>: <message>").
[[noreturn]] inline void fail(const char* fn, const std::string& message) {
  throw Error(std::string("nx::random::") + fn + ": " + message);
}

/// Checks that `key` is a u32[2] key.
void check_key(const char* fn, const Tensor& key);

/// The unsigned dtype of `bits` bits.
DType uint_of_width(int bits);

/// A scalar of `dtype` holding `v` exactly (v must be representable).
Tensor int_const(uint64_t v, DType dtype);
/// A scalar of `dtype` holding the signed value `v` exactly.
Tensor sint_const(int64_t v, DType dtype);

/// The number of elements of `shape`; throws nx::Error naming `fn` for a negative dimension or a
/// product (of the non-zero dimensions) past int64.
int64_t checked_size(const char* fn, const Shape& shape);

/// Checks that a bound of shape `bound` broadcasts to `shape` without growing it.
void check_broadcasts_to(const char* fn, const char* what, const Shape& bound, const Shape& shape);

}  // namespace nx::random::detail
