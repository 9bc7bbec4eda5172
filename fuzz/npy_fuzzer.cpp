// libFuzzer target: nx::io::decode_npy on arbitrary bytes (see fuzz_common.hpp).
#include "fuzz_common.hpp"
#include "nx/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nx::Tensor t;
  try {
    t = nx::io::decode_npy(std::span<const uint8_t>(data, size));
  } catch (const nx::Error&) {
    return 0;
  }
  nx_fuzz::touch(t);
  nx_fuzz::require_same(nx::io::decode_npy(nx::io::encode_npy(t)), t);
  return 0;
}
