#include "nx/ops/constants.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "nx/ops/creation.hpp"

namespace nx {

namespace {
void require_float(DType t, const char* op) {
  if (!is_float(t)) {
    throw Error(std::string(op) + ": expects a float dtype, got " + std::string(dtype_name(t)));
  }
}

// Largest finite value: bits of mantissa and exponent per float dtype.
double float_max(DType t) {
  switch (t) {
    case DType::F16:
      return 65504.0;
    case DType::BF16:
      return 3.3895313892515355e38;
    case DType::F32:
      return std::numeric_limits<float>::max();
    default:
      return std::numeric_limits<double>::max();
  }
}
int min_exponent(DType t) {
  switch (t) {
    case DType::F16:
      return -14;
    case DType::BF16:
    case DType::F32:
      return -126;
    default:
      return -1022;
  }
}
}  // namespace

Tensor pi(DType dtype) {
  return scalar(3.14159265358979323846, dtype);
}
Tensor e(DType dtype) {
  return scalar(2.71828182845904523536, dtype);
}
Tensor euler_gamma(DType dtype) {
  return scalar(0.57721566490153286061, dtype);
}

Tensor epsilon(DType dtype) {
  require_float(dtype, "nx::epsilon");
  return scalar(std::ldexp(1.0, -mantissa_bits(dtype)), dtype);
}
Tensor infinity(DType dtype) {
  require_float(dtype, "nx::infinity");
  return scalar(std::numeric_limits<double>::infinity(), dtype);
}
Tensor neg_infinity(DType dtype) {
  require_float(dtype, "nx::neg_infinity");
  return scalar(-std::numeric_limits<double>::infinity(), dtype);
}
Tensor nan(DType dtype) {
  require_float(dtype, "nx::nan");
  return scalar(std::numeric_limits<double>::quiet_NaN(), dtype);
}
Tensor smallest_positive_normal(DType dtype) {
  require_float(dtype, "nx::smallest_positive_normal");
  return scalar(std::ldexp(1.0, min_exponent(dtype)), dtype);
}

Tensor max_finite(DType dtype) {
  if (is_float(dtype)) return scalar(float_max(dtype), dtype);
  if (dtype == DType::Pred) throw Error("nx::max_finite: pred has no numeric range");
  if (is_unsigned_int(dtype)) {
    uint64_t v = bit_size(dtype) == 64 ? ~uint64_t{0} : (uint64_t{1} << bit_size(dtype)) - 1;
    return scalar_int(static_cast<int64_t>(v), dtype);
  }
  return scalar_int(static_cast<int64_t>((uint64_t{1} << (bit_size(dtype) - 1)) - 1), dtype);
}

Tensor min_finite(DType dtype) {
  if (is_float(dtype)) return scalar(-float_max(dtype), dtype);
  if (dtype == DType::Pred) throw Error("nx::min_finite: pred has no numeric range");
  if (is_unsigned_int(dtype)) return scalar_int(0, dtype);
  return scalar_int(static_cast<int64_t>(~uint64_t{0} << (bit_size(dtype) - 1)), dtype);
}

}  // namespace nx
