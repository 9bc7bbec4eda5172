// CPU kernel of threefry2x32: the Threefry-2x32 block cipher, 20 rounds, as in Random123 and
// JAX (jax/_src/random/threefry2x32.py, _threefry2x32_lowering). Each counter pair is
// independent, so the loop is split over threads and vectorizes across pairs.
#include "../../core/tensor_impl.hpp"
#include "backend.hpp"
#include "parallel.hpp"

namespace nx::cpu {

namespace {

constexpr uint32_t rotl(uint32_t v, int r) {
  return (v << r) | (v >> (32 - r));
}

// The rotation constants of the even and odd groups of four rounds.
constexpr int kRotations[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};

void threefry_range(uint32_t k0, uint32_t k1, const uint32_t* in0, const uint32_t* in1,
                    uint32_t* out0, uint32_t* out1, int64_t begin, int64_t end) {
  const uint32_t ks[3] = {k0, k1, k0 ^ k1 ^ 0x1BD11BDAu};
  for (int64_t i = begin; i < end; ++i) {
    uint32_t x0 = in0[i] + ks[0], x1 = in1[i] + ks[1];
    // Five groups of four rounds, each followed by a key injection; the loops have constant
    // trip counts and unroll completely.
    for (int group = 0; group < 5; ++group) {
      for (int r : kRotations[group % 2]) {
        x0 += x1;
        x1 = rotl(x1, r) ^ x0;
      }
      x0 += ks[(group + 1) % 3];
      x1 += ks[(group + 2) % 3] + static_cast<uint32_t>(group + 1);
    }
    out0[i] = x0;
    out1[i] = x1;
  }
}

}  // namespace

void kernel_threefry2x32(const Params&, std::span<const Tensor> in, std::span<Tensor> out) {
  const uint32_t* key = in[0].data<uint32_t>();
  const uint32_t* x0 = in[1].data<uint32_t>();
  const uint32_t* x1 = in[2].data<uint32_t>();
  uint32_t* y0 = detail::mutable_data<uint32_t>(out[0]);
  uint32_t* y1 = detail::mutable_data<uint32_t>(out[1]);
  // About 100 integer operations per pair: a smaller grain than simple elementwise work.
  parallel_for(in[1].size(), 4096,
               [&](int64_t b, int64_t e) { threefry_range(key[0], key[1], x0, x1, y0, y1, b, e); });
}

}  // namespace nx::cpu
