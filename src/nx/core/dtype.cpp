#include "nx/dtype.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "nx/error.hpp"

namespace nx {

namespace {
constexpr std::array<std::string_view, kNumDTypes> kNames = {
    "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64", "f16", "bf16", "f32", "f64", "pred"};
constexpr std::array<int, kNumDTypes> kBits = {8, 16, 32, 64, 8, 16, 32, 64, 16, 16, 32, 64, 8};
}  // namespace

std::string_view dtype_name(DType t) {
  return kNames[static_cast<size_t>(t)];
}

DType parse_dtype(std::string_view name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (kNames[i] == name) return static_cast<DType>(i);
  throw Error("nx::parse_dtype: unknown dtype \"" + std::string(name) + "\"");
}

int bit_size(DType t) {
  return kBits[static_cast<size_t>(t)];
}
int byte_size(DType t) {
  return kBits[static_cast<size_t>(t)] / 8;
}

DType merge(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Pred) return b;
  if (b == DType::Pred) return a;
  if (is_float(a) || is_float(b)) {
    if (!is_float(a)) return b;
    if (!is_float(b)) return a;
    if ((a == DType::F16 && b == DType::BF16) || (a == DType::BF16 && b == DType::F16)) {
      return DType::F32;
    }
    return bit_size(a) >= bit_size(b) ? a : b;
  }
  int bits = std::max(bit_size(a), bit_size(b));
  if (is_signed_int(a) == is_signed_int(b)) return bit_size(a) >= bit_size(b) ? a : b;
  // One signed, one unsigned: a signed type that holds the unsigned one, capped at 64 bits.
  int ubits = is_unsigned_int(a) ? bit_size(a) : bit_size(b);
  int sbits = is_signed_int(a) ? bit_size(a) : bit_size(b);
  bits = std::min(64, std::max(sbits, ubits * 2));
  switch (bits) {
    case 8:
      return DType::S8;
    case 16:
      return DType::S16;
    case 32:
      return DType::S32;
    default:
      return DType::S64;
  }
}

int mantissa_bits(DType t) {
  switch (t) {
    case DType::F16:
      return 10;
    case DType::BF16:
      return 7;
    case DType::F32:
      return 23;
    case DType::F64:
      return 52;
    default:
      throw Error("nx::mantissa_bits: expects a float dtype, got " + std::string(dtype_name(t)));
  }
}

DType to_floating(DType t) {
  return is_float(t) ? t : DType::F32;
}

}  // namespace nx
