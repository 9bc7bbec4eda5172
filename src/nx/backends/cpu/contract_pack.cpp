#include "contract_pack.hpp"

#include <cstring>
#include <type_traits>

#include "nx/error.hpp"
#include "nx/half.hpp"
#include "parallel.hpp"
#include "scratch_plan.hpp"

namespace nx::cpu {

namespace {

// Copies rows: the last dim is the inner loop, the others are walked with an index counter
// on the stack (outer dims of size 1 are left out, so at most kMaxLoops remain).
template <class From, class To>
void copy_rows(const From* src, std::span<const int64_t> dims, std::span<const int64_t> strides,
               To* dst) {
  size_t rank = dims.size();
  int64_t inner = dims[rank - 1], inner_stride = strides[rank - 1];
  int64_t rows = 1;
  int64_t odims[kMaxLoops], ostrides[kMaxLoops];
  size_t outer = 0;
  for (size_t d = 0; d + 1 < rank; ++d) {
    rows *= dims[d];
    if (dims[d] == 0) return;
    if (dims[d] == 1) continue;
    odims[outer] = dims[d];
    ostrides[outer++] = strides[d];
  }
  if (rows == 0 || inner == 0) return;
  int64_t grain = std::max<int64_t>(1, kParallelGrain / inner);
  parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
    int64_t idx[kMaxLoops];
    int64_t offset = 0, rem = begin;
    for (size_t d = outer; d-- > 0;) {
      idx[d] = rem % odims[d];
      rem /= odims[d];
      offset += idx[d] * ostrides[d];
    }
    for (int64_t r = begin; r < end; ++r) {
      const From* s = src + offset;
      To* o = dst + r * inner;
      if (inner_stride == 1) {
        if constexpr (std::is_same_v<From, To>) {
          std::memcpy(o, s, static_cast<size_t>(inner) * sizeof(To));
        } else {
          for (int64_t i = 0; i < inner; ++i) o[i] = static_cast<To>(static_cast<float>(s[i]));
        }
      } else {
        for (int64_t i = 0; i < inner; ++i) {
          if constexpr (std::is_same_v<From, To>) {
            o[i] = s[i * inner_stride];
          } else {
            o[i] = static_cast<To>(static_cast<float>(s[i * inner_stride]));
          }
        }
      }
      for (size_t d = outer; d-- > 0;) {
        offset += ostrides[d];
        if (++idx[d] < odims[d]) break;
        offset -= idx[d] * ostrides[d];
        idx[d] = 0;
      }
    }
  });
}

template <class From, class To>
void run(const void* src, std::span<const int64_t> dims, std::span<const int64_t> strides,
         void* dst) {
  copy_rows(static_cast<const From*>(src), dims, strides, static_cast<To*>(dst));
}

}  // namespace

void strided_copy(DType from, DType to, const void* src, std::span<const int64_t> dims,
                  std::span<const int64_t> strides, void* dst) {
  if (dims.empty()) {
    static const int64_t one = 1;
    return strided_copy(from, to, src, std::span<const int64_t>(&one, 1),
                        std::span<const int64_t>(&one, 1), dst);
  }
  if (from == to) {
    switch (byte_size(from)) {
      case 1:
        return run<uint8_t, uint8_t>(src, dims, strides, dst);
      case 2:
        return run<uint16_t, uint16_t>(src, dims, strides, dst);
      case 4:
        return run<uint32_t, uint32_t>(src, dims, strides, dst);
      default:
        return run<uint64_t, uint64_t>(src, dims, strides, dst);
    }
  }
  if (to == DType::F32 && from == DType::F16) return run<half, float>(src, dims, strides, dst);
  if (to == DType::F32 && from == DType::BF16) {
    return run<bfloat16, float>(src, dims, strides, dst);
  }
  if (from == DType::F32 && to == DType::F16) return run<float, half>(src, dims, strides, dst);
  if (from == DType::F32 && to == DType::BF16) {
    return run<float, bfloat16>(src, dims, strides, dst);
  }
  throw Error("nx: internal error: strided_copy cannot convert " + std::string(dtype_name(from)) +
              " to " + std::string(dtype_name(to)));
}

void convert_copy(DType from, DType to, const void* src, int64_t count, void* dst) {
  int64_t one = 1;
  strided_copy(from, to, src, std::span<const int64_t>(&count, 1),
               std::span<const int64_t>(&one, 1), dst);
}

}  // namespace nx::cpu
